"""Near-duplicates in embedding space, and the label conflicts among them.

Two items whose embeddings are almost identical (cosine similarity above a
threshold) should carry the same label.  When they do not — and especially when
the *same annotator* labelled both differently — at least one label is wrong or
the guidelines are ambiguous.

:func:`near_duplicates` lists the pairs (a pair table, one row per pair);
:func:`duplicate_groups` is the per-item issue table (contract name ``duplicate``:
``is_duplicate_issue``, ``duplicate_score``, lower = worse).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_fraction, check_positive_int
from qa_toolkit.errors.embeddings.check import check_embeddings

__all__ = ["near_duplicates", "duplicate_groups"]


def _per_item(values: Any, n: int, name: str, func: str) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, str) or np.ndim(values) != 1:
        raise QAInputError(f"The {name!r} parameter of {func} must be 1-D, one entry per embedding row.")
    arr = np.asarray(pd.Series(values).to_numpy(), dtype=object)
    if len(arr) != n:
        raise QAInputError(
            f"The {name!r} parameter of {func} must have one entry per embedding row ({n}). "
            f"Got {len(arr)} instead."
        )
    return arr


def _pairs(x: np.ndarray, threshold: float, chunk_size: int | None, func: str) -> tuple[np.ndarray, ...]:
    """All pairs i < j with cosine similarity >= threshold, scanning row blocks."""
    n = x.shape[0]
    if chunk_size is None:
        chunk = int(max(1, min(n, (1 << 25) // max(n, 1))))
    else:
        chunk = check_positive_int("chunk_size", chunk_size, func=func)
    ii, jj, ss = [], [], []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        sim = x[start:stop] @ x[start:].T  # only columns j >= start are needed for i < j
        r, c = np.nonzero(sim >= threshold)
        i = r + start
        j = c + start
        keep = j > i
        ii.append(i[keep])
        jj.append(j[keep])
        ss.append(sim[r[keep], c[keep]])
    return np.concatenate(ii), np.concatenate(jj), np.concatenate(ss).astype(np.float64)


def near_duplicates(
    embeddings: Any,
    *,
    threshold: float = 0.95,
    labels: Any = None,
    annotators: Any = None,
    ids: Any = None,
    chunk_size: int | None = None,
) -> pd.DataFrame:
    """Pairs of items whose embeddings have cosine similarity >= ``threshold``.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
    threshold : float in [0, 1], default=0.95
    labels : array-like of shape (n_items,), optional
        Label of each item; adds ``label_a``, ``label_b`` and ``is_label_conflict``.
    annotators : array-like of shape (n_items,), optional
        Who labelled each item; adds ``annotator_a``, ``annotator_b``,
        ``same_annotator`` and (with ``labels``) ``is_self_conflict``: the same
        annotator gave two near-duplicates different labels.
    ids : array-like of shape (n_items,), optional
        Item identifiers used in ``item_a``/``item_b`` (default: row numbers; a
        ``labels`` Series lends its index).
    chunk_size : int, optional
        Rows compared at once; memory stays ``O(chunk_size * n_items)``.

    Returns
    -------
    pandas.DataFrame
        One row per pair (``item_a`` before ``item_b`` in input order), sorted by
        decreasing ``similarity``; conflicts come first among equal similarities.

    Examples
    --------
    >>> X = [[1, 0], [1, 0.01], [0, 1]]
    >>> near_duplicates(X, labels=["cat", "dog", "cat"])[["item_a", "item_b", "is_label_conflict"]]
       item_a  item_b  is_label_conflict
    0       0       1               True
    """
    func = "near_duplicates"
    threshold = check_fraction("threshold", threshold, low=-1.0, high=1.0, func=func)
    x = check_embeddings(embeddings, func=func, normalize=True)
    n = x.shape[0]
    lab = _per_item(labels, n, "labels", func)
    ann = _per_item(annotators, n, "annotators", func)
    if ids is None:
        names = labels.index.to_numpy() if isinstance(labels, pd.Series) else np.arange(n)
    else:
        names = _per_item(ids, n, "ids", func)
    i, j, s = _pairs(x, threshold, chunk_size, func)
    out = pd.DataFrame({"item_a": names[i], "item_b": names[j], "similarity": s})
    sort_cols, ascending = ["similarity"], [False]
    if lab is not None:
        out["label_a"], out["label_b"] = lab[i], lab[j]
        out["is_label_conflict"] = lab[i] != lab[j]
        sort_cols.append("is_label_conflict")
        ascending.append(False)
    if ann is not None:
        out["annotator_a"], out["annotator_b"] = ann[i], ann[j]
        out["same_annotator"] = ann[i] == ann[j]
        if lab is not None:
            out["is_self_conflict"] = out["same_annotator"] & out["is_label_conflict"]
    out = out.sort_values(sort_cols, ascending=ascending, kind="stable").reset_index(drop=True)
    return out


def duplicate_groups(
    embeddings: Any, *, threshold: float = 0.95, labels: Any = None, chunk_size: int | None = None
) -> pd.DataFrame:
    """Group items that are linked by chains of near-duplicate pairs.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
    threshold : float, default=0.95
        Cosine similarity at or above which two items are linked.
    labels : array-like of shape (n_items,), optional
        Adds ``n_labels`` (distinct labels in the item's group), ``duplicate_score``
        (share of the group carrying the item's own label; lower = more likely a
        problem) and ``is_duplicate_issue`` (the group holds more than one label).
    chunk_size : int, optional

    Returns
    -------
    pandas.DataFrame
        One row per item (index ``task``: row numbers, or the index of a ``labels``
        Series): ``group`` (0, 1, ... numbered by first appearance; singletons get
        their own group), ``group_size``, and with labels ``n_labels``,
        ``duplicate_score`` and ``is_duplicate_issue`` (read by the release gate's
        ``near_duplicate_conflicts`` check).

    Examples
    --------
    >>> X = [[1, 0], [1, 0.01], [0, 1]]
    >>> duplicate_groups(X)["group"].tolist()
    [0, 0, 1]
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    func = "duplicate_groups"
    threshold = check_fraction("threshold", threshold, low=-1.0, high=1.0, func=func)
    x = check_embeddings(embeddings, func=func, normalize=True)
    n = x.shape[0]
    lab = _per_item(labels, n, "labels", func)
    i, j, _ = _pairs(x, threshold, chunk_size, func)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    _, first = np.unique(comp, return_index=True)
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.argsort(first)] = np.arange(len(first))
    group = renumber[comp]
    index = labels.index.rename("task") if isinstance(labels, pd.Series) else pd.RangeIndex(n, name="task")
    out = pd.DataFrame({"group": group}, index=index)
    out["group_size"] = out.groupby("group")["group"].transform("size").to_numpy()
    if lab is not None:
        codes, _ = pd.factorize(pd.Series(lab))
        n_labels = pd.DataFrame({"g": group, "c": codes}).groupby("g")["c"].nunique()
        out["n_labels"] = n_labels.reindex(group).to_numpy()
        same = pd.DataFrame({"g": group, "c": codes}).groupby(["g", "c"])["c"].transform("size")
        out["duplicate_score"] = same.to_numpy() / out["group_size"].to_numpy()
        out["is_duplicate_issue"] = out["n_labels"] > 1
    return out
