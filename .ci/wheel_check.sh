#!/usr/bin/env bash
# Installed, not just cloned: build a regular (non-editable) wheel of this checkout, install
# it with its core dependencies into a fresh virtualenv in a temporary folder outside the
# repository, and run there, from a scratch working directory holding a user's own
# `widgets.py`: every ```python block of the README, `qa-toolkit audit
# dataset:welinder2010_bluebirds` (exit 0 expected: no --gate) and checks of what the wheel
# holds (bundled data, py.typed, qa_toolkit.widgets but no top-level `widgets`).
#   usage: bash .ci/wheel_check.sh [PYTHON]   (PYTHON builds the wheel; default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BUILD_PY=${1:-$REPO/.venv/bin/python}
BASE_PY=${PYTHON:-python3}
T0=$(date +%s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/qa-wheel-check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
unset PYTHONPATH PYTHONHOME
export MPLBACKEND=Agg PIP_DISABLE_PIP_VERSION_CHECK=1

say() { echo "wheel-check: $*"; }

# 1. A clean copy of the source (tracked + new, not ignored files): no stale build/ or
#    egg-info of the checkout can leak into the wheel.
mkdir -p "$TMP/src"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$REPO" ls-files -z --cached --others --exclude-standard \
    | (cd "$REPO" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$TMP/src"
else
  tar --exclude=./.venv --exclude=./build --exclude=./dist -cf - . | tar -xf - -C "$TMP/src"
fi

# 2. The wheel, built the way `pip install .` builds it.
"$BUILD_PY" -m pip wheel -q --no-deps --no-build-isolation -w "$TMP/dist" "$TMP/src" >"$TMP/build.log" 2>&1 \
  || { cat "$TMP/build.log"; say "FAILED to build the wheel"; exit 1; }
WHEEL=$(ls "$TMP"/dist/qa_toolkit-*.whl)
say "built $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB) in $(( $(date +%s) - T0 )) s"

# 3. A fresh virtualenv (no system site-packages), core dependencies only (pip's cache reused).
# --no-compile: modules are byte-compiled when first imported, not all at install time.
"$BASE_PY" -m venv "$TMP/venv"
VPY="$TMP/venv/bin/python"
"$VPY" -m pip install -q --no-compile "$WHEEL" >"$TMP/install.log" 2>&1 \
  || { grep -v "^WARNING: Location" "$TMP/install.log" | tail -40; say "FAILED to install the wheel"; exit 1; }
say "installed into a fresh venv in $(( $(date +%s) - T0 )) s"

# 4. Run as a user would: outside the repository, with their own widgets.py beside them.
RUN="$TMP/run"
mkdir -p "$RUN"
cp -r "$REPO/examples" "$RUN/examples"
printf 'raise ImportError("the user\x27s own widgets.py was imported")\n' >"$RUN/widgets.py"
cd "$RUN"
"$VPY" - "$REPO" "$TMP/venv" <<'PY'
import importlib.metadata as md
import pathlib
import re
import sys
import zipfile

repo, venv = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).resolve()
import qa_toolkit as qa

where = pathlib.Path(qa.__file__).resolve()
assert venv in where.parents, f"qa_toolkit imported from {where}, not from the wheel in {venv}"
assert qa.__version__ == md.version("qa-toolkit"), (qa.__version__, md.version("qa-toolkit"))
assert (where.parent / "py.typed").is_file(), "py.typed is not installed"
names = qa.datasets.list_datasets()
bundled = names[names["bundled"]]
assert bundled["available"].all(), f"bundled data missing from the wheel: {list(bundled.index[~bundled['available']])}"
assert qa.datasets.bundled_home().resolve().is_relative_to(venv)
# every bundled file of the checkout is in the wheel
wheel = next(pathlib.Path(sys.argv[2]).parent.joinpath("dist").glob("*.whl"))
in_wheel = set(zipfile.ZipFile(wheel).namelist())
src = repo / "qa_toolkit" / "_data"
missing = [str(p.relative_to(repo)) for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts
           and str(p.relative_to(repo)) not in in_wheel]
assert not missing, f"bundled files missing from the wheel: {missing[:10]}"
assert not any(n.startswith("widgets/") for n in in_wheel), "the wheel ships a top-level 'widgets' package"
from qa_toolkit.widgets import ReviewPanel  # the user's widgets.py beside us must not matter

assert ReviewPanel.__module__ == "qa_toolkit.widgets.review_panel"
# the README's ```python blocks, as tests/test_readme.py runs them
text = (repo / "README.md").read_text(encoding="utf-8")
blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
assert blocks, "README has no ```python block"
ns: dict = {}
for i, block in enumerate(blocks):
    exec(compile(block, f"README.md (python block {i + 1})", "exec"), ns)
print(f"wheel-check: README: {len(blocks)} python block(s) ran; qa_toolkit {qa.__version__} from {where.parent}")
PY
set +e
"$TMP/venv/bin/qa-toolkit" audit dataset:welinder2010_bluebirds --out "$RUN/report" >"$TMP/audit.log" 2>&1
rc=$?
set -e
if [ "$rc" != 0 ] || [ ! -s "$RUN/report/index.html" ]; then
  cat "$TMP/audit.log"
  say "FAILED: qa-toolkit audit dataset:welinder2010_bluebirds exited $rc (0 expected: no --gate)"
  exit 1
fi
say "qa-toolkit audit dataset:welinder2010_bluebirds exited 0 and wrote report/index.html"
say "passed in $(( $(date +%s) - T0 )) s"
