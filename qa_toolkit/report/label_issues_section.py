"""Audit report section: likely label errors (fused issue table, CROWDLAB when a model is given)."""

from __future__ import annotations

import pandas as pd

from qa_toolkit.report.core import (
    AuditContext,
    Section,
    df_to_html,
    escape,
    figure_to_html,
    repeated_pairs,
)

__all__ = ["TITLE", "build_section", "not_applicable"]

TITLE = "Label issues"


def not_applicable(ctx: AuditContext) -> str:
    """Why there is no label-issue ranking for this table."""
    df = ctx.annotations
    if df is None or len(df) == 0:
        return "no annotations."
    if df["annotator"].nunique() < 2:
        return "a single annotator: no human disagreement to rank, and no model probabilities to compare with."
    return ("a typed table (regions, spans, multi-label or ratings): labels are not per-item votes here; the "
            "per-field truth inference and triage sections rank its units instead.")

_SHOW = ["given_label", "priority", "n_flags", "reasons", "vote_share", "ds_posterior", "label_quality",
         "neighbour_score", "n_duplicate_conflicts"]


def build_section(ctx: AuditContext) -> Section | None:
    """Rank items for label review from every available signal.

    The label under review is the majority vote of the annotators (the label a release
    would ship). Human disagreement (Dawid-Skene) is always used; the model signal and
    CROWDLAB need ``ctx.pred_probs``; neighbours and duplicates need ``ctx.embeddings``
    (one row per task, in ``pred_probs`` order when given, else sorted task order).

    Parameters
    ----------
    ctx : AuditContext
        The audit's annotations, optional ``pred_probs``, ``embeddings`` and options
        (``random_state`` for majority-vote ties).

    Returns
    -------
    Section or None
        None for tables with a single annotator or several labels per
        (task, annotator) (regions).
    """
    import matplotlib.pyplot as plt

    from qa_toolkit.errors import crowdlab, fused_issue_table
    from qa_toolkit.plotting.label_errors import plot_issue_signals
    from qa_toolkit.report.votes import audit_majority_vote

    df = ctx.annotations
    if df is None or len(df) == 0 or df["annotator"].nunique() < 2:
        return None
    if repeated_pairs(df):  # region annotations: not a per-item label (linear check)
        return None
    from qa_toolkit.agreement.fields import is_typed

    if is_typed(df):  # typed fields are ranked per unit (triage), with the consensus of their kind
        return None
    rs = ctx.options.get("random_state", 0)
    given = audit_majority_vote(df, tie_policy="first", random_state=rs)  # the audit's coding (issue 14)
    given = given[given.notna()]
    notes: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    probs = _align_probs(ctx.pred_probs, df, given, notes)
    emb = None
    if ctx.embeddings is not None:
        order = probs.index if probs is not None else pd.Index(sorted(given.index))
        try:
            emb = pd.DataFrame(ctx.embeddings, index=order)
        except ValueError:
            notes.append("Embeddings do not have one row per task; neighbour signals were left out.")
    ds = ctx.cache.get("dawid_skene")  # the audit's one fit (truth inference section), reused
    fused = fused_issue_table(given, annotations=df, pred_probs=probs, embeddings=emb,
                              dawid_skene=ds if ds is not None else "auto")
    tables["label_issues"] = fused
    ctx.cache["label_issues"] = fused  # triage and the release gate read it
    html = [
        f"<p>{int(fused['is_fused_issue'].sum())} of {len(fused)} items are flagged by at least one signal. "
        "Items are ranked by <b>priority</b> (equal-weight mean of each signal's percentile rank; "
        "higher = review first); <i>reasons</i> says which signals flag the item.</p>",
        *(f"<p class='qa-warn'>{escape(n)}</p>" for n in notes),
    ]
    x = "ds_posterior" if "ds_posterior" in fused else "vote_share"
    y = "label_quality" if "label_quality" in fused else ("neighbour_score" if "neighbour_score" in fused else None)
    if y is not None:
        fig, ax = plt.subplots(figsize=(5, 4))
        plot_issue_signals(fused, x=x, y=y, ax=ax)
        html.append(figure_to_html(fig))
    html += ["<h3>Review queue</h3>", df_to_html(fused[[c for c in _SHOW if c in fused]].head(50))]
    if probs is not None:
        res = crowdlab(df, probs)
        tables["crowdlab_tasks"] = res.label_quality
        tables["crowdlab_annotators"] = res.annotator_quality
        html += [
            "<h3>CROWDLAB annotator quality (lower = worse)</h3>",
            df_to_html(res.annotator_quality.sort_values("annotator_quality")),
        ]
    return Section(title=TITLE, html="\n".join(html), tables=tables)


def _align_probs(probs, df: pd.DataFrame, given: pd.Series, notes: list) -> pd.DataFrame | None:
    """Match a CSV-read ``pred_probs`` to the annotations (task ids and class names as text if needed)."""
    if probs is None:
        return None
    labels = pd.unique(df["label"].dropna())
    if not pd.Index(labels).isin(probs.columns).all():
        by_text = {str(c): c for c in labels}
        if set(by_text) <= {str(c) for c in probs.columns}:
            probs = probs.rename(columns=lambda c: by_text.get(str(c), c))
        else:
            notes.append(f"Model probabilities have columns {list(probs.columns)[:10]} that do not name the labels "
                         f"{sorted(map(str, labels))[:10]}; the model signal was left out.")
            return None
    if not given.index.isin(probs.index).all():
        by_text = {str(t): t for t in given.index}
        if set(by_text) <= {str(t) for t in probs.index}:
            probs = probs.rename(index=lambda t: by_text.get(str(t), t))
        else:
            notes.append("Model probabilities do not cover every task; the model signal was left out.")
            return None
    return probs
