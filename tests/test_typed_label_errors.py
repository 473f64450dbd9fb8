"""Model-based label errors for multi-label, span (token) and box fields (cleanlab wrappers).

Real data: the PRESTO Prodigy multi-label export (131 items x 3 annotators) and the evalme
Label Studio boxes with their model predictions (../shared/realworld_exports/SOURCE.md).
PRESTO has no model: the predicted probabilities below are SYNTHETIC, derived from the
*other* annotators of each item (leave-one-out vote shares, smoothed), so that an
annotation is checked against its peers. They are labelled as such wherever used.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from qa_toolkit import QAInputError
from qa_toolkit.errors.typed import (
    box_label_issues,
    multilabel_label_issues,
    token_label_issues,
    whitespace_tokens,
)
from qa_toolkit.io import read_annotations, read_predictions, read_prodigy

PRESTO = "prodigy/presto_nlp/types_de_los_coincidentes__3ann_multilabel_131_common.jsonl"
EVALME = "label_studio/json/evalme_test_bbox__3annotators_predictions.json"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # cleanlab's few-examples notes


def _presto(realworld_exports):
    return read_prodigy(realworld_exports / PRESTO, task_key="id", manual_reject="empty",
                        annotator=lambda s: s.split("-", 1)[1])


def _leave_one_out_probs(df: pd.DataFrame) -> pd.DataFrame:
    """SYNTHETIC pred_probs: per (task, annotator), P(label) = (votes of the others + 0.5) / (others + 1)."""
    asg = df.attrs["assignments"][["task", "annotator"]]
    labels = sorted(df["label"].unique())
    onehot = pd.crosstab([df["task"], df["annotator"]], df["label"]).reindex(columns=labels, fill_value=0)
    onehot = onehot.reindex(pd.MultiIndex.from_frame(asg), fill_value=0).clip(upper=1)
    totals = onehot.groupby(level="task").transform("sum")
    n_others = asg.groupby("task")["annotator"].transform("size").to_numpy()[:, None] - 1
    p = (totals - onehot + 0.5) / (n_others + 1)
    p.index = pd.MultiIndex.from_frame(asg)
    return p


def test_presto_injected_errors_are_flagged(realworld_exports):
    df = _presto(realworld_exports)
    sets = df.groupby(["task", "annotator"])["label"].agg(frozenset).unstack()
    unanimous = sets.index[(sets.nunique(axis=1) == 1) & sets.notna().all(axis=1)][:8].tolist()
    assert len(unanimous) == 8
    # corrupt annotator1 on 8 items where all three agreed: replace the label set by another label
    labels = sorted(df["label"].unique())
    bad = df[~((df["annotator"] == "annotator1") & df["task"].isin(unanimous))]
    new = [{"task": t, "annotator": "annotator1", "label": next(lab for lab in labels if lab not in sets.loc[t, "annotator1"]),
            "field": "choice", "kind": "multilabel"} for t in unanimous]
    corrupted = pd.concat([bad, pd.DataFrame(new)], ignore_index=True)
    corrupted.attrs["assignments"] = df.attrs["assignments"]
    out = multilabel_label_issues(corrupted, _leave_one_out_probs(corrupted))
    assert len(out) == 393 and out.attrs["empties_counted"]
    hit = out["task"].isin(unanimous) & (out["annotator"] == "annotator1")
    assert out.loc[hit, "is_label_issue"].all()
    assert out.loc[hit, "label_score"].max() < out.loc[~hit, "label_score"].median()


def test_presto_real_disagreement_scores_lower(realworld_exports):
    df = _presto(realworld_exports)
    out = multilabel_label_issues(df, _leave_one_out_probs(df))
    key = out.set_index(["task", "annotator"])["given_labels"].map(frozenset)
    agree = key.groupby(level="task").transform(lambda s: s.map(s.value_counts()) - 1)  # peers with the same set
    scores = out.set_index(["task", "annotator"])["label_score"]
    # an annotation matched by both peers scores higher on average than one matched by none
    assert scores[agree == 2].mean() > scores[agree == 0].mean() + 0.2
    assert out["is_label_issue"].sum() > 0
    assert not out.loc[(agree == 2).to_numpy(), "is_label_issue"].any()
    # per-task pred_probs (one row per item) are accepted too
    per_task = _leave_one_out_probs(df).groupby(level="task").mean()
    assert len(multilabel_label_issues(df, per_task)) == 393


def test_refuses_fields_of_another_kind():
    spans = pd.DataFrame({"task": [1], "annotator": ["a"], "label": ["PER"], "start": [0], "end": [3],
                          "field": ["ner"], "kind": ["span"]})
    with pytest.raises(QAInputError, match=r"field 'ner' has kind 'span'.*use token_label_issues"):
        multilabel_label_issues(spans, pd.DataFrame({"PER": [0.9], "LOC": [0.1]}, index=[1]))
    cat = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", "y"], "kind": "categorical"})
    with pytest.raises(QAInputError, match=r"kind 'categorical'.*crowdlab"):
        multilabel_label_issues(cat, pd.DataFrame({"x": [0.9], "y": [0.1]}, index=[1]))
    ml = pd.DataFrame({"task": [1, 1], "annotator": ["a", "a"], "label": ["x", "y"], "kind": "multilabel"})
    with pytest.raises(QAInputError, match=r"box_label_issues reads box fields.*use multilabel_label_issues"):
        box_label_issues(ml, pd.DataFrame(columns=["task", "label", "score", "x_min", "y_min", "x_max", "y_max"]))
    with pytest.raises(QAInputError, match="not columns of 'pred_probs'"):
        multilabel_label_issues(ml, pd.DataFrame({"x": [0.9], "z": [0.1]}, index=[1]))
    with pytest.raises(QAInputError, match=r"in \[0, 1\]"):
        multilabel_label_issues(ml, pd.DataFrame({"x": [1.9], "y": [0.1]}, index=[1]))


def test_token_issues_missed_span_is_flagged():
    text = "Ann met Bob in Rome today"
    toks = whitespace_tokens(text)  # Ann met Bob in Rome today
    classes = ["O", "PER", "LOC"]
    gold = [1, 0, 1, 0, 2, 0]
    probs = np.full((6, 3), 0.025)
    probs[np.arange(6), gold] = 0.95
    rows = []
    for t in range(1, 9):  # 8 tasks with the same sentence; annotator b misses 'Bob' on task 3
        for who in ("a", "b"):
            for s, e, lab in ((0, 3, "PER"), (8, 11, "PER"), (15, 19, "LOC")):
                if not (t == 3 and who == "b" and s == 8):
                    rows.append((t, who, lab, s, e))
    df = pd.DataFrame(rows, columns=["task", "annotator", "label", "start", "end"]).assign(kind="span")
    out = token_label_issues(df, {t: probs for t in range(1, 9)}, tokens={t: toks for t in range(1, 9)},
                             classes=classes)
    assert len(out) == 8 * 2 * 6
    flagged = out[out["is_label_issue"]]
    assert flagged[["task", "annotator", "unit", "given_label", "suggested_label"]].values.tolist() == [
        [3, "b", 2, "O", "PER"]]
    worst = out.attrs["annotation_scores"].sort_values("label_score").iloc[0]
    assert (worst["task"], worst["annotator"]) == (3, "b")
    with pytest.raises(QAInputError, match=r"task 1 has shape \(5, 3\); expected \(6 tokens, 3 classes\)"):
        token_label_issues(df, {t: probs[:5] for t in range(1, 9)}, tokens={t: toks for t in range(1, 9)},
                           classes=classes)


def test_box_issues_empty_annotation_against_the_model():
    # annotator b was assigned task 2 and drew nothing where the model sees a confident cat
    rows = [(t, w, "cat", 10, 10, 50, 50) for t in (1, 2, 3) for w in ("a", "b") if (t, w) != (2, "b")]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label", "x_min", "y_min", "x_max", "y_max"])
    df["kind"] = "box"
    df.attrs["assignments"] = pd.DataFrame([(t, w) for t in (1, 2, 3) for w in ("a", "b")],
                                           columns=["task", "annotator"])
    pred = pd.DataFrame([(t, "cat", 0.97, 11, 10, 50, 49) for t in (1, 2, 3)],
                        columns=["task", "label", "score", "x_min", "y_min", "x_max", "y_max"])
    out = box_label_issues(df, pred).set_index(["task", "annotator"])
    assert out.loc[(2, "b"), "n_boxes"] == 0
    assert bool(out.loc[(2, "b"), "is_label_issue"])
    assert out["is_label_issue"].sum() == 1
    assert out["label_score"].idxmin() == (2, "b")
    rotated = df.assign(rotation=[0, 0, 0, 0, 30.0])
    with pytest.raises(QAInputError, match=r"rotated boxes \(task 3, annotator 'b', rotation 30.0\)"):
        box_label_issues(rotated, pred)


def test_box_issues_on_real_evalme_predictions(realworld_exports):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_annotations(realworld_exports / EVALME)
        pred = read_predictions(realworld_exports / EVALME)
    out = box_label_issues(df, pred)
    # SOURCE.md: 5 tasks x 3 annotators, 91 boxes; 30 predicted regions
    assert len(out) == 15 and out["n_boxes"].sum() == 91
    assert out["label_score"].between(0, 1).all()
    # flagged annotations are the lowest-scored ones
    assert out.loc[out["is_label_issue"], "label_score"].max() < out.loc[
        ~out["is_label_issue"], "label_score"].min() + 1e-9


def test_token_issues_on_real_leoka_spans(realworld_exports):
    """LEOKA team 6 spans (Label Studio, 3 annotators) on 8 reports. SYNTHETIC token probabilities:
    for each annotation, the smoothed share of the other two annotators giving each token class."""
    import json

    path = realworld_exports / "label_studio/json/leoka_team_6__ner_taxonomy_multiannotator_gt.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = read_annotations(path, errors="warn")
    texts = {t["id"]: t["data"]["text"] for t in json.loads(path.read_text(encoding="utf-8"))}
    asg = data.attrs["assignments"]
    three = asg.groupby("task")["annotator"].nunique()
    tasks = sorted(three.index[three == 3])[:8]
    sub = data[data["task"].isin(tasks)]
    spans = sub[sub["field"] == "label"]
    classes = ["O", *sorted(spans["label"].unique())]
    tokens = {t: whitespace_tokens(texts[t]) for t in tasks}
    # the test's own IO labelling of every annotation (reference for the synthetic probabilities)
    given = {}
    for t in tasks:
        tok = np.asarray(tokens[t])
        for who in asg.loc[asg["task"] == t, "annotator"]:
            lab = np.zeros(len(tok), dtype=int)
            for r in spans[(spans["task"] == t) & (spans["annotator"] == who)].itertuples():
                lab[(tok[:, 0] < r.end) & (tok[:, 1] > r.start)] = classes.index(r.label)
            given[t, who] = lab
    probs = {}
    for t, who in given:
        others = [v for (t2, w2), v in given.items() if t2 == t and w2 != who]
        counts = sum(np.eye(len(classes))[o] for o in others)
        probs[t, who] = (counts + 0.1) / (len(others) + 0.1 * len(classes))
    out = token_label_issues(sub, probs, tokens=tokens, classes=classes, field="label")
    assert len(out) == sum(len(v) for v in given.values())
    assert out["given_label"].tolist() == [classes[i] for t in tasks for who in sorted(
        asg.loc[asg["task"] == t, "annotator"]) for i in given[t, who]]
    # tokens where the two others agree with each other but not with this annotator
    key = list(zip(out["task"], out["annotator"], out["unit"]))
    lone = np.array([all(given[t, w][u] != given[t, o][u] for (t2, o) in given if t2 == t and o != w)
                     and len({given[t, o][u] for (t2, o) in given if t2 == t and o != w}) == 1 for t, w, u in key])
    agreed = np.array([len({given[t, o][u] for (t2, o) in given if t2 == t}) == 1 for t, w, u in key])
    assert lone.sum() > 20
    assert not out.loc[agreed, "is_label_issue"].any()
    assert out.loc[lone, "is_label_issue"].mean() > 0.9
    assert out.loc[out["is_label_issue"] & ~lone].shape[0] <= 0.1 * out["is_label_issue"].sum()
