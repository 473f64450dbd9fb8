"""Canonical table → Label Studio import JSON (annotations with their predictions).

Policies (issue #13, lossless round trip; ``tests/test_roundtrip.py``):

* One task per ``task``: ``id`` is the original Label Studio id (``attrs["task_ids"]``, else the
  task when it is an integer), ``data`` the original task data (``attrs["task_data"]`` or
  ``task_data=``), else ``{data_key: task}``.
* One annotation per (task, ``annotation_id``), else per (task, annotator), with
  ``completed_by`` (an integer id stays an integer, any other name is written as
  ``{"email": name}``, which the reader gives back as that name), ``ground_truth``,
  ``lead_time`` and ``created_at`` when the table has them. Assignments without rows
  (``attrs["assignments"]``) become annotations with an empty ``result``.
* ``from_name`` is the row's ``field``; ``type`` and ``to_name`` come from
  ``attrs["ls_controls"]`` (what the reader saw), else from ``result_type`` / ``kind``.
  Rows of one region (same ``region_id``) are one result; a ``choices``/``taxonomy``
  field without region ids gives one result holding every value of the annotation.
* Geometry is written in percent of ``image_width``/``image_height`` with
  ``original_width``/``original_height``: boxes with ``rotation``, polygons, keypoints.
  Spans keep ``start``, ``end``, ``text``; ratings and numbers the numeric ``value``.
* Rows the writer cannot rebuild (masks: ``rle``; COCO ``keypoints`` triplets) raise,
  naming the field and kind and pointing at :func:`~qa_toolkit.io.write_coco`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_option
from qa_toolkit.io._write_common import _missing, frame, plain

__all__ = ["write_label_studio"]

_BOX = ["x_min", "y_min", "x_max", "y_max"]
#: kind → result type when neither ``ls_controls`` nor ``result_type`` says it.
TYPE_OF_KIND = {"categorical": "choices", "multilabel": "choices", "span": "labels", "box": "rectanglelabels",
                "polygon": "polygonlabels", "keypoints": "keypointlabels", "ordinal": "rating",
                "interval": "number", "text": "textarea"}
_IMAGE_TYPES = frozenset({"rectanglelabels", "polygonlabels", "keypointlabels", "brushlabels",
                          "ellipselabels", "rectangle", "polygon", "keypoint"})
_GROUPED = frozenset({"choices", "taxonomy", "textarea"})  # all values of a field in one result
#: Default keypoint size (percent of the image width); the table does not keep it.
KEYPOINT_WIDTH = 0.5


def _rtype(r: dict[str, Any], field: str, controls: Mapping[str, Any]) -> str:
    rt = r.get("result_type")
    if isinstance(rt, str):
        return rt
    ctl = controls.get(field)
    if isinstance(ctl, dict) and isinstance(ctl.get("type"), str):
        return ctl["type"]
    kind = r.get("kind")
    if isinstance(kind, str) and kind in TYPE_OF_KIND:
        if kind == "multilabel" and not _missing(r.get("taxonomy_path")):
            return "taxonomy"
        return TYPE_OF_KIND[kind]
    if not _missing(r.get("rle")):
        return "brushlabels"
    if all(not _missing(r.get(c)) for c in _BOX):
        return "rectanglelabels"
    if not _missing(r.get("points")):
        return "polygonlabels"
    if not _missing(r.get("start")):
        return "labels"
    return "choices"


def _where(r: dict[str, Any]) -> str:
    keys = [f"task {plain(r['task'])!r}"]
    for k in ("annotator", "annotation_id", "region_id"):
        if not _missing(r.get(k)):
            keys.append(f"{k.replace('_', ' ')} {plain(r[k])!r}")
    return ", ".join(keys)


def _dims(r: dict[str, Any], field: str, rtype: str) -> tuple[float, float]:
    w, h = r.get("image_width"), r.get("image_height")
    if _missing(w) or _missing(h):
        raise AnnotationFormatError(
            f"write_label_studio: {rtype} rows need 'image_width' and 'image_height' to be written in "
            f"percent (Label Studio's unit); missing in record {_where(r)}, field {field!r}."
        )
    return float(w), float(h)


def _value(rows: list[dict[str, Any]], rtype: str, field: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The result ``value`` for the rows of one region, and extra result keys."""
    r = rows[0]
    labels = [plain(x["label"]) for x in rows]
    extra: dict[str, Any] = {}
    if not _missing(r.get("rle")) or not _missing(r.get("keypoints")):
        col = "rle" if not _missing(r.get("rle")) else "keypoints"
        raise AnnotationFormatError(
            f"write_label_studio: field {field!r} (kind {r.get('kind', 'polygon')!r}) has COCO '{col}' values, "
            f"which Label Studio results cannot hold (record {_where(r)}); write them with "
            "qa_toolkit.io.write_coco."
        )
    if rtype == "taxonomy":
        paths = [list(map(plain, x["taxonomy_path"])) if not _missing(x.get("taxonomy_path"))
                 else str(x["label"]).split("/") for x in rows]
        return {"taxonomy": paths}, extra
    if rtype in ("rating", "number"):
        v = r.get("value")
        v = float(r["label"]) if _missing(v) else float(v)
        return {rtype: int(v) if rtype == "rating" and v.is_integer() else v}, extra
    if rtype == "textarea":
        return {"text": [str(x) for x in labels]}, extra
    if rtype == "choices":
        return {"choices": labels}, extra
    if rtype == "datetime":
        return {"datetime": labels[0]}, extra
    value: dict[str, Any] = {}
    if rtype in ("rectanglelabels", "polygonlabels", "keypointlabels"):
        w, h = _dims(r, field, rtype)
        extra.update(original_width=plain(r["image_width"]), original_height=plain(r["image_height"]),
                     image_rotation=0)
        pts = r.get("points")
        if rtype == "rectanglelabels":
            if any(_missing(r.get(c)) for c in _BOX):
                raise AnnotationFormatError(f"write_label_studio: field {field!r} is written as rectanglelabels "
                                            f"but record {_where(r)} has no box ('x_min'..'y_max').")
            rot = r.get("rotation")
            value.update(x=100 * r["x_min"] / w, y=100 * r["y_min"] / h, width=100 * (r["x_max"] - r["x_min"]) / w,
                         height=100 * (r["y_max"] - r["y_min"]) / h, rotation=0.0 if _missing(rot) else float(rot))
        elif _missing(pts) or not len(pts):
            raise AnnotationFormatError(f"write_label_studio: field {field!r} is written as {rtype} but record "
                                        f"{_where(r)} has no 'points'.")
        elif rtype == "polygonlabels":
            value["points"] = [[100 * float(x) / w, 100 * float(y) / h] for x, y in pts]
            value["closed"] = True
        else:
            x, y = pts[0]
            value.update(x=100 * float(x) / w, y=100 * float(y) / h, width=KEYPOINT_WIDTH)
    elif rtype in ("labels", "hypertextlabels", "paragraphlabels", "timeserieslabels"):
        for k in ("start", "end"):
            if not _missing(r.get(k)):
                v = plain(r[k])
                value[k] = int(v) if isinstance(v, float) and v.is_integer() else v
        if not _missing(r.get("text")):
            value["text"] = r["text"]
    else:
        raise AnnotationFormatError(
            f"write_label_studio: cannot write field {field!r} as Label Studio type {rtype!r} from the table "
            f"(record {_where(r)}): the table does not keep its geometry. Supported: choices, taxonomy, "
            "labels, rectanglelabels, polygonlabels, keypointlabels, rating, number, textarea, datetime; "
            "masks go through qa_toolkit.io.write_coco."
        )
    value[rtype] = labels
    return value, extra


