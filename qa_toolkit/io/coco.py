"""COCO instances JSON reader (one file per annotator) and COCO results (predictions).

Policies:

* COCO has no annotator field: multi-annotator COCO is one file per annotator. Pass a
  list of files (or a folder of ``*.json``) and ``annotator=`` names (a list, one per
  file); by default each file's stem names its annotator.
* ``task`` is the image ``file_name`` (falls back to the image ``id``); ``image_id`` and
  ``annotation_id`` keep the COCO ids. ``label`` is the category ``name``.
* ``bbox [x, y, w, h]`` → ``x_min, y_min, x_max, y_max`` pixels; polygon
  ``segmentation`` → ``points`` (the first polygon's ``(x, y)`` pairs; ``n_polygons``
  counts them, ``more_polygons`` keeps the others); RLE masks are kept in ``rle`` (``counts`` and ``size``) and flagged by
  ``segmentation_type='rle'``. ``iscrowd`` is read as a bool, also from ``"false"``/``"true"``.
  ``keypoints [x1, y1, v1, ...]`` → ``keypoints`` (tuple of ``(x, y, v)`` triplets).
* ``field`` and ``kind``: ``keypoints`` (kind keypoints) when the annotation has keypoints,
  else ``segmentation`` (kind polygon: ``points``, or ``rle`` for masks) when it has a
  segmentation, else ``bbox`` (kind box). The bbox columns are kept on every row.
* Two categories or images with one id: the first is kept and the repeats are counted
  (a repeat with a different name or file raises under ``errors='raise'``). A file
  without annotations is counted in a warning; its images still count as assigned.
* ``attrs["assignments"]``: every image of every file for that file's annotator.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from qa_toolkit._validation import AnnotationFormatError
from qa_toolkit.io._common import PathLike, Problems, as_path, boundary, finish, load_json, to_float

__all__ = ["read_coco", "read_coco_results"]

_COLS = ("task", "annotator", "label", "x_min", "y_min", "x_max", "y_max", "points", "image_width",
         "image_height", "source", "image_id", "annotation_id", "category_id", "iscrowd",
         "segmentation_type", "n_polygons", "more_polygons", "rle", "keypoints", "num_keypoints", "area", "field", "kind",
         "region_id")
_BOOL = {"0": False, "1": True, "false": False, "true": True}


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _BOOL:
        return _BOOL[v.strip().lower()]
    raise ValueError(f"field 'iscrowd': expected 0/1 or true/false, got {v!r}")


def _segmentation(seg: Any) -> dict[str, Any]:
    if seg is None or seg == []:
        return {}
    if isinstance(seg, dict):
        if "counts" not in seg or "size" not in seg:
            raise ValueError("RLE 'segmentation' needs 'counts' and 'size'")
        return {"segmentation_type": "rle", "rle": {"counts": seg["counts"], "size": seg["size"]}}
    if isinstance(seg, list) and all(isinstance(p, list) for p in seg):
        first = seg[0]
        if len(first) % 2 or len(first) < 6:
            raise ValueError(f"polygon 'segmentation' needs an even number (>= 6) of coordinates, got {len(first)}")
        xy = [to_float(v, what="segmentation") for v in first]
        out = {"segmentation_type": "polygon", "n_polygons": len(seg), "points": tuple(zip(xy[::2], xy[1::2]))}
        if len(seg) > 1:  # issue #13: the other parts, for write_coco (round trip)
            out["more_polygons"] = tuple(tuple(zip(*[iter(to_float(v, what="segmentation") for v in p)] * 2))
                                         for p in seg[1:])
        return out
    raise ValueError(f"field 'segmentation': expected polygons or RLE, got {str(seg)[:40]}")


def _keypoints(kp: Any) -> dict[str, Any]:
    if kp is None or kp == []:
        return {}
    if not isinstance(kp, list) or len(kp) % 3:
        raise ValueError(f"field 'keypoints': expected [x1, y1, v1, ...] (a multiple of 3), got {str(kp)[:40]}")
    v = [to_float(x, what="keypoints") for x in kp]
    return {"keypoints": tuple(zip(v[::3], v[1::3], v[2::3]))}


def _files(source: Any) -> list[Path]:
    if isinstance(source, (list, tuple)):
        if not source:
            raise AnnotationFormatError("read_coco: the 'source' list is empty; expected one file per annotator.")
        return [as_path(s, func="read_coco") for s in source]
    p = as_path(source, func="read_coco")
    if p.is_dir():
        files = sorted(p.glob("*.json"))
        if not files:
            raise AnnotationFormatError(f"read_coco: folder {p} has no *.json files.")
        return files
    return [p]


def _read_one(path: Path, who: str, problems: Problems, cols: dict[str, list[Any]], *,
              results: bool = False, assignments: list[dict[str, Any]] | None = None) -> None:
    data = load_json(path)
    if results:
        anns, cats, images = data, None, None
        if not isinstance(anns, list):
            raise AnnotationFormatError(f"{path} is not a COCO results file: expected a list of detections.")
    else:
        if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
            got = list(data)[:6] if isinstance(data, dict) else type(data).__name__
            raise AnnotationFormatError(
                f"{path} is not a COCO instances file: expected an object with 'images', "
                f"'annotations' and 'categories' lists, got {got}."
            )
        anns, cats, images = data["annotations"], data.get("categories"), data.get("images")
        for key, val in (("categories", cats), ("images", images)):
            if val is not None and not isinstance(val, list):
                raise AnnotationFormatError(f"{path}: field {key!r} must be a list, got {type(val).__name__}.")
    catname: dict[str, Any] = {}
    imgs: dict[str, Any] = {}
    for i, c in enumerate(cats or []):
        if not isinstance(c, dict) or "id" not in c or "name" not in c:
            problems.bad(f"categories[{i}]", "expected an object with 'id' and 'name'")
            continue
        if isinstance(c["name"], (list, dict)) or isinstance(c["id"], (list, dict)):
            problems.bad(f"categories[{i}]", "fields 'id' and 'name' must be a number or string",
                         kind="category with a non-scalar id or name")
            continue
        key = str(c["id"])
        if key in catname:
            if catname[key] != c["name"]:
                problems.bad(f"categories[{i}] (id {c['id']!r})", f"category id repeats with another name "
                             f"({c['name']!r}; the first, {catname[key]!r}, is kept)",
                             kind="repeated category id(s) with another name")
            else:
                problems.note("repeated category id(s) (same name)", f"categories[{i}] (id {c['id']!r})")
            continue
        catname[key] = c["name"]
    for i, im in enumerate(images or []):
        if not isinstance(im, dict) or "id" not in im:
            problems.bad(f"images[{i}]", "expected an object with 'id'")
            continue
        if isinstance(im["id"], (list, dict)):
            problems.bad(f"images[{i}]", "field 'id' must be a number or string", kind="image with a non-scalar id")
            continue
        key = str(im["id"])
        if key in imgs:
            same = imgs[key].get("file_name") == im.get("file_name")
            if not same:
                problems.bad(f"images[{i}] (id {im['id']!r})", f"image id repeats with another file_name "
                             f"({im.get('file_name')!r}; the first is kept)",
                             kind="repeated image id(s) with another file")
            else:
                problems.note("repeated image id(s) (same file)", f"images[{i}] (id {im['id']!r})")
            continue
        imgs[key] = im
        if assignments is not None:
            assignments.append({"task": im.get("file_name") or im["id"], "annotator": who, "annotation_id": None})
    if not anns and not results:
        problems.note("file(s) without annotations (their images count as assigned, nothing marked)", str(path))
    name = path.name
    for i, a in enumerate(anns):
        where = f"annotations[{i}]" + (f" (id {a.get('id')!r})" if isinstance(a, dict) and "id" in a else "")
        if not isinstance(a, dict):
            problems.bad(where, f"expected an object, got {type(a).__name__}")
            continue
        try:
            img_id, cat = str(a["image_id"]), str(a["category_id"])
            im = imgs.get(img_id, {})
            if images is not None and not im:
                raise ValueError(f"field 'image_id' {a['image_id']!r} is not in 'images'")
            label = catname.get(cat, cat if cats is None else None)
            if label is None:
                raise ValueError(f"field 'category_id' {a['category_id']!r} is not in 'categories'")
            row = {"task": im.get("file_name") or a["image_id"], "annotator": who, "label": label,
                   "source": name, "image_id": a["image_id"], "annotation_id": a.get("id"), "region_id": a.get("id"),
                   "category_id": a["category_id"], "image_width": im.get("width"),
                   "image_height": im.get("height"), "area": a.get("area")}
            if "iscrowd" in a:
                row["iscrowd"] = _bool(a["iscrowd"])
            bbox = a.get("bbox")
            if bbox is not None and bbox != []:
                if not isinstance(bbox, list) or len(bbox) != 4:
                    raise ValueError(f"field 'bbox': expected [x, y, width, height], got {str(bbox)[:40]}")
                x, y, w, h = (to_float(v, what="bbox") for v in bbox)
                row.update(x_min=x, y_min=y, x_max=x + w, y_max=y + h)
            row.update(_segmentation(a.get("segmentation")))
            row.update(_keypoints(a.get("keypoints")))
            if "keypoints" in row:
                row.update(field="keypoints", kind="keypoints", num_keypoints=a.get("num_keypoints"))
            elif "segmentation_type" in row:
                row.update(field="segmentation", kind="polygon")
            elif "x_min" in row:
                row.update(field="bbox", kind="box")
            else:
                row.update(field="category", kind="categorical")
            if results:
                row["score"] = to_float(a.get("score"), what="field 'score'") if "score" in a else None
        except KeyError as exc:
            problems.bad(where, f"required field {exc.args[0]!r} is missing")
            continue
        except (TypeError, ValueError) as exc:
            problems.bad(where, str(exc))
            continue
        for c, lst in cols.items():
            lst.append(row.get(c))


@boundary("COCO instances")
def read_coco(source: PathLike | list[PathLike], *, annotator: str | list[str] | None = None,
              errors: str = "raise", kinds: dict[str, str] | None = None,
              duplicates: str = "warn") -> pd.DataFrame:
    """Read COCO instances JSON: one file, or one file per annotator.

    Parameters
    ----------
    source : path, list of paths, or folder
        A COCO instances file; a list of files (one per annotator); or a folder whose
        ``*.json`` files are one per annotator.
    annotator : str or list of str, optional
        Annotator name(s), one per file. Default: each file's stem.
    errors : {'raise', 'warn'}, default='raise'
    kinds : dict of {field: kind}, optional
        Override the kinds of ``bbox``/``segmentation``/``keypoints``.
    duplicates : {'warn', 'raise'}, default='warn'
        Exact duplicate annotations: keep one and count them, or raise.

    Returns
    -------
    pandas.DataFrame
        Canonical table; see the module docstring.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
    ...         "categories": [{"id": 3, "name": "cat"}],
    ...         "annotations": [{"id": 9, "image_id": 1, "category_id": 3, "bbox": [10, 20, 30, 40]}]}
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "alice.json"
    >>> _ = p.write_text(json.dumps(coco))
    >>> read_coco(p)[["task", "annotator", "label", "x_min", "y_min", "x_max", "y_max"]]
        task annotator label  x_min  y_min  x_max  y_max
    0  a.jpg     alice   cat   10.0   20.0   40.0   60.0
    """
    files = _files(source)
    if annotator is None:
        names = [f.stem for f in files]
    elif isinstance(annotator, (str, os.PathLike)):
        names = [str(annotator)] * len(files)
    else:
        names = [str(a) for a in annotator]
        if len(names) != len(files):
            raise AnnotationFormatError(
                f"read_coco: the 'annotator' parameter names {len(names)} annotator(s) for "
                f"{len(files)} file(s); expected one name per file."
            )
    cols: dict[str, list] = {c: [] for c in _COLS}
    problems = Problems(files[0] if len(files) == 1 else files[0].parent, errors, func="read_coco")
    assignments: list[dict[str, Any]] = []
    for f, who in zip(files, names):
        problems.path = str(f)
        _read_one(f, who, problems, cols, assignments=assignments)
    return finish(cols, problems, kinds=kinds, assignments=assignments, duplicates=duplicates)


@boundary("COCO results")
def read_coco_results(source: PathLike, *, model: str | None = None, errors: str = "raise") -> pd.DataFrame:
    """Read a COCO results file (a list of detections with ``score``) as predictions.

    ``category_id`` is the label (no category names in a results file); ``model``
    defaults to the file stem.
    """
    path = as_path(source, func="read_predictions")
    problems = Problems(path, errors, func="read_predictions")
    cols: dict[str, list] = {c: [] for c in _COLS + ("score",)}
    _read_one(path, model or path.stem, problems, cols, results=True)
    df = finish(cols, problems, validate=False)
    return df.drop(columns=["field", "kind"], errors="ignore").rename(columns={"annotator": "model"})
