"""The audit report's release-gate section."""

from __future__ import annotations

from qa_toolkit.release import evaluate_gate
from qa_toolkit.report.core import AuditContext, Section, df_to_html, escape

__all__ = ["TITLE", "build_section", "not_applicable"]

TITLE = "Release gate"


def not_applicable(ctx: AuditContext) -> str:
    """Why there is no gate result."""
    return ("no release-gate config was given (qa-toolkit audit --gate gate.yaml); "
            "the verdict above comes from the pilot criteria of each field.")


def build_section(ctx: AuditContext) -> Section | None:
    """Evaluate ``ctx.options['gate_config']`` (None -> no section); result in ``ctx.cache['gate_result']``.

    Reads ``ctx.cache['label_issues']`` and the decisions (``ctx.options['decisions']``, else
    ``ctx.cache['decisions']`` left by the review section) when present.
    """
    config = ctx.options.get("gate_config")
    if config is None:
        return None
    result = evaluate_gate(
        ctx.annotations,
        config,
        gold=ctx.gold,
        pred_probs=ctx.pred_probs,
        issues=ctx.cache.get("label_issues"),
        decisions=ctx.options.get("decisions", ctx.cache.get("decisions")),
    )
    ctx.cache["gate_result"] = result
    cls, word = ("qa-pass", "PASSED") if result.passed else ("qa-fail", "FAILED")
    n_fail = int((~result.table["passed"]).sum())
    html = [
        f"<p class='{cls}'>Release gate {word}: {n_fail} of {len(result.table)} checks failed.</p>",
        df_to_html(result.table),
    ]
    for r in result.table[~result.table["passed"]].itertuples():
        html.append(f"<p class='qa-note'>{escape(r.check)}: {escape(r.why)}</p>")
    return Section(title=TITLE, html="\n".join(html), tables={"gate": result.table})
