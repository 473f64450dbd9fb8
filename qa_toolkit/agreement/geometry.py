"""Box agreement: vectorised IoU, optimal one-to-one matching, F1 and alpha over matches."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from qa_toolkit._validation import AnnotationFormatError, check_columns, check_fraction

__all__ = ["box_iou", "match_boxes", "box_agreement", "box_alpha", "mean_iou_per_label", "OUTCOME_SEVERITY"]

_BOX = ["x_min", "y_min", "x_max", "y_max"]
#: Severity of each match outcome (the seeds' order: missing > location > class > spurious).
OUTCOME_SEVERITY = {"missing": 4, "location": 3, "class": 2, "spurious": 1, "match": 0}
NO_BOX = "__no_box__"


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``boxes_a`` with every box in ``boxes_b``.

    Parameters
    ----------
    boxes_a : array of shape (n, 4)
        ``x_min, y_min, x_max, y_max`` per row.
    boxes_b : array of shape (m, 4)
        Same layout.

    Returns
    -------
    numpy.ndarray of shape (n, m)
        IoU in [0, 1]; 0 for disjoint regions.

    Examples
    --------
    >>> box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3], [0, 0, 2, 2]])).round(4)
    array([[0.1429, 1.    ]])
    """
    a = np.asarray(boxes_a, dtype=float).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=float).reshape(-1, 4)
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _check_regions(data: pd.DataFrame, cols: list[str], func: str) -> pd.DataFrame:
    check_columns(data, ["task", "annotator", "label", *cols], func=func)
    d = data[["task", "annotator", "label", *cols]]
    try:
        coords = d[cols].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise AnnotationFormatError(f"{func}: the columns {cols} must be numbers.") from None
    bad = np.isnan(coords).any(axis=1)
    half = len(cols) // 2
    bad |= (coords[:, half:] <= coords[:, :half]).any(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise AnnotationFormatError(
            f"{func}: {int(bad.sum())} region(s) have zero or negative size or missing coordinates "
            f"(need {cols[half:]} > {cols[:half]}); first rows {rows}. Drop or fix them first."
        )
    return d


def match_regions(data: pd.DataFrame, *, cols: list[str], iou: Callable, iou_threshold: float, func: str) -> pd.DataFrame:
    """Match regions of every annotator pair within each task (shared by boxes and spans)."""
    d = _check_regions(data, cols, func).reset_index(drop=True)
    coords = d[cols].to_numpy(dtype=float)
    labels = d["label"].to_numpy(dtype=object)
    out = []
    for task, idx in d.groupby("task", sort=True).indices.items():
        anns = d["annotator"].to_numpy()[idx]
        by_ann = {a: idx[anns == a] for a in sorted(pd.unique(anns), key=str)}
        for a, b in combinations(by_ann, 2):
            ia, ib = by_ann[a], by_ann[b]
            m = iou(coords[ia], coords[ib])
            ra, cb = linear_sum_assignment(-m)
            paired = m[ra, cb] > 0
            ra, cb = ra[paired], cb[paired]
            v = m[ra, cb]
            agree = labels[ia[ra]] == labels[ib[cb]]
            outcome = np.where(v >= iou_threshold, np.where(agree, "match", "class"), "location")
            rest_a = np.setdiff1d(np.arange(len(ia)), ra)
            rest_b = np.setdiff1d(np.arange(len(ib)), cb)
            out.append(pd.DataFrame({
                "task": task, "annotator_a": a, "annotator_b": b,
                "row_a": np.concatenate([ia[ra], ia[rest_a], np.full(len(rest_b), -1)]),
                "row_b": np.concatenate([ib[cb], np.full(len(rest_a), -1), ib[rest_b]]),
                "iou": np.concatenate([v, np.zeros(len(rest_a) + len(rest_b))]),
                "label_a": np.concatenate([labels[ia[ra]], labels[ia[rest_a]], np.full(len(rest_b), None)]),
                "label_b": np.concatenate([labels[ib[cb]], np.full(len(rest_a), None), labels[ib[rest_b]]]),
                "outcome": np.concatenate([outcome, np.full(len(rest_a), "missing"), np.full(len(rest_b), "spurious")]),
            }))
    cols_out = ["task", "annotator_a", "annotator_b", "row_a", "row_b", "iou", "label_a", "label_b", "outcome"]
    res = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols_out)
    res["labels_agree"] = (res["label_a"] == res["label_b"]) & res["outcome"].isin(["match", "class"])
    res["severity"] = res["outcome"].map(OUTCOME_SEVERITY).astype(np.int64)
    return res


