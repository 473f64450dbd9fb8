"""Checks behind :func:`qa_toolkit.table.validate_annotations`: geometry, spans, and naming records.

Records are named as the user knows them (task id, annotator, annotation id, result,
region id, field), never by an internal row index.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MAX_ASPECT_RATIO", "MIN_BOX_SIDE"]

_BOX = ["x_min", "y_min", "x_max", "y_max"]
_SCALAR_KINDS = {"string", "integer", "floating", "mixed-integer-float", "boolean", "empty", "decimal"}
Problem = tuple[str, np.ndarray]


def py_value(v: object) -> object:
    return v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v


def record_name(data: pd.DataFrame, i: int) -> str:
    """Name row ``i`` as the user knows it: task id, annotation id, result, field."""
    row = data.iloc[i]
    parts = [f"task {py_value(row['task'])!r}"] if "task" in data.columns else []
    for col, name in (("annotator", "annotator"), ("annotation_id", "annotation id"),
                      ("_loc", ""), ("region_id", "region id"), ("field", "field")):
        if col in data.columns and not _isna(row[col]):
            v = py_value(row[col])
            if col == "_loc":
                parts.append(f"result #{v}" if isinstance(v, int) else str(v))
            else:
                parts.append(f"{name} {v!r}")
    return "record " + ", ".join(parts) if parts else f"row {i}"


def non_scalar(col: pd.Series) -> np.ndarray:
    """Cells holding lists, dicts, sets or tuples (a C-speed type check first)."""
    if col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) in _SCALAR_KINDS:
        return np.zeros(len(col), dtype=bool)
    return col.map(lambda v: isinstance(v, (list, dict, set, tuple))).to_numpy(dtype=bool)


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def rows_phrase(mask: np.ndarray, limit: int = 3, data: pd.DataFrame | None = None) -> str:
    idx = np.flatnonzero(mask)
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    if data is None:
        return f"row(s) {', '.join(str(i) for i in idx[:limit])}{more}"
    return "; ".join(record_name(data, int(i)) for i in idx[:limit]) + more


#: Heuristics from the seeds' QA guides, reported as counted warnings (not errors).
MAX_ASPECT_RATIO = 10.0
MIN_BOX_SIDE = 4.0  # pixels


def box_problems(data: pd.DataFrame, kind: np.ndarray, iw: Any, ih: Any, rec: Callable[[np.ndarray], str],
                  where: str, notes: list[str]) -> list[Problem]:
    out: list[Problem] = []
    box = data[_BOX].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    nan = np.isnan(box)
    has = ~nan.all(axis=1)
    bad = (has & nan.any(axis=1)) | (np.isin(kind, ["box"]) & nan.all(axis=1))
    if bad.any():
        out.append((f"Box with missing (NaN) coordinates in {rec(bad)}{where}: expected numbers for "
                    "x_min, y_min, x_max, y_max.", bad))
    has &= ~nan.any(axis=1)
    w = box[:, 2] - box[:, 0]
    h = box[:, 3] - box[:, 1]
    bad = has & ~((w > 0) & (h > 0))
    if bad.any():
        out.append((f"Box with zero or negative area in {rec(bad)}{where}: expected x_max > x_min "
                    f"and y_max > y_min, got width={w[bad][0]:g}, height={h[bad][0]:g}.", bad))
    ok = has & (w > 0) & (h > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum(w / h, h / w)
    for mask, msg in ((ok & (ratio > MAX_ASPECT_RATIO), f"with an aspect ratio beyond {MAX_ASPECT_RATIO:g}:1"),
                      (ok & (np.minimum(w, h) < MIN_BOX_SIDE), f"narrower than {MIN_BOX_SIDE:g} pixels")):
        if mask.any():
            notes.append(f"{int(mask.sum())} box(es) {msg} (kept; first: {rec(mask)}).")
    if iw is not None and ih is not None:
        corners = _corners(data, box)
        tol = 1e-6 * np.maximum(iw, ih) + 1e-6
        xs, ys = corners[:, :, 0], corners[:, :, 1]
        outside = ok & ~np.isnan(iw) & ~np.isnan(ih) & (
            (xs.min(axis=1) < -tol) | (ys.min(axis=1) < -tol)
            | (xs.max(axis=1) > iw + tol) | (ys.max(axis=1) > ih + tol)
        )
        if outside.any():
            i = np.flatnonzero(outside)[0]
            out.append((f"Box outside the image in {rec(outside)}{where}: expected 0 <= x <= {iw[i]:g} "
                        f"and 0 <= y <= {ih[i]:g}, got {box[i].tolist()}.", outside))
    return out


def _corners(data: pd.DataFrame, box: np.ndarray) -> np.ndarray:
    """The 4 corners of each box, rotated clockwise about (x_min, y_min) by ``rotation``."""
    x0, y0 = box[:, 0], box[:, 1]
    w, h = box[:, 2] - x0, box[:, 3] - y0
    rot = np.zeros(len(box))
    if "rotation" in data.columns:
        rot = np.nan_to_num(pd.to_numeric(data["rotation"], errors="coerce").to_numpy(dtype=float))
    c, s = np.cos(np.radians(rot)), np.sin(np.radians(rot))
    out = np.empty((len(box), 4, 2))
    for k, (u, v) in enumerate(((0, 0), (1, 0), (1, 1), (0, 1))):
        dx, dy = u * w, v * h
        out[:, k, 0] = x0 + dx * c - dy * s
        out[:, k, 1] = y0 + dx * s + dy * c
    return out


def point_problems(data: pd.DataFrame, kind: np.ndarray, iw: Any, ih: Any, rec: Callable[[np.ndarray], str],
                    where: str) -> list[Problem]:
    out: list[Problem] = []
    pts = data["points"].to_numpy(dtype=object)
    n = len(pts)
    few, nan, outside = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    shape = data["shape"].to_numpy(dtype=object) if "shape" in data.columns else np.full(n, None, dtype=object)
    for i, p in enumerate(pts):
        if not isinstance(p, (list, tuple, np.ndarray)) and _isna(p):
            continue
        try:  # lists of pairs, arrays of arrays (Parquet), or their JSON text (CSV/Parquet writers)
            if isinstance(p, str):
                p = json.loads(p)
            arr = np.asarray([tuple(q) for q in p], dtype=float).reshape(-1, 2)
        except (TypeError, ValueError):
            nan[i] = True
            continue
        if kind[i] == "polygon" and shape[i] != "polyline" and len(arr) < 3:
            few[i] = True
        if np.isnan(arr).any():
            nan[i] = True
        elif iw is not None and ih is not None and not (np.isnan(iw[i]) or np.isnan(ih[i])):
            tol = 1e-6 * max(iw[i], ih[i]) + 1e-6
            outside[i] = bool((arr.min(axis=0) < -tol).any() or arr[:, 0].max() > iw[i] + tol
                              or arr[:, 1].max() > ih[i] + tol)
    if few.any():
        out.append((f"Polygon with fewer than 3 points in {rec(few)}{where}: expected at least 3 (x, y) pairs.", few))
    if nan.any():
        out.append((f"Points with missing (NaN) or non-numeric coordinates in {rec(nan)}{where}.", nan))
    if outside.any():
        out.append((f"Points outside the image in {rec(outside)}{where}: expected 0 <= x <= image_width "
                    "and 0 <= y <= image_height.", outside))
    return out
