"""The review units of every field with their consensus, and the annotation rows behind each.

One row per unit: a task for categorical and rating fields, a (task, label) pair for
multi-label fields, a matched object (:func:`qa_toolkit.to_units`) for region fields. Each
unit names the position (in the annotation table) of the row its adjudicated row is
copied from, so geometry, task size, span text and ids travel to the writers unchanged.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit.review.log_io import py_scalar as _py
from qa_toolkit.units import ABSENT, REGION_KINDS, field_kinds, select_field, to_units

__all__ = ["REGION_QUORUM", "review_units"]

#: A region object with no decision is kept when at least this share of its assigned annotators drew it.
REGION_QUORUM = 0.5


def _majority(labels: list) -> tuple[Any, float]:
    """The unique most common label (None on ties or no label) and its share."""
    vals = [v for v in labels if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if not vals:
        return None, float("nan")
    counts = Counter(str(v) for v in vals).most_common(2)
    share = counts[0][1] / len(vals)
    if len(counts) > 1 and counts[1][1] == counts[0][1]:
        return None, float(share)
    return _py(next(v for v in vals if str(v) == counts[0][0])), float(share)


def _task_units(d: pd.DataFrame, pos: np.ndarray, field: Any, kind: str) -> list[dict]:
    """One unit per task, vectorised: majority label (categorical) or median value (ratings)."""
    tasks, first = np.unique(pd.factorize(d["task"], sort=False)[0], return_index=True)
    base = pos[first]
    order = d["task"].to_numpy()[first]
    if kind in ("ordinal", "interval"):
        vals = pd.to_numeric(d["value"] if "value" in d.columns else d["label"], errors="coerce")
        frame = pd.DataFrame({"task": d["task"].to_numpy(), "v": vals.to_numpy(dtype=float)})
        med = frame.groupby("task", sort=False)["v"].median()
        frame["hit"] = frame["v"].to_numpy() == med.reindex(frame["task"]).to_numpy()
        agree = frame.groupby("task", sort=False)["hit"].mean()
        cons = med.reindex(order).to_numpy()
        agr = agree.reindex(order).to_numpy()
        labels = [None if np.isnan(c) else float(c) for c in cons]
    else:
        from qa_toolkit.review.tables import consensus_labels

        c = consensus_labels(d).reindex(order)
        labels = [_py(v) for v in c["consensus_label"].tolist()]
        agr = c["agreement"].to_numpy(dtype=float)
    return [{"task": _py(t), "field": field, "kind": kind, "unit": None, "consensus_label": lab,
             "agreement": float(ag), "consensus_kept": lab is not None, "base_row": int(bp), "members": {}}
            for t, lab, ag, bp in zip(order, labels, agr, base)]


def _multilabel_units(data: pd.DataFrame, d: pd.DataFrame, pos: np.ndarray, field: Any) -> list[dict]:
    u = to_units(data, field=field)
    first = {(_py(t), _py(lab)): int(pos[i]) for i, (t, lab) in enumerate(zip(d["task"], d["label"]))}
    task_first: dict = {}
    for (t, _), p in first.items():
        task_first.setdefault(t, p)
    share = u.assign(v=u["value"].astype(float)).groupby(["task", "label"], sort=False)["v"].mean()
    out = []
    for (task, label), sh in share.items():
        key = (_py(task), _py(label))
        out.append({"task": key[0], "field": field, "kind": "multilabel", "unit": key[1],
                    "consensus_label": key[1] if sh > 0.5 else None, "agreement": max(sh, 1 - sh),
                    "consensus_kept": bool(sh > 0.5), "base_row": first.get(key, task_first.get(key[0], -1)),
                    "members": {}})
    return out


def _region_units(data: pd.DataFrame, d: pd.DataFrame, pos: np.ndarray, field: Any, kind: str) -> list[dict]:
    u = to_units(data, field=field)
    ids = d["annotation_id"].to_numpy(dtype=object) if "annotation_id" in d.columns else None
    unit = u["unit"].to_numpy()
    order = np.argsort(unit, kind="stable")
    bounds = np.flatnonzero(np.diff(unit[order])) + 1
    tasks, objs = u["task"].to_numpy(dtype=object), u["object"].to_numpy()
    who, value = u["annotator"].to_numpy(dtype=object), u["value"].to_numpy(dtype=object)
    row, iou = u["row"].to_numpy(dtype=np.int64), np.nan_to_num(u["iou"].to_numpy(dtype=float))
    who_l = [_py(w) for w in who.tolist()]
    ids_l = None if ids is None else [None if pd.isna(x) else _py(x) for x in ids.tolist()]
    pos_l = pos.tolist()
    absent = value == ABSENT
    out = []
    for g in np.split(order, bounds) if len(order) else []:
        drawn = g[~absent[g]]
        rows = row[drawn].tolist()
        label, agree = _majority(value[drawn].tolist())
        if label is None and len(drawn):  # a label tie: the first member's label, flagged by agreement < 1
            label = _py(value[drawn[0]])
        medoid = rows[int(np.argmax(iou[drawn]))] if rows else -1
        members: dict = {}
        for r, k in zip(rows, drawn.tolist()):
            members[("annotator", who_l[k])] = pos_l[r]
            if ids_l is not None and ids_l[r] is not None:
                members[ids_l[r]] = pos_l[r]
        out.append({"task": _py(tasks[g[0]]), "field": field, "kind": kind, "unit": int(objs[g[0]]),
                    "consensus_label": label, "agreement": agree,
                    "consensus_kept": len(drawn) / max(len(g), 1) >= REGION_QUORUM - 1e-12,
                    "base_row": pos_l[medoid] if medoid >= 0 else -1, "members": members})
    return out


def review_units(data: pd.DataFrame) -> pd.DataFrame:
    """One row per review unit of every field of ``data``, with its consensus.

    Parameters
    ----------
    data : pandas.DataFrame
        The canonical long table (``docs/DATA_MODEL.md``), every field.

    Returns
    -------
    pandas.DataFrame
        ``task``, ``field``, ``kind``, ``unit`` (None for a task, the label of a multi-label
        unit, the object number of a region), ``consensus_label`` (the majority label, the
        median rating, the label of a present multi-label unit; None on ties and absent
        labels), ``agreement``, ``consensus_kept`` (the unit is in the adjudicated table
        without a decision), ``base_row`` (position in ``data`` of the row an adjudicated
        row copies: a region's medoid member) and ``members`` (region objects: annotation
        id, and ``("annotator", name)``, to row position).

    Raises
    ------
    QAInputError
        A free-text field (kind ``text``) has no review units.
    """
    data = data.reset_index(drop=True)
    kinds = field_kinds(data)
    parts: list[dict] = []
    for field, kind in kinds.items():
        d, field, kind = select_field(data, field, func="review_units")
        pos = d.index.to_numpy()
        if kind == "text":
            continue
        if kind == "multilabel":
            parts += _multilabel_units(data, d, pos, field)
        elif kind in REGION_KINDS:
            parts += _region_units(data, d, pos, field, kind)
        else:
            parts += _task_units(d, pos, field, kind)
    cols = ["task", "field", "kind", "unit", "consensus_label", "agreement", "consensus_kept", "base_row", "members"]
    return pd.DataFrame.from_records(parts, columns=cols)
