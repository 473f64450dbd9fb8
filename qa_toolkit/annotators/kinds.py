"""Per-annotator quality for typed fields: regions, ratings and multi-label.

Every annotator is compared with the consensus of the *other* annotators assigned to
the same task (leave-one-out, so that with two or three annotators nobody is judged
against a consensus they set themselves):

* regions (span, box, polygon, keypoints): on matched objects, an object is in the
  others' consensus when at least ``quorum`` of the other assigned annotators drew it;
  precision, recall, F1 (same object and same label as the others' majority),
  location F1, mean IoU of the annotator's matched regions, missing rate (consensus
  objects the annotator did not draw) and spurious rate (regions nobody else backs);
* ratings (ordinal, interval): bias = mean offset from the bias-corrected consensus
  (:func:`qa_toolkit.aggregation.numeric.rating_consensus`), mean absolute error, and
  Spearman rank correlation with the mean rating of the others on the same tasks;
* multi-label: per-label precision / recall / F1 against the others' majority
  (present when more than half of the other assigned annotators chose it, absent when
  fewer than half did; a tie among the others is not judged), macro F1.

``agreement`` (F1, Spearman or macro F1) gets a percentile bootstrap CI over tasks.
An annotator is flagged "low agreement" when the upper CI bound lies below the median
agreement of the others (relative, with a CI: not a fixed fraction of the median).
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
from qa_toolkit.annotators.categorical import categorical_annotator_report
from qa_toolkit.annotators.flags import boot_ci, relative_low_agreement
from qa_toolkit.units.kinds import REGION_KINDS, select_field

__all__ = ["field_annotator_report"]


def _prf(tp, n_pred, n_ref):
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n_pred > 0, tp / n_pred, np.nan)
        r = np.where(n_ref > 0, tp / n_ref, np.nan)
        f = np.where(n_pred + n_ref > 0, 2 * tp / (n_pred + n_ref), np.nan)
    return p, r, f


def _regions(data, field, kinds, assignments, iou_threshold, label_aware, quorum, n_boot, rng, confidence):
    from qa_toolkit.units.reduce import ABSENT, region_units

    u, _ = region_units(data, field=field, kinds=kinds, assignments=assignments, iou_threshold=iou_threshold,
                        label_aware=label_aware, func="annotator_report")
    u = u.assign(annotator=u["annotator"].astype(object), drew=(u["value"] != ABSENT).to_numpy())
    n_ass = u.groupby("unit")["annotator"].transform("size").to_numpy()
    n_drew = u.groupby("unit")["drew"].transform("sum").to_numpy()
    drew = u["drew"].to_numpy()
    others_n = n_ass - 1
    others_drew = n_drew - drew
    in_cons = (others_n > 0) & (others_drew >= quorum * np.maximum(others_n, 1) - 1e-12) & (others_drew > 0)
    # majority label of the others on each unit
    lab = u.loc[u["drew"], ["unit", "annotator", "value"]].astype({"value": str})
    cnt = lab.groupby(["unit", "value"]).size()
    own = pd.Series(u["value"].astype(str).to_numpy(), index=u.index)
    cnt_map = cnt.to_dict()
    top_others = {}
    for (unit, val), c in cnt.items():
        top_others.setdefault(unit, []).append((val, c))
    same = np.zeros(len(u), bool)
    for i, (unit, val, d) in enumerate(zip(u["unit"].to_numpy(), own.to_numpy(), drew)):
        if not d or not in_cons[i]:
            continue
        opts = [(v, c - (v == val)) for v, c in top_others.get(unit, [])]
        best = max(c for _, c in opts)
        same[i] = best > 0 and cnt_map.get((unit, val), 0) - 1 == best
    t = pd.DataFrame({"annotator": u["annotator"].to_numpy(), "task": u["task"].to_numpy(), "drew": drew,
                      "cons": in_cons, "tp": drew & in_cons & same, "tp_loc": drew & in_cons,
                      "iou": np.where(drew & in_cons, u["iou"].to_numpy(float), np.nan)})
    everyone = pd.Index(sorted(set(t["annotator"]), key=str), name="annotator")
    n_tasks_all = t.groupby("annotator")["task"].nunique()
    t = t.loc[others_n > 0]  # a unit nobody else was given judges nothing (single-annotator tasks)
    rows, cis = [], {}
    for a, g in t.groupby("annotator", sort=True):
        tp, tpl, npred, nref = g["tp"].sum(), g["tp_loc"].sum(), g["drew"].sum(), g["cons"].sum()
        p, r, f = _prf(tp, npred, nref)
        _, _, fl = _prf(tpl, npred, nref)
        codes = pd.factorize(g["task"])[0]
        arr = g[["tp", "drew", "cons"]].to_numpy(float)
        cis[a] = boot_ci(lambda w, arr=arr: 2 * (w * arr[:, 0]).sum() / max((w * arr[:, 1]).sum() + (w * arr[:, 2]).sum(), 1e-12),
                          codes, n_boot, rng, confidence)
        rows.append({"annotator": a, "n_tasks": g["task"].nunique(), "n_regions": int(npred), "n_consensus": int(nref),
                     "precision": float(p), "recall": float(r), "f1": float(f), "f1_location": float(fl),
                     "mean_iou": float(g["iou"].mean()) if g["iou"].notna().any() else np.nan,
                     "missing_rate": float(1 - tpl / nref) if nref else np.nan,
                     "spurious_rate": float((npred - tpl) / npred) if npred else np.nan, "agreement": float(f)})
    cols = ["n_tasks", "n_regions", "n_consensus", "precision", "recall", "f1", "f1_location", "mean_iou",
            "missing_rate", "spurious_rate", "agreement"]
    out = pd.DataFrame(rows, columns=["annotator", *cols]).set_index("annotator").reindex(everyone)
    out["n_tasks"] = n_tasks_all.reindex(out.index).fillna(0).astype(int)  # all their tasks, judged or not
    out["agreement_ci_low"] = [cis.get(a, (np.nan, np.nan))[0] for a in out.index]
    out["agreement_ci_high"] = [cis.get(a, (np.nan, np.nan))[1] for a in out.index]
    return out, "f1 vs consensus of the others", pd.DataFrame()


def _ratings(data, field, kinds, n_boot, rng, confidence):
    from qa_toolkit.aggregation.numeric import rating_consensus
    from qa_toolkit.units.reduce import to_units

    u = to_units(data, field=field, kinds=kinds)
    rc = rating_consensus(data, field=field, kinds=kinds)
    x = u["value"].to_numpy(float)
    task = u["task"].to_numpy()
    cons = rc.tasks["value"].reindex(task).to_numpy(float)
    s = pd.Series(x).groupby(task)
    tot, n = s.transform("sum").to_numpy(), s.transform("size").to_numpy()
    loo = np.where(n > 1, (tot - x) / np.maximum(n - 1, 1), np.nan)
    t = pd.DataFrame({"annotator": u["annotator"].astype(object).to_numpy(), "task": task, "x": x, "off": x - cons, "loo": loo})
    rows, cis = [], {}
    for a, g in t.groupby("annotator", sort=True):
        ok = g["loo"].notna().to_numpy()
        xr, lr = g["x"].to_numpy()[ok], g["loo"].to_numpy()[ok]
        rho = float(pd.Series(xr).corr(pd.Series(lr), method="spearman")) if ok.sum() >= 3 else np.nan
        rx = pd.Series(xr).rank().to_numpy()
        rl = pd.Series(lr).rank().to_numpy()

        def wcorr(w, rx=rx, rl=rl):
            sw = w.sum()
            if sw <= 0:
                return np.nan
            mx, ml = (w * rx).sum() / sw, (w * rl).sum() / sw
            cov = (w * (rx - mx) * (rl - ml)).sum()
            den = np.sqrt((w * (rx - mx) ** 2).sum() * (w * (rl - ml) ** 2).sum())
            return cov / den if den > 0 else np.nan

        codes = pd.factorize(g["task"].to_numpy()[ok])[0]
        cis[a] = boot_ci(wcorr, codes, n_boot, rng, confidence) if ok.sum() >= 3 else (np.nan, np.nan)
        rows.append({"annotator": a, "n_tasks": g["task"].nunique(), "n_ratings": len(g),
                     "bias": float(g["off"].mean()), "model_bias": float(rc.annotators.loc[a, "bias"]),
                     "mean_abs_error": float(g["off"].abs().mean()), "spearman": rho, "agreement": rho})
    out = pd.DataFrame(rows).set_index("annotator")
    out["agreement_ci_low"] = [cis[a][0] for a in out.index]
    out["agreement_ci_high"] = [cis[a][1] for a in out.index]
    return out, "spearman with the mean of the others", pd.DataFrame()


def _multilabel(data, field, kinds, assignments, n_boot, rng, confidence):
    from qa_toolkit.units.reduce import to_units

    u = to_units(data, field=field, kinds=kinds, assignments=assignments)
    v = u["value"].to_numpy(int)
    g = pd.Series(v).groupby(u["unit"].to_numpy())
    tot, n = g.transform("sum").to_numpy(), g.transform("size").to_numpy()
    others = n - 1
    ref = (others > 0) & ((tot - v) * 2 > others)
    # a tie among the others (exactly half chose the label) gives no reference: not judged
    t = pd.DataFrame({"annotator": u["annotator"].astype(object).to_numpy(), "task": u["task"].to_numpy(),
                      "label": u["label"].astype(object).to_numpy(), "pred": v.astype(bool), "ref": ref,
                      "judged": (others > 0) & ((tot - v) * 2 != others)})
    t = t.loc[t["judged"]]
    t["tp"] = t["pred"] & t["ref"]
    pl = t.groupby(["annotator", "label"], sort=True)[["tp", "pred", "ref"]].sum()
    p, r, f = _prf(pl["tp"].to_numpy(float), pl["pred"].to_numpy(float), pl["ref"].to_numpy(float))
    per_label = pl.rename(columns={"pred": "n_chosen", "ref": "support"}).assign(precision=p, recall=r, f1=f).reset_index()
    rows, cis = [], {}
    for a, ga in t.groupby("annotator", sort=True):
        labs, lc = np.unique(ga["label"].to_numpy(dtype=str), return_inverse=True)
        arr = ga[["tp", "pred", "ref"]].to_numpy(float)

        n_lab = len(labs)

        def macro(w, arr=arr, lc=lc, L=n_lab):
            tp = np.bincount(lc, w * arr[:, 0], L)
            den = np.bincount(lc, w * arr[:, 1], L) + np.bincount(lc, w * arr[:, 2], L)
            ok = den > 0
            return float(np.mean(2 * tp[ok] / den[ok])) if ok.any() else np.nan

        codes = pd.factorize(ga["task"])[0]
        cis[a] = boot_ci(macro, codes, n_boot, rng, confidence)
        tp, npred, nref = arr.sum(0)
        mp, mr, mf = _prf(tp, npred, nref)
        rows.append({"annotator": a, "n_tasks": ga["task"].nunique(), "n_chosen": int(npred), "macro_f1": macro(np.ones(len(ga))),
                     "micro_precision": float(mp), "micro_recall": float(mr), "micro_f1": float(mf),
                     "mean_labels_per_task": float(npred / max(ga["task"].nunique(), 1))})
        rows[-1]["agreement"] = rows[-1]["macro_f1"]
    out = pd.DataFrame(rows).set_index("annotator")
    out["agreement_ci_low"] = [cis[a][0] for a in out.index]
    out["agreement_ci_high"] = [cis[a][1] for a in out.index]
    return out, "macro F1 vs majority of the others", per_label


def field_annotator_report(data: pd.DataFrame, *, field: Any = None, kinds: dict | None = None,
                           assignments: pd.DataFrame | None = None, iou_threshold: float = 0.5,
                           label_aware: bool = False, quorum: float = 0.5, min_tasks: int = 5,
                           n_boot: int = 500, confidence: float = 0.95, random_state: Any = 0,
                           **categorical: Any) -> pd.DataFrame:
    """Per-annotator quality of one typed field, at the metrics of its kind.

    Called by :func:`qa_toolkit.annotators.annotator_report` with ``field=``.
    Categorical fields go to the classic report on that field's rows.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical typed long table.
    field : hashable, optional
        The field (required when the table has several).
    kinds, assignments : optional
        As in :func:`qa_toolkit.to_units`.
    iou_threshold, label_aware : optional
        Region matching.
    quorum : float, default=0.5
        Regions: share of the other assigned annotators that must draw an object for it
        to be in their consensus.
    min_tasks : int, default=5
        Below this, "insufficient data" instead of a judgement.
    n_boot, confidence, random_state : optional
        Bootstrap over tasks of the ``agreement`` CI.
    **categorical
        Passed to the classic report for categorical fields (``gold``, ``decisions``...).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``annotator``; kind-specific metrics (see the module docstring),
        ``agreement`` with ``agreement_ci_low`` / ``agreement_ci_high``,
        ``is_low_agreement_issue``, ``is_spammer_issue``, ``flags``. ``attrs`` holds
        ``field``, ``kind``, ``agreement_metric`` and, for multi-label, ``per_label``.
    """
    func = "annotator_report"
    quorum = check_fraction("quorum", quorum, func=func)
    min_tasks = check_positive_int("min_tasks", min_tasks, func=func)
    n_boot = check_positive_int("n_boot", n_boot, func=func)
    rng = check_random_state(random_state)
    d, field, kind = select_field(data, field, kinds=kinds, func=func)
    if kind == "categorical":
        flat = d.drop(columns=[c for c in ("field", "kind") if c in d.columns])
        out = categorical_annotator_report(flat, **categorical)
        out.attrs = {"field": field, "kind": kind, "agreement_metric": "leave-one-out agreement"}
        return out
    if categorical:
        raise QAInputError(f"{func}: {sorted(categorical)} only apply to categorical fields; field {field!r} has kind {kind!r}.")
    if kind == "text":
        raise QAInputError(f"{func}: field {field!r} has kind 'text' (free text); use similarity_agreement.")
    if kind in REGION_KINDS:
        out, metric, per_label = _regions(data, field, kinds, assignments, iou_threshold, label_aware, quorum, n_boot, rng, confidence)
    elif kind in ("ordinal", "interval"):
        out, metric, per_label = _ratings(data, field, kinds, n_boot, rng, confidence)
    else:
        out, metric, per_label = _multilabel(data, field, kinds, assignments, n_boot, rng, confidence)
    enough = (out["n_tasks"] >= min_tasks).to_numpy()
    low = relative_low_agreement(out["agreement"], out["agreement_ci_high"], enough)
    agree = out["agreement"].to_numpy(dtype=float)
    med = float(np.nanmedian(agree[enough])) if np.isfinite(agree[enough]).any() else np.nan
    # as for categorical tables: "spammer" only far below the others (under half their median)
    spam = enough & np.isfinite(agree) & (agree < 0.5 * med)
    low = low | spam
    out["is_low_agreement_issue"] = low
    out["low_agreement_score"] = out["agreement"]
    out["is_spammer_issue"] = spam
    out["spammer_score"] = np.where(spam, 0.0, 1.0)
    flags = []
    for i in range(len(out)):
        f = []
        if not enough[i]:
            f.append("insufficient data")
        elif np.isnan(out["agreement"].iloc[i]):
            f.append("insufficient data: no other annotator on their tasks")
        if low[i]:
            what = "possible spammer: low agreement" if spam[i] else "low agreement"
            f.append(f"{what} ({metric} {out['agreement'].iloc[i]:.2f}, CI upper "
                     f"{out['agreement_ci_high'].iloc[i]:.2f} below the others' median)")
        if kind in ("ordinal", "interval") and enough[i] and abs(out["bias"].iloc[i]) > 0:
            sd = float(np.nanstd(data.loc[d.index, "value" if "value" in d.columns else "label"].astype(float)))
            if sd > 0 and abs(out["bias"].iloc[i]) > 0.5 * sd:
                f.append(f"rates {'high' if out['bias'].iloc[i] > 0 else 'low'} (bias {out['bias'].iloc[i]:+.2f})")
        flags.append("; ".join(f))
    out["flags"] = flags
    out.index.name = "annotator"
    out.attrs = {"field": field, "kind": kind, "agreement_metric": metric, "per_label": per_label}
    return out
