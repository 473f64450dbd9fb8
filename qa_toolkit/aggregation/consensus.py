"""Consensus merge of regions (spans, boxes, polygons, keypoints), like CVAT's consensus.

Regions of all annotators are matched into objects (:mod:`qa_toolkit.units.matching`);
an object is kept when a quorum of the annotators given the task drew it; its geometry
is the average of the members' (boxes, spans, keypoints) or the medoid member
(polygons and masks); its label is the majority (or Dawid-Skene) label of the unit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_fraction, check_option, check_random_state

__all__ = ["consensus_regions"]


def _box_geometry(m: pd.DataFrame, weighted: bool) -> dict:
    cols = ["x_min", "y_min", "x_max", "y_max"]
    w = m["score"].to_numpy(float) if weighted and "score" in m.columns else np.ones(len(m))
    out = {c: float(np.average(m[c].to_numpy(float), weights=w)) for c in cols}
    if "rotation" in m.columns:
        rot = np.deg2rad(m["rotation"].fillna(0).to_numpy(float))
        out["rotation"] = float(np.rad2deg(np.arctan2(np.average(np.sin(rot), weights=w),
                                                       np.average(np.cos(rot), weights=w))) % 360)
    return out


def consensus_regions(
    data: pd.DataFrame,
    *,
    field: Any = None,
    kinds: dict | None = None,
    assignments: pd.DataFrame | None = None,
    iou_threshold: float = 0.5,
    label_aware: bool = False,
    quorum: float = 0.5,
    label_method: str = "majority",
    weighted: bool = False,
    keep_all: bool = False,
    sigmas: Any = None,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Merge the regions of several annotators into consensus objects with a confidence.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with a region field (span, box, polygon, keypoints).
    field : hashable, optional
        The field (required when the table has several).
    kinds, assignments : optional
        As in :func:`qa_toolkit.to_units`.
    iou_threshold : float, default=0.5
        Matching threshold (IoU; OKS for keypoints).
    label_aware : bool, default=False
        Match only regions with the same label.
    quorum : float, default=0.5
        Keep an object when ``n_drawn / n_assigned >= quorum`` (CVAT's quorum).
    label_method : {'majority', 'dawid_skene'}, default='majority'
        Consensus label of each object: majority of the members (ties broken at random
        with ``random_state``) or Dawid-Skene over all objects of the field.
    weighted : bool, default=False
        Boxes: weight the average by a ``score`` column (weighted box fusion,
        Solovyev et al. 2021); otherwise the plain mean of the members.
    keep_all : bool, default=False
        Return every object with ``kept`` False below the quorum.
    sigmas : array-like, optional
        Keypoint sigmas.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the tie breaks.

    Returns
    -------
    pandas.DataFrame
        One row per object: ``task``, ``field``, ``object``, ``label``, ``confidence``
        (share of the assigned annotators who drew it), ``n_drawn``, ``n_assigned``,
        ``label_confidence`` (share of the members with the consensus label, or its
        Dawid-Skene posterior), ``mean_iou`` (of the members), ``annotators`` (tuple),
        ``kept`` and the consensus geometry (boxes: mean coordinates and circular mean
        rotation; spans: median start/end; keypoints: mean of the labelled positions;
        polygons and masks: the member with the highest mean IoU to the others).

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 1], "annotator": list("abca"), "label": ["car"] * 4,
    ...                    "x_min": [0, 2, 1, 50], "y_min": [0, 0, 0, 50], "x_max": [10, 12, 11, 60],
    ...                    "y_max": [10, 10, 10, 60]})
    >>> out = consensus_regions(df)
    >>> out[["label", "confidence", "x_min", "x_max"]].values.tolist()  # the lone box (1 of 3) is dropped
    [['car', 1.0, 1.0, 11.0]]
    """
    from qa_toolkit.units.reduce import ABSENT, region_units

    quorum = check_fraction("quorum", quorum, func="consensus_regions")
    check_option("label_method", label_method, ("majority", "dawid_skene"), func="consensus_regions")
    rng = check_random_state(random_state)
    u, _ = region_units(data, field=field, kinds=kinds, assignments=assignments, iou_threshold=iou_threshold,
                        label_aware=label_aware, sigmas=sigmas, func="consensus_regions")
    kind = u.attrs["kind"]
    drawn = u["value"] != ABSENT
    m = u.loc[drawn]
    g = u.groupby("unit", sort=True)
    res = pd.DataFrame({"task": g["task"].first(), "field": u.attrs["field"], "object": g["object"].first(),
                        "n_drawn": drawn.groupby(u["unit"]).sum().astype(int), "n_assigned": g.size()})
    res["confidence"] = res["n_drawn"] / res["n_assigned"]
    votes = pd.DataFrame({"task": m["unit"].to_numpy(), "annotator": m["annotator"].to_numpy(),
                          "label": m["value"].astype(str).to_numpy()})
    if label_method == "dawid_skene" and votes["label"].nunique() > 1:
        from qa_toolkit.aggregation.dawid_skene import DawidSkene

        post = DawidSkene().fit_predict_proba(votes)
        res["label"] = post.idxmax(axis=1).reindex(res.index)
        res["label_confidence"] = post.max(axis=1).reindex(res.index)
    else:
        cnt = votes.groupby(["task", "label"]).size().rename("n").reset_index()
        cnt["r"] = rng.random(len(cnt))
        top = cnt.sort_values(["task", "n", "r"], ascending=[True, False, True]).drop_duplicates("task").set_index("task")
        res["label"] = top["label"].reindex(res.index)
        res["label_confidence"] = (top["n"] / res["n_drawn"]).reindex(res.index)
    res["mean_iou"] = m.groupby("unit")["iou"].mean().reindex(res.index)
    res["annotators"] = m.groupby("unit")["annotator"].agg(lambda s: tuple(sorted(s, key=str))).reindex(res.index)
    res["kept"] = res["confidence"] >= quorum - 1e-12
    geo = []
    for unit, mm in m.groupby("unit", sort=True):
        if kind == "box":
            geo.append({"unit": unit, **_box_geometry(mm, weighted)})
        elif kind == "span":
            geo.append({"unit": unit, "start": float(np.round(mm["start"].median())), "end": float(np.round(mm["end"].median()))})
        elif kind == "keypoints" and "keypoints" in mm.columns and mm["keypoints"].notna().all():
            kp = np.stack([np.asarray(k, float).reshape(-1, 3) for k in mm["keypoints"]])
            vis = kp[..., 2] > 0
            n = vis.sum(axis=0)
            xy = np.where(vis[..., None], kp[..., :2], 0).sum(axis=0) / np.maximum(n, 1)[:, None]
            geo.append({"unit": unit, "keypoints": tuple((float(x), float(y), 2 if k else 0) for (x, y), k in zip(xy, n > 0))})
        elif kind == "keypoints":
            pts = np.array([np.asarray(p, float).reshape(-1, 2)[0] for p in mm["points"]])
            geo.append({"unit": unit, "points": (tuple(pts.mean(axis=0).tolist()),)})
        else:  # polygons and masks: the medoid member
            best = mm.iloc[int(np.nanargmax(mm["iou"].fillna(0).to_numpy()))]
            geo.append({"unit": unit, **{c: best[c] for c in ("points", "rle") if c in mm.columns}})
    out = res.join(pd.DataFrame(geo).set_index("unit")) if geo else res
    if not keep_all:
        out = out.loc[out["kept"]]
    out = out.reset_index(drop=True)
    out.attrs = {"field": u.attrs["field"], "kind": kind, "empties_counted": u.attrs["empties_counted"]}
    return out
