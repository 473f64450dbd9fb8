"""Tests of the triage, annotators and gate sections of the audit report."""

import pandas as pd

from qa_toolkit.report import annotators_section, gate_section, triage_section
from qa_toolkit.report.core import AuditContext


def _ctx(toy, **opts):
    gold = pd.Series({1: "cat", 2: "dog"}, name="gold")
    return AuditContext(annotations=toy, gold=gold, options=opts)


def test_sections_build(toy_annotations):
    ctx = _ctx(toy_annotations, gate_config={"checks": {"gold_pass_rate": 0.99, "export_valid": {}}}, random_state=0)
    t = triage_section.build_section(ctx)
    a = annotators_section.build_section(ctx)
    g = gate_section.build_section(ctx)
    assert t.title == "Triage" and len(t.tables["review_queue"]) == 5
    assert "review_queue" in ctx.cache and "annotator_report" in ctx.cache
    assert a.tables["annotators_quality"].index.name == "annotator" and "<img" in a.html
    assert "FAILED" in g.html and not ctx.cache["gate_result"].passed
    assert g.tables["gate"]["check"].tolist() == ["gold_pass_rate", "export_valid"]


def test_gate_section_absent_without_config(toy_annotations):
    assert gate_section.build_section(_ctx(toy_annotations)) is None


def test_annotators_section_with_drift(rng):
    t = pd.date_range("2024-01-01", periods=120, freq="h", tz="UTC")
    df = pd.DataFrame({"task": list(range(120)) * 2, "annotator": ["a"] * 120 + ["b"] * 120,
                       "label": rng.integers(0, 2, 240), "created_at": list(t) * 2})
    sec = annotators_section.build_section(AuditContext(annotations=df))
    assert "drift" in sec.tables and "Drift" in sec.html
