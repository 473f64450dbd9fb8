"""Tests of qa_toolkit.pilot: alpha with CI against published values, go/no-go, weak spots."""

import pandas as pd
import pytest

from qa_toolkit._validation import QAInputError
from qa_toolkit.agreement import confusion_pairs
from qa_toolkit.release import alpha_with_ci, pilot_report


@pytest.mark.parametrize("name,alpha", [
    ("wikipedia_krippendorff", 0.691358),  # Wikipedia "Krippendorff's alpha" example, nominal
    ("krippendorff2011_example_c", 0.743),  # Krippendorff 2011, "Computing K's alpha-reliability", p. 8
])
def test_alpha_matches_published(shared_datasets, name, alpha):
    from qa_toolkit.datasets import load_dataset

    a, lo, hi = alpha_with_ci(load_dataset(name).annotations, n_boot=100, random_state=0)
    assert a == pytest.approx(alpha, abs=5e-4)
    assert lo < a < hi


def test_go_when_clean_no_go_when_noisy(rng):
    labels = ["a", "b", "c"]
    rows, gold = [], {}
    for t in range(80):
        truth = labels[t % 3]
        gold[t] = truth
        for ann in "xyz":
            rows.append((t, ann, truth))
    clean = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    rep = pilot_report(clean, gold=pd.Series(gold), n_boot=50, random_state=0)
    assert rep.go and rep.table["passed"].all() and "GO" in str(rep)

    noisy = clean.copy()
    flip = (rng.random(len(noisy)) < 0.45) & noisy["label"].isin(["a", "b"]).to_numpy()
    noisy.loc[flip, "label"] = noisy.loc[flip, "label"].map({"a": "b", "b": "a"})
    rep = pilot_report(noisy, gold=pd.Series(gold), n_boot=50, random_state=0)
    assert not rep.go
    t = rep.table.set_index("check")
    assert not t.loc["severe_error_rate", "passed"] and t.loc["severe_error_rate", "value"] > 0.1
    assert rep.labels.index[-1] == "c" and rep.labels.loc["c", "agreement"] == 1.0  # untouched label
    assert rep.pairs.iloc[0][["label_a", "label_b"]].tolist() == ["a", "b"]  # where the guideline is weak
    assert len(rep.pairs) == 1


def test_severe_pairs_restrict_errors():
    df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": ["cat", "dog", "car", "car"]})
    gold = pd.Series({1: "cat", 2: "truck"})
    all_err = pilot_report(df, gold=gold, n_boot=20, random_state=0).table.set_index("check")
    assert all_err.loc["severe_error_rate", "value"] == 0.75
    sev = pilot_report(df, gold=gold, severe_pairs=[("cat", "dog")], n_boot=20, random_state=0).table.set_index("check")
    assert sev.loc["severe_error_rate", "value"] == 0.25


def test_confusion_pairs_counts(toy_annotations):
    p = confusion_pairs(toy_annotations).set_index(["label_a", "label_b"])
    # task1 cat4 dog1 -> 4; task3 cat2 dog1 bird1 -> cat-dog 2, bird-cat 2, bird-dog 1;
    # task4 bird4 cat1 -> 4; task5 dog4 cat1 -> 4
    assert p.loc[("cat", "dog"), "n_pairs"] == 10
    assert p.loc[("bird", "cat"), "n_pairs"] == 6
    assert p["share"].sum() == pytest.approx(1.0)


def test_pilot_bad_input(toy_annotations):
    with pytest.raises(QAInputError, match="min_agreement"):
        pilot_report(toy_annotations, min_agreement=3)
    with pytest.raises(QAInputError, match="none of its"):
        pilot_report(toy_annotations, gold=pd.Series({99: "cat"}))
