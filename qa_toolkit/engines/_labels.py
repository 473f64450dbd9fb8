"""Label helpers below the coding layer: numeric category scores, how repeated rows are
explained (test-retest, regions, several fields). ``_counts`` and ``_common`` both use them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError

__all__ = ["REGION_COLUMNS", "REGION_KINDS", "category_scores", "duplicate_error"]

#: Columns that make a row a region (box, polygon, keypoints, span), docs/DATA_MODEL.md.
REGION_COLUMNS = ("x_min", "y_min", "x_max", "y_max", "points", "rle", "keypoints", "start", "end")
#: Region kinds and the functions that measure their agreement.
REGION_KINDS = {
    "box": "qa_toolkit.agreement.match_boxes / box_agreement / box_alpha",
    "polygon": "qa_toolkit.agreement.match_boxes on their bounding boxes, or to_units",
    "keypoints": "qa_toolkit.to_units (match the objects first)",
    "span": "qa_toolkit.agreement.match_spans / span_agreement / span_alpha",
}


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


def show_value(value: Any) -> str:
    """``repr`` of a record id or label as the user wrote it (numpy scalars as Python ones)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def chronological_order(data: pd.DataFrame) -> np.ndarray:
    """Row positions in time order: ``created_at`` (stable) when the table has it, else row order."""
    if "created_at" in data.columns and data["created_at"].notna().all():
        try:
            t = pd.to_datetime(data["created_at"], utc=True)
        except (TypeError, ValueError):
            return np.arange(len(data))
        return np.argsort(t.to_numpy(), kind="stable")
    return np.arange(len(data))


def region_hint(rows: pd.DataFrame) -> str | None:
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
    where = (f"annotator {show_value(first['annotator'])} gave task {show_value(first['task'])} {n_here} labels "
             f"({n_extra} repeated row(s) on {n_pairs} (task, annotator) pair(s))")
    hint = region_hint(rows)
    if hint is not None:
        return AnnotationFormatError(f"{func} needs one label per (task, annotator); {where}: {hint}")
    labels = [show_value(v) for v in rows.loc[same, "label"].tolist()[:5]]
    return AnnotationFormatError(
        f"{func} needs one label per (task, annotator); {where}: repeated labels by one annotator "
        f"on one task (test-retest; here {', '.join(labels)}). Pass duplicates='first' or "
        "duplicates='last' to keep one of them (in created_at order when the table has it, else "
        "row order), or measure the repeats with qa_toolkit.intra_annotator_agreement(data); if the field is "
        "multi-select, say kinds={'label': 'multilabel'} (per-label units)."
    )
