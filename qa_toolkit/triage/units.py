"""The review queue on agreement units: one row per unit of a typed field.

An item is a unit (see ``docs/DATA_MODEL.md``): a task for categorical and rating
fields, a matched object for region fields (span, box, polygon, keypoints), a
(task, label) pair for multi-label fields. Reasons count the annotators *assigned* to
the task (``data.attrs['assignments']`` or ``assignments=``), never rows, and name who
gave nothing; region units are also raised when their members overlap with a mean IoU
below :data:`IOU_REVIEW`. The suggested value is the consensus: majority label, bias-corrected
median rating, majority present/absent, or the consensus geometry of
:func:`qa_toolkit.aggregation.consensus.consensus_regions`. Units with a final
accept / fix / reject decision leave the queue.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_fraction
from qa_toolkit.issue_tables import issue_signals, review_priority
from qa_toolkit.review import final_decision_table
from qa_toolkit.triage.scores import rank_for_review
from qa_toolkit.units.kinds import REGION_KINDS, assigned_pairs, select_field
from qa_toolkit.vote import plurality_index, vote_counts

__all__ = ["unit_review_queue", "QUEUE_BY_KIND"]

#: Region units whose members overlap less than this (mean IoU) are raised for their geometry.
IOU_REVIEW = 0.75
_NOUN = {"span": "span", "box": "box", "polygon": "polygon", "keypoints": "keypoint set"}


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:g}"
    return str(v)


def _names(xs) -> str:
    xs = sorted(map(str, xs))
    return ", ".join(xs[:3]) + (f" and {len(xs) - 3} more" if len(xs) > 3 else "")


def _counted(counted: bool) -> str:
    return "" if counted else " (assignments unknown: those with a row in any field)"


def _decided(decisions: pd.DataFrame | None, keys: pd.DataFrame) -> np.ndarray:
    if decisions is None:
        return np.zeros(len(keys), bool)
    fin = final_decision_table(decisions)
    if not len(fin):
        return np.zeros(len(keys), bool)
    fin = fin.loc[fin["decision"].isin(["accept", "fix", "reject"])]
    whole = fin["unit"].isna() if "unit" in fin.columns else pd.Series(True, index=fin.index)
    done_tasks = set(fin.loc[whole, "task"].tolist())  # a decision on the whole task (no unit)
    out = keys["task"].isin(done_tasks).to_numpy()
    if "unit" in keys.columns and (~whole).any():
        done = set(map(tuple, fin.loc[~whole, ["task", "unit"]].astype(object).to_numpy().tolist()))
        out |= np.array([tuple(r) in done for r in keys[["task", "unit"]].astype(object).to_numpy().tolist()],
                        dtype=bool)
    return out


def _categorical(d, pairs, counted):
    """One unit per task: counts from the one vote kernel, ties stated, annotators counted."""
    vc = vote_counts(d, func="review_queue")
    counts = vc.long()  # by task, count desc, label: each task one contiguous block
    idx, n_tied = plurality_index(vc.counts, ties="none")
    given = d[["task", "annotator"]].drop_duplicates()
    seen = pd.concat([pairs[["task", "annotator"]], given], ignore_index=True).drop_duplicates()
    n_a = seen.groupby("task").size().reindex(vc.tasks).fillna(0).to_numpy(int)
    n_g = d.groupby("task").size().reindex(vc.tasks).fillna(0).to_numpy(int)
    silent = seen.merge(given, on=["task", "annotator"], how="left", indicator=True)
    silent = silent.loc[silent["_merge"] == "left_only"].groupby("task")["annotator"].agg(list)
    top = vc.counts.max(axis=1)
    share = top / np.maximum(n_a, 1)
    bounds = np.r_[0, np.cumsum((vc.counts > 0).sum(axis=1))]
    labs, ns = counts["label"].to_numpy(dtype=object), counts["n"].to_numpy()
    rows = []
    for i, task in enumerate(vc.tasks):
        s, e = bounds[i], bounds[i + 1]
        none = silent.get(task, [])
        parts = []
        if e - s > 1 or none:
            parts.append(f"{n_a[i] if counted else n_g[i]} annotators: "
                         + ", ".join(f"{int(c)} chose {_fmt(lab)!r}" for lab, c in zip(labs[s:e], ns[s:e])))
        if none:
            parts.append(f"{len(none)} gave no label ({_names(none)})")
        if n_tied[i] > 1:
            parts.append("tie between " + " and ".join(repr(_fmt(x)) for x in labs[s:s + n_tied[i]]))
        rows.append({"unit": task, "task": task, "n_assigned": int(n_a[i]), "n_given": int(n_g[i]),
                     "values": ", ".join(f"{_fmt(k)}:{int(v)}" for k, v in zip(labs[s:e], ns[s:e])),
                     "suggested_value": None if idx[i] < 0 else vc.labels[idx[i]], "tie": bool(n_tied[i] > 1),
                     "agreement": float(share[i]), "disagreement": float(np.clip((1 - share[i]) * 2, 0, 1)),
                     "reasons": "; ".join(parts)})
    return pd.DataFrame(rows)


def _ratings(data, d, field, kinds, pairs, counted):
    from qa_toolkit.aggregation.numeric import rating_consensus

    rc = rating_consensus(data, field=field, kinds=kinds).tasks
    x = d.assign(_v=pd.to_numeric(d["value"] if "value" in d.columns and d["value"].notna().all() else d["label"]))
    lo, hi = float(x["_v"].min()), float(x["_v"].max())
    scale = max(hi - lo, 1e-12)
    per_task = pairs.groupby("task")["annotator"].agg(list)
    rows = []
    for task, g in x.groupby("task", sort=True):
        assigned = set(per_task.get(task, [])) | set(g["annotator"])
        v = g["_v"].to_numpy(float)
        spread = float(v.max() - v.min())
        none = assigned - set(g["annotator"])
        parts = []
        if spread > 0:
            parts.append(f"{len(v)} of {len(assigned)} annotators rated {', '.join(_fmt(z) for z in sorted(v))} "
                         f"(spread {_fmt(spread)} on a {_fmt(lo)}-{_fmt(hi)} scale)")
        if none:
            parts.append(f"{len(none)} gave no rating ({_names(none)})")
        rows.append({"unit": task, "task": task, "n_assigned": len(assigned), "n_given": len(v),
                     "values": ", ".join(_fmt(z) for z in sorted(v)),
                     "suggested_value": float(rc.loc[task, "value"]), "tie": False,
                     "agreement": 1 - spread / scale, "disagreement": spread / scale, "reasons": "; ".join(parts)})
    return pd.DataFrame(rows)


def _multilabel(data, field, kinds, assignments, counted):
    from qa_toolkit.units.reduce import to_units

    u = to_units(data, field=field, kinds=kinds, assignments=assignments)
    u = u.assign(annotator=u["annotator"].astype(object), label=u["label"].astype(object))
    g = u.groupby("unit", sort=True)
    res = pd.DataFrame({"task": g["task"].first(), "label": g["label"].first(), "n_assigned": g.size(),
                        "n_given": g["value"].sum().astype(int)})
    res = res.loc[res["n_given"] > 0]
    chose = u.loc[u["value"] == 1].groupby("unit")["annotator"].agg(set)
    allann = g["annotator"].agg(set)
    rows = []
    for unit, r in res.iterrows():
        k, n = int(r["n_given"]), int(r["n_assigned"])
        share = k / n
        tie = 2 * k == n
        parts = []
        if k < n:
            parts.append(f"{k} of {n} annotators{_counted(counted)} chose {_fmt(r['label'])!r}; "
                         f"{n - k} did not ({_names(allann[unit] - chose[unit])})")
        if tie:
            parts.append("tie")
        rows.append({"unit": unit, "task": r["task"], "label": r["label"], "n_assigned": n, "n_given": k,
                     "values": f"chosen {k}, not chosen {n - k}",
                     "suggested_value": None if tie else ("present" if share > 0.5 else "absent"), "tie": tie,
                     "agreement": abs(2 * share - 1), "disagreement": 1 - abs(2 * share - 1), "reasons": "; ".join(parts)})
    return pd.DataFrame(rows)


def _regions(data, field, kind, kinds, assignments, counted, iou_threshold, label_aware, quorum, random_state):
    from qa_toolkit.aggregation.consensus import consensus_regions
    from qa_toolkit.units.reduce import ABSENT, region_units

    u, _ = region_units(data, field=field, kinds=kinds, assignments=assignments, iou_threshold=iou_threshold,
                        label_aware=label_aware, func="review_queue")
    cons = consensus_regions(data, field=field, kinds=kinds, assignments=assignments, iou_threshold=iou_threshold,
                             label_aware=label_aware, quorum=quorum, keep_all=True, random_state=random_state)
    noun = _NOUN.get(kind, "region")
    geo = [c for c in ("x_min", "y_min", "x_max", "y_max", "rotation", "start", "end", "points", "rle", "keypoints")
           if c in cons.columns]
    u = u.assign(annotator=u["annotator"].astype(object), value=u["value"].astype(object))
    drew = (u["value"] != ABSENT).to_numpy()
    g = u.groupby("unit", sort=True)
    res = pd.DataFrame({"task": g["task"].first(), "object": g["object"].first().astype(int), "n_assigned": g.size(),
                        "n_given": pd.Series(drew, index=u.index).groupby(u["unit"]).sum().astype(int)})
    m = u.loc[drew]
    labs = m.groupby(["unit", "value"]).size().rename("c").reset_index()
    labs = labs.sort_values(["unit", "c", "value"], ascending=[True, False, True], kind="stable")
    lg = labs.groupby("unit", sort=True)
    res["top"] = lg["c"].first().reindex(res.index).fillna(0).astype(int)
    second = labs.loc[(lg.cumcount() == 1).to_numpy()].set_index("unit")["c"]
    res["second"] = second.reindex(res.index).fillna(0).astype(int)
    res["n_labels"] = lg.size().reindex(res.index).fillna(0).astype(int)
    res["labs"] = (labs["value"].astype(str) + ":" + labs["c"].astype(str)).groupby(labs["unit"]).agg(", ".join).reindex(res.index)
    res["split"] = (labs["value"].astype(str) + " " + labs["c"].astype(str)).groupby(labs["unit"]).agg(", ".join).reindex(res.index)
    res["miou"] = m.groupby("unit")["iou"].mean().reindex(res.index)
    absent = u.loc[~drew]
    res["none"] = absent.groupby("unit")["annotator"].agg(lambda s: _names(s.tolist())).reindex(res.index)
    res = res.reset_index().merge(cons[["task", "object", "label", "kept", *geo]], on=["task", "object"], how="left")
    n, k = res["n_assigned"].to_numpy(), res["n_given"].to_numpy()
    miou = np.where(k > 1, res["miou"].to_numpy(float), np.nan)
    share = k / n
    tie = (res["n_labels"].to_numpy() > 1) & (res["top"].to_numpy() == res["second"].to_numpy())
    sig_draw = np.where(k < n, 1 - np.abs(2 * share - 1), 0.0)
    sig_lab = np.where(k > 0, 1 - res["top"].to_numpy() / np.maximum(k, 1), 0.0)
    sig_iou = np.where(np.isfinite(miou) & (miou < IOU_REVIEW), 1 - np.nan_to_num(miou), 0.0)
    reasons = []
    for i in range(len(res)):
        parts = []
        if k[i] < n[i]:
            who = "the third" if (n[i], k[i]) == (3, 2) else f"{n[i] - k[i]}"
            parts.append(f"{k[i]} of {n[i]} annotators{_counted(counted)} drew a {noun} here; {who} drew nothing "
                         f"({res['none'].iat[i]})")
        if res["n_labels"].iat[i] > 1:
            parts.append("labels split " + res["split"].iat[i] + (" (tie)" if tie[i] else ""))
        if np.isfinite(miou[i]) and miou[i] < IOU_REVIEW:
            parts.append(f"mean IoU {miou[i]:.2f} between the {k[i]} {noun}es" if noun == "box" else f"mean IoU {miou[i]:.2f}")
        reasons.append("; ".join(parts))
    kept = res["kept"].fillna(False).to_numpy(bool)
    out = pd.DataFrame({"unit": res["unit"], "task": res["task"], "object": res["object"], "n_assigned": n, "n_given": k,
                        "values": res["labs"].fillna("") + np.where(k < n, ", nothing:" + pd.Series(n - k).astype(str), ""),
                        "suggested_value": np.where(kept, np.where(tie, "tie", res["label"].astype(object)), "no object"),
                        "tie": tie, "agreement": 1 - sig_draw, "mean_iou": miou,
                        "disagreement": 1 - (1 - sig_draw) * (1 - sig_lab) * (1 - sig_iou), "reasons": reasons})
    for col in geo:
        out[col] = res[col].where(kept, None)
    return out


def _q_categorical(*, data, d, field, kind, pairs, counted, **_):
    from qa_toolkit.units.kinds import check_one_label

    check_one_label(d, func="review_queue", field=field, kind=kind)
    return _categorical(d, pairs, counted)


#: Per-kind builders of the unit table (``region`` = span, box, polygon, keypoints). Each
#: returns one row per unit with ``unit, task, ..., suggested_value, tie, agreement,
#: disagreement, reasons``; the router adds issue signals, priority, decisions and ranking.
QUEUE_BY_KIND = {
    "categorical": _q_categorical,
    "ordinal": lambda *, data, d, field, kinds, pairs, counted, **_: _ratings(data, d, field, kinds, pairs, counted),
    "interval": lambda *, data, d, field, kinds, pairs, counted, **_: _ratings(data, d, field, kinds, pairs, counted),
    "multilabel": lambda *, data, field, kinds, assignments, counted, **_: _multilabel(data, field, kinds, assignments,
                                                                                       counted),
    "region": lambda *, data, field, kind, kinds, assignments, counted, iou_threshold, label_aware, quorum,
    random_state, **_: _regions(data, field, kind, kinds, assignments, counted, iou_threshold, label_aware, quorum,
                                random_state),
}


def unit_review_queue(data: pd.DataFrame, *, field: Any = None, kinds: dict | None = None,
                      assignments: pd.DataFrame | None = None, issues: pd.DataFrame | None = None,
                      decisions: pd.DataFrame | None = None, iou_threshold: float = 0.5,
                      label_aware: bool = False, quorum: float = 0.5, include_agreed: bool = False,
                      explore: float = 0.0, random_state: Any = None) -> pd.DataFrame:
    """One row per unit of a typed field, prioritised for review, with reasons in words.

    Called by :func:`qa_toolkit.triage.review_queue` when ``field=`` is given.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical typed long table.
    field : hashable, optional
        The field (required when the table has several).
    kinds, assignments : optional
        As in :func:`qa_toolkit.to_units`.
    issues : pandas.DataFrame, optional
        Any issue-contract table (``task`` [, ``unit``], ``is_<name>_issue``,
        ``<name>_score``); each ``<name>`` becomes a signal ``1 - score``.
    decisions : pandas.DataFrame, optional
        Decision log (``task`` [, ``unit``], ``decision``): decided units leave the queue.
    iou_threshold, label_aware, quorum : optional
        Region matching and consensus (see ``consensus_regions``).
    include_agreed : bool, default=False
        Keep units on which every assigned annotator agrees (priority 0).
    explore, random_state : optional
        Passed to :func:`qa_toolkit.triage.scores.rank_for_review`; ``random_state`` also seeds
        region label tie breaks.

    Returns
    -------
    pandas.DataFrame
        In queue order: ``rank``, ``unit``, ``task``, ``field``, ``kind`` (regions:
        ``object``; multilabel: ``label``), ``priority``, ``reasons``, ``values``,
        ``n_assigned``, ``n_given``, ``suggested_value`` (None on a tie), ``tie``,
        ``agreement``, signal columns, region consensus geometry, ``explored``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2, 2], "annotator": list("ababc"),
    ...                    "label": ["x", "y", "x", "x", "x"]})
    >>> df.attrs["assignments"] = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc")})
    >>> unit_review_queue(df, field="label")["reasons"].iloc[0]
    "3 annotators: 1 chose 'x', 1 chose 'y'; 1 gave no label (c); tie between 'x' and 'y'"
    """
    func = "review_queue"
    quorum = check_fraction("quorum", quorum, func=func)
    d, field, kind = select_field(data, field, kinds=kinds, func=func)
    if kind == "text":
        raise QAInputError(f"{func}: field {field!r} has kind 'text' (free text): it has no units to queue; use "
                           "similarity_agreement.")
    pairs, counted = assigned_pairs(d, assignments=assignments, whole=data)
    build = QUEUE_BY_KIND["region" if kind in REGION_KINDS else kind]
    q = build(data=data, d=d, field=field, kind=kind, kinds=kinds, assignments=assignments, pairs=pairs,
              counted=counted, iou_threshold=iou_threshold, label_aware=label_aware, quorum=quorum,
              random_state=random_state)
    if not len(q):
        return pd.DataFrame(columns=["rank", "unit", "task", "field", "kind", "priority", "reasons", "explored"])
    q.insert(2, "field", field)
    q.insert(3, "kind", kind)
    signals = {"disagreement": q.pop("disagreement").to_numpy(float)}
    words = [[r] if r else [] for r in q["reasons"]]
    if issues is not None:
        s, w = issue_signals(issues, q, func=func)
        signals.update(s)
        words = [a + b for a, b in zip(words, w)]
    q["priority"] = review_priority(signals)
    q["reasons"] = ["; ".join(w) for w in words]
    for k, v in signals.items():
        q[k] = v
    keep = ~_decided(decisions, q)
    if not include_agreed:
        keep &= q["priority"].to_numpy() > 0
    q = q.loc[keep].reset_index(drop=True)
    if not len(q):
        return q.assign(rank=pd.Series(dtype=int), explored=pd.Series(dtype=bool))
    ranked = rank_for_review(pd.Series(q["priority"].to_numpy(), index=pd.RangeIndex(len(q))),
                             explore=explore, random_state=random_state)
    q = q.loc[ranked["task"].to_numpy()].reset_index(drop=True)
    q.insert(0, "rank", ranked["rank"].to_numpy())
    q["explored"] = ranked["explored"].to_numpy()
    q.attrs = {"field": field, "kind": kind, "empties_counted": counted}
    return q
