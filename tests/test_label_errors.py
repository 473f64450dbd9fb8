"""Tests for qa_toolkit.errors.label_issues (cleanlab wrappers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from cleanlab.rank import get_label_quality_scores
from sklearn.metrics import roc_auc_score

from qa_toolkit._validation import QAInputError
from qa_toolkit.errors.label_issues import find_label_issues, out_of_sample_pred_probs
from qa_toolkit.errors.multiannotator import CrowdlabResult, crowdlab

CLASSES = ["bird", "cat", "dog"]


def _noisy(rng, n=300, flip=0.1):
    """True labels, confident-ish probabilities around them, and labels with ``flip`` share flipped."""
    truth = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), truth] += 3.0
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    given = truth.copy()
    flipped = rng.random(n) < flip
    given[flipped] = (truth[flipped] + rng.integers(1, 3, flipped.sum())) % 3
    idx = pd.Index([f"t{i}" for i in range(n)], name="task")
    labels = pd.Series(np.array(CLASSES, dtype=object)[given], index=idx)
    probs = pd.DataFrame(p, index=idx, columns=CLASSES)
    return labels, probs, flipped


def test_find_label_issues_recovers_flipped_labels(rng):
    labels, probs, flipped = _noisy(rng)
    out = find_label_issues(labels, probs)
    assert list(out.columns) == ["given_label", "suggested_label", "label_score", "is_label_issue",
                                 "label_quality"]
    assert out["label_quality"].equals(out["label_score"])  # alias from before the issue-table contract
    assert out.index.name == "task" and out.index.equals(labels.index)
    flagged = out["is_label_issue"].to_numpy()
    assert out["is_label_issue"].dtype == bool
    recall = flagged[flipped].mean()
    precision = flipped[flagged].mean()
    assert recall > 0.8, recall
    assert precision > 0.7, precision
    # lower quality = more likely mislabelled
    assert roc_auc_score(flipped, -out["label_score"]) > 0.95
    assert out["label_score"].between(0, 1).all()


def test_find_label_issues_matches_cleanlab_scores_and_array_input(rng):
    labels, probs, _ = _noisy(rng, n=120)
    codes = pd.Index(CLASSES).get_indexer(labels)
    expected = get_label_quality_scores(codes, probs.to_numpy(), method="normalized_margin")
    out = find_label_issues(labels.to_numpy(), probs.to_numpy(), classes=CLASSES, score_method="normalized_margin")
    np.testing.assert_allclose(out["label_score"].to_numpy(), expected)
    assert isinstance(out.index, pd.RangeIndex)
    # DataFrame rows in another order are aligned on task
    shuffled = probs.sample(frac=1.0, random_state=0)
    np.testing.assert_allclose(
        find_label_issues(labels, shuffled)["label_score"].to_numpy(),
        find_label_issues(labels, probs)["label_score"].to_numpy(),
    )


def test_find_label_issues_bad_input(rng):
    labels, probs, _ = _noisy(rng, n=30)
    with pytest.raises(QAInputError, match="sum to 1"):
        find_label_issues(labels, probs * 0.9)
    with pytest.raises(QAInputError, match="rows but there are"):
        find_label_issues(labels.to_numpy(), probs.to_numpy()[:-1])
    with pytest.raises(QAInputError, match="2-D"):
        find_label_issues(labels.to_numpy(), probs.to_numpy()[:, 0])
    with pytest.raises(QAInputError, match="outside the class list.*'fish'"):
        find_label_issues(labels.replace({"cat": "fish"}), probs)
    with pytest.raises(QAInputError, match="no row for 1 labelled task"):
        find_label_issues(labels, probs.iloc[1:])
    bad = probs.copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(QAInputError, match="NaN"):
        find_label_issues(labels, bad)
    with pytest.raises(QAInputError, match="'filter_by' parameter of find_label_issues must be one of"):
        find_label_issues(labels, probs, filter_by="prune")
    with pytest.raises(QAInputError, match="classes"):
        find_label_issues(labels, probs, classes=CLASSES)
    with pytest.raises(QAInputError, match="3 columns"):
        find_label_issues(labels.to_numpy(), probs.to_numpy(), classes=["a", "b"])


def _crowd(rng, n=200):
    """4 decent annotators (85% right) and one who answers at random, plus model probabilities."""
    truth = rng.integers(0, 3, n)
    rows = []
    for a, acc in zip("abcde", [0.85, 0.85, 0.85, 0.85, 1 / 3]):
        for t in range(n):
            if rng.random() < 0.8:  # sparse: not every annotator labels every task
                lab = truth[t] if rng.random() < acc else rng.integers(0, 3)
                rows.append((f"t{t}", a, CLASSES[lab]))
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), truth] += 2.0
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs = pd.DataFrame(p, index=[f"t{t}" for t in range(n)], columns=CLASSES)
    return df, probs, pd.Series(np.array(CLASSES, dtype=object)[truth], index=probs.index)


def test_crowdlab_ranks_random_annotator_last_and_beats_majority(rng):
    df, probs, truth = _crowd(rng)
    res = crowdlab(df, probs)
    assert isinstance(res, CrowdlabResult)
    lq, aq = res.label_quality, res.annotator_quality
    assert lq.index.name == "task" and set(lq.index) == set(df["task"])
    assert {"consensus_label", "consensus_quality", "annotator_agreement", "num_annotations",
            "label_quality", "label_score", "is_label_issue"} <= set(lq.columns)
    assert lq["label_score"].equals(lq["consensus_quality"])
    assert aq.index.name == "annotator" and aq["annotator_quality"].idxmin() == "e"
    assert set(aq["worst_class"]) <= set(CLASSES)
    acc = (lq["consensus_label"] == truth.loc[lq.index]).mean()
    counts = df.groupby("task")["label"].agg(lambda s: s.value_counts().index[0])
    mv_acc = (counts.loc[lq.index] == truth.loc[lq.index]).mean()
    assert acc >= mv_acc - 0.01 and acc > 0.9, (acc, mv_acc)
    wrong = lq["consensus_label"] != truth.loc[lq.index]
    if wrong.any():  # wrong consensus labels get lower quality
        assert lq.loc[wrong, "consensus_quality"].mean() < lq.loc[~wrong, "consensus_quality"].mean()
    assert "CROWDLAB" in str(res)


def test_crowdlab_bad_input(rng):
    df, probs, _ = _crowd(rng, n=40)
    with pytest.raises(QAInputError, match="no row for"):
        crowdlab(df, probs.iloc[1:])
    bad = df.copy()
    bad.loc[0, "label"] = "fish"
    with pytest.raises(QAInputError, match="outside the class list.*'fish'"):
        crowdlab(bad, probs)
    with pytest.raises(QAInputError, match="DataFrame indexed by task"):
        crowdlab(df, probs.to_numpy())
    with pytest.raises(QAInputError, match="sum to 1"):
        crowdlab(df, probs * 2 / 3)
    with pytest.raises(QAInputError, match="at least 2 annotators"):
        crowdlab(df[df["annotator"] == "a"], probs)


def test_out_of_sample_pred_probs_is_out_of_sample(rng):
    from sklearn.neighbors import KNeighborsClassifier

    X = rng.normal(size=(200, 5))
    y = pd.Series(rng.choice(["x", "y"], 200), index=pd.Index(range(100, 300), name="task"))
    knn = KNeighborsClassifier(n_neighbors=1)
    in_sample = knn.fit(X, y).predict(X)
    assert (in_sample == y.to_numpy()).mean() == 1.0  # a memorising model
    probs = out_of_sample_pred_probs(X, y, model=knn, cv=5, random_state=0)
    assert probs.index.equals(y.index) and list(probs.columns) == ["x", "y"]
    assert (probs.idxmax(axis=1) == y).mean() < 0.7  # random labels: near chance out of sample
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_out_of_sample_pred_probs_learns_and_is_reproducible(rng):
    X = np.r_[rng.normal(0, 1, (60, 3)), rng.normal(3, 1, (60, 3))]
    y = ["a"] * 60 + ["b"] * 60
    p1 = out_of_sample_pred_probs(X, y, random_state=3)
    p2 = out_of_sample_pred_probs(X, y, random_state=3)
    pd.testing.assert_frame_equal(p1, p2)
    assert (p1.idxmax(axis=1).to_numpy() == np.array(y)).mean() > 0.9
    ps = out_of_sample_pred_probs(sp.csr_matrix(X), y, random_state=3)
    assert ps.shape == (120, 2)


def test_out_of_sample_pred_probs_bad_input(rng):
    X = rng.normal(size=(20, 2))
    y = ["a"] * 17 + ["b"] * 3
    with pytest.raises(QAInputError, match="at least cv=5 items.*'b' has 3"):
        out_of_sample_pred_probs(X, y)
    with pytest.raises(QAInputError, match="20 rows but 'labels' has 19"):
        out_of_sample_pred_probs(X, y[:-1], cv=3)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(QAInputError, match="NaN"):
        out_of_sample_pred_probs(Xn, y, cv=3)
    with pytest.raises(QAInputError, match="predict_proba"):
        out_of_sample_pred_probs(X, y, cv=3, model=object())
    with pytest.raises(QAInputError, match="'cv' parameter"):
        out_of_sample_pred_probs(X, y, cv=1)


def test_find_label_issues_on_cifar10_test_set(shared_datasets):
    """Real data: cleanlab's published CIFAR-10 test pyx and MTurk validation (Northcutt et al. 2021)."""
    import json

    root = shared_datasets / "cleanlab_label_errors"
    if not root.exists():
        pytest.skip(f"{root} missing")
    p = np.load(root / "pyx" / "cifar10_test_set_pyx.npy")
    given = np.load(root / "labels" / "cifar10_test_set_original_labels.npy")
    mturk = json.loads((root / "mturk" / "cifar10_mturk.json").read_text())
    candidates = np.array([r["id"] for r in mturk])
    errors = np.array([r["id"] for r in mturk if r["mturk"]["given"] < 3])
    out = find_label_issues(given, p)
    flagged = out["is_label_issue"].to_numpy()
    # measured with cleanlab 2.9 (default prune_by_noise_rate): 284 flagged, 49 of the 54 validated errors
    assert flagged.sum() == 284
    assert flagged[errors].sum() == 49
    # every MTurk candidate of the paper has a prediction that differs from its given label
    assert (out["suggested_label"].to_numpy()[candidates] != given[candidates]).all()
    # validated errors score lower than the other candidates
    rest = np.setdiff1d(candidates, errors)
    assert out["label_score"].to_numpy()[errors].mean() < out["label_score"].to_numpy()[rest].mean()


