"""Adjudicated labels out through the qa_toolkit.io writers, and the triage queue as panel input."""

from __future__ import annotations

import pytest

from qa_toolkit.review import DecisionLog, apply_decisions

io = pytest.importorskip("qa_toolkit.io.writers", reason="qa_toolkit.io writers not available")


@pytest.fixture
def final(tmp_path, toy_annotations):
    log = DecisionLog(tmp_path / "d.jsonl", annotations=toy_annotations)
    log.append(3, "fix", reviewer="r", label="bird")
    log.append(5, "reject", reviewer="r", reason="ambiguous")
    return apply_decisions(toy_annotations, log)


def test_export_label_studio_round_trip(tmp_path, final):
    from qa_toolkit.io import read_label_studio

    path = io.write_label_studio(final, tmp_path / "adjudicated.json")
    back = read_label_studio(path)
    assert set(back["annotator"].astype(str)) == {"adjudicated"}
    got = dict(zip(back["task"].astype(str), back["label"]))
    assert got == {"1": "cat", "2": "dog", "3": "bird", "4": "bird"}  # 5 was rejected


def test_export_table_round_trip(tmp_path, final):
    from qa_toolkit.io import read_table

    table = final[["task", "annotator", "label", "status", "label_source", "reviewer", "reason"]]
    path = io.write_table(table, tmp_path / "adjudicated.csv")
    back = read_table(path)
    # ids are read back as text (issue #10: CSV ids are never type-guessed)
    assert back.loc[back["task"].astype(str) == "3", "label"].item() == "bird"
    assert back["task"].astype(str).tolist() == ["1", "2", "3", "4"] and set(back["status"]) == {"pending", "fixed"}


def test_triage_queue_feeds_the_panel(tmp_path, shared_datasets):
    pytest.importorskip("ipywidgets")
    triage = pytest.importorskip("qa_toolkit.triage")
    from qa_toolkit.datasets import load_dataset
    from qa_toolkit.widgets import ReviewPanel

    ds = load_dataset("welinder2010_bluebirds")
    queue = triage.review_queue(ds.annotations)
    log = DecisionLog(tmp_path / "d.jsonl", annotations=ds.annotations)
    panel = ReviewPanel(queue, ds.annotations, log, reviewer="r")
    first = queue.loc[0, "task"]
    assert panel.task == first and queue.loc[0, "reasons"] in panel.labels_box.value
    panel.accept_button.click()
    assert panel.task == queue.loc[1, "task"] and log.read()["task"].tolist() == [first]


def test_report_section(tmp_path, toy_annotations):
    from qa_toolkit.report.core import AuditContext
    from qa_toolkit.report.review_section import build_section

    log = DecisionLog(tmp_path / "d.jsonl", annotations=toy_annotations)
    log.append(3, "fix", reviewer="r", label="bird")
    ctx = AuditContext(annotations=toy_annotations, gold=None, pred_probs=None, embeddings=None,
                       options={"decision_log": str(log.path)})
    sec = build_section(ctx)
    assert sec.title == "Review decisions" and int(sec.tables["review_status"].loc["fixed", "n_tasks"]) == 1
    assert "data:image/png;base64" in sec.html
    assert build_section(AuditContext(annotations=toy_annotations, gold=None, pred_probs=None,
                                      embeddings=None, options={})) is None
