"""Canonical table → COCO instances JSON: boxes, polygon or RLE segmentation, keypoints.

Policies (issue #13, lossless round trip; ``tests/test_roundtrip.py``):

* COCO has no annotator field: one annotator per file.
* ``image_id``, ``annotation_id`` and ``category_id`` are kept when the table has them
  (as :func:`~qa_toolkit.io.read_coco` reads them), else numbered from 1.
* ``bbox`` from ``x_min..y_max``; without a box, from the polygon, the uncompressed RLE or
  the visible keypoints. ``points`` (+ ``more_polygons``) → polygon ``segmentation``; ``rle`` → RLE
  ``segmentation``; ``keypoints`` triplets → ``keypoints`` with ``num_keypoints`` (the
  visible ones, ``v > 0``). Categories get ``keypoints`` names from ``keypoint_names=``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError
from qa_toolkit.io._write_common import _missing, frame, plain

__all__ = ["write_coco"]
_BOX = ["x_min", "y_min", "x_max", "y_max"]


def _num(v: Any) -> Any:
    v = float(v)
    return int(v) if v.is_integer() else v


def _rle_bbox(rle: dict[str, Any]) -> list[float] | None:
    """Bounding box of an uncompressed COCO RLE (column-major runs, starting with zeros)."""
    counts, (h, w) = rle.get("counts"), rle.get("size", (0, 0))
    if not isinstance(counts, list):
        return None
    flat = np.zeros(int(h) * int(w), dtype=bool)
    pos = 0
    for i, c in enumerate(counts):
        if i % 2:
            flat[pos:pos + int(c)] = True
        pos += int(c)
    ys, xs = np.nonzero(flat.reshape(int(w), int(h)).T)
    if not len(xs):
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


def _bbox(r: dict[str, Any], where: str) -> list[float]:
    if all(not _missing(r.get(c)) for c in _BOX):
        x, y = float(r["x_min"]), float(r["y_min"])
        return [x, y, float(r["x_max"]) - x, float(r["y_max"]) - y]
    pts = r.get("points")
    if not _missing(pts) and len(pts):
        xs, ys = [float(p[0]) for p in pts], [float(p[1]) for p in pts]
        return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    if not _missing(r.get("rle")):
        box = _rle_bbox(r["rle"])
        if box is not None:
            return box
    kp = r.get("keypoints")
    if not _missing(kp) and len(kp):
        vis = [(float(x), float(y)) for x, y, v in kp if float(v) > 0]
        if vis:
            xs, ys = [p[0] for p in vis], [p[1] for p in vis]
            return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        return [0.0, 0.0, 0.0, 0.0]
    raise AnnotationFormatError(
        f"write_coco: every row needs a box (columns 'x_min', 'y_min', 'x_max', 'y_max'), a polygon "
        f"('points'), an uncompressed 'rle' or 'keypoints'; record {where} (field {r.get('field')!r}, "
        f"kind {r.get('kind')!r}) has none."
    )


def write_coco(table: pd.DataFrame, path: str | os.PathLike[str], *, categories: list[str] | None = None,
               keypoint_names: Mapping[str, list[str]] | None = None) -> Path:
    """Write one annotator's boxes, segmentations and keypoints as COCO instances JSON.

    Parameters
    ----------
    table : pandas.DataFrame
        Canonical table: ``x_min..y_max`` boxes (pixels), ``points`` (polygon), ``rle``
        (mask) or ``keypoints`` (``(x, y, v)`` triplets); ``image_width`` /
        ``image_height`` when known. COCO has no annotator field: pass one annotator's
        rows per file.
    path : str or path-like
    categories : list of str, optional
        Category names in id order (ids 1..K). Default: the ``category_id`` the table
        keeps, else the sorted labels numbered from 1.
    keypoint_names : dict of {category: list of str}, optional
        Keypoint names per category (COCO ``categories[].keypoints``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    AnnotationFormatError
        Several annotators; a row without any geometry; a label not in ``categories``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from qa_toolkit.io import read_coco
    >>> t = pd.DataFrame({"task": ["a.jpg"], "annotator": ["ann"], "label": ["cat"],
    ...                   "x_min": [1.0], "y_min": [2.0], "x_max": [5.0], "y_max": [8.0]})
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ann.json"
    >>> read_coco(write_coco(t, p))[["task", "annotator", "label", "x_min", "y_max"]]
        task annotator label  x_min  y_max
    0  a.jpg       ann   cat    1.0    8.0
    """
    df = frame(table, "write_coco")
    recs = df.to_dict("records")
    boxes = [_bbox(r, f"task {plain(r['task'])!r}" + (f", annotation id {plain(r['annotation_id'])!r}"
                                                     if not _missing(r.get("annotation_id")) else ""))
             for r in recs]
    if "annotator" in df.columns and df["annotator"].nunique() > 1:
        raise AnnotationFormatError(
            f"write_coco: COCO has no annotator field, and the table has {df['annotator'].nunique()} annotators; "
            "write one file per annotator (table[table['annotator'] == name])."
        )
    kept_ids = categories is None and "category_id" in df.columns and df["category_id"].notna().all()
    if kept_ids:  # keep the ids read; a label changed by review gets its own (or a new) id
        pairs = df.groupby("label", sort=False)["category_id"].agg(lambda s: s.mode().iloc[0])
        cat_id, used = {}, set()
        for lab, cid in pairs.items():
            cid = plain(cid)
            if cid in used:
                nums = [c for c in used | set(pairs.map(plain)) if isinstance(c, int)]
                cid = max(nums, default=0) + 1
            used.add(cid)
            cat_id[lab] = cid
    else:
        names = sorted(df["label"].unique().tolist(), key=str) if categories is None else list(categories)
        unknown = set(df["label"]) - set(names)
        if unknown:
            raise AnnotationFormatError(f"write_coco: label(s) {sorted(map(str, unknown))[:5]} are not in 'categories'.")
        cat_id = {n: i + 1 for i, n in enumerate(names)}
    img_id: dict[Any, Any] = {}
    images = []
    for r in recs:
        if r["task"] in img_id:
            continue
        iid = plain(r["image_id"]) if not _missing(r.get("image_id")) else len(img_id) + 1
        img_id[r["task"]] = iid
        im: dict[str, Any] = {"id": iid, "file_name": str(plain(r["task"]))}
        for k, c in (("width", "image_width"), ("height", "image_height")):
            if not _missing(r.get(c)):
                im[k] = _num(r[c])
        images.append(im)
    anns = []
    for i, r in enumerate(recs):
        box = boxes[i]
        seg: Any = []
        pts, rle, kp = r.get("points"), r.get("rle"), r.get("keypoints")
        if not _missing(rle):
            seg = {"size": [int(s) for s in rle["size"]], "counts": rle["counts"]}
        elif not _missing(pts) and len(pts) >= 3:
            more = r.get("more_polygons")
            polys = [pts] + ([] if _missing(more) else list(more))
            seg = [[float(v) for p in poly for v in p] for poly in polys]
        ann: dict[str, Any] = {
            "id": plain(r["annotation_id"]) if not _missing(r.get("annotation_id")) else i + 1,
            "image_id": img_id[r["task"]], "category_id": cat_id[r["label"]], "bbox": box,
            "area": plain(r["area"]) if not _missing(r.get("area")) else box[2] * box[3],
            "iscrowd": int(bool(r["iscrowd"])) if not _missing(r.get("iscrowd")) else int(isinstance(seg, dict)),
            "segmentation": seg}
        if not _missing(kp) and len(kp):
            ann["keypoints"] = [_num(v) for trip in kp for v in trip]
            ann["num_keypoints"] = int(sum(float(t[2]) > 0 for t in kp))
        anns.append(ann)
    cats = []
    for n, cid in cat_id.items():
        cat: dict[str, Any] = {"id": cid, "name": plain(n), "supercategory": ""}
        if keypoint_names and n in keypoint_names:
            cat["keypoints"] = list(keypoint_names[n])
            cat["skeleton"] = []
        cats.append(cat)
    out = {"images": images, "annotations": anns, "categories": cats}
    path = Path(path)
    path.write_text(json.dumps(out, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return path
