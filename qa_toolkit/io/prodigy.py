"""Prodigy ``db-out`` JSONL reader.

One JSON record per line: the task (``text``, ``spans``, ``options``, ``label``...) plus the
annotator's ``answer`` and Prodigy's ``_input_hash``, ``_task_hash``, ``_view_id``,
``_annotator_id``, ``_session_id`` and ``_timestamp``. Policies:

* ``task`` is ``_input_hash`` (the input, whatever was asked about it; Prodigy's own
  ``review`` recipe groups manual annotations the same way); ``task_key=`` picks another
  top-level key, e.g. ``"id"``.
* ``annotator``: ``_annotator_id``, else ``_session_id``; ``annotator=`` overrides with one
  name, a ``{id: name}`` mapping or a function of the id. When the ids are session
  timestamps (``<dataset>-2023-01-31_12-00-00``, what Prodigy writes without named
  sessions) each session would count as a person: the warning says so and names the
  ``annotator=`` mapping as the fix.
* ``field`` names what the record holds, one row per label:

  - ``spans`` (kind ``span``: ``start``, ``end`` exclusive, ``text``): ``spans`` of
    ``ner_manual``, ``spans_manual``, ``blocks`` (manual) or ``ner``/``spans`` (binary);
  - ``choice`` (``options`` + ``accept`` list; ``choice`` or ``blocks`` view): kind
    ``multilabel`` when ``config.choice_style`` is ``"multiple"`` or any ``accept`` holds
    several ids, else ``categorical``;
  - ``box`` / ``polygon`` (kinds ``box``, ``polygon``): ``spans`` of ``image_manual`` /
    ``image``, ``rect`` shapes as pixel boxes, ``polygon``/``freehand`` shapes as ``points``;
  - ``textcat`` (kind ``multilabel``, one binary unit per label): ``label`` + answer
    (``classification`` view: ``textcat.teach``, binary ``textcat.manual``);
  - free-text blocks named in ``text_fields`` (kind ``text``).

  ``kinds={"choice": "categorical"}`` overrides.
* ``answer`` as Prodigy defines it: ``ignore`` = the annotator skipped the example, it is
  excluded everywhere: dropped, counted in the warning, no assignment. ``accept`` = the
  annotation as given (an ``accept`` list or ``spans`` left empty = saw it, marked nothing,
  kept as an assignment). ``reject`` in a **binary** view (``classification``, ``ner``,
  ``spans``) = "this label / span does not apply": no row, the assignment is kept, so the
  label counts as absent for that annotator. ``reject`` in a **manual** view means "this
  example is unusable" (Prodigy's ``review`` and training leave it out): dropped and counted
  by default; ``manual_reject="empty"`` keeps it as an assignment with no labels (what a
  custom recipe may have meant, e.g. "none of the options applies").
* ``data.attrs["assignments"]``: every (task, annotator, annotation_id) that was not
  dropped, including empty answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, check_option
from qa_toolkit.io._common import Problems, as_path, boundary, decode, finish, read_bytes

__all__ = ["read_prodigy"]

_COLS = ("task", "annotator", "label", "field", "kind", "annotation_id", "start", "end", "text",
         "x_min", "y_min", "x_max", "y_max", "points", "image_width", "image_height",
         "created_at", "view", "source")
_BINARY_VIEWS = {"classification", "ner", "spans", "image", "pos", "relations", "dep"}
_SPAN_VIEWS = {"ner", "ner_manual", "spans", "spans_manual", "blocks", "pos_manual"}
_KINDS = ("categorical", "multilabel", "ordinal", "interval", "span", "box", "polygon", "keypoints", "text")
_IMAGE_VIEWS = {"image", "image_manual"}
_SESSION_TS = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}$")


def _image_spans(rec: dict, base: dict) -> list[dict]:
    """Rows of ``image_manual`` shapes: ``rect`` → box (pixels), ``polygon``/``freehand`` → polygon."""
    rows = []
    size = {"image_width": rec.get("width"), "image_height": rec.get("height")}
    for si, sp in enumerate(rec.get("spans") or []):
        if not isinstance(sp, dict) or not sp.get("label"):
            raise ValueError(f"field 'spans'[{si}]: expected a shape object with a 'label'")
        pts = [(float(p[0]), float(p[1])) for p in sp.get("points") or []]
        shape = sp.get("type") or ("rect" if len(pts) == 4 else "polygon")
        if shape == "rect":
            if not pts and {"x", "y", "width", "height"} <= set(sp):
                x, y = float(sp["x"]), float(sp["y"])
                pts = [(x, y), (x + float(sp["width"]), y + float(sp["height"]))]
            if not pts:
                raise ValueError(f"field 'spans'[{si}]: rect without 'points' or x/y/width/height")
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            rows.append(dict(base, **size, label=str(sp["label"]), field="box", kind="box", x_min=min(xs),
                             y_min=min(ys), x_max=max(xs), y_max=max(ys)))
        else:
            if len(pts) < 3:
                raise ValueError(f"field 'spans'[{si}]: a {shape} needs at least 3 points, got {len(pts)}")
            rows.append(dict(base, **size, label=str(sp["label"]), field="polygon", kind="polygon",
                             points=tuple(pts)))
    return rows


def _who(rec: dict, annotator: Any) -> str | None:
    raw = rec.get("_annotator_id") or rec.get("_session_id")
    if annotator is None:
        return None if raw is None else str(raw)
    if isinstance(annotator, str):
        return annotator
    if isinstance(annotator, Mapping):
        if raw is None or str(raw) not in annotator:
            raise KeyError(f"annotator id {raw!r} is not in the 'annotator' mapping")
        return str(annotator[str(raw)])
    return None if raw is None else str(annotator(str(raw)))


@boundary("Prodigy JSONL")
def read_prodigy(source: Any, *, annotator: Any = None, task_key: str = "_input_hash",
                 kinds: dict[str, str] | None = None, manual_reject: str = "drop",
                 text_fields: Sequence[str] | str = (), errors: str = "raise") -> pd.DataFrame:
    """Read a Prodigy ``db-out`` JSONL export into the canonical table.

    Parameters
    ----------
    source : str or path-like
        The ``.jsonl`` file written by ``prodigy db-out <dataset>``.
    annotator : str, mapping or callable, optional
        Overrides the annotator id (``_annotator_id``, else ``_session_id``): one name for
        every record, a ``{id: name}`` mapping (ids not in it are bad records), or a
        function of the id (e.g. ``lambda s: s.split("-", 1)[1]`` to drop the dataset
        prefix Prodigy puts in session ids).
    task_key : str, default='_input_hash'
        Top-level key that identifies the task.
    kinds : dict, optional
        ``{field: kind}`` overrides of the inferred kinds.
    manual_reject : {'drop', 'empty'}, default='drop'
        What a ``reject`` answer in a manual view means (see the module docstring).
    text_fields : sequence of str, default=()
        Keys of free-text (``text_input``) blocks to read as ``text`` fields, e.g.
        ``("user_input",)``.
    errors : {'raise', 'warn'}, default='raise'
        Bad records raise :class:`~qa_toolkit.AnnotationFormatError` naming the file, line,
        task and field, or are skipped and counted.

    Returns
    -------
    pandas.DataFrame
        Canonical table with ``field`` and ``kind`` and ``attrs["assignments"]``.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> recs = [{"text": "ok", "options": [{"id": "A"}, {"id": "B"}], "accept": ["A", "B"],
    ...          "answer": "accept", "_input_hash": 1, "_task_hash": 2, "_view_id": "choice",
    ...          "_annotator_id": "ds-ann1"}]
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "db.jsonl"
    >>> _ = p.write_text("\\n".join(json.dumps(r) for r in recs))
    >>> read_prodigy(p)[["task", "annotator", "label", "field", "kind"]]
      task annotator label   field        kind
    0    1   ds-ann1     A  choice  multilabel
    1    1   ds-ann1     B  choice  multilabel
    """
    path = as_path(source, func="read_prodigy")
    check_option("manual_reject", manual_reject, ["drop", "empty"], func="read_prodigy")
    kinds = dict(kinds or {})
    for f, k in kinds.items():
        check_option(f"kinds[{f!r}]", k, list(_KINDS), func="read_prodigy")
    if annotator is not None and not isinstance(annotator, (str, Mapping)) and not isinstance(annotator, Callable):
        raise AnnotationFormatError(
            "The 'annotator' parameter of read_prodigy must be a name, a {id: name} mapping or a function; "
            f"got {type(annotator).__name__}."
        )
    if isinstance(text_fields, str):
        text_fields = (text_fields,)
    problems = Problems(path, errors, func="read_prodigy")
    text = decode(read_bytes(path), path)
    cols: dict[str, list] = {c: [] for c in _COLS}
    assignments: list[tuple] = []
    multiple = False
    timestamp_ids: set[str] = set()
    name = path.name

    def add(**row: Any) -> None:
        for c, lst in cols.items():
            lst.append(row.get(c))

    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.bad(where, f"not valid JSON ({exc.msg}, column {exc.colno})", kind="invalid JSON line")
            continue
        if not isinstance(rec, dict):
            problems.bad(where, f"expected a JSON object, got {type(rec).__name__}")
            continue
        answer = rec.get("answer")
        if answer not in ("accept", "reject", "ignore"):
            problems.bad(where, f"field 'answer' must be 'accept', 'reject' or 'ignore', got {answer!r} "
                                "(is this a 'prodigy db-out' export?)", kind="record without answer")
            continue
        task = rec.get(task_key)
        if task is None or task == "":
            problems.bad(where, f"field {task_key!r} (the task key) is missing", kind="record without task")
            continue
        where = f"line {lineno} (task {task!r})"
        if answer == "ignore":
            problems.note("ignored answer(s) dropped (Prodigy 'ignore': skipped by the annotator)", where)
            continue
        try:
            who = _who(rec, annotator)
        except (KeyError, TypeError, ValueError) as exc:
            problems.bad(where, f"field '_annotator_id': {exc}", kind="record without annotator")
            continue
        if who is None:
            problems.bad(where, "no '_annotator_id' or '_session_id'; pass annotator= to read_prodigy",
                         kind="record without annotator")
            continue
        raw_id = str(rec.get("_annotator_id") or rec.get("_session_id") or "")
        if annotator is None and _SESSION_TS.search(raw_id):
            timestamp_ids.add(raw_id)
        view = rec.get("_view_id")
        binary = view in _BINARY_VIEWS
        if answer == "reject" and not binary and manual_reject == "drop":
            problems.note("rejected answer(s) in a manual view dropped (Prodigy: the example is unusable; "
                          "manual_reject='empty' keeps them as 'marked nothing')", where)
            continue
        keep = answer == "accept"  # binary reject: the label/span is absent; manual 'empty': nothing marked
        aid = str(lineno)
        base = {"task": task, "annotator": who, "annotation_id": aid, "view": view, "source": name,
                "created_at": (pd.Timestamp(rec["_timestamp"], unit="s", tz="UTC").isoformat()
                               if isinstance(rec.get("_timestamp"), (int, float)) else None)}
        found = False
        rows: list[dict] = []
        try:
            if "spans" in rec and view in _IMAGE_VIEWS:
                found = True
                rows += _image_spans(rec, base)
            elif "spans" in rec and (view in _SPAN_VIEWS or view is None):
                found = True
                doc = rec.get("text")
                for si, sp in enumerate(rec["spans"] or []):
                    if not isinstance(sp, dict) or "start" not in sp or "end" not in sp:
                        raise ValueError(f"field 'spans'[{si}]: expected an object with 'start' and 'end'")
                    lab = sp.get("label")
                    if not lab:
                        raise ValueError(f"field 'spans'[{si}]: span without 'label'")
                    s, e = int(sp["start"]), int(sp["end"])
                    stext = sp.get("text")
                    if stext is None and isinstance(doc, str):
                        stext = doc[s:e]
                    rows.append(dict(base, label=str(lab), field="spans", kind="span", start=s, end=e, text=stext))
            if "options" in rec or ("accept" in rec and view in ("choice", "blocks")):
                found = True
                acc = rec.get("accept") or []
                if not isinstance(acc, list):
                    raise ValueError(f"field 'accept': expected a list of option ids, got {acc!r}")
                style = (rec.get("config") or {}).get("choice_style") if isinstance(rec.get("config"), dict) else None
                multiple = multiple or style == "multiple" or len(acc) > 1
                rows += [dict(base, label=str(a), field="choice") for a in acc]
            elif "label" in rec and view not in _SPAN_VIEWS - {"blocks"}:
                found = True
                rows.append(dict(base, label=str(rec["label"]), field="textcat", kind="multilabel"))
            for tf in text_fields:
                if isinstance(rec.get(tf), str) and rec[tf].strip():
                    found = True
                    rows.append(dict(base, label=rec[tf], field=tf, kind="text"))
        except (ValueError, TypeError) as exc:
            problems.bad(where, str(exc), kind="invalid record")
            continue
        if not found:
            problems.bad(where, f"no spans, options/accept or label to read (view {view!r})",
                         kind="record with nothing to read")
            continue
        assignments.append((task, who, aid))
        if keep:
            for r in rows:
                add(**r)
    if timestamp_ids:
        problems.note(
            "annotator id(s) that are session timestamps, each counted as its own annotator "
            "(pass annotator={session id: name} to read_prodigy)", ", ".join(sorted(timestamp_ids)[:3]))
    choice_kind = kinds.get("choice", "multilabel" if multiple else "categorical")
    cols["kind"] = [choice_kind if f == "choice" else k for f, k in zip(cols["field"], cols["kind"])]
    cols["kind"] = [kinds.get(f, k) for f, k in zip(cols["field"], cols["kind"])]
    df = finish(cols, problems, assignments=[dict(zip(("task", "annotator", "annotation_id"), a))
                                             for a in assignments])
    if "kind" in df.columns and choice_kind == "categorical" and (df["field"] == "choice").any():
        per = df[df["field"] == "choice"].groupby(["task", "annotator", "annotation_id"]).size()
        if (per > 1).any():
            t, a, _ = per[per > 1].index[0]
            raise AnnotationFormatError(
                f"{path}: field 'choice' was declared kind 'categorical' but task {t!r}, annotator {a!r} "
                f"selected {int(per.max())} options; use kinds={{'choice': 'multilabel'}}."
            )
    return df
