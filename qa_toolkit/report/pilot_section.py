"""The audit report's verdict section: the pilot go/no-go criteria of every field.

Each field is judged at the level of its kind (:func:`qa_toolkit.release.pilot_report`):
agreement against 0.8, the severe error rate against 10 %, and the pilot size. The
decision block at the top of the report reads these verdicts (and the release gate's,
when a gate config is given).
"""

from __future__ import annotations

import warnings

import pandas as pd

from qa_toolkit.release import pilot_report
from qa_toolkit.report.core import AuditContext, Section, df_to_html, escape, field_slug

__all__ = ["TITLE", "build_section"]

TITLE = "Verdict per field"
#: Above this many tasks the verdict's bootstrap uses at most :data:`LARGE_N_BOOT` resamples.
LARGE_TASKS = 20_000
LARGE_N_BOOT = 50


def build_section(ctx: AuditContext) -> Section:
    """One criteria table per field; the reports go to ``ctx.cache['pilot']`` ({field: PilotReport})."""
    from qa_toolkit.report.overview_section import fields_of

    fields = ctx.cache.get("fields") or fields_of(ctx.annotations)
    rs = ctx.options.get("random_state", 0)
    n_boot = int(ctx.options.get("n_boot", 200))
    n_tasks = int(ctx.annotations["task"].nunique())
    if n_tasks > LARGE_TASKS:  # intervals a few thousandths wide; the go/no-go reads the point estimate
        n_boot = min(n_boot, LARGE_N_BOOT)
    reports, errors, body, tables = {}, {}, [], {}
    typed = fields != {"label": "categorical"}
    # the Agreement section's estimates: one alpha and one interval per field in the whole report
    agreement = ctx.cache.get("agreement_reports") or {}
    bootstrapped = False
    for field, kind in ctx.steps(list(fields.items()), "verdict: fields"):
        heading = f"<h3>Field {escape(field)} ({escape(kind)})</h3>" if typed else ""
        given = agreement.get(field)
        bootstrapped |= given is None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if typed:
                    rep = pilot_report(ctx.annotations, field=field, gold=ctx.gold, n_boot=n_boot, random_state=rs,
                                       agreement=given, per_label=False)
                else:
                    flat = ctx.annotations
                    if list(flat.columns) != ["task", "annotator", "label"]:
                        flat = flat[["task", "annotator", "label"]]
                    rep = pilot_report(flat, gold=ctx.gold, n_boot=n_boot, random_state=rs, agreement=given,
                                       per_label=False)
        except Exception as exc:  # a field that cannot be judged says why; the others go on
            errors[field] = str(exc)
            body.append(f"{heading}<div class='qa-warn'>No verdict for this field: {escape(exc)}</div>")
            continue
        reports[field] = rep
        word, cls = ("GO", "qa-pass") if rep.go else ("NO-GO", "qa-fail")
        body += [heading, f"<p class='{cls}'>Pilot criteria: {word}</p>", df_to_html(rep.table)]
        if len(rep.pairs):
            body += ["<p class='qa-note'>Most confused label pairs:</p>", df_to_html(rep.pairs.head(10))]
        tables["pilot" if not typed else f"pilot__{field_slug(field)}"] = rep.table
    ctx.cache["pilot"] = reports
    ctx.cache["pilot_errors"] = errors
    intro = ("<p>Criteria of the usual pilot practice: agreement of the field's kind at least 0.8 "
             "(Krippendorff's bar), severe errors below 10 % (on gold, or against the others' consensus), "
             "and enough items (100-200, or 5-10 % of the data).</p>")
    if agreement and not bootstrapped:
        intro += ("<p class='qa-note'>Agreement values and intervals are those of the Agreement section "
                  "(one estimate per field).</p>")
    if n_tasks > LARGE_TASKS and bootstrapped:
        intro += (f"<p class='qa-note'>{n_tasks:,} tasks: the intervals here use {n_boot} bootstrap resamples "
                  "(they are a few thousandths wide at this size; the verdict reads the point estimates).</p>")
    return Section(title=TITLE, html=intro + "\n".join(body), tables=tables)


def verdict_table(ctx: AuditContext) -> pd.DataFrame:
    """One row per field: ``field``, ``kind``, ``verdict``, ``basis``, ``why`` (pilot and gate)."""
    fields = ctx.cache.get("fields") or {}
    pilots = ctx.cache.get("pilot") or {}
    errors = ctx.cache.get("pilot_errors") or {}
    gate = ctx.cache.get("gate_result")
    rows = []
    for field, kind in fields.items():
        rep = pilots.get(field)
        if rep is not None:
            failed = rep.table[~rep.table["passed"].astype(bool)]
            why = "; ".join(f"{r.check}: {r.why}" for r in failed.itertuples()) or "every criterion passed"
            judged = failed[~failed["why"].astype(str).str.startswith("not computable")
                            & (failed["check"] != "pilot_size")]
            verdict = "GO" if rep.go else ("NO-GO" if len(judged) or (failed["check"] == "pilot_size").all()
                                           else "CANNOT JUDGE")
            rows.append({"field": field, "kind": kind, "verdict": verdict, "basis": "pilot criteria", "why": why})
        else:
            rows.append({"field": field, "kind": kind, "verdict": "CANNOT JUDGE", "basis": "pilot criteria",
                         "why": errors.get(field, "not computed")})
    if gate is not None:
        failed = gate.table[~gate.table["passed"].astype(bool)]
        rows.insert(0, {"field": "(all)", "kind": "", "verdict": "PASS" if gate.passed else "FAIL",
                        "basis": "release gate",
                        "why": "; ".join(f"{r.check}: {r.why}" for r in failed.itertuples()) or "every check passed"})
    return pd.DataFrame(rows, columns=["field", "kind", "verdict", "basis", "why"])
