"""The compiled coding passes for large integer tables (issue 14) against the numpy path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import AnnotationFormatError
from qa_toolkit.agreement import fleiss_kappa, gwet_ac1, krippendorff_alpha
from qa_toolkit.engines import _intkernel
from qa_toolkit.engines._intcode import compact_counts, compact_table


def _table(n_tasks=2000, per=5, n_ann=40, k=4, seed=0, shuffle=False, gaps=False):
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(n_tasks), per) + 10
    ann = np.concatenate([rng.choice(n_ann, per, replace=False) for _ in range(n_tasks)]) + 3
    lab = rng.integers(0, k, len(task))
    if gaps:  # unused task ids and labels inside the ranges
        task = task * 2
        lab = lab * 3
    df = pd.DataFrame({"task": task, "annotator": ann, "label": lab})
    return df.sample(frac=1, random_state=1).reset_index(drop=True) if shuffle else df


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("gaps", [False, True])
def test_compiled_passes_equal_numpy(monkeypatch, shuffle, gaps):
    df = _table(shuffle=shuffle, gaps=gaps)
    t_v, l_v, a_v = (df[c].to_numpy() for c in ("task", "label", "annotator"))
    ref = compact_counts(t_v, l_v)
    monkeypatch.setattr(_intkernel, "MIN_ROWS", 1)
    out = compact_table(t_v, l_v, a_v)
    for got, want in zip(out[:7], ref):
        if isinstance(want, pd.Index):
            assert got.equals(want)
        else:
            assert np.array_equal(got, want)
    assert out.annotator_range == (3, 42)
    assert out.duplicate is (False if not shuffle else None)  # known only for rows grouped by task


def test_compiled_duplicate_check_finds_a_repeat(monkeypatch):
    df = _table()
    df.loc[7, "annotator"] = df.loc[6, "annotator"]  # task 11: one annotator twice
    monkeypatch.setattr(_intkernel, "MIN_ROWS", 1)
    out = compact_table(*(df[c].to_numpy() for c in ("task", "label", "annotator")))
    assert out.duplicate is True
    with pytest.raises(AnnotationFormatError, match="11"):
        krippendorff_alpha(df)


def test_long_runs_are_left_to_the_general_check(monkeypatch):
    df = _table(n_tasks=20, per=_intkernel.MAX_RUN + 6, n_ann=100)
    monkeypatch.setattr(_intkernel, "MIN_ROWS", 1)
    out = compact_table(*(df[c].to_numpy() for c in ("task", "label", "annotator")))
    assert out.duplicate is None
    df.loc[80, "annotator"] = df.loc[75, "annotator"]
    with pytest.raises(AnnotationFormatError):
        fleiss_kappa(df)


@pytest.mark.parametrize("shuffle", [False, True])
def test_coefficients_identical_with_compiled_coding(monkeypatch, shuffle):
    df = _table(seed=4, shuffle=shuffle, gaps=True)
    before = [f(df) for f in (krippendorff_alpha, fleiss_kappa, gwet_ac1)]
    monkeypatch.setattr(_intkernel, "MIN_ROWS", 1)
    after = [f(df) for f in (krippendorff_alpha, fleiss_kappa, gwet_ac1)]
    assert after == before


@pytest.mark.parametrize("dup", [False, True])
def test_duplicate_check_on_contiguous_unsorted_tasks(dup):
    """Text task ids code in sorted order ('task-10' before 'task-2'), so rows grouped by task
    are contiguous but not sorted by code: the run comparison must still find (or rule out) a
    repeated (task, annotator) without the grid or a hash."""
    from qa_toolkit.engines.coding import has_duplicate_pairs

    df = _table(n_tasks=300, per=4, seed=2)
    df["task"] = "task-" + df["task"].astype(str)
    if dup:
        df.loc[41, "annotator"] = df.loc[40, "annotator"]
    t, tasks = pd.factorize(df["task"], sort=True)
    a, anns = pd.factorize(df["annotator"], sort=True)
    assert not (np.diff(t) >= 0).all()  # not sorted by code
    got = has_duplicate_pairs(t, a, len(tasks), len(anns))
    assert got is dup or got == dup
    assert got == bool(df.duplicated(["task", "annotator"]).any())
