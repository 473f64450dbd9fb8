"""The audit report's first section: tasks, annotators, labels, overlap, data problems."""

from __future__ import annotations

from qa_toolkit.overview import (
    annotator_overview,
    data_issues,
    label_overview,
    summary,
    task_overview,
)
from qa_toolkit.report.core import AuditContext, Section, df_to_html, escape, figure_to_html

__all__ = ["build_section"]


def build_section(ctx: AuditContext) -> Section:
    """Summary counts, overlap and per-annotator tables, with two plots."""
    import matplotlib.pyplot as plt

    from qa_toolkit.plotting.overview import plot_annotator_counts, plot_overlap

    df = ctx.annotations
    s = summary(df)
    tasks = task_overview(df)
    annotators = annotator_overview(df)
    labels = label_overview(df)
    problems = data_issues(df)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    plot_overlap(df, ax=axes[0])
    plot_annotator_counts(df, top=20, ax=axes[1])
    fig.tight_layout()
    skipped = ctx.options.get("skipped_rows")
    html = [
        "<ul class='qa-kpis'>",
        *(f"<li><b>{escape(k)}</b>: {escape(round(v, 3) if isinstance(v, float) else v)}</li>" for k, v in s.items()),
        "</ul>",
    ]
    if skipped:
        html.append(f"<p class='qa-warn'>Reading skipped or repaired rows: {escape(skipped)}</p>")
    html += [
        figure_to_html(fig),
        "<h3>Labels</h3>", df_to_html(labels),
        "<h3>Annotators</h3>", df_to_html(annotators.sort_values("n_tasks", ascending=False)),
        f"<h3>Data problems ({len(problems)})</h3>",
        df_to_html(problems) if len(problems) else "<p>No missing or duplicate rows.</p>",
    ]
    return Section(
        title="Overview",
        html="\n".join(html),
        tables={
            "summary": s.to_frame(),
            "tasks": tasks,
            "annotators": annotators,
            "labels": labels,
            "data_problems": problems,
        },
    )