def _results(recs: list[dict[str, Any]], *, from_name: str, to_name: str | None, controls: Mapping[str, Any],
             task_data: dict[str, Any] | None, scores: bool = False) -> list[dict[str, Any]]:
    """The result list of one annotation (or prediction)."""
    regions: dict[Any, list[dict[str, Any]]] = {}
    for i, r in enumerate(recs):
        field = r.get("field")
        field = from_name if _missing(field) else str(field)
        rtype = _rtype(r, field, controls)
        rid = r.get("region_id")
        if not _missing(rid):
            key: Any = ("region", field, plain(rid))
        elif rtype in _GROUPED:
            key = ("field", field, rtype)
        else:
            key = ("row", i)
        regions.setdefault(key, []).append({**r, "_field": field, "_rtype": rtype})
    out = []
    for n, (key, rows) in enumerate(regions.items()):
        field, rtype = rows[0]["_field"], rows[0]["_rtype"]
        value, extra = _value(rows, rtype, field)
        ctl = controls.get(field) if isinstance(controls.get(field), dict) else {}
        tn = ctl.get("to_name") or to_name
        if tn is None:
            if rtype in _IMAGE_TYPES:
                tn = "image"
            elif task_data and len(task_data) == 1:
                tn = next(iter(task_data))
            else:
                tn = "text" if task_data is None or "text" in task_data else "image"
        res: dict[str, Any] = {"id": str(key[2]) if key[0] == "region" else f"qa{n}", "type": rtype,
                               "from_name": field, "to_name": tn, "value": value, **extra}
        if scores and not _missing(rows[0].get("score")):
            res["score"] = float(rows[0]["score"])
        out.append(res)
    return out


