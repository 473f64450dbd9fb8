"""Review orchestration without any widget: which item to show, decisions, undo, filters.

:class:`ReviewSession` talks to a *view* (anything with ``show(item, progress)`` and
``show_error(message)``), so it is tested against a fake view; the ipywidgets panel is
one such view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns
from qa_toolkit.review import DecisionLog, consensus_labels, final_decisions

__all__ = ["ReviewItem", "ReviewSession"]


@dataclass(frozen=True)
class ReviewItem:
    """Everything a view needs to show one queued task."""

    task: Any
    position: int  # position in the (filtered) queue order
    rows: pd.DataFrame  # the task's annotation rows (a copy)
    labels: dict  # annotator -> label (first row per annotator)
    consensus: Any
    agreement: float
    suggestion: Any = None
    reasons: str = ""
    extra: dict = field(default_factory=dict)  # the queue row's other fields


def _reasons_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return "; ".join(str(v) for v in value)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


class ReviewSession:
    """Walks a review queue, writes decisions to a :class:`~qa_toolkit.review.DecisionLog`.

    Parameters
    ----------
    queue : pandas.DataFrame
        Any tidy table with a ``task`` column, in review order (optional ``reasons``,
        ``suggested_label``, ``priority`` ...). Not modified.
    annotations : pandas.DataFrame
        The canonical long table. Not modified.
    log : DecisionLog
        Where decisions go. Tasks already decided in it are skipped (resume).
    reviewer : str
        Written with every decision.
    labels : list, optional
        Labels allowed for Fix; default the annotations' labels plus the suggestions.
    require_comment : bool, default=False
        Reject needs a comment as well as a reason.
    view : object, optional
        Has ``show(item, progress)`` and ``show_error(message)``.
    """

    def __init__(self, queue: pd.DataFrame, annotations: pd.DataFrame, log: DecisionLog, *, reviewer: str,
                 labels: list | None = None, require_comment: bool = False, view: Any = None) -> None:
        check_columns(queue, ("task",), name="queue", func="ReviewPanel")
        check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="ReviewPanel")
        if not isinstance(log, DecisionLog):
            raise QAInputError(f"The 'log' parameter of ReviewPanel must be a DecisionLog. Got {type(log).__name__}.")
        if not isinstance(reviewer, str) or not reviewer.strip():
            raise QAInputError(f"The 'reviewer' parameter of ReviewPanel must be a non-empty string. Got {reviewer!r}.")
        if queue["task"].duplicated().any():
            dup = queue.loc[queue["task"].duplicated(), "task"].head(5).tolist()
            raise QAInputError(f"The 'queue' of ReviewPanel lists tasks more than once, e.g. {dup}.")
        self._index = annotations.groupby("task", sort=False).indices
        missing = [t for t in queue["task"].tolist() if t not in self._index]
        if missing:
            raise QAInputError(
                f"The 'queue' of ReviewPanel has {len(missing)} task(s) that are not in the annotations, "
                f"e.g. {missing[:5]}."
            )
        self.queue = queue.reset_index(drop=True)
        self.annotations = annotations
        self.log = log
        self.reviewer = reviewer
        self.require_comment = bool(require_comment)
        self.view = view
        self._tasks = self.queue["task"].tolist()
        cons = consensus_labels(annotations)
        self._consensus = cons["consensus_label"].to_dict()
        self._agreement = cons["agreement"].to_dict()
        self._suggest = (self.queue["suggested_label"].tolist() if "suggested_label" in self.queue.columns
                         else [None] * len(self.queue))
        self._reasons = ([_reasons_text(r) for r in self.queue["reasons"].tolist()]
                         if "reasons" in self.queue.columns else [""] * len(self.queue))
        if labels is None:
            found = set(annotations["label"].dropna().tolist()) | {s for s in self._suggest if s is not None and not pd.isna(s)}
            labels = sorted(found, key=str)
        self.labels = list(labels)
        log.labels = [lab.item() if isinstance(lab, np.generic) else lab for lab in self.labels]
        self._callbacks: list[Callable[[dict], Any]] = []
        self.decided: set = {t for t, (rec, _) in final_decisions(log.records()).items() if rec["decision"] != "skip"}
        self._history: list[Any] = []  # tasks decided in this session, for undo
        self._skipped: set = set()
        self.filter_label: Any = None
        self.filter_reason: str = ""
        self._order = np.arange(len(self.queue))
        self._count()
        self._cursor = 0
        self._advance(0)

    # -- queue walking -------------------------------------------------------------
    def set_filter(self, *, label: Any = None, reason: str = "") -> None:
        """Show only items where an annotator or the suggestion gave ``label`` and whose
        reasons contain ``reason`` (case-insensitive); ``None`` / ``''`` switch a filter off."""
        keep = np.ones(len(self.queue), dtype=bool)
        if label is not None and label != "":
            sub = self.annotations.loc[self.annotations["label"] == label, "task"]
            keep &= self.queue["task"].isin(set(sub.tolist())).to_numpy() | np.array(
                [s == label for s in self._suggest], dtype=bool)
        if reason:
            keep &= np.array([reason.lower() in r.lower() for r in self._reasons], dtype=bool)
        self.filter_label, self.filter_reason = label, reason
        self._order = np.flatnonzero(keep)
        self._count()
        self._cursor = 0
        self._advance(0)
        self._show()

    def _pending(self, pos: int) -> bool:
        t = self._tasks[self._order[pos]]
        return t not in self.decided and t not in self._skipped

    def _advance(self, start: int) -> None:
        """Move the cursor to the first pending item at or after ``start``, wrapping to skipped ones."""
        n = len(self._order)
        for pos in range(start, n):
            if self._pending(pos):
                self._cursor = pos
                return
        if self._skipped:  # everything else is done: offer the skipped items again
            self._skipped.clear()
            for pos in range(n):
                if self._pending(pos):
                    self._cursor = pos
                    return
        self._cursor = n

    @property
    def current(self) -> ReviewItem | None:
        """The item on show, or None when the (filtered) queue is done."""
        if self._cursor >= len(self._order):
            return None
        return self.item(int(self._order[self._cursor]), self._cursor)

    def item(self, qpos: int, position: int = -1) -> ReviewItem:
        """The :class:`ReviewItem` for queue row ``qpos``."""
        task = self._tasks[qpos]
        rows = self.annotations.iloc[self._index[task]].copy()
        labels: dict = {}
        for a, lab in zip(rows["annotator"].tolist(), rows["label"].tolist()):
            labels.setdefault(a, lab)
        extra = {k: v for k, v in self.queue.iloc[qpos].to_dict().items()
                 if k not in ("task", "reasons", "suggested_label")}
        return ReviewItem(task=task, position=position, rows=rows, labels=labels,
                          consensus=self._consensus.get(task), agreement=float(self._agreement.get(task, np.nan)),
                          suggestion=self._suggest[qpos], reasons=self._reasons[qpos], extra=extra)

    def _count(self) -> None:
        self._in_filter = {self._tasks[i] for i in self._order}
        self._n_done = sum(t in self.decided for t in self._in_filter)

    @property
    def progress(self) -> tuple[int, int]:
        """(decided, total) over the filtered queue."""
        return self._n_done, len(self._order)

    def _show(self) -> None:
        if self.view is not None:
            self.view.show(self.current, self.progress)

    # -- decisions -----------------------------------------------------------------
    def on_decision(self, callback: Callable[[dict], Any]) -> None:
        """Call ``callback(record)`` after every decision is on disk (record: the log fields)."""
        self._callbacks.append(callback)

    def decide(self, decision: str, *, label: Any = None, reason: str | None = None,
               comment: str | None = None) -> dict:
        """Log ``decision`` on the current item, notify callbacks, show the next item."""
        item = self.current
        if item is None:
            raise QAInputError("The review queue is done: there is no current item to decide on.")
        if decision == "reject" and self.require_comment and not (comment and comment.strip()):
            raise QAInputError("Reject needs a comment (require_comment=True). Got an empty comment.")
        if decision == "accept" and label is None:
            label = item.consensus if item.consensus is not None and not pd.isna(item.consensus) else item.suggestion
            if label is None or pd.isna(label):
                raise QAInputError(f"Task {item.task!r} has no consensus label and no suggestion: use Fix & Accept.")
        self.log.append(item.task, decision, reviewer=self.reviewer, label=label, reason=reason,
                        comment=comment, label_before=item.consensus)
        record = {"task": item.task, "decision": decision, "reviewer": self.reviewer,
                  "label_before": item.consensus, "label_after": label if decision in ("accept", "fix") else None,
                  "reason": reason, "comment": comment}
        if decision == "skip":
            self._skipped.add(item.task)
        else:
            self.decided.add(item.task)
            self._n_done += item.task in self._in_filter
        self._history.append(item.task)
        self._advance(self._cursor + 1)
        for cb in self._callbacks:
            cb(record)
        self._show()
        return record

    def undo(self) -> dict | None:
        """Undo this session's latest decision (logged as ``undo``) and show that item again."""
        if not self._history:
            raise QAInputError("Nothing to undo in this review session.")
        task = self._history.pop()
        self.log.append(task, "undo", reviewer=self.reviewer)
        if task in self.decided:
            self.decided.discard(task)
            self._n_done -= task in self._in_filter
        self._skipped.discard(task)
        record = {"task": task, "decision": "undo", "reviewer": self.reviewer, "label_before": None,
                  "label_after": None, "reason": None, "comment": None}
        where = np.flatnonzero(np.asarray(self._tasks, dtype=object)[self._order] == task) if len(self._order) else []
        if len(where):
            self._cursor = int(where[0])
        for cb in self._callbacks:
            cb(record)
        self._show()
        return record
