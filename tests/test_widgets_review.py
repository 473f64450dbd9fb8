"""Headless tests of the review orchestration (fake view), the ReviewPanel, renderers and dashboard."""

from __future__ import annotations

import io
from unittest.mock import MagicMock

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import AnnotationFormatError, QAInputError
from qa_toolkit.review import DecisionLog, review_status

ipywidgets = pytest.importorskip("ipywidgets")

from qa_toolkit.widgets import (  # noqa: E402
    AnnotatorDashboard,
    ReviewPanel,
    annotator_basics,
    annotator_confusion,
)
from qa_toolkit.widgets._queue import ReviewSession  # noqa: E402
from qa_toolkit.widgets.renderers import annotator_colors, boxes_png, spans_html  # noqa: E402


class FakeView:
    def __init__(self):
        self.shown, self.errors = [], []

    def show(self, item, progress):
        self.shown.append((None if item is None else item.task, progress))

    def show_error(self, message):
        self.errors.append(message)


@pytest.fixture
def queue():
    return pd.DataFrame({
        "task": [3, 5, 1, 4],
        "priority": [0.9, 0.8, 0.3, 0.2],
        "reasons": [["low_agreement", "model_disagrees"], ["model_disagrees"], "spot_check", None],
        "suggested_label": ["bird", "cat", "cat", "bird"],
    })


@pytest.fixture
def log(tmp_path, toy_annotations):
    return DecisionLog(tmp_path / "d.jsonl", annotations=toy_annotations)


def test_session_walks_queue_against_fake_view(queue, toy_annotations, log):
    view = FakeView()
    s = ReviewSession(queue, toy_annotations, log, reviewer="rv", view=view)
    assert s.current.task == 3 and s.progress == (0, 4)
    assert s.current.reasons == "low_agreement; model_disagrees" and s.current.suggestion == "bird"
    assert s.current.labels == {"a": "cat", "b": "dog", "c": "bird", "d": "cat"}
    s.decide("fix", label="bird")
    assert view.shown[-1] == (5, (1, 4))
    s.decide("skip")
    assert view.shown[-1] == (1, (1, 4))
    s.decide("reject", reason="ambiguous", comment="?")
    s.decide("accept")
    # only the skipped item is left: offered again
    assert view.shown[-1] == (5, (3, 4))
    s.decide("accept")
    assert view.shown[-1] == (None, (4, 4)) and s.current is None
    with pytest.raises(QAInputError, match="queue is done"):
        s.decide("accept")
    s.undo()
    assert view.shown[-1] == (5, (3, 4))
    final = review_status(toy_annotations, log).set_index("task")
    assert final.loc[3, "label"] == "bird" and final.loc[1, "status"] == "rejected"
    assert final.loc[4, "status"] == "accepted" and final.loc[5, "status"] == "skipped"


def test_session_resumes_from_log(queue, toy_annotations, log, tmp_path):
    s = ReviewSession(queue, toy_annotations, log, reviewer="rv")
    s.decide("accept")
    s.decide("accept")
    log2 = DecisionLog(log.path, annotations=toy_annotations)
    s2 = ReviewSession(queue, toy_annotations, log2, reviewer="rv")
    assert s2.current.task == 1 and s2.progress == (2, 4)


def test_session_filters(queue, toy_annotations, log):
    view = FakeView()
    s = ReviewSession(queue, toy_annotations, log, reviewer="rv", view=view)
    s.set_filter(reason="MODEL")
    assert view.shown[-1] == (3, (0, 2))
    s.decide("accept")
    assert view.shown[-1] == (5, (1, 2))
    s.set_filter(label="bird")  # tasks 3, 4 have a 'bird' label; 4 is suggested bird as well
    assert view.shown[-1] == (4, (1, 2))
    s.set_filter(label=None, reason="")
    assert s.progress == (1, 4)


