"""Packaging and declared dependencies: what the wheel holds, what `make test` installs and
runs, and that seaborn and krippendorff are used where they are the right tool."""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _source_files() -> list[str]:
    """Tracked and new (not ignored) files of the checkout, as a fresh clone would have them."""
    if shutil.which("git") and (REPO / ".git").exists():
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
        return [f for f in out.splitlines() if (REPO / f).is_file()]
    return [str(p.relative_to(REPO)) for p in REPO.rglob("*")
            if p.is_file() and not {".venv", ".git", "build", "dist"} & set(p.relative_to(REPO).parts)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A regular wheel built from a clean copy of the checkout (as `pip install .` builds it)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    with tarfile.open(tmp / "src.tar", "w") as tar:
        for f in _source_files():
            tar.add(REPO / f, arcname=f)
    with tarfile.open(tmp / "src.tar") as tar:
        tar.extractall(src, filter="data")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (whl,) = (tmp / "dist").glob("qa_toolkit-*.whl")
    return zipfile.ZipFile(whl)


def test_wheel_holds_every_module_under_qa_toolkit(wheel):
    names = set(wheel.namelist())
    expected = {f for f in _source_files() if f.endswith(".py") and f.startswith("qa_toolkit/")
                and not f.startswith("qa_toolkit/_data/")}
    expected |= {"qa_toolkit/widgets/" + f.removeprefix("widgets/") for f in _source_files()
                 if f.startswith("widgets/") and f.endswith(".py")}
    assert "qa_toolkit/widgets/review_panel.py" in expected
    assert sorted(expected - names) == []
    assert not [n for n in names if n.startswith("widgets/")], "a top-level 'widgets' package is shipped"
    assert "qa_toolkit/py.typed" in names


def test_wheel_holds_the_bundled_data_with_its_licences(wheel):
    names = set(wheel.namelist())
    data = [f for f in _source_files() if f.startswith("qa_toolkit/_data/")]
    assert len(data) >= 70  # 5 bundled folders: data files + SOURCE.md + licence each
    assert sorted(set(data) - names) == []
    for folder in ("welinder2010_bluebirds", "dawid_skene_1979", "agreement_classics", "ipeirotis_gal",
                   "cleanlab_label_errors"):
        assert f"qa_toolkit/_data/{folder}/SOURCE.md" in names
    assert "qa_toolkit/_data/welinder2010_bluebirds/LICENSE.TXT" in names  # Clear-BSD: ships with the data
    assert not [n for n in names if n.startswith("datasets/")]


def test_wheel_metadata(wheel):
    import qa_toolkit

    (meta_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = email.message_from_bytes(wheel.read(meta_name))
    assert meta["Version"] == qa_toolkit.__version__
    requires = meta.get_all("Requires-Dist")
    core = {re.split(r"[<>=!\[; ]", r)[0].lower() for r in requires if "extra ==" not in r}
    assert {"seaborn", "krippendorff", "duckdb", "shapely", "pycocotools"} <= core
    clip = [r for r in requires if 'extra == "clip"' in r]
    assert any(r.startswith("torch>=") for r in clip) and any(r.startswith("torchvision>=") for r in clip)
    assert not [r for r in clip if "==" in r.split(";")[0]], f"exact pins in the clip extra: {clip}"


def test_extras_and_what_make_test_installs():
    extras = PYPROJECT["project"]["optional-dependencies"]

    def names(extra):
        return {re.split(r"[<>=!\[ ]", r)[0].lower() for r in extras[extra]}

    assert {"polars", "dask"} <= names("scale")
    assert "dask[dataframe,distributed]" in "".join(extras["scale"]).replace(" ", "")
    assert "umap-learn" in names("maps")
    assert {"pingouin", "nltk", "mypy", "pandas-stubs", "types-pyyaml", "ruff"} <= names("dev")
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    (installed,) = re.findall(r"^EXTRAS := (.+)$", make, flags=re.M)
    assert set(installed.split(",")) == set(extras), "make test must install every extra"
    pins = (REPO / ".ci" / "constraints.txt").read_text(encoding="utf-8")
    assert re.search(r"^torch==\S+$", pins, flags=re.M) and re.search(r"^torchvision==\S+$", pins, flags=re.M)


def test_make_test_runs_ruff_and_mypy_before_pytest_then_the_wheel_check():
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", make, flags=re.M).group(1).splitlines()
    steps = [next(k for k in ("ruff check", "mypy", "pytest", "wheel_check.sh") if k in line) for line in recipe
             if any(k in line for k in ("ruff check", "mypy", "pytest", "wheel_check.sh"))]
    assert steps == ["ruff check", "mypy", "pytest", "wheel_check.sh"]
    mypy = PYPROJECT["tool"]["mypy"]
    strict = [o for o in mypy["overrides"] if "qa_toolkit.io.*" in o["module"]]
    assert strict and strict[0]["disallow_untyped_defs"] is True and strict[0]["disable_error_code"] == []


# --- seaborn where it serves ----------------------------------------------------------------


def test_heatmaps_are_seaborn_and_show_the_numbers():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import QuadMesh

    from qa_toolkit.aggregation import DawidSkene
    from qa_toolkit.plotting import plot_annotator_confusion, plot_confusion

    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3, 4, 4], "annotator": list("abababab"),
                       "label": list("xxyyxyyy")})
    ax = plot_confusion(df, "a", "b")
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]  # seaborn.heatmap draws a QuadMesh
    # a said x,y,x,y and b said x,y,y,y on tasks 1-4: rows a, columns b
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(2, 2), [[1, 1], [0, 2]])
    assert [t.get_text() for t in ax.texts] == ["1", "1", "0", "2"]
    ds = DawidSkene().fit(df)
    ax = plot_annotator_confusion(ds, "b")
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(2, 2), ds.confusion_.loc["b"].to_numpy())
    assert "seaborn" in sys.modules


