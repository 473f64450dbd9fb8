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

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from qa_toolkit.io import _ls_extras  # round-trip side data (issue #13)
from qa_toolkit.io._common import (
    PathLike,
    Problems,
    Rows,
    as_path,
    boundary,
    finish,
    load_json,
)
from qa_toolkit.io._ls_regions import _LABEL_KEYS, _SPAN_TYPES, KIND_OF, parse_region  # noqa: F401 (re-exported)

__all__ = [
    "read_label_studio",
    "read_label_studio_predictions",
    "parse_region",
    "COLUMNS",
]

COLUMNS = (
    "task", "annotator", "label", "created_at", "lead_time", "ground_truth", "annotation_id",
    "field", "result_type", "region_id", "x_min", "y_min", "x_max", "y_max", "rotation",
    "image_width", "image_height", "points", "rle", "start", "end", "text", "value", "taxonomy_path", "source",
    "kind", "_loc", "_doc_len",
)
PRED_COLUMNS = (
    "task", "model", "label", "score", "prediction_id", "field", "result_type", "region_id",
    "x_min", "y_min", "x_max", "y_max", "rotation", "image_width", "image_height", "points",
    "start", "end", "text", "value", "source",
)
#: Result types without a label of their own: kept out and counted.
NO_LABEL_TYPES = frozenset({"relation", "pairwise", "ranker", "chatmessage", "videorectangle"})
def _annotator(cb: Any) -> str | None:
    if isinstance(cb, dict):
        if cb.get("email"):
            return str(cb["email"])
        return None if cb.get("id") is None else str(cb["id"])
    if isinstance(cb, bool) or cb is None:
        return None
    if isinstance(cb, (int, str)):
        return str(cb)
    return None


def _task_dims(task: dict[str, Any]) -> tuple[Any, Any]:
    """The image size any result of the task records (predictions often omit it)."""
    for key in ("annotations", "completions", "predictions"):
        for a in task.get(key) or []:
            if isinstance(a, dict) and isinstance(a.get("result"), list):
                for r in _regions(a["result"]):
                    if isinstance(r, dict) and "original_width" in r and "original_height" in r:
                        return r["original_width"], r["original_height"]
    return None, None


def _tasks(data: Any, path: Path) -> list[Any]:
    if isinstance(data, dict) and ("annotations" in data or "completions" in data or "predictions" in data):
        return [data]
    if isinstance(data, list):
        return data
    keys = list(data)[:8] if isinstance(data, dict) else type(data).__name__
    raise _schema(path, f"expected a list of tasks (or one task object with 'annotations'), got {keys}")


def _schema(path: Path, msg: str) -> Exception:
    from qa_toolkit._validation import AnnotationFormatError

    return AnnotationFormatError(f"{path} is not a Label Studio JSON export: {msg}.")


def _regions(result: list[Any]) -> Iterator[Any]:
    """Flatten legacy list-of-lists results."""
    for r in result:
        if isinstance(r, list):
            yield from r
        else:
            yield r


def _doc_len(t: dict[str, Any], to_name: Any) -> int | None:
    """Length of the text a span points into (the task data under ``to_name``, or its only text)."""
    data = t.get("data")
    if not isinstance(data, dict):
        return None
    if isinstance(data.get(to_name), str):
        return len(data[to_name])
    texts = [v for v in data.values() if isinstance(v, str) and not v.startswith(("http", "/", "s3:", "gs:"))]
    return len(texts[0]) if len(texts) == 1 else None


_SKIP = object()  # a record that was reported as a problem and is left out


