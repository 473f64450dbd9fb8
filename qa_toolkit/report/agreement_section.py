"""The audit report's agreement section: coefficients with CIs, per label, pairs, annotators."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from qa_toolkit.report.core import (
    AuditContext,
    Section,
    df_to_html,
    escape,
    field_slug,
    figure_to_html,
    repeated_pairs,
)

__all__ = ["TITLE", "build_section", "headline"]

TITLE = "Agreement"

#: The coefficient the decision reads per field, in order of preference, with its display name.
HEADLINE = {
    "krippendorff_alpha": "Krippendorff's alpha",
    "alpha_absent_counted": "matched-unit alpha",
    "alpha_masi": "alpha (MASI)",
    "alpha_interval": "alpha (interval)",
    "alpha_ordinal": "alpha (ordinal)",
    "alpha": "alpha",
}


def headline(summary: pd.DataFrame, *, field: object, kind: str) -> dict:
    """The one coefficient of a field the verdict and findings read (alpha of its kind).

    Examples
    --------
    >>> s = pd.DataFrame({"value": [0.7, 0.41], "ci_low": [0.6, 0.33], "ci_high": [0.8, 0.49]},
    ...                  index=pd.Index(["f1", "alpha_absent_counted"], name="metric"))
    >>> headline(s, field="bbox", kind="box")["coefficient"]
    'matched-unit alpha'
    """
    names = [m for m in HEADLINE if m in summary.index]
    if not names:
        names = [m for m in summary.index if "alpha" in str(m)] or list(summary.index[:1])
    if not names:
        return {"field": field, "kind": kind, "coefficient": "none", "value": float("nan"),
                "ci_low": float("nan"), "ci_high": float("nan")}
    m = names[0]
    row = summary.loc[m]
    return {"field": field, "kind": kind, "coefficient": HEADLINE.get(m, str(m)), "value": float(row["value"]),
            "ci_low": float(row.get("ci_low", float("nan"))), "ci_high": float(row.get("ci_high", float("nan")))}


def build_section(ctx: AuditContext) -> Section | None:
    """Agreement report tables and two plots; None when agreement cannot be measured.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement._common import EXAMPLE
    >>> df = pd.concat([pd.DataFrame(EXAMPLE).assign(task=lambda d: d.task + 10 * i) for i in range(10)])
    >>> build_section(AuditContext(annotations=df)).title
    'Agreement'
    """
    import matplotlib.pyplot as plt

    from qa_toolkit.agreement import AgreementWarning, agreement_report
    from qa_toolkit.plotting.agreement import plot_pairwise_heatmap, plot_per_label

    df = ctx.annotations
    if df["annotator"].nunique() < 2:
        return _explain("only one annotator: agreement needs at least two.")
    from qa_toolkit.agreement.fields import is_typed

    if is_typed(df):
        return _typed_section(ctx)
    if df.groupby("task").size().max() < 2:
        return _explain("no task has labels from two annotators: agreement cannot be measured.")
    if repeated_pairs(df):  # linear pre-check; the rows are counted only when there are some
        n = int(df.duplicated(["task", "annotator"]).sum())
        return _explain(f"{n:,} repeated label(s) by one annotator on one task (test-retest, or a multi-select "
                        "field read as a flat table): agreement needs one label per (task, annotator). Measure "
                        "the repeats with qa.intra_annotator_agreement, or read the field with "
                        "kinds={field: 'multilabel'}.")
    rs = ctx.options.get("random_state", 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = agreement_report(df, n_boot=int(ctx.options.get("n_boot", 200)), random_state=rs,
                               engine=ctx.options.get("engine", "auto"), client=ctx.options.get("scheduler"))
        n_lab, n_ann = df["label"].nunique(), df["annotator"].nunique()
        fig, axes = plt.subplots(1, 2, figsize=(12, max(4.5, 0.32 * max(n_lab, min(n_ann, 30)) + 1.5)))
        plot_per_label(df, table=rep.per_label, ax=axes[0])  # the report's own table: no second bootstrap
        plot_pairwise_heatmap(df, min_overlap=10, annotate=n_ann <= 12, ax=axes[1],
                              pairs=rep.pairwise if _pairs_for_plot(rep) else None)  # no second pairwise pass
    notes = sorted({f"{type(w.message).__name__}: {w.message}" for w in caught
                    if isinstance(w.message, AgreementWarning)})[:8]
    ctx.cache["agreement_reports"] = {"label": rep}
    ctx.cache["agreement_headline"] = pd.DataFrame([headline(rep.summary, field="label", kind="categorical")])
    body = [f"<pre>{escape(str(rep))}</pre>"]
    if notes:
        body.append("<ul class='qa-warn'>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    body += [figure_to_html(fig), "<h3>Coefficients</h3>", df_to_html(rep.summary), "<h3>Per label</h3>",
             df_to_html(rep.per_label), "<h3>Per annotator (leave-one-out)</h3>",
             df_to_html(rep.per_annotator.sort_values("agreement")),
             "<h3>Annotator pairs (lowest first)</h3>", df_to_html(rep.pairwise.sort_values("value"))]
    plt.close(fig)
    return Section(title=TITLE, html="\n".join(body),
                   tables={"agreement_summary": rep.summary, "agreement_per_label": rep.per_label,
                           "agreement_per_annotator": rep.per_annotator, "agreement_pairwise": rep.pairwise})


def _pairs_for_plot(rep: Any) -> bool:
    """Whether the report has the heatmap's table: ``pairwise(df, min_overlap=10)`` (Cohen's kappa).

    ``agreement_report`` computes exactly that table (its default ``min_overlap`` is 10); when
    it is missing or empty the plot computes it.
    """
    p = getattr(rep, "pairwise", None)
    return p is not None and len(p) > 0 and {"annotator_a", "annotator_b", "value", "n"} <= set(p.columns)


def _explain(reason: str) -> Section:
    """A section that says why agreement was not computed (the report never omits it silently)."""
    return Section(title=TITLE, html=f"<div class='qa-warn'>Agreement not computed: {escape(reason)}</div>")


def _typed_section(ctx: AuditContext) -> Section:
    """One block per field, each with the metrics of its kind (see agreement.fields)."""
    from qa_toolkit.agreement import agreement_report
    from qa_toolkit.agreement.fields import MultiFieldReport

    rs = ctx.options.get("random_state", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = agreement_report(ctx.annotations, n_boot=int(ctx.options.get("n_boot", 200)), random_state=rs)
    reports = dict(rep) if isinstance(rep, MultiFieldReport) else {getattr(rep, "field", "label"): rep}
    body, tables, heads = [], {}, []
    for field, r in reports.items():
        kind = str(getattr(r, "kind", ""))
        heads.append(headline(r.summary, field=field, kind=kind))
        body.append(f"<h3>Field {escape(str(field))} ({escape(kind)})</h3>")
        body.append(f"<pre>{escape(str(r))}</pre>")
        body.append(df_to_html(r.summary))
        tables["agreement_summary__" + field_slug(field)] = r.summary
    ctx.cache["agreement_reports"] = reports
    ctx.cache["agreement_headline"] = pd.DataFrame(heads)
    return Section(title=TITLE, html="\n".join(body), tables=tables)
