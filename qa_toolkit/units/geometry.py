"""Similarity of two regions of the same kind, for matching (pairs given as index arrays).

Boxes: IoU (axis-aligned, vectorised; rotated boxes through shapely polygons). Spans:
overlap over union of character ranges. Polygons: shapely area IoU; masks (RLE):
``pycocotools.mask.iou``. Keypoints: object keypoint similarity (OKS) with the COCO
per-keypoint sigmas, as ``pycocotools.cocoeval.COCOeval.computeOks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError
from qa_toolkit.units.kinds import py_value

__all__ = ["COCO_SIGMAS", "box_iou_pairs", "span_iou_pairs", "rotated_box_polygons", "oks", "Geometry",
           "prepare_geometry", "GEOMETRY_COLUMNS"]

#: COCO person keypoint sigmas (pycocotools ``COCOeval.Params.kpt_oks_sigmas``).
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
#: Default sigma of a single-point keypoint (Label Studio ``keypointlabels``), relative to sqrt(image area).
POINT_SIGMA = 0.025
GEOMETRY_COLUMNS = {"box": ["x_min", "y_min", "x_max", "y_max", "rotation"], "span": ["start", "end"],
                    "polygon": ["points", "rle"], "keypoints": ["keypoints", "points"]}


def box_iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of axis-aligned boxes row by row (``a[i]`` with ``b[i]``), each ``x_min, y_min, x_max, y_max``.

    Examples
    --------
    >>> box_iou_pairs(np.array([[0, 0, 2, 2], [0, 0, 2, 2]]), np.array([[1, 1, 3, 3], [0, 0, 2, 2]])).round(4)
    array([0.1429, 1.    ])
    """
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = w * h
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=float), where=union > 0)


def span_iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Overlap over union of character spans row by row (``start, end``, end exclusive).

    Examples
    --------
    >>> span_iou_pairs(np.array([[0, 10]]), np.array([[5, 15]])).round(4)
    array([0.3333])
    """
    inter = np.clip(np.minimum(a[:, 1], b[:, 1]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    union = (a[:, 1] - a[:, 0]) + (b[:, 1] - b[:, 0]) - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=float), where=union > 0)


def rotated_box_polygons(coords: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Shapely polygons of boxes rotated ``rotation`` degrees clockwise about (``x_min``, ``y_min``).

    Image coordinates (y down), as Label Studio and CVAT (after the reader's conversion)
    define ``rotation``.

    Examples
    --------
    >>> p = rotated_box_polygons(np.array([[0., 0., 4., 2.]]), np.array([90.]))[0]
    >>> [tuple(map(round, c)) for c in list(p.exterior.coords)[:4]]
    [(0, 0), (0, 4), (-2, 4), (-2, 0)]
    """
    import shapely

    x0, y0, x1, y1 = coords.T
    w, h = x1 - x0, y1 - y0
    t = np.deg2rad(rotation)
    c, s = np.cos(t), np.sin(t)
    local = np.stack([np.zeros_like(w), np.zeros_like(w), w, np.zeros_like(w), w, h, np.zeros_like(w), h], axis=1)
    local = local.reshape(-1, 4, 2)
    xs = x0[:, None] + local[..., 0] * c[:, None] - local[..., 1] * s[:, None]
    ys = y0[:, None] + local[..., 0] * s[:, None] + local[..., 1] * c[:, None]
    return shapely.polygons(np.stack([xs, ys], axis=2))


