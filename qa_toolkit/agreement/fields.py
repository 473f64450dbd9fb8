"""``agreement_report`` for typed tables: one report per field, dispatched by kind.

categorical: the classic report (:class:`AgreementReport`). multilabel: per-label
binary alpha / kappa with intervals and alpha with the MASI and Jaccard set distances.
ordinal / interval: alpha at the kind's level, ICC. span / box / polygon / keypoints:
precision / recall / F1 and mean IoU per annotator pair over cross-annotator matched
objects, alpha with "absent" counted, per label.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_random_state
from qa_toolkit.units.kinds import REGION_KINDS, check_one_label, field_kinds, select_field

__all__ = ["FieldReport", "MultiFieldReport", "report_by_field", "is_typed"]

_F = "{:.4f}".format


@dataclass(frozen=True)
class FieldReport:
    """Agreement of one field of a non-categorical kind, as tidy tables.

    Attributes
    ----------
    field, kind : str
        The field and its kind.
    summary : pandas.DataFrame
        Index ``metric``; ``value``, ``ci_low``, ``ci_high``, ``n_units``, ``interpretation``.
    per_label, pairwise, per_annotator : pandas.DataFrame
        Breakdowns (see :func:`agreement_report`).
    details : dict
        Further tables (``icc`` for ratings).
    empties_counted : bool
        Whether assignments were known, so that empty annotations count.
    """

    field: Any
    kind: str
    summary: pd.DataFrame
    per_label: pd.DataFrame
    pairwise: pd.DataFrame
    per_annotator: pd.DataFrame
    details: dict = dc_field(default_factory=dict)
    empties_counted: bool = True

    def __str__(self) -> str:
        lines = [f"Agreement report for field {self.field!r} (kind {self.kind!r})"
                 + ("" if self.empties_counted or self.kind in ("ordinal", "interval")
                    else " - empty annotations could not be counted (no assignments)")]
        for m, row in self.summary.iterrows():
            lines.append(f"  {m:<24} {row['value']:7.4f}  [{row['ci_low']:.4f}, {row['ci_high']:.4f}]  "
                         f"{row['interpretation']}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [f"<pre>{html.escape(str(self))}</pre>", "<h4>Summary</h4>", self.summary.to_html(float_format=_F)]
        for name in ("per_label", "pairwise"):
            tab = getattr(self, name)
            if len(tab):
                parts += [f"<h4>{name.replace('_', ' ').capitalize()}</h4>", tab.to_html(float_format=_F)]
        return "".join(parts)


class MultiFieldReport(Mapping):
    """One agreement report per field (a read-only dict ``field -> report``)."""

    def __init__(self, reports: dict, kinds: dict) -> None:
        self._reports = dict(reports)
        self.kinds = dict(kinds)

    def __getitem__(self, key: Any) -> Any:
        return self._reports[key]

    def __iter__(self):
        return iter(self._reports)

    def __len__(self) -> int:
        return len(self._reports)

    @property
    def summary(self) -> pd.DataFrame:
        """Every field's summary, index (``field``, ``metric``)."""
        parts = []
        for f, r in self._reports.items():
            s = r.summary.copy()
            s.index = pd.MultiIndex.from_product([[f], s.index], names=["field", "metric"])
            s.insert(0, "kind", self.kinds[f])
            parts.append(s)
        return pd.concat(parts) if parts else pd.DataFrame()

    def __str__(self) -> str:
        return "\n\n".join(f"[{f}] ({self.kinds[f]})\n{r}" for f, r in self._reports.items())

    def __repr__(self) -> str:
        return f"MultiFieldReport({', '.join(f'{f!r}: {k}' for f, k in self.kinds.items())})"

    def _repr_html_(self) -> str:
        body = "".join(f"<h3>Field {html.escape(str(f))} ({html.escape(self.kinds[f])})</h3>{r._repr_html_()}"
                       for f, r in self._reports.items())
        return f"<div>{body}</div>"


def is_typed(data: pd.DataFrame) -> bool:
    """Whether the table needs the typed dispatch (several fields or a non-categorical kind)."""
    if not hasattr(data, "columns") or not {"task", "annotator", "label"} <= set(data.columns):
        return False
    if "field" in data.columns and data["field"].nunique() > 1:
        return True
    try:
        ks = field_kinds(data)
    except ValueError:
        return False
    return any(k != "categorical" for k in ks.values())


def _summary(rows: list[dict]) -> pd.DataFrame:
    from qa_toolkit.agreement._result import interpret

    s = pd.DataFrame(rows).set_index("metric")
    for c in ("ci_low", "ci_high"):
        if c not in s.columns:
            s[c] = np.nan
    s["interpretation"] = [_icc_band(v) if m.startswith("ICC") else
                           interpret("krippendorff_alpha" if m.startswith("alpha") else "fleiss_kappa" if "kappa" in m
                                     else "percent_agreement", v)
                           for m, v in s["value"].items()]
    return s[["value", "ci_low", "ci_high", "n_units", "interpretation"]]


