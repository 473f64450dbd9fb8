"""What a Label Studio round trip needs beyond the labels: task data, controls, reviews, history.

:func:`~qa_toolkit.io.read_label_studio` stores them in ``data.attrs`` (read-only side data):

* ``task_data``: ``{task: task['data']}`` (text, image URL...), in file order;
* ``task_ids``: ``{task: original Label Studio id}`` (differs from ``task`` with ``task_key=``);
* ``ls_controls``: ``{from_name: {"to_name": ..., "type": ...}}`` for the writer;
* ``ls_predictions``: ``{task: [prediction objects]}`` when the export has predictions;
* ``reviews``: tidy table ``task, annotation_id, annotator, review_id, reviewer, accepted,
  created_at, fixed`` (one row per Label Studio Enterprise review);
* ``history``: tidy table ``task, annotation_id, annotator, history_id, action, created_by,
  created_at, review_id, comment, n_results``.

pandas deep-copies ``attrs`` on every operation; these objects return themselves from
``__deepcopy__`` so a large export does not slow every step down. Treat them as read-only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["SideTable", "SideDict", "new_extras", "collect_task", "collect_annotation", "collect_result", "attach"]

REVIEW_COLUMNS = ["task", "annotation_id", "annotator", "review_id", "reviewer", "accepted", "created_at", "fixed"]
HISTORY_COLUMNS = ["task", "annotation_id", "annotator", "history_id", "action", "created_by", "created_at",
                   "review_id", "comment", "n_results"]


class SideDict(dict):
    """A dict stored in ``attrs``: not deep-copied by pandas (read-only by convention)."""

    def __deepcopy__(self, memo: dict) -> SideDict:
        return self


class SideTable(pd.DataFrame):
    """A table stored in ``attrs``: equality is a bool (pandas compares attrs in ``concat``), no deep copy."""

    @property
    def _constructor(self) -> type:
        return SideTable

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        if isinstance(other, SideTable):
            return self.equals(other)
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict | None = None) -> SideTable:
        return self


def new_extras() -> dict[str, Any]:
    return {"task_data": SideDict(), "task_ids": SideDict(), "ls_controls": SideDict(),
            "ls_predictions": SideDict(), "reviews": [], "history": []}


def _list(v: Any) -> list[Any]:
    """A list field of the export, or nothing (malformed side data never stops the labels being read)."""
    return v if isinstance(v, list) else []


def _user(u: Any) -> Any:
    if isinstance(u, dict):
        return u.get("email") or u.get("id")
    return u


def collect_task(extras: dict[str, Any], task: Any, t: dict[str, Any]) -> None:
    """Task data, original id and predictions of one task."""
    if isinstance(t.get("data"), dict) and task not in extras["task_data"]:
        extras["task_data"][task] = t["data"]
    if t.get("id") is not None:
        extras["task_ids"].setdefault(task, t["id"])
    preds = [p for p in _list(t.get("predictions")) if isinstance(p, dict) and isinstance(p.get("result"), list)]
    if preds:
        extras["ls_predictions"].setdefault(task, []).extend(preds)


def collect_annotation(extras: dict[str, Any], task: Any, who: Any, aid: Any, a: dict[str, Any]) -> None:
    """Reviews and history entries of one annotation."""
    for rv in _list(a.get("reviews")):
        if isinstance(rv, dict):
            extras["reviews"].append({
                "task": task, "annotation_id": aid, "annotator": who, "review_id": rv.get("id"),
                "reviewer": _user(rv.get("created_by")), "accepted": rv.get("accepted"),
                "created_at": rv.get("created_at"), "fixed": rv.get("fixed_annotation_history") is not None})
    for h in _list(a.get("history")):
        if isinstance(h, dict):
            res = h.get("result")
            extras["history"].append({
                "task": task, "annotation_id": aid, "annotator": who, "history_id": h.get("id"),
                "action": h.get("action"), "created_by": _user(h.get("created_by")),
                "created_at": h.get("created_at"), "review_id": h.get("review_id"),
                "comment": h.get("comment"), "n_results": len(res) if isinstance(res, list) else None})


def collect_result(extras: dict[str, Any], r: dict[str, Any]) -> None:
    """The control's ``to_name`` and ``type`` (first seen wins)."""
    name = r.get("from_name")
    if isinstance(name, str) and name not in extras["ls_controls"]:
        extras["ls_controls"][name] = {"to_name": r.get("to_name"), "type": r.get("type")}


def attach(df: pd.DataFrame, extras: dict[str, Any]) -> pd.DataFrame:
    """Store the side data in ``df.attrs``."""
    for key in ("task_data", "task_ids", "ls_controls"):
        df.attrs[key] = extras[key]
    if extras["ls_predictions"]:
        df.attrs["ls_predictions"] = extras["ls_predictions"]
    if extras["reviews"]:
        df.attrs["reviews"] = SideTable(pd.DataFrame.from_records(extras["reviews"], columns=REVIEW_COLUMNS))
    if extras["history"]:
        df.attrs["history"] = SideTable(pd.DataFrame.from_records(extras["history"], columns=HISTORY_COLUMNS))
    return df
