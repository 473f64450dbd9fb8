"""Truth inference on units (issue 11): region consensus merge, rating consensus, multi-label DS."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import qa_toolkit as qa
from qa_toolkit._validation import QAInputError
from qa_toolkit.aggregation.consensus import consensus_regions
from qa_toolkit.aggregation.numeric import multilabel_dawid_skene, rating_consensus


@pytest.fixture
def three_box_sets() -> pd.DataFrame:
    rows = [(1, "a", "car", 0, 0, 10, 10), (1, "b", "car", 2, 0, 12, 10), (1, "c", "bus", 1, 0, 11, 10),
            (1, "a", "dog", 50, 50, 60, 60), (1, "b", "dog", 51, 50, 61, 60),
            (1, "c", "cat", 90, 90, 99, 99)]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label", "x_min", "y_min", "x_max", "y_max"])
    df.attrs["assignments"] = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "b", "c"]})
    return df


def test_consensus_boxes_quorum_mean_geometry_and_majority(three_box_sets):
    out = qa.consensus_regions(three_box_sets, random_state=0)
    assert len(out) == 2  # the cat (1 of 3) is below the quorum of 0.5
    car = out.loc[out["n_drawn"] == 3].iloc[0]
    assert car["label"] == "car" and car["label_confidence"] == pytest.approx(2 / 3)
    assert car["confidence"] == 1.0 and (car["x_min"], car["x_max"]) == (1.0, 11.0)
    dog = out.loc[out["n_drawn"] == 2].iloc[0]
    assert dog["confidence"] == pytest.approx(2 / 3) and dog["annotators"] == ("a", "b")
    every = consensus_regions(three_box_sets, keep_all=True, random_state=0)
    assert len(every) == 3 and every["confidence"].min() == pytest.approx(1 / 3)
    assert consensus_regions(three_box_sets, quorum=0.9, random_state=0)["n_drawn"].tolist() == [3]


def test_consensus_counts_assigned_annotators_who_drew_nothing(three_box_sets):
    df = three_box_sets.copy()
    df.attrs["assignments"] = pd.DataFrame({"task": [1] * 4, "annotator": ["a", "b", "c", "d"]})
    out = consensus_regions(df, random_state=0)
    assert out["n_assigned"].eq(4).all()
    assert out.loc[out["n_drawn"] == 3, "confidence"].item() == pytest.approx(0.75)
    assert (out["n_drawn"] == 2).any()  # 2 of 4 still meets the quorum of 0.5


def test_consensus_weighted_box_fusion(three_box_sets):
    df = three_box_sets.assign(score=[1.0, 3.0, 0.0, 1.0, 1.0, 1.0])
    out = consensus_regions(df, weighted=True, random_state=0)
    car = out.loc[out["n_drawn"] == 3].iloc[0]
    assert car["x_min"] == pytest.approx((0 * 1 + 2 * 3 + 1 * 0) / 4)


def test_consensus_dawid_skene_labels(three_box_sets):
    out = consensus_regions(three_box_sets, label_method="dawid_skene")
    assert out["label_confidence"].between(0, 1).all()
    assert set(out["label"]) <= {"car", "bus", "dog"}


def test_consensus_spans_median():
    df = pd.DataFrame({"task": [1, 1, 1], "annotator": list("abc"), "label": ["PER"] * 3,
                       "start": [0, 1, 0], "end": [10, 10, 12]})
    out = consensus_regions(df)
    assert out[["start", "end", "confidence"]].values.tolist() == [[0.0, 10.0, 1.0]]


def test_rating_consensus_recovers_annotator_bias(rng):
    truth = rng.uniform(20, 80, 200)
    bias = {"a": 8.0, "b": 0.0, "c": -8.0}
    rows = [(t, a, truth[t] + b + rng.normal(0, 2)) for t in range(200) for a, b in bias.items()]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    r = rating_consensus(df, kinds={"label": "interval"})
    assert r.annotators["bias"].to_dict() == pytest.approx(bias, abs=1.0)
    assert np.abs(r.tasks["value"].to_numpy() - truth).mean() < 2.0
    with pytest.raises(qa.QAInputError, match="'ordinal' or 'interval'"):
        rating_consensus(df.assign(label=df["label"].astype(int).astype(str) + "x").iloc[:3])


def test_multilabel_dawid_skene_counts_absent_votes():
    rows = []
    rng = np.random.default_rng(3)
    for t in range(40):
        true = {"A"} | ({"B"} if t % 2 else set())
        for a, acc in (("x", 0.95), ("y", 0.9), ("z", 0.6)):
            chosen = {lab for lab in "AB" if (lab in true) == (rng.random() < acc)}
            rows += [(t, a, lab) for lab in chosen]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    df.attrs["assignments"] = pd.DataFrame([(t, a) for t in range(40) for a in "xyz"], columns=["task", "annotator"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = multilabel_dawid_skene(df, kinds={"label": "multilabel"})
    assert len(out) == 80  # 40 tasks x 2 labels, including tasks where nobody chose B
    b = out.loc[out["label"] == "B"].set_index("task")["present"]
    truth_b = pd.Series([bool(t % 2) for t in range(40)])
    assert (b.sort_index().to_numpy() == truth_b.to_numpy()).mean() >= 0.9


def test_consensus_on_real_evalme_boxes(realworld_exports):
    """evalme (3 annotators, 5 tasks): every kept object drawn by at least 2 of the 3."""
    warnings.simplefilter("ignore")
    df = qa.read_annotations(realworld_exports / "label_studio/json/evalme_test_bbox__3annotators_predictions.json")
    out = consensus_regions(df, random_state=0)
    every = consensus_regions(df, keep_all=True, random_state=0)
    assert (out["n_drawn"] >= 2).all() and out["n_assigned"].eq(3).all()
    assert set(np.round(every["confidence"], 4)) <= {0.3333, 0.6667, 1.0}
    assert every["n_drawn"].sum() == len(df)  # every drawn box belongs to one object
    assert (out["x_max"] > out["x_min"]).all()


def test_rating_consensus_stays_on_the_scale():
    """Two raters who rate 30 points low elsewhere but hit the ceiling on the best tasks get a
    negative bias, so their corrected ratings of those tasks exceed 100 (the SQuALITY case:
    human correctness averaged 102.3 on 0-100). The consensus is clipped to the scale and
    says so."""
    rows = []
    for t in range(9):
        top = t < 3
        for a, v in (("a", 100 if top else 60), ("l1", 100 if top else 30), ("l2", 100 if top else 30)):
            rows.append({"task": t, "annotator": a, "label": v})
    df = pd.DataFrame(rows)
    free = rating_consensus(df, kinds={"label": "interval"}, scale=(-1e9, 1e9))
    assert free.tasks["value"].max() > 100  # what the unclipped model gives
    r = rating_consensus(df, kinds={"label": "interval"})
    assert r.tasks["value"].max() == 100 and r.tasks["value"].min() >= 30
    assert r.tasks["is_clipped"].tolist() == (free.tasks["value"] > 100).tolist()
    r2 = rating_consensus(df, kinds={"label": "interval"}, scale=(0, 90))
    assert r2.tasks["value"].max() == 90
    with pytest.raises(QAInputError, match="scale"):
        rating_consensus(df, kinds={"label": "interval"}, scale=(5, 1))