def test_session_bad_input(queue, toy_annotations, log):
    with pytest.raises(QAInputError, match=r"not in the annotations, e.g. \[42\]"):
        ReviewSession(pd.DataFrame({"task": [1, 42]}), toy_annotations, log, reviewer="rv")
    with pytest.raises(AnnotationFormatError, match="'queue' table of ReviewPanel lacks"):
        ReviewSession(pd.DataFrame({"item": [1]}), toy_annotations, log, reviewer="rv")
    with pytest.raises(QAInputError, match="more than once"):
        ReviewSession(pd.DataFrame({"task": [1, 1]}), toy_annotations, log, reviewer="rv")
    with pytest.raises(QAInputError, match="must be a DecisionLog"):
        ReviewSession(queue, toy_annotations, "log.jsonl", reviewer="rv")
    s = ReviewSession(queue, toy_annotations, log, reviewer="rv", require_comment=True)
    size = log.path.stat().st_size
    with pytest.raises(QAInputError, match="needs a comment"):
        s.decide("reject", reason="ambiguous")
    with pytest.raises(QAInputError, match="'label' parameter .* Got 'zebra'"):
        s.decide("fix", label="zebra")
    assert log.path.stat().st_size == size  # never a half-written log


def _panel(queue, annotations, log, **kw):
    before_q, before_a = queue.copy(), annotations.copy()
    panel = ReviewPanel(queue, annotations, log, reviewer="rv", **kw)
    return panel, before_q, before_a


def test_panel_buttons_log_callbacks_and_next_item(queue, toy_annotations, log):
    panel, bq, ba = _panel(queue, toy_annotations, log)
    cb = MagicMock()
    panel.on_decision(cb)
    assert panel.task == 3 and panel.progress_text == "0/4"
    assert "model suggests" in panel.labels_box.value and "low_agreement" in panel.labels_box.value
    panel.accept_button.click()
    assert panel.task == 5 and panel.progress_text == "1/4"
    cb.assert_called_once()
    assert cb.call_args.args[0]["decision"] == "accept" and cb.call_args.args[0]["label_after"] == "cat"
    panel.fix_label.value = "dog"
    panel.fix_button.click()
    assert panel.task == 1
    panel.reject_reason.value = "bad_item"
    panel.reject_comment.value = "cropped"
    panel.reject_button.click()
    assert panel.task == 4 and panel.reject_comment.value == ""
    panel.skip_button.click()
    panel.undo_button.click()
    assert panel.task == 4
    df = log.read()
    assert df["decision"].tolist() == ["accept", "fix", "reject", "skip", "undo"]
    assert df["label_after"].tolist()[:2] == ["cat", "dog"]
    assert df.loc[2, "reason"] == "bad_item" and df.loc[2, "comment"] == "cropped"
    assert (df["reviewer"] == "rv").all() and cb.call_count == 5
    pd.testing.assert_frame_equal(queue, bq)
    pd.testing.assert_frame_equal(toy_annotations, ba)
    pd.testing.assert_frame_equal(panel.decisions, df)


def test_panel_keyboard_handler(queue, toy_annotations, log):
    panel, *_ = _panel(queue, toy_annotations, log)
    assert panel.handle_key({"key": "2"})  # labels sorted: bird, cat, dog
    assert panel.fix_label.value == "cat"
    assert panel.handle_key("f")
    assert panel.handle_key({"key": "a"})
    assert panel.handle_key("r")  # default reason 'ambiguous'
    assert not panel.handle_key("q")
    panel.shortcuts.value = "u"  # the browser path: typing in the shortcut box
    assert panel.shortcuts.value == ""
    df = log.read()
    assert df["decision"].tolist() == ["fix", "accept", "reject", "undo"]
    assert df.loc[0, "label_after"] == "cat" and panel.task == 1


def test_panel_errors_shown_not_raised_from_buttons(queue, toy_annotations, log):
    panel, *_ = _panel(queue, toy_annotations, log, require_comment=True)
    panel.reject_button.click()
    assert "needs a comment" in panel.error and "qa-error" in panel.error_box.value
    panel.undo_button.click()
    assert "Nothing to undo" in panel.error
    with pytest.raises(QAInputError, match="needs a comment"):
        panel.reject(reason="bad_item")
    panel.accept_button.click()
    assert panel.error == "" and len(log.read()) == 1


def test_panel_filter_widgets(queue, toy_annotations, log):
    panel, *_ = _panel(queue, toy_annotations, log)
    panel.filter_reason.value = "spot"
    assert panel.task == 1 and panel.progress_text == "0/1"
    panel.accept_button.click()
    assert panel.task is None and "Review done" in panel.header.value
    panel.filter_reason.value = ""
    panel.filter_label.value = "bird"
    assert panel.task == 3 and panel.progress_text == "0/2"


