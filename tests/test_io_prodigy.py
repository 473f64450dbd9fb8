"""Prodigy db-out reader: the real PRESTO exports and hand-made records of every view.

Reference values: ../shared/realworld_exports/SOURCE.md §9 (record counts, answers,
``len(accept)`` distribution, and the per-label Cohen's kappas published by the PRESTO
authors in ``first_phase/cohens_scores_types.csv``).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from qa_toolkit import AnnotationFormatError
from qa_toolkit.io import detect_format, read_annotations, read_prodigy
from qa_toolkit.table import AnnotationWarning

P = "prodigy/presto_nlp/"
NAME = {"annotator": lambda s: s.split("-", 1)[1]}  # '<dataset>-annotatorK' -> 'annotatorK'


def _write(tmp_path, recs, name="db.jsonl"):
    p = tmp_path / name
    p.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    return p


def _rec(**kw):
    base = {"text": "Ann lives in Paris", "_input_hash": 1, "_task_hash": 11, "answer": "accept",
            "_annotator_id": "ds-ann1", "_session_id": "ds-ann1", "_timestamp": 1654157757}
    base.update(kw)
    return base


def test_real_binary_choice_counts_and_reject_policy(realworld_exports):
    path = realworld_exports / P / "presto_distortion__3ann_binary_choice.jsonl"
    assert detect_format(path) == "prodigy"
    with pytest.warns(AnnotationWarning, match=r"2 rejected answer\(s\) in a manual view dropped"):
        df = read_annotations(path, format="prodigy", task_key="id", **NAME)
    # SOURCE.md: 1779 records = 593 items x 3; 2 rejects; one accept with an empty list
    assert len(df) == 1776
    assert set(df["kind"]) == {"categorical"} and set(df["field"]) == {"choice"}
    assert set(df["label"]) == {"distorsión", "no distorsión"}
    assert df["task"].nunique() == 593
    assert len(df.attrs["assignments"]) == 1777
    assert sorted(df["annotator"].unique()) == ["annotator1", "annotator2", "annotator3"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped: no warning
        both = read_prodigy(path, task_key="id", manual_reject="empty")
    assert len(both.attrs["assignments"]) == 1779 and len(both) == 1776


def test_real_multilabel_counts(realworld_exports):
    path = realworld_exports / P / "presto_types__3ann_multilabel_partial_overlap.jsonl"
    with pytest.warns(AnnotationWarning, match="46 rejected"):
        df = read_prodigy(path, **NAME)
    # SOURCE.md len(accept) among accepted: {0: 10, 1: 525, 2: 140, 3: 21, 4: 3} -> 880 labels
    assert len(df) == 525 + 2 * 140 + 3 * 21 + 4 * 3
    assert set(df["kind"]) == {"multilabel"}
    assert df["label"].nunique() == 10
    assert len(df.attrs["assignments"]) == 699
    # with rejects kept as assignments, SOURCE.md's annotators/item {1: 48, 2: 110, 3: 159}
    asg = read_prodigy(path, manual_reject="empty", **NAME).attrs["assignments"]
    assert asg.groupby("task")["annotator"].nunique().value_counts().to_dict() == {1: 48, 2: 110, 3: 159}


def test_real_per_label_kappa_reproduces_published_values(realworld_exports):
    """PRESTO authors' cohens_scores_types.csv (SOURCE.md §9): per-label Cohen's kappa on
    0/1 membership over the 131 common items; rejected records have ``accept: []``, i.e.
    'no type', so they are read with manual_reject='empty'. Matched to 4 decimals."""
    from sklearn.metrics import cohen_kappa_score

    path = realworld_exports / P / "types_de_los_coincidentes__3ann_multilabel_131_common.jsonl"
    df = read_prodigy(path, task_key="id", manual_reject="empty", **NAME)
    asg = df.attrs["assignments"]
    assert len(asg) == 393 and asg["task"].nunique() == 131
    present = set(zip(df["task"], df["annotator"], df["label"]))
    tasks = sorted(asg["task"].unique())
    order = ["sobregeneralización", "leer la mente", "imperativos", "etiquetado", "pensamiento absolutista",
             "adivinación", "catastrofismo", "abstracción selectiva", "razonamiento emocional", "personalización"]
    published = {
        ("annotator1", "annotator3"): [0.4679, 0.6238, 1.0, 0.7614, 0.8356, 0.4474, 0.6004, 0.5667, 0.7296, 0.3719],
        ("annotator2", "annotator3"): [0.1278, 0.5980, 0.4631, 0.7614, 0.1378, 0.3300, 0.5069, 0.3563, 0.5731, 0.3001],
        ("annotator1", "annotator2"): [0.1094, 0.6187, 0.4631, 0.8015, 0.2108, 0.6384, 0.5522, 0.0087, 0.7114, 0.6026],
    }
    for (a, b), ref in published.items():
        got = [cohen_kappa_score([(t, a, lab) in present for t in tasks], [(t, b, lab) in present for t in tasks])
               for lab in order]
        np.testing.assert_allclose(got, ref, atol=5e-5, err_msg=f"{a}-{b}")


def test_spans_manual_and_binary_ner(tmp_path):
    recs = [
        _rec(_view_id="ner_manual", spans=[{"start": 0, "end": 3, "label": "PER"},
                                           {"start": 13, "end": 18, "label": "LOC"}]),
        _rec(_view_id="ner_manual", spans=[], _annotator_id="ds-ann2", _task_hash=12),
        _rec(_view_id="ner", spans=[{"start": 0, "end": 3, "label": "ORG"}], answer="reject",
             _annotator_id="ds-ann3", _task_hash=13),
    ]
    df = read_prodigy(_write(tmp_path, recs))
    assert df[["label", "start", "end", "text"]].values.tolist() == [["PER", 0, 3, "Ann"], ["LOC", 13, 18, "Paris"]]
    assert set(df["kind"]) == {"span"} and set(df["field"]) == {"spans"}
    # ann2 marked nothing, ann3 rejected the suggested ORG span: both are assignments without rows
    assert sorted(df.attrs["assignments"]["annotator"]) == ["ds-ann1", "ds-ann2", "ds-ann3"]


def test_binary_textcat_accept_reject_and_ignore(tmp_path):
    recs = [_rec(_view_id="classification", label="POSITIVE"),
            _rec(_view_id="classification", label="POSITIVE", answer="reject", _annotator_id="ds-ann2"),
            _rec(_view_id="classification", label="POSITIVE", answer="ignore", _annotator_id="ds-ann3")]
    with pytest.warns(AnnotationWarning, match=r"1 ignored answer\(s\) dropped"):
        df = read_prodigy(_write(tmp_path, recs))
    assert df[["annotator", "label", "field", "kind"]].values.tolist() == [["ds-ann1", "POSITIVE", "textcat", "multilabel"]]
    assert sorted(df.attrs["assignments"]["annotator"]) == ["ds-ann1", "ds-ann2"]  # reject = label absent


def test_blocks_with_choice_spans_and_text(tmp_path):
    rec = _rec(_view_id="blocks", options=[{"id": "A"}, {"id": "B"}], accept=["B"],
               spans=[{"start": 4, "end": 9, "label": "ACT"}], user_input="unsure")
    df = read_prodigy(_write(tmp_path, [rec]), text_fields=("user_input",))
    got = {f: (k, lab) for f, k, lab in df[["field", "kind", "label"]].values.tolist()}
    assert got == {"spans": ("span", "ACT"), "choice": ("categorical", "B"), "user_input": ("text", "unsure")}


def test_annotator_from_parameter_for_timestamp_sessions(tmp_path):
    recs = [_rec(_view_id="choice", options=[{"id": "A"}], accept=["A"], _annotator_id=None,
                 _session_id="ds-2023-01-31_12-00-00"),
            _rec(_view_id="choice", options=[{"id": "A"}], accept=["A"], _annotator_id=None,
                 _session_id="ds-2023-02-01_09-30-00", _task_hash=12)]
    p = _write(tmp_path, recs)
    with pytest.warns(AnnotationWarning, match="session timestamps"):
        read_prodigy(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = read_prodigy(p, annotator={"ds-2023-01-31_12-00-00": "maria", "ds-2023-02-01_09-30-00": "li"})
    assert df["annotator"].tolist() == ["maria", "li"]
    with pytest.raises(AnnotationFormatError, match=r"line 2 .*'ds-2023-02-01_09-30-00' is not in the 'annotator'"):
        read_prodigy(p, annotator={"ds-2023-01-31_12-00-00": "maria"})


def test_kinds_override_and_refusals(tmp_path):
    recs = [_rec(_view_id="choice", options=[{"id": "A"}, {"id": "B"}], accept=["A", "B"],
                 config={"choice_style": "multiple"})]
    p = _write(tmp_path, recs)
    assert set(read_prodigy(p)["kind"]) == {"multilabel"}
    with pytest.raises(AnnotationFormatError, match=r"field 'choice' was declared kind 'categorical'.*selected 2"):
        read_prodigy(p, kinds={"choice": "categorical"})
    bad = _write(tmp_path, [{"text": "x", "_input_hash": 1}], name="raw.jsonl")
    with pytest.raises(AnnotationFormatError, match=r"line 1: field 'answer' must be"):
        read_prodigy(bad)
    span = _write(tmp_path, [_rec(_view_id="ner_manual", spans=[{"start": 0, "end": 3}])], name="s.jsonl")
    with pytest.raises(AnnotationFormatError, match=r"line 1 \(task 1\).*span without 'label'"):
        read_prodigy(span)


def test_image_manual_boxes_and_polygons(tmp_path):
    rec = _rec(_view_id="image_manual", image="cat.jpg", width=200, height=100, spans=[
        {"label": "CAT", "type": "rect", "points": [[10, 20], [10, 60], [50, 60], [50, 20]]},
        {"label": "TAIL", "type": "polygon", "points": [[1, 1], [5, 1], [5, 4]]},
    ])
    empty = _rec(_view_id="image_manual", image="cat.jpg", spans=[], _annotator_id="ds-ann2", _task_hash=12)
    df = read_prodigy(_write(tmp_path, [rec, empty]))
    box = df[df["field"] == "box"].iloc[0]
    assert (box["kind"], box["x_min"], box["y_min"], box["x_max"], box["y_max"]) == ("box", 10, 20, 50, 60)
    assert (box["image_width"], box["image_height"]) == (200, 100)
    poly = df[df["field"] == "polygon"].iloc[0]
    assert poly["kind"] == "polygon" and poly["points"] == ((1.0, 1.0), (5.0, 1.0), (5.0, 4.0))
    assert sorted(df.attrs["assignments"]["annotator"]) == ["ds-ann1", "ds-ann2"]
    with pytest.raises(Exception, match="kinds"):
        read_prodigy(_write(tmp_path, [rec], name="k.jsonl"), kinds={"box": "rectangle"})
