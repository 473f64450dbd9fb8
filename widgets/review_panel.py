"""``ReviewPanel``: review units (tasks, labels, objects) and annotations in the notebook.

Stock ipywidgets only. Per unit: accept the consensus, take one annotator's version (regions),
fix the label, reject (delete) it, skip, undo. Per annotation: accept or reject one
annotator's whole annotation of the task with a reason.

Keyboard: ``a`` accept, ``f`` fix, ``r`` reject, ``s`` skip, ``u``/``z`` undo, ``t`` take the
version picked, ``1``-``9`` pick the n-th label. They work as soon as the panel has focus:
the panel is a focusable element (``tabindex=0``, focused when shown and on any click that
is not in a text box) with a ``keydown`` listener that clicks the matching button, so the
decision travels through the button's own comm message. The listener is installed by a
stock ``ipywidgets.HTML`` (an ``<img onerror>`` handler: ipywidgets renders HTML without
running ``<script>``), carries ``data-lm-suppress-shortcuts`` so JupyterLab's command-mode
keys (``a`` inserts a cell...) stay out, and ignores keys typed in inputs. No ipyevents.
:meth:`ReviewPanel.handle_key` is the same map for Python (tests, other front ends).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W
import pandas as pd
import traitlets

from qa_toolkit.review import DecisionLog

from ._queue import ReviewItem, ReviewSession
from .renderers import annotator_colors, labels_html, render_item

__all__ = ["DEFAULT_REASONS", "KEYS", "ReviewPanel"]

#: Reject reason codes offered by default.
DEFAULT_REASONS = ("ambiguous", "bad_item", "needs_relabel", "out_of_scope", "other")
KEYS = {"a": "accept", "f": "fix", "r": "reject", "s": "skip", "u": "undo", "z": "undo", "t": "take"}

_KEY_JS = (
    "(function(img){var root=img.closest('.qa-review-panel');if(!root)return;"
    "if(root.dataset.qaKeys){return;}root.dataset.qaKeys='1';root.tabIndex=0;"
    "root.setAttribute('data-lm-suppress-shortcuts','true');root.setAttribute('data-p-suppress-shortcuts','true');"
    "function typing(t){return t&&(t.tagName==='INPUT'||t.tagName==='TEXTAREA'||t.tagName==='SELECT'"
    "||t.isContentEditable);}"
    "root.addEventListener('keydown',function(e){if(typing(e.target)||e.ctrlKey||e.metaKey||e.altKey)return;"
    "var k=(e.key||'').toLowerCase();var b=root.querySelector('.qa-key-'+k);"
    "if(b&&!b.disabled){e.preventDefault();e.stopPropagation();b.click();root.dataset.qaLastKey=k;return;}"
    "if(/^[1-9]$/.test(k)){var s=root.querySelector('.qa-fix-label select');"
    "if(s&&s.options.length>=+k){s.selectedIndex=+k-1;s.dispatchEvent(new Event('change',{bubbles:true}));"
    "e.preventDefault();e.stopPropagation();root.dataset.qaLastKey=k;}}});"
    "root.addEventListener('mouseup',function(e){if(!typing(e.target)&&!typing(document.activeElement))"
    "root.focus({preventScroll:true});});"
    "root.focus({preventScroll:true});})(this)"
)


def _key_html() -> str:
    return (f'<img src="data:," alt="" style="display:none" onerror="{html.escape(_KEY_JS, quote=True)}">'
            '<span class="qa-keys-help" style="color:#666;font-size:90%">keys (panel focused): a accept · '
            't take version · f fix · r reject · s skip · u undo · 1-9 pick label</span>')


class ReviewPanel(W.VBox):
    """Review a queue one unit at a time; decisions go to the log and to callbacks.

    Parameters
    ----------
    queue : pandas.DataFrame
        Tidy table with ``task`` (e.g. ``qa_toolkit.triage.review_queue``, or a unit queue
        with ``field`` and ``object`` / ``label``): optional ``reasons`` and
        ``suggested_label`` are shown. Not modified.
    data : pandas.DataFrame
        Canonical long table, any kinds. Not modified.
    log : DecisionLog
        Decisions are appended (fsync'd) here; reopening it resumes the review.
    field : hashable, optional
        Review only this field.
    data_root : path, optional
        Folder the export's image paths resolve under (real pixels); a placeholder is
        drawn for images that do not resolve.
    reviewer : str, default='reviewer'
    labels : list, optional
        Labels offered for Fix.
    reasons : sequence of str, optional
        Reject reason codes; default :data:`DEFAULT_REASONS`.
    require_comment : bool, default=False
        Reject needs a comment.
    reject_policy : {'requeue', 'remove'}, optional
        Written with each reject (:func:`qa_toolkit.review.requeue_units`).
    content : mapping or callable, optional
        task -> image (path/array) or text; default the task data of the export.
    renderer : {'auto', 'image', 'text', 'fields'}, default='auto'
    max_side : int, default=512
        Longest side of the drawn image, pixels.

    Examples
    --------
    >>> import tempfile, os
    >>> ann = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"],
    ...                     "label": ["cat", "cat", "cat", "dog"]})
    >>> log = DecisionLog(os.path.join(tempfile.mkdtemp(), "d.jsonl"), annotations=ann)
    >>> panel = ReviewPanel(pd.DataFrame({"task": [2, 1]}), ann, log, reviewer="me")
    >>> panel.task, panel.progress_text
    (2, '0/2')
    >>> panel.fix_label.value = "dog"; panel.fix_button.click()
    >>> panel.task, panel.progress_text
    (1, '1/2')
    """

    position = traitlets.Int(0, help="position of the shown unit in the filtered queue")
    task = traitlets.Any(None, allow_none=True, help="the task on show (None when done)")
    unit = traitlets.Any(None, allow_none=True, help="the unit on show: None (task), label or object number")
    n_done = traitlets.Int(0)
    n_total = traitlets.Int(0)
    error = traitlets.Unicode("", help="the last error shown in the panel")

    def __init__(self, queue: pd.DataFrame, data: pd.DataFrame, log: DecisionLog, *, field: Any = None,
                 data_root: Any = None, reviewer: str = "reviewer", labels: list | None = None, reasons=None,
                 require_comment: bool = False, reject_policy: str | None = None,
                 content: Mapping | Callable | None = None, renderer: str = "auto", max_side: int = 512) -> None:
        super().__init__()
        self._content, self._renderer, self._max_side = content, renderer, int(max_side)
        self.data_root = data_root
        self._task_data = data.attrs.get("task_data")
        self.session = ReviewSession(queue, data, log, reviewer=reviewer, labels=labels,
                                     require_comment=require_comment, field=field, reject_policy=reject_policy)
        self.colors = annotator_colors(data["annotator"].unique().tolist())
        self.reasons = list(reasons or DEFAULT_REASONS)
        lay = W.Layout(width="auto")
        self.accept_button = W.Button(description="Accept", button_style="success", tooltip="a", layout=lay)
        self.take_button = W.Button(description="Take version", tooltip="t", layout=lay)
        self.fix_button = W.Button(description="Fix & Accept", button_style="info", tooltip="f", layout=lay)
        self.reject_button = W.Button(description="Reject", button_style="danger", tooltip="r", layout=lay)
        self.skip_button = W.Button(description="Skip", tooltip="s", layout=lay)
        self.undo_button = W.Button(description="Undo", button_style="warning", tooltip="u", layout=lay)
        opts = [(str(lab), lab) for lab in self.session.labels]
        self.fix_label = W.Dropdown(options=opts, description="label", layout=W.Layout(width="220px"))
        self.take_from = W.Dropdown(options=[], description="of", layout=W.Layout(width="180px"))
        self.reject_reason = W.Dropdown(options=self.reasons, description="reason", layout=W.Layout(width="220px"))
        self.reject_comment = W.Text(placeholder="comment" + (" (required)" if require_comment else ""),
                                     layout=W.Layout(width="260px"))
        self.filter_label = W.Dropdown(options=[("any label", None)] + opts, description="filter",
                                       layout=W.Layout(width="200px"))
        self.filter_reason = W.Text(placeholder="reason contains…", layout=W.Layout(width="180px"))
        self.shortcuts = W.Text(placeholder="or type keys here", description="keys", layout=W.Layout(width="200px"))
        self.keys_html = W.HTML(_key_html())
        self.progress_label = W.HTML()
        self.header = W.HTML()
        self.labels_box = W.HTML()
        self.item_box = W.Box()
        self.annotations_box = W.VBox()
        self.error_box = W.HTML()
        for b, act, key in [(self.accept_button, self.accept, "a"), (self.take_button, self.take, "t"),
                            (self.fix_button, self.fix, "f"), (self.reject_button, self.reject, "r"),
                            (self.skip_button, self.skip, "s"), (self.undo_button, self.undo, "u")]:
            b.on_click(lambda _, act=act: self._safe(act))
            b.add_class(f"qa-key-{key}")
            b.add_class(f"qa-{act.__name__}-button")
        self.undo_button.add_class("qa-key-z")
        self.filter_label.observe(self._on_filter, names="value")
        self.filter_reason.observe(self._on_filter, names="value")
        self.shortcuts.observe(self._on_shortcut_text, names="value")
        self.children = [
            W.HBox([self.header, self.progress_label]),
            W.HBox([self.filter_label, self.filter_reason, self.shortcuts]),
            self.item_box, self.labels_box,
            W.HBox([self.accept_button, self.take_from, self.take_button, self.fix_label, self.fix_button]),
            W.HBox([self.reject_reason, self.reject_comment, self.reject_button]),
            W.HBox([self.skip_button, self.undo_button, self.keys_html]),
            self.annotations_box,
            self.error_box,
        ]
        self.add_class("qa-review-panel")
        for w, cls in [(self.fix_label, "qa-fix-label"), (self.reject_reason, "qa-reject-reason"),
                       (self.reject_comment, "qa-reject-comment"), (self.filter_label, "qa-filter-label"),
                       (self.filter_reason, "qa-filter-reason"), (self.shortcuts, "qa-shortcuts"),
                       (self.take_from, "qa-take-from")]:
            w.add_class(cls)
        self._annotation_rows: dict = {}
        self._annotations_task: tuple | None = None
        self.session.view = self
        self.show(self.session.current, self.session.progress)

    # -- view protocol -------------------------------------------------------------
    def show(self, item: ReviewItem | None, progress: tuple[int, int]) -> None:
        """Show ``item`` (None: the queue is done) and the progress n/N."""
        self.n_done, self.n_total = progress
        self.progress_label.value = f'<span class="qa-progress">{self.progress_text}</span>'
        if item is None:
            self.task, self.unit, self.position = None, None, len(self.session._order)
            self.header.value = "<b>Review done</b> — no pending unit in this queue/filter."
            self.item_box.children, self.labels_box.value = [], ""
            self.annotations_box.children, self._annotations_task = [], None
            return
        self.task, self.unit, self.position = item.task, item.unit, item.position
        where = "" if item.field is None else f" · {html.escape(str(item.field))} ({item.kind})"
        noun = "label" if item.kind == "multilabel" else {"span": "span", "keypoints": "keypoint set"}.get(
            item.kind, "object")
        what = "" if item.unit is None else f" · {noun} {html.escape(str(item.unit))}"
        self.header.value = (f'<b>task <span class="qa-task">{html.escape(str(item.task))}</span></b>'
                             f'<span class="qa-unit">{where}{what}</span> &nbsp;')
        self.item_box.children = [render_item(item, content=self._content, renderer=self._renderer,
                                              colors=self.colors, data_root=self.data_root,
                                              task_data=self._task_data, max_side=self._max_side)]
        self.labels_box.value = labels_html(item.labels, consensus=item.consensus, agreement=item.agreement,
                                            suggestion=item.suggestion, reasons=item.reasons, colors=self.colors)
        drew = [a for a, v in item.labels.items() if v not in ("<absent>", "absent")]
        self.take_from.options = drew
        self.take_from.value = drew[0] if drew else None
        self.take_button.disabled = not drew or item.kind in ("categorical", "multilabel", "ordinal", "interval")
        default = item.suggestion if item.suggestion in self.session.labels else item.consensus
        if default in self.session.labels:
            self.fix_label.value = default
        self._show_annotations(item)

    def _show_annotations(self, item: ReviewItem) -> None:
        if self._annotations_task == tuple(item.annotations):
            return  # same annotators (the next unit, or a task with the same team): the rows stay
        self._annotations_task = tuple(item.annotations)
        rows = []
        self._annotation_rows = {}
        for a in item.annotations:
            acc = W.Button(description="accept annotation", icon="check", layout=W.Layout(width="auto"))
            rej = W.Button(description="reject annotation", icon="times", layout=W.Layout(width="auto"))
            acc.add_class("qa-annotation-accept")
            rej.add_class("qa-annotation-reject")
            acc.on_click(lambda _, a=a: self._safe(lambda: self.accept_annotation(a)))
            rej.on_click(lambda _, a=a: self._safe(lambda: self.reject_annotation(a)))
            name = W.HTML(f'<span style="border-left:6px solid {self.colors.get(a, "#000")};padding-left:4px">'
                          f"{html.escape(str(a))}</span>", layout=W.Layout(width="140px"))
            row = W.HBox([name, acc, rej])
            row.add_class("qa-annotation-row")
            self._annotation_rows[a] = row
            rows.append(row)
        title = W.HTML("<small>whole annotation of this task, per annotator (reason and comment from the "
                       "reject row):</small>")
        self.annotations_box.children = [title, *rows] if rows else []

    def show_error(self, message: str) -> None:
        """Show ``message`` in the panel (red)."""
        self.error = message
        self.error_box.value = (f'<div class="qa-error" style="color:#b00020">{html.escape(message)}</div>'
                                if message else "")

    @property
    def progress_text(self) -> str:
        """'n/N': decided units over the filtered queue."""
        return f"{self.n_done}/{self.n_total}"

    def _safe(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as err:  # shown in the panel; the Python API raises
            self.show_error(f"{type(err).__name__}: {err}")

    # -- actions (raise on bad input; buttons show the error instead) --------------
    def _decide(self, decision: str, **kw) -> dict:
        rec = self.session.decide(decision, **kw)
        self.show_error("")
        return rec

    def accept(self) -> dict:
        """Accept the consensus (or the suggestion when there is no consensus)."""
        return self._decide("accept")

    def take(self, annotator: Any = None) -> dict:
        """Keep ``annotator``'s version of the region on review (default: the 'of' dropdown)."""
        item = self.session.current
        who = self.take_from.value if annotator is None else annotator
        if item is None or who is None:
            raise ValueError("Take version: pick the annotator whose version to keep.")
        return self._decide("accept", annotation_id=item.annotations.get(who, who))

    def fix(self, label: Any = None, geometry: dict | None = None) -> dict:
        """Fix & accept with ``label`` (default: the dropdown) and/or a corrected ``geometry``."""
        return self._decide("fix", label=self.fix_label.value if label is None else label, geometry=geometry)

    def reject(self, reason: str | None = None, comment: str | None = None) -> dict:
        """Reject (delete) the unit with a reason code (default: the dropdown) and a comment."""
        rec = self._decide("reject", reason=reason or self.reject_reason.value,
                           comment=(self.reject_comment.value or None) if comment is None else comment)
        self.reject_comment.value = ""
        return rec

    def skip(self) -> dict:
        """Leave the unit for later."""
        return self._decide("skip")

    def undo(self) -> dict | None:
        """Undo the latest decision of this panel and show that unit again."""
        rec = self.session.undo()
        self.show_error("")
        return rec

    def accept_annotation(self, annotator: Any) -> dict:
        """Accept ``annotator``'s whole annotation of the task on show."""
        rec = self.session.decide_annotation(annotator, "accept")
        self.show_error("")
        return rec

    def reject_annotation(self, annotator: Any, reason: str | None = None, comment: str | None = None) -> dict:
        """Reject ``annotator``'s whole annotation of the task on show, with a reason (and comment)."""
        rec = self.session.decide_annotation(
            annotator, "reject", reason=reason or self.reject_reason.value,
            comment=(self.reject_comment.value or None) if comment is None else comment)
        self.reject_comment.value = ""
        self.show_error("")
        return rec

    def on_decision(self, callback: Callable[[dict], Any]) -> None:
        """Call ``callback(record)`` after each decision (and undo) is on disk."""
        self.session.on_decision(callback)

    @property
    def decisions(self) -> pd.DataFrame:
        """The decision log as a table (:meth:`DecisionLog.read`)."""
        return self.session.log.read()

    # -- filter and keyboard ---------------------------------------------------------
    def _on_filter(self, _change=None) -> None:
        self.session.set_filter(label=self.filter_label.value, reason=self.filter_reason.value)

    def handle_key(self, key: str | dict) -> bool:
        """Run the shortcut for ``key`` (str, or dict with 'key'); return whether it was handled.

        Errors are shown in the panel, as for the buttons.
        """
        k = key.get("key", "") if isinstance(key, Mapping) else str(key)
        k = k.lower()
        if k.isdigit() and k != "0":
            i = int(k) - 1
            if i < len(self.session.labels):
                self.fix_label.value = self.session.labels[i]
                return True
            return False
        action = KEYS.get(k)
        if action is None:
            return False
        self._safe(getattr(self, action))
        return True

    def _on_shortcut_text(self, change) -> None:
        new = change["new"]
        if new:
            self.handle_key(new[-1])
            self.shortcuts.value = ""
