"""Issue #13: review per unit and per annotation, through the panel's Python API, every kind.

Real exports from ../shared/realworld_exports (see its SOURCE.md): the evalme 3-annotator
Label Studio box export (5 images, 91 boxes) and the LEOKA team 6 NER + taxonomy export
(spans and a multi-label ``Category`` field, 2-3 annotators). Each test asserts on the
decision log, on the adjudicated table and on the Label Studio JSON written from it.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import QAInputError
from qa_toolkit.io import read_label_studio, to_label_studio_tasks, write_label_studio
from qa_toolkit.review import (
    DecisionLog,
    apply_decisions,
    final_decision_table,
    requeue_units,
    rescore,
    review_status,
    review_units,
    stale_decisions,
    undecided,
)

pytest.importorskip("ipywidgets")
from qa_toolkit.widgets import ReviewPanel  # noqa: E402

LS = "realworld_exports/label_studio/json/"
BOXES = LS + "evalme_test_bbox__3annotators_predictions.json"
NER = LS + "leoka_team_6__ner_taxonomy_multiannotator_gt.json"


def _read(shared, name):
    path = shared / name
    if not path.exists():
        pytest.skip(f"{path} is missing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_label_studio(path)


@pytest.fixture(scope="module")
def shared():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="module")
def boxes(shared):
    return _read(shared, BOXES)


@pytest.fixture(scope="module")
def ner(shared):
    return _read(shared, NER)


def _records(log):
    return [json.loads(x) for x in log.path.read_text().splitlines()[1:]]


def test_detection_image_every_unit_action(tmp_path, boxes):
    task = 188  # 6 matched objects over 3 annotators (review_units)
    units = review_units(boxes)
    assert (units["task"] == task).sum() == 6
    log = DecisionLog(tmp_path / "d.jsonl", annotations=boxes)
    panel = ReviewPanel(pd.DataFrame({"task": [task]}), boxes, log, reviewer="rv", reject_policy="requeue")
    assert (panel.task, panel.unit, panel.progress_text) == (task, 0, "0/6")
    item = panel.session.current
    assert item.kind == "box" and len(item.rows) == (boxes["task"] == task).sum()  # the whole image is drawn
    assert len(item.members) == 3 and set(panel.take_from.options) == set(item.labels)
    panel.fix("Obstacle")  # object 0: fix the label
    panel.reject(reason="bad_item", comment="not a car")  # object 1: delete it
    who = panel.take_from.options[0]
    taken = panel.take(who)  # object 2: keep one annotator's version
    panel.fix(geometry={"x_min": 1, "y_min": 2, "x_max": 30, "y_max": 40})  # object 3: move the box
    rejected = list(panel.session.current.annotations)[1]
    panel.reject_annotation(rejected, reason="ambiguous")  # one annotator's whole annotation
    assert panel.unit == 4  # a per-annotation decision keeps the unit on show
    while panel.task is not None:
        panel.accept()
    assert panel.progress_text == "6/6" and "Review done" in panel.header.value
    recs = _records(log)
    assert [(r["decision"], r.get("unit"), r.get("scope", "unit")) for r in recs] == [
        ("fix", 0, "unit"), ("reject", 1, "unit"), ("accept", 2, "unit"), ("fix", 3, "unit"),
        ("reject", None, "annotation"), ("accept", 4, "unit"), ("accept", 5, "unit")]
    assert all(r["field"] == "label" and isinstance(r["task_hash"], str) for r in recs)
    assert recs[1]["policy"] == "requeue" and recs[2]["annotation_id"] == taken["annotation_id"]
    assert recs[4]["annotator"] == rejected and recs[4]["annotation_id"] is not None
    adj = apply_decisions(boxes, log)
    mine = adj.loc[adj["task"] == task].set_index("unit")
    assert sorted(mine.index) == [0, 2, 3, 4, 5] and set(mine["annotator"]) == {"adjudicated"}
    assert mine.loc[0, "label"] == "Obstacle" and mine.loc[0, "status"] == "fixed"
    assert (mine.loc[3, ["x_min", "y_min", "x_max", "y_max"]].tolist() == [1, 2, 30, 40])
    src = boxes.loc[boxes["annotation_id"] == taken["annotation_id"]]
    member = src.loc[src["x_min"] == mine.loc[2, "x_min"]]
    assert len(member) == 1 and mine.loc[2, "label"] == member["label"].item()  # the version taken
    # the adjudicated table goes back to Label Studio and reads back the same
    back = read_label_studio(write_label_studio(adj, tmp_path / "adjudicated.json"))
    got = back.loc[back["task"] == task].sort_values("x_min")
    want = mine.sort_values("x_min")
    assert got["label"].tolist() == want["label"].tolist()
    np.testing.assert_allclose(got[["x_min", "y_min", "x_max", "y_max"]].to_numpy(float),
                               want[["x_min", "y_min", "x_max", "y_max"]].to_numpy(float), atol=1e-6)
    written = json.loads((tmp_path / "adjudicated.json").read_text())
    entry = next(t for t in written if t.get("id") == task)
    assert len(entry["annotations"][0]["result"]) == 5
    # requeue: the rejected object and the rejected annotation, as Label Studio tasks with their data
    rq = requeue_units(boxes, log)
    assert rq["task"].tolist() == [task] and "bad_item" in rq["reason"].item() and "ambiguous" in rq["reason"].item()
    ls = to_label_studio_tasks(rq, data=boxes)
    assert ls[0]["id"] == task and ls[0]["data"]["image"].endswith(".jpg")
    # per-annotator rates are built on the per-annotation table
    fd = final_decision_table(log, on="annotation")
    assert fd[["task", "annotator", "decision", "reason"]].values.tolist() == [[task, rejected, "reject", "ambiguous"]]


def test_decided_units_leave_the_queue_and_resume(tmp_path, boxes):
    log = DecisionLog(tmp_path / "d.jsonl", annotations=boxes)
    panel = ReviewPanel(pd.DataFrame({"task": [189, 190]}), boxes, log, reviewer="rv")
    n = panel.n_total
    panel.accept()
    panel.skip()
    panel.accept()
    again = ReviewPanel(pd.DataFrame({"task": [189, 190]}), boxes, DecisionLog(log.path, annotations=boxes),
                        reviewer="rv")
    assert again.progress_text == f"2/{n}" and (again.task, again.unit) == (189, 1)  # the skipped unit
    q = pd.DataFrame({"task": [189, 189, 189], "field": "label", "object": [0, 1, 2]})
    assert undecided(q, log)["object"].tolist() == [1]
    # undo goes back to the same unit and re-opens it
    panel.undo()
    assert (panel.task, panel.unit) == (189, 2)


def test_ner_span_fix_and_multilabel_units(tmp_path, ner):
    counts = ner.loc[ner["field"] == "label"].groupby("task").size()
    task = counts.index[counts.argmin()]  # the text with the fewest spans
    log = DecisionLog(tmp_path / "d.jsonl", annotations=ner)
    panel = ReviewPanel(pd.DataFrame({"task": [task]}), ner, log, field="label", reviewer="rv")
    item = panel.session.current
    assert item.kind == "span" and 'class="qa-current"' in panel.item_box.children[0].value
    before = item.consensus
    new = next(lab for lab in sorted(ner.loc[ner["field"] == "label", "label"].unique()) if lab != before)
    panel.fix(new)
    n_units = panel.n_total
    while panel.task is not None:
        panel.accept()
    adj = apply_decisions(ner, log)
    spans = adj.loc[(adj["task"] == task) & (adj["field"] == "label")].set_index("unit")
    assert spans.loc[0, "label"] == new and spans.loc[0, "status"] == "fixed"
    assert len(spans) == n_units and spans["status"].isin(["fixed", "accepted"]).all()
    text = ner.attrs["task_data"][task]["text"]
    for s, e, t in spans[["start", "end", "text"]].itertuples(index=False):
        assert text[int(s):int(e)] == t  # offsets and text survive adjudication
    # multi-label units: one per label of the task; reject one, accept the others
    ml = ReviewPanel(pd.DataFrame({"task": [task]}), ner, log, field="Category", reviewer="rv")
    first = ml.unit
    assert isinstance(first, str) and ml.session.current.kind == "multilabel"
    ml.reject(reason="out_of_scope")
    while ml.task is not None:
        ml.accept()
    st = review_status(ner, log)
    cat = st.loc[(st["task"] == task) & (st["field"] == "Category")].set_index("unit")
    assert cat.loc[first, "status"] == "rejected"
    adj = apply_decisions(ner, log)
    mine = adj.loc[adj["task"] == task]
    assert first not in mine.loc[mine["field"] == "Category", "label"].tolist()
    back = read_label_studio(write_label_studio(mine, tmp_path / "ner.json"))
    sp = back.loc[back["field"] == "label"].sort_values("start")
    assert sp["label"].tolist() == spans.sort_values("start")["label"].tolist()
    assert sp[["start", "end"]].astype(int).values.tolist() == \
        spans.sort_values("start")[["start", "end"]].astype(int).values.tolist()
    assert set(back.loc[back["field"] == "Category", "label"]) == set(mine.loc[mine["field"] == "Category", "label"])


def test_ratings_consensus_or_corrected_value(tmp_path):
    ann = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"), "field": "quality",
                        "kind": "ordinal", "label": ["4", "4", "5", "1", "2", "2"],
                        "value": [4.0, 4.0, 5.0, 1.0, 2.0, 2.0]})
    log = DecisionLog(tmp_path / "d.jsonl", annotations=ann)
    panel = ReviewPanel(pd.DataFrame({"task": [1, 2]}), ann, log, reviewer="rv")
    assert panel.session.current.consensus == 4.0  # the median rating
    panel.accept()
    panel.fix(3)
    adj = apply_decisions(ann, log).set_index("task")
    assert adj.loc[1, "value"] == 4.0 and adj.loc[2, "value"] == 3.0 and adj.loc[2, "label"] == "3"
    with pytest.raises(QAInputError, match="must be a number for field 'quality'"):
        log.append(1, "fix", reviewer="rv", field="quality", label="good")


def test_categorical_per_annotation_review_and_stale_per_task(tmp_path, toy_annotations):
    log = DecisionLog(tmp_path / "d.jsonl", annotations=toy_annotations)
    panel = ReviewPanel(pd.DataFrame({"task": [3, 1]}), toy_annotations, log, reviewer="rv",
                        reasons=["wrong_class", "sloppy"], require_comment=True)
    with pytest.raises(QAInputError, match="needs a comment"):
        panel.reject_annotation("c", reason="sloppy")
    panel.reject_annotation("c", reason="sloppy", comment="bird is wrong")
    panel.accept_annotation("a")
    panel.fix("bird")
    fd = final_decision_table(log, on="annotation").fillna("-")
    assert fd[["task", "annotator", "decision", "reason", "comment"]].values.tolist() == [
        [3, "c", "reject", "sloppy", "bird is wrong"], [3, "a", "accept", "-", "-"]]
    panel.undo()  # undoes the fix, not the annotation decisions
    assert panel.task == 3 and len(final_decision_table(log, on="annotation")) == 2
    panel.undo()
    assert final_decision_table(log, on="annotation")["annotator"].tolist() == ["c"]
    # an annotation added on another task leaves the log valid
    more = pd.concat([toy_annotations, pd.DataFrame({"task": [5], "annotator": ["f"], "label": ["cat"]})],
                     ignore_index=True)
    assert stale_decisions(more, log).empty


def test_rescore_with_reviewed_gold(tmp_path):
    from qa_toolkit.datasets import load_dataset

    ann = load_dataset("dawid_skene_1979").annotations
    log = DecisionLog(tmp_path / "d.jsonl", annotations=ann)
    before = rescore(ann, log, field=None)
    assert before.attrs["n_gold"] == 0 and not before["changed"].any()
    tasks = before.loc[before["what"] == "task"].head(3)
    labels = sorted(ann["label"].unique())
    for t, lab in zip(tasks["id"], tasks["before"]):
        other = next(x for x in labels if x != lab)
        log.append(t, "fix", reviewer="rv", label=other)
    out = rescore(ann, log)
    changed = out.loc[(out["what"] == "task") & out["changed"]]
    assert out.attrs["n_gold"] == 3 and set(tasks["id"]) <= set(changed["id"])  # clamped to the reviewed labels
    assert changed["is_gold"].sum() == 3
    assert (out.loc[out["what"] == "annotator", "changed"]).any()  # accuracies move with the new gold


def test_flat_rating_table_without_field_column(tmp_path):
    ann = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "kind": "interval",
                        "label": ["2.5", "3.5", "1", "1"], "value": [2.5, 3.5, 1.0, 1.0]})
    log = DecisionLog(tmp_path / "d.jsonl", annotations=ann)
    log.append(1, "accept", reviewer="rv", label=3.0)  # the median, not one of the labels as written
    log.append(2, "fix", reviewer="rv", label=1.5)
    adj = apply_decisions(ann, log).set_index("task")
    assert adj["value"].tolist() == [3.0, 1.5] and adj["status"].tolist() == ["accepted", "fixed"]


def test_unit_queue_from_triage_feeds_the_panel_in_its_order(tmp_path, boxes):
    from qa_toolkit.triage import unit_review_queue

    q = unit_review_queue(boxes, field="label")
    log = DecisionLog(tmp_path / "d.jsonl", annotations=boxes)
    panel = ReviewPanel(q, boxes, log, reviewer="rv")
    assert panel.n_total == len(q) <= len(review_units(boxes))  # one queue row per queued object
    for k in range(3):
        assert (panel.task, panel.unit) == (q["task"].iat[k], q["object"].iat[k])
        panel.accept()
    left = undecided(q, log)
    assert len(left) == len(q) - 3 and left.index.tolist() == q.index[3:].tolist()


def test_decisions_stay_fresh_when_the_table_is_read_with_text_ids(tmp_path):
    # the same annotations written to CSV and read back as text (as the CLI reads them)
    from qa_toolkit.review import DecisionLog, stale_decisions

    typed = pd.DataFrame({"task": [7, 7, 8], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    log = DecisionLog(tmp_path / "log.jsonl", annotations=typed)
    log.append(7, "fix", reviewer="r", label="x")
    as_text = typed.astype({"task": str})
    assert len(stale_decisions(as_text, log)) == 0
    changed = pd.concat([as_text, pd.DataFrame({"task": ["7"], "annotator": ["c"], "label": ["z"]})])
    assert len(stale_decisions(changed, log)) == 1


def test_consensus_line_counts_annotators_not_rows():
    from qa_toolkit.widgets.renderers import labels_html

    html = labels_html({"a": "Date", "b": "Date", "c": "<absent>"}, consensus="Date", agreement=1.0)
    assert "2 of 3 annotators" in html and "100%" not in html
