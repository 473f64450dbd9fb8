"""The audit report's triage section: the review queue and low-agreement escalation."""

from __future__ import annotations

from pathlib import Path

from qa_toolkit.report.core import AuditContext, Section, df_to_html, escape
from qa_toolkit.report.items import item_lookup, table_with_items
from qa_toolkit.triage import escalate_low_agreement, review_queue

__all__ = ["TITLE", "build_section", "item_roots"]

TITLE = "Triage"


def item_roots(ctx: AuditContext) -> list[Path]:
    """Folders where the items' local paths are looked up: ``data_root``, then the input's folder."""
    roots = [Path(r) for r in (ctx.options.get("data_root"),) if r]
    src = ctx.options.get("input_path")
    if src:
        p = Path(src)
        roots.append(p if p.is_dir() else p.parent)
    return roots


def build_section(ctx: AuditContext) -> Section | None:
    """Review queue (top 50 shown, all in ``review_queue.csv``) and escalation list.

    Uses ``ctx.cache['label_issues']`` (an issue table) and ``ctx.cache['dawid_skene']``
    (a fitted model) when other sections left them there. The queue is stored in
    ``ctx.cache['review_queue']``.
    """
    df = ctx.annotations
    if df["task"].nunique() == 0:
        return None
    from qa_toolkit.agreement.fields import is_typed

    if is_typed(df):
        return _typed_section(ctx)
    ds = ctx.cache.get("dawid_skene")
    posteriors = getattr(ds, "posteriors_", None)
    queue = review_queue(
        df,
        pred_probs=ctx.pred_probs,
        issues=ctx.cache.get("label_issues"),
        gold=ctx.gold,
        posteriors=posteriors,
        explore=float(ctx.options.get("explore", 0.0)),
        random_state=ctx.options.get("random_state"),
    )
    ctx.cache["review_queue"] = queue
    esc = escalate_low_agreement(df, votes=queue[["task", "n_labels", "agreement", "majority_label"]])
    n_esc = int(esc["escalate"].sum())
    with_reason = queue[queue["reasons"] != ""]
    html = [
        f"<p>{len(queue)} tasks ranked; {len(with_reason)} have at least one reason for review. "
        "Priority is a noisy-OR of the signals shown (higher = review first).</p>",
        table_with_items(queue.drop(columns=["explored"]), item_lookup(df), roots=item_roots(ctx), max_rows=50),
        f"<h3>Low-agreement escalation ({n_esc} tasks)</h3>",
        "<p>Tasks with pairwise agreement below 0.7 get one more annotator, up to 2 + 3 "
        "(Label Studio Enterprise's rule); tasks at the cap go to expert review. "
        "<code>escalation.csv</code> lists them; <code>to_label_studio_tasks</code> exports them.</p>",
        df_to_html(esc[esc["reason"] != ""].head(30)) if (esc["reason"] != "").any() else "<p>None.</p>",
    ]
    if len(queue) and queue["reasons"].iloc[0]:
        html.insert(1, f"<p>First in the queue: task {escape(queue['task'].iloc[0])} ({escape(queue['reasons'].iloc[0])}).</p>")
    return Section(title=TITLE, html="\n".join(html), tables={"review_queue": queue, "escalation": esc.reset_index()})


def _typed_section(ctx: AuditContext) -> Section:
    """One review queue per field: items are units (tasks, matched objects, task-labels)."""
    import warnings

    import pandas as pd

    from qa_toolkit.units.kinds import field_kinds

    body, queues = [], []
    items, roots = item_lookup(ctx.annotations), item_roots(ctx)
    for field, kind in ctx.steps(list(field_kinds(ctx.annotations).items()), "triage: fields"):
        body.append(f"<h3>Field {escape(str(field))} ({escape(kind)})</h3>")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                q = review_queue(ctx.annotations, field=field, issues=ctx.cache.get("label_issues"),
                                 random_state=ctx.options.get("random_state"))
        except Exception as exc:  # one field must not hide the others
            body.append(f"<div class='qa-error'>Not computed: {escape(str(exc))}</div>")
            continue
        body.append(f"<p>{len(q)} items ranked.</p>")
        body.append(table_with_items(q, items, roots=roots, max_rows=30))
        queues.append(q.assign(field=field) if "field" not in q.columns else q)
    queue = pd.concat(queues, ignore_index=True) if queues else pd.DataFrame()
    ctx.cache["review_queue"] = queue
    return Section(title=TITLE, html="\n".join(body), tables={"review_queue": queue})
