"""Cross-annotator matching: group the regions of all annotators that denote one object.

Algorithm (per field, all tasks at once)
----------------------------------------
1. Candidate pairs: every pair of regions of the same task drawn by *different*
   annotators (and with the same label when ``label_aware``), generated with index
   arithmetic over the task-sorted rows (no Python loop over tasks), in chunks of at
   most a few million pairs.
2. Similarity of each candidate pair (``units.geometry``: IoU, rotated IoU, mask IoU,
   OKS, span IoU), vectorised over pairs; pairs below ``iou_threshold`` are dropped.
3. Connected components of the graph of remaining edges; a component that is a
   clique with one region per annotator is an object as it is (the common case, no
   Python loop). Other components: greedy complete-linkage clustering over their
   edges in descending similarity: two groups merge when they have no annotator in common and *every* cross
   pair clears the threshold. Each object therefore holds at most one region per
   annotator, and all its members match each other. With two annotators this is the
   greedy maximum-IoU matching; it equals the Hungarian (``linear_sum_assignment``)
   matching whenever no region clears the threshold with two regions of the same other
   annotator (always the case for IoU >= 0.5 between non-overlapping regions of one
   annotator), and unlike pairwise matching it gives one consistent object per group
   for three or more annotators.
4. Every region left alone is its own object.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_fraction
from qa_toolkit.units.geometry import Geometry, prepare_geometry

__all__ = ["match_objects", "MAX_PAIRS_PER_CHUNK"]

MAX_PAIRS_PER_CHUNK = 4_000_000


def _candidate_chunks(t: np.ndarray):
    """Yield (i, j) positions of all within-task pairs i < j of task-sorted codes ``t``."""
    n = len(t)
    if n < 2:
        return
    counts = np.bincount(t)
    ends = np.cumsum(counts)
    c = ends[t] - np.arange(n) - 1  # partners after each position
    csum = np.cumsum(c)
    p0 = 0
    while p0 < n:
        base = csum[p0 - 1] if p0 else 0
        p1 = int(np.searchsorted(csum, base + MAX_PAIRS_PER_CHUNK, side="right"))
        p1 = max(p1, p0 + 1)
        cc = c[p0:p1]
        P = int(cc.sum())
        if P:
            pos = np.arange(p0, p1)
            first = np.repeat(pos, cc)
            offs = np.arange(P) - np.repeat(np.cumsum(cc) - cc, cc)
            yield first, first + 1 + offs
        p0 = p1


def _cluster(n: int, ri: np.ndarray, rj: np.ndarray, sim: np.ndarray, ann: np.ndarray) -> np.ndarray:
    """Greedy complete-linkage clustering with one region per annotator per cluster."""
    cid = np.arange(n)
    if not len(ri):
        return cid
    order = np.argsort(-sim, kind="stable")
    ri, rj = ri[order].tolist(), rj[order].tolist()
    lo = np.minimum(ri, rj).astype(np.int64)
    hi = np.maximum(ri, rj).astype(np.int64)
    edges = set((lo * n + hi).tolist())
    cl = cid.tolist()
    members: dict[int, list[int]] = {}
    annl = ann.tolist()
    for x, y in zip(ri, rj):
        cx, cy = cl[x], cl[y]
        if cx == cy:
            continue
        mx = members.get(cx) or [x]
        my = members.get(cy) or [y]
        if len(mx) > 1 or len(my) > 1:
            ax = {annl[u] for u in mx}
            if any(annl[v] in ax for v in my):
                continue
            if not all(((u * n + v) if u < v else (v * n + u)) in edges for u in mx for v in my):
                continue
        if len(mx) < len(my):
            mx, my, cx, cy = my, mx, cy, cx
        for v in my:
            cl[v] = cx
        members[cx] = mx + my
        members.pop(cy, None)
    return np.asarray(cl)


def _components_then_greedy(n: int, ri: np.ndarray, rj: np.ndarray, sim: np.ndarray, ann: np.ndarray) -> np.ndarray:
    """Connected components of the edge graph; clean ones (a clique with one region per
    annotator) are objects as they are, the others go through the greedy clustering."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    cl = np.arange(n)
    if not len(ri):
        return cl
    g = coo_matrix((np.ones(len(ri)), (ri, rj)), shape=(n, n)).tocsr()
    _, comp = connected_components(g, directed=False)
    size = np.bincount(comp)
    n_edges = np.bincount(comp[ri], minlength=len(size))
    key = np.unique(comp.astype(np.int64) * (int(ann.max()) + 1) + ann)
    distinct = np.bincount(key // (int(ann.max()) + 1), minlength=len(size))
    clean = (distinct == size) & (n_edges == size * (size - 1) // 2)
    first = np.full(len(size), n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    ok = clean[comp]
    cl[ok] = first[comp[ok]]
    messy = ~clean[comp[ri]]
    if messy.any():
        sub = _cluster(n, ri[messy], rj[messy], sim[messy], ann)
        rows = np.flatnonzero(~ok)
        cl[rows] = sub[rows]
    return cl


def match_objects(d: pd.DataFrame, kind: str, *, field: Any = None, iou_threshold: float = 0.5,
                  label_aware: bool = False, sigmas: Any = None, func: str = "match_objects",
                  geometry: Geometry | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Match the regions of one field across all annotators of each task.

    Parameters
    ----------
    d : pandas.DataFrame
        Rows of one field (one region per row) with ``task``, ``annotator``, ``label``
        and the kind's geometry columns.
    kind : {'span', 'box', 'polygon', 'keypoints'}
        The field's kind.
    field : hashable, optional
        Name used in error messages.
    iou_threshold : float, default=0.5
        Minimum similarity (IoU, or OKS for keypoints) for two regions to be one object.
    label_aware : bool, default=False
        Only regions with the same label can match (otherwise a label disagreement on
        one object is a label disagreement, not two objects).
    sigmas : array-like, optional
        Keypoint sigmas (see :mod:`qa_toolkit.units.geometry`).

    Returns
    -------
    object : numpy.ndarray of int
        Object id of each row of ``d`` (0..n_objects-1, numbered by task then first row).
    pairs : pandas.DataFrame
        ``object``, ``row_a``, ``row_b`` (positions in ``d``), ``iou``: every pair of
        members of an object.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 1], "annotator": list("abca"), "label": ["car"] * 4,
    ...                    "x_min": [0, 1, 0, 50], "y_min": [0, 0, 1, 50], "x_max": [10, 10, 10, 60],
    ...                    "y_max": [10, 10, 10, 60]})
    >>> obj, pairs = match_objects(df, "box")
    >>> obj.tolist(), len(pairs)
    ([0, 0, 0, 1], 3)
    """
    iou_threshold = check_fraction("iou_threshold", iou_threshold, func=func)
    n = len(d)
    geo = geometry if geometry is not None else prepare_geometry(d, kind, field=field, func=func, sigmas=sigmas)
    t, _ = pd.factorize(d["task"].to_numpy(), sort=False)
    a, _ = pd.factorize(d["annotator"].to_numpy(), sort=False)
    lab, _ = pd.factorize(d["label"].to_numpy(), sort=False)
    order = np.argsort(t, kind="stable")
    ts = t[order]
    ri_all, rj_all, s_all = [], [], []
    for pi, pj in _candidate_chunks(ts):
        ri, rj = order[pi], order[pj]
        keep = a[ri] != a[rj]
        if label_aware:
            keep &= lab[ri] == lab[rj]
        ri, rj = ri[keep], rj[keep]
        if not len(ri):
            continue
        s = geo.similarity(ri, rj, t)
        ok = (s >= iou_threshold) & (s > 0)
        ri_all.append(ri[ok])
        rj_all.append(rj[ok])
        s_all.append(s[ok])
    ri = np.concatenate(ri_all) if ri_all else np.zeros(0, np.int64)
    rj = np.concatenate(rj_all) if rj_all else np.zeros(0, np.int64)
    sim = np.concatenate(s_all) if s_all else np.zeros(0)
    cl = _components_then_greedy(n, ri, rj, sim, a)
    # number objects by (task, first row)
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, cl, np.arange(n))
    roots = np.flatnonzero(first < n)
    root_order = roots[np.lexsort((first[roots], t[first[roots]]))]
    rank = np.empty(n, dtype=np.int64)
    rank[root_order] = np.arange(len(root_order))
    obj = rank[cl]
    same = cl[ri] == cl[rj]
    pairs = pd.DataFrame({"object": obj[ri[same]], "row_a": ri[same], "row_b": rj[same], "iou": sim[same]})
    return obj, pairs.sort_values(["object", "row_a", "row_b"], ignore_index=True)
