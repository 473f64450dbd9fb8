"""Helpers shared by the coefficient modules (internal)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_option
from qa_toolkit.agreement._counts import Coded, code_annotations
from qa_toolkit.agreement._warnings import PrevalenceParadoxWarning, SingleLabelWarning, warn

__all__ = [
    "two_raters",
    "check_single_label",
    "check_paradox",
    "EXAMPLE",
    "category_scores",
    "resolve_duplicates",
    "duplicate_error",
    "DUPLICATES",
]

#: Policies for repeated labels by one annotator on one task (``duplicates=``).
DUPLICATES = ("error", "first", "last")
#: Columns that make a row a region (box, polygon, keypoints, span), docs/DATA_MODEL.md.
REGION_COLUMNS = ("x_min", "y_min", "x_max", "y_max", "points", "rle", "keypoints", "start", "end")
#: Region kinds and the functions that measure their agreement.
REGION_KINDS = {
    "box": "qa_toolkit.agreement.match_boxes / box_agreement / box_alpha",
    "polygon": "qa_toolkit.agreement.match_boxes on their bounding boxes, or to_units",
    "keypoints": "qa_toolkit.to_units (match the objects first)",
    "span": "qa_toolkit.agreement.match_spans / span_agreement / span_alpha",
}

#: The small table used in the docstring examples (4 tasks x 3 annotators).
EXAMPLE = {"task": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], "annotator": list("abc") * 4,
           "label": list("xxxyyyxyxyyx")}


def two_raters(data: Any, annotator_a: Any, annotator_b: Any, *, func: str, categories: Any = None) -> tuple[Coded, np.ndarray, np.ndarray]:
    """Code the tasks both annotators labelled; return (coded, labels of a, labels of b)."""
    if annotator_a is None and annotator_b is None:
        coded = code_annotations(data, func=func, categories=categories)
        if len(coded.annotators) != 2:
            raise QAInputError(
                f"{func} compares two annotators: pass annotator_a and annotator_b, or a table with "
                f"exactly two annotators (this one has {len(coded.annotators)})."
            )
        annotator_a, annotator_b = coded.annotators
    if annotator_a == annotator_b:
        raise QAInputError(f"{func}: annotator_a and annotator_b must differ; both are {annotator_a!r}.")
    present = set(pd.unique(data["annotator"])) if "annotator" in getattr(data, "columns", []) else set()
    for name, who in (("annotator_a", annotator_a), ("annotator_b", annotator_b)):
        if present and who not in present:
            raise QAInputError(
                f"The {name!r} parameter of {func} must be an annotator of the table. Got {who!r}; "
                f"annotators include {sorted(map(str, present))[:10]}."
            )
    sub = data.loc[data["annotator"].isin([annotator_a, annotator_b])]
    coded = code_annotations(sub, func=func, categories=categories)
    ia = coded.annotators.get_loc(annotator_a)
    n_t = len(coded.tasks)
    la = np.full(n_t, -1)
    lb = np.full(n_t, -1)
    mask_a = coded.a == ia
    la[coded.t[mask_a]] = coded.l[mask_a]
    lb[coded.t[~mask_a]] = coded.l[~mask_a]
    both = (la >= 0) & (lb >= 0)
    if not both.any():
        raise QAInputError(f"{func}: annotators {annotator_a!r} and {annotator_b!r} share no task.")
    return coded, la[both], lb[both]


def check_single_label(coded: Coded, func: str) -> None:
    if len(coded.categories) < 2:
        warn(SingleLabelWarning, f"{func}: only one label ({coded.categories[0]!r}) is in use; "
             "chance-corrected agreement is undefined.")


def check_paradox(pa: float, value: float, func: str) -> None:
    if np.isfinite(value) and pa >= 0.8 and value < 0.4:
        warn(PrevalenceParadoxWarning, f"{func}: raw agreement is {pa:.2f} but the coefficient is "
             f"{value:.2f}: one label dominates (the prevalence paradox). Report percent agreement "
             "and per-label agreement beside it, or Gwet's AC1.")


def category_scores(categories: Any) -> tuple[int, np.ndarray]:
    """``(K, scores)``: the numeric value of every category, or the positions 0..K-1.

    Values are used when every category is a finite number or a numeric string and no
    two share a value (R irrCAC ``linear.weights`` uses ``categ`` itself when it is
    numeric; SAS PROC FREQ's default ``SCORES=TABLE`` uses the numeric row/column values).
    An integer ``categories`` means "K categories, positions".
    """
    if isinstance(categories, (int, np.integer)):
        return int(categories), np.arange(int(categories), dtype=float)
    cats = list(categories)
    K = len(cats)
    positions = np.arange(K, dtype=float)
    try:
        v = np.array([float(c) for c in cats], dtype=float)
    except (TypeError, ValueError):
        return K, positions
    if K < 2 or not np.isfinite(v).all() or len(np.unique(v)) < K:
        return K, positions
    return K, v


def _show(value: Any) -> str:
    """``repr`` of a record id or label as the user wrote it (numpy scalars as Python ones)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _chronological(data: pd.DataFrame) -> np.ndarray:
    """Row positions in time order: ``created_at`` (stable) when the table has it, else row order."""
    if "created_at" in data.columns and data["created_at"].notna().all():
        try:
            t = pd.to_datetime(data["created_at"], utc=True)
        except (TypeError, ValueError):
            return np.arange(len(data))
        return np.argsort(t.to_numpy(), kind="stable")
    return np.arange(len(data))


def _region_hint(rows: pd.DataFrame) -> str | None:
    """The hint for repeated rows that are regions / several fields / multilabel, else None."""
    if "field" in rows.columns and rows["field"].nunique(dropna=False) > 1:
        fields = [str(f) for f in pd.unique(rows["field"])][:10]
        return (f"the rows come from several fields {fields}: select one field first "
                "(data[data['field'] == name]).")
    kind = None
    if "kind" in rows.columns and rows["kind"].notna().any():
        kind = str(rows["kind"].dropna().iloc[0])
    field = repr(str(rows["field"].iloc[0])) if "field" in rows.columns else "'label'"
    present = [c for c in REGION_COLUMNS if c in rows.columns and rows[c].notna().any()]
    if kind in REGION_KINDS or (kind is None and present):
        if kind is None:
            kind = "box" if "x_min" in present else "span" if "start" in present else (
                "keypoints" if "keypoints" in present else "polygon")
        return (f"field {field} holds regions (kind {kind!r}): several regions per task are expected. "
                f"Match regions first ({REGION_KINDS[kind]}), then pass the matched units "
                "(qa_toolkit.to_units) to the coefficient.")
    if kind == "multilabel":
        return (f"field {field} is of kind 'multilabel' (several labels per annotator by design): "
                "measure agreement per label as present/absent, one binary table per label.")
    return None


def duplicate_error(data: pd.DataFrame, *, func: str) -> AnnotationFormatError:
    """The error for several rows of one (task, annotator): test-retest, regions or fields."""
    dup = data.duplicated(["task", "annotator"], keep=False).to_numpy()
    rows = data.loc[dup]
    first = rows.iloc[0]
    same = (rows["task"] == first["task"]) & (rows["annotator"] == first["annotator"])
    n_here = int(same.sum())
    n_extra = int(data.duplicated(["task", "annotator"]).sum())
    n_pairs = len(rows.drop_duplicates(["task", "annotator"]))
    where = (f"annotator {_show(first['annotator'])} gave task {_show(first['task'])} {n_here} labels "
             f"({n_extra} repeated row(s) on {n_pairs} (task, annotator) pair(s))")
    hint = _region_hint(rows)
    if hint is not None:
        return AnnotationFormatError(f"{func} needs one label per (task, annotator); {where}: {hint}")
    labels = [_show(v) for v in rows.loc[same, "label"].tolist()[:5]]
    return AnnotationFormatError(
        f"{func} needs one label per (task, annotator); {where}: repeated labels by one annotator "
        f"on one task (test-retest; here {', '.join(labels)}). Pass duplicates='first' or "
        "duplicates='last' to keep one of them (in created_at order when the table has it, else "
        "row order), or measure the repeats with qa_toolkit.intra_annotator_agreement(data); if the field is "
        "multi-select, say kinds={'label': 'multilabel'} (per-label units)."
    )


def resolve_duplicates(data: Any, duplicates: str, *, func: str, eager: bool = False) -> Any:
    """Apply the ``duplicates`` policy to repeated (task, annotator) rows.

    ``'error'`` leaves the table as is (``code_annotations`` raises :func:`duplicate_error`
    after its other checks); ``'first'``/``'last'`` keep the earliest or latest label
    (``created_at`` order when present, else row order). Rows that are regions, a
    multilabel field or several fields always raise: dropping them would change the
    data, not resolve a repeat. ``eager=True`` raises for ``'error'`` at once, naming
    ``func`` (for entry points such as ``agreement_report`` that call several metrics).
    """
    check_option("duplicates", duplicates, DUPLICATES, func=func)
    cols = getattr(data, "columns", None)
    if (duplicates == "error" and not eager) or cols is None or "task" not in cols or "annotator" not in cols:
        return data  # code_annotations names the missing column
    from qa_toolkit.agreement._counts import any_duplicate_pairs  # issue 14: linear pre-check

    if not any_duplicate_pairs(data):
        return data
    dup = data.duplicated(["task", "annotator"], keep=False).to_numpy()
    if duplicates == "error" or _region_hint(data.loc[dup]) is not None:
        raise duplicate_error(data, func=func)
    order = _chronological(data)
    ordered = data.iloc[order]
    keep = ~ordered.duplicated(["task", "annotator"], keep=duplicates).to_numpy()
    out = data.iloc[np.sort(order[keep])]
    out.attrs = dict(data.attrs)
    return out
