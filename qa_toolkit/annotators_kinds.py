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
from qa_toolkit.units.kinds import REGION_KINDS, select_field

__all__ = ["field_annotator_report", "relative_low_agreement", "others_majority_share", "task_mean_ci"]


def others_majority_share(data: pd.DataFrame, target) -> np.ndarray:
    """Per row: 1.0 when ``target`` is (one of) the most frequent labels of the *other* rows of the task.

    NaN where the task has no other row. Used to tell a one-label annotator who was only
    shown one class (the others agree with that label) from a constant-label spammer.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"), "label": list("xxyyx")})
    >>> others_majority_share(df, ["x"] * 5).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0]
    """
    t = np.asarray(pd.factorize(data["task"])[0])
    lab = data["label"].astype(str).to_numpy()
    tgt = pd.Series(target, index=data.index).astype(str).to_numpy()
    cnt = pd.DataFrame({"t": t, "l": lab}).groupby(["t", "l"]).size()
    key = pd.MultiIndex.from_arrays([t, tgt])
    c_tgt = cnt.reindex(key).fillna(0).to_numpy() - (lab == tgt)
    k = pd.Series(np.arange(len(t))).groupby(t)
    n = k.transform("size").to_numpy()
    # best count among the others: the task's top count, minus one when the row holds the unique top label
    top = cnt.groupby(level=0).max()
    n_top = cnt.groupby(level=0).apply(lambda s: int((s == s.max()).sum()))
    c_own = cnt.reindex(pd.MultiIndex.from_arrays([t, lab])).to_numpy()
    best = top.reindex(t).to_numpy() - ((c_own == top.reindex(t).to_numpy()) & (n_top.reindex(t).to_numpy() == 1))
    out = np.where(n > 1, (c_tgt >= best) & (c_tgt > 0), np.nan)
    return out.astype(float)


def task_mean_ci(values: pd.Series, groups, *, confidence: float = 0.95) -> pd.DataFrame:
    """Normal interval of the mean of ``values`` per group (one value per task): ``mean +- z sd / sqrt(n)``.

    Examples
    --------
    >>> ci = task_mean_ci(pd.Series([1.0, 0.0, 1.0, 0.0]), ["a"] * 4)
    >>> round(float(ci.loc["a", "ci_low"]), 3), round(float(ci.loc["a", "ci_high"]), 3)
    (-0.066, 1.066)
    """
    from scipy import stats

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    g = pd.Series(np.asarray(values, float)).groupby(np.asarray(groups))
    m, sd, n = g.mean(), g.std(ddof=1), g.count()
    half = z * sd / np.sqrt(n)
    return pd.DataFrame({"mean": m, "ci_low": m - half, "ci_high": m + half, "n": n})


def _boot_ci(stat, groups: np.ndarray, n_boot: int, rng, confidence: float) -> tuple[float, float]:
    """Percentile CI of ``stat(weights)`` resampling the task groups ``groups`` (codes 0..G-1)."""
    G = int(groups.max()) + 1 if len(groups) else 0
    if G < 2:
        return np.nan, np.nan
    w = rng.multinomial(G, np.full(G, 1.0 / G), size=n_boot).astype(float)
    vals = np.array([stat(w[b][groups]) for b in range(n_boot)])
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return np.nan, np.nan
    a = (1 - confidence) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def relative_low_agreement(agreement: pd.Series, ci_high: pd.Series, enough: np.ndarray) -> np.ndarray:
    """True where the CI upper bound is below the median agreement of the *other* annotators.

    Parameters
    ----------
    agreement, ci_high : pandas.Series
        Point estimate and upper CI bound per annotator.
    enough : numpy.ndarray of bool
        Annotators with enough data to judge.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> a = pd.Series([.31, .39, .45, .52]); hi = pd.Series([.35, .47, .50, .57])
    >>> relative_low_agreement(a, hi, np.ones(4, bool)).tolist()
    [True, False, False, False]
    """
    a = agreement.to_numpy(float)
    hi = ci_high.to_numpy(float)
    out = np.zeros(len(a), bool)
    for i in range(len(a)):
        others = np.delete(a, i)
        others = others[np.isfinite(others)]
        if enough[i] and len(others) >= 2 and np.isfinite(hi[i]):
            out[i] = hi[i] < float(np.median(others))
    return out


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
    rows, cis = [], {}
    for a, g in t.groupby("annotator", sort=True):
        tp, tpl, npred, nref = g["tp"].sum(), g["tp_loc"].sum(), g["drew"].sum(), g["cons"].sum()
        p, r, f = _prf(tp, npred, nref)
        _, _, fl = _prf(tpl, npred, nref)
        codes = pd.factorize(g["task"])[0]
        arr = g[["tp", "drew", "cons"]].to_numpy(float)
        cis[a] = _boot_ci(lambda w, arr=arr: 2 * (w * arr[:, 0]).sum() / max((w * arr[:, 1]).sum() + (w * arr[:, 2]).sum(), 1e-12),
                          codes, n_boot, rng, confidence)
        rows.append({"annotator": a, "n_tasks": g["task"].nunique(), "n_regions": int(npred), "n_consensus": int(nref),
                     "precision": float(p), "recall": float(r), "f1": float(f), "f1_location": float(fl),
                     "mean_iou": float(g["iou"].mean()) if g["iou"].notna().any() else np.nan,
                     "missing_rate": float(1 - tpl / nref) if nref else np.nan,
                     "spurious_rate": float((npred - tpl) / npred) if npred else np.nan, "agreement": float(f)})
    out = pd.DataFrame(rows).set_index("annotator")
    out["agreement_ci_low"] = [cis[a][0] for a in out.index]
    out["agreement_ci_high"] = [cis[a][1] for a in out.index]
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
        cis[a] = _boot_ci(wcorr, codes, n_boot, rng, confidence) if ok.sum() >= 3 else (np.nan, np.nan)
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
        cis[a] = _boot_ci(macro, codes, n_boot, rng, confidence)
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
        from qa_toolkit.annotators import annotator_report

        flat = d.drop(columns=[c for c in ("field", "kind") if c in d.columns])
        out = annotator_report(flat, **categorical)
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
    out["is_low_agreement_issue"] = low
    out["low_agreement_score"] = out["agreement"]
    out["is_spammer_issue"] = low
    flags = []
    for i in range(len(out)):
        f = []
        if not enough[i]:
            f.append("insufficient data")
        if low[i]:
            f.append(f"possible spammer: low agreement ({metric} {out['agreement'].iloc[i]:.2f}, CI upper "
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
