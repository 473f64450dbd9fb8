"""Replaying a decision log: the effective decision per key, the final-decision table, staleness.

A decision's key is ``(task, field, unit, annotation)``: ``unit`` is the object number of a
region field or the label of a multi-label field (None for a whole task), ``annotation`` the
annotation id (or annotator) of a per-annotation review (``scope='annotation'``), else None.
``undo`` pops the latest decision of the same key; ``skip`` never wins over a real decision.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Literal

import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns, check_option
from qa_toolkit.review.decision_log import DecisionLog
from qa_toolkit.review.log_io import DecisionLogWarning, LogMismatchError
from qa_toolkit.review.log_io import py_scalar as _py
from qa_toolkit.review.tables import annotations_hash, task_hashes

__all__ = ["decision_key", "final_decision_table", "final_decisions", "read_records", "stale_decisions", "undecided"]

#: Columns of :func:`final_decision_table` (besides those the log adds, e.g. ``geometry``).
FINAL_COLUMNS = ["task", "field", "unit", "scope", "annotation_id", "annotator", "decision", "label_before",
                 "label_after", "reason", "comment", "reviewer", "timestamp", "seq", "n_decisions"]


def _blank(value: Any) -> Any:
    value = _py(value)
    return None if value == "" else value


def decision_key(rec: dict) -> tuple:
    """``(task, field, unit, annotation)`` of a decision record (see the module docstring)."""
    annotation = None
    if rec.get("scope") == "annotation":
        annotation = _blank(rec.get("annotation_id"))
        if annotation is None:
            annotation = ("annotator", _blank(rec.get("annotator")))
    return (_py(rec["task"]), _blank(rec.get("field")), _blank(rec.get("unit")), annotation)


def final_decisions(records: list[dict]) -> dict:
    """Replay decisions into the effective one per key: ``{key: (record, n_decisions)}``.

    ``undo`` pops the previous decision of its key, ``skip`` never wins (a key with only
    skips keeps its last skip). Keys are :func:`decision_key`; records written before
    per-unit decisions have the key ``(task, None, None, None)``.
    """
    stacks: dict = {}
    for rec in records:
        stack = stacks.setdefault(decision_key(rec), [])
        if rec["decision"] == "undo":
            if stack:
                stack.pop()
        else:
            stack.append(rec)
    final = {}
    for key, stack in stacks.items():
        effective = [r for r in stack if r["decision"] != "skip"]
        if effective:
            final[key] = (effective[-1], len(stack))
        elif stack:
            final[key] = (stack[-1], len(stack))
    return final


def read_records(log: DecisionLog | str | os.PathLike | pd.DataFrame, *, func: str) -> list[dict]:
    """The decision records of a log, a log file or a :meth:`DecisionLog.read` table."""
    if isinstance(log, pd.DataFrame):
        check_columns(log, ("task", "decision"), name="log", func=func)
        d = log.sort_values("seq", kind="stable") if "seq" in log.columns else log
        recs = [{k: _py(v) if not isinstance(v, (dict, list, tuple)) else v for k, v in r.items()}
                for r in d.to_dict("records")]
    elif isinstance(log, DecisionLog):
        recs = log.records()
    elif isinstance(log, (str, os.PathLike)):
        recs = DecisionLog(log, read_only=True).records()
    else:
        raise QAInputError(f"The 'log' parameter of {func} must be a DecisionLog, a path or a DataFrame. "
                           f"Got {type(log).__name__} instead.")
    return [{**r, "task": _py(r["task"])} for r in recs]


def _stale_mask(annotations: pd.DataFrame, recs: list[dict]) -> list[bool]:
    hashes = {_py(k): v for k, v in task_hashes(annotations).items()} if recs else {}
    # a log written against the table with typed ids (task 7) stays valid for the same table
    # read as text (task "7", as the CLI reads CSV): the row hashes already compare values as
    # text, so ids are matched as text too when that is unambiguous
    as_text: dict = {}
    for k, v in hashes.items():
        as_text.setdefault(str(k), []).append(v)
    whole = None
    out = []
    for r in recs:
        th = r.get("task_hash")
        if isinstance(th, str):
            now = hashes.get(r["task"])
            if now is None and len(as_text.get(str(r["task"]), ())) == 1:
                now = as_text[str(r["task"])][0]
            out.append(now != th)
            continue
        ah = r.get("annotations_hash")  # a version-2 record: the whole table's hash
        if isinstance(ah, str):
            whole = whole or annotations_hash(annotations)
            out.append(ah != whole)
        else:
            out.append(False)
    return out


def stale_decisions(annotations: pd.DataFrame, log: DecisionLog | str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """The decisions whose own task changed since they were taken (to re-review them).

    A version-3 decision is stale when the hash of its task's rows differs from the one it
    recorded; a version-2 decision (no task hash) when the whole table's hash differs.

    Parameters
    ----------
    annotations : pandas.DataFrame
        The current long table.
    log : DecisionLog, path or pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        The stale records (``seq``, ``task``, ``field``, ``unit``, ``decision``...), in log
        order; empty when every decision still applies.
    """
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="stale_decisions")
    recs = read_records(log, func="stale_decisions")
    mask = _stale_mask(annotations, recs)
    rows = [r for r, s in zip(recs, mask) if s]
    cols = ["seq", "task", "field", "unit", "annotation_id", "decision", "reviewer", "label_after", "timestamp"]
    out = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=cols)
    return out.reindex(columns=[*cols, *[c for c in out.columns if c not in cols]])


def effective_records(annotations: pd.DataFrame, log: Any, *, on_mismatch: str, func: str) -> dict:
    """:func:`final_decisions` over the log's current (not stale) records, per ``on_mismatch``."""
    check_option("on_mismatch", on_mismatch, ["raise", "warn", "ignore"], func=func)
    recs = read_records(log, func=func)
    mask = _stale_mask(annotations, recs)
    if any(mask):
        stale = sorted({r["task"] for r, s in zip(recs, mask) if s}, key=str)
        msg = (f"{func}: {sum(mask)} decision(s) were taken on other annotations of their task (stale: the "
               f"task's rows changed since), on tasks {stale[:5]}{' ...' if len(stale) > 5 else ''}; they are "
               "not applied. List them with qa_toolkit.review.stale_decisions(annotations, log) and review "
               "those units again.")
        if on_mismatch == "raise":
            raise LogMismatchError(msg + " Pass on_mismatch='warn' to apply the other decisions.")
        if on_mismatch == "warn":
            warnings.warn(msg, DecisionLogWarning, stacklevel=3)
        recs = [r for r, s in zip(recs, mask) if not s]
    return final_decisions(recs)


