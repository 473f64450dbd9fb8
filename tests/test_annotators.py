"""Tests of qa_toolkit.annotators, on hand-made tables and on real crowd data."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr

from qa_toolkit._validation import QAInputError
from qa_toolkit.annotators import annotator_report, loo_agreement, same_label
from qa_toolkit.stats import wilson_interval

REQUIRED = ["n_labels", "agreement", "gold_accuracy", "gold_ci_low", "gold_ci_high", "ds_accuracy",
            "median_lead_time", "flags"]


def test_required_columns_and_index(toy_annotations):
    r = annotator_report(toy_annotations, gold=pd.Series({1: "cat", 2: "dog"}), min_labels=1, min_gold=1)
    assert r.index.name == "annotator" and set(REQUIRED) <= set(r.columns)
    assert r.index.tolist() == list("abcde")
    assert r.loc["d", "gold_accuracy"] == 0.5 and r.loc["a", "gold_accuracy"] == 1.0
    lo, hi = wilson_interval(1, 2)
    assert r.loc["d", "gold_ci_low"] == pytest.approx(float(lo)) and r.loc["d", "gold_ci_high"] == pytest.approx(float(hi))
    assert r.loc["e", "gold_n"] == 2


def test_loo_agreement_by_hand(toy_annotations):
    s = loo_agreement(toy_annotations)
    # task 1: a,b,c,e say cat (3 of 4 others agree), d says dog (0 of 4)
    assert s.iloc[0] == 0.75 and s.iloc[3] == 0.0
    r = annotator_report(toy_annotations, dawid_skene=False, min_labels=1)
    assert r.loc["a", "agreement"] == pytest.approx(s[toy_annotations["annotator"] == "a"].mean())


def test_same_label_numeric_string():
    assert same_label([1, 2, "x"], ["1.0", 3, "x"]).tolist() == [True, False, True]


def test_spammer_flags_constant_fast_and_insufficient(rng):
    n = 60
    rows = []
    for t in range(n):
        truth = ["a", "b", "c"][t % 3]
        for ann in ("good1", "good2", "good3"):
            rows.append((t, ann, truth, 10.0 + rng.random()))
        rows.append((t, "constant", "a", 9.0))
        rows.append((t, "fast", ["a", "b", "c"][rng.integers(3)], 0.5))
    rows.append((0, "newbie", "a", 10.0))
    df = pd.DataFrame(rows, columns=["task", "annotator", "label", "lead_time"])
    r = annotator_report(df, dawid_skene=False)
    assert "constant label" in r.loc["constant", "flags"]
    assert "too fast" in r.loc["fast", "flags"]
    assert r.loc["newbie", "flags"] == "insufficient data"
    assert not r.loc["good1", "is_spammer_issue"] and r.loc["good1", "flags"] == ""
    assert r.loc["fast", "median_lead_time"] == 0.5


def test_needs_calibration_and_worst_label():
    # annotator 'w' is right on 'a' but calls every 'b' a 'c'
    rows, gold = [], {}
    for t in range(60):
        truth = "a" if t < 30 else "b"
        gold[t] = truth
        rows += [(t, "x", truth), (t, "y", truth), (t, "w", "c" if truth == "b" else truth)]
    r = annotator_report(pd.DataFrame(rows, columns=["task", "annotator", "label"]), gold=pd.Series(gold), dawid_skene=False)
    assert r.loc["w", "worst_label"] == "b" and r.loc["w", "most_confused"] == "b -> c"
    assert r.loc["w", "gold_accuracy"] == pytest.approx(30 / 60)
    assert r.loc["w", "flags"] == "needs calibration" and r.loc["x", "flags"] == ""


def test_decision_rates_with_undo():
    df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xyxx")})
    log = pd.DataFrame({"seq": [1, 2, 3, 4], "task": [1, 2, 2, 2], "decision": ["fix", "reject", "undo", "accept"]})
    r = annotator_report(df, decisions=log, dawid_skene=False, min_labels=1)
    assert r.loc["a", "fix_rate"] == 0.5 and r.loc["a", "accept_rate"] == 0.5 and r.loc["a", "reject_rate"] == 0


def test_model_alignment():
    df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xyxy")})
    probs = pd.DataFrame({"x": [0.9, 0.8], "y": [0.1, 0.2]}, index=[1, 2])
    r = annotator_report(df, pred_probs=probs, dawid_skene=False, min_labels=1)
    assert r["model_alignment"].tolist() == [1.0, 0.0]


def test_bad_inputs(toy_annotations):
    with pytest.raises(QAInputError, match="none of its 1 tasks is in the annotations"):
        annotator_report(toy_annotations, gold=pd.Series({"nope": "cat"}))
    with pytest.raises(QAInputError, match="gold"):
        annotator_report(toy_annotations, gold={"1": "cat"})
    with pytest.raises(ValueError, match="lacks the required column"):
        annotator_report(toy_annotations.drop(columns="label"))


def test_ds_accuracy_present(toy_annotations):
    r = annotator_report(toy_annotations, min_labels=1)
    assert r["ds_accuracy"].between(0, 1).all()


# --- real data -----------------------------------------------------------------------

def test_cifar10n_per_annotator_accuracy(shared_datasets):
    from qa_toolkit.datasets import load_dataset

    d = load_dataset("cifar10n")
    r = annotator_report(d.annotations, gold=d.gold, dawid_skene=False)
    # Wei et al. ICLR 2022 Table 1: random1/2/3 noise 17.23 / 18.12 / 17.64 % -> mean 17.66 %
    # of individual labels; the per-annotator counts must add up to that.
    overall_error = 1 - (r["gold_accuracy"] * r["gold_n"]).sum() / r["gold_n"].sum()
    assert overall_error == pytest.approx((17.23 + 18.12 + 17.64) / 300, abs=0.001)
    assert len(r) == d.annotations["annotator"].nunique() == 747
    assert ((r["gold_ci_low"] <= r["gold_accuracy"]) & (r["gold_accuracy"] <= r["gold_ci_high"])).all()
    # leave-one-out agreement tracks gold accuracy (measured Spearman 0.67)
    assert spearmanr(r["agreement"], r["gold_accuracy"]).statistic > 0.5
    # work time hardly relates to accuracy on CIFAR-10N (measured Spearman -0.02)
    assert abs(spearmanr(r["median_lead_time"], r["gold_accuracy"]).statistic) < 0.15


@pytest.mark.parametrize("name,min_r", [("snow2008_rte", 0.7), ("snow2008_temp", 0.7),
                                        ("zheng2017_d_product", 0.7), ("zheng2017_s_adult", 0.4)])
def test_ds_accuracy_tracks_gold_accuracy(shared_datasets, name, min_r):
    # measured Pearson r: RTE 0.88, TEMP 0.89, D_Product 0.96, S_Adult 0.54
    from qa_toolkit.datasets import load_dataset

    d = load_dataset(name)
    r = annotator_report(d.annotations, gold=d.gold)
    m = r[r["gold_n"] >= 10]
    assert len(m) >= 20
    assert pearsonr(m["ds_accuracy"], m["gold_accuracy"]).statistic > min_r


@pytest.mark.parametrize("name", ["zheng2017_s_rel", "zheng2017_s_adult"])
def test_gold_free_spam_flags_have_lower_gold_accuracy(shared_datasets, name):
    # flags computed WITHOUT gold, judged against gold afterwards
    # measured gold accuracy flagged vs not: S_Rel 0.26 vs 0.52, S_Adult 0.56 vs 0.70
    from qa_toolkit.datasets import load_dataset

    d = load_dataset(name)
    blind = annotator_report(d.annotations, dawid_skene=False)
    judged = annotator_report(d.annotations, gold=d.gold, dawid_skene=False)
    ok = judged["gold_n"] >= 10
    acc = judged.loc[ok, "gold_accuracy"]
    flagged = blind.loc[ok, "is_spammer_issue"]
    assert flagged.sum() >= 3
    assert acc[flagged].mean() < acc[~flagged].mean() - 0.1


def test_gal_hitspam_flags(shared_datasets):
    from qa_toolkit.datasets import load_dataset

    # CrowdFlower version: labels are unanimous within every HIT upstream (0 of 5,380 mixed),
    # so only gold can expose bad workers; the near-random flag must pick the low-accuracy ones.
    d = load_dataset("gal_hitspam_crowdflower")
    r = annotator_report(d.annotations, gold=d.gold, dawid_skene=False)
    near = r["flags"].str.contains("near-random")
    assert near.sum() >= 5 and (r.loc[near, "gold_accuracy"] <= 0.6).all()
    # MTurk version (no usable gold): gold-free flags pick workers whose DS accuracy is lower
    m = annotator_report(load_dataset("gal_hitspam_mturk").annotations)
    spam = m["is_spammer_issue"]
    assert spam.sum() >= 3 and m.loc[spam, "ds_accuracy"].mean() < m.loc[~spam, "ds_accuracy"].mean()


def test_report_row_order_and_relabel_invariance(toy_annotations):
    a = annotator_report(toy_annotations, dawid_skene=False, min_labels=1)
    shuffled = toy_annotations.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(a, annotator_report(shuffled, dawid_skene=False, min_labels=1))
    renamed = toy_annotations.assign(annotator=toy_annotations["annotator"].map(lambda s: "w_" + s))
    b = annotator_report(renamed, dawid_skene=False, min_labels=1)
    np.testing.assert_allclose(a["agreement"].to_numpy(), b["agreement"].to_numpy())


def test_report_agreement_is_the_one_per_annotator_definition():
    """Issue #12: one per-annotator agreement (leave-one-out, CI over tasks) for every reader."""
    from qa_toolkit.annotators import annotator_agreement
    from qa_toolkit.datasets import load_dataset

    d = load_dataset("dawid_skene_1979").annotations
    rep = annotator_report(d, dawid_skene=False)
    one = annotator_agreement(d)
    cols = ["n_labels", "n_tasks", "agreement", "agreement_ci_low", "agreement_ci_high"]
    pd.testing.assert_frame_equal(rep[cols], one[cols], check_dtype=False)
    # by hand for clinician 1 on patient 1: leave-one-out shares averaged over their rows
    loo = loo_agreement(d)
    assert one.loc[1, "agreement"] == pytest.approx(float(loo[d["annotator"] == 1].mean()))