def test_panel_renders_boxes_and_text(tmp_path):
    ann = pd.DataFrame({"task": ["img1", "img1", "doc1", "doc1"], "annotator": ["a", "b", "a", "b"],
                        "label": ["car", "car", "PER", "ORG"], "field": ["box", "box", "ner", "ner"],
                        "x_min": [10, 12, np.nan, np.nan], "y_min": [10, 11, np.nan, np.nan],
                        "x_max": [60, 58, np.nan, np.nan], "y_max": [40, 44, np.nan, np.nan],
                        "start": [np.nan, np.nan, 0, 0], "end": [np.nan, np.nan, 3, 8]})
    log = DecisionLog(tmp_path / "d.jsonl", annotations=ann)
    image = np.zeros((80, 100, 3), dtype=np.uint8)
    content = {"img1": image, "doc1": "Ada Corp builds engines"}
    panel = ReviewPanel(pd.DataFrame({"task": ["img1", "doc1"]}), ann, log, reviewer="rv", content=content)
    shown = panel.item_box.children[0]
    assert isinstance(shown, ipywidgets.Image) and shown.value[:4] == b"\x89PNG"
    panel.accept()
    shown = panel.item_box.children[0]
    assert isinstance(shown, ipywidgets.HTML) and "Corp" in shown.value and "title=\"a: PER, b: ORG\"" in shown.value


def test_boxes_png_draws_each_annotator_colour():
    from PIL import Image

    rows = pd.DataFrame({"annotator": ["a", "b"], "label": ["x", "y"], "x_min": [10, 100], "y_min": [10, 100],
                         "x_max": [50, 150], "y_max": [50, 150]})
    colors = annotator_colors(["a", "b"])
    png = boxes_png(np.full((200, 200, 3), 255, dtype=np.uint8), rows, colors=colors)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    def rgb(h):
        return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))
    assert tuple(img[30, 10]) == rgb(colors["a"])  # left edge of a's box
    assert tuple(img[125, 100]) == rgb(colors["b"])  # left edge of b's box
    assert tuple(img[30, 30]) == (255, 255, 255)  # inside: untouched


def test_spans_html_escapes_and_overlaps():
    rows = pd.DataFrame({"annotator": ["a", "b"], "label": ["X", "Y"], "start": [0, 2], "end": [4, 6]})
    out = spans_html("<b>&xyz", rows)
    assert "&lt;b" in out and "&gt;&amp;" in out and "<b>" not in out
    assert 'title="a: X, b: Y"' in out  # the overlap names both annotators


def test_dashboard_selects_annotator(toy_annotations):
    gold = pd.Series({1: "cat", 2: "dog", 3: "cat", 4: "bird", 5: "dog"}, name="gold")
    # annotator e: cat(1) ok, dog(2) ok, cat(4) wrong, dog(5) ok -> 3/4
    assert annotator_basics(toy_annotations, gold=gold).loc["e", "agreement"] == pytest.approx(0.75)
    db = AnnotatorDashboard(toy_annotations, gold=gold)  # the annotator report when installed
    assert sorted(db.table.index) == list("abcde") and "qa-annotators" in db.table_html.value
    db.select.value = "e"
    assert db.annotator == "e" and "annotator e" in db.detail.value and "qa-confusion" in db.detail.value
    conf = annotator_confusion(toy_annotations, "e", gold=gold)
    assert int(conf.loc["bird", "cat"]) == 1 and int(conf.to_numpy().sum()) == 4
    with pytest.raises(QAInputError, match="Got 'zz'"):
        annotator_confusion(toy_annotations, "zz")


def test_annotator_basics_leave_one_out(toy_annotations):
    t = annotator_basics(toy_annotations)
    # annotator d on task 1 says dog; the others (cat x4) -> disagreement. Hand count for d:
    # t1 dog vs cat (x), t2 dog vs dog, t3 cat vs tie(cat,dog,bird)->excluded, t4 bird vs bird, t5 dog vs dog
    assert t.loc["d", "n_compared"] == 4 and t.loc["d", "n_disagreements"] == 1


def test_panel_on_read_only_log_shows_error(queue, toy_annotations, log):
    ro = DecisionLog(log.path, annotations=toy_annotations, read_only=True)
    panel, *_ = _panel(queue, toy_annotations, ro)
    panel.accept_button.click()
    assert "read_only" in panel.error and panel.task == 3 and panel.progress_text == "0/4"
    with pytest.raises(QAInputError, match="read_only"):
        panel.accept()