def _task_id(t: dict[str, Any], ti: int, problems: Problems, *, kind: str, task_key: str | None,
             seen: dict[Any, int]) -> Any:
    """The task's id as the user knows it (``id``, ``data[task_key]`` or ``#<position>``), or _SKIP."""
    task = t.get("id")
    if task is None and task_key is None:  # no id (frontend fixtures): named by position, never merged with task 0
        task = f"#{ti}"
        problems.note("task(s) without 'id' named by their position in the file ('#<n>')", f"task #{ti}")
    if task_key is not None:
        data = t.get("data")
        if not isinstance(data, dict) or task_key not in data:
            problems.bad(f"task #{ti}", f"field 'data.{task_key}' (the task_key) is missing")
            return _SKIP
        task = data[task_key]
    if isinstance(task, (dict, list)):
        problems.bad(f"task #{ti}", f"field 'id' must be a number or string, got {str(task)[:30]}",
                     kind="task(s) with a non-scalar id")
        return _SKIP
    if task in seen and kind == "annotations" and task_key is None:
        problems.note("task(s) whose id repeats an earlier task (their annotations merged under that id)",
                      f"task #{ti} repeats task id {task!r} of task #{seen[task]}")
    seen.setdefault(task, ti)
    return task


def _items(t: dict[str, Any], task: Any, kind: str, problems: Problems) -> list[Any] | None:
    """The task's annotations (or legacy completions) or predictions; None when malformed."""
    items = t.get("annotations", t.get("completions", [])) if kind == "annotations" else t.get("predictions", [])
    if items is None:
        return []
    if not isinstance(items, list):
        problems.bad(f"task id {task!r}", f"field '{kind}' must be a list, got {type(items).__name__}")
        return None
    return items


def _annotation_meta(a: dict[str, Any], ai: int, meta: dict[str, Any], where: str, problems: Problems, *,
                     annotator: str | None, unknown: str, state: dict[str, int]) -> tuple[dict, str] | None:
    """Who made the annotation, its id, time and ground-truth flag; None when a field is malformed."""
    who = annotator
    if who is None:
        who = _annotator(a.get("completed_by"))
        agg = a.get("aggregated_completed_by")
        if who is None and isinstance(agg, list) and len(agg) == 1:
            who = _annotator(agg[0])
    if who is None:
        state["no_annotator"] += 1
        who = unknown
    meta.update(annotator=who, annotation_id=a.get("id", f"#{ai}"), created_at=a.get("created_at"),
                lead_time=a.get("lead_time"), ground_truth=a.get("ground_truth"))
    lt, gt, ca = meta["lead_time"], meta["ground_truth"], meta["created_at"]
    if lt is not None and (isinstance(lt, bool) or not isinstance(lt, (int, float))):
        problems.bad(where, f"field 'lead_time' must be seconds (a number), got {lt!r}")
        return None
    if gt is not None and not isinstance(gt, bool):
        problems.bad(where, f"field 'ground_truth' must be true/false, got {gt!r}")
        return None
    if ca is not None and not isinstance(ca, str):
        problems.bad(where, f"field 'created_at' must be an ISO 8601 string, got {ca!r}")
        return None
    aid = meta["annotation_id"]
    if isinstance(aid, (list, dict)):
        problems.bad(where, f"field 'id' must be a number or string, got {str(aid)[:30]}",
                     kind="annotation(s) with a non-scalar id")
        return None
    return meta, f"task id {meta['task']!r}, annotation id {aid!r}"


def _add_results(t: dict[str, Any], result: list[Any], where: str, meta: dict[str, Any], rows: Rows,
                 problems: Problems, *, kind: str, pscore: Any, extras: dict[str, Any] | None) -> None:
    """One row per region of one annotation (or prediction): parsed, checked and added."""
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
        if extras is not None:  # issue #13: to_name and type per control
            _ls_extras.collect_result(extras, r)
        fname, rid = r.get("from_name"), r.get("id")
        if kind == "predictions":
            sc = r.get("score", pscore)
            sc = sc if isinstance(sc, (int, float)) and not isinstance(sc, bool) else None
        if isinstance(fname, (list, dict)) or isinstance(rid, (list, dict)):
            problems.bad(rwhere, "fields 'from_name' and 'id' must be strings")
            continue
        dlen = _doc_len(t, r.get("to_name")) if rtype == "labels" else None
        kind_of = KIND_OF.get(rtype)
        for part in parts:
            part["field"], part["result_type"], part["region_id"] = fname, rtype, rid
            part["kind"], part["_loc"] = kind_of, ri  # "_loc" = the result index, for messages
            if dlen is not None and "start" in part:
                part["_doc_len"] = dlen
            if kind == "predictions":
                part["score"] = sc
            rows.add(mi, part)


