"""The audit report's first section: tasks, annotators, labels, overlap, data problems.

Label counts are given per field: a span field and a taxonomy field of one export are two
label tables, never one pooled table.
"""

from __future__ import annotations

import pandas as pd

from qa_toolkit.overview import (
    annotator_overview,
    data_issues,
    label_overview,
    summary,
    task_overview,
)
from qa_toolkit.report.core import (
    AuditContext,
    Section,
    df_to_html,
    escape,
    field_slug,
    figure_to_html,
)

__all__ = ["TITLE", "build_section", "fields_of"]

TITLE = "Overview"


def fields_of(data: pd.DataFrame) -> dict:
    """``{field: kind}`` of a typed table; ``{"label": "categorical"}`` for a flat one."""
    from qa_toolkit.agreement.fields import is_typed

    if not is_typed(data):
        return {"label": "categorical"}
    import warnings

    from qa_toolkit.units.kinds import field_kinds

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(field_kinds(data))


def _field_rows(data: pd.DataFrame, field: object) -> pd.DataFrame:
    return data[data["field"] == field] if "field" in data.columns else data


def build_section(ctx: AuditContext) -> Section:
    """Summary counts, overlap and per-annotator tables with two plots, and labels per field.

    Leaves ``label_tables`` ({field: label overview}), ``data_problems`` and ``fields``
    ({field: kind}) in ``ctx.cache`` for the findings.
    """
    import matplotlib.pyplot as plt

    from qa_toolkit.plotting.overview import plot_annotator_counts, plot_overlap

    df = ctx.annotations
    fields = fields_of(df)
    ctx.cache["fields"] = fields
    s = summary(df)
    tasks = task_overview(df)
    annotators = annotator_overview(df)
    problems = data_issues(df)
    ctx.cache["data_problems"] = problems
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    plot_overlap(df, tasks=tasks, ax=axes[0])
    plot_annotator_counts(df, top=20, annotators=annotators, ax=axes[1])
    skipped = ctx.options.get("skipped_rows")
    html = [
        "<ul class='qa-kpis'>",
        *(f"<li><b>{escape(k)}</b>: {escape(round(v, 3) if isinstance(v, float) else v)}</li>" for k, v in s.items()),
        "</ul>",
    ]
    if skipped:
        html.append(f"<p class='qa-warn'>Reading skipped or repaired rows: {escape(skipped)}</p>")
    html.append(figure_to_html(fig))
    tables: dict[str, pd.DataFrame] = {"summary": s.to_frame(), "tasks": tasks, "annotators": annotators,
                                       "data_problems": problems}
    label_tables: dict = {}
    per_field = []
    for field, kind in ctx.steps(list(fields.items()), "overview: fields"):
        sub = _field_rows(df, field)
        labels = label_overview(sub)
        label_tables[field] = labels
        n_t, n_a = int(sub["task"].nunique()), int(sub["annotator"].nunique())
        per_field.append({"field": field, "kind": kind, "n_rows": len(sub), "n_tasks": n_t, "n_annotators": n_a,
                          "n_labels": len(labels)})
        heading = "Labels" if len(fields) == 1 else f"Field {escape(field)} ({escape(kind)}): labels"
        html += [f"<h3>{heading}</h3>",
                 f"<p class='qa-note'>{len(sub):,} rows, {n_t:,} tasks, {n_a:,} annotators, {len(labels):,} labels.</p>",
                 df_to_html(labels, max_rows=30)]
        tables["labels" if len(fields) == 1 else f"labels__{field_slug(field)}"] = labels
    ctx.cache["label_tables"] = label_tables
    field_table = pd.DataFrame(per_field).set_index("field")
    tables["fields"] = field_table
    if len(fields) > 1:
        html.insert(html.index("</ul>") + 1, "<h3>Fields</h3>" + df_to_html(field_table))
    html += [
        "<h3>Annotators</h3>", df_to_html(annotators.sort_values("n_tasks", ascending=False), max_rows=40),
        f"<h3>Data problems ({len(problems):,})</h3>",
        df_to_html(problems) if len(problems) else "<p>No missing or duplicate rows.</p>",
    ]
    return Section(title=TITLE, html="\n".join(html), tables=tables)
