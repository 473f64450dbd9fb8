"""Neighbour inconsistency: items whose nearest neighbours in embedding space disagree.

An item is suspicious when most of its ``k`` nearest neighbours (cosine similarity)
carry another label: either its label is wrong or it sits in a cluster of similar
items annotated inconsistently.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pandas as pd

from ._validation import QAInputError, check_fraction, check_option, check_positive_int
from .embeddings import check_embeddings

__all__ = ["neighbour_inconsistency", "nearest_neighbours"]

_FUNC = "neighbour_inconsistency"


def _has_faiss() -> bool:
    return importlib.util.find_spec("faiss") is not None


def _auto_chunk(n: int, chunk_size: int | None, budget: int = 1 << 25) -> int:
    """Rows per chunk so that a chunk × n similarity block stays under ``budget`` floats (128 MiB)."""
    if chunk_size is not None:
        return check_positive_int("chunk_size", chunk_size, func=_FUNC)
    return int(max(1, min(n, budget // max(n, 1))))


def _drop_self(idx: np.ndarray, sim: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """From k+1 candidates per row, drop the row itself (or the last one if self is absent)."""
    is_self = idx == rows[:, None]
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True  # exact duplicates may push self out of the list
    keep = ~is_self
    return idx[keep].reshape(len(rows), k), sim[keep].reshape(len(rows), k)


def nearest_neighbours(
    embeddings: Any, *, k: int = 10, chunk_size: int | None = None, backend: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar other items of every item, computed in bounded memory.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
    k : int, default=10
        Neighbours per item, excluding the item itself; must be < n_items.
    chunk_size : int, optional
        Query rows processed at once (default: keeps each similarity block under 128 MiB).
    backend : {'auto', 'sklearn', 'faiss', 'numpy'}, default='auto'
        ``'auto'`` uses faiss when it is installed and n_items >= 10 000, else sklearn.

    Returns
    -------
    indices : numpy.ndarray of shape (n_items, k), int64
        Neighbour row numbers, most similar first.
    similarities : numpy.ndarray of shape (n_items, k), float32
        Their cosine similarities.

    Examples
    --------
    >>> idx, sim = nearest_neighbours([[1, 0], [0.9, 0.1], [0, 1]], k=1)
    >>> idx.ravel().tolist()
    [1, 0, 1]
    """
    check_option("backend", backend, ["auto", "sklearn", "faiss", "numpy"], func=_FUNC)
    x = check_embeddings(embeddings, func=_FUNC, normalize=True)
    n = x.shape[0]
    k = check_positive_int("k", k, func=_FUNC)
    if k >= n:
        raise QAInputError(
            f"The 'k' parameter of {_FUNC} must be smaller than the number of items ({n}). Got {k} instead."
        )
    if backend == "auto":
        backend = "faiss" if (_has_faiss() and n >= 10_000) else "sklearn"
    if backend == "faiss" and not _has_faiss():
        raise ImportError("backend='faiss' needs the optional 'faiss-cpu' (or 'faiss-gpu') package.")
    chunk = _auto_chunk(n, chunk_size)
    rows_all = np.arange(n)
    out_idx = np.empty((n, k), dtype=np.int64)
    out_sim = np.empty((n, k), dtype=np.float32)
    if backend == "faiss":
        import faiss

        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x)
        search = lambda q: index.search(q, k + 1)[::-1]  # noqa: E731 - (sim, idx) -> (idx, sim)
    elif backend == "sklearn":
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute", metric="euclidean").fit(x)

        def search(q):
            dist, idx = nn.kneighbors(q, return_distance=True)
            return idx, 1.0 - dist.astype(np.float32) ** 2 / 2.0  # unit vectors: |a-b|^2 = 2 - 2 cos
    else:

        def search(q):
            sim = q @ x.T
            part = np.argpartition(-sim, k, axis=1)[:, : k + 1]
            psim = np.take_along_axis(sim, part, axis=1)
            order = np.argsort(-psim, axis=1, kind="stable")
            return np.take_along_axis(part, order, axis=1), np.take_along_axis(psim, order, axis=1)

    for start in range(0, n, chunk):
        rows = rows_all[start : start + chunk]
        idx, sim = search(x[rows])
        out_idx[rows], out_sim[rows] = _drop_self(np.asarray(idx, dtype=np.int64), np.asarray(sim), rows, k)
    return out_idx, out_sim