def oks(gt: np.ndarray, dt: np.ndarray, *, area: float, sigmas: np.ndarray = COCO_SIGMAS) -> float:
    """Object keypoint similarity of ``dt`` against ``gt``, exactly as COCOeval.computeOks.

    Parameters
    ----------
    gt, dt : array of shape (K, 3)
        ``x, y, v`` per keypoint (``v`` > 0: labelled).
    area : float
        Object area of ``gt`` (COCO ``area``).
    sigmas : array of shape (K,)
        Per-keypoint sigmas (default COCO person).

    Examples
    --------
    >>> k = np.array([[10., 10., 2.], [20., 20., 2.]])
    >>> oks(k, k, area=100.0, sigmas=np.array([0.1, 0.1]))
    1.0
    """
    gt = np.asarray(gt, float).reshape(-1, 3)
    dt = np.asarray(dt, float).reshape(-1, 3)
    var = (2 * np.asarray(sigmas, float)) ** 2
    vg = gt[:, 2]
    k1 = int((vg > 0).sum())
    if k1 > 0:
        dx, dy = dt[:, 0] - gt[:, 0], dt[:, 1] - gt[:, 1]
    else:  # COCO: distance to a box twice the size of the gt keypoints' bbox
        xs, ys = gt[:, 0], gt[:, 1]
        x0, x1 = xs.min() - (xs.max() - xs.min()), xs.max() + (xs.max() - xs.min())
        y0, y1 = ys.min() - (ys.max() - ys.min()), ys.max() + (ys.max() - ys.min())
        z = np.zeros(len(var))
        dx = np.maximum(z, x0 - dt[:, 0]) + np.maximum(z, dt[:, 0] - x1)
        dy = np.maximum(z, y0 - dt[:, 1]) + np.maximum(z, dt[:, 1] - y1)
    e = (dx**2 + dy**2) / var / (area + np.spacing(1)) / 2
    if k1 > 0:
        e = e[vg > 0]
    return float(np.sum(np.exp(-e)) / e.shape[0])


def _record(d: pd.DataFrame, i: int, field: Any) -> str:
    r = d.iloc[i]
    aid = f", annotation {py_value(r['annotation_id'])!r}" if "annotation_id" in d.columns else ""
    rid = f", region {py_value(r['region_id'])!r}" if "region_id" in d.columns else ""
    return f"field {field!r}, task {py_value(r['task'])!r}, annotator {py_value(r['annotator'])!r}{aid}{rid}"


@dataclass
class Geometry:
    """Prepared geometry of one field's regions (internal)."""

    kind: str
    mode: str
    data: Any
    extra: Any = None

    def similarity(self, i: np.ndarray, j: np.ndarray, task_codes: np.ndarray) -> np.ndarray:
        """Similarity of region ``i[p]`` with region ``j[p]`` for every p."""
        if self.mode == "span":
            return span_iou_pairs(self.data[i], self.data[j])
        if self.mode == "box":
            return box_iou_pairs(self.data[i], self.data[j])
        if self.mode == "shape":
            import shapely

            inter = shapely.area(shapely.intersection(self.data[i], self.data[j]))
            union = self.extra[i] + self.extra[j] - inter
            return np.divide(inter, union, out=np.zeros(len(i)), where=union > 0)
        if self.mode == "rbox":
            out = box_iou_pairs(self.data[0][i], self.data[0][j])
            rot = (self.data[1][i] != 0) | (self.data[1][j] != 0)
            if rot.any():
                import shapely

                polys, area = self.extra
                ii, jj = i[rot], j[rot]
                inter = shapely.area(shapely.intersection(polys[ii], polys[jj]))
                union = area[ii] + area[jj] - inter
                out[rot] = np.divide(inter, union, out=np.zeros(len(ii)), where=union > 0)
            return out
        if self.mode == "rle":
            from pycocotools import mask as mask_utils

            out = np.zeros(len(i))
            order = np.argsort(task_codes[i], kind="stable")
            bounds = np.flatnonzero(np.diff(task_codes[i][order])) + 1
            for grp in np.split(order, bounds):
                if not len(grp):
                    continue
                rows = np.unique(np.concatenate([i[grp], j[grp]]))
                pos = {r: k for k, r in enumerate(rows)}
                m = mask_utils.iou([self.data[r] for r in rows], [self.data[r] for r in rows], [0] * len(rows))
                m = np.asarray(m).reshape(len(rows), len(rows))
                out[grp] = m[[pos[r] for r in i[grp]], [pos[r] for r in j[grp]]]
            return out
        if self.mode == "kp":  # symmetric OKS: keypoints labelled by both, mean of the two areas
            kp, area, sig = self.data
            a, b = kp[i], kp[j]
            both = (a[..., 2] > 0) & (b[..., 2] > 0)
            var = (2 * sig) ** 2
            s = (area[i] + area[j]) / 2
            e = ((a[..., 0] - b[..., 0]) ** 2 + (a[..., 1] - b[..., 1]) ** 2) / var[None, :] / (s[:, None] + np.spacing(1)) / 2
            n = both.sum(axis=1)
            tot = np.where(both, np.exp(-e), 0.0).sum(axis=1)
            return np.divide(tot, n, out=np.zeros(len(i)), where=n > 0)
        raise AssertionError(self.mode)  # pragma: no cover