def _completed_by(who: Any) -> Any:
    who = plain(who)
    if isinstance(who, int) or (isinstance(who, str) and who.isdigit() and not who.startswith("0")):
        return int(who)
    return {"email": str(who)}


def _annotation(recs: list[dict[str, Any]], who: Any, aid: Any, **kw: Any) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if not _missing(aid):
        item["id"] = plain(aid)
    if not _missing(who):
        item["completed_by"] = _completed_by(who)
    item["result"] = _results(recs, **kw) if recs else []
    first = recs[0] if recs else {}
    gt = first.get("ground_truth")
    item["ground_truth"] = False if _missing(gt) else bool(gt)
    for k in ("lead_time", "created_at"):
        if not _missing(first.get(k)):
            item[k] = plain(first[k])
    item["was_cancelled"] = False
    return item


def _predictions(preds: Mapping[Any, Any], task: Any, **kw: Any) -> list[dict[str, Any]]:
    """One task's predictions: from a predictions table (records grouped by task) or the export's own objects."""
    got = preds.get(task)
    if not got:
        return []
    if isinstance(got[0], dict) and "result" in got[0] and "label" not in got[0]:
        keep = ("model_version", "score", "result")
        return [{k: p[k] for k in keep if k in p} for p in got]
    models: dict[Any, list[dict[str, Any]]] = {}
    for r in got:
        models.setdefault(r.get("model", "qa_toolkit"), []).append(r)
    out = []
    for model, recs in models.items():
        item: dict[str, Any] = {"model_version": str(plain(model)), "result": _results(recs, scores=True, **kw)}
        sc = [float(r["score"]) for r in recs if not _missing(r.get("score"))]
        if sc:
            item["score"] = sum(sc) / len(sc)
        out.append(item)
    return out


def _by_task(df: pd.DataFrame) -> dict[Any, list[dict[str, Any]]]:
    """Records grouped by task, in order of first appearance (one pass, no per-task filtering)."""
    out: dict[Any, list[dict[str, Any]]] = {}
    for r in df.to_dict("records"):
        out.setdefault(r["task"], []).append(r)
    return out


