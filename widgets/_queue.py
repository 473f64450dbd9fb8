"""Review orchestration without any widget: which unit to show, decisions, undo, filters.

The panel reviews *units* (``docs/DATA_MODEL.md``): a task for categorical and rating
fields, each label of a multi-label task, each matched object of a region field
(:func:`qa_toolkit.review.review_units`). :class:`ReviewSession` talks to a *view*
(anything with ``show(item, progress)`` and ``show_error(message)``), so it is tested
against a fake view; the ipywidgets panel is one such view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns, check_option
from qa_toolkit.review import REJECT_POLICIES, DecisionLog, final_decisions, review_units
from qa_toolkit.units import ABSENT, REGION_KINDS

__all__ = ["ReviewItem", "ReviewSession"]


@dataclass(frozen=True)
class ReviewItem:
    """Everything a view needs to show one review unit."""

    task: Any
    position: int  # position in the (filtered) unit order
    rows: pd.DataFrame  # the task's rows of the unit's field (a copy): the whole image / text
    labels: dict  # annotator -> label of this unit (ABSENT: assigned, drew nothing here)
    consensus: Any
    agreement: float
    suggestion: Any = None
    reasons: str = ""
    extra: dict = _field(default_factory=dict)  # the queue row's other fields
    field: Any = None
    kind: str = "categorical"
    unit: Any = None  # None (task), the label (multi-label) or the object number (regions)
    members: tuple = ()  # positions in ``rows`` of this unit's regions (highlighted)
    annotations: dict = _field(default_factory=dict)  # annotator -> annotation id (or the annotator)

    @property
    def key(self) -> tuple:
        """``(task, field, unit)``."""
        return (self.task, self.field, self.unit)


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


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class ReviewSession:
    """Walks the units of a review queue, writes decisions to a :class:`~qa_toolkit.review.DecisionLog`.

    Parameters
    ----------
    queue : pandas.DataFrame
        Any tidy table with a ``task`` column, in review order (optional ``reasons``,
        ``suggested_label``, ``priority`` ...). With ``field`` and ``object`` (regions) or
        ``label`` (multi-label) columns (``qa_toolkit.triage.unit_review_queue``) each row
        is one unit; otherwise a row stands for every unit of its task. Not modified.
    annotations : pandas.DataFrame
        The canonical long table. Not modified.
    log : DecisionLog
        Where decisions go. Units already decided in it are left out (resume).
    reviewer : str
    labels : list, optional
        Labels allowed for Fix; default the annotations' labels plus the suggestions.
    require_comment : bool, default=False
        Reject needs a comment as well as a reason.
    view : object, optional
        Has ``show(item, progress)`` and ``show_error(message)``.
    field : hashable, optional
        Review only this field.
    reject_policy : {'requeue', 'remove'}, optional
        Written with every reject (see :func:`qa_toolkit.review.requeue_units`).
    """

    def __init__(self, queue: pd.DataFrame, annotations: pd.DataFrame, log: DecisionLog, *, reviewer: str,
                 labels: list | None = None, require_comment: bool = False, view: Any = None,
                 field: Any = None, reject_policy: str | None = None) -> None:
        check_columns(queue, ("task",), name="queue", func="ReviewPanel")
        check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="ReviewPanel")
        if not isinstance(log, DecisionLog):
            raise QAInputError(f"The 'log' parameter of ReviewPanel must be a DecisionLog. Got {type(log).__name__}.")
        if not isinstance(reviewer, str) or not reviewer.strip():
            raise QAInputError(f"The 'reviewer' parameter of ReviewPanel must be a non-empty string. Got {reviewer!r}.")
        if reject_policy is not None:
            check_option("reject_policy", reject_policy, REJECT_POLICIES, func="ReviewPanel")
        data = annotations.reset_index(drop=True)
        self._index = data.groupby("task", sort=False).indices
        missing = [t for t in queue["task"].tolist() if t not in self._index]
        if missing:
            raise QAInputError(
                f"The 'queue' of ReviewPanel has {len(missing)} task(s) that are not in the annotations, "
                f"e.g. {missing[:5]}."
            )
        per_unit = "field" in queue.columns and ("object" in queue.columns or "label" in queue.columns)
        if not per_unit and queue["task"].duplicated().any():
            dup = queue.loc[queue["task"].duplicated(), "task"].head(5).tolist()
            raise QAInputError(f"The 'queue' of ReviewPanel lists tasks more than once, e.g. {dup}.")
        self.queue = queue.reset_index(drop=True)
        self.annotations = data
        self.log, self.reviewer, self.view = log, reviewer, view
        self.require_comment = bool(require_comment)
        self.reject_policy = reject_policy
        units = review_units(data)
        if field is not None:
            if field not in set(units["field"].tolist()):
                raise QAInputError(f"The 'field' parameter of ReviewPanel must be a field of the annotations "
                                   f"{sorted(set(units['field'].tolist()), key=str)}. Got {field!r}.")
            units = units.loc[units["field"] == field]
        self.units = units.reset_index(drop=True)
        self._fields = list(dict.fromkeys(self.units["field"].tolist()))
        self._build_order(per_unit)
        self._suggest = (self.queue["suggested_label"].tolist() if "suggested_label" in self.queue.columns
                         else [None] * len(self.queue))
        self._reasons = ([_reasons_text(r) for r in self.queue["reasons"].tolist()]
                         if "reasons" in self.queue.columns else [""] * len(self.queue))
        if labels is None:
            found = set(data["label"].dropna().tolist()) | {s for s in self._suggest if s is not None and not pd.isna(s)}
            labels = sorted(found, key=str)
        self.labels = list(labels)
        log.labels = [_plain(lab) for lab in self.labels]
        self._callbacks: list[Callable[[dict], Any]] = []
        self.decided: set = set()
        for (task, fld, unit, annotation), (rec, _) in final_decisions(log.records()).items():
            if annotation is None and rec["decision"] != "skip":
                fld = fld if fld is not None or len(self._fields) != 1 else self._fields[0]
                self.decided.add((task, fld, int(unit) if isinstance(unit, str) and unit.isdigit() else unit))
        self._history: list[tuple] = []  # (key, annotation) decided in this session, for undo
        self._skipped: set = set()
        self.filter_label: Any = None
        self.filter_reason: str = ""
        self._order = np.arange(len(self._items))
        self._count()
        self._cursor = 0
        self._advance(0)

    def _build_order(self, per_unit: bool) -> None:
        """``self._items``: (unit row, queue row) in review order."""
        u = self.units
        by_task: dict = {}
        for i, t in enumerate(u["task"].tolist()):
            by_task.setdefault(t, []).append(i)
        keys = {k: i for i, k in enumerate(zip(u["task"], u["field"], u["unit"]))}
        items = []
        for q, rec in enumerate(self.queue.to_dict("records")):
            task = _plain(rec["task"])
            if per_unit:
                unit = rec.get("object") if u["kind"].isin(REGION_KINDS).any() and not pd.isna(
                    rec.get("object", np.nan)) else rec.get("label")
                unit = None if unit is None or (isinstance(unit, float) and np.isnan(unit)) else _plain(unit)
                unit = int(unit) if isinstance(unit, float) else unit
                i = keys.get((task, rec["field"], unit), keys.get((task, rec["field"], None)))
                if i is not None:
                    items.append((i, q))
            else:
                items.extend((i, q) for i in by_task.get(task, []))
        self._items = items
        tk, fl, un = (u[c].to_numpy(dtype=object) for c in ("task", "field", "unit"))
        self._keys = [(_plain(tk[i]), fl[i], _plain(un[i])) for i, _ in items]

    # -- queue walking -------------------------------------------------------------
    def set_filter(self, *, label: Any = None, reason: str = "") -> None:
        """Show only units of tasks where an annotator or the suggestion gave ``label`` and whose
        reasons contain ``reason`` (case-insensitive); ``None`` / ``''`` switch a filter off."""
        keep = np.ones(len(self._items), dtype=bool)
        if label is not None and label != "":
            tasks = set(self.annotations.loc[self.annotations["label"] == label, "task"].tolist())
            keep &= np.array([k[0] in tasks or self._suggest[q] == label
                              for k, (_, q) in zip(self._keys, self._items)], dtype=bool)
        if reason:
            keep &= np.array([reason.lower() in self._reasons[q].lower() for _, q in self._items], dtype=bool)
        self.filter_label, self.filter_reason = label, reason
        self._order = np.flatnonzero(keep)
        self._count()
        self._cursor = 0
        self._advance(0)
        self._show()

    def _pending(self, pos: int) -> bool:
        k = self._keys[self._order[pos]]
        return k not in self.decided and k not in self._skipped

    def _advance(self, start: int) -> None:
        """Move the cursor to the first pending unit at or after ``start``, wrapping to skipped ones."""
        n = len(self._order)
        for pos in range(start, n):
            if self._pending(pos):
                self._cursor = pos
                return
        if self._skipped:  # everything else is done: offer the skipped units again
            self._skipped.clear()
            for pos in range(n):
                if self._pending(pos):
                    self._cursor = pos
                    return
        self._cursor = n

    @property
    def current(self) -> ReviewItem | None:
        """The unit on show, or None when the (filtered) queue is done."""
        if self._cursor >= len(self._order):
            return None
        return self.item(int(self._order[self._cursor]), self._cursor)

    def item(self, pos: int, position: int = -1) -> ReviewItem:
        """The :class:`ReviewItem` of unit number ``pos`` of the review order."""
        i, q = self._items[pos]
        u = self.units.iloc[i]
        task, fld, kind, unit = _plain(u["task"]), u["field"], u["kind"], _plain(u["unit"])
        idx = self._index[task]
        rows_all = self.annotations.iloc[idx]
        in_field = (rows_all["field"] == fld).to_numpy() if "field" in rows_all.columns else np.ones(len(idx), bool)
        rows = rows_all.loc[in_field].copy()
        pos_in_rows = {p: j for j, p in enumerate(idx[in_field])}
        members: tuple = ()
        who = rows["annotator"].tolist()
        ids = rows["annotation_id"].tolist() if "annotation_id" in rows.columns else who
        annotations = {a: (b if b is not None and not (isinstance(b, float) and np.isnan(b)) else a)
                       for a, b in zip(who, ids)}
        labels: dict = {a: ABSENT for a in dict.fromkeys(rows_all["annotator"].tolist())}
        if kind in REGION_KINDS:
            rpos = sorted({p for k, p in u["members"].items() if isinstance(k, tuple)})
            members = tuple(pos_in_rows[p] for p in rpos if p in pos_in_rows)
            for j in members:
                labels[who[j]] = rows["label"].iat[j]
        elif kind == "multilabel":
            present = set(rows.loc[rows["label"] == unit, "annotator"].tolist())
            labels = {a: ("present" if a in present else "absent") for a in labels}
            members = tuple(j for j, lab in enumerate(rows["label"].tolist()) if lab == unit)
        else:
            labels = {}
            vals = rows["value"].tolist() if kind in ("ordinal", "interval") and "value" in rows.columns \
                else rows["label"].tolist()
            for a, v in zip(who, vals):
                labels.setdefault(a, v)
        extra = {k: v for k, v in self.queue.iloc[q].to_dict().items()
                 if k not in ("task", "reasons", "suggested_label")}
        return ReviewItem(task=task, position=position, rows=rows, labels=labels, consensus=u["consensus_label"],
                          agreement=float(u["agreement"]), suggestion=self._suggest[q], reasons=self._reasons[q],
                          extra=extra, field=fld, kind=kind, unit=unit, members=members, annotations=annotations)

    def _count(self) -> None:
        self._in_filter = {self._keys[i] for i in self._order}
        self._n_done = sum(k in self.decided for k in self._in_filter)

    @property
    def progress(self) -> tuple[int, int]:
        """(decided, total) units over the filtered queue."""
        return self._n_done, len(self._order)

    def _show(self) -> None:
        if self.view is not None:
            self.view.show(self.current, self.progress)

    # -- decisions -----------------------------------------------------------------
    def on_decision(self, callback: Callable[[dict], Any]) -> None:
        """Call ``callback(record)`` after every decision is on disk (record: the log fields)."""
        self._callbacks.append(callback)

    def _notify(self, record: dict) -> None:
        for cb in self._callbacks:
            cb(record)

    def decide(self, decision: str, *, label: Any = None, reason: str | None = None, comment: str | None = None,
               annotation_id: Any = None, geometry: dict | None = None) -> dict:
        """Log ``decision`` on the current unit, notify callbacks, show the next unit.

        ``annotation_id`` with ``accept`` takes that annotator's version of a region;
        ``geometry`` with ``fix`` corrects a region's geometry.
        """
        item = self.current
        if item is None:
            raise QAInputError("The review queue is done: there is no current unit to decide on.")
        if decision == "reject" and self.require_comment and not (comment and comment.strip()):
            raise QAInputError("Reject needs a comment (require_comment=True). Got an empty comment.")
        if decision == "accept" and label is None and annotation_id is None:
            label = item.consensus if item.consensus is not None and not pd.isna(item.consensus) else item.suggestion
            if item.kind == "multilabel":
                label = item.unit
            if label is None or pd.isna(label):
                raise QAInputError(f"Task {item.task!r} has no consensus label and no suggestion: use Fix & Accept.")
        if decision == "accept" and annotation_id is not None and label is None:
            who = {v: k for k, v in item.annotations.items()}.get(annotation_id, annotation_id)
            label = item.labels.get(who)
        self.log.append(item.task, decision, reviewer=self.reviewer, label=label, reason=reason, comment=comment,
                        label_before=item.consensus, field=item.field, unit=item.unit, geometry=geometry,
                        annotation_id=annotation_id,
                        scope="unit", policy=self.reject_policy if decision == "reject" else None)
        record = {"task": item.task, "field": item.field, "unit": item.unit, "decision": decision,
                  "reviewer": self.reviewer, "label_before": item.consensus,
                  "label_after": label if decision in ("accept", "fix") else None, "reason": reason,
                  "comment": comment, "annotation_id": annotation_id, "geometry": geometry}
        if decision == "skip":
            self._skipped.add(item.key)
        else:
            self.decided.add(item.key)
            self._n_done += item.key in self._in_filter
        self._history.append((item.key, None))
        self._advance(self._cursor + 1)
        self._notify(record)
        self._show()
        return record

    def decide_annotation(self, annotator: Any, decision: str, *, reason: str | None = None,
                          comment: str | None = None) -> dict:
        """Accept or reject ``annotator``'s whole annotation of the current task (stays on the unit)."""
        item = self.current
        if item is None:
            raise QAInputError("The review queue is done: there is no current task to review annotations of.")
        check_option("decision", decision, ("accept", "reject"), func="ReviewPanel.decide_annotation")
        if annotator not in item.annotations:
            raise QAInputError(f"The 'annotator' parameter of ReviewPanel.decide_annotation must be an annotator "
                               f"of task {item.task!r} {sorted(item.annotations, key=str)}. Got {annotator!r}.")
        if decision == "reject" and self.require_comment and not (comment and comment.strip()):
            raise QAInputError("Reject needs a comment (require_comment=True). Got an empty comment.")
        aid = item.annotations[annotator]
        has_ids = "annotation_id" in self.annotations.columns
        self.log.append(item.task, decision, reviewer=self.reviewer, reason=reason, comment=comment,
                        field=item.field, annotation_id=aid if has_ids else None, annotator=annotator,
                        scope="annotation", policy=self.reject_policy if decision == "reject" else None)
        record = {"task": item.task, "field": item.field, "scope": "annotation", "annotator": annotator,
                  "annotation_id": aid if has_ids else None, "decision": decision, "reviewer": self.reviewer,
                  "reason": reason, "comment": comment}
        self._history.append((item.key, (annotator, aid if has_ids else None)))
        self._notify(record)
        self._show()
        return record

    def undo(self) -> dict | None:
        """Undo this session's latest decision (logged as ``undo``) and show that unit again."""
        if not self._history:
            raise QAInputError("Nothing to undo in this review session.")
        key, annotation = self._history.pop()
        task, fld, unit = key
        if annotation is None:
            self.log.append(task, "undo", reviewer=self.reviewer, field=fld, unit=unit, scope="unit")
            if key in self.decided:
                self.decided.discard(key)
                self._n_done -= key in self._in_filter
            self._skipped.discard(key)
        else:
            self.log.append(task, "undo", reviewer=self.reviewer, field=fld, annotator=annotation[0],
                            annotation_id=annotation[1], scope="annotation")
        record = {"task": task, "field": fld, "unit": unit, "decision": "undo", "reviewer": self.reviewer,
                  "label_before": None, "label_after": None, "reason": None, "comment": None}
        keys = [self._keys[i] for i in self._order]
        if key in keys:
            self._cursor = keys.index(key)
        self._notify(record)
        self._show()
        return record
