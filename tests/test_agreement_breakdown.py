"""Per-task / per-annotator / per-label / pairwise breakdowns, intervals and the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit.agreement import (
    AgreementReport,
    LowOverlapWarning,
    agreement_report,
    cohen_kappa,
    confidence_interval,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    pairwise,
    per_annotator,
    per_label,
    per_task,
    scott_pi,
)

pytestmark = pytest.mark.filterwarnings("ignore::qa_toolkit.agreement.AgreementWarning")


def _sparse_table(seed=0, n_tasks=80, n_ann=6, n_lab=3, keep=0.6):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_lab, n_tasks)
    rows = []
    for t in range(n_tasks):
        for a in range(n_ann):
            if rng.random() < keep:
                lab = truth[t] if rng.random() < 0.7 else rng.integers(0, n_lab)
                rows.append((t, f"ann{a}", int(lab)))
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


def test_per_task_on_toy(toy_annotations):
    out = per_task(toy_annotations)
    assert list(out.columns[:5]) == ["n_labels", "majority_label", "agreement", "pairwise_agreement", "vote_entropy"]
    # task 1: cat x4, dog x1 -> 4/5 agree with the mode; entropy of (0.8, 0.2) in nats
    assert out.loc[1, "n_labels"] == 5 and out.loc[1, "majority_label"] == "cat"
    assert out.loc[1, "agreement"] == pytest.approx(0.8)
    assert out.loc[1, "vote_entropy"] == pytest.approx(-(0.8 * np.log(0.8) + 0.2 * np.log(0.2)))
    assert out.loc[1, "pairwise_agreement"] == pytest.approx((4 * 3) / (5 * 4))
    assert out.loc[2, "agreement"] == 1.0 and out.loc[2, "vote_entropy"] == 0.0
    # task 3: cat, dog, bird, cat -> cat 2/4
    assert out.loc[3, "majority_label"] == "cat" and out.loc[3, "agreement"] == 0.5 and not out.loc[3, "is_tie"]


def test_per_annotator_matches_brute_force():
    df = _sparse_table(1)
    out = per_annotator(df)
    for ann in out.index:
        mine = df.loc[df.annotator == ann].set_index("task")["label"]
        others = df.loc[(df.annotator != ann) & df.task.isin(mine.index)]
        agree = (others["label"].to_numpy() == mine.loc[others["task"]].to_numpy()).sum()
        assert out.loc[ann, "agreement"] == pytest.approx(agree / len(others))
        assert out.loc[ann, "n_tasks"] == others["task"].nunique()
        # kappa: chance from own labels on shared tasks x the others' labels on them
        own = mine.loc[mine.index.isin(others["task"])].value_counts(normalize=True)
        oth = others["label"].value_counts(normalize=True)
        pe = sum(own.get(k, 0) * oth.get(k, 0) for k in range(3))
        po = agree / len(others)
        assert out.loc[ann, "kappa"] == pytest.approx((po - pe) / (1 - pe))


def test_pairwise_matches_loop_of_two_rater_coefficients():
    df = _sparse_table(2)
    for metric, f in (("cohen_kappa", cohen_kappa), ("scott_pi", scott_pi)):
        for weights in (None, "quadratic"):
            pw = pairwise(df, metric=metric, weights=weights, min_overlap=1, categories=[0, 1, 2])
            assert len(pw) == 15
            for _, row in pw.iterrows():
                ref = f(df, row.annotator_a, row.annotator_b, weights=weights, categories=[0, 1, 2])
                assert row.value == pytest.approx(ref, abs=1e-10)
                shared = set(df.task[df.annotator == row.annotator_a]) & set(df.task[df.annotator == row.annotator_b])
                assert row.n == len(shared)


def test_pairwise_gwet_two_raters_matches_multi():
    df = _sparse_table(3, n_ann=2, keep=1.0)
    pw = pairwise(df, metric="gwet_ac1")
    assert pw["value"].iloc[0] == pytest.approx(gwet_ac1(df), abs=1e-12)


def test_pairwise_min_overlap_rule():
    df = _sparse_table(4, n_tasks=20, keep=0.5)
    with pytest.warns(LowOverlapWarning):
        pw = pairwise(df, min_overlap=8)
    assert pw.loc[pw.n < 8, "value"].isna().all()
    assert pw.loc[pw.n >= 8, "value"].notna().all()


def test_per_label_binary_equals_overall():
    # with two labels, each one-vs-rest table is the full table: value = Fleiss' kappa
    df = _sparse_table(5, n_lab=2)
    out = per_label(df, n_boot=50, random_state=0)
    assert out["value"].to_numpy() == pytest.approx([fleiss_kappa(df)] * 2)
    a = per_label(df, metric="krippendorff_alpha", n_boot=50, random_state=0)
    assert a["value"].to_numpy() == pytest.approx([krippendorff_alpha(df)] * 2)
    assert (out["ci_low"] <= out["value"]).all() and (out["value"] <= out["ci_high"]).all()
    assert out["prevalence"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("metric", ["fleiss_kappa", "krippendorff_alpha", "gwet_ac1", "conger_kappa", "percent_agreement", "brennan_prediger"])
def test_bootstrap_interval_is_reproducible_and_covers(metric):
    df = _sparse_table(6, n_tasks=120)
    a = confidence_interval(df, metric, n_boot=300, random_state=42)
    b = confidence_interval(df, metric, n_boot=300, random_state=42)
    pd.testing.assert_frame_equal(a, b)
    row = a.iloc[0]
    assert row.ci_low < row.value < row.ci_high
    assert row.n_tasks == 120 and row.n_pairable <= 120


@pytest.mark.parametrize("metric", ["fleiss_kappa", "gwet_ac1", "percent_agreement"])
def test_bootstrap_se_close_to_analytic_se(metric):
    df = _sparse_table(7, n_tasks=600)
    boot = confidence_interval(df, metric, n_boot=800, random_state=0)["se"].iloc[0]
    ana = confidence_interval(df, metric, method="analytic")["se"].iloc[0]
    assert boot == pytest.approx(ana, rel=0.2)


def test_cohen_bootstrap_close_to_ase():
    df = _sparse_table(8, n_tasks=600, n_ann=2, keep=1.0)
    kw = {"annotator_a": "ann0", "annotator_b": "ann1"}
    boot = confidence_interval(df, cohen_kappa, n_boot=800, random_state=0, **kw)["se"].iloc[0]
    ana = confidence_interval(df, "cohen_kappa", method="analytic", **kw)["se"].iloc[0]
    assert boot == pytest.approx(ana, rel=0.2)


def test_confidence_interval_bad_options():
    df = _sparse_table(9)
    with pytest.raises(ValueError, match="'metric' parameter"):
        confidence_interval(df, "kappa")
    # issue 10: alpha has an analytic SE now (nominal/interval/ratio); not for the ordinal distance
    with pytest.raises(ValueError, match="analytic"):
        confidence_interval(df, "krippendorff_alpha", method="analytic", level="ordinal")
    with pytest.raises(ValueError, match="does not take"):
        confidence_interval(df, "fleiss_kappa", level="interval")
    with pytest.raises(ValueError, match="does not take"):
        confidence_interval(df, "krippendorff_alpha", annotator_a="ann0")


def test_agreement_report(shared_datasets):
    from qa_toolkit.datasets import load_dataset

    df = load_dataset("welinder2010_bluebirds").annotations
    rep = agreement_report(df, n_boot=100, random_state=0)
    assert isinstance(rep, AgreementReport)
    assert rep.summary.loc["fleiss_kappa", "value"] == pytest.approx(fleiss_kappa(df))
    assert {"value", "ci_low", "ci_high", "n_tasks", "n_pairable", "interpretation"} <= set(rep.summary.columns)
    assert len(rep.pairwise) == 39 * 38 // 2 and (rep.pairwise["n"] == 108).all()
    text = str(rep)
    assert "krippendorff_alpha" in text and "Landis & Koch" in text and "alpha < 0.667" in text
    assert "<table" in rep._repr_html_()


def test_pairwise_dense_and_sparse_paths_agree(monkeypatch):
    import qa_toolkit.agreement.breakdown as bd

    df = _sparse_table(10, n_tasks=60, n_ann=7, n_lab=3, keep=0.5)
    dense = pairwise(df, min_overlap=1, weights="linear")
    monkeypatch.setattr(bd, "_DENSE_PAIR_CELLS", 0)
    sparse_ = pairwise(df, min_overlap=1, weights="linear")
    pd.testing.assert_frame_equal(dense, sparse_, check_exact=False, atol=1e-12)
    for _, row in sparse_.iterrows():
        ref = cohen_kappa(df, row.annotator_a, row.annotator_b, weights="linear", categories=[0, 1, 2])
        assert row.value == pytest.approx(ref, abs=1e-10)


def test_pairwise_row_order_invariance():
    df = _sparse_table(11, n_tasks=50, n_ann=5)
    a = pairwise(df, min_overlap=1)
    b = pairwise(df.sample(frac=1.0, random_state=3), min_overlap=1)
    pd.testing.assert_frame_equal(a, b)
