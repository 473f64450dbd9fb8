"""The audit report as a decision document (issue 12): verdict and ranked findings first,
provenance, every section present with a reason, one Dawid-Skene fit per audit, progress
on stderr, items next to task ids."""

from __future__ import annotations

import hashlib
import html
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_toolkit.cli import main
from qa_toolkit.report import findings as F

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realworld_exports" / "label_studio" / "json"
LEOKA = SHARED / "leoka_team_6__ner_taxonomy_multiannotator_gt.json"


# -- finding rules: each fires on data that should trigger it, and not otherwise ------------------
def _head(value, lo, hi, kind="box", field="bbox"):
    return pd.DataFrame({"field": [field], "kind": [kind], "coefficient": ["matched-unit alpha"],
                         "value": [value], "ci_low": [lo], "ci_high": [hi]})


def test_low_agreement_rule_fires_below_the_bar_only():
    (f,) = F.rule_low_agreement({"agreement_headline": _head(0.41, 0.33, 0.49)})
    assert f.subject == "field 'bbox' (box)" and f.evidence == "matched-unit alpha .41 [.33, .49] below 0.8"
    assert "box guideline" in f.action and f.severity > 0.8  # the whole interval is below the bar
    (g,) = F.rule_low_agreement({"agreement_headline": _head(0.75, 0.6, 0.85)})
    assert "reaches the bar" in g.evidence and g.severity < f.severity
    assert F.rule_low_agreement({"agreement_headline": _head(0.85, 0.8, 0.9)}) == []
    assert F.rule_low_agreement({"agreement_headline": _head(np.nan, np.nan, np.nan)}) == []


def _annotators(**over):
    base = {"n_labels": [300, 300], "gold_n": [300, 300], "gold_accuracy": [0.30, 0.95],
            "gold_ci_low": [0.27, 0.92], "gold_ci_high": [0.34, 0.97], "agreement": [0.4, 0.9],
            "agreement_ci_low": [0.35, 0.88], "agreement_ci_high": [0.45, 0.92],
            "most_confused": ["pos -> neg", ""], "is_spammer_issue": [False, False],
            "needs_calibration": [True, False], "flags": ["needs calibration", ""]}
    base.update(over)
    return pd.DataFrame(base, index=pd.Index(["X", "Y"], name="annotator"))


def test_weak_annotator_rule_names_the_annotator_with_evidence_and_action():
    (f,) = F.rule_weak_annotator({"annotator_tables": {"label": _annotators()}})
    assert f.subject == "annotator X"
    assert "gold accuracy .30 [.27, .34] on 300 gold labels" in f.evidence and "pos -> neg" in f.evidence
    assert f.action.startswith("retrain")
    (s,) = F.rule_weak_annotator({"annotator_tables": {"label": _annotators(
        is_spammer_issue=[True, False], needs_calibration=[False, False], flags=["possible spammer: constant label", ""])}})
    assert s.severity > f.severity and "remove" in s.action
    quiet = _annotators(flags=["", "insufficient data"], needs_calibration=[False, False])
    assert F.rule_weak_annotator({"annotator_tables": {"label": quiet}}) == []


def test_rare_labels_rule_counts_items():
    labels = pd.DataFrame({"n_rows": [500, 4, 2], "n_tasks": [400, 3, 2]},
                          index=pd.Index(["Case report", "Cohort", "Case series"], name="label"))
    (f,) = F.rule_rare_labels({"label_tables": {"label": labels}})
    assert f.evidence.startswith("'Case series' (2 items), 'Cohort' (3 items)") and "too few to judge" in f.evidence
    assert F.rule_rare_labels({"label_tables": {"label": labels.iloc[:1]}}) == []


