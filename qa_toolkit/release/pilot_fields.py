"""Pilot go / no-go per field, at the level of measurement of its kind.

The seeds' criteria: agreement above 0.8, severe errors below 10 %, and a pilot of
100-200 items or 5-10 % of the data. Agreement is read at the right level:

* categorical: nominal Krippendorff's alpha (the classic :func:`qa_toolkit.release.pilot_report`);
* ordinal / interval ratings: alpha at the ordinal / interval level;
* multi-label: alpha with the MASI set distance;
* regions (span, box, polygon, keypoints): alpha on the matched units ("absent"
  counted) *and* the pooled pairwise region F1, both against the bar.

Severe errors are counted against gold when it is given, else against the consensus of
the other annotators (the ``why`` says which): ratings farther than ``severe_distance``
from the reference; multi-label and region decisions that are wrong (missing,
spurious or wrongly labelled objects / labels, over the union of the annotator's and the
consensus' objects).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    QAInputError,
    check_fraction,
    check_positive_int,
    check_random_state,
)
from qa_toolkit.annotators import field_annotator_report
from qa_toolkit.release.pilot import PilotReport, categorical_pilot_report
from qa_toolkit.stats import wilson_interval
from qa_toolkit.units.kinds import REGION_KINDS, select_field

__all__ = ["field_pilot_report", "pilot_size_check"]

_AGREEMENT = {"ordinal": ["alpha_ordinal"], "interval": ["alpha_interval"], "multilabel": ["alpha_masi"]}
_REGION = ["alpha_absent_counted", "f1"]


def pilot_size_check(n_items: int, *, total_items: int | None = None, min_items: int = 100,
                     min_share: float = 0.05) -> tuple:
    """The pilot-size criterion: at least ``min_items`` items or ``min_share`` of the data.

    Returns
    -------
    tuple
        ``("pilot_size", value, nan, nan, threshold, passed, why)``.

    Examples
    --------
    >>> pilot_size_check(60, total_items=1000)[5], pilot_size_check(60)[5]
    (True, False)
    """
    share = n_items / total_items if total_items else np.nan
    ok = n_items >= min_items or (total_items is not None and share >= min_share)
    of = f" ({share:.1%} of {total_items})" if total_items else ""
    why = (f"{n_items} items{of}; the seeds suggest 100-200 items or 5-10 % of the data"
           + ("" if ok else f": below {min_items} items" + ("" if total_items else " (pass total_items= to judge the share)")))
    return ("pilot_size", float(n_items), np.nan, np.nan, float(min_items), bool(ok), why)


def _agreement_rows(rep, names: list[str], bar: float) -> list[tuple]:
    rows = []
    for m in names:
        if m not in rep.summary.index or not np.isfinite(rep.summary.loc[m, "value"]):
            rows.append((f"agreement_{m}", np.nan, np.nan, np.nan, bar, False, f"not computable: {m} has no value"))
            continue
        r = rep.summary.loc[m]
        v, lo, hi = float(r["value"]), float(r["ci_low"]), float(r["ci_high"])
        ok = v >= bar
        tail = "" if ok or not hi >= bar else " (the CI reaches the bar: more pilot data may settle it)"
        rows.append((f"agreement_{m}", v, lo, hi, bar, bool(ok),
                     f"{m} {v:.3f} [{lo:.3f}, {hi:.3f}] {'>=' if ok else '<'} {bar:g}{tail}"))
    return rows


def _rating_errors(data, d, field, kind, kinds, gold, severe_distance):
    from qa_toolkit.aggregation.numeric import rating_consensus

    x = pd.to_numeric(d["value"] if "value" in d.columns and d["value"].notna().all() else d["label"]).to_numpy(float)
    if severe_distance is None:
        severe_distance = 0.25 * (np.nanmax(x) - np.nanmin(x)) if len(x) else np.nan
    if gold is not None:
        ref = pd.to_numeric(d["task"].map(gold), errors="coerce").to_numpy(float)
        src = "gold"
    else:
        ref = rating_consensus(data, field=field, kinds=kinds).tasks["value"].reindex(d["task"]).to_numpy(float)
        src = "the consensus (no gold)"
    ok = np.isfinite(ref)
    k, n = int((np.abs(x[ok] - ref[ok]) > severe_distance).sum()), int(ok.sum())
    return k, n, f"ratings more than {severe_distance:g} from {src}"


def _decision_errors(data, field, kind, kinds, assignments, iou_threshold, random_state):
    rep = field_annotator_report(data, field=field, kinds=kinds, assignments=assignments, iou_threshold=iou_threshold,
                                 n_boot=2, random_state=random_state)
    if kind == "multilabel":
        pl = rep.attrs["per_label"]
        tp, pred, ref = pl["tp"].sum(), pl["n_chosen"].sum(), pl["support"].sum()
        what = "label decisions (chose / left out) that differ from the majority of the other annotators"
    else:
        tp = float((rep["precision"].fillna(0) * rep["n_regions"]).sum())
        pred, ref = rep["n_regions"].sum(), rep["n_consensus"].sum()
        what = "objects missed, drawn without backing or labelled differently from the other annotators' consensus"
    union = pred + ref - tp
    return int(round(union - tp)), int(round(union)), what


def field_pilot_report(data: pd.DataFrame, *, field: Any = None, kinds: dict | None = None,
                       assignments: pd.DataFrame | None = None, gold: pd.Series | None = None,
                       min_agreement: float = 0.8, max_severe_error_rate: float = 0.10,
                       severe_distance: float | None = None, total_items: int | None = None,
                       min_items: int = 100, iou_threshold: float = 0.5, n_boot: int = 500,
                       confidence: float = 0.95, random_state: Any = None, agreement: Any = None,
                       per_label: bool = True, **categorical: Any):
    """Go / no-go for one field of a pilot, at the metrics of its kind.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical typed long table of the pilot.
    field : hashable, optional
        The field (required when the table has several).
    kinds, assignments : optional
        As in :func:`qa_toolkit.to_units`.
    gold : pandas.Series, optional
        Gold per task (labels; numbers for ratings). Regions and multi-label are judged
        against the consensus of the others.
    min_agreement : float, default=0.8
        Bar for every agreement criterion (point estimate; the CI is shown).
    max_severe_error_rate : float, default=0.10
        Bar for the severe error rate.
    severe_distance : float, optional
        Ratings: an error is severe beyond this distance (default a quarter of the
        observed range).
    total_items : int, optional
        Size of the full data set, for the 5-10 % part of the size check.
    min_items : int, default=100
        Items for the size check.
    iou_threshold : float, default=0.5
        Region matching.
    n_boot, confidence, random_state : optional
        Bootstrap intervals.
    agreement : AgreementReport, optional
        The field's agreement report when already computed (the audit's agreement
        section): its coefficients and intervals are read, not estimated a second time.
    per_label : bool, default=True
        Categorical fields: compute the per-label specific agreement (``labels``).
    **categorical
        Passed to the classic report for categorical fields (``severe_pairs``).

    Returns
    -------
    qa_toolkit.release.PilotReport
        ``go``, the criteria table (``check``, ``value``, ``ci_low``, ``ci_high``,
        ``threshold``, ``passed``, ``why``), per-label agreement (``labels``) and, for
        categorical fields, confused pairs.
    """
    from qa_toolkit.agreement.fields import report_by_field

    func = "pilot_report"
    min_agreement = check_fraction("min_agreement", min_agreement, low=-1.0, func=func)
    max_severe_error_rate = check_fraction("max_severe_error_rate", max_severe_error_rate, func=func)
    n_boot = check_positive_int("n_boot", n_boot, func=func)
    rng = check_random_state(random_state)
    d, field, kind = select_field(data, field, kinds=kinds, func=func)
    n_items = int(d["task"].nunique())
    if kind == "categorical":
        flat = d.drop(columns=[c for c in ("field", "kind") if c in d.columns])
        rep = categorical_pilot_report(flat, gold=gold, min_agreement=min_agreement, max_severe_error_rate=max_severe_error_rate,
                           n_boot=n_boot, confidence=confidence, random_state=rng, agreement=agreement,
                           per_label=per_label, **categorical)
        table = pd.concat([rep.table, pd.DataFrame([pilot_size_check(n_items, total_items=total_items, min_items=min_items)],
                                                   columns=rep.table.columns)], ignore_index=True)
        return PilotReport(go=bool(table["passed"].all()), table=table, labels=rep.labels, pairs=rep.pairs)
    if categorical:
        raise QAInputError(f"{func}: {sorted(categorical)} only apply to categorical fields; field {field!r} has kind {kind!r}.")
    if kind == "text":
        raise QAInputError(f"{func}: field {field!r} has kind 'text' (free text); it has no agreement level to judge.")
    rep = agreement if getattr(agreement, "summary", None) is not None else report_by_field(
        data, field=field, kinds=kinds, assignments=assignments, n_boot=n_boot, random_state=rng,
        iou_threshold=iou_threshold)
    rows = _agreement_rows(rep, _REGION if kind in REGION_KINDS else _AGREEMENT[kind], min_agreement)
    if kind in ("ordinal", "interval"):
        k, n, what = _rating_errors(data, d, field, kind, kinds, gold, severe_distance)
    else:
        k, n, what = _decision_errors(data, field, kind, kinds, assignments, iou_threshold, rng)
    lo, hi = wilson_interval(k, n, confidence=confidence)
    rate = k / n if n else np.nan
    ok = bool(n) and rate <= max_severe_error_rate
    rows.append(("severe_error_rate", rate, float(lo), float(hi), max_severe_error_rate, ok,
                 f"{k} of {n} {what} ({rate:.1%}); bar {max_severe_error_rate:.0%}" if n else "not computable: nothing to judge"))
    rows.append(pilot_size_check(n_items, total_items=total_items, min_items=min_items))
    table = pd.DataFrame(rows, columns=["check", "value", "ci_low", "ci_high", "threshold", "passed", "why"])
    labels = pd.DataFrame(columns=["agreement"])
    if len(rep.per_label) and "alpha" in rep.per_label.columns:
        labels = rep.per_label.rename(columns={"alpha": "agreement"}).sort_values("agreement", kind="stable")
    return PilotReport(go=bool(table["passed"].all()), table=table, labels=labels, pairs=pd.DataFrame())
