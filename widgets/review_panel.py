"""``ReviewPanel``: accept / fix & accept / reject / skip / undo in the notebook, stock ipywidgets.

Keyboard shortcuts: :meth:`ReviewPanel.handle_key` takes a key string or a dict
``{"key": "a"}`` (as ipyevents would send), so it is testable without a browser. In the
browser the shortcuts are wired with a stock ``ipywidgets.Text`` ("shortcut box"): click
in it and type ``a`` accept, ``f`` fix & accept, ``r`` reject, ``s`` skip, ``u`` undo,
``1``-``9`` pick the n-th label. No ipyevents dependency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W
import pandas as pd
import traitlets

from qa_toolkit.review import DecisionLog

from ._queue import ReviewItem, ReviewSession
from .renderers import annotator_colors, labels_html, render_item

__all__ = ["ReviewPanel", "DEFAULT_REASONS"]

#: Reject reason codes offered by default.
DEFAULT_REASONS = ("ambiguous", "bad_item", "needs_relabel", "out_of_scope", "other")
KEYS = {"a": "accept", "f": "fix", "r": "reject", "s": "skip", "u": "undo", "z": "undo"}


class ReviewPanel(W.VBox):
    """Review a queue one item at a time; decisions go to the log and to callbacks.

    Parameters
    ----------
    queue : pandas.DataFrame
        Tidy table with ``task`` (e.g. ``qa_toolkit.triage.review_queue``): optional
        ``reasons`` and ``suggested_label`` are shown. Not modified.
    annotations : pandas.DataFrame
        Canonical long table. Not modified.
    log : DecisionLog
        Decisions are appended (fsync'd) here; reopening it resumes the review.
    reviewer : str, default='reviewer'
    labels : list, optional
        Labels offered for Fix & Accept.
    reasons : sequence of str, optional
        Reject reason codes; default :data:`DEFAULT_REASONS`.
    require_comment : bool, default=False
        Reject needs a comment.
    content : mapping or callable, optional
        task -> image (path/array) or text, for the renderer.
    renderer : {'auto', 'image', 'text', 'fields'}, default='auto'

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

    position = traitlets.Int(0, help="position of the shown item in the filtered queue")
    task = traitlets.Any(None, allow_none=True, help="the task on show (None when done)")
    n_done = traitlets.Int(0)
    n_total = traitlets.Int(0)
    error = traitlets.Unicode("", help="the last error shown in the panel")

    def __init__(self, queue: pd.DataFrame, annotations: pd.DataFrame, log: DecisionLog, *,
                 reviewer: str = "reviewer", labels: list | None = None, reasons=None,
                 require_comment: bool = False, content: Mapping | Callable | None = None,
                 renderer: str = "auto") -> None:
        super().__init__()
        self._content, self._renderer = content, renderer
        self.session = ReviewSession(queue, annotations, log, reviewer=reviewer, labels=labels,
                                     require_comment=require_comment)
        self.colors = annotator_colors(annotations["annotator"].unique().tolist())
        self.reasons = list(reasons or DEFAULT_REASONS)
        lay = W.Layout(width="auto")
        self.accept_button = W.Button(description="Accept", button_style="success", tooltip="a", layout=lay)
        self.fix_button = W.Button(description="Fix & Accept", button_style="info", tooltip="f", layout=lay)
        self.reject_button = W.Button(description="Reject", button_style="danger", tooltip="r", layout=lay)
        self.skip_button = W.Button(description="Skip", tooltip="s", layout=lay)
        self.undo_button = W.Button(description="Undo", button_style="warning", tooltip="u", layout=lay)
        opts = [(str(lab), lab) for lab in self.session.labels]
        self.fix_label = W.Dropdown(options=opts, description="label", layout=W.Layout(width="220px"))
        self.reject_reason = W.Dropdown(options=self.reasons, description="reason", layout=W.Layout(width="220px"))
        self.reject_comment = W.Text(placeholder="comment" + (" (required)" if require_comment else ""),
                                     layout=W.Layout(width="260px"))
        self.filter_label = W.Dropdown(options=[("any label", None)] + opts, description="filter",
                                       layout=W.Layout(width="200px"))
        self.filter_reason = W.Text(placeholder="reason contains…", layout=W.Layout(width="180px"))
        self.shortcuts = W.Text(placeholder="type a f r s u 1-9", description="keys",
                                layout=W.Layout(width="200px"))
        self.progress_label = W.HTML()
        self.header = W.HTML()
        self.labels_box = W.HTML()
        self.item_box = W.Box()
        self.error_box = W.HTML()
        self.accept_button.on_click(lambda _: self._safe(self.accept))
        self.fix_button.on_click(lambda _: self._safe(self.fix))
        self.reject_button.on_click(lambda _: self._safe(self.reject))
        self.skip_button.on_click(lambda _: self._safe(self.skip))
        self.undo_button.on_click(lambda _: self._safe(self.undo))
        self.filter_label.observe(self._on_filter, names="value")
        self.filter_reason.observe(self._on_filter, names="value")
        self.shortcuts.observe(self._on_shortcut_text, names="value")
        self.children = [
            W.HBox([self.header, self.progress_label]),
            W.HBox([self.filter_label, self.filter_reason, self.shortcuts]),
            self.item_box, self.labels_box,
            W.HBox([self.accept_button, self.fix_label, self.fix_button]),
            W.HBox([self.reject_reason, self.reject_comment, self.reject_button]),
            W.HBox([self.skip_button, self.undo_button]),
            self.error_box,
        ]
        self.add_class("qa-review-panel")
        for w, cls in [(self.fix_label, "qa-fix-label"), (self.reject_reason, "qa-reject-reason"),
                       (self.reject_comment, "qa-reject-comment"), (self.filter_label, "qa-filter-label"),
                       (self.filter_reason, "qa-filter-reason"), (self.shortcuts, "qa-shortcuts")]:
            w.add_class(cls)
        self.session.view = self
        self.show(self.session.current, self.session.progress)

    # -- view protocol -------------------------------------------------------------
    def show(self, item: ReviewItem | None, progress: tuple[int, int]) -> None:
        """Show ``item`` (None: the queue is done) and the progress n/N."""
        self.n_done, self.n_total = progress
        self.progress_label.value = f'<span class="qa-progress">{self.progress_text}</span>'
        if item is None:
            self.task, self.position = None, len(self.session._order)
            self.header.value = "<b>Review done</b> — no pending item in this queue/filter."
            self.item_box.children, self.labels_box.value = [], ""
            return
        self.task, self.position = item.task, item.position
        self.header.value = f'<b>task <span class="qa-task">{item.task}</span></b> &nbsp;'
        self.item_box.children = [render_item(item, content=self._content, renderer=self._renderer,
                                              colors=self.colors)]
        self.labels_box.value = labels_html(item.labels, consensus=item.consensus, agreement=item.agreement,
                                            suggestion=item.suggestion, reasons=item.reasons, colors=self.colors)
        default = item.suggestion if item.suggestion in self.session.labels else item.consensus
        if default in self.session.labels:
            self.fix_label.value = default

    def show_error(self, message: str) -> None:
        """Show ``message`` in the panel (red)."""
        import html

        self.error = message
        self.error_box.value = f'<div class="qa-error" style="color:#b00020">{html.escape(message)}</div>' if message else ""

    @property
    def progress_text(self) -> str:
        """'n/N': decided items over the filtered queue."""
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

    def fix(self, label: Any = None) -> dict:
        """Fix & accept with ``label`` (default: the label picked in the dropdown)."""
        return self._decide("fix", label=self.fix_label.value if label is None else label)

    def reject(self, reason: str | None = None, comment: str | None = None) -> dict:
        """Reject with a reason code (default: the dropdown) and a comment (default: the text box)."""
        rec = self._decide("reject", reason=reason or self.reject_reason.value,
                           comment=(self.reject_comment.value or None) if comment is None else comment)
        self.reject_comment.value = ""
        return rec

    def skip(self) -> dict:
        """Leave the item for later."""
        return self._decide("skip")

    def undo(self) -> dict | None:
        """Undo the latest decision of this panel and show that item again."""
        rec = self.session.undo()
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