def match_boxes(data: pd.DataFrame, *, iou_threshold: float = 0.5) -> pd.DataFrame:
    """Optimal one-to-one box matching for every task and annotator pair.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with ``x_min``, ``y_min``, ``x_max``, ``y_max`` (pixels);
        several rows per (task, annotator) allowed (one per box).
    iou_threshold : float, default=0.5
        Matched pairs below it are location errors.

    Returns
    -------
    pandas.DataFrame
        One row per matched pair or unmatched box: ``task``, ``annotator_a``,
        ``annotator_b``, ``row_a``/``row_b`` (positions in ``data``, -1 when absent),
        ``iou``, ``label_a``, ``label_b``, ``outcome`` ('match'; 'class': overlapping
        above the threshold with different labels; 'location': paired by the assignment
        but below the threshold; 'missing': only ``annotator_a`` drew it; 'spurious':
        only ``annotator_b`` drew it), ``labels_agree``, ``severity``
        (missing 4 > location 3 > class 2 > spurious 1 > match 0).

    Raises
    ------
    AnnotationFormatError
        Boxes with zero or negative area, or missing coordinates.

    Notes
    -----
    Per pair, the IoU matrix is computed in one vectorised step and
    ``scipy.optimize.linear_sum_assignment`` maximises the total IoU; pairs with IoU 0
    are not matched.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "a", "b"], "label": ["car", "dog", "car"],
    ...                    "x_min": [0, 10, 1], "y_min": [0, 10, 0], "x_max": [4, 12, 4], "y_max": [4, 12, 4]})
    >>> match_boxes(df)[["iou", "outcome"]]
        iou  outcome
    0  0.75    match
    1  0.00  missing
    """
    iou_threshold = check_fraction("iou_threshold", iou_threshold, func="match_boxes")
    return match_regions(data, cols=_BOX, iou=box_iou, iou_threshold=iou_threshold, func="match_boxes")


def _pair_summary(m: pd.DataFrame) -> pd.DataFrame:
    g = m.assign(
        n_a=m["row_a"] >= 0, n_b=m["row_b"] >= 0, tp=m["outcome"] == "match",
        matched_iou=m["iou"].where(m["outcome"].isin(["match", "class"])),
    ).groupby(["annotator_a", "annotator_b"])
    out = g.agg(n_a=("n_a", "sum"), n_b=("n_b", "sum"), n_matched=("tp", "sum"), mean_iou=("matched_iou", "mean"),
                n_tasks=("task", "nunique"))
    out["f1"] = 2 * out["n_matched"] / (out["n_a"] + out["n_b"])
    return out.reset_index()


def box_agreement(data: pd.DataFrame, *, iou_threshold: float = 0.5) -> pd.DataFrame:
    """Per annotator pair: F1 of boxes matched at the threshold with the same label.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with box columns.
    iou_threshold : float, default=0.5
        IoU needed for a match.

    Returns
    -------
    pandas.DataFrame
        ``annotator_a``, ``annotator_b``, ``n_a``, ``n_b`` (boxes), ``n_matched``
        (IoU >= threshold and same label), ``mean_iou`` (over pairs above the
        threshold), ``n_tasks``, ``f1 = 2 n_matched / (n_a + n_b)``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "a", "b"], "label": ["car", "dog", "car"],
    ...                    "x_min": [0, 10, 1], "y_min": [0, 10, 0], "x_max": [4, 12, 4], "y_max": [4, 12, 4]})
    >>> box_agreement(df)["f1"].round(4).tolist()
    [0.6667]
    """
    return _pair_summary(match_boxes(data, iou_threshold=iou_threshold))


