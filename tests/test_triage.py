"""Tests of qa_toolkit.triage: uncertainty scores, ranking, review queue, escalation, LS export."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy as scipy_entropy

from qa_toolkit._validation import QAInputError
from qa_toolkit.triage import (
    entropy_score,
    escalate_low_agreement,
    least_confidence_score,
    margin_score,
    rank_for_review,
    review_queue,
    sampling_plan,
    to_label_studio_tasks,
    vote_scores,
)


@pytest.fixture
def probs(rng):
    raw = rng.dirichlet([1, 1, 1], size=40)
    return pd.DataFrame(raw, columns=["bird", "cat", "dog"], index=[f"t{i}" for i in range(40)])


def test_entropy_matches_scipy(probs):
    ref = scipy_entropy(probs.to_numpy().T) / np.log(3)
    np.testing.assert_allclose(entropy_score(probs).to_numpy(), ref, atol=1e-12)


def test_scores_direction_and_range(probs):
    certain = pd.DataFrame({"a": [1.0], "b": [0.0], "c": [0.0]})
    uniform = pd.DataFrame({"a": [1 / 3], "b": [1 / 3], "c": [1 / 3]})
    for f in (entropy_score, margin_score, least_confidence_score):
        assert f(certain).iloc[0] == pytest.approx(0.0, abs=1e-12)
        assert f(uniform).iloc[0] == pytest.approx(1.0)
        s = f(probs)
        assert s.between(0, 1).all() and s.index.equals(probs.index)


def test_scores_reject_non_probabilities():
    with pytest.raises(QAInputError, match="pred_probs"):
        entropy_score(pd.DataFrame({"a": [0.7], "b": [0.7]}))
    with pytest.raises(QAInputError, match="pred_probs"):
        margin_score([0.5, 0.5])


def test_vote_scores_on_toy(toy_annotations):
    v = vote_scores(toy_annotations)
    assert v.loc[2, "disagreement"] == 0 and v.loc[2, "agreement"] == 1
    # task 3: cat, dog, bird, cat -> majority cat 2/4; pairwise agreement 2/12
    assert v.loc[3, "majority_label"] == "cat"
    assert v.loc[3, "disagreement"] == pytest.approx(0.5)
    assert v.loc[3, "agreement"] == pytest.approx(2 / 12)
    assert v["vote_entropy"].idxmax() == 3


def test_rank_for_review_orders_and_is_reproducible(probs):
    s = entropy_score(probs)
    plain = rank_for_review(s)
    assert plain["score"].is_monotonic_decreasing and not plain["explored"].any()
    a = rank_for_review(s, explore=0.3, random_state=7)
    b = rank_for_review(s, explore=0.3, random_state=7)
    c = rank_for_review(s, explore=0.3, random_state=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["task"].equals(c["task"])
    assert sorted(a["task"]) == sorted(s.index) and a["explored"].any()
    assert s.equals(entropy_score(probs))  # input untouched
    with pytest.raises(QAInputError, match="explore"):
        rank_for_review(s, explore=1.5)


def test_rank_nan_goes_last():
    r = rank_for_review(pd.Series([np.nan, 0.1, 0.9], index=list("abc")))
    assert r["task"].tolist() == ["c", "b", "a"]


def test_review_queue_reasons_and_suggestions(toy_annotations):
    probs = pd.DataFrame(
        {"bird": [0.0, 0.0, 0.1, 0.9, 0.0], "cat": [0.94, 0.05, 0.8, 0.1, 0.1], "dog": [0.06, 0.95, 0.1, 0.0, 0.9]},
        index=[1, 2, 3, 4, 5],
    )
    q = review_queue(toy_annotations, pred_probs=probs, gold=pd.Series({2: "cat"}), new_annotators=["e"], n_first=1)
    q = q.set_index("task")
    assert q.index.is_unique and len(q) == 5
    assert q["priority"].is_monotonic_decreasing
    assert "5 annotators split 4/1" in q.loc[1, "reasons"]
    assert "4 annotators split 2/1/1" in q.loc[3, "reasons"]
    # gold says cat on task 2, all five said dog -> model agrees with majority, gold wins suggestion
    assert "gold check: 5 of 5 differ from gold cat" in q.loc[2, "reasons"]
    assert q.loc[2, "suggested_label"] == "cat"
    assert "new annotator e" in q.loc[1, "reasons"]  # e's first task in row order is task 1
    assert q.loc[4, "labels"] == "bird:4, cat:1"
    assert q.loc[3, "majority_label"] == "cat"
    assert q.index[0] == 2  # every label contradicts gold: highest priority


def test_review_queue_model_disagreement_words():
    df = pd.DataFrame({"task": [1, 1, 1], "annotator": list("abc"), "label": ["dog", "dog", "dog"]})
    probs = pd.DataFrame({"cat": [0.94], "dog": [0.06]}, index=[1])
    q = review_queue(df, pred_probs=probs)
    assert q.loc[0, "reasons"] == "model 0.94 says cat"


def test_review_queue_issue_table_and_ties():
    df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": ["x", "y", "x", "x"]})
    issues = pd.DataFrame({"label_quality": [0.9, 0.1], "is_label_issue": [False, True],
                           "reasons": ["", "5 of 10 neighbours say y"]}, index=pd.Index([1, 2], name="task"))
    probs = pd.DataFrame({"x": [0.2, 0.9], "y": [0.8, 0.1]}, index=[1, 2])
    q = review_queue(df, issues=issues, pred_probs=probs).set_index("task")
    assert "5 of 10 neighbours say y" in q.loc[2, "reasons"]
    assert q.loc[1, "suggested_label"] == "y"  # 1/1 tie broken by the model


def test_review_queue_bad_gold_message(toy_annotations):
    with pytest.raises(QAInputError, match="none of its 2 tasks is in the annotations"):
        review_queue(toy_annotations, gold=pd.Series({"zz": "cat", "yy": "dog"}))


def test_review_queue_explore_reproducible(toy_annotations):
    a = review_queue(toy_annotations, explore=0.5, random_state=1)
    b = review_queue(toy_annotations, explore=0.5, random_state=1)
    pd.testing.assert_frame_equal(a, b)


def test_escalation_respects_cap():
    rows = [(1, "a", "x"), (1, "b", "y"),  # 2 labels, disagree -> escalate
            (2, "a", "x"), (2, "b", "x"),  # agree
            (3, "a", "x"), (3, "b", "y"), (3, "c", "z"), (3, "d", "x"), (3, "e", "y")]  # at the cap 2 + 3
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    e = escalate_low_agreement(df, threshold=0.7, base_overlap=2, max_additional=3)
    assert e["escalate"].tolist() == [True, False, False]
    assert "expert review" in e.loc[3, "reason"]
    tasks = to_label_studio_tasks(e, only="escalate")
    assert [t["data"]["task"] for t in tasks] == [1]
    json.dumps(tasks)  # serialisable
    with pytest.raises(QAInputError, match="threshold"):
        escalate_low_agreement(df, threshold=2)


def test_label_studio_export_of_queue(toy_annotations):
    q = review_queue(toy_annotations)
    tasks = to_label_studio_tasks(q, data={1: {"image": "s3://bucket/1.png"}})
    assert len(tasks) == 5 and json.loads(json.dumps(tasks)) == tasks
    one = next(t for t in tasks if t["data"]["task"] == 1)
    assert one["data"]["image"] == "s3://bucket/1.png" and "priority" in one["meta"]


def test_sampling_plan_reexported(toy_annotations):
    assert sampling_plan(toy_annotations, phase="pilot").review_fraction == 1.0


def test_review_queue_real_cifar10n(shared_datasets):
    from qa_toolkit.datasets import load_dataset

    d = load_dataset("cifar10n")
    ann = d.annotations[d.annotations["task"] < 3000]
    gold = d.gold[d.gold.index < 3000]
    q = review_queue(ann).set_index("task")
    # the suggested (majority) label is wrong far more often at the top of the queue
    top_err = (q["suggested_label"].head(300) != gold.reindex(q.index[:300])).mean()
    bottom_err = (q["suggested_label"].tail(1500) != gold.reindex(q.index[-1500:])).mean()
    assert top_err > 3 * bottom_err


def test_review_queue_uses_ds_posteriors(toy_annotations):
    from qa_toolkit.aggregation import DawidSkene

    ds = DawidSkene().fit(toy_annotations)
    q = review_queue(toy_annotations, posteriors=ds.posteriors_).set_index("task")
    assert (q["suggested_label"] == ds.labels_.reindex(q.index)).all()
    assert least_confidence_score(ds.posteriors_).between(0, 1).all()


def test_review_queue_row_order_invariance(toy_annotations):
    a = review_queue(toy_annotations).set_index("task").sort_index()
    b = review_queue(toy_annotations.sample(frac=1.0, random_state=3)).set_index("task").sort_index()
    pd.testing.assert_frame_equal(a.drop(columns="rank"), b.drop(columns="rank"))


def test_reasons_count_annotators_not_rows_and_state_ties():
    """Issue #12: D&S 1979 has repeated labels per annotator; a reason must not claim 7 annotators."""
    from qa_toolkit.datasets import load_dataset

    d = load_dataset("dawid_skene_1979").annotations
    q = review_queue(d).set_index("task")
    n_ann = d.groupby("task")["annotator"].nunique()
    assert n_ann.max() == 5  # 5 clinicians, some of whom labelled a patient more than once
    for task, why in q["reasons"].items():
        if "annotators" in why:
            claimed = int(why.split(" annotators")[0].split()[-1])
            assert claimed <= n_ann[task], (task, why)
    tied = q[q["tie"]]
    assert len(tied) and all("tie between" in r for r in tied["reasons"])
    assert "labels from 5 annotators" in q.loc[12, "reasons"] and "'3.0'" not in q.loc[12, "reasons"]
