"""Label Studio readers: full JSON export and its predictions (JSON_MIN/CSV: :mod:`.tabular`).

Policies (documented once, tested in ``tests/test_io_label_studio.py``):

* ``task`` is the Label Studio task ``id`` (the position in the file when a task has no id);
  ``annotation_id`` keeps the annotation id; ``field`` keeps the control's ``from_name``
  so multi-control projects can be filtered; ``result_type`` keeps the region ``type``.
* ``annotator`` is a string: the e-mail of a ``completed_by`` dict (its ``id`` when there
  is no e-mail), the id of an int ``completed_by``, the single ``aggregated_completed_by``
  of legacy ``completions``. When none is there the row gets ``annotator='unknown'``
  (or the ``annotator=`` argument) and a warning counts those annotations: the labels
  are kept, never dropped silently.
* ``was_cancelled`` annotations (skipped tasks) are kept out of the labels and counted
  in an :class:`~qa_toolkit.AnnotationWarning`. So are result types that carry no label
  (``relation``, ``pairwise``, ``ranker``, ``chatmessage``, ``videorectangle``).
* Geometry: ``rectanglelabels`` percent → pixel ``x_min..y_max`` through
  ``original_width``/``original_height`` (the unrotated rectangle; ``rotation`` keeps the
  angle in degrees), ``polygonlabels``/``keypointlabels`` → ``points`` as a list of
  ``(x, y)`` pixel pairs; spans → ``start``/``end``/``text``; ``taxonomy`` paths →
  ``'/'``-joined labels; ``rating``/``number`` → ``label`` (as a string) and numeric ``value``;
  ``textarea`` → one row per text.
"""

from __future__ import annotations

from pathlib import Path

from qa_toolkit.io._common import Problems, Rows, as_path, boundary, finish, load_json, to_float

__all__ = [
    "read_label_studio",
    "read_label_studio_predictions",
    "parse_region",
    "COLUMNS",
]

COLUMNS = (
    "task", "annotator", "label", "created_at", "lead_time", "ground_truth", "annotation_id",
    "field", "result_type", "region_id", "x_min", "y_min", "x_max", "y_max", "rotation",
    "image_width", "image_height", "points", "start", "end", "text", "value", "source",
)
PRED_COLUMNS = (
    "task", "model", "label", "score", "prediction_id", "field", "result_type", "region_id",
    "x_min", "y_min", "x_max", "y_max", "rotation", "image_width", "image_height", "points",
    "start", "end", "text", "value", "source",
)
#: Result types without a label of their own: kept out and counted.
NO_LABEL_TYPES = frozenset({"relation", "pairwise", "ranker", "chatmessage", "videorectangle"})
_SPAN_TYPES = frozenset({"labels", "hypertextlabels", "timeserieslabels"})
_LABEL_KEYS = (
    "rectanglelabels", "polygonlabels", "keypointlabels", "ellipselabels", "brushlabels",
    "labels", "hypertextlabels", "paragraphlabels", "timeserieslabels", "taxonomy", "choices",
    "rating", "number", "textarea", "datetime",
)


