"""What to fix first: a small, ranked registry of finding rules over the audit's results.

Every section of the audit leaves its structured results in ``AuditContext.cache`` (see
:data:`RESULT_KEYS`). Each rule in :data:`FINDING_RULES` reads some of them and returns
zero or more :class:`Finding` objects, each with its evidence (numbers with intervals) and
the next action. :func:`rank_findings` runs every rule and keeps the most important ones
for the first screen of the report. Nothing here is hard-coded text about a data set:
a rule fires only when the numbers say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Finding", "FINDING_RULES", "RESULT_KEYS", "rank_findings", "findings_table"]

#: Results the rules read from ``AuditContext.cache`` (all optional).
RESULT_KEYS = {
    "agreement_headline": "DataFrame: field, kind, coefficient, value, ci_low, ci_high (one row per field)",
    "annotator_tables": "dict field -> annotator_report table (indexed by annotator)",
    "label_tables": "dict field -> label overview (index label; n_tasks)",
    "pilot": "dict field -> PilotReport",
    "fields": "dict field -> kind",
    "gate_result": "GateResult (table with check, passed, why[, field])",
    "label_issues": "fused issue table (is_fused_issue, priority)",
    "dawid_skene": "fitted DawidSkene (labels_, confidence via label_table())",
    "section_errors": "list of 'Title: why' strings of sections that failed",
    "data_problems": "DataFrame of data_issues() (issue column)",
}

#: Agreement bar (Krippendorff's own bar for relying on data).
AGREEMENT_BAR = 0.8
#: Items below which a label is "too few to judge".
MIN_LABEL_ITEMS = 10

_KIND_ACTION = {
    "categorical": "rewrite the guideline where the labels are confused, with worked examples, then re-pilot",
    "multilabel": "state in the guideline when each label applies (and when none does), then re-pilot",
    "ordinal": "anchor every point of the rating scale with examples, then re-pilot",
    "interval": "anchor the scale with reference items, then re-pilot",
    "span": "tighten the span guideline (where a mention starts and ends, what counts as one), then re-pilot",
    "box": "tighten the box guideline (tight vs loose boxes, occluded and truncated objects), then re-pilot",
    "polygon": "tighten the outline guideline (what the mask includes), then re-pilot",
    "keypoints": "define each keypoint's position with pictures (occluded points), then re-pilot",
    "text": "give the free-text answers a template, then re-pilot",
}


@dataclass(frozen=True)
class Finding:
    """One thing the report says to fix.

    Attributes
    ----------
    rule : str
        Name of the rule that fired (a key of :data:`FINDING_RULES`).
    severity : float
        In [0, 1]; higher = fix first. Ties keep the registry order.
    subject : str
        What the finding is about (``field 'bbox'``, ``annotator w07``, ``label 'x'``).
    evidence : str
        The numbers that support it, with intervals where there are some.
    action : str
        The next action.
    section : str
        Title of the report section with the details.
    """

    rule: str
    severity: float
    subject: str
    evidence: str
    action: str
    section: str


def _f(x: Any, digits: int = 2) -> str:
    """``.41`` style for numbers in [-1, 1], plain otherwise; 'n/a' for NaN."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "n/a"
    s = f"{v:.{digits}f}"
    return s.replace("0.", ".", 1) if abs(v) < 1 else s


def _ci(lo: Any, hi: Any) -> str:
    try:
        if math.isnan(float(lo)) or math.isnan(float(hi)):
            return ""
    except (TypeError, ValueError):
        return ""
    return f" [{_f(lo)}, {_f(hi)}]"


def _q(v: Any) -> str:
    return f"'{v}'"


# -- rules ---------------------------------------------------------------------------------------
def rule_gate_failed(r: Mapping[str, Any]) -> list[Finding]:
    """Every failed release-gate check (severity .95)."""
    gate = r.get("gate_result")
    if gate is None:
        return []
    table = gate.table
    out = []
    for row in table[~table["passed"].astype(bool)].itertuples():
        where = f" (field {_q(row.field)})" if "field" in table.columns and pd.notna(getattr(row, "field", None)) else ""
        out.append(Finding("gate_failed", 0.95, f"gate check {row.check}{where}", str(row.why),
                           "fix this before release: the gate blocks shipping", "Release gate"))
    return out