def _finite(d: pd.DataFrame, cols: list[str], field: Any, func: str) -> np.ndarray:
    try:
        x = d[cols].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise AnnotationFormatError(f"{func}: field {field!r}: the columns {cols} must be numbers.") from None
    half = len(cols) // 2
    bad = np.flatnonzero(np.isnan(x).any(axis=1) | (x[:, half:] <= x[:, :half]).any(axis=1))
    if len(bad):
        raise AnnotationFormatError(
            f"{func}: {len(bad)} region(s) of {_record(d, int(bad[0]), field)} (first) have zero or negative size "
            f"or missing coordinates (need {cols[half:]} > {cols[:half]}); drop or fix them first.")
    return x


def prepare_geometry(d: pd.DataFrame, kind: str, *, field: Any, func: str, sigmas: Any = None) -> Geometry:
    """Validate and prepare the geometry of a field's rows (one region per row)."""
    if kind == "span":
        return Geometry(kind, "span", _finite(d, ["start", "end"], field, func))
    if kind == "box":
        x = _finite(d, ["x_min", "y_min", "x_max", "y_max"], field, func)
        rot = d["rotation"].fillna(0).to_numpy(dtype=float) if "rotation" in d.columns else np.zeros(len(d))
        if not rot.any():
            return Geometry(kind, "box", x)
        import shapely

        polys = rotated_box_polygons(x, rot)
        return Geometry(kind, "rbox", (x, rot), (polys, shapely.area(polys)))
    if kind == "polygon":
        return _prepare_polygon(d, field, func)
    if kind == "keypoints":
        return _prepare_keypoints(d, field, func, sigmas)
    raise AnnotationFormatError(f"{func}: field {field!r} has kind {kind!r}, which has no geometry to match.")


def _prepare_polygon(d: pd.DataFrame, field: Any, func: str) -> Geometry:
    has_rle = "rle" in d.columns and d["rle"].notna().any()
    pts = d["points"] if "points" in d.columns else pd.Series([None] * len(d), index=d.index)
    if has_rle:
        from pycocotools import mask as mask_utils

        rles = []
        for k, (r, p) in enumerate(zip(d["rle"], pts)):
            if isinstance(r, dict):
                r = dict(r)
                if isinstance(r.get("counts"), list):  # uncompressed RLE
                    r = mask_utils.frPyObjects(r, *r["size"])
                rles.append(r)
                continue
            if p is None or "image_height" not in d.columns or pd.isna(d["image_height"].iloc[k]):
                raise AnnotationFormatError(
                    f"{func}: {_record(d, k, field)} has neither an RLE mask nor a polygon with image size; "
                    "a mask field needs one of them per region.")
            h, w = int(d["image_height"].iloc[k]), int(d["image_width"].iloc[k])
            rles.append(mask_utils.merge(mask_utils.frPyObjects([np.asarray(p, float).ravel().tolist()], h, w)))
        return Geometry("polygon", "rle", rles)
    import shapely

    polys = []
    for k, p in enumerate(pts):
        arr = np.asarray(p if p is not None else [], dtype=float).reshape(-1, 2) if p is not None else np.zeros((0, 2))
        poly = shapely.Polygon(arr) if len(arr) >= 3 else None
        if poly is None or poly.area <= 0:
            raise AnnotationFormatError(
                f"{func}: {_record(d, k, field)} is a degenerate polygon ({len(arr)} point(s), zero area); "
                "drop or fix it first.")
        polys.append(poly if poly.is_valid else shapely.make_valid(poly))
    polys = np.array(polys, dtype=object)
    return Geometry("polygon", "shape", polys, shapely.area(polys))