def parse_region(rtype: str, value: dict, width, height) -> list[dict]:
    """Turn one Label Studio result ``value`` into canonical row fragments.

    Parameters
    ----------
    rtype : str
        The result ``type`` (``'choices'``, ``'rectanglelabels'``, ...).
    value : dict
        The result ``value``.
    width, height : float or None
        ``original_width`` / ``original_height`` for percent geometry.

    Returns
    -------
    list of dict
        One dict per label, with ``label`` and the geometry/span/value keys.

    Raises
    ------
    ValueError, KeyError, TypeError
        On a malformed value; the readers add the file/task/annotation context.

    Examples
    --------
    >>> parse_region("rectanglelabels", {"x": 10, "y": 20, "width": 50, "height": 25,
    ...              "rectanglelabels": ["Car"]}, 200, 100)
    [{'x_min': 20.0, 'y_min': 20.0, 'x_max': 120.0, 'y_max': 45.0, 'rotation': 0.0, 'image_width': 200.0, 'image_height': 100.0, 'label': 'Car'}]
    >>> parse_region("taxonomy", {"taxonomy": [["Animal", "Cat"]]}, None, None)
    [{'label': 'Animal/Cat'}]
    """
    if not isinstance(value, dict):
        raise TypeError(f"'value' must be an object, got {type(value).__name__}")
    base: dict = {}
    if rtype == "taxonomy":
        paths = value["taxonomy"]
        if not isinstance(paths, list):
            raise TypeError(f"'value.taxonomy' must be a list of paths, got {paths!r}")
        labels = ["/".join(map(str, p)) if isinstance(p, list) else str(p) for p in paths]
    elif rtype in ("rating", "number"):
        v = to_float(value[rtype], what=f"value.{rtype}")
        base["value"] = v
        labels = [str(value[rtype])]  # labels stay strings; the number is in `value`
    elif rtype == "textarea":
        t = value["text"]
        labels = [t] if isinstance(t, str) else list(t)
    elif rtype in value:
        labels = value[rtype]
        labels = list(labels) if isinstance(labels, list) else [labels]
    else:
        raise KeyError(f"value.{rtype}")
    has_box = all(k in value for k in ("x", "y", "width", "height"))
    if (has_box or "points" in value or rtype == "keypointlabels") and rtype not in _SPAN_TYPES:
        if width is None or height is None:
            if rtype in ("rectanglelabels", "polygonlabels", "keypointlabels"):
                raise KeyError("original_width/original_height (needed to turn percent into pixels)")
        else:
            w = to_float(width, what="original_width")
            h = to_float(height, what="original_height")
            if "points" in value:
                pts = value["points"]
                if not isinstance(pts, list) or not all(isinstance(p, list) and len(p) == 2 for p in pts):
                    raise TypeError(f"'value.points' must be a list of [x, y] pairs, got {str(pts)[:60]}")
                base["points"] = [(to_float(x, what="points x") * w / 100, to_float(y, what="points y") * h / 100)
                                  for x, y in pts]
            elif rtype == "keypointlabels":
                base["points"] = [(to_float(value["x"], what="x") * w / 100, to_float(value["y"], what="y") * h / 100)]
            elif has_box:
                x, y = to_float(value["x"], what="x"), to_float(value["y"], what="y")
                bw, bh = to_float(value["width"], what="width"), to_float(value["height"], what="height")
                base.update(x_min=x * w / 100, y_min=y * h / 100, x_max=(x + bw) * w / 100,
                            y_max=(y + bh) * h / 100, rotation=float(value.get("rotation") or 0.0))
            base.update(image_width=w, image_height=h)
    if rtype in _SPAN_TYPES or (rtype == "paragraphlabels" and "text" in value):
        if "start" in value and "end" in value and rtype != "paragraphlabels":
            for k in ("start", "end"):
                if isinstance(value[k], bool) or not isinstance(value[k], (int, float)):
                    raise ValueError(f"'value.{k}' must be a number (character offset), got {value[k]!r}")
            base["start"], base["end"] = value["start"], value["end"]
        if "text" in value:
            base["text"] = value["text"]
    out = []
    for lab in labels:
        if lab is None or (isinstance(lab, str) and lab == ""):
            raise ValueError(f"empty label in value.{rtype}")
        if isinstance(lab, (list, dict)):
            raise TypeError(f"label in value.{rtype} must be a string or number, got {str(lab)[:40]}")
        out.append({**base, "label": lab})
    if not out:
        raise ValueError(f"no label in value.{rtype} (empty list)")
    return out


def _annotator(cb) -> str | None:
    if isinstance(cb, dict):
        if cb.get("email"):
            return str(cb["email"])
        return None if cb.get("id") is None else str(cb["id"])
    if isinstance(cb, bool) or cb is None:
        return None
    if isinstance(cb, (int, str)):
        return str(cb)
    return None


def _task_dims(task: dict) -> tuple:
    """The image size any result of the task records (predictions often omit it)."""
    for key in ("annotations", "completions", "predictions"):
        for a in task.get(key) or []:
            if isinstance(a, dict) and isinstance(a.get("result"), list):
                for r in _regions(a["result"]):
                    if isinstance(r, dict) and "original_width" in r and "original_height" in r:
                        return r["original_width"], r["original_height"]
    return None, None