def rule_section_failed(r: Mapping[str, Any]) -> list[Finding]:
    """A section that could not be computed (severity .85): the report is incomplete."""
    return [Finding("section_failed", 0.85, f"section {msg.split(':', 1)[0]}", msg.split(":", 1)[-1].strip(),
                    "fix the input named in the message (or rerun with --debug and report the bug)", "Overview")
            for msg in r.get("section_errors", [])]


def _with_pilot_agreement(head: pd.DataFrame | None, pilots: Mapping, kinds: Mapping) -> pd.DataFrame | None:
    """The agreement headline, completed by the pilot's agreement check for fields it lacks.

    Where the headline and the pilot report the same estimate, the pilot's interval is
    shown, so that the first screen quotes one interval per field (the verdict's).
    """
    have = set(head["field"]) if head is not None and len(head) else set()
    if have:
        head = head.copy()
    extra = []
    for field, rep in pilots.items():
        t = getattr(rep, "table", None)
        if t is None or "check" not in t.columns:
            continue
        rows = t[t["check"].astype(str).str.startswith("agreement_")]
        if not len(rows):
            continue
        row = rows.iloc[0]
        if field in have:
            at = (head["field"] == field).to_numpy()
            same = np.isclose(head.loc[at, "value"].astype(float).to_numpy(), float(row["value"]), atol=1e-9)
            idx = head.index[at][same]
            head.loc[idx, ["ci_low", "ci_high"]] = [row["ci_low"], row["ci_high"]]
            continue
        name = str(row["check"]).removeprefix("agreement_")
        extra.append({"field": field, "kind": kinds.get(field, "categorical"),
                      "coefficient": "Krippendorff's alpha" if name == "alpha" else name, "value": row["value"],
                      "ci_low": row["ci_low"], "ci_high": row["ci_high"]})
    if not extra:
        return head
    more = pd.DataFrame(extra)
    return more if head is None or len(head) == 0 else pd.concat([head, more], ignore_index=True)


def rule_low_agreement(r: Mapping[str, Any], *, bar: float = AGREEMENT_BAR) -> list[Finding]:
    """A field whose agreement is below the bar (severity .9 when the whole CI is, else .7)."""
    head = _with_pilot_agreement(r.get("agreement_headline"), r.get("pilot") or {}, r.get("fields") or {})
    if head is None or len(head) == 0:
        return []
    out = []
    for row in head.itertuples():
        v = float(row.value) if pd.notna(row.value) else math.nan
        if math.isnan(v) or v >= bar:
            continue
        hi = float(row.ci_high) if pd.notna(row.ci_high) else v
        sev = 0.9 if hi < bar else 0.7
        sure = "" if hi < bar else " (the interval reaches the bar: more items may settle it)"
        out.append(Finding("low_agreement", sev - 0.1 * max(v, 0.0) / bar * 0.5, f"field {_q(row.field)} ({row.kind})",
                           f"{row.coefficient} {_f(v)}{_ci(row.ci_low, row.ci_high)} below {bar:g}{sure}",
                           _KIND_ACTION.get(str(row.kind), _KIND_ACTION["categorical"]), "Agreement"))
    return out


def rule_weak_annotator(r: Mapping[str, Any]) -> list[Finding]:
    """Annotators flagged by the annotator report: spammer (.8), calibration or low agreement (.65)."""
    out = []
    for field, rep in (r.get("annotator_tables") or {}).items():
        if rep is None or len(rep) == 0 or "flags" not in rep.columns:
            continue
        for annotator, row in rep[rep["flags"].fillna("") != ""].iterrows():
            flags = str(row["flags"])
            if all(w.strip().startswith("insufficient data") or not w.strip() for w in flags.split(";")):
                continue  # too little data to judge is not a finding about the annotator
            spam = bool(row.get("is_spammer_issue", False))
            parts = []
            if pd.notna(row.get("gold_accuracy", math.nan)):
                parts.append(f"gold accuracy {_f(row['gold_accuracy'])}{_ci(row.get('gold_ci_low'), row.get('gold_ci_high'))}"
                             f" on {int(row.get('gold_n', 0))} gold labels")
            if pd.notna(row.get("agreement", math.nan)):
                parts.append(f"agreement {_f(row['agreement'])}{_ci(row.get('agreement_ci_low'), row.get('agreement_ci_high'))}")
            if isinstance(row.get("most_confused"), str) and row.get("most_confused"):
                parts.append(f"most often confuses {row['most_confused']}")
            parts.append(f"flags: {flags}")
            action = ("review this annotator's labels and remove them if the flags hold up" if spam
                      else "retrain on the confused labels, then re-check on gold")
            sub = f"annotator {annotator}" + (f" (field {_q(field)})" if field != "label" else "")
            out.append(Finding("weak_annotator", 0.8 if spam else 0.65, sub, "; ".join(parts), action, "Annotators"))
    return out


