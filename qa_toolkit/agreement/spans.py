"""Span, numeric and custom-similarity agreement (Label Studio's metric menu, done right)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    AnnotationFormatError,
    QAInputError,
    check_columns,
    check_fraction,
    check_option,
)
from qa_toolkit.agreement._common import show_value
from qa_toolkit.agreement._warnings import SpanOverlapWarning
from qa_toolkit.agreement.geometry import _pair_summary, match_regions, matches_to_units

__all__ = ["span_iou", "match_spans", "span_agreement", "span_alpha", "numeric_agreement", "similarity_agreement"]

_SPAN = ["start", "end"]


def span_iou(spans_a: np.ndarray, spans_b: np.ndarray) -> np.ndarray:
    """Overlap over union of every span in ``spans_a`` with every span in ``spans_b``.

    Parameters
    ----------
    spans_a : array of shape (n, 2)
        ``start, end`` character offsets (end exclusive).
    spans_b : array of shape (m, 2)
        Same layout.

    Returns
    -------
    numpy.ndarray of shape (n, m)
        IoU in [0, 1]; 0 for disjoint regions.

    Examples
    --------
    >>> span_iou(np.array([[0, 10]]), np.array([[5, 15], [0, 10]])).round(4)
    array([[0.3333, 1.    ]])
    """
    a = np.asarray(spans_a, dtype=float).reshape(-1, 2)
    b = np.asarray(spans_b, dtype=float).reshape(-1, 2)
    inter = np.clip(np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _exact_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a[:, None, 0] == b[None, :, 0]) & (a[:, None, 1] == b[None, :, 1])).astype(float)


def match_spans(data: pd.DataFrame, *, method: str = "overlap", iou_threshold: float = 0.5) -> pd.DataFrame:
    """One-to-one span matching per task and annotator pair (as :func:`match_boxes`).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with ``start``/``end`` (character offsets, end exclusive).
    method : {'overlap', 'exact'}, default='overlap'
        'exact': only identical offsets match; 'overlap': span IoU >= ``iou_threshold``.
    iou_threshold : float, default=0.5
        Overlap needed for a match with method='overlap'.

    Returns
    -------
    pandas.DataFrame
        Same columns as :func:`qa_toolkit.agreement.match_boxes`.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["PER", "PER"],
    ...                    "start": [0, 0], "end": [5, 6]})
    >>> match_spans(df)["outcome"].tolist(), match_spans(df, method="exact")["outcome"].tolist()
    (['match'], ['missing', 'spurious'])
    """
    check_option("method", method, ["overlap", "exact"], func="match_spans")
    thr = check_fraction("iou_threshold", iou_threshold, func="match_spans")
    if method == "exact":
        return match_regions(data, cols=_SPAN, iou=_exact_iou, iou_threshold=1.0, func="match_spans")
    return match_regions(data, cols=_SPAN, iou=span_iou, iou_threshold=thr, func="match_spans")


def _merge_overlaps(d: pd.DataFrame, overlaps: str, func: str) -> pd.DataFrame:
    """Merge (or reject) overlapping same-label spans of one annotator in one task.

    Overlapping spans of one annotator would count their shared characters twice in the
    token-level intersection (F1 above 1). Touching spans (``end == start``) do not
    overlap and are kept apart.
    """
    if len(d) < 2:
        return d
    d = d.reset_index(drop=True)
    keys = np.column_stack([pd.factorize(d[c])[0] for c in ("task", "annotator", "label")])
    start = d["start"].to_numpy(dtype=float)
    end = d["end"].to_numpy(dtype=float)
    order = np.lexsort((end, start, keys[:, 2], keys[:, 1], keys[:, 0]))
    k = keys[order]
    s, e = start[order], end[order]
    same = np.r_[False, (k[1:] == k[:-1]).all(axis=1)]
    key_id = np.cumsum(~same)
    run_max = pd.Series(e).groupby(key_id).cummax().to_numpy()
    prev_max = np.r_[-np.inf, run_max[:-1]]
    overlap = same & (s < prev_max)
    if not overlap.any():
        return d
    first = d.iloc[order[np.flatnonzero(overlap)[0]]]
    n_groups = len(np.unique(key_id[overlap]))
    where = (f"task {show_value(first['task'])}, annotator {show_value(first['annotator'])}, label {show_value(first['label'])} "
             f"(span {int(first['start'])}-{int(first['end'])}); {int(overlap.sum())} overlapping span(s) "
             f"in {n_groups} (task, annotator, label) group(s)")
    if overlaps == "error":
        raise AnnotationFormatError(
            f"{func}: one annotator's spans overlap, which would count their shared characters twice: "
            f"{where}. Fix the spans or pass overlaps='merge' to merge each run into one span."
        )
    warnings.warn(f"{func}: merged overlapping spans of one annotator (same label) before token F1: {where}.",
                  SpanOverlapWarning, stacklevel=3)
    group = np.cumsum(~(same & (s < prev_max)))
    o = d.iloc[order]
    merged = pd.DataFrame({"task": o["task"].to_numpy(), "annotator": o["annotator"].to_numpy(),
                           "label": o["label"].to_numpy(), "start": s, "end": e, "g": group})
    return merged.groupby("g", sort=False).agg(task=("task", "first"), annotator=("annotator", "first"),
                                               label=("label", "first"), start=("start", "min"),
                                               end=("end", "max")).reset_index(drop=True)


def _token_f1(data: pd.DataFrame) -> pd.DataFrame:
    d = data.reset_index(drop=True)
    m = d.merge(d, on=["task"], suffixes=("_a", "_b"))
    m = m.loc[m["annotator_a"].astype(str) < m["annotator_b"].astype(str)]
    same = (m["label_a"] == m["label_b"]).to_numpy()
    ov = np.clip(np.minimum(m["end_a"], m["end_b"]) - np.maximum(m["start_a"], m["start_b"]), 0, None).to_numpy() * same
    inter = m.assign(ov=ov).groupby(["annotator_a", "annotator_b"])["ov"].sum()
    length = (d["end"] - d["start"]).groupby([d["task"], d["annotator"]]).sum().rename("len").reset_index()
    shared = length.merge(length, on="task", suffixes=("_a", "_b"))
    shared = shared.loc[shared["annotator_a"].astype(str) < shared["annotator_b"].astype(str)]
    g = shared.groupby(["annotator_a", "annotator_b"])
    tot = g[["len_a", "len_b"]].sum().join(g["task"].nunique().rename("n_tasks"))
    tot["n_overlap_chars"] = inter.reindex(tot.index).fillna(0)
    tot["f1"] = 2 * tot["n_overlap_chars"] / (tot["len_a"] + tot["len_b"])
    return tot.reset_index()


def span_agreement(
    data: pd.DataFrame, *, method: str = "overlap", iou_threshold: float = 0.5, overlaps: str = "merge"
) -> pd.DataFrame:
    """Per annotator pair F1 of spans: exact, overlap (matched at a threshold) or token level.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with ``start``/``end``.
    method : {'overlap', 'exact', 'token'}, default='overlap'
        'token': character-level F1 over (position, label), on the tasks both
        annotators labelled; never above 1 (see ``overlaps``).
    iou_threshold : float, default=0.5
        For method='overlap'.
    overlaps : {'merge', 'error'}, default='merge'
        method='token' only: overlapping spans of one annotator with the same label in
        one task are merged into their union with a :class:`SpanOverlapWarning` naming
        the task and annotator ('merge'), or rejected with an
        :class:`~qa_toolkit.AnnotationFormatError` ('error'). Without this the shared
        characters would count twice (token F1 of 1.143 on such data).

    Returns
    -------
    pandas.DataFrame
        ``annotator_a``, ``annotator_b``, ``f1`` and counts (``n_matched`` or
        ``n_overlap_chars``), ``n_tasks``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["PER", "PER"],
    ...                    "start": [0, 0], "end": [5, 6]})
    >>> span_agreement(df, method="token")["f1"].round(4).tolist()
    [0.9091]
    """
    check_option("method", method, ["overlap", "exact", "token"], func="span_agreement")
    check_option("overlaps", overlaps, ["merge", "error"], func="span_agreement")
    if method == "token":
        check_columns(data, ["task", "annotator", "label", *_SPAN], func="span_agreement")
        from qa_toolkit.agreement.geometry import _check_regions

        checked = _check_regions(data, _SPAN, "span_agreement")
        return _token_f1(_merge_overlaps(checked, overlaps, "span_agreement"))
    return _pair_summary(match_spans(data, method=method, iou_threshold=iou_threshold))


def span_alpha(data: pd.DataFrame, *, method: str = "overlap", iou_threshold: float = 0.5) -> float:
    """Krippendorff's alpha (nominal) over matched span units, "no span" as a value.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with ``start``/``end``.
    method : {'overlap', 'exact'}, default='overlap'
        Matching rule (see :func:`match_spans`).
    iou_threshold : float, default=0.5
        For method='overlap'.

    Returns
    -------
    float
        The coefficient (``replace_undefined_by`` when undefined).

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "label": ["PER", "PER", "LOC", "ORG"],
    ...                    "start": [0, 0, 3, 3], "end": [5, 6, 9, 9]})
    >>> round(span_alpha(df), 4)  # 1 - (4-1) * 2 / 10
    0.4
    """
    from qa_toolkit.agreement.krippendorff import krippendorff_alpha

    return krippendorff_alpha(matches_to_units(match_spans(data, method=method, iou_threshold=iou_threshold)))


def numeric_agreement(data: pd.DataFrame, *, threshold: float, column: str = "value") -> pd.DataFrame:
    """Per annotator pair: share of shared tasks whose numeric values differ by <= ``threshold``.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with a numeric ``column`` (one value per task and annotator).
    threshold : float
        Largest absolute difference counted as agreement.
    column : str, default='value'
        Column holding the numbers ('label' works for numeric labels).

    Returns
    -------
    pandas.DataFrame
        ``annotator_a``, ``annotator_b``, ``agreement``, ``mean_abs_diff``, ``n``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b"] * 2, "label": 0, "value": [1.0, 1.5, 3.0, 5.0]})
    >>> numeric_agreement(df, threshold=1.0)[["agreement", "n"]].values.tolist()
    [[0.5, 2.0]]
    """
    check_columns(data, ["task", "annotator", column], func="numeric_agreement")
    try:
        thr = float(threshold)
    except (TypeError, ValueError):
        thr = np.nan
    if not np.isfinite(thr) or thr < 0:
        raise QAInputError(f"The 'threshold' parameter of numeric_agreement must be a number >= 0. Got {threshold!r} instead.")
    d = data[["task", "annotator", column]].rename(columns={column: "v"})
    try:
        d = d.assign(v=d["v"].astype(float))
    except (TypeError, ValueError):
        raise AnnotationFormatError(f"numeric_agreement: column {column!r} must hold numbers.") from None
    if d["v"].isna().any():
        raise AnnotationFormatError(f"numeric_agreement: column {column!r} has {int(d['v'].isna().sum())} missing value(s).")
    m = d.merge(d, on="task", suffixes=("_a", "_b"))
    m = m.loc[m["annotator_a"].astype(str) < m["annotator_b"].astype(str)]
    diff = (m["v_a"] - m["v_b"]).abs()
    out = m.assign(ok=diff <= thr, diff=diff).groupby(["annotator_a", "annotator_b"]).agg(
        agreement=("ok", "mean"), mean_abs_diff=("diff", "mean"), n=("ok", "size"))
    return out.reset_index()


def similarity_agreement(data: pd.DataFrame, similarity: Callable[[Any, Any], float], *,
                         against: str = "pairwise", column: str = "label") -> pd.DataFrame:
    """Per task agreement from a custom similarity ``(a, b) -> [0, 1]``.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    similarity : callable
        ``similarity(a, b)`` on two values of ``column``; must return a number in [0, 1].
    against : {'pairwise', 'consensus'}, default='pairwise'
        'pairwise': mean similarity over annotator pairs (Label Studio's agreement);
        'consensus': mean similarity of each label to the task's most frequent label.
    column : str, default='label'
        Column passed to ``similarity``.

    Returns
    -------
    pandas.DataFrame
        Index ``task``; ``agreement`` (NaN for single-label tasks with 'pairwise'),
        ``n_labels``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": list("abc"), "label": ["cat", "cat", "cats"]})
    >>> similarity_agreement(df, lambda a, b: float(a == b))["agreement"].round(4).tolist()
    [0.3333]
    """
    if not callable(similarity):
        raise QAInputError(f"The 'similarity' parameter of similarity_agreement must be a callable (a, b) -> [0, 1]. "
                           f"Got {type(similarity).__name__} instead.")
    check_option("against", against, ["pairwise", "consensus"], func="similarity_agreement")
    check_columns(data, ["task", "annotator", column], func="similarity_agreement")
    rows = []
    for task, vals in data.groupby("task", sort=True)[column]:
        v = vals.tolist()
        if against == "pairwise":
            raw = [similarity(v[i], v[j]) for i in range(len(v)) for j in range(i + 1, len(v))]
        else:
            mode = vals.mode().iloc[0]
            raw = [similarity(x, mode) for x in v]
        sims = np.asarray(raw, dtype=float)
        if ((sims < 0) | (sims > 1)).any():
            raise QAInputError(f"similarity_agreement: the similarity returned {sims[(sims < 0) | (sims > 1)][0]} "
                               f"on task {task!r}; it must lie in [0, 1].")
        rows.append((task, sims.mean() if len(sims) else np.nan, len(v)))
    return pd.DataFrame(rows, columns=["task", "agreement", "n_labels"]).set_index("task")
