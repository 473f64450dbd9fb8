"""Tests of qa_toolkit.gate: config loading and validation, each check, the example configs."""

from pathlib import Path

import pandas as pd
import pytest

from qa_toolkit._validation import QAInputError
from qa_toolkit.agreement import label_agreement
from qa_toolkit.release import CHECKS, GateResult, evaluate_gate, load_gate_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _clean(n=60):
    rows = [(t, a, ["x", "y"][t % 2]) for t in range(n) for a in "abc"]
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


def test_unknown_check_lists_valid_ones():
    with pytest.raises(QAInputError) as err:
        load_gate_config({"checks": {"agreement": 0.8}})
    msg = str(err.value)
    assert "'agreement'" in msg and all(name in msg for name in CHECKS)


@pytest.mark.parametrize("bad,match", [
    ({"gold_pass_rate": "high"}, "must be a number or a mapping"),
    ({"gold_pass_rate": {"min": "0.9"}}, "'min' must be a number"),
    ({"gold_pass_rate": 1.5}, r"must lie in \[0.0, 1.0\]"),
    ({"gold_pass_rate": {"max": 0.1}}, "does not take"),
    ({"export_valid": 0.5}, "takes no threshold"),
    ({"agreement_ci_low": {"n_boot": 2}}, "'n_boot' must lie"),
    ({}, "non-empty"),
])
def test_malformed_thresholds(bad, match):
    with pytest.raises(QAInputError, match=match):
        load_gate_config({"checks": bad})