def _tasks(data, path: Path) -> list:
    if isinstance(data, dict) and ("annotations" in data or "completions" in data or "predictions" in data):
        return [data]
    if isinstance(data, list):
        return data
    keys = list(data)[:8] if isinstance(data, dict) else type(data).__name__
    raise _schema(path, f"expected a list of tasks (or one task object with 'annotations'), got {keys}")


def _schema(path, msg):
    from qa_toolkit._validation import AnnotationFormatError

    return AnnotationFormatError(f"{path} is not a Label Studio JSON export: {msg}.")


def _regions(result):
    """Flatten legacy list-of-lists results."""
    for r in result:
        if isinstance(r, list):
            yield from r
        else:
            yield r


def _walk(tasks, path, problems, rows, *, kind, annotator=None, unknown="unknown", task_key=None):
    """Shared loop over tasks × (annotations | predictions) × regions."""
    name = path.name
    no_annotator = 0
    for ti, t in enumerate(tasks):
        if not isinstance(t, dict):
            problems.bad(f"task #{ti}", f"expected a task object, got {type(t).__name__}")
            continue
        task = t.get("id")
        if task is None:  # no id (frontend fixtures): the task's position in the file
            task = ti
        if task_key is not None:
            data = t.get("data")
            if not isinstance(data, dict) or task_key not in data:
                problems.bad(f"task #{ti}", f"field 'data.{task_key}' (the task_key) is missing")
                continue
            task = data[task_key]
        if isinstance(task, (dict, list)):
            problems.bad(f"task #{ti}", f"field 'id' must be a number or string, got {str(task)[:30]}")
            continue
        if kind == "annotations":
            items = t.get("annotations", t.get("completions", []))
        else:
            items = t.get("predictions", [])
        if items is None:
            items = []
        if not isinstance(items, list):
            problems.bad(f"task id {task!r}", f"field '{kind}' must be a list, got {type(items).__name__}")
            continue
        for ai, a in enumerate(items):
            where = f"task id {task!r}, {kind[:-1]} #{ai}"
            if kind == "predictions" and isinstance(a, (int, str)):
                problems.note("prediction(s) given as bare ids without results", f"task id {task!r}: {a!r}")
                continue
            if not isinstance(a, dict):
                problems.bad(where, f"expected an object, got {type(a).__name__}")
                continue
            if a.get("was_cancelled"):
                problems.note("cancelled (skipped) annotation(s) kept out of the labels", where)
                continue
            result = a.get("result", [])
            if not isinstance(result, list):
                problems.bad(where, f"field 'result' must be a list, got {type(result).__name__}")
                continue
            meta = {"task": task, "source": name}
            if kind == "annotations":
                who = annotator
                if who is None:
                    who = _annotator(a.get("completed_by"))
                    agg = a.get("aggregated_completed_by")
                    if who is None and isinstance(agg, list) and len(agg) == 1:
                        who = _annotator(agg[0])
                if who is None:
                    no_annotator += 1
                    who = unknown
                meta.update(annotator=who, annotation_id=a.get("id", f"#{ai}"), created_at=a.get("created_at"),
                            lead_time=a.get("lead_time"), ground_truth=a.get("ground_truth"))
                lt, gt, ca = meta["lead_time"], meta["ground_truth"], meta["created_at"]
                if lt is not None and (isinstance(lt, bool) or not isinstance(lt, (int, float))):
                    problems.bad(where, f"field 'lead_time' must be seconds (a number), got {lt!r}")
                    continue
                if gt is not None and not isinstance(gt, bool):
                    problems.bad(where, f"field 'ground_truth' must be true/false, got {gt!r}")
                    continue
                if ca is not None and not isinstance(ca, str):
                    problems.bad(where, f"field 'created_at' must be an ISO 8601 string, got {ca!r}")
                    continue
            else:
                mv = a.get("model_version")
                meta.update(model="unknown" if mv in (None, "") else str(mv), prediction_id=a.get("id"))
                pscore = a.get("score")
            mi = None
            for ri, r in enumerate(_regions(result)):
                rwhere = f"{where}, result #{ri}"
                if not isinstance(r, dict):
                    problems.bad(rwhere, f"expected a result object, got {type(r).__name__}")
                    continue
                rtype = r.get("type")
                if not isinstance(rtype, str):
                    problems.bad(rwhere, f"field 'type' is missing or not a string (got {rtype!r})")
                    continue
                if rtype in NO_LABEL_TYPES:
                    problems.note(f"'{rtype}' result(s) without a label kept out", rwhere)
                    continue
                try:
                    w, h, v = r.get("original_width"), r.get("original_height"), r.get("value")
                    if w is None and isinstance(v, dict) and ("x" in v or "points" in v):
                        w, h = _task_dims(t)  # predictions often omit the image size
                    parts = parse_region(rtype, v, w, h)
                except KeyError as exc:
                    problems.bad(rwhere, f"field {exc.args[0]} missing for a '{rtype}' result "
                                         f"(field '{r.get('from_name')}')")
                    continue
                except (TypeError, ValueError) as exc:
                    problems.bad(rwhere, f"'{rtype}' result (field '{r.get('from_name')}'): {exc}")
                    continue
                if mi is None:
                    mi = rows.annotation(meta)
                fname, rid = r.get("from_name"), r.get("id")
                if kind == "predictions":
                    sc = r.get("score", pscore)
                    sc = sc if isinstance(sc, (int, float)) and not isinstance(sc, bool) else None
                for part in parts:
                    part["field"], part["result_type"], part["region_id"] = fname, rtype, rid
                    if kind == "predictions":
                        part["score"] = sc
                    rows.add(mi, part)
    if no_annotator:
        problems.note(f"annotation(s) without 'completed_by' labelled annotator={unknown!r}")


