"""The audit report's truth-inference section: majority vote vs Dawid-Skene."""

from __future__ import annotations

import pandas as pd

from qa_toolkit.aggregation import DawidSkene
from qa_toolkit.report.core import AuditContext, Section, df_to_html, escape, figure_to_html
from qa_toolkit.report.votes import audit_majority_vote

__all__ = ["TITLE", "build_section", "not_applicable"]

TITLE = "Truth inference"
_MAX_CLASSES = 50


def not_applicable(ctx: AuditContext) -> str:
    """Why there is no truth inference for this table."""
    df = ctx.annotations
    if df["annotator"].nunique() < 2:
        return "a single annotator: there is nothing to infer from disagreement."
    n = df["label"].nunique()
    if n > _MAX_CLASSES:
        return f"{n:,} distinct labels (more than {_MAX_CLASSES}: free numbers or text?), too many for Dawid-Skene."
    return "no labelled rows."


def build_section(ctx: AuditContext) -> Section | None:
    """Build the truth-inference section of the audit report.

    Dawid-Skene labels, their confidence, where they differ from majority vote, and
    the estimated accuracy of every annotator (plus accuracy against gold when given).

    Parameters
    ----------
    ctx : AuditContext
        Uses ``annotations``, ``gold`` and ``options['random_state']`` (MV ties).
        The fitted model is left in ``ctx.cache['dawid_skene']`` for other sections.

    Returns
    -------
    Section or None
        None when there is nothing to infer (a single annotator, or more than 50
        distinct labels, e.g. free numbers).
    """
    import matplotlib.pyplot as plt

    from qa_toolkit.agreement.fields import is_typed
    from qa_toolkit.plotting.aggregation import plot_annotator_confusion, plot_ds_accuracy

    if is_typed(ctx.annotations):
        return _typed_section(ctx)
    df = ctx.annotations[["task", "annotator", "label"]].dropna()
    if len(df) == 0 or df["annotator"].nunique() < 2 or df["label"].nunique() > _MAX_CLASSES:
        return None
    random_state = ctx.options.get("random_state", 0)
    ds = ctx.cache.get("dawid_skene")
    if ds is None:  # fitted once per audit; every later section reads this one
        ds = DawidSkene().fit(df, engine=ctx.options.get("engine", "auto"), client=ctx.options.get("scheduler"))
        ctx.cache["dawid_skene"] = ds
    # the votes read the audit's coding of the table when no row was dropped (issue 14: same Series)
    votes_of = ctx.annotations if len(df) == len(ctx.annotations) else df
    mv = audit_majority_vote(votes_of, random_state=random_state)
    tied = audit_majority_vote(votes_of, tie_policy="missing").reindex(mv.index).isna() & mv.notna()
    table = ds.label_table().assign(majority_vote=mv, majority_tie=tied.reindex(ds.labels_.index).fillna(False))
    table["differs_from_mv"] = (table["label"] != table["majority_vote"]) & ~table["majority_tie"]
    annotators = pd.DataFrame(
        {
            "ds_accuracy": ds.annotator_accuracy_,
            "n_labels": df.groupby("annotator").size(),
        }
    ).sort_values("ds_accuracy")

    kpis = {
        "classes": len(ds.classes_),
        "EM iterations": f"{ds.n_iter_} ({'converged' if ds.converged_ else 'not converged'})",
        "tasks where DS differs from majority vote": int(table["differs_from_mv"].sum()),
        "tasks where majority vote is a tie (broken at random, seed given)": int(table["majority_tie"].sum()),
        "mean DS confidence": round(float(table["confidence"].mean()), 3),
        "tasks with DS confidence < 0.8": int((table["confidence"] < 0.8).sum()),
    }
    if ctx.gold is not None:
        gold = ctx.gold.dropna()
        common = gold.index.intersection(table.index)
        if len(common):
            kpis["gold tasks with answers"] = len(common)
            kpis["majority vote accuracy on gold"] = round(float((mv.loc[common] == gold.loc[common]).mean()), 4)
            kpis["Dawid-Skene accuracy on gold"] = round(
                float((ds.labels_.loc[common] == gold.loc[common]).mean()), 4
            )

    k = len(ds.classes_)
    fig, ax = plt.subplots(figsize=(5.5, 1 + 0.22 * min(len(annotators), 20)))
    plot_ds_accuracy(ds, top=20, ax=ax)
    side = max(4.0, 1.5 + 0.45 * k)  # readable cells and tick labels up to ~30 classes
    fig2, ax2 = plt.subplots(figsize=(side + 1, side))
    plot_annotator_confusion(ds, annotators.index[0], ax=ax2)
    html = [
        "<ul class='qa-kpis'>",
        *(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in kpis.items()),
        "</ul>",
        "<div style='display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start'>",
        f"<div>{figure_to_html(fig)}</div><div>{figure_to_html(fig2)}</div></div>",
        "<h3>Least certain tasks</h3>",
        df_to_html(table.sort_values("confidence").head(50)),
        "<h3>Annotators by estimated accuracy (worst first)</h3>",
        df_to_html(annotators),
    ]
    plt.close(fig)
    return Section(
        title="Truth inference (Dawid-Skene)",
        html="\n".join(html),
        tables={
            "truth_inference": table,
            "annotator_ds_accuracy": annotators,
            "ds_posteriors": ds.posteriors_,
        },
    )