def test_confused_pair_rule_needs_a_dominant_pair_among_several_and_states_ties():
    pairs = pd.DataFrame({"label_a": ["a", "b", "a"], "label_b": ["b", "c", "c"], "n_pairs": [60, 30, 10],
                          "share": [0.6, 0.3, 0.1]})

    class Rep:
        def __init__(self, p):
            self.pairs = p

    (f,) = F.rule_confused_pair({"pilot": {"label": Rep(pairs)}})
    assert "'a' vs 'b'" in f.subject and "60%" in f.evidence
    tie = pairs.assign(n_pairs=[40, 40, 20], share=[0.4, 0.4, 0.2])
    (t,) = F.rule_confused_pair({"pilot": {"label": Rep(tie)}})
    assert "a tie between 2 pairs" in t.evidence and "'b' vs 'c'" in t.subject
    assert F.rule_confused_pair({"pilot": {"label": Rep(pairs.iloc[:1])}}) == []  # two labels: nothing to single out
    flat = pairs.assign(n_pairs=[10, 10, 10], share=[0.1, 0.1, 0.1])
    assert F.rule_confused_pair({"pilot": {"label": Rep(flat)}}, min_share=0.2) == []


def test_label_issue_and_data_problem_rules():
    fused = pd.DataFrame({"is_fused_issue": [True, False, False, False], "reasons": ["humans split", "", "", ""]},
                         index=pd.Index([7, 1, 2, 3], name="task"))
    (f,) = F.rule_label_issues({"label_issues": fused})
    assert f.subject == "1 likely label errors" and "task 7 (humans split)" in f.evidence
    assert F.rule_label_issues({"label_issues": fused.assign(is_fused_issue=False)}) == []
    probs = pd.DataFrame({"issue": ["missing_label", "duplicate_row", "duplicate_row", "single_annotator_task"]})
    (d,) = F.rule_data_problems({"data_problems": probs})
    assert d.evidence == "2 duplicate row, 1 missing label"
    assert F.rule_data_problems({"data_problems": probs.iloc[3:]}) == []


def test_gate_and_section_failure_rules():
    class Gate:
        table = pd.DataFrame({"check": ["alpha_lower_bound", "rework_rate"], "passed": [False, True],
                              "why": ["alpha lower bound .61 < .7", "ok"]})

    (g,) = F.rule_gate_failed({"gate_result": Gate()})
    assert g.subject == "gate check alpha_lower_bound" and g.severity == 0.95
    (s,) = F.rule_section_failed({"section_errors": ["Triage: ValueError: bad"]})
    assert s.subject == "section Triage" and "ValueError" in s.evidence
    assert F.rule_gate_failed({}) == [] and F.rule_section_failed({}) == []


def test_rank_findings_orders_by_severity_caps_per_rule_and_keeps_registry_order_on_ties():
    res = {"agreement_headline": pd.concat([_head(0.41, 0.33, 0.49), _head(0.2, 0.1, 0.3, field="b"),
                                            _head(0.3, 0.2, 0.4, field="c")]),
           "data_problems": pd.DataFrame({"issue": ["missing_label"]})}
    ranked = F.rank_findings(res, top=None)
    assert [f.rule for f in ranked] == ["low_agreement", "low_agreement", "data_problems"]  # capped at 2
    assert ranked[0].subject.startswith("field 'b'")  # lowest alpha first
    assert F.rank_findings(res, top=1) == ranked[:1]
    a = F.Finding("x", 0.5, "a", "", "", "")
    b = F.Finding("y", 0.5, "b", "", "", "")
    rules = dict(F.FINDING_RULES)
    try:
        F.FINDING_RULES.clear()
        F.FINDING_RULES.update({"x": lambda r: [a], "y": lambda r: [b]})
        assert F.rank_findings({}) == [a, b]
    finally:
        F.FINDING_RULES.clear()
        F.FINDING_RULES.update(rules)


