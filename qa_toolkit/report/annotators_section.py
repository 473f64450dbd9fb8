"""The audit report's annotator section: per-annotator quality, flags and drift."""

from __future__ import annotations

from qa_toolkit.annotators import annotator_report
from qa_toolkit.report.core import AuditContext, Section, df_to_html, escape, figure_to_html

__all__ = ["TITLE", "build_section"]

TITLE = "Annotators"


def build_section(ctx: AuditContext) -> Section | None:
    """Annotator report (flags first), accuracy plot when gold exists, drift when timestamps do."""
    import matplotlib.pyplot as plt

    from qa_toolkit.annotators import drift_report
    from qa_toolkit.plotting.annotators import plot_annotator_accuracy

    df = ctx.annotations
    from qa_toolkit.agreement.fields import is_typed

    if is_typed(df):
        return _typed_section(ctx)
    ds = ctx.cache.get("dawid_skene")  # the audit's one fit, reused for ds_accuracy
    rep = annotator_report(df, gold=ctx.gold, pred_probs=ctx.pred_probs, decisions=ctx.options.get("decisions"),
                           dawid_skene=ds is None)
    if ds is not None:
        rep["ds_accuracy"] = ds.annotator_accuracy_.reindex(rep.index).to_numpy(dtype=float)
    ctx.cache["annotator_report"] = rep
    ctx.cache["annotator_tables"] = {"label": rep}
    flagged = rep[rep["flags"] != ""]
    html = [
        f"<p>{len(rep)} annotators; {int(rep['is_spammer_issue'].sum())} possible spammers, "
        f"{int(rep['needs_calibration'].sum())} need calibration, "
        f"{int(rep['flags'].str.contains('insufficient').sum())} with too little data to judge.</p>",
    ]
    tables = {"annotators_quality": rep}
    if rep["gold_accuracy"].notna().any():
        fig, ax = plt.subplots(figsize=(6, 5))
        plot_annotator_accuracy(rep, top=25, ax=ax)
        html.append(figure_to_html(fig))
    order = rep.assign(_f=rep["flags"] == "").sort_values(["_f", "n_labels"], ascending=[True, False]).drop(columns="_f")
    html += ["<h3>Annotators (flagged first)</h3>", df_to_html(order, max_rows=40)]
    if "created_at" in df.columns and df["created_at"].notna().all():
        drift = drift_report(df, gold=ctx.gold)
        tables["drift"] = drift
        hit = drift[drift["is_drift_issue"]]
        html.append(f"<h3>Drift ({len(hit)} annotators with a CUSUM alarm)</h3>")
        html.append(df_to_html(hit) if len(hit) else "<p>No drift alarm.</p>")
    else:
        html.append("<p class='qa-note'>No created_at timestamps: drift not computed.</p>")
    if len(flagged):
        html.insert(1, f"<p>Most labels among flagged: {escape(flagged['n_labels'].idxmax())}.</p>")
    return Section(title=TITLE, html="\n".join(html), tables=tables)


def _typed_section(ctx: AuditContext) -> Section:
    """One annotator table per field, at the metrics of its kind (annotator_report(field=...))."""
    import warnings

    from qa_toolkit.units.kinds import field_kinds

    body, tables = [], {}
    reps = {}
    for field, kind in ctx.steps(list(field_kinds(ctx.annotations).items()), "annotators: fields"):
        body.append(f"<h3>Field {escape(str(field))} ({escape(kind)})</h3>")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rep = annotator_report(ctx.annotations, field=field)
        except Exception as exc:  # one field must not hide the others
            body.append(f"<div class='qa-error'>Not computed: {escape(str(exc))}</div>")
            continue
        reps[field] = rep
        body.append(df_to_html(rep, max_rows=40))
        tables["annotators__" + "".join(ch if ch.isalnum() else "_" for ch in str(field))] = rep
    ctx.cache["annotator_tables"] = reps
    return Section(title=TITLE, html="\n".join(body), tables=tables)
