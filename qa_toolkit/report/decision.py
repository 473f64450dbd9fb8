"""The first screen of the audit: can we ship this data, and what do we fix first?

Rendered above everything else from the sections' results: the verdict per field (pilot
criteria, and the release gate when configured), then the most important findings of
:mod:`qa_toolkit.report.findings`, each with its evidence and the next action.
"""

from __future__ import annotations

import pandas as pd

from qa_toolkit.report.core import AuditContext, Section, df_to_html, escape
from qa_toolkit.report.findings import Finding, findings_table, rank_findings

__all__ = ["decision_block", "decision_tables"]

_CLASS = {"GO": "qa-pass", "PASS": "qa-pass", "NO-GO": "qa-fail", "FAIL": "qa-fail"}


def _overall(verdicts: pd.DataFrame) -> tuple[str, str]:
    if len(verdicts) == 0:
        return "No verdict: no field could be judged.", "qa-undecided"
    gate = verdicts[verdicts["basis"] == "release gate"]
    if len(gate):
        ok = gate["verdict"].iloc[0] == "PASS"
        return (("Ship: the release gate passed.", "qa-pass") if ok
                else ("Do not ship yet: the release gate failed.", "qa-fail"))
    v = verdicts["verdict"]
    if (v == "GO").all():
        return "Ready to scale: every field meets the pilot criteria.", "qa-pass"
    bad = verdicts.loc[v != "GO", "field"].astype(str).tolist()
    if (v == "CANNOT JUDGE").all():
        return "No verdict: no field could be judged (see why below).", "qa-undecided"
    return (f"Not ready: {len(bad)} of {len(v)} field{'s' if len(v) > 1 else ''} "
            f"({', '.join(bad[:4])}{'…' if len(bad) > 4 else ''}) {'falls' if len(bad) == 1 else 'fall'} short "
            "of the pilot criteria.", "qa-fail")


def decision_tables(ctx: AuditContext, *, top: int | None = 5) -> tuple[pd.DataFrame, list[Finding]]:
    """The verdict table and the ranked findings of an audit whose sections have run."""
    from qa_toolkit.report.pilot_section import verdict_table

    return verdict_table(ctx), rank_findings(ctx.cache, top=top)


def decision_block(ctx: AuditContext, *, top: int = 5) -> tuple[str, Section]:
    """HTML of the first screen, and a section holding its tables (``decision__*.csv``).

    Parameters
    ----------
    ctx : AuditContext
        After every section has run (their results are in ``ctx.cache``).
    top : int, default=5
        Findings shown.
    """
    verdicts, every = decision_tables(ctx, top=None)
    findings = every[:top]
    headline, cls = _overall(verdicts)
    rows = "".join(
        f"<tr><td>{escape(r.field)}</td><td>{escape(r.kind)}</td>"
        f"<td class='{_CLASS.get(r.verdict, 'qa-undecided')}'>{escape(r.verdict)}</td>"
        f"<td>{escape(r.basis)}</td><td>{escape(r.why)}</td></tr>" for r in verdicts.itertuples())
    table = ("<div class='qa-scroll'><table class='qa-table qa-verdict'><tr><th>field</th><th>kind</th>"
             f"<th>verdict</th><th>basis</th><th>why</th></tr>{rows}</table></div>") if len(verdicts) else ""
    if findings:
        items = "".join(
            f"<li><b>{escape(f.subject)}</b>: {escape(f.evidence)} <span class='qa-action'>→ {escape(f.action)}</span>"
            f" <span class='qa-note'>({escape(f.section)})</span></li>" for f in findings)
        fix = f"<h3>What to fix first</h3><ol class='qa-findings'>{items}</ol>"
    else:
        fix = "<h3>What to fix first</h3><p>No finding rule fired: nothing stands out to fix.</p>"
    html = (f"<div class='qa-decision' id='decision'><h2>Can we ship this data?</h2>"
            f"<p class='{cls}'>{escape(headline)}</p>{table}{fix}</div>")
    table_all = findings_table(every)
    section = Section(title="All findings", html=df_to_html(table_all.set_index("rank"), max_rows=100)
                      if len(table_all) else "<p>No finding rule fired.</p>",
                      tables={"verdict": verdicts, "findings": table_all})
    return html, section
