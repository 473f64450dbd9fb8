"""Installed, not just cloned: what an installed qa_toolkit imports and what it never does.

Each check runs in a fresh interpreter (``subprocess``) from a scratch folder outside the
repository, so neither pytest's own imports nor the checkout on ``sys.path`` can hide a
failure. The full wheel round trip (build, fresh venv, README, demo audit) is
``make wheel-check`` (.ci/wheel_check.sh), which ``make test`` runs.
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=300,
    )


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def test_user_widgets_py_beside_the_notebook_does_not_shadow_ours(tmp_path):
    # The case: a user's own widgets.py in the working directory. Before the
    # package-dir mapping, `from widgets import ReviewPanel` imported the user's file.
    (tmp_path / "widgets.py").write_text("raise ImportError('the user widgets.py was imported')\n")
    out = _ok(_run(
        """
        from qa_toolkit.widgets import AnnotatorDashboard, ReviewPanel
        import qa_toolkit.widgets as w
        print(ReviewPanel.__module__, AnnotatorDashboard.__module__)
        print(w.__name__)
        try:
            import widgets
        except ImportError as exc:
            print("user:", exc)
        """,
        tmp_path,
    ))
    assert out.splitlines() == [
        "qa_toolkit.widgets.review_panel qa_toolkit.widgets.dashboard",
        "qa_toolkit.widgets",
        "user: the user widgets.py was imported",  # `widgets` is the user's, not ours
    ]


def test_widgets_are_not_installed_as_a_top_level_package(tmp_path):
    proc = _run("import importlib.util; print(importlib.util.find_spec('widgets'))", tmp_path)
    assert _ok(proc).strip() == "None"


def _core_modules() -> list[str]:
    import qa_toolkit

    names = ["qa_toolkit"]
    for info in pkgutil.walk_packages(qa_toolkit.__path__, "qa_toolkit."):
        if not info.name.startswith("qa_toolkit.widgets"):
            names.append(info.name)
    return names


def test_core_never_imports_the_widgets(tmp_path):
    modules = _core_modules()
    assert "qa_toolkit.datasets" in modules and "qa_toolkit.report.core" in modules
    assert not any(m.startswith("qa_toolkit.widgets") for m in modules)
    out = _ok(_run(
        f"""
        import importlib, os, sys
        strict = os.environ.get("QA_TOOLKIT_STRICT_DEPS") == "1"  # `make test`: every extra installed
        for name in {modules!r}:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:  # an optional extra missing outside `make test`
                if strict or (exc.name or "").startswith("qa_toolkit"):
                    raise
        import qa_toolkit as qa
        qa.datasets.list_datasets()
        for name in qa.__all__:
            getattr(qa, name)
        leaked = sorted(m for m in sys.modules
                        if m in ("widgets", "qa_toolkit.widgets") or m.startswith(("widgets.", "qa_toolkit.widgets.")))
        print(len({modules!r}), leaked)
        """,
        tmp_path,
    ))
    assert out.strip() == f"{len(modules)} []"


def test_import_qa_toolkit_is_light(tmp_path):
    out = _ok(_run(
        """
        import sys
        import qa_toolkit
        heavy = ("matplotlib", "seaborn", "sklearn", "torch", "ipywidgets", "cleanlab", "qa_toolkit.widgets")
        print(sorted(m for m in heavy if m in sys.modules))
        """,
        tmp_path,
    ))
    assert out.strip() == "[]"


def test_submodules_reachable_from_the_lazy_top_level(tmp_path):
    out = _ok(_run(
        """
        import qa_toolkit as qa
        names = qa.datasets.list_datasets()
        print(bool(names.loc["welinder2010_bluebirds", "bundled"]), callable(qa.plotting.plot_overlap))
        print(qa.agreement.fleiss_kappa is qa.fleiss_kappa, "datasets" in dir(qa))
        try:
            qa.no_such_thing
        except AttributeError as exc:
            print(exc)
        """,
        tmp_path,
    ))
    assert out.splitlines() == [
        "True True",
        "True True",
        "module 'qa_toolkit' has no attribute 'no_such_thing'",
    ]


def test_bundled_data_is_package_data_read_with_importlib_resources():
    from importlib import resources

    import qa_toolkit
    from qa_toolkit.datasets import bundled_home, dataset_path, load_dataset

    root = resources.files(qa_toolkit) / "_data"
    assert Path(str(root)).resolve() == bundled_home().resolve()
    assert bundled_home().resolve().is_relative_to(Path(qa_toolkit.__file__).resolve().parent)
    assert dataset_path("welinder2010_bluebirds") == bundled_home() / "welinder2010_bluebirds"
    for folder in ("welinder2010_bluebirds", "dawid_skene_1979", "agreement_classics", "ipeirotis_gal",
                   "cleanlab_label_errors"):
        files = {p.name for p in (bundled_home() / folder).iterdir()}
        assert "SOURCE.md" in files, folder  # provenance ships with the data
        assert any(n.upper().startswith("LICENSE") for n in files), folder
    bb = load_dataset("welinder2010_bluebirds")  # Welinder et al. 2010: 108 images x 39 annotators
    assert (bb.annotations["task"].nunique(), bb.annotations["annotator"].nunique()) == (108, 39)


def test_version_is_written_once():
    import importlib.metadata as md

    import qa_toolkit

    assert qa_toolkit.__version__ == md.version("qa-toolkit")
    conf = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in conf["project"] and "version" in conf["project"]["dynamic"]
    assert conf["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "qa_toolkit.__version__"}
    sources = [p for p in (REPO / "qa_toolkit").rglob("*.py") if "__version__ =" in p.read_text(encoding="utf-8")]
    assert [p.relative_to(REPO).as_posix() for p in sources] == ["qa_toolkit/__init__.py"]


def test_typed_marker_shipped():
    import qa_toolkit

    assert (Path(qa_toolkit.__file__).parent / "py.typed").is_file()
    assert '"py.typed"' in (REPO / "pyproject.toml").read_text(encoding="utf-8")  # in package-data