def _prepare_keypoints(d: pd.DataFrame, field: Any, func: str, sigmas: Any) -> Geometry:
    if "keypoints" in d.columns and d["keypoints"].notna().any():
        kps = []
        for k, v in enumerate(d["keypoints"]):
            arr = np.asarray(v if v is not None else [], dtype=float)
            if arr.ndim != 2 or arr.shape[1] != 3:
                if arr.size % 3 == 0 and arr.size:
                    arr = arr.reshape(-1, 3)
                else:
                    raise AnnotationFormatError(
                        f"{func}: {_record(d, k, field)}: keypoints need (x, y, v) triplets with a visibility flag; "
                        f"got shape {arr.shape}.")
            kps.append(arr)
        n_k = {len(a) for a in kps}
        if len(n_k) > 1:
            raise AnnotationFormatError(f"{func}: field {field!r}: keypoint sets of different lengths {sorted(n_k)}.")
        kp = np.stack(kps)
        K = kp.shape[1]
        sig = np.asarray(sigmas if sigmas is not None else (COCO_SIGMAS if K == 17 else np.full(K, np.nan)), float)
        if np.isnan(sig).any() or len(sig) != K:
            raise AnnotationFormatError(f"{func}: field {field!r} has {K} keypoints per object; pass sigmas=[...] "
                                        f"({K} per-keypoint sigmas; the COCO defaults are for 17).")
        if "area" in d.columns and d["area"].notna().all():
            area = d["area"].to_numpy(dtype=float)
        else:
            vis = kp[..., 2] > 0
            x = np.where(vis, kp[..., 0], np.nan)
            y = np.where(vis, kp[..., 1], np.nan)
            with np.errstate(all="ignore"):
                area = (np.nanmax(x, 1) - np.nanmin(x, 1)) * (np.nanmax(y, 1) - np.nanmin(y, 1))
            area = np.nan_to_num(area, nan=0.0)
        return Geometry("keypoints", "kp", (kp, area, sig))
    if "points" not in d.columns:
        raise AnnotationFormatError(f"{func}: field {field!r} (kind 'keypoints') has neither 'keypoints' nor 'points'.")
    xy = np.full((len(d), 1, 3), np.nan)
    for k, p in enumerate(d["points"]):
        arr = np.asarray(p if p is not None else [], dtype=float).reshape(-1, 2)
        if len(arr) != 1:
            raise AnnotationFormatError(f"{func}: {_record(d, k, field)}: a point keypoint needs one (x, y); got {len(arr)}.")
        xy[k, 0, :2] = arr[0]
    xy[..., 2] = 2
    if "area" in d.columns and d["area"].notna().all():
        area = d["area"].to_numpy(dtype=float)
    elif {"image_width", "image_height"} <= set(d.columns) and d[["image_width", "image_height"]].notna().all().all():
        area = d["image_width"].to_numpy(dtype=float) * d["image_height"].to_numpy(dtype=float)
    else:
        raise AnnotationFormatError(f"{func}: field {field!r}: point keypoints need a scale: an 'area' column or "
                                    "image_width/image_height (OKS divides distances by the object scale).")
    sig = np.asarray([POINT_SIGMA if sigmas is None else np.ravel(sigmas)[0]], float)
    return Geometry("keypoints", "kp", (xy, area, sig))
