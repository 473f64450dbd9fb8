"""Tests for qa_toolkit.errors.neighbours (neighbour inconsistency on embeddings)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_toolkit._validation import QAInputError
from qa_toolkit.errors.neighbours import nearest_neighbours, neighbour_inconsistency


def _clusters(rng, n_per=40, n_classes=3, dim=16, spread=0.15):
    centres = rng.normal(size=(n_classes, dim))
    x = np.vstack([c + spread * rng.normal(size=(n_per, dim)) for c in centres])
    y = np.repeat(np.array([f"c{i}" for i in range(n_classes)]), n_per)
    return x, y


def _brute_force(x, labels, k):
    """Reference: full cosine matrix, Python loop, no chunking (what the function must equal)."""
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = xn @ xn.T
    np.fill_diagonal(s, -np.inf)
    out = []
    for i in range(len(x)):
        nb = np.argsort(-s[i], kind="stable")[:k]
        out.append(np.mean(labels[nb] != labels[i]))
    return np.array(out)


def test_finds_flipped_labels_and_suggests_true_label(rng):
    x, y = _clusters(rng)
    flips = rng.choice(len(y), 8, replace=False)
    given_labels = y.copy()
    given_labels[flips] = np.where(y[flips] == "c0", "c1", "c0")
    out = neighbour_inconsistency(x, given_labels, k=10)
    flagged = set(np.flatnonzero(out["is_neighbour_issue"]))
    assert flagged == set(flips)
    assert (out["suggested_label"].to_numpy()[flips] == y[flips]).all()
    assert (out["neighbour_score"].to_numpy()[flips] <= 0.3 + 1e-9).all()  # other flips can sit among the neighbours
    assert out.index.name == "task"
    assert list(out.columns) == [
        "label", "suggested_label", "neighbour_disagreement", "mean_similarity",
        "neighbour_score", "is_neighbour_issue",
    ]


def test_matches_brute_force_reference(rng):
    x = rng.normal(size=(60, 8))
    labels = rng.choice(np.array(["a", "b", "c"]), 60)
    out = neighbour_inconsistency(x, labels, k=7, chunk_size=11)
    np.testing.assert_allclose(out["neighbour_disagreement"], _brute_force(x, labels, 7))


@pytest.mark.parametrize("backend", ["sklearn", "numpy"])
def test_backends_and_chunking_agree(rng, backend):
    x = rng.normal(size=(80, 12))
    ref_idx, ref_sim = nearest_neighbours(x, k=5, backend="numpy", chunk_size=80)
    idx, sim = nearest_neighbours(x, k=5, backend=backend, chunk_size=9)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(sim, ref_sim, atol=1e-5)
    assert (np.diff(sim, axis=1) <= 1e-6).all()  # most similar first


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss not installed (optional)")
def test_faiss_backend_agrees(rng):
    x = rng.normal(size=(100, 16))
    np.testing.assert_array_equal(
        nearest_neighbours(x, k=4, backend="faiss")[0], nearest_neighbours(x, k=4, backend="numpy")[0]
    )


def test_self_excluded_even_with_exact_duplicates():
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.1, 1.0]])
    idx, sim = nearest_neighbours(x, k=1)
    assert idx[:, 0].tolist() == [1, 0, 3, 2]
    np.testing.assert_allclose(sim[:2, 0], 1.0, atol=1e-6)


def test_series_index_kept_and_order_invariance(rng):
    x, y = _clusters(rng, n_per=15)
    s = pd.Series(y, index=pd.Index([f"t{i}" for i in range(len(y))], name="task"))
    out = neighbour_inconsistency(x, s, k=5)
    assert out.index.equals(s.index)
    perm = rng.permutation(len(y))
    out_p = neighbour_inconsistency(x[perm], s.iloc[perm], k=5)
    pd.testing.assert_frame_equal(out_p.loc[out.index], out, check_exact=False, atol=1e-6)


def test_integer_labels_and_tie_break_by_similarity():
    # item 0 has one 'x' neighbour (closer) and one 'y' neighbour: tie -> the closer label
    x = np.array([[1.0, 0.0], [0.99, 0.14], [0.9, -0.44], [0.0, 1.0]])
    out = neighbour_inconsistency(x, [5, 1, 2, 2], k=2)
    assert out.loc[0, "suggested_label"] == 1
    assert out.loc[0, "neighbour_disagreement"] == 1.0


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=3, max_value=30), st.integers(min_value=0, max_value=10_000))
def test_scores_are_bounded_and_consistent(n, seed):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 4))
    out = neighbour_inconsistency(x, r.choice(["a", "b"], n), k=min(3, n - 1))
    assert out["neighbour_score"].between(0, 1).all()
    np.testing.assert_allclose(out["neighbour_score"] + out["neighbour_disagreement"], 1.0)
    assert not (out["is_neighbour_issue"] & (out["suggested_label"] == out["label"])).any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 10}, "must be smaller than the number of items \\(5\\). Got 10"),
        ({"k": 0}, "'k' parameter .* integer >= 1"),
        ({"backend": "annoy"}, "'backend' parameter .* must be one of"),
        ({"metric": "euclidean"}, "'metric' parameter .* must be one of \\{'cosine'\\}"),
        ({"threshold": 2}, "'threshold'"),
        ({"k": 2, "chunk_size": -1}, "'chunk_size'"),
    ],
)
def test_bad_options(kwargs, match):
    x = np.eye(5)
    with pytest.raises(QAInputError, match=match):
        neighbour_inconsistency(x, list("aabbc"), **kwargs)


def test_bad_embeddings_and_labels():
    x = np.eye(4)
    with pytest.raises(QAInputError, match="NaN or infinite values \\(rows \\[2\\]\\)"):
        neighbour_inconsistency(np.where(np.eye(4) == 1, np.eye(4), 0) + np.array([[0], [0], [np.nan], [0]]), list("abab"), k=1)
    with pytest.raises(QAInputError, match="all-zero row\\(s\\) \\(rows \\[1\\]\\)"):
        neighbour_inconsistency(np.array([[1.0, 0], [0, 0], [0, 1]]), list("aba"), k=1)
    with pytest.raises(QAInputError, match="2-D of shape"):
        neighbour_inconsistency(np.ones(4), list("abab"), k=1)
    with pytest.raises(QAInputError, match="one label per embedding row \\(4\\). Got 3"):
        neighbour_inconsistency(x, list("aba"), k=1)
    with pytest.raises(QAInputError, match="missing labels \\(rows \\[1\\]\\)"):
        neighbour_inconsistency(x, ["a", None, "b", "b"], k=1)
    with pytest.raises(QAInputError, match="1-D array-like"):
        neighbour_inconsistency(x, "abab", k=1)


def test_faiss_missing_is_a_clear_error(monkeypatch):
    import qa_toolkit.errors.neighbours as nb

    monkeypatch.setattr(nb, "_has_faiss", lambda: False)
    with pytest.raises(ImportError, match="faiss-cpu"):
        neighbour_inconsistency(np.eye(4), list("abab"), k=1, backend="faiss")