def test_crowdlab_on_hs_brexit_with_text_probabilities(shared_datasets):
    """Real data: LeWiDi HS-Brexit (6 annotators on all 1,120 tweets), TF-IDF out-of-sample probabilities."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from qa_toolkit.aggregation import majority_vote
    from qa_toolkit.datasets import load_dataset

    if not (shared_datasets / "lewidi2023").exists():
        pytest.skip("lewidi2023 missing from ../shared/datasets")
    d = load_dataset("lewidi2023_hs_brexit", data_home=shared_datasets)
    mv = majority_vote(d.annotations, random_state=0)
    X = TfidfVectorizer(min_df=2, ngram_range=(1, 2), sublinear_tf=True).fit_transform(d.items["text"].loc[mv.index])
    probs = out_of_sample_pred_probs(X, mv, cv=5, random_state=0)
    assert (probs.idxmax(axis=1) == mv).mean() > 0.85  # measured 0.910
    res = crowdlab(d.annotations, probs)
    assert len(res.label_quality) == 1120 and len(res.annotator_quality) == 6
    # the data's "control group" (Ann4-6, other_info) disagrees more with the consensus: measured 0.78-0.84
    # vs 0.92-0.93 for the "target group" Ann1-3
    assert set(res.annotator_quality.nsmallest(3, "annotator_quality").index) == {"Ann4", "Ann5", "Ann6"}
    assert (res.label_quality["consensus_label"] == mv.loc[res.label_quality.index]).mean() > 0.9