def test_yaml_file_and_errors(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("checks:\n  gold_pass_rate: 0.8\n  export_valid:\n")
    assert load_gate_config(p) == {"gold_pass_rate": {"min": 0.8}, "export_valid": {}}
    p.write_text("checks: [unclosed\n")
    with pytest.raises(QAInputError, match="not valid YAML"):
        load_gate_config(p)
    with pytest.raises(QAInputError, match="does not exist"):
        load_gate_config(tmp_path / "missing.yaml")


def test_all_checks_pass_on_clean_reviewed_data():
    df = _clean()
    gold = pd.Series({t: ["x", "y"][t % 2] for t in range(0, 60, 5)})
    # the issue contract: a flag with its score (cleanlab's label_quality is read as label's score)
    issues = pd.DataFrame({"task": [3, 4], "is_label_issue": [True, False], "label_quality": [0.1, 0.9],
                           "is_duplicate_issue": [False, False], "duplicate_score": [1.0, 1.0]})
    decisions = pd.DataFrame({"seq": range(6), "task": [3, 10, 20, 30, 40, 50], "decision": "accept"})
    res = evaluate_gate(df, {"checks": {name: {} for name in CHECKS}}, gold=gold, issues=issues, decisions=decisions)
    assert isinstance(res, GateResult) and res.passed, str(res)
    assert res.table.columns.tolist() == ["check", "value", "threshold", "passed", "why", "status", "field"]
    assert (res.table["status"] == "pass").all() and res.provenance["n_rows"] == len(df)
    assert res.table["check"].tolist() == list(CHECKS)
    assert "PASSED" in str(res) and "PASSED" in res._repr_html_()


def test_each_check_can_fail():
    df = _clean()
    df.loc[(df["task"] < 30) & (df["annotator"] == "a"), "label"] = "z"  # 'a' disagrees on 30 tasks
    df = pd.concat([df, pd.DataFrame({"task": [99], "annotator": ["a"], "label": [None]})], ignore_index=True)
    gold = pd.Series({0: "x", 2: "x", 4: "x"})
    issues = pd.DataFrame({"is_label_issue": [True, True], "label_score": [0.2, 0.3],
                           "is_duplicate_issue": [True, False], "duplicate_score": [0.5, 0.5],
                           "group": [1, 1]}, index=pd.Index([5, 6], name="task"))
    decisions = pd.DataFrame({"seq": [1, 2], "task": [5, 5], "decision": ["accept", "undo"]})
    cfg = {"checks": {"agreement_ci_low": 0.95, "gold_pass_rate": 0.9, "missing_label_rate": 0.0,
                      "class_balance": {"min": 0.2}, "near_duplicate_conflicts": 0,
                      "unresolved_review_items": 0, "export_valid": {}, "random_audit_drawn": 0.05}}
    res = evaluate_gate(df, cfg, gold=gold, issues=issues, decisions=decisions)
    t = res.table.set_index("check")
    assert not res.passed and not t["passed"].any(), str(res)
    assert t.loc["gold_pass_rate", "value"] == pytest.approx(6 / 9)
    assert t.loc["missing_label_rate", "value"] == pytest.approx(1 / 61)
    assert t.loc["unresolved_review_items", "value"] == 2  # the accept on 5 was undone
    assert t.loc["near_duplicate_conflicts", "value"] == 1
    assert "Field 'label' is missing" in t.loc["export_valid", "why"]
    assert t.loc["random_audit_drawn", "value"] == 0


def test_missing_inputs_fail_with_reason(toy_annotations):
    res = evaluate_gate(toy_annotations, {"checks": {"gold_pass_rate": 0.5, "random_audit_drawn": 0.1}})
    assert not res.passed
    assert res.table["why"].str.startswith("not computable").all()


def test_gold_not_in_annotations(toy_annotations):
    with pytest.raises(QAInputError, match="none of its 1 tasks"):
        evaluate_gate(toy_annotations, {"checks": {"gold_pass_rate": 0.5}}, gold=pd.Series({"q": "cat"}))


def test_label_agreement_by_hand(toy_annotations):
    la = label_agreement(toy_annotations, n_boot=200, random_state=0)
    # bird: task3 c=1,n=4 -> 0/3; task4 c=4,n=5 -> 12/16 => 12/19
    assert la.loc["bird", "agreement"] == pytest.approx(12 / 19)
    assert (la["ci_low"] <= la["agreement"] + 1e-12).all() and (la["agreement"] <= la["ci_high"] + 1e-12).all()
    again = label_agreement(toy_annotations, n_boot=200, random_state=0)
    pd.testing.assert_frame_equal(la, again)


def test_example_configs_on_bluebirds(shared_datasets):
    from qa_toolkit.datasets import load_dataset

    d = load_dataset("welinder2010_bluebirds")
    good = evaluate_gate(d.annotations, EXAMPLES / "gate_pass.yaml", gold=d.gold)
    bad = evaluate_gate(d.annotations, EXAMPLES / "gate_fail.yaml", gold=d.gold)
    assert good.passed, str(good)
    assert not bad.passed
    t = bad.table.set_index("check")
    # 2,677 of 4,212 bluebird labels on gold tasks match gold (Welinder et al. 2010 gold)
    assert t.loc["gold_pass_rate", "value"] == pytest.approx(2677 / 4212)
    assert not t.loc["agreement_ci_low", "passed"]


def test_gate_reads_any_contract_table_and_refuses_others():
    """Regression (issue #12): a fused table (task, is_fused_issue, fused_score) was ignored."""
    df = _clean()
    fused = pd.DataFrame({"task": [3, 7, 8], "is_fused_issue": [True, True, False], "fused_score": [0.1, 0.2, 0.9],
                          "is_label_issue": [True, True, True], "label_quality": [0.1, 0.1, 0.1]})
    decisions = pd.DataFrame({"seq": [0], "task": [3], "decision": ["fix"]})
    res = evaluate_gate(df, {"checks": {"unresolved_review_items": 0}}, issues=fused, decisions=decisions)
    row = res.table.set_index("check").loc["unresolved_review_items"]
    # only the fused flag counts (its components are inside it): task 7 is open, 3 was fixed
    assert row["value"] == 1 and not row["passed"] and "fused" in row["why"]
    two = [pd.DataFrame({"task": [7], "is_neighbour_issue": [True], "neighbour_score": [0.0]}),
           pd.DataFrame({"task": [9], "is_cluster_minority_issue": [True], "cluster_minority_score": [0.1]})]
    res = evaluate_gate(df, {"checks": {"unresolved_review_items": 0}}, issues=two)
    assert res.table.set_index("check").loc["unresolved_review_items", "value"] == 2
    with pytest.raises(QAInputError, match=r"issue contract.*\['is_issue'\]"):
        evaluate_gate(df, {"checks": {"unresolved_review_items": 0}},
                      issues=pd.DataFrame({"task": [1], "is_issue": [True]}))