def rule_confused_pair(r: Mapping[str, Any], *, min_share: float = 0.2) -> list[Finding]:
    """The most confused label pair of a field when it holds a large share of disagreements (.6)."""
    out = []
    for field, rep in (r.get("pilot") or {}).items():
        pairs = getattr(rep, "pairs", None)
        if pairs is None or len(pairs) < 2 or "share" not in pairs.columns:
            continue  # with two labels the one pair is every disagreement: nothing to single out
        top = pairs.iloc[0]
        if float(top["share"]) < min_share:
            continue
        tied = pairs[pairs["n_pairs"] == top["n_pairs"]]
        names = " and ".join(f"{_q(p.label_a)} vs {_q(p.label_b)}" for p in tied.head(3).itertuples())
        tie = f" (a tie between {len(tied)} pairs)" if len(tied) > 1 else ""
        out.append(Finding("confused_pair", 0.6, f"field {_q(field)}: {names}",
                           f"{int(top['n_pairs'])} disagreeing pairs each{tie}, {float(top['share']):.0%} of all disagreements"
                           if len(tied) > 1 else
                           f"{int(top['n_pairs'])} disagreeing pairs, {float(top['share']):.0%} of all disagreements",
                           "add a rule and examples that separate these labels to the guideline", "Agreement"))
    return out


def rule_rare_labels(r: Mapping[str, Any], *, min_items: int = MIN_LABEL_ITEMS) -> list[Finding]:
    """Labels given on fewer than ``min_items`` items: too few to judge (.4)."""
    out = []
    for field, labels in (r.get("label_tables") or {}).items():
        if labels is None or len(labels) == 0 or "n_tasks" not in labels.columns:
            continue
        rare = labels[labels["n_tasks"] < min_items].sort_values("n_tasks", kind="stable")
        if len(rare) == 0:
            continue
        shown = ", ".join(f"{_q(k)} ({int(n)} item{'s' if n != 1 else ''})" for k, n in rare["n_tasks"].head(5).items())
        more = f" and {len(rare) - 5} more" if len(rare) > 5 else ""
        subject = (f"label {_q(rare.index[0])}" if len(rare) == 1 else f"{len(rare)} labels") + f" of field {_q(field)}"
        out.append(Finding("rare_labels", 0.4, subject,
                           f"{shown}{more}: fewer than {min_items} items, too few to judge agreement or accuracy",
                           "collect more items with these labels (targeted sampling), or merge them into a related label",
                           "Overview"))
    return out


def rule_label_issues(r: Mapping[str, Any]) -> list[Finding]:
    """Items flagged as likely label errors by at least one signal (.5 to .75 with their share)."""
    fused = r.get("label_issues")
    if fused is None or len(fused) == 0 or "is_fused_issue" not in fused.columns:
        return []
    n = int(fused["is_fused_issue"].sum())
    if n == 0:
        return []
    share = n / len(fused)
    first = fused.index[0]
    return [Finding("label_issues", 0.5 + 0.25 * min(share / 0.2, 1.0), f"{n:,} likely label errors",
                    f"{n:,} of {len(fused):,} items ({share:.1%}) flagged by at least one signal; first: task {first} "
                    f"({fused['reasons'].iloc[0] if 'reasons' in fused.columns else 'highest priority'})",
                    "review them in priority order (triage__review_queue.csv), highest first", "Label issues")]