# -- the rendered document ------------------------------------------------------------------------
def _crowd(n_tasks=120, seed=0):
    rng = np.random.default_rng(seed)
    classes = ["pos", "neg", "neutral"]
    truth = rng.integers(0, 3, n_tasks)
    rows = []
    for t in range(n_tasks):
        for a in ("a1", "a2", "a3", "a4"):
            lab = truth[t] if rng.random() < 0.85 else rng.integers(0, 3)
            if a == "a4":  # systematically flips pos and neg
                lab = {0: 1, 1: 0}.get(int(truth[t]), int(truth[t]))
            rows.append((t, a, classes[int(lab)], f"review text number {t} " * 3))
    return pd.DataFrame(rows, columns=["task", "annotator", "label", "text"])


@pytest.fixture
def crowd_csv(tmp_path):
    path = tmp_path / "crowd.csv"
    _crowd().to_csv(path, index=False)
    return path


def _first_screen(page: str) -> str:
    return html.unescape(page[: page.index("<nav>")])


def test_first_screen_has_verdict_findings_and_provenance_line(crowd_csv, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["audit", str(crowd_csv), "--out", str(tmp_path / "out"), "--n-boot", "50"])
    assert rc == 0
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    first = _first_screen(page)
    assert "Can we ship this data?" in first and "What to fix first" in first
    assert re.search(r"class='qa-(pass|fail)'>(GO|NO-GO)<", first)
    assert "annotator a4" in first  # the annotator who flips labels is among the findings
    sha = hashlib.sha256(crowd_csv.read_bytes()).hexdigest()
    assert sha[:16] in first
    prov = pd.read_csv(tmp_path / "out" / "provenance__run.csv", index_col=0)["value"]
    assert prov["SHA-256 of the file"] == sha and prov["rows"] == "480" and prov["annotators"] == "4"
    libs = pd.read_csv(tmp_path / "out" / "provenance__libraries.csv", index_col=0)["version"]
    assert {"qa_toolkit", "numpy", "pandas", "cleanlab", "krippendorff"} <= set(libs.index)
    assert libs["numpy"] == np.__version__ and libs["pandas"] == pd.__version__
    params = pd.read_csv(tmp_path / "out" / "provenance__parameters.csv", index_col=0)["value"]
    assert params["n_boot"] == "50" and params["random_state"] == "0"
    findings = pd.read_csv(tmp_path / "out" / "all_findings__findings.csv")
    assert findings["severity"].is_monotonic_decreasing and len(findings) >= 3
    # every section is present, the ones that do not apply say why
    titles = re.findall(r"<h2>([^<]*)</h2>", page)
    for t in ("Overview", "Agreement", "Label issues", "Triage", "Annotators", "Verdict per field",
              "Review decisions", "Release gate", "Provenance"):
        assert t in titles, t
    assert "no decision log was given" in page and "no release-gate config was given" in page


def test_dawid_skene_is_fitted_once_per_audit(crowd_csv, tmp_path, monkeypatch):
    from qa_toolkit.aggregation import DawidSkene

    calls = []
    fit = DawidSkene.fit

    def counting(self, *args, **kwargs):
        calls.append(1)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(DawidSkene, "fit", counting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["audit", str(crowd_csv), "--out", str(tmp_path / "out"), "--n-boot", "20"]) == 0
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "ds_posterior" in page and "ds_accuracy" in page  # label issues and annotators used the fit
    assert len(calls) == 1


def test_progress_goes_to_stderr_with_section_names_and_stdout_stays_clean(crowd_csv, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["audit", str(crowd_csv), "--out", str(tmp_path / "out"), "--n-boot", "20", "--progress"]) == 0
    cap = capsys.readouterr()
    for name in ("Overview", "Agreement", "Truth inference", "Label issues", "Triage", "Annotators"):
        assert f"section {name}" in cap.err, name
    assert cap.out.strip() == str((tmp_path / "out" / "index.html").resolve())
    assert main(["audit", str(crowd_csv), "--out", str(tmp_path / "o2"), "--n-boot", "20", "--no-progress"]) == 0
    assert "section Overview" not in capsys.readouterr().err