@boundary("Label Studio JSON")
def read_label_studio(source, *, errors="raise", annotator=None, unknown_annotator="unknown", task_key=None):
    """Read a Label Studio full JSON export into the canonical table.

    Parameters
    ----------
    source : str or path-like
        A ``JSON`` export: a list of tasks, or one task object (``annotations`` or the
        legacy ``completions``).
    errors : {'raise', 'warn'}, default='raise'
        Bad records raise :class:`~qa_toolkit.AnnotationFormatError` naming the file,
        task id, annotation index and field, or are skipped and counted.
    annotator : str, optional
        Use this name for every annotation (overrides ``completed_by``).
    unknown_annotator : str, default='unknown'
        Name given to annotations without ``completed_by`` (counted in a warning).
    task_key : str, optional
        Use ``task['data'][task_key]`` (e.g. ``'image'``) as ``task`` instead of the task id.

    Returns
    -------
    pandas.DataFrame
        The canonical table; see the module docstring for the columns.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> task = {"id": 7, "annotations": [{"id": 1, "completed_by": 3, "result": [
    ...     {"type": "choices", "from_name": "sentiment", "value": {"choices": ["pos"]}}]}]}
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "export.json"
    >>> _ = p.write_text(json.dumps([task]))
    >>> read_label_studio(p)[["task", "annotator", "label", "field"]]
       task annotator label      field
    0     7         3   pos  sentiment
    """
    path = as_path(source, func="read_label_studio")
    problems = Problems(path, errors, func="read_label_studio")
    tasks = _tasks(load_json(path), path)
    rows = Rows(COLUMNS)
    _walk(tasks, path, problems, rows, kind="annotations", annotator=annotator, unknown=unknown_annotator,
          task_key=task_key)
    return finish(rows.columns(), problems)


@boundary("Label Studio predictions")
def read_label_studio_predictions(source, *, errors="raise", task_key=None):
    """Read the ``predictions`` of a Label Studio JSON export (model output, not human labels).

    Returns
    -------
    pandas.DataFrame
        ``task``, ``model`` (``model_version`` as a string), ``label``, ``score`` (the
        region score, else the prediction score), ``prediction_id`` and geometry columns.
        Predictions given only as integer ids are counted in a warning.
    """
    path = as_path(source, func="read_predictions")
    problems = Problems(path, errors, func="read_predictions")
    rows = Rows(PRED_COLUMNS)
    _walk(_tasks(load_json(path), path), path, problems, rows, kind="predictions", task_key=task_key)
    return finish(rows.columns(), problems, validate=False)