def test_per_annotator_panels_and_distributions_are_seaborn(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    from qa_toolkit.plotting import plot_annotator_counts, plot_overlap

    calls = []
    for name in ("barplot", "countplot"):
        real = getattr(sns, name)
        monkeypatch.setattr(sns, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    # task 1: a, b, c; tasks 2 and 4: a, b; task 3: a
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 3, 4, 4], "annotator": list("abcabaab"), "label": list("xxyxyxyy")})
    ax = plot_overlap(df)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    assert [float(p.get_height()) for p in ax.patches] == [1.0, 2.0, 1.0]
    ax = plot_annotator_counts(df)  # busiest first: a 4 tasks, b 3, c 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert [float(p.get_width()) for p in ax.patches] == [4.0, 3.0, 1.0]
    assert calls == ["barplot", "barplot"]  # overlap bars drawn from counts (linear time), both by seaborn


# --- krippendorff: one call for alpha, vectorised bootstrap --------------------------------


def _loop_reference(counts, n_boot, seed):
    """The pre-vectorisation loop: one krippendorff.alpha call per bootstrap replicate."""
    import krippendorff

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_boot):
        sample = counts[rng.integers(0, len(counts), len(counts))]
        if (sample.sum(axis=0) > 0).sum() < 2:
            out.append(np.nan)
            continue
        out.append(krippendorff.alpha(value_counts=sample, level_of_measurement="nominal"))
    return np.array(out)


def test_alpha_bootstrap_is_vectorised_and_equals_krippendorff_per_replicate(monkeypatch):
    import krippendorff

    from qa_toolkit.datasets import load_dataset
    from qa_toolkit.release.pilot import alpha_replicates, alpha_with_ci
    from qa_toolkit.table import to_counts

    df = load_dataset("dawid_skene_1979").annotations  # 45 patients, 4 classes (bundled)
    counts = to_counts(df).to_numpy(dtype=float)
    counts = counts[counts.sum(axis=1) > 1]
    ref = _loop_reference(counts, 300, seed=7)
    np.testing.assert_allclose(alpha_replicates(counts, 300, np.random.default_rng(7)), ref, atol=1e-12)

    n_calls = []
    real = krippendorff.alpha
    monkeypatch.setattr(krippendorff, "alpha", lambda *a, **k: n_calls.append(1) or real(*a, **k))
    a, lo, hi = alpha_with_ci(df, n_boot=300, random_state=7)
    assert len(n_calls) == 1  # the point estimate only; the 300 replicates are one numpy pass
    assert a == pytest.approx(real(value_counts=counts, level_of_measurement="nominal"))
    assert (lo, hi) == pytest.approx(tuple(np.nanquantile(ref, [0.025, 0.975])))


def test_alpha_bootstrap_leaves_out_single_label_replicates():
    from qa_toolkit.release.pilot import alpha_replicates

    # 1 task of label 0, 9 of label 1: many replicates draw only label-1 tasks (alpha undefined)
    counts = np.array([[2.0, 0.0]] + [[0.0, 2.0]] * 9)
    reps = alpha_replicates(counts, 200, np.random.default_rng(0))
    ref = _loop_reference(counts, 200, seed=0)
    np.testing.assert_array_equal(np.isnan(reps), np.isnan(ref))
    assert 0 < np.isnan(reps).sum() < 200
    np.testing.assert_allclose(reps[~np.isnan(reps)], ref[~np.isnan(ref)])