def mean_iou_per_label(matches: pd.DataFrame) -> pd.DataFrame:
    """Mean IoU of matched pairs per label (of ``annotator_a``), from :func:`match_boxes`.

    Parameters
    ----------
    matches : pandas.DataFrame
        Output of :func:`match_boxes` (or :func:`match_spans`).

    Returns
    -------
    pandas.DataFrame
        Index ``label``; ``mean_iou`` and ``n_pairs`` over pairs above the threshold.

    Examples
    --------
    >>> m = pd.DataFrame({"label_a": ["car", "car"], "iou": [0.5, 0.7], "outcome": ["match", "class"]})
    >>> mean_iou_per_label(m)["mean_iou"].round(2).tolist()
    [0.6]
    """
    pairs = matches.loc[matches["outcome"].isin(["match", "class"])]
    out = pairs.groupby("label_a")["iou"].agg(["mean", "size"]).rename(columns={"mean": "mean_iou", "size": "n_pairs"})
    out.index.name = "label"
    return out


def matches_to_units(matches: pd.DataFrame) -> pd.DataFrame:
    """Long table of pair units (matched pair or lone region), 'no box' as a value."""
    loc = matches["outcome"].eq("location").to_numpy()
    has_a = (matches["row_a"] >= 0).to_numpy()
    has_b = (matches["row_b"] >= 0).to_numpy()
    la = np.where(has_a, matches["label_a"].astype(object), NO_BOX)
    lb = np.where(has_b & ~loc, matches["label_b"].astype(object), NO_BOX)
    n = len(matches)
    # a location error splits into (box_a, no box) and (no box, box_b)
    extra = np.flatnonzero(loc)
    unit = np.concatenate([np.arange(n), n + np.arange(len(extra))])
    ann_a = np.concatenate([matches["annotator_a"].to_numpy(), matches["annotator_a"].to_numpy()[extra]])
    ann_b = np.concatenate([matches["annotator_b"].to_numpy(), matches["annotator_b"].to_numpy()[extra]])
    val_a = np.concatenate([la, np.full(len(extra), NO_BOX, dtype=object)])
    val_b = np.concatenate([lb, matches["label_b"].to_numpy(dtype=object)[extra]])
    return pd.DataFrame({"task": np.concatenate([unit, unit]),
                         "annotator": np.concatenate([ann_a, ann_b]).astype(str),
                         "label": np.concatenate([val_a, val_b]).astype(str)})


def box_alpha(data: pd.DataFrame, *, iou_threshold: float = 0.5) -> float:
    """Krippendorff's alpha (nominal) over matched box units, with "no box" as a value.

    Each unit is a pair of boxes matched between two annotators (values: their labels)
    or a box only one of them drew (the other's value is "no box"); a pair below the
    threshold becomes two units (box vs no box each way).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with box columns.
    iou_threshold : float, default=0.5
        IoU needed for a match.

    Returns
    -------
    float
        The coefficient (``replace_undefined_by`` when undefined).

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": ["a", "a", "b", "a", "b"],
    ...                    "label": ["car", "dog", "car", "dog", "dog"], "x_min": [0, 10, 1, 0, 0],
    ...                    "y_min": [0, 10, 0, 0, 0], "x_max": [4, 12, 4, 5, 5], "y_max": [4, 12, 4, 5, 5]})
    >>> round(box_alpha(df), 4)  # 1 - (6-1) * 2 / 22
    0.5455
    """
    from qa_toolkit.agreement.krippendorff import krippendorff_alpha

    m = match_boxes(data, iou_threshold=iou_threshold)
    return krippendorff_alpha(matches_to_units(m))