def final_decision_table(log: DecisionLog | str | os.PathLike | pd.DataFrame, *,
                         on: Literal["unit", "annotation", "all"] = "all") -> pd.DataFrame:
    """The effective decision per key as a tidy table (what per-annotator rates are built on).

    Parameters
    ----------
    log : DecisionLog, path or pandas.DataFrame
    on : {'all', 'unit', 'annotation'}, default='all'
        Keep the unit decisions, the per-annotation decisions (``scope == 'annotation'``:
        one annotator's whole annotation of a task accepted or rejected), or both.

    Returns
    -------
    pandas.DataFrame
        One row per key: ``task``, ``field``, ``unit``, ``scope``, ``annotation_id``,
        ``annotator`` (per-annotation decisions, and unit decisions that took one
        annotator's version), ``decision``, ``label_before``, ``label_after``, ``reason``,
        ``comment``, ``reviewer``, ``timestamp``, ``seq`` and ``n_decisions``.
    """
    check_option("on", on, ["all", "unit", "annotation"], func="final_decision_table")
    final = final_decisions(read_records(log, func="final_decision_table"))
    rows = []
    for rec, n in final.values():
        scope = rec.get("scope") or "unit"
        if on != "all" and scope != on:
            continue
        rows.append({**{c: rec.get(c) for c in FINAL_COLUMNS}, "scope": scope, "n_decisions": n,
                     **{k: v for k, v in rec.items() if k not in FINAL_COLUMNS and k != "hash"}})
    out = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=FINAL_COLUMNS)
    out = out.reindex(columns=[*FINAL_COLUMNS, *[c for c in out.columns if c not in FINAL_COLUMNS]])
    if len(out):
        out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True, format="ISO8601")
    return out


def undecided(queue: pd.DataFrame, log: DecisionLog | str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """The rows of a review queue whose unit has no final decision yet (skips stay in).

    Parameters
    ----------
    queue : pandas.DataFrame
        A review queue: ``task`` (+ ``field`` and ``object`` for region units or ``label``
        for multi-label units, as ``qa_toolkit.triage.unit_review_queue`` writes them).
    log : DecisionLog, path or pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        ``queue`` without the decided rows, order and index kept. A row naming only a task
        leaves when the task itself was decided (a categorical or rating field); the panel
        walks the units of such a task and skips the decided ones.
    """
    check_columns(queue, ("task",), name="queue", func="undecided")
    done = {(k[0], k[1], k[2]) for k, (rec, _) in final_decisions(read_records(log, func="undecided")).items()
            if k[3] is None and rec["decision"] != "skip"}
    by_task = {(t, u) for t, _, u in done}
    n = len(queue)
    tasks = [_py(t) for t in queue["task"].tolist()]
    fields = queue["field"].tolist() if "field" in queue.columns else [None] * n
    objs = queue["object"].tolist() if "object" in queue.columns else [None] * n
    labs = queue["label"].tolist() if "label" in queue.columns and "field" in queue.columns else [None] * n
    keep = []
    for t, f, o, lab in zip(tasks, fields, objs, labs):
        unit = _blank(o) if _blank(o) is not None else _blank(lab)
        unit = int(unit) if isinstance(unit, float) and unit.is_integer() else unit
        if f is None or (isinstance(f, float) and pd.isna(f)):
            keep.append((t, None) not in by_task)
        else:
            keep.append((t, f, unit) not in done and not (unit is None and (t, None, None) in done))
    return queue.loc[keep]
