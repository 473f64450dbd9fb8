"""Shared fixtures: a tiny hand-made table, a seeded generator, the shared real data."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("QA_TOOLKIT_SHARED", REPO.parent / "shared")).resolve()

if os.environ.get("QA_TOOLKIT_STRICT_DEPS") == "1":
    # `make test` installs every extra; there a missing optional package is a failure,
    # not a skip (outside it, e.g. a core-only install, importorskip skips as usual).
    def _strict_importorskip(modname, minversion=None, reason=None, **kwargs):
        try:
            return importlib.import_module(modname)
        except ImportError as exc:
            pytest.fail(
                f"{modname} is not installed, but `make test` (QA_TOOLKIT_STRICT_DEPS=1) installs "
                f"every extra the tests use: {exc}",
                pytrace=False,
            )

    pytest.importorskip = _strict_importorskip


@pytest.fixture
def toy_annotations() -> pd.DataFrame:
    """5 tasks x 5 annotators, hand-made, with one missing judgment."""
    rows = [
        (1, "a", "cat"), (1, "b", "cat"), (1, "c", "cat"), (1, "d", "dog"), (1, "e", "cat"),
        (2, "a", "dog"), (2, "b", "dog"), (2, "c", "dog"), (2, "d", "dog"), (2, "e", "dog"),
        (3, "a", "cat"), (3, "b", "dog"), (3, "c", "bird"), (3, "d", "cat"),
        (4, "a", "bird"), (4, "b", "bird"), (4, "c", "bird"), (4, "d", "bird"), (4, "e", "cat"),
        (5, "a", "dog"), (5, "b", "cat"), (5, "c", "dog"), (5, "d", "dog"), (5, "e", "dog"),
    ]
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(
            f"shared data not found at {path}: these tests read ../shared beside the checkout "
            "(set QA_TOOLKIT_SHARED to its location)"
        )
    return path


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """``../shared/datasets`` (real multi-annotator data); skips with a clear reason when absent."""
    return _require(SHARED / "datasets")


@pytest.fixture(scope="session")
def realworld_exports() -> Path:
    """``../shared/realworld_exports`` (real tool exports); skips with a clear reason when absent."""
    return _require(SHARED / "realworld_exports")


@pytest.fixture(scope="session")
def write_hive():
    """``write_hive(df, root, batch)``: ``df`` as hive partitions ``root/batch=<b>/part-0.parquet``,
    one per value of the array ``batch``; returns ``root``."""

    def write(df: pd.DataFrame, root: Path, batch) -> Path:
        for b, part in df.groupby(np.asarray(batch)):
            (root / f"batch={b}").mkdir()
            part.to_parquet(root / f"batch={b}" / "part-0.parquet", index=False)
        return root

    return write


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
