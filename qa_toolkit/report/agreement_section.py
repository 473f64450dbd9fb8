"""The audit report's agreement section: coefficients with CIs, per label, pairs, annotators."""

from __future__ import annotations

import warnings

from qa_toolkit.report.core import AuditContext, Section, df_to_html, escape, figure_to_html

__all__ = ["build_section"]


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
    if df["annotator"].nunique() < 2 or df.groupby("task").size().max() < 2 or df.duplicated(["task", "annotator"]).any():
        return None
    rs = ctx.options.get("random_state", 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = agreement_report(df, n_boot=int(ctx.options.get("n_boot", 200)), random_state=rs)
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        plot_per_label(df, n_boot=100, random_state=rs, ax=axes[0])
        plot_pairwise_heatmap(df, min_overlap=10, annotate=df["annotator"].nunique() <= 12, ax=axes[1])
        fig.tight_layout()
    notes = sorted({f"{type(w.message).__name__}: {w.message}" for w in caught
                    if isinstance(w.message, AgreementWarning)})[:8]
    body = [f"<pre>{escape(str(rep))}</pre>"]
    if notes:
        body.append("<ul class='qa-warn'>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    body += [figure_to_html(fig), "<h3>Coefficients</h3>", df_to_html(rep.summary), "<h3>Per label</h3>",
             df_to_html(rep.per_label), "<h3>Per annotator (leave-one-out)</h3>",
             df_to_html(rep.per_annotator.sort_values("agreement")),
             "<h3>Annotator pairs (lowest first)</h3>", df_to_html(rep.pairwise.sort_values("value"))]
    plt.close(fig)
    return Section(title="Agreement", html="\n".join(body),
                   tables={"agreement_summary": rep.summary, "agreement_per_label": rep.per_label,
                           "agreement_per_annotator": rep.per_annotator, "agreement_pairwise": rep.pairwise})
