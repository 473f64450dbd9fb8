"""Flat tables: generic long CSV/TSV/Parquet with a column mapping, and Label Studio's
flat exports (``JSON_MIN`` and ``CSV``/``TSV``: one record per annotation), and doccano
JSONL (one record per document and user).

The Label Studio policies (annotator, task, ``field``) are those of
:mod:`qa_toolkit.io.label_studio`.
"""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from qa_toolkit._validation import AnnotationFormatError
from qa_toolkit.io._common import (
    PathLike,
    Problems,
    Rows,
    as_path,
    boundary,
    decode,
    finish,
    load_json,
    read_bytes,
    to_float,
)
from qa_toolkit.io.label_studio import _LABEL_KEYS, COLUMNS, KIND_OF, parse_region
from qa_toolkit.table import DEFAULT_FIELD, REQUIRED_COLUMNS

__all__ = ["read_table", "read_label_studio_min", "read_label_studio_csv", "read_doccano"]


#: Columns read as numbers from delimited text (numeric by nature); everything else is text.
NUMERIC_COLUMNS = ("x_min", "y_min", "x_max", "y_max", "rotation", "lead_time", "value", "score",
                   "start", "end", "image_width", "image_height")


@boundary("a table")
def read_table(source: PathLike, *, columns: dict[str, str] | None = None, sep: str | None = None,
               errors: str = "raise", na_values: list[str] | None = None, numeric: list[str] | None = None,
               kinds: dict[str, str] | None = None, duplicates: str = "warn") -> pd.DataFrame:
    """Read a long CSV/TSV/Parquet table, renaming its columns to the canonical ones.

    Delimited text is read as text: ids and labels are never type-guessed (``01``, ``1``
    and ``1.0`` are three labels, ``007`` and ``7`` two tasks, ``NA``/``None``/``null``/
    ``n/a`` are class names); only the columns in :data:`NUMERIC_COLUMNS` (ratings,
    values, coordinates, times) and those named in ``numeric`` are parsed as numbers,
    and a cell there that is not a number is an error naming its record. Without a
    ``field`` column the table has the single field ``"label"``.

    Parameters
    ----------
    source : str or path-like
        ``.parquet``/``.pq`` files are read with pyarrow; anything else as delimited text.
    columns : dict, optional
        Mapping from the file's column names to canonical names, e.g.
        ``{'item': 'task', 'worker': 'annotator', 'answer': 'label'}``.
    sep : str, optional
        Delimiter; default: a tab when the header line has tabs, else a comma.
    errors : {'raise', 'warn'}, default='raise'
        Policy of :func:`~qa_toolkit.validate_annotations` for bad rows.
    na_values : list of str, optional
        Cell texts that mean "missing" (only the empty cell by default).
    numeric : list of str, optional
        More columns to parse as numbers.
    kinds : dict of {field: kind}, optional
        The kind of each field (default: inferred, see :func:`~qa_toolkit.table.infer_kinds`).
    duplicates : {'warn', 'raise'}, default='warn'
        Exact duplicate rows: keep one and count them, or raise.

    Returns
    -------
    pandas.DataFrame
        The canonical table (other columns kept after the canonical ones).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels.csv"
    >>> _ = p.write_text("item,worker,answer\\n1,w1,cat\\n1,w2,dog\\n")
    >>> read_table(p, columns={"item": "task", "worker": "annotator", "answer": "label"})
      task annotator label      source  field         kind
    0    1        w1   cat  labels.csv  label  categorical
    1    1        w2   dog  labels.csv  label  categorical
    """
    path = as_path(source, func="read_table")
    problems = Problems(path, errors, func="read_table")
    if columns is not None and not isinstance(columns, dict):
        raise AnnotationFormatError(
            f"The 'columns' parameter of read_table must be a dict {{file column: canonical column}}. "
            f"Got {type(columns).__name__} instead."
        )
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise AnnotationFormatError(f"{path} could not be read as Parquet: {exc}") from None
    else:
        text = decode(read_bytes(path), path)
        if sep is None:
            sep = "\t" if "\t" in text.split("\n", 1)[0] else ","
        na = [""] + [str(v) for v in (na_values or [])]
        try:
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=na)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise AnnotationFormatError(f"{path} could not be parsed as a table: {exc}") from None
    if columns:
        unknown = [c for c in columns if c not in df.columns]
        if unknown:
            raise AnnotationFormatError(
                f"{path}: column(s) {unknown} of the 'columns' mapping are not in the file; "
                f"it has {list(map(str, df.columns))}."
            )
        df = df.rename(columns=columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise AnnotationFormatError(
            f"{path}: required column(s) {missing} are missing; got {list(map(str, df.columns))}. "
            "Map the file's columns with columns={'item': 'task', 'worker': 'annotator', 'answer': 'label'}."
        )
    if "points" in df.columns and df["points"].map(lambda v: isinstance(v, str)).any():

        def _pts(v: Any) -> Any:
            if not isinstance(v, str):
                return v
            try:
                return tuple(tuple(p) for p in json.loads(v))
            except (ValueError, TypeError):
                raise AnnotationFormatError(
                    f"{path}: column 'points' must hold JSON lists of [x, y] pairs; got {v[:40]!r}."
                ) from None

        df["points"] = pd.Series([_pts(v) for v in df["points"].astype(object)], index=df.index, dtype=object)
    if "source" not in df.columns:
        df["source"] = path.name
    for col in numeric or []:
        if col not in df.columns:
            raise AnnotationFormatError(f"{path}: column {col!r} of the 'numeric' parameter is not in the file.")
        bad = df[col].notna() & pd.to_numeric(df[col], errors="coerce").isna()
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise AnnotationFormatError(
                f"{path}: line {i + 2} (task {df['task'].iloc[i]!r}): column {col!r} must be a number, "
                f"got {df[col].iloc[i]!r}."
            )
        df[col] = pd.to_numeric(df[col])
    if "field" not in df.columns:
        df["field"] = DEFAULT_FIELD
    cols = {c: df[c].tolist() for c in df.columns}
    return finish(cols, problems, kinds=kinds, duplicates=duplicates)


# -- JSON_MIN and CSV: one flat record per annotation ---------------------------------------
_META = {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement", "_row_id"}


def _maybe_json(cell: Any) -> Any:
    if isinstance(cell, str) and cell[:1] in "[{":
        try:
            return json.loads(cell)
        except json.JSONDecodeError:
            try:
                return ast.literal_eval(cell)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return cell
    return cell


def _region_dicts(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(
        isinstance(x, dict) and any(k in x for k in _LABEL_KEYS) for x in v
    )


def _task_id(v: Any) -> Any:
    """A CSV task id as the JSON export has it: canonical integers become int (``7``), never
    ``007`` (which stays the text ``'007'``, another task)."""
    if isinstance(v, str) and v.isdigit() and str(int(v)) == v:
        return int(v)
    return v


def _flat_records(records: list[Any], path: Path, problems: Problems, fields: list[str] | None, rows: Rows,
                  annotator: str | None, assignments: list[dict[str, Any]]) -> None:
    if fields is None:
        fields = sorted({k for r in records if isinstance(r, dict) for k, v in r.items()
                         if k not in _META and _region_dicts(_maybe_json(v))})
    if not fields:
        keys = sorted({k for r in records if isinstance(r, dict) for k in r})
        raise _ls_schema(path, f"found no annotation field (a key holding region lists); keys are {keys}. "
                            "Name the fields holding plain choices or text with fields=[...]")
    name = path.name
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            problems.bad(f"record #{i}", f"expected an object, got {type(rec).__name__}")
            continue
        task = rec.get("id")
        if task is None or task == "":
            task = f"#{i}"
            problems.note("record(s) without 'id' named by their position ('#<n>')", f"record #{i}")
        task = _task_id(task)
        if isinstance(task, (list, dict)):
            problems.bad(f"record #{i}", f"field 'id' must be a number or string, got {str(task)[:30]}",
                         kind="record(s) with a non-scalar id")
            continue
        who = annotator or (None if rec.get("annotator") in (None, "") else str(rec["annotator"]))
        if who is None:
            problems.note("record(s) without 'annotator' labelled 'unknown'")
            who = "unknown"
        lt = rec.get("lead_time")
        try:
            lt = None if lt in (None, "") else to_float(lt, what="lead_time")
        except ValueError as exc:
            problems.bad(f"record #{i} (task id {task!r})", str(exc))
            continue
        aid = _task_id(rec.get("annotation_id"))
        mi = rows.annotation({"task": task, "annotator": who, "annotation_id": aid,
                              "created_at": rec.get("created_at") or None, "lead_time": lt, "source": name})
        assignments.append({"task": task, "annotator": who, "annotation_id": aid})
        for f in fields:
            v = _maybe_json(rec.get(f))
            if v is None or v == "" or v == []:
                continue
            where = f"record #{i} (task id {task!r}), field {f!r}"
            if isinstance(v, str) and v[:1] in "[{":
                problems.bad(where, f"cell looks like JSON but does not parse (truncated?): {v[:40]!r}")
                continue
            items = v if isinstance(v, list) else [v]
            for item in items:
                if isinstance(item, dict):
                    rtype = next((k for k in _LABEL_KEYS if k in item), None)
                    if rtype is None:
                        problems.bad(where, f"region has none of the label keys {list(_LABEL_KEYS)[:6]}...")
                        continue
                    try:
                        parts = parse_region(rtype, item, item.get("original_width"), item.get("original_height"))
                    except (KeyError, TypeError, ValueError) as exc:
                        problems.bad(where, f"'{rtype}' region: {exc}")
                        continue
                elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
                    rtype, parts = "choices", [{"label": item}]
                else:
                    problems.bad(where, f"expected a label, a list of labels or regions, got {str(item)[:40]}")
                    continue
                for part in parts:
                    part["field"], part["result_type"], part["kind"] = f, rtype, KIND_OF.get(rtype)
                    rows.add(mi, part)


@boundary("Label Studio JSON_MIN")
def read_label_studio_min(source: PathLike, *, errors: str = "raise", fields: list[str] | None = None,
                          annotator: str | None = None, kinds: dict[str, str] | None = None,
                          duplicates: str = "warn") -> pd.DataFrame:
    """Read a Label Studio ``JSON_MIN`` export (one flat object per annotation).

    Parameters
    ----------
    source : str or path-like
    errors : {'raise', 'warn'}, default='raise'
    fields : list of str, optional
        The keys holding annotations. Default: every key holding a list of regions
        (dicts with ``labels``, ``rectanglelabels``, ``taxonomy``, ``choices``...).
        JSON_MIN flattens single choices and text areas to plain strings, which look
        like task data, so name those keys here.
    annotator : str, optional
        Overrides the ``annotator`` key.
    kinds : dict of {field: kind}, optional
        Override the kinds read from the region types.
    duplicates : {'warn', 'raise'}, default='warn'
        Exact duplicate regions in one annotation: keep one and count them, or raise.
    """
    path = as_path(source, func="read_label_studio_min")
    problems = Problems(path, errors, func="read_label_studio_min")
    data = load_json(path)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise _ls_schema(path, f"JSON_MIN must be a list of objects, got {type(data).__name__}")
    rows = Rows(COLUMNS)
    assignments: list[dict[str, Any]] = []
    _flat_records(data, path, problems, fields, rows, annotator, assignments)
    return finish(rows.columns(), problems, kinds=kinds, assignments=assignments, duplicates=duplicates)


@boundary("Label Studio CSV")
def read_label_studio_csv(source: PathLike, *, errors: str = "raise", fields: list[str] | None = None,
                          annotator: str | None = None, sep: str | None = None,
                          kinds: dict[str, str] | None = None, duplicates: str = "warn") -> pd.DataFrame:
    """Read a Label Studio ``CSV``/``TSV`` export (cells of region lists are JSON-encoded).

    Same ``fields``/``annotator`` policy as :func:`read_label_studio_min`; ``sep`` defaults
    to a tab when the header line has tabs, else a comma.
    """
    path = as_path(source, func="read_label_studio_csv")
    problems = Problems(path, errors, func="read_label_studio_csv")
    text = decode(read_bytes(path), path)
    if sep is None:
        sep = "\t" if "\t" in text.split("\n", 1)[0] else ","
    old_limit = csv.field_size_limit(1 << 30)  # region lists in one cell can be large
    try:
        records = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=sep))
    except csv.Error as exc:
        raise _ls_schema(path, f"CSV could not be parsed: {exc}") from None
    finally:
        csv.field_size_limit(old_limit)
    if not records:
        raise _ls_schema(path, "the CSV has a header but no rows")
    rows = Rows(COLUMNS)
    assignments: list[dict[str, Any]] = []
    _flat_records(records, path, problems, fields, rows, annotator, assignments)
    return finish(rows.columns(), problems, kinds=kinds, assignments=assignments, duplicates=duplicates)


def _ls_schema(path: Path, msg: str) -> AnnotationFormatError:
    return AnnotationFormatError(f"{path} is not a Label Studio JSON_MIN/CSV export: {msg}.")


@boundary("doccano JSONL")
def read_doccano(source: PathLike, *, annotator: str | None = None, errors: str = "raise",
                 duplicates: str = "warn") -> pd.DataFrame:
    """Read a doccano 1.x sequence-labelling export (JSONL, one file per user).

    Each line is ``{"id", "text", "label": [[start, end, "LABEL"], ...]}``; every span
    becomes a row with ``start``/``end`` (character offsets) and ``text`` (the span's
    characters). doccano exports one file per user and no user field, so the annotator
    is ``annotator=`` or the file stem. Lines with an empty ``label`` list are documents
    without entities: counted in a warning, not rows, and kept in ``attrs["assignments"]``.
    Two lines with one ``id`` are counted in a warning (their spans merge under that id).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "admin.jsonl"
    >>> _ = p.write_text('{"id": 1, "text": "Jane lives here", "label": [[0, 4, "PERSON"]]}\\n')
    >>> read_doccano(p)[["task", "annotator", "label", "start", "end", "text"]]
       task annotator   label  start  end  text
    0     1     admin  PERSON      0    4  Jane
    """
    path = as_path(source, func="read_doccano")
    problems = Problems(path, errors, func="read_doccano")
    who = str(annotator) if annotator is not None else path.stem
    rows = Rows(COLUMNS)
    assignments: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for ln, line in enumerate(decode(read_bytes(path), path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {ln}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.bad(where, f"not valid JSON ({exc.msg}, column {exc.colno})")
            continue
        spans = rec.get("label", rec.get("labels")) if isinstance(rec, dict) else None
        if not isinstance(spans, list) or "id" not in rec:
            problems.bad(where, "expected an object with 'id' and a 'label' list of [start, end, label]")
            continue
        if isinstance(rec["id"], (list, dict)) or rec["id"] is None:
            problems.bad(where, f"field 'id' must be a number or string, got {str(rec['id'])[:30]}")
            continue
        if rec["id"] in seen:
            problems.note("document(s) whose id repeats an earlier line (spans merged under that id)",
                          f"line {ln} repeats id {rec['id']!r} of line {seen[rec['id']]}")
        seen.setdefault(rec["id"], ln)
        assignments.append({"task": rec["id"], "annotator": who, "annotation_id": None})
        if not spans:
            problems.note("document(s) without any span")
            continue
        text = rec.get("text") if isinstance(rec.get("text"), str) else None
        mi = rows.annotation({"task": rec["id"], "annotator": who, "source": path.name})
        for si, sp in enumerate(spans):
            if not (isinstance(sp, list) and len(sp) == 3 and all(isinstance(v, int) for v in sp[:2])):
                problems.bad(f"{where} (id {rec['id']!r}), span #{si}", f"expected [start, end, label], got {str(sp)[:40]}")
                continue
            s, e, lab = sp
            rows.add(mi, {"label": lab, "start": s, "end": e, "text": text[s:e] if text else None,
                          "result_type": "labels", "field": "label", "kind": "span", "_loc": f"span #{si}",
                          "_doc_len": len(text) if text is not None else None})
    return finish(rows.columns(), problems, assignments=assignments, duplicates=duplicates)
