"""Checking the arguments of one decision and building its log record (before the hash chain)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import numpy as np

from qa_toolkit._validation import QAInputError, check_option
from qa_toolkit.review import log_io as _io
from qa_toolkit.review.log_io import DECISIONS
from qa_toolkit.review.log_io import py_scalar as _py

__all__ = ["NUMERIC_KINDS", "REJECT_POLICIES", "SCOPES", "build_record", "now"]

NUMERIC_KINDS = ("ordinal", "interval")
#: Decision scopes: one unit (task, field, object/label) or one annotator's whole annotation.
SCOPES = ("unit", "annotation")
#: What a reject does: send the unit back for re-annotation, or only remove it.
REJECT_POLICIES = ("requeue", "remove")


def build_record(log: Any, task: Any, decision: str, *, reviewer: str, unit: Any, annotation_id: Any,
                 label: Any, geometry: Mapping | None, reason: str | None, comment: str | None,
                 label_before: Any, field: Any, annotator: Any, scope: str | None,
                 policy: str | None) -> dict:
    """The record :meth:`DecisionLog.append` writes, or :class:`QAInputError` naming the bad argument."""
    log._writable_fd()
    func = "DecisionLog.append"
    check_option("decision", decision, DECISIONS, func=func)
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise QAInputError(f"The 'reviewer' parameter of {func} must be a non-empty string. Got {reviewer!r}.")
    task = _py(task)
    if not _io.replayable(task, allow_bool=False):
        raise QAInputError(
            f"The 'task' parameter of {func} must be a str, int or finite float, which JSON "
            f"gives back unchanged; got {type(task).__name__} {task!r}, which could not be replayed. "
            "Give tasks plain ids (e.g. with annotations['task'].astype(str))."
        )
    if log._tasks is not None and task not in log._tasks:
        raise QAInputError(f"The 'task' parameter of {func} must be a task of the annotations. Got {task!r}.")
    keys = {k: _py(v) for k, v in (("field", field), ("unit", unit), ("annotation_id", annotation_id),
                                    ("annotator", annotator))}
    for key, value in keys.items():
        if value is not None and not _io.replayable(value, allow_bool=False):
            raise QAInputError(f"The '{key}' parameter of {func} must be a str or int; "
                               f"got {type(value).__name__} {value!r}.")
    if keys["annotation_id"] is not None and log._annotation_ids:
        found = log._annotation_ids.get(keys["annotation_id"])
        if found is None or found[1] != task:
            raise QAInputError(f"The 'annotation_id' parameter of {func} must be an annotation of task "
                               f"{task!r}; {keys['annotation_id']!r} is not.")
        if keys["annotator"] is None:
            keys["annotator"] = found[0]
    if scope is None:
        per_annotation = (keys["annotation_id"] is not None or keys["annotator"] is not None) and \
            keys["unit"] is None and label is None and geometry is None
        scope = "annotation" if per_annotation else "unit"
    check_option("scope", scope, SCOPES, func=func)
    if scope == "annotation" and keys["annotation_id"] is None and keys["annotator"] is None:
        raise QAInputError(f"{func}: scope='annotation' needs the 'annotation_id' (or 'annotator') decided on.")
    geo = check_geometry(geometry, func)
    kind = log._kinds.get(keys["field"])
    if kind is None and keys["field"] is None and len(log._kinds) == 1:
        kind = next(iter(log._kinds.values()))
    label = _py(label)
    if kind in NUMERIC_KINDS and label is not None:
        try:
            label = float(label)
        except (TypeError, ValueError):
            raise QAInputError(f"The 'label' parameter of {func} must be a number for field {keys['field']!r} "
                               f"of kind {kind!r}. Got {label!r}.") from None
    if decision == "fix" and label is None and geo is None:
        raise QAInputError(f"{func}: decision 'fix' needs the corrected 'label' (or 'geometry'). Got None.")
    if label is not None and not _io.replayable(label, allow_bool=True):
        raise QAInputError(f"The 'label' parameter of {func} must be a str, int, float or bool; "
                           f"got {type(label).__name__} {label!r}, which could not be replayed.")
    if label is not None and log.labels is not None and kind not in NUMERIC_KINDS and label not in log.labels:
        check_option("label", label, log.labels, func=func)
    if decision == "reject" and not (isinstance(reason, str) and reason.strip()):
        raise QAInputError(f"{func}: decision 'reject' needs a 'reason'. Got {reason!r}.")
    if policy is not None:
        check_option("policy", policy, REJECT_POLICIES, func=func)
    before = _py(label_before) if label_before is not None else log._label_before(task)
    if decision == "accept" and label is None and scope == "unit":
        label = before
    if decision in ("reject", "skip", "undo"):
        label, geo = None, None
    record = {"timestamp": now(), "task": task, "decision": decision, "reviewer": reviewer,
              "label_before": json_safe(before), "label_after": label, "reason": reason, "comment": comment,
              "annotations_hash": log.annotations_hash}
    record.update({k: v for k, v in keys.items() if v is not None})
    if scope != "unit":
        record["scope"] = scope
    if geo is not None:
        record["geometry"] = geo
    if policy is not None and decision == "reject":
        record["policy"] = policy
    if task in log._task_hash:
        record["task_hash"] = log._task_hash[task]
    return record


def check_geometry(geometry: Any, func: str) -> dict | None:
    """A JSON-safe copy of a geometry dict (numbers, or lists of numbers), or None."""
    if geometry is None:
        return None
    if not isinstance(geometry, Mapping) or not geometry:
        raise QAInputError(f"The 'geometry' parameter of {func} must be a non-empty dict such as "
                           f"{{'x_min': 1, 'y_min': 2, 'x_max': 30, 'y_max': 40}}. Got {geometry!r}.")

    def clean(v: Any) -> Any:
        if isinstance(v, (list, tuple, np.ndarray)):
            return [clean(x) for x in v]
        v = _py(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise QAInputError(f"The 'geometry' parameter of {func} must hold finite numbers; got {v!r}.")
        return v

    return {str(k): clean(v) for k, v in geometry.items()}


def json_safe(value: Any) -> Any:
    """``value`` if JSON gives it back unchanged, else its ``str``."""
    return value if value is None or _io.replayable(value, allow_bool=True) else str(value)


def now() -> str:
    """The current UTC time, ISO 8601 with microseconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")