def rule_uncertain_consensus(r: Mapping[str, Any], *, share_bar: float = 0.2) -> list[Finding]:
    """Many tasks whose Dawid-Skene confidence is below 0.8 (.55)."""
    ds = r.get("dawid_skene")
    if ds is None:
        return []
    conf = ds.label_table()["confidence"]
    k = int((conf < 0.8).sum())
    if len(conf) == 0 or k / len(conf) < share_bar:
        return []
    return [Finding("uncertain_consensus", 0.55, f"{k:,} uncertain tasks",
                    f"{k:,} of {len(conf):,} tasks ({k / len(conf):.0%}) have a Dawid-Skene confidence below 0.8",
                    "add one more annotator to these tasks (see the escalation list) before shipping their labels",
                    "Truth inference (Dawid-Skene)")]


def rule_data_problems(r: Mapping[str, Any]) -> list[Finding]:
    """Missing labels and duplicate rows in the export (.45)."""
    probs = r.get("data_problems")
    if probs is None or len(probs) == 0:
        return []
    counts = probs["issue"].value_counts()
    counts = counts[counts.index != "single_annotator_task"]
    if len(counts) == 0:
        return []
    return [Finding("data_problems", 0.45, "the export", ", ".join(f"{int(n):,} {k.replace('_', ' ')}" for k, n in counts.items()),
                    "clean the export (overview__data_problems.csv lists the rows) and re-export", "Overview")]


def rule_pilot_size(r: Mapping[str, Any]) -> list[Finding]:
    """A field with fewer items than the pilot-size check asks for (.35)."""
    out = []
    for field, rep in (r.get("pilot") or {}).items():
        t = getattr(rep, "table", None)
        if t is None or "check" not in t.columns:
            continue
        size = t[(t["check"] == "pilot_size") & ~t["passed"].astype(bool)]
        for row in size.itertuples():
            out.append(Finding("pilot_size", 0.35, f"field {_q(field)}", str(row.why),
                               "label more items before trusting the agreement figures", "Verdict"))
    return out


#: The registry, in tie-break order (earlier wins a tie in severity).
FINDING_RULES: dict[str, Callable[[Mapping[str, Any]], list[Finding]]] = {
    "gate_failed": rule_gate_failed,
    "low_agreement": rule_low_agreement,
    "section_failed": rule_section_failed,
    "weak_annotator": rule_weak_annotator,
    "label_issues": rule_label_issues,
    "confused_pair": rule_confused_pair,
    "uncertain_consensus": rule_uncertain_consensus,
    "data_problems": rule_data_problems,
    "rare_labels": rule_rare_labels,
    "pilot_size": rule_pilot_size,
}


def rank_findings(results: Mapping[str, Any], *, top: int | None = 5, max_per_rule: int = 2) -> list[Finding]:
    """Run every rule and return the findings, most important first.

    Parameters
    ----------
    results : mapping
        The audit's results (:data:`RESULT_KEYS`); missing keys are skipped.
    top : int or None, default=5
        How many to keep (None: all).
    max_per_rule : int, default=2
        At most this many findings of one rule in the ranking, so that ten weak
        annotators do not hide a failing field.

    Returns
    -------
    list of Finding
        By decreasing severity; ties keep registry order, then the rule's own order.

    Examples
    --------
    >>> import pandas as pd
    >>> head = pd.DataFrame({"field": ["bbox"], "kind": ["box"], "coefficient": ["matched-unit alpha"],
    ...                      "value": [0.41], "ci_low": [0.33], "ci_high": [0.49]})
    >>> f = rank_findings({"agreement_headline": head})[0]
    >>> f.subject, f.evidence
    ("field 'bbox' (box)", 'matched-unit alpha .41 [.33, .49] below 0.8')
    """
    found: list[tuple[float, int, int, Finding]] = []
    for order, rule in enumerate(FINDING_RULES.values()):
        for j, f in enumerate(rule(results)[:max_per_rule]):
            found.append((-f.severity, order, j, f))
    found.sort(key=lambda x: x[:3])
    out = [f for *_, f in found]
    return out if top is None else out[:top]


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """The findings as a tidy table (``rank``, ``rule``, ``severity``, ``subject``, ``evidence``, ``action``)."""
    rows = [dict(rank=i + 1, rule=f.rule, severity=round(f.severity, 3), subject=f.subject, evidence=f.evidence,
                 action=f.action, section=f.section) for i, f in enumerate(findings)]
    return pd.DataFrame(rows, columns=["rank", "rule", "severity", "subject", "evidence", "action", "section"])
