"""Region agreement (spans, boxes, polygons, keypoints) on cross-annotator matched units.

Units come from :func:`qa_toolkit.units.reduce.region_units`: one unit per matched
object, every assigned annotator's label or ``ABSENT``. Because assigned annotators who
drew nothing are in the units, a task one annotator left empty lowers precision,
recall and F1 instead of being skipped.
"""

from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np
import pandas as pd

from qa_toolkit.units.reduce import ABSENT

__all__ = ["region_pairwise", "region_per_label", "region_alpha", "region_f1_interval"]


def _wide(units: pd.DataFrame) -> pd.DataFrame:
    return units.pivot_table(index="unit", columns="annotator", values="value", aggfunc="first", observed=True)


def _pair_iou(pairs: pd.DataFrame) -> pd.DataFrame:
    return pairs.groupby(["annotator_a", "annotator_b"])["iou"].agg(["mean", "size"])


def region_pairwise(units: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall, F1 and mean IoU of every annotator pair, plus an overall row.

    Parameters
    ----------
    units : pandas.DataFrame
        Region units (``unit, annotator, value``).
    pairs : pandas.DataFrame
        Matched pairs (``annotator_a, annotator_b, label_a, label_b, iou``).

    Returns
    -------
    pandas.DataFrame
        One row per pair (``annotator_a`` < ``annotator_b``) and a last row
        ``('(all)', '(all)')`` pooling the counts: ``n_a``, ``n_b`` (regions each drew on
        objects of tasks given to both), ``n_matched`` (same object, same label),
        ``n_located`` (same object, any label), ``precision`` (``n_matched / n_b``, ``a``
        as reference), ``recall`` (``n_matched / n_a``), ``f1`` (``2 n_matched / (n_a + n_b)``),
        ``f1_location`` (labels ignored), ``mean_iou`` (over matched pairs), ``n_tasks``.
    """
    w = _wide(units)
    tasks = units.drop_duplicates("unit").set_index("unit")["task"].reindex(w.index).to_numpy()
    anns = sorted(w.columns, key=str)
    piou = _pair_iou(pairs) if len(pairs) else None
    rows = []
    for a, b in combinations(anns, 2):
        va, vb = w[a].to_numpy(dtype=object), w[b].to_numpy(dtype=object)
        both_assigned = pd.notna(va) & pd.notna(vb)
        va, vb = va[both_assigned], vb[both_assigned]
        has_a, has_b = va != ABSENT, vb != ABSENT
        n_a, n_b = int(has_a.sum()), int(has_b.sum())
        located = has_a & has_b
        n_loc, n_m = int(located.sum()), int((located & (va == vb)).sum())
        key = (a, b)
        miou = float(piou.loc[key, "mean"]) if piou is not None and key in piou.index else np.nan
        n_iou = int(piou.loc[key, "size"]) if piou is not None and key in piou.index else 0
        rows.append({"annotator_a": a, "annotator_b": b, "n_a": n_a, "n_b": n_b, "n_matched": n_m, "n_located": n_loc,
                     "iou_sum": miou * n_iou if n_iou else 0.0, "n_iou": n_iou,
                     "n_tasks": int(pd.Series(tasks[both_assigned]).nunique())})
    out = pd.DataFrame(rows, columns=["annotator_a", "annotator_b", "n_a", "n_b", "n_matched", "n_located", "iou_sum",
                                      "n_iou", "n_tasks"])
    if len(out):
        tot = out.drop(columns=["annotator_a", "annotator_b"]).sum()
        tot["n_tasks"] = units["task"].nunique()
        out = pd.concat([out, pd.DataFrame([{"annotator_a": "(all)", "annotator_b": "(all)", **tot.to_dict()}])],
                        ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["precision"] = out["n_matched"] / out["n_b"]
        out["recall"] = out["n_matched"] / out["n_a"]
        out["f1"] = 2 * out["n_matched"] / (out["n_a"] + out["n_b"])
        out["f1_location"] = 2 * out["n_located"] / (out["n_a"] + out["n_b"])
        out["mean_iou"] = out["iou_sum"] / out["n_iou"].where(out["n_iou"] > 0)
    return out.drop(columns=["iou_sum", "n_iou"])


def region_alpha(units: pd.DataFrame, *, label: object = None) -> float:
    """Krippendorff's alpha (nominal) over matched objects, ``ABSENT`` counted as a value.

    With ``label``: binary alpha over all objects, each annotator's value ``label`` or
    not (another label or ``ABSENT``).
    """
    from qa_toolkit.agreement.krippendorff import krippendorff_alpha

    u = units
    if label is not None:
        u = u.assign(value=np.where(u["value"] == label, "label", "not"))
    t = pd.DataFrame({"task": u["unit"].to_numpy(), "annotator": u["annotator"].to_numpy(),
                      "label": u["value"].astype(str).to_numpy()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(krippendorff_alpha(t))
        except ValueError:
            return np.nan


def region_per_label(units: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per label: F1 pooled over annotator pairs, mean IoU and alpha with ``ABSENT`` counted.

    Returns
    -------
    pandas.DataFrame
        Index ``label``; ``n_regions``, ``n_objects``, ``f1`` (pooled ``2 sum n_matched /
        sum (n_a + n_b)`` over pairs, both given the task), ``mean_iou`` (pairs that agree
        on the label), ``alpha``.
    """
    w = _wide(units)
    anns = sorted(w.columns, key=str)
    labels = sorted({v for v in pd.unique(units["value"]) if v != ABSENT}, key=str)
    rows = []
    for lab in labels:
        num = den = 0
        for a, b in combinations(anns, 2):
            va, vb = w[a].to_numpy(dtype=object), w[b].to_numpy(dtype=object)
            ok = pd.notna(va) & pd.notna(vb)
            ia, ib = (va == lab) & ok, (vb == lab) & ok
            num += 2 * int((ia & ib).sum())
            den += int(ia.sum() + ib.sum())
        same = pairs.loc[(pairs["label_a"] == lab) & (pairs["label_b"] == lab), "iou"] if len(pairs) else pd.Series([], dtype=float)
        rows.append({"label": lab, "n_regions": int((units["value"] == lab).sum()),
                     "n_objects": int(units.loc[units["value"] == lab, "unit"].nunique()),
                     "f1": num / den if den else np.nan, "mean_iou": float(same.mean()) if len(same) else np.nan,
                     "alpha": region_alpha(units, label=lab)})
    return pd.DataFrame(rows, columns=["label", "n_regions", "n_objects", "f1", "mean_iou", "alpha"]).set_index("label")


def region_f1_interval(units: pd.DataFrame, *, n_boot: int = 500, confidence: float = 0.95,
                       random_state: int | np.random.Generator | None = None) -> dict:
    """Pooled F1 (labels and location only) with percentile intervals over tasks resampled.

    Per task, the pooled counts ``2 n_matched`` (and ``2 n_located``) and ``n_a + n_b`` over
    all annotator pairs given the task; each replicate re-weights tasks with multinomial
    counts, so the ratio is recomputed without re-matching.

    Returns
    -------
    dict
        ``{'f1': (value, low, high), 'f1_location': (value, low, high)}``.
    """
    from qa_toolkit._validation import check_random_state

    rng = check_random_state(random_state)
    w = _wide(units)
    t_codes, _ = pd.factorize(units.drop_duplicates("unit").set_index("unit")["task"].reindex(w.index))
    n_t = int(t_codes.max()) + 1 if len(t_codes) else 0
    num, loc, den = np.zeros(n_t), np.zeros(n_t), np.zeros(n_t)
    for a, b in combinations(sorted(w.columns, key=str), 2):
        va, vb = w[a].to_numpy(dtype=object), w[b].to_numpy(dtype=object)
        ok = pd.notna(va) & pd.notna(vb)
        ha, hb = ok & (va != ABSENT), ok & (vb != ABSENT)
        num += 2 * np.bincount(t_codes, weights=(ha & hb & (va == vb)), minlength=n_t)
        loc += 2 * np.bincount(t_codes, weights=(ha & hb), minlength=n_t)
        den += np.bincount(t_codes, weights=ha.astype(float) + hb, minlength=n_t)
    wts = rng.multinomial(n_t, np.full(n_t, 1 / n_t), size=n_boot).astype(float) if n_t else np.zeros((0, 0))
    q = (1 - confidence) / 2
    out = {}
    for name, top in (("f1", num), ("f1_location", loc)):
        value = top.sum() / den.sum() if den.sum() else np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            reps = (wts @ top) / (wts @ den)
        lo, hi = np.nanquantile(reps, [q, 1 - q]) if n_t else (np.nan, np.nan)
        out[name] = (float(value), float(lo), float(hi))
    return out
