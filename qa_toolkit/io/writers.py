"""Writers: adjudicated labels to Label Studio import JSON and to COCO; tables to CSV/Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_option

__all__ = ["write_label_studio", "write_coco", "write_table"]
_BOX = ["x_min", "y_min", "x_max", "y_max"]


def _plain(v):
    """numpy / pandas scalars → JSON-serialisable Python values."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def _frame(labels, func: str) -> pd.DataFrame:
    if isinstance(labels, pd.Series):
        df = labels.rename("label").rename_axis("task").reset_index()
    elif isinstance(labels, pd.DataFrame):
        df = labels
    else:
        raise QAInputError(
            f"The 'labels' parameter of {func} must be a Series indexed by task (adjudicated labels) "
            f"or a canonical DataFrame. Got {type(labels).__name__} instead."
        )
    missing = [c for c in ("task", "label") if c not in df.columns]
    if missing:
        raise AnnotationFormatError(f"{func}: 'labels' lacks column(s) {missing}; got {list(df.columns)}.")
    if df["label"].isna().any():
        raise AnnotationFormatError(
            f"{func}: field 'label' is missing in {int(df['label'].isna().sum())} row(s); drop them first."
        )
    return df


def write_label_studio(labels, path, *, kind="annotations", from_name="label", to_name="image",
                       data_key="image", model_version="qa_toolkit"):
    """Write labels as a Label Studio import JSON (tasks with annotations or predictions).

    Parameters
    ----------
    labels : pandas.Series or pandas.DataFrame
        A Series indexed by task (e.g. adjudicated labels) → ``choices`` results; or a
        canonical table: with ``x_min..y_max`` and ``image_width``/``image_height`` it
        gives ``rectanglelabels`` in percent, else ``choices``. An ``annotator`` column
        gives one annotation per annotator (``completed_by``); ``score`` is kept on
        predictions.
    path : str or path-like
    kind : {'annotations', 'predictions'}, default='annotations'
    from_name, to_name : str
        The control and object tag names of the labelling config.
    data_key : str, default='image'
        Key of ``task['data']`` that receives the task name.
    model_version : str, default='qa_toolkit'
        ``model_version`` of predictions.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from qa_toolkit.io import read_label_studio
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "import.json"
    >>> _ = write_label_studio(pd.Series(["cat", "dog"], index=[1, 2]), p)
    >>> read_label_studio(p)[["task", "label"]]
       task label
    0     1   cat
    1     2   dog
    """
    check_option("kind", kind, ["annotations", "predictions"], func="write_label_studio")
    df = _frame(labels, "write_label_studio")
    boxes = all(c in df.columns for c in _BOX)
    if boxes and not {"image_width", "image_height"} <= set(df.columns):
        raise AnnotationFormatError(
            "write_label_studio: boxes need 'image_width' and 'image_height' columns to be written "
            "in percent (Label Studio's unit)."
        )
    who = "annotator" if "annotator" in df.columns and kind == "annotations" else None
    if who is None and "model" in df.columns and kind == "predictions":
        who = "model"
    tasks = []
    for task, tdf in df.groupby("task", sort=True):
        groups = tdf.groupby(who, sort=True) if who else [(None, tdf)]
        items = []
        for name, g in groups:
            result = []
            for i, r in enumerate(g.itertuples(index=False)):
                r = r._asdict()
                region = {"id": f"r{i}", "from_name": from_name, "to_name": to_name}
                has_box = boxes and not any(pd.isna(r[c]) for c in _BOX)
                if has_box:
                    w, h = float(r["image_width"]), float(r["image_height"])
                    region.update(type="rectanglelabels", original_width=w, original_height=h, value={
                        "x": 100 * r["x_min"] / w, "y": 100 * r["y_min"] / h,
                        "width": 100 * (r["x_max"] - r["x_min"]) / w,
                        "height": 100 * (r["y_max"] - r["y_min"]) / h,
                        "rotation": 0, "rectanglelabels": [_plain(r["label"])]})
                else:
                    region.update(type="choices", value={"choices": [_plain(r["label"])]})
                if kind == "predictions" and "score" in r and not pd.isna(r["score"]):
                    region["score"] = float(r["score"])
                result.append(region)
            item = {"result": result}
            if kind == "annotations":
                if name is not None:
                    item["completed_by"] = _plain(name)
                item["ground_truth"] = False
            else:
                item["model_version"] = str(name) if name is not None else model_version
            items.append(item)
        t = _plain(task)
        entry = {"data": {data_key: str(t)}, kind: items}
        if isinstance(t, int):
            entry["id"] = t
        tasks.append(entry)
    path = Path(path)
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_coco(table, path, *, categories=None):
    """Write one annotator's boxes as COCO instances JSON.

    Parameters
    ----------
    table : pandas.DataFrame
        Canonical table with ``x_min..y_max`` boxes (pixels); ``image_width`` /
        ``image_height`` when known; ``points`` become a polygon ``segmentation``.
        COCO has no annotator field: pass one annotator's rows per file.
    path : str or path-like
    categories : list of str, optional
        Category names in id order (ids 1..K). Default: the sorted labels.

    Returns
    -------
    pathlib.Path

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
    df = _frame(table, "write_coco")
    if not all(c in df.columns for c in _BOX) or df[_BOX].isna().any(axis=None):
        raise AnnotationFormatError("write_coco: every row needs a box (columns 'x_min', 'y_min', 'x_max', 'y_max').")
    if "annotator" in df.columns and df["annotator"].nunique() > 1:
        raise AnnotationFormatError(
            f"write_coco: COCO has no annotator field, and the table has {df['annotator'].nunique()} annotators; "
            "write one file per annotator (table[table['annotator'] == name])."
        )
    names = sorted(df["label"].unique().tolist(), key=str) if categories is None else list(categories)
    unknown = set(df["label"]) - set(names)
    if unknown:
        raise AnnotationFormatError(f"write_coco: label(s) {sorted(map(str, unknown))[:5]} are not in 'categories'.")
    cat_id = {n: i + 1 for i, n in enumerate(names)}
    tasks = pd.unique(df["task"])
    img_id = {t: i + 1 for i, t in enumerate(tasks)}
    images = []
    for t in tasks:
        im = {"id": img_id[t], "file_name": str(_plain(t))}
        first = df.loc[df["task"] == t].iloc[0]
        for k, c in (("width", "image_width"), ("height", "image_height")):
            if c in df.columns and not pd.isna(first[c]):
                im[k] = int(first[c]) if float(first[c]).is_integer() else float(first[c])
        images.append(im)
    anns = []
    for i, r in enumerate(df.to_dict("records")):
        x, y = float(r["x_min"]), float(r["y_min"])
        w, h = float(r["x_max"]) - x, float(r["y_max"]) - y
        seg = []
        pts = r.get("points")
        if isinstance(pts, (list, tuple)) and len(pts) >= 3:
            seg = [[float(v) for p in pts for v in p]]
        anns.append({"id": i + 1, "image_id": img_id[r["task"]], "category_id": cat_id[r["label"]],
                     "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0, "segmentation": seg})
    out = {"images": images, "annotations": anns,
           "categories": [{"id": i, "name": _plain(n), "supercategory": ""} for n, i in cat_id.items()]}
    path = Path(path)
    path.write_text(json.dumps(out, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return path


def write_table(df, path):
    """Write a table as CSV (``.csv``/``.tsv``) or Parquet (``.parquet``), chosen by extension.

    List-valued cells (``points``) are JSON-encoded in CSV; :func:`~qa_toolkit.io.read_table`
    decodes them again.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from qa_toolkit.io import read_table
    >>> t = pd.DataFrame({"task": [1], "annotator": ["a"], "label": ["x"]})
    >>> p = write_table(t, pathlib.Path(tempfile.mkdtemp()) / "t.parquet")
    >>> read_table(p)[["task", "annotator", "label"]].equals(t)
    True
    """
    if not isinstance(df, pd.DataFrame):
        raise QAInputError(f"The 'df' parameter of write_table must be a DataFrame. Got {type(df).__name__}.")
    path = Path(path)
    ext = path.suffix.lower()
    check_option("path extension", ext, [".csv", ".tsv", ".parquet", ".pq"], func="write_table")
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].map(lambda v: isinstance(v, (list, tuple, dict))).any():
            out[c] = out[c].map(lambda v: json.dumps(v) if isinstance(v, (list, tuple, dict)) else v)
    if ext in (".parquet", ".pq"):
        out.to_parquet(path, index=False)
    else:
        out.to_csv(path, index=False, sep="\t" if ext == ".tsv" else ",")
    return path