def test_queue_shows_text_snippet_and_local_image_thumbnail(tmp_path):
    from PIL import Image

    from qa_toolkit.report.items import item_lookup, table_with_items

    Image.new("RGB", (300, 200), (200, 30, 30)).save(tmp_path / "cat.png")
    queue = pd.DataFrame({"task": [1, 2, 3], "priority": [0.9, 0.5, 0.1]})
    items = {1: {"image": "/data/upload/cat.png"}, 2: {"text": "A deputy was wounded " * 20}, 3: {"image": "gone.jpg"}}
    out = table_with_items(queue, items, roots=[tmp_path])
    assert out.count("data:image/jpeg;base64,") == 1 and "cat.png" in out
    assert "A deputy was wounded" in out and "…" in out and "(not found locally)" in out
    assert out.index("<td>1</td>") < out.index("data:image")  # the item sits next to its task id
    flat = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", "y"], "text": ["hello", "hello"]})
    assert item_lookup(flat) == {1: {"text": "hello"}}


@pytest.mark.skipif(not LEOKA.exists(), reason="../shared beside the checkout is absent")
def test_typed_overview_is_per_field_not_pooled(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["audit", str(LEOKA), "--out", str(tmp_path), "--n-boot", "30"]) == 0
    spans = pd.read_csv(tmp_path / "overview__labels__label.csv", index_col=0)
    taxonomy = pd.read_csv(tmp_path / "overview__labels__Category.csv", index_col=0)
    assert not set(spans.index) & set(taxonomy.index)  # two tables, never one pooled one
    assert not (tmp_path / "overview__labels.csv").exists()
    verdict = pd.read_csv(tmp_path / "all_findings__verdict.csv")
    assert dict(zip(verdict["field"], verdict["kind"])) == {"label": "span", "Category": "multilabel"}
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    first = _first_screen(page)
    assert "field 'label' (span)" in first and "field 'Category' (multilabel)" in first
    assert "Officer" in page or "deputy" in page.lower()  # the queue shows the text next to the task id


def test_low_agreement_falls_back_on_the_pilot_when_the_agreement_section_had_no_number():
    class Rep:
        table = pd.DataFrame({"check": ["agreement_alpha"], "value": [0.583], "ci_low": [0.48], "ci_high": [0.667],
                              "passed": [False], "why": ["alpha 0.583 [0.480, 0.667] < 0.8"]})

    (f,) = F.rule_low_agreement({"pilot": {"label": Rep()}, "fields": {"label": "categorical"}})
    assert f.evidence == "Krippendorff's alpha .58 [.48, .67] below 0.8" and f.subject == "field 'label' (categorical)"
    head = _head(0.9, 0.85, 0.95, kind="categorical", field="label")  # the section's own number wins
    assert F.rule_low_agreement({"agreement_headline": head, "pilot": {"label": Rep()}}) == []


def test_first_screen_quotes_the_verdicts_interval_for_the_same_estimate():
    # the agreement section and the verdict bootstrap separately: one interval on the first screen
    class Rep:
        table = pd.DataFrame({"check": ["agreement_alpha"], "value": [0.67], "ci_low": [0.644], "ci_high": [0.69],
                              "passed": [False], "why": ["alpha 0.670 [0.644, 0.690] < 0.8"]})

    head = _head(0.67, 0.65, 0.68, kind="categorical", field="label")
    (f,) = F.rule_low_agreement({"agreement_headline": head, "pilot": {"label": Rep()}})
    assert f.evidence.endswith(".67 [.64, .69] below 0.8")
    other = _head(0.60, 0.55, 0.65, kind="categorical", field="label")  # a different estimate keeps its own
    (g,) = F.rule_low_agreement({"agreement_headline": other, "pilot": {"label": Rep()}})
    assert g.evidence.endswith(".60 [.55, .65] below 0.8")
    assert head["ci_low"].iloc[0] == 0.65  # the caller's table is not modified
