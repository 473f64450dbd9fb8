"""Neighbour inconsistency: items whose nearest neighbours in embedding space disagree.

An item is suspicious when most of its ``k`` nearest neighbours (cosine similarity)
carry another label: either its label is wrong or it sits in a cluster of similar
items annotated inconsistently. :func:`neighbour_inconsistency` returns an issue table
(contract name ``neighbour``: ``is_neighbour_issue``, ``neighbour_score`` = share of
neighbours agreeing with the item's label, lower = worse).

Search is exact below ``exact_threshold`` items (200 000 by default) and approximate
above it: a faiss IVF-Flat index (``nlist = sqrt(n)`` inverted lists, trained on a
sample of ``64 * nlist`` items) whose ``nprobe`` is raised until recall@k against exact
search, measured on a random sample of 200 queries, reaches ``recall_target`` (0.95).
On 10^6 x 512 clustered vectors see ``benchmarks/bench_neighbours_ann.py`` for recall and time.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    QAInputError,
    check_fraction,
    check_option,
    check_positive_int,
    check_random_state,
)
from qa_toolkit.errors.embeddings.check import check_embeddings

__all__ = ["neighbour_inconsistency", "nearest_neighbours", "neighbour_recall"]

_FUNC = "neighbour_inconsistency"
EXACT_THRESHOLD = 200_000
_LAST_IVF: dict = {}  # nlist / nprobe of the last IVF index (read by the benchmark)


def _has_faiss() -> bool:
    return importlib.util.find_spec("faiss") is not None


def _auto_chunk(n: int, chunk_size: int | None, budget: int = 1 << 25, *, func: str = _FUNC) -> int:
    """Rows per chunk so that a chunk × n similarity block stays under ``budget`` floats (128 MiB)."""
    if chunk_size is not None:
        return check_positive_int("chunk_size", chunk_size, func=func)
    return int(max(1, min(n, budget // max(n, 1))))


def _drop_self(idx: np.ndarray, sim: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """From k+1 candidates per row, drop the row itself (or the last one if self is absent)."""
    is_self = idx == rows[:, None]
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True  # exact duplicates may push self out of the list
    keep = ~is_self
    return idx[keep].reshape(len(rows), k), sim[keep].reshape(len(rows), k)


def _exact_topk(q: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the k most similar rows of ``x`` for each query (x scanned in blocks)."""
    best_s = np.full((len(q), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), 0), dtype=np.int64)
    step = max(1, (1 << 24) // max(len(q), 1))
    for s in range(0, len(x), step):
        sim = q @ x[s : s + step].T
        kk = min(k, sim.shape[1])
        part = np.argpartition(-sim, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(sim, part, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, part + s], axis=1)
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, axis=1), np.take_along_axis(cand_i, keep, axis=1)
    return best_i


def neighbour_recall(embeddings: Any, indices: Any, *, n_queries: int = 200, random_state=None) -> float:
    """Recall@k of neighbour lists against exact cosine search, on a random sample of items.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
    indices : array-like of shape (n_items, k)
        Neighbour lists to check (e.g. from :func:`nearest_neighbours`, self excluded).
    n_queries : int, default=200
        Items sampled as queries (all items when fewer).
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    float
        Mean share of each sampled item's exact k nearest neighbours found in its list.

    Examples
    --------
    >>> X = [[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]
    >>> idx, _ = nearest_neighbours(X, k=1)
    >>> neighbour_recall(X, idx)
    1.0
    >>> neighbour_recall(X, [[2], [3], [0], [1]])
    0.0
    """
    func = "neighbour_recall"
    x = check_embeddings(embeddings, func=func, normalize=True)
    idx = np.asarray(indices)
    if idx.ndim != 2 or idx.shape[0] != x.shape[0]:
        raise QAInputError(f"The 'indices' parameter of {func} must have shape (n_items, k) = ({x.shape[0]}, k). "
                           f"Got {idx.shape}.")
    n_queries = check_positive_int("n_queries", n_queries, func=func)
    rows = np.sort(check_random_state(random_state).choice(x.shape[0], min(n_queries, x.shape[0]), replace=False))
    k = idx.shape[1]
    truth, _ = _drop_self(_exact_topk(x[rows], x, k + 1), np.zeros((len(rows), k + 1), np.float32), rows, k)
    return float(np.mean([len(set(t) & set(a)) / k for t, a in zip(truth, idx[rows])]))


