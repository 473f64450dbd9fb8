"""Tests of qa_toolkit.sampling: Wilson interval and sample size, phase plans, gold selection, leakage."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from qa_toolkit._validation import QAInputError
from qa_toolkit.triage.sampling import (
    PHASE_RATES,
    gold_leakage,
    sampling_plan,
    select_gold,
    wilson_interval,
    wilson_sample_size,
)


@pytest.mark.parametrize("k,n,conf", [(8, 10, 0.95), (0, 7, 0.95), (45, 50, 0.90), (120, 400, 0.99)])
def test_wilson_matches_statsmodels(k, n, conf):
    # reference: statsmodels.stats.proportion.proportion_confint(k, n, alpha, method="wilson")
    lo, hi = wilson_interval(k, n, confidence=conf)
    rlo, rhi = proportion_confint(k, n, alpha=1 - conf, method="wilson")
    assert float(lo) == pytest.approx(rlo, abs=1e-9)
    assert float(hi) == pytest.approx(rhi, abs=1e-9)


def test_wilson_zero_n_is_nan():
    lo, hi = wilson_interval([1, 0], [2, 0])
    assert np.isnan(lo[1]) and np.isnan(hi[1]) and not np.isnan(lo[0])


def test_wilson_sample_size_closed_form_and_minimality():
    # p = 0.5: half-width z / (2 sqrt(n + z^2)) => n = (z / 2 eps)^2 - z^2 = 380.3 -> 381
    z = 1.959963984540054
    assert wilson_sample_size(epsilon=0.05) == int(np.ceil((z / 0.1) ** 2 - z**2))
    for eps, p in [(0.05, 0.9), (0.03, 0.8), (0.1, 0.5)]:
        n = wilson_sample_size(epsilon=eps, expected_accuracy=p)
        lo, hi = wilson_interval(p * n, n)
        lo1, hi1 = wilson_interval(p * (n - 1), n - 1)
        assert (hi - lo) / 2 <= eps + 1e-12 < (hi1 - lo1) / 2


def test_wilson_sample_size_rejects_bad_epsilon():
    with pytest.raises(QAInputError, match="epsilon"):
        wilson_sample_size(epsilon=0)


def _tasks(n_common=300, n_rare=10):
    labels = ["a"] * n_common + ["b"] * n_rare
    return pd.DataFrame({"task": range(len(labels)), "annotator": ["x", "y"] * (len(labels) // 2), "label": labels})


@pytest.mark.parametrize("phase", list(PHASE_RATES))
def test_phase_rates_and_rare_oversampling(phase):
    df = _tasks()
    plan = sampling_plan(df, phase=phase, random_state=0)
    lo, hi = PHASE_RATES[phase]
    rate = (lo + hi) / 2
    assert plan.labels.loc["a", "n_review"] == int(np.ceil(rate * 300 - 1e-9))
    assert plan.labels.loc["b", "rate"] == pytest.approx(min(1.0, 3 * rate))
    assert plan.labels.loc["b", "n_review"] == int(np.ceil(min(1.0, 3 * rate) * 10 - 1e-9))
    assert "Sampling plan" in str(plan) and "Wilson" in str(plan)


def test_plan_is_reproducible_and_seed_dependent():
    df = _tasks()
    a = sampling_plan(df, phase="production", random_state=1).tasks["review"]
    b = sampling_plan(df, phase="production", random_state=1).tasks["review"]
    c = sampling_plan(df, phase="production", random_state=2).tasks["review"]
    assert a.equals(b) and not a.equals(c)


def test_new_annotators_first_n_all_reviewed():
    df = _tasks()
    df.loc[df.index[-40:], "annotator"] = "newbie"
    plan = sampling_plan(df, phase="production", new_annotators=["newbie"], n_first=15, random_state=0)
    first = df[df["annotator"] == "newbie"]["task"].iloc[:15]
    assert plan.tasks.loc[first, "review"].all()
    assert plan.annotators.loc["newbie", "n_first_reviewed"] == 15
    assert plan.tasks.loc[first, "reasons"].str.contains("new annotator newbie").all()


def test_new_annotator_order_uses_created_at():
    df = pd.DataFrame({"task": [1, 2, 3], "annotator": "n", "label": "a",
                       "created_at": pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"], utc=True)})
    plan = sampling_plan(df, phase="maintenance", review_rate=0.0, new_annotators=["n"], n_first=1)
    assert plan.tasks["review"].tolist() == [False, True, False]


def test_unknown_new_annotator_and_bad_phase_raise():
    df = _tasks()
    with pytest.raises(QAInputError, match="new_annotators"):
        sampling_plan(df, new_annotators=["ghost"])
    with pytest.raises(QAInputError, match="'phase'.*pilot"):
        sampling_plan(df, phase="launch")


def test_flagged_tasks_reviewed():
    plan = sampling_plan(_tasks(), phase="maintenance", review_rate=0.0, flagged=[3, 5])
    assert plan.tasks.index[plan.tasks["review"]].tolist() == [3, 5]


def test_select_gold_stratified_and_seeded():
    g = pd.Series(["a"] * 80 + ["b"] * 15 + ["c"] * 5, index=range(100))
    chosen = select_gold(g, n=20, random_state=3)
    assert len(chosen) == 20 and chosen.is_unique
    assert g[chosen].value_counts().to_dict() == {"a": 16, "b": 3, "c": 1}
    assert select_gold(g, n=20, random_state=3).equals(chosen)
    assert not select_gold(g, n=20, random_state=4).equals(chosen)
    with pytest.raises(QAInputError, match="'n'"):
        select_gold(g, n=101)


def test_gold_leakage_counts():
    df = pd.DataFrame({"task": [1, 1, 1, 2, 3], "annotator": ["a", "a", "b", "a", "a"], "label": 0})
    leak = gold_leakage(df, [1, 2])
    assert leak.set_index(["annotator", "task"])["n_seen"].to_dict() == {("a", 1): 2, ("b", 1): 1, ("a", 2): 1}
    assert leak["is_leak_issue"].sum() == 1


def test_plan_extra_annotators_and_gold(toy_annotations):
    gold = pd.Series({1: "cat", 2: "dog", 4: "bird", 5: "dog"})
    plan = sampling_plan(toy_annotations, phase="production", gold=gold, n_gold=3, agreement_threshold=0.7,
                         max_additional=2, random_state=0)
    t = plan.tasks
    # pairwise agreement: task 3 = 2/12, task 1/4/5 = 12/20 = 0.6 < 0.7, task 2 = 1; median overlap 5, cap 7
    assert t["extra_annotator"].to_dict() == {1: True, 2: False, 3: True, 4: True, 5: True}
    assert t["gold_check"].sum() == 3 and set(plan.gold_items) <= set(gold.index)
    assert set(plan.leakage.columns) >= {"annotator", "task", "n_seen", "is_leak_issue"}
    assert "gold items chosen stratified" in str(plan)
    with pytest.raises(QAInputError, match="none of its"):
        sampling_plan(toy_annotations, gold=pd.Series({"zz": "cat"}))