def _walk(tasks: list[Any], path: Path, problems: Problems, rows: Rows, *, kind: str,
          annotator: str | None = None, unknown: str = "unknown", task_key: str | None = None,
          assignments: list[dict[str, Any]] | None = None, extras: dict[str, Any] | None = None) -> None:
    """Shared loop over tasks × (annotations | predictions) × regions."""
    state = {"no_annotator": 0}
    seen: dict[Any, int] = {}
    for ti, t in enumerate(tasks):
        if not isinstance(t, dict):
            problems.bad(f"task #{ti}", f"expected a task object, got {type(t).__name__}")
            continue
        task = _task_id(t, ti, problems, kind=kind, task_key=task_key, seen=seen)
        if task is _SKIP:
            continue
        if extras is not None:  # issue #13: task data, original id, predictions
            _ls_extras.collect_task(extras, task, t)
        items = _items(t, task, kind, problems)
        for ai, a in enumerate(items or []):
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
            meta: dict[str, Any] = {"task": task, "source": path.name}
            pscore = None
            if kind == "annotations":
                got = _annotation_meta(a, ai, meta, where, problems, annotator=annotator, unknown=unknown,
                                       state=state)
                if got is None:
                    continue
                meta, where = got
                if extras is not None:  # issue #13: reviews[] and history
                    _ls_extras.collect_annotation(extras, task, meta["annotator"], meta["annotation_id"], a)
                if assignments is not None:
                    assignments.append({"task": task, "annotator": meta["annotator"],
                                        "annotation_id": meta["annotation_id"]})
                if not result:
                    problems.note("annotation(s) with an empty result (kept as assignments: saw the task, "
                                  "marked nothing)", where)
            else:
                mv = a.get("model_version")
                meta.update(model="unknown" if mv in (None, "") else str(mv), prediction_id=a.get("id"))
                pscore = a.get("score")
            _add_results(t, result, where, meta, rows, problems, kind=kind, pscore=pscore, extras=extras)
    if state["no_annotator"]:
        problems.note(f"annotation(s) without 'completed_by' labelled annotator={unknown!r}")


@boundary("Label Studio JSON")
def read_label_studio(source: PathLike, *, errors: str = "raise", annotator: str | None = None,
                      unknown_annotator: str = "unknown", task_key: str | None = None,
                      kinds: dict[str, str] | None = None, duplicates: str = "warn") -> pd.DataFrame:
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
    kinds : dict of {field: kind}, optional
        Override the kinds read from the result types (``{"sentiment": "ordinal"}``);
        a kind that does not fit the values raises.
    duplicates : {'warn', 'raise'}, default='warn'
        Exact duplicate regions in one annotation: keep one and count them, or raise.

    Returns
    -------
    pandas.DataFrame
        The canonical table; see the module docstring for the columns.
        ``attrs`` also keep what :func:`~qa_toolkit.io.write_label_studio` needs for a round
        trip: ``task_data``, ``task_ids``, ``ls_controls``, ``ls_predictions`` and the tidy
        ``reviews`` / ``history`` tables (:mod:`qa_toolkit.io._ls_extras`).

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
    assignments: list[dict[str, Any]] = []
    extras = _ls_extras.new_extras()
    _walk(tasks, path, problems, rows, kind="annotations", annotator=annotator, unknown=unknown_annotator,
          task_key=task_key, assignments=assignments, extras=extras)
    out = finish(rows.columns(), problems, kinds=kinds, assignments=assignments, duplicates=duplicates)
    return _ls_extras.attach(out, extras)


@boundary("Label Studio predictions")
def read_label_studio_predictions(source: PathLike, *, errors: str = "raise",
                                  task_key: str | None = None) -> pd.DataFrame:
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
    return finish(rows.columns(), problems, validate=False).drop(columns="kind", errors="ignore")