def _ivf_search(x: np.ndarray, k: int, nprobe, recall_target: float, rng, func: str):
    """faiss IVF-Flat (inner product): returns a search function and the nprobe used."""
    import faiss

    n, d = x.shape
    nlist = int(max(16, min(4096, round(np.sqrt(n)))))
    quant = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quant, d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = int(rng.integers(2**31 - 1))
    train = x if n <= 64 * nlist else x[np.sort(rng.choice(n, 64 * nlist, replace=False))]
    index.train(train)
    index.add(x)
    if nprobe is None:
        rows = np.sort(rng.choice(n, min(200, n), replace=False))
        truth = _exact_topk(x[rows], x, k + 1)
        nprobe = 1
        while True:
            index.nprobe = nprobe
            found = index.search(x[rows], k + 1)[1]
            rec = np.mean([len(set(t) & set(f)) / (k + 1) for t, f in zip(truth, found)])
            if rec >= recall_target or nprobe >= nlist:
                break
            nprobe = min(nlist, nprobe * 2)
    else:
        nprobe = check_positive_int("nprobe", nprobe, func=func)
    index.nprobe = nprobe
    _LAST_IVF.update(nlist=nlist, nprobe=nprobe)
    return (lambda q: index.search(q, k + 1)[::-1]), nprobe


def nearest_neighbours(
    embeddings: Any,
    *,
    k: int = 10,
    chunk_size: int | None = None,
    backend: str = "auto",
    exact_threshold: int = EXACT_THRESHOLD,
    nprobe: int | None = None,
    recall_target: float = 0.95,
    random_state=None,
    _func: str = "nearest_neighbours",
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar other items of every item, computed in bounded memory.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
    k : int, default=10
        Neighbours per item, excluding the item itself; must be < n_items.
    chunk_size : int, optional
        Query rows processed at once (default: keeps each similarity block under 128 MiB).
    backend : {'auto', 'sklearn', 'faiss', 'numpy', 'ivf'}, default='auto'
        ``'auto'``: exact search below ``exact_threshold`` items (faiss flat index when
        faiss is installed and n_items >= 10 000, else sklearn), approximate ``'ivf'``
        (faiss IVF-Flat) from ``exact_threshold`` items on when faiss is installed.
    exact_threshold : int, default=200 000
        Size from which ``'auto'`` switches to approximate search.
    nprobe : int, optional
        Inverted lists visited per query by ``'ivf'``; None raises it (1, 2, 4, ...) until
        recall@k on 200 sampled queries reaches ``recall_target``.
    recall_target : float, default=0.95
    random_state : int, numpy.random.Generator or None
        Seeds the IVF training sample, its k-means and the recall sample.

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
    check_option("backend", backend, ["auto", "sklearn", "faiss", "numpy", "ivf"], func=_func)
    x = check_embeddings(embeddings, func=_func, normalize=True)
    n = x.shape[0]
    k = check_positive_int("k", k, func=_func)
    exact_threshold = check_positive_int("exact_threshold", exact_threshold, func=_func)
    recall_target = check_fraction("recall_target", recall_target, func=_func)
    if k >= n:
        raise QAInputError(
            f"The 'k' parameter of {_func} must be smaller than the number of items ({n}). Got {k} instead."
        )
    if backend == "auto":
        if _has_faiss() and n >= exact_threshold:
            backend = "ivf"
        else:
            backend = "faiss" if (_has_faiss() and n >= 10_000) else "sklearn"
    if backend in ("faiss", "ivf") and not _has_faiss():
        raise ImportError(f"backend={backend!r} needs the optional 'faiss-cpu' (or 'faiss-gpu') package.")
    chunk = _auto_chunk(n, chunk_size, func=_func)
    rows_all = np.arange(n)
    out_idx = np.empty((n, k), dtype=np.int64)
    out_sim = np.empty((n, k), dtype=np.float32)
    if backend == "ivf":
        search, _ = _ivf_search(x, k, nprobe, recall_target, check_random_state(random_state), _func)
        chunk = max(chunk, 16384)
    elif backend == "faiss":
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
    exact_threshold: int = EXACT_THRESHOLD,
    random_state=None,
    neighbours: tuple[np.ndarray, np.ndarray] | None = None,
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
    backend : {'auto', 'sklearn', 'faiss', 'numpy', 'ivf'}, default='auto'
        See :func:`nearest_neighbours` (approximate search from ``exact_threshold`` items).
    exact_threshold : int, default=200 000
    random_state : int, numpy.random.Generator or None
        Seeds the approximate index (used only by ``'ivf'``).
    neighbours : (indices, similarities), optional
        Precomputed :func:`nearest_neighbours` output (k columns) to reuse.

    Returns
    -------
    pandas.DataFrame
        The issue table (contract name ``neighbour``): one row per item (index
        ``task``: row numbers, or the index of a ``labels`` Series), columns
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
    index = labels.index.rename("task") if isinstance(labels, pd.Series) else pd.RangeIndex(x.shape[0], name="task")
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
    if neighbours is None:
        idx, sim = nearest_neighbours(x, k=k, chunk_size=chunk_size, backend=backend, exact_threshold=exact_threshold,
                                      random_state=random_state, _func=_FUNC)
    else:
        idx, sim = (np.asarray(a) for a in neighbours)
        if idx.shape != (x.shape[0], k) or sim.shape != idx.shape:
            raise QAInputError(f"The 'neighbours' parameter of {_FUNC} must be (indices, similarities) of shape "
                               f"({x.shape[0]}, {k}). Got {idx.shape} and {sim.shape}.")
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
