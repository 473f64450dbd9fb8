"""Fields, kinds and agreement units (issue 11): describe_fields, to_units, refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qa_toolkit as qa
from qa_toolkit import AnnotationFormatError, QAInputError
from qa_toolkit.units import ABSENT, check_one_label, to_units


@pytest.fixture
def typed() -> pd.DataFrame:
    """Two fields: multi-select topics and a 1-5 rating; b saw task 2 and chose no topic."""
    rows = [(1, "a", "topics", "A"), (1, "a", "topics", "B"), (1, "b", "topics", "A"), (2, "a", "topics", "C"),
            (1, "a", "stars", "4"), (1, "b", "stars", "5"), (2, "a", "stars", "2"), (2, "b", "stars", "1")]
    df = pd.DataFrame(rows, columns=["task", "annotator", "field", "label"])
    # A flat table says which field is multi-select: repeats are never guessed to be multi-label.
    df["kind"] = df["field"].map({"topics": "multilabel", "stars": "categorical"})
    df.attrs["assignments"] = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"]})
    return df


def test_repeats_in_a_flat_field_are_refused_not_guessed_multilabel(typed):
    flat = typed.drop(columns="kind")
    assert qa.describe_fields(flat).loc["topics", "kind"] == "categorical"
    with pytest.raises(qa.AnnotationFormatError, match=r"test-retest.*kinds=\{'topics': 'multilabel'\}"):
        to_units(flat, field="topics")


def test_describe_fields_lists_kinds_and_shapes(typed):
    d = qa.describe_fields(typed.drop(columns="kind"), kinds={"topics": "multilabel", "stars": "ordinal"})
    assert d.loc["topics", "kind"] == "multilabel" and d.loc["stars", "kind"] == "ordinal"
    assert d.loc["stars", "level"] == "ordinal"
    assert d.loc["topics", "n_labels"] == 3
    assert d.loc["topics", "max_rows_per_task_annotator"] == 2
    assert d.loc["topics", "annotators_per_task"] == 2.0
    assert bool(d.loc["topics", "empties_counted"])


def test_multilabel_units_count_assigned_annotators_without_labels(typed):
    u = to_units(typed, field="topics")
    # 2 tasks x 3 labels x 2 assigned annotators
    assert len(u) == 12 and u["unit"].nunique() == 6
    b2 = u.loc[(u["task"] == 2) & (u["annotator"] == "b")]
    assert len(b2) == 3 and (b2["value"] == 0).all()  # b saw task 2 and marked nothing
    a1 = u.loc[(u["task"] == 1) & (u["annotator"] == "a")].set_index("label")["value"]
    assert a1.to_dict() == {"A": 1, "B": 1, "C": 0}
    assert u.attrs["empties_counted"] is True


def test_multilabel_set_units(typed):
    s = to_units(typed, field="topics", sets=True).set_index(["task", "annotator"])["value"]
    assert s.loc[(1, "a")] == frozenset({"A", "B"})
    assert s.loc[(2, "b")] == frozenset()


def test_without_assignments_empties_are_not_counted(typed):
    flat = typed.copy()
    flat.attrs = {}
    u = to_units(flat, field="topics")
    assert u.attrs["empties_counted"] is False
    # b has a row on task 2 in another field: still a stand-in assignment
    assert ((u["task"] == 2) & (u["annotator"] == "b")).any()


def test_ordinal_units_are_numeric(typed):
    u = to_units(typed, field="stars", kinds={"stars": "ordinal"})
    assert u["value"].dtype.kind == "f"
    assert sorted(u["value"].tolist()) == [1.0, 2.0, 4.0, 5.0]
    assert u.groupby("task")["unit"].nunique().tolist() == [1, 1]


def test_categorical_units_one_per_task():
    df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    u = to_units(df)
    assert u["unit"].tolist() == [0, 0, 1] and u["value"].tolist() == ["x", "y", "x"]


def test_several_labels_in_a_categorical_field_are_refused():
    df = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "a", "b"], "label": ["x", "y", "x"],
                       "field": "sentiment"})
    with pytest.raises(AnnotationFormatError) as e:
        to_units(df, kinds={"sentiment": "categorical"})
    msg = str(e.value)
    assert "'sentiment'" in msg and "'categorical'" in msg and "task 1" in msg and "'a'" in msg
    assert "agreement_report" in msg  # names the function that handles it


def test_check_one_label_names_field_kind_and_handler():
    df = pd.DataFrame({"task": [7, 7], "annotator": ["z", "z"], "label": ["x", "y"], "field": "tags",
                       "kind": "multilabel"})
    with pytest.raises(AnnotationFormatError, match=r"fleiss_kappa .* field 'tags' \(kind 'multilabel'\) .*task 7.*to_units"):
        check_one_label(df, func="fleiss_kappa")
    check_one_label(df.iloc[:1], func="fleiss_kappa")  # one row: fine


def test_interval_kind_on_text_labels_raises_naming_field_and_record():
    df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["good", "bad"], "field": "q"})
    with pytest.raises(AnnotationFormatError, match=r"'q'.*interval.*'good'|'q'.*'good'.*interval"):
        to_units(df, kinds={"q": "interval"})


def test_unknown_kind_and_text_kind():
    df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", "y"]})
    with pytest.raises(QAInputError, match="unknown kind"):
        to_units(df, kinds={"label": "likert"})
    with pytest.raises(QAInputError, match="free text"):
        to_units(df, kinds={"label": "text"})


def test_several_fields_need_field(typed):
    with pytest.raises(QAInputError, match="pass field"):
        to_units(typed)


def test_region_units_absent_for_assigned_annotator():
    df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["car"] * 3,
                       "x_min": [0, 1, 0], "y_min": [0, 0, 0], "x_max": [10, 10, 5], "y_max": [10, 10, 5]})
    df.attrs["assignments"] = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"]})
    u = to_units(df)
    assert u["unit"].nunique() == 2
    t2 = u.loc[u["task"] == 2].set_index("annotator")
    assert t2.loc["a", "value"] == "car" and t2.loc["b", "value"] == ABSENT
    assert t2.loc["b", "row"] == -1 and np.isnan(t2.loc["b", "x_min"])
    assert u.loc[u["task"] == 1, "iou"].round(4).tolist() == [0.9, 0.9]  # 90 / 100


def test_multilabel_units_scale():
    """10^5 label rows in well under a second per 10^5 (the benchmark checks 10^6 <= 2 s)."""
    rng = np.random.default_rng(0)
    n = 30_000
    df = pd.DataFrame({"task": rng.integers(0, 10_000, n), "annotator": rng.choice(["a", "b", "c"], n),
                       "label": rng.choice([f"L{i}" for i in range(8)], n)}).drop_duplicates()
    u = to_units(df, kinds={"label": "multilabel"})
    pairs = df[["task", "annotator"]].drop_duplicates()
    assert len(u) == len(pairs) * 8
    assert int(u["value"].sum()) == len(df)