def write_label_studio(labels: Any, path: str | os.PathLike[str], *, kind: str = "annotations",
                       from_name: str = "label", to_name: str | None = None, data_key: str = "image",
                       model_version: str = "qa_toolkit", task_data: Mapping[Any, dict] | None = None,
                       predictions: Any = None, assignments: pd.DataFrame | None = None,
                       all_tasks: bool = False) -> Path:
    """Write a canonical table as a Label Studio import JSON (tasks with annotations or predictions).

    Parameters
    ----------
    labels : pandas.Series or pandas.DataFrame
        A Series indexed by task (e.g. adjudicated labels) → ``choices`` results; or a
        canonical table of any kind (docs/DATA_MODEL.md), e.g. what
        :func:`~qa_toolkit.io.read_label_studio` read, edited or adjudicated.
    path : str or path-like
    kind : {'annotations', 'predictions'}, default='annotations'
        ``'predictions'`` writes the rows themselves as predictions (one per ``model``).
    from_name : str, default='label'
        Control name for rows without a ``field``.
    to_name : str, optional
        Object tag name for controls the table does not know (``attrs["ls_controls"]``);
        default ``'image'`` for image results, else the task data's only key or ``'text'``.
    data_key : str, default='image'
        Key of ``task['data']`` that receives the task when its data is not known.
    model_version : str, default='qa_toolkit'
        ``model_version`` of predictions without a ``model`` column.
    task_data : dict of {task: dict}, optional
        Task data; default ``labels.attrs["task_data"]`` (set by the reader).
    predictions : pandas.DataFrame or dict, optional
        Predictions to write with the annotations: a table as from
        :func:`~qa_toolkit.io.read_label_studio_predictions`; default the export's own
        (``attrs["ls_predictions"]``).
    assignments : pandas.DataFrame, optional
        ``task, annotator[, annotation_id]``; default ``attrs["assignments"]``: pairs
        without rows are written as annotations with an empty result.
    all_tasks : bool, default=False
        Also write the tasks the reader saw (``attrs["task_ids"]``, ``attrs["task_data"]``)
        that have neither rows nor assignments (tasks nobody annotated).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    AnnotationFormatError
        Rows it cannot write (no image size for geometry; masks; COCO keypoints), named
        by task, annotator, annotation, region and field.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from qa_toolkit.io import read_label_studio
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "import.json"
    >>> t = pd.DataFrame({"task": [1, 2], "annotator": ["7", "7"], "label": ["cat", "dog"]})
    >>> read_label_studio(write_label_studio(t, p))[["task", "annotator", "label"]]
       task annotator label
    0     1         7   cat
    1     2         7   dog
    """
    check_option("kind", kind, ["annotations", "predictions"], func="write_label_studio")
    df = frame(labels, "write_label_studio")
    attrs = df.attrs
    tdata = task_data if task_data is not None else attrs.get("task_data") or {}
    tids = attrs.get("task_ids") or {}
    controls = attrs.get("ls_controls") or {}
    if predictions is None and kind == "annotations":
        predictions = attrs.get("ls_predictions")
    if assignments is None and kind == "annotations":
        assignments = attrs.get("assignments")
    by_task = _by_task(df)
    order = list(by_task)
    by_assigned: dict[Any, list[dict[str, Any]]] = {}
    if assignments is not None and len(assignments):
        by_assigned = _by_task(pd.DataFrame(assignments))
        order += [t for t in by_assigned if t not in by_task]
    if isinstance(predictions, pd.DataFrame):  # one pass, not one filter per task
        if "task" not in predictions.columns or "label" not in predictions.columns:
            raise QAInputError("The 'predictions' parameter of write_label_studio needs 'task' and 'label' columns "
                               f"(as read_label_studio_predictions gives); got {list(predictions.columns)}.")
        predictions = _by_task(predictions)
    elif predictions is not None and not isinstance(predictions, Mapping):
        raise QAInputError("The 'predictions' parameter of write_label_studio must be a predictions table or "
                           f"{{task: [prediction objects]}}. Got {type(predictions).__name__}.")
    if all_tasks:
        known = set(order)
        order += [t for t in [*tdata, *tids] if t not in known and not known.add(t)]  # type: ignore[func-returns-value]
    pos = {t: i for i, t in enumerate(tdata)}
    order.sort(key=lambda t: pos.get(t, len(pos)))  # stable: file order first, then first appearance
    tasks = []
    for task in order:
        recs = by_task.get(task, [])
        t = plain(task)
        data = tdata.get(task)
        data = dict(data) if isinstance(data, dict) else {data_key: t if isinstance(t, (int, float)) else str(t)}
        kw = {"from_name": from_name, "to_name": to_name, "controls": controls, "task_data": data}
        entry: dict[str, Any] = {}
        tid = plain(tids.get(task, t))
        if isinstance(tid, int) and not isinstance(tid, bool):
            entry["id"] = tid
        entry["data"] = data
        if kind == "predictions":
            models: dict[Any, list[dict[str, Any]]] = {}
            for r in recs:
                models.setdefault(r.get("model", model_version), []).append(r)
            entry["predictions"] = [{"model_version": str(plain(m)), "result": _results(g, scores=True, **kw)}
                                    for m, g in models.items()]
        else:
            entry["annotations"] = _annotations(recs, by_assigned.get(task), kw)
            preds = _predictions(predictions, task, **kw) if predictions is not None else []
            if preds:
                entry["predictions"] = preds
        tasks.append(entry)
    path = Path(path)
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1, allow_nan=False), encoding="utf-8")
    return path


def _annotations(recs: list[dict[str, Any]], assigned: list[dict[str, Any]] | None,
                 kw: dict[str, Any]) -> list[dict[str, Any]]:
    """One task's annotations: per ``annotation_id``, else per annotator; then the empty assigned ones."""
    groups: dict[Any, list[Any]] = {}
    for r in recs:
        who, aid = r.get("annotator"), r.get("annotation_id")
        key = ("id", plain(aid)) if not _missing(aid) else ("who", plain(who))
        groups.setdefault(key, [who, aid, []])[2].append(r)
    out = [_annotation(g, who, aid, **kw) for who, aid, g in groups.values()]
    seen_ids = {k[1] for k in groups if k[0] == "id"}
    seen_who = {plain(v[0]) for v in groups.values()}
    for rec in assigned or []:
        aid = rec.get("annotation_id")
        if (not _missing(aid) and plain(aid) in seen_ids) or (_missing(aid) and plain(rec["annotator"]) in seen_who):
            continue
        out.append(_annotation([], rec["annotator"], aid, **kw))
    return out
