"""Audit report section: the state of a review, from a decision log (``options['decision_log']``)."""

from __future__ import annotations

from qa_toolkit.report.core import AuditContext, Section, df_to_html, escape, figure_to_html
from qa_toolkit.review import DecisionLog, review_status

__all__ = ["TITLE", "build_section", "not_applicable"]

TITLE = "Review decisions"


def not_applicable(ctx: AuditContext) -> str:
    """Why there is no review section."""
    return "no decision log was given (qa-toolkit audit --decision-log decisions.jsonl)."


def build_section(ctx: AuditContext) -> Section | None:
    """Review status counts, a bar chart and the reviewed tasks; None without a decision log.

    The log path comes from ``ctx.options['decision_log']`` (e.g. a CLI option).
    """
    path = ctx.options.get("decision_log")
    if not path:
        return None
    import matplotlib.pyplot as plt

    from qa_toolkit.plotting.review import plot_review_status

    log = DecisionLog(path, read_only=True)
    ctx.cache["decisions"] = log.read()  # the gate's unresolved-review check reads it
    final = review_status(ctx.annotations, log, on_mismatch="warn")  # every unit, rejected ones included
    status = final["status"].value_counts().rename_axis("status").rename("n_tasks").to_frame()
    reviewed = final.loc[final["status"] != "pending"].drop(columns=["consensus_label"], errors="ignore")
    fig, ax = plt.subplots(figsize=(5, 3))
    plot_review_status(final, ax=ax)
    html = [f"<p>Decision log: <code>{escape(str(path))}</code>"]
    if log.torn_lines:
        html.append(f" <span class='qa-warn'>torn lines: {escape(log.torn_lines)}</span>")
    html += ["</p>", figure_to_html(fig), "<h3>Status</h3>", df_to_html(status),
             f"<h3>Reviewed tasks ({len(reviewed)})</h3>", df_to_html(reviewed)]
    plt.close(fig)
    return Section(title=TITLE, html="".join(html), tables={"review_status": status, "reviewed": reviewed})
