"""Tests for qa_toolkit.errors.duplicates (near-duplicate pairs and groups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_toolkit._validation import QAInputError
from qa_toolkit.errors.duplicates import duplicate_groups, near_duplicates


def _brute_pairs(x, threshold):
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = xn @ xn.T
    return {(i, j) for i in range(len(x)) for j in range(i + 1, len(x)) if s[i, j] >= threshold}


@pytest.fixture
def dup_data(rng):
    base = rng.normal(size=(30, 24))
    copies = base[:6] + 0.01 * rng.normal(size=(6, 24))  # rows 30..35 copy rows 0..5
    return np.vstack([base, copies])


def test_finds_exactly_the_copies(dup_data):
    out = near_duplicates(dup_data, threshold=0.95, chunk_size=7)
    assert set(zip(out["item_a"], out["item_b"])) == {(i, 30 + i) for i in range(6)}
    assert out["similarity"].is_monotonic_decreasing
    assert (out["similarity"] >= 0.95).all() and (out["similarity"] <= 1.0 + 1e-6).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=2, max_value=25), st.integers(0, 10_000), st.sampled_from([0.0, 0.3, 0.8]))
def test_matches_brute_force_and_chunk_invariant(n, seed, threshold):
    x = np.random.default_rng(seed).normal(size=(n, 3))
    ref = _brute_pairs(x, threshold)
    for chunk in (None, 1, 4):
        out = near_duplicates(x, threshold=threshold, chunk_size=chunk)
        got = set(zip(out["item_a"], out["item_b"]))
        # pairs within float32 rounding of the threshold may differ from the float64 reference
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        borderline = {(i, j) for i, j in got ^ ref if abs(xn[i] @ xn[j] - threshold) < 1e-5}
        assert got ^ ref == borderline


def test_label_conflicts_and_same_annotator(dup_data):
    labels = np.array(["cat"] * 36, dtype=object)
    labels[31], labels[33] = "dog", "dog"  # copies of 1 and 3 labelled differently
    annotators = np.array(["ann1"] * 36, dtype=object)
    annotators[33] = "ann2"
    out = near_duplicates(dup_data, threshold=0.95, labels=labels, annotators=annotators)
    conflicts = out[out["is_label_conflict"]]
    assert set(zip(conflicts["item_a"], conflicts["item_b"])) == {(1, 31), (3, 33)}
    self_conf = out[out["is_self_conflict"]]
    assert list(zip(self_conf["item_a"], self_conf["item_b"])) == [(1, 31)]
    assert set(out.columns) >= {"label_a", "label_b", "annotator_a", "annotator_b", "same_annotator"}


def test_ids_and_series_index(dup_data):
    ids = [f"img{i:02d}" for i in range(36)]
    out = near_duplicates(dup_data, ids=ids)
    assert ("img00", "img30") in set(zip(out["item_a"], out["item_b"]))
    lab = pd.Series(["x"] * 36, index=ids)
    out2 = near_duplicates(dup_data, labels=lab)
    assert set(out2["item_a"]) == set(out["item_a"])


def test_groups_follow_chains_and_flag_conflicts():
    # 0-1-2 linked by a chain (0 and 2 are not directly similar), 3 alone, 4-5 a pair
    a = np.deg2rad([0, 15, 30, 90, 180, 181])
    x = np.column_stack([np.cos(a), np.sin(a)])
    out = duplicate_groups(x, threshold=np.cos(np.deg2rad(16)), labels=["a", "a", "b", "a", "c", "c"])
    assert out["group"].tolist() == [0, 0, 0, 1, 2, 2]
    assert out["group_size"].tolist() == [3, 3, 3, 1, 2, 2]
    assert out["is_duplicate_issue"].tolist() == [True, True, True, False, False, False]
    np.testing.assert_allclose(out["duplicate_score"], [2 / 3, 2 / 3, 1 / 3, 1, 1, 1])
    assert out.index.name == "task"


def test_no_pairs_gives_empty_table_with_columns():
    out = near_duplicates(np.eye(3), labels=["a", "b", "c"], annotators=["u", "u", "v"])
    assert len(out) == 0
    assert "is_self_conflict" in out.columns


def test_bad_input():
    with pytest.raises(QAInputError, match="'threshold' parameter of near_duplicates"):
        near_duplicates(np.eye(3), threshold=1.5)
    with pytest.raises(QAInputError, match="'labels' parameter of near_duplicates must have one entry per embedding row \\(3\\). Got 2"):
        near_duplicates(np.eye(3), labels=["a", "b"])
    with pytest.raises(QAInputError, match="'annotators'"):
        near_duplicates(np.eye(3), annotators="abc")
    with pytest.raises(QAInputError, match="NaN"):
        duplicate_groups(np.array([[1.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(QAInputError, match="'chunk_size'"):
        duplicate_groups(np.eye(3), chunk_size=0)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=2, max_value=20), st.integers(0, 10_000))
def test_groups_are_a_partition_invariant_to_item_order(n, seed):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 2))
    perm = r.permutation(n)
    g = duplicate_groups(x, threshold=0.9)["group"].to_numpy()
    gp = duplicate_groups(x[perm], threshold=0.9)["group"].to_numpy()
    same = g[:, None] == g[None, :]
    same_p = gp[:, None] == gp[None, :]
    np.testing.assert_array_equal(same[np.ix_(perm, perm)], same_p)
    # every linked pair shares a group
    pairs = near_duplicates(x, threshold=0.9)
    assert (g[pairs["item_a"].to_numpy()] == g[pairs["item_b"].to_numpy()]).all()