def _typed_section(ctx: AuditContext) -> Section:
    """Typed tables: a consensus per field with the method of its kind (never rows as votes)."""
    import warnings

    from qa_toolkit.aggregation.consensus import consensus_regions
    from qa_toolkit.aggregation.numeric import multilabel_dawid_skene, rating_consensus
    from qa_toolkit.units.kinds import REGION_KINDS, describe_fields

    data, rs = ctx.annotations, ctx.options.get("random_state", 0)
    body, tables = [], {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fields = describe_fields(data)
    for field, kind in ctx.steps(list(fields["kind"].items()), "truth inference: fields"):
        sub = data[data["field"] == field] if "field" in data.columns else data
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if kind in REGION_KINDS:
                    merged = consensus_regions(data, field=field, random_state=rs)
                    kept = merged["confidence"] if "confidence" in merged.columns else pd.Series(dtype=float)
                    text = (f"{len(merged):,} consensus objects (CVAT-style merge); mean share of assigned annotators "
                            f"who drew each: {kept.mean():.2f}")
                    table = merged.drop(columns=[c for c in merged.columns if merged[c].dtype == object
                                                 and c not in ("task", "label")], errors="ignore")
                elif kind == "multilabel":
                    table = multilabel_dawid_skene(data, field=field)
                    text = "per-label binary Dawid-Skene"
                elif kind in ("ordinal", "interval"):
                    res = rating_consensus(data, field=field)
                    table = res.tasks
                    bias = res.annotators["bias"].abs().sort_values(ascending=False)
                    text = ("bias-corrected median consensus; largest annotator bias: "
                            + ", ".join(f"{a} {res.annotators.loc[a, 'bias']:+.2f}" for a in bias.index[:3]))
                elif kind == "categorical":
                    ds = DawidSkene().fit(sub.drop(columns=["kind"], errors="ignore"))
                    table = ds.label_table()
                    text = f"Dawid-Skene over {len(ds.classes_)} classes"
                else:
                    body.append(f"<h3>Field {escape(str(field))} ({escape(kind)})</h3><p>Free text has no "
                                "consensus label; see the agreement section (similarity).</p>")
                    continue
        except Exception as exc:  # one field that cannot be aggregated must not hide the others
            body.append(f"<h3>Field {escape(str(field))} ({escape(kind)})</h3>"
                        f"<div class='qa-error'>Not computed: {escape(str(exc))}</div>")
            continue
        body += [f"<h3>Field {escape(str(field))} ({escape(kind)})</h3>", f"<p>{escape(text)}</p>",
                 df_to_html(table.head(50))]
        tables["consensus__" + "".join(ch if ch.isalnum() else "_" for ch in str(field))] = table
    return Section(title=TITLE, html="\n".join(body), tables=tables)