def neighbour_inconsistency(
    embeddings: Any,
    labels: Any,
    *,
    k: int = 10,
    metric: str = "cosine",
    threshold: float = 0.5,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> pd.DataFrame:
    """Per item: the share of its ``k`` nearest neighbours that carry another label.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
        Any embedding matrix (CLIP, a precomputed one, ...), one row per item.
    labels : array-like of shape (n_items,)
        The given label of each item. A pandas Series keeps its index in the output.
    k : int, default=10
        Neighbours per item (the item itself excluded); must be < n_items.
    metric : {'cosine'}, default='cosine'
    threshold : float in [0, 1], default=0.5
        An item is flagged when more than this share of its neighbours disagree
        *and* their majority label differs from its own.
    chunk_size : int, optional
        Query rows at once; memory stays ``O(chunk_size * n_items)``.
    backend : {'auto', 'sklearn', 'faiss', 'numpy'}, default='auto'
        See :func:`nearest_neighbours`.

    Returns
    -------
    pandas.DataFrame
        One row per item (index ``item``, or the index of ``labels``), columns
        ``label``, ``suggested_label`` (neighbours' majority; ties go to the label
        with the larger summed similarity), ``neighbour_disagreement`` (share of
        neighbours with another label), ``mean_similarity``, ``neighbour_score``
        (= 1 - disagreement, in [0, 1], lower = more likely a problem) and
        ``is_neighbour_issue``.

    Examples
    --------
    >>> X = [[1, 0], [0.99, 0.1], [0.98, 0.2], [0, 1], [0.1, 0.99], [0.2, 0.98]]
    >>> out = neighbour_inconsistency(X, ["a", "a", "b", "b", "b", "b"], k=2)
    >>> out[["suggested_label", "neighbour_score", "is_neighbour_issue"]].loc[2]
    suggested_label          a
    neighbour_score        0.0
    is_neighbour_issue    True
    Name: 2, dtype: object
    """
    check_option("metric", metric, ["cosine"], func=_FUNC)
    threshold = check_fraction("threshold", threshold, func=_FUNC)
    x = check_embeddings(embeddings, func=_FUNC)
    index = labels.index if isinstance(labels, pd.Series) else pd.RangeIndex(x.shape[0], name="item")
    if isinstance(labels, pd.Series):
        lab = labels.reset_index(drop=True)
    elif isinstance(labels, str) or np.ndim(labels) != 1:
        raise QAInputError(
            f"The 'labels' parameter of {_FUNC} must be a 1-D array-like of labels. Got {type(labels).__name__}."
        )
    else:
        lab = pd.Series(list(labels))
    if len(lab) != x.shape[0]:
        raise QAInputError(
            f"The 'labels' parameter of {_FUNC} must have one label per embedding row ({x.shape[0]}). "
            f"Got {len(lab)} labels instead."
        )
    if lab.isna().any():
        bad = np.flatnonzero(lab.isna().to_numpy())[:10].tolist()
        raise QAInputError(f"The 'labels' parameter of {_FUNC} has missing labels (rows {bad}).")
    codes, classes = pd.factorize(lab, sort=True)
    idx, sim = nearest_neighbours(x, k=k, chunk_size=chunk_size, backend=backend)
    n, n_classes = x.shape[0], len(classes)
    suggested = np.empty(n, dtype=np.int64)
    disagree = np.empty(n, dtype=np.float64)
    chunk = max(1, (1 << 24) // max(n_classes, 1))
    for start in range(0, n, chunk):
        rows = slice(start, min(n, start + chunk))
        nb = codes[idx[rows]]
        m = nb.shape[0]
        counts = np.zeros((m, n_classes))
        weight = np.zeros((m, n_classes))
        r = np.repeat(np.arange(m), k)
        np.add.at(counts, (r, nb.ravel()), 1.0)
        np.add.at(weight, (r, nb.ravel()), sim[rows].ravel())
        # counts are integers; summed similarity / (2k + 2) lies in (-0.5, 0.5): it only breaks ties
        suggested[rows] = np.argmax(counts + weight / (2 * k + 2), axis=1)
        disagree[rows] = 1.0 - counts[np.arange(m), codes[rows]] / k
    out = pd.DataFrame(
        {
            "label": lab.to_numpy(),
            "suggested_label": np.asarray(classes)[suggested],
            "neighbour_disagreement": disagree,
            "mean_similarity": sim.mean(axis=1).astype(np.float64),
            "neighbour_score": 1.0 - disagree,
        },
        index=index,
    )
    out["is_neighbour_issue"] = (out["neighbour_disagreement"] > threshold) & (
        out["suggested_label"].to_numpy() != out["label"].to_numpy()
    )
    return out
