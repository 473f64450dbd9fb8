"""Tests of qa_toolkit.issue_tables: the issue-table contract, its checker and the one priority."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import QAInputError
from qa_toolkit.annotators import annotator_report
from qa_toolkit.issue_tables import check_issue_table, issue_columns, issue_signals, review_priority
from qa_toolkit.triage import review_queue

DATA = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2, 3, 3, 3], "annotator": list("abcabcabc"),
                     "label": ["x", "x", "y", "x", "x", "x", "y", "y", "y"]})


def test_issue_columns_finds_every_pair():
    t = pd.DataFrame(columns=["task", "is_neighbour_issue", "neighbour_score", "is_label_issue", "label_quality",
                              "entropy_score", "priority_score", "is_cluster_outlier_issue"])
    assert issue_columns(t) == ["neighbour", "label"]  # legacy label_quality is label's score


@pytest.mark.parametrize("table,match", [
    (pd.DataFrame({"task": [1], "is_issue": [True]}), r"no complete pair; column\(s\) \['is_issue'\]"),
    (pd.DataFrame({"task": [1], "fused_score": [0.2]}), r"\['fused_score'\] have no partner"),
    (pd.DataFrame({"task": [1], "is_fused_issue": [True]}), r"\['is_fused_issue'\] have no partner"),
    (pd.DataFrame({"item": [1], "is_fused_issue": [True], "fused_score": [0.1]}), "no 'task' column or index"),
    ([1, 2], "must be a DataFrame"),
])
def test_check_refuses_tables_off_the_contract(table, match):
    with pytest.raises(QAInputError, match=match):
        check_issue_table(table, func="review_queue")
    with pytest.raises(QAInputError, match=match):
        review_queue(DATA, issues=table)


def test_check_accepts_task_index_and_other_keys():
    t = pd.DataFrame({"is_x_issue": [True], "x_score": [0.0]}, index=pd.Index([2], name="task"))
    assert check_issue_table(t, func="f")["task"].tolist() == [2]
    a = pd.DataFrame({"annotator": ["a"], "is_spammer_issue": [True], "spammer_score": [0.0]})
    assert check_issue_table(a, func="f", key="annotator") is a


def test_review_priority_is_noisy_or():
    got = review_priority({"a": np.array([0.5, 0.0, 1.0]), "b": np.array([0.5, 0.2, np.nan])})
    np.testing.assert_allclose(got, [0.75, 0.2, 1.0])
    with pytest.raises(QAInputError, match="at least one signal"):
        review_priority({})


def test_signals_from_several_tables_and_units():
    keys = pd.DataFrame({"task": [1, 1, 2], "unit": ["o1", "o2", "o3"]})
    t1 = pd.DataFrame({"task": [1], "unit": ["o2"], "is_box_issue": [True], "box_score": [0.25]})
    t2 = pd.DataFrame({"task": [2], "is_dup_issue": [False], "dup_score": [0.9], "reasons": ["dup of 7"]})
    sig, words = issue_signals([t1, t2], keys, func="f")
    np.testing.assert_allclose(sig["box_issue"], [0.0, 0.75, 0.0])
    np.testing.assert_allclose(sig["dup_issue"], [0.0, 0.0, 0.1])
    assert words == [[], ["box issue"], []]  # an unflagged row gives a signal but no reason


def test_review_queue_reads_a_fused_table():
    """Regression (issue #12): review_queue(..., issues=fused_issue_table(...)) ignored the fused signal."""
    fused = pd.DataFrame({"task": [2, 3], "is_fused_issue": [True, False], "fused_score": [0.05, 0.8],
                          "reasons": ["model and neighbours disagree", ""],
                          "is_label_issue": [True, True], "label_quality": [0.0, 0.0]})
    plain = review_queue(DATA).set_index("task")
    q = review_queue(DATA, issues=fused).set_index("task")
    assert plain.loc[2, "priority"] == 0.0  # unanimous: nothing without the fused table
    assert q.loc[2, "fused_issue"] == pytest.approx(0.95) and q.loc[2, "priority"] == pytest.approx(0.95)
    assert "model and neighbours disagree" in q.loc[2, "reasons"]
    assert q.index[0] == 2  # the fused finding ranks first
    # only the fused pair is read: its label components are already inside it
    assert "label_issue" not in q.columns
    # a list of tables: each contributes its own signal
    nb = pd.DataFrame({"task": [3], "is_neighbour_issue": [True], "neighbour_score": [0.4]})
    q2 = review_queue(DATA, issues=[fused, nb]).set_index("task")
    assert q2.loc[3, "neighbour_issue"] == pytest.approx(0.6) and "neighbour issue" in q2.loc[3, "reasons"]


def test_annotator_flags_follow_the_contract_keyed_by_annotator():
    rng = np.random.default_rng(0)
    truth = rng.choice(["p", "n"], size=60)
    rows = [(t, a, truth[t] if a != "bad" else rng.choice(["p", "n"])) for t in range(60) for a in ("a", "b", "c", "bad")]
    rep = annotator_report(pd.DataFrame(rows, columns=["task", "annotator", "label"]), dawid_skene=False)
    t = check_issue_table(rep.reset_index(), func="annotator_report", key="annotator")
    assert {"low_agreement", "spammer"} <= set(issue_columns(t))
    assert rep.loc["bad", "is_low_agreement_issue"] and rep.loc["bad", "low_agreement_score"] < 0.7
    assert rep.loc["bad", "spammer_score"] == (0.0 if rep.loc["bad", "is_spammer_issue"] else 1.0)


def test_a_finer_table_counts_its_worst_row_per_task():
    # one row per annotation, as the typed label-error finders emit: task 1 has a bad row second
    per_annotation = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"],
                                   "is_label_issue": [False, True, False], "label_score": [0.9, 0.1, 0.8],
                                   "reasons": ["", "b gave 'y', model says 'x'", ""]})
    sig, words = issue_signals(per_annotation, pd.DataFrame({"task": [1, 2, 3]}), func="f")
    np.testing.assert_allclose(sig["label_issue"], [0.9, 0.2, 0.0])
    assert words == [["b gave 'y', model says 'x'"], [], []]


def test_the_queue_ranks_a_fused_table_as_the_fused_table_does():
    # the review priority is defined once: a fused table's own priority is the queue's
    from qa_toolkit.errors import fused_issue_table
    from qa_toolkit.triage import review_queue

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"task": np.repeat(np.arange(30), 3), "annotator": np.tile(list("abc"), 30),
                       "label": rng.choice(["x", "y"], size=90, p=[0.7, 0.3])})
    votes = pd.crosstab(df["task"], df["label"])
    given = votes.idxmax(axis=1)
    fused = fused_issue_table(given, vote_counts=votes)
    q = review_queue(df, field="label", issues=fused, include_agreed=True).set_index("task")
    common = q.index.intersection(fused.index)
    assert len(common) == 30
    np.testing.assert_allclose(q.loc[common, "fused_issue"], fused.loc[common, "priority"], atol=1e-12)
