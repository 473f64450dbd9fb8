"""Review queue / escalation table → Label Studio tasks that show the item (issue #13)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError
from qa_toolkit.io._write_common import plain

__all__ = ["to_label_studio_tasks"]


def to_label_studio_tasks(table: pd.DataFrame, *, data: Any = None, only: str | None = None) -> list[dict]:
    """Turn a review queue or escalation table into Label Studio tasks (import JSON).

    Each task carries its original data (``data``: ``{task: task data}``, or an annotation
    table whose ``attrs["task_data"]`` the Label Studio reader set) so Label Studio can show
    the item, and its original id (``id``, from ``attrs["task_ids"]`` or an integer task).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`~qa_toolkit.triage.review_queue` or
        :func:`~qa_toolkit.triage.escalate_low_agreement` (``task`` as a column or the index).
    data : dict or pandas.DataFrame, optional
        ``{task: {key: value}}`` merged into each task's ``data``, or the annotation table.
    only : str, optional
        A boolean column; keep the rows where it is true (e.g. ``'escalate'``).

    Returns
    -------
    list of dict
        ``[{"id": ..., "data": {..., "task": ...}, "meta": {...}}]``, ready for ``json.dump``;
        ``meta`` keeps the queue's reasons and ``meta["task"]`` the qa_toolkit task.

    Examples
    --------
    >>> t = pd.DataFrame({"task": [7], "priority": [0.9], "reasons": ["3 annotators split 2/1"]})
    >>> out = to_label_studio_tasks(t, data={7: {"text": "a b c"}})
    >>> out[0]["id"], out[0]["data"]["text"], out[0]["meta"]["reasons"]
    (7, 'a b c', '3 annotators split 2/1')
    """
    func = "to_label_studio_tasks"
    if not isinstance(table, pd.DataFrame):
        raise QAInputError(f"The 'table' parameter of {func} must be a DataFrame. Got {type(table).__name__}.")
    t = table.reset_index() if "task" not in table.columns else table
    if "task" not in t.columns:
        raise QAInputError(f"The 'table' parameter of {func} needs a 'task' column or index.")
    if only is not None:
        if only not in t.columns:
            raise QAInputError(f"The 'only' parameter of {func} must name a column of table; got {only!r}, "
                               f"columns {list(t.columns)}.")
        t = t[t[only].astype(bool)]
    tids: Mapping[Any, Any] = {}
    if isinstance(data, pd.DataFrame):
        tids = data.attrs.get("task_ids") or {}
        data = data.attrs.get("task_data") or {}
    elif data is not None and not isinstance(data, Mapping):
        raise QAInputError(f"The 'data' parameter of {func} must be a dict {{task: task data}} or the annotation "
                           f"table read by read_label_studio. Got {type(data).__name__}.")
    keep = [c for c in ("rank", "priority", "reasons", "labels", "suggested_label", "agreement", "n_extra", "reason")
            if c in t.columns]
    out = []
    for rec in t[["task", *keep]].to_dict("records"):
        task = rec.pop("task")
        meta = {k: plain(v) for k, v in rec.items() if not (isinstance(v, float) and np.isnan(v))}
        tk = plain(task)
        meta["task"] = tk
        payload = dict((data or {}).get(task, {}))
        payload.setdefault("task", tk)
        entry: dict[str, Any] = {}
        tid = plain(tids.get(task, tk))
        if isinstance(tid, int) and not isinstance(tid, bool):
            entry["id"] = tid
        entry.update(data=payload, meta=meta)
        out.append(entry)
    return out