def _icc_band(value: float) -> str:
    """Koo & Li (2016) bands for ICC: < .5 poor, .5-.75 moderate, .75-.9 good, >= .9 excellent."""
    if not np.isfinite(value):
        return "undefined"
    for bound, name in ((0.5, "poor"), (0.75, "moderate"), (0.9, "good")):
        if value < bound:
            return f"{name} (Koo & Li 2016)"
    return "excellent (Koo & Li 2016)"


def _ci(t: pd.DataFrame, metric: str, n_boot: int, rng, **kw) -> dict:
    from qa_toolkit.agreement.bootstrap import confidence_interval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = confidence_interval(t, metric, n_boot=n_boot, random_state=rng, **kw).iloc[0]
    return {"value": float(r["value"]), "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"])}


def _as_table(units: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    return pd.DataFrame({"task": units["unit"].to_numpy(), "annotator": units["annotator"].to_numpy(),
                         "label": units[value].to_numpy()})


def _multilabel(data, field, kinds, assignments, n_boot, rng) -> FieldReport:
    from qa_toolkit.agreement.multilabel import per_label_agreement, set_alpha
    from qa_toolkit.units.reduce import to_units

    u = to_units(data, field=field, kinds=kinds, assignments=assignments)
    s = to_units(data, field=field, kinds=kinds, assignments=assignments, sets=True)
    rows = []
    for dist in ("masi", "jaccard"):
        r = set_alpha(s, distance=dist, n_boot=n_boot, random_state=rng).iloc[0]
        rows.append({"metric": f"alpha_{dist}", "value": r["value"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                     "n_units": int(r["n_units"])})
    rows.append({"metric": "alpha_binary_pooled", **_ci(_as_table(u), "krippendorff_alpha", n_boot, rng),
                 "n_units": int(u["unit"].nunique())})
    per_label = per_label_agreement(u, n_boot=min(n_boot, 200), random_state=rng)
    rows.append({"metric": "alpha_per_label_mean", "value": float(per_label["alpha"].mean()), "n_units": len(per_label)})
    exact = s.assign(key=s["value"].map(lambda v: tuple(sorted(map(str, v)))))
    pw = []
    for a, b in combinations(sorted(pd.unique(s["annotator"]), key=str), 2):
        sub = s.loc[s["annotator"].isin([a, b])]
        both = sub.groupby("unit")["annotator"].transform("nunique") == 2
        sub = sub.loc[both]
        if not len(sub):
            continue
        wide = sub.pivot(index="unit", columns="annotator", values="value")
        from qa_toolkit.agreement.multilabel import jaccard_distance

        jac = [1 - jaccard_distance(x, y) for x, y in zip(wide[a], wide[b])]
        pw.append({"annotator_a": a, "annotator_b": b, "n_tasks": len(wide), "exact_match": float(np.mean(wide[a] == wide[b])),
                   "mean_jaccard": float(np.mean(jac)),
                   "alpha_masi": float(set_alpha(sub, distance="masi").iloc[0]["value"])})
    per_ann = exact.groupby("annotator").agg(n_tasks=("unit", "nunique"),
                                             mean_labels=("value", lambda v: float(np.mean([len(x) for x in v]))),
                                             share_empty=("value", lambda v: float(np.mean([len(x) == 0 for x in v]))))
    from qa_toolkit.agreement.multilabel import pairwise_per_label

    return FieldReport(field, "multilabel", _summary(rows), per_label, pd.DataFrame(pw), per_ann,
                       {"pairwise_per_label": pairwise_per_label(u)}, empties_counted=bool(u.attrs.get("empties_counted", False)))


def _numeric(data, field, kind, kinds, assignments, n_boot, rng) -> FieldReport:
    from qa_toolkit.agreement.icc import icc
    from qa_toolkit.agreement.krippendorff import krippendorff_alpha
    from qa_toolkit.units.reduce import to_units

    u = to_units(data, field=field, kinds=kinds, assignments=assignments)
    t = _as_table(u)
    t["label"] = t["label"].astype(float)
    level = "ordinal" if kind == "ordinal" else "interval"
    rows = [{"metric": f"alpha_{level}", **_ci(t, "krippendorff_alpha", n_boot, rng, level=level),
             "n_units": int(t["task"].nunique())},
            {"metric": "alpha_nominal", **_ci(t, "krippendorff_alpha", n_boot, rng), "n_units": int(t["task"].nunique())}]
    details = {}
    try:
        ic = icc(t)
        details["icc"] = ic
        two_way = np.isfinite(ic.loc["ICC2", "icc"])
        for typ in (("ICC2", "ICC2k", "ICC3", "ICC3k") if two_way else ("ICC1", "ICC1k")):
            rows.append({"metric": typ, "value": ic.loc[typ, "icc"], "ci_low": ic.loc[typ, "ci_low"],
                         "ci_high": ic.loc[typ, "ci_high"], "n_units": int(ic.loc[typ, "n_tasks"])})
    except ValueError as exc:  # too few complete tasks
        details["icc_error"] = str(exc)
    pw = []
    for a, b in combinations(sorted(pd.unique(t["annotator"]), key=str), 2):
        sub = t.loc[t["annotator"].isin([a, b])]
        wide = sub.pivot(index="task", columns="annotator", values="label").dropna()
        if len(wide) < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            al = krippendorff_alpha(sub.loc[sub["task"].isin(wide.index)], level=level)
        pw.append({"annotator_a": a, "annotator_b": b, "n_tasks": len(wide), f"alpha_{level}": al,
                   "mean_abs_diff": float((wide[a] - wide[b]).abs().mean()),
                   "spearman": float(wide[a].corr(wide[b], method="spearman"))})
    med = t.groupby("task")["label"].transform("median")
    per_ann = t.assign(bias=t["label"] - med).groupby("annotator").agg(
        n_ratings=("label", "size"), mean=("label", "mean"), bias_vs_median=("bias", "mean"))
    return FieldReport(field, kind, _summary(rows), pd.DataFrame(), pd.DataFrame(pw), per_ann, details,
                       empties_counted=bool(u.attrs.get("empties_counted", False)))


def _regions(data, field, kind, kinds, assignments, n_boot, rng, iou_threshold, label_aware) -> FieldReport:
    from qa_toolkit.agreement.regions import region_f1_interval, region_pairwise, region_per_label
    from qa_toolkit.units.reduce import ABSENT, region_units

    u, pairs = region_units(data, field=field, kinds=kinds, assignments=assignments, iou_threshold=iou_threshold,
                            label_aware=label_aware, func="agreement_report")
    pw = region_pairwise(u, pairs)
    overall = pw.iloc[-1] if len(pw) else None
    t = _as_table(u)
    t["label"] = t["label"].astype(str)
    n_obj = int(u["unit"].nunique())
    rows = []
    if overall is not None:
        ci = region_f1_interval(u, n_boot=n_boot, random_state=rng)
        for m in ("f1", "f1_location", "precision", "recall", "mean_iou"):
            lo, hi = ci[m][1:] if m in ci else (np.nan, np.nan)
            rows.append({"metric": m, "value": float(overall[m]), "ci_low": lo, "ci_high": hi, "n_units": n_obj})
    try:
        rows.append({"metric": "alpha_absent_counted", **_ci(t, "krippendorff_alpha", n_boot, rng), "n_units": n_obj})
    except ValueError:
        rows.append({"metric": "alpha_absent_counted", "value": np.nan, "n_units": n_obj})
    per_ann = u.assign(drew=u["value"] != ABSENT).groupby("annotator").agg(
        n_regions=("drew", "sum"), n_objects=("unit", "nunique"), share_drawn=("drew", "mean"))
    return FieldReport(field, kind, _summary(rows), region_per_label(u, pairs), pw, per_ann,
                       {"units": u, "pairs": pairs}, empties_counted=bool(u.attrs.get("empties_counted", False)))


def report_by_field(data: pd.DataFrame, *, field: Any = None, kinds: dict | None = None,
                    assignments: pd.DataFrame | None = None, n_boot: int = 500, random_state: Any = None,
                    iou_threshold: float = 0.5, label_aware: bool = False, categorical: Any = None) -> Any:
    """The typed agreement report (see :func:`qa_toolkit.agreement.agreement_report`)."""
    rng = check_random_state(random_state)
    ks = field_kinds(data, kinds=kinds)
    fields = [field] if field is not None else list(ks)
    out = {}
    for f in fields:
        sub, f, kind = select_field(data, f, kinds=kinds, func="agreement_report")
        if kind in ("categorical", "text"):
            if kind == "text":
                from qa_toolkit._validation import QAInputError

                if field is not None:
                    raise QAInputError(f"agreement_report: field {f!r} has kind 'text' (free text); use "
                                       "similarity_agreement.")
                continue
            check_one_label(sub, func="agreement_report", field=f, kind=kind)
            flat = pd.DataFrame({"task": sub["task"].to_numpy(), "annotator": sub["annotator"].to_numpy(),
                                 "label": sub["label"].to_numpy()})
            out[f] = categorical(flat, rng)
        elif kind == "multilabel":
            out[f] = _multilabel(data, f, kinds, assignments, n_boot, rng)
        elif kind in ("ordinal", "interval"):
            out[f] = _numeric(data, f, kind, kinds, assignments, n_boot, rng)
        elif kind in REGION_KINDS:
            out[f] = _regions(data, f, kind, kinds, assignments, n_boot, rng, iou_threshold, label_aware)
    if field is not None or len(out) == 1:
        return next(iter(out.values()))
    return MultiFieldReport(out, {f: ks[f] for f in out})
