"""``to_units``: every kind of field reduced to agreement units ``(unit, annotator, value)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError
from qa_toolkit.units.kinds import (
    REGION_KINDS,
    assigned_pairs,
    check_one_label,
    py_value,
    select_field,
)
from qa_toolkit.units.matching import match_objects

__all__ = ["ABSENT", "to_units", "region_units"]

#: Value of an assigned annotator who drew no region in a matched object.
ABSENT = "<absent>"


def _numeric(d: pd.DataFrame, field: Any, kind: str, func: str) -> np.ndarray:
    src = d["value"] if "value" in d.columns and d["value"].notna().all() else d["label"]
    vals = pd.to_numeric(src, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(vals))
    if len(bad):
        r = d.iloc[int(bad[0])]
        aid = f", annotation {py_value(r['annotation_id'])!r}" if "annotation_id" in d.columns else ""
        raise AnnotationFormatError(
            f"{func}: field {field!r} has kind {kind!r} but {len(bad)} value(s) are not numbers (first: "
            f"{py_value(src.iloc[int(bad[0])])!r} at task {py_value(r['task'])!r}, annotator {py_value(r['annotator'])!r}{aid}). "
            "Fix the values or give the field another kind (kinds={...}).")
    return vals


def _set_finish(out: pd.DataFrame, field: Any, kind: str, counted: bool) -> pd.DataFrame:
    out.attrs["field"] = field
    out.attrs["kind"] = kind
    out.attrs["empties_counted"] = counted
    return out


def to_units(
    data: pd.DataFrame,
    *,
    field: Any = None,
    kinds: dict | None = None,
    assignments: pd.DataFrame | None = None,
    iou_threshold: float = 0.5,
    label_aware: bool = False,
    sets: bool = False,
    sigmas: Any = None,
) -> pd.DataFrame:
    """Reduce one field to agreement units: a long table ``unit, annotator, value``.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table (see ``docs/DATA_MODEL.md``).
    field : hashable, optional
        The field to reduce (required when the table has several).
    kinds : dict, optional
        ``{field: kind}`` overrides.
    assignments : pandas.DataFrame, optional
        ``task, annotator`` pairs given each task (default ``data.attrs['assignments']``;
        without either, the annotators with a row on the task in any field).
    iou_threshold : float, default=0.5
        Region kinds: minimum IoU (OKS for keypoints) for two regions to be one object.
    label_aware : bool, default=False
        Region kinds: only regions with the same label can be one object.
    sets : bool, default=False
        Multilabel: one unit per (task, field) whose value is the frozenset of labels
        (for set distances) instead of binary units per label.
    sigmas : array-like, optional
        Keypoint sigmas (default: COCO person sigmas for 17 keypoints, 0.025 for points).

    Returns
    -------
    pandas.DataFrame
        ``unit`` (int), ``annotator``, ``value`` and provenance ``task``, ``field``,
        ``kind``; multilabel adds ``label`` (value 1 present / 0 absent); regions add
        ``object`` (object number), ``row`` (position of the region in the field's rows,
        -1 when absent), ``iou`` (mean similarity to the other members of the object)
        and the geometry columns (plus ``score`` and ``area`` when the table has them). ``attrs['empties_counted']`` says whether assignments
        were known.

        * categorical: one unit per task, the label as value.
        * multilabel: one unit per (task, label) for every annotator assigned to the
          task, value 1/0 (or one set-valued unit per task with ``sets=True``).
        * ordinal / interval: one unit per task with the numeric value.
        * span / box / polygon / keypoints: one unit per matched object (see
          :func:`qa_toolkit.units.matching.match_objects`), every assigned annotator's
          label or :data:`ABSENT`.

    Raises
    ------
    AnnotationFormatError
        Several labels per (task, annotator) in a categorical or numeric field; numeric
        kinds on non-numeric values; unmatched geometry (degenerate polygons, keypoints
        without visibility flags), naming field and record.

    Examples
    --------
    >>> import qa_toolkit as qa
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2], "annotator": ["a", "a", "b", "a"], "label": ["A", "B", "A", "A"]})
    >>> df.attrs["assignments"] = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"]})
    >>> u = qa.to_units(df, kinds={"label": "multilabel"})  # b marked nothing on task 2: two 0 votes there
    >>> u.sort_values(["unit", "annotator"])[["task", "label", "annotator", "value"]].values.tolist()
    [[1, 'A', 'a', 1], [1, 'A', 'b', 1], [1, 'B', 'a', 1], [1, 'B', 'b', 0], [2, 'A', 'a', 1], [2, 'A', 'b', 0], [2, 'B', 'a', 0], [2, 'B', 'b', 0]]
    """
    func = "to_units"
    d, field, kind = select_field(data, field, kinds=kinds, func=func)
    if kind == "text":
        raise QAInputError(f"{func}: field {field!r} has kind 'text' (free text): it has no agreement units. "
                           "Use similarity_agreement, or give the field another kind (kinds={...}).")
    pairs, counted = assigned_pairs(d, assignments=assignments, whole=data)
    if kind == "multilabel":
        return _set_finish(_multilabel(d, pairs, field, sets), field, kind, counted)
    if kind in REGION_KINDS:
        units, _ = _regions(d, pairs, field, kind, iou_threshold, label_aware, sigmas)
        return _set_finish(units, field, kind, counted)
    check_one_label(d, func=func, field=field, kind=kind)
    value = _numeric(d, field, kind, func) if kind in ("ordinal", "interval") else d["label"].to_numpy()
    t, _ = pd.factorize(d["task"].to_numpy(), sort=True)
    out = pd.DataFrame({"unit": t, "annotator": d["annotator"].array, "value": value,
                        "task": d["task"].array, "field": _const(field, len(d)), "kind": _const(kind, len(d))})
    if (np.diff(t) < 0).any():
        out = out.iloc[np.argsort(t, kind="stable")].reset_index(drop=True)
    return _set_finish(out, field, kind, counted)


def _pairs_codes(d: pd.DataFrame, pairs: pd.DataFrame, with_rows: bool = False):
    """Codes of tasks and annotators shared by the rows ``d`` and the assigned ``pairs``."""
    tc, tasks = pd.factorize(pd.concat([d["task"], pairs["task"]], ignore_index=True))
    ac, anns = pd.factorize(pd.concat([d["annotator"], pairs["annotator"]], ignore_index=True))
    n = len(d)
    if with_rows:
        return pd.Index(tasks), pd.Index(anns), tc[n:], ac[n:], tc[:n], ac[:n]
    return pd.Index(tasks), pd.Index(anns), tc[n:], ac[n:]


def _multilabel(d: pd.DataFrame, pairs: pd.DataFrame, field: Any, sets: bool) -> pd.DataFrame:
    tasks, anns, pt, pa, dt, da = _pairs_codes(d, pairs, with_rows=True)
    order = np.lexsort((pa, pt))
    pt, pa = pt[order], pa[order]
    nA = len(anns)
    pair_key = pt.astype(np.int64) * nA + pa
    row_pair = np.searchsorted(pair_key, dt.astype(np.int64) * nA + da)
    if sets:
        labs = d["label"].to_numpy()
        groups = pd.Series(labs).groupby(row_pair).agg(frozenset)
        vals = np.full(len(pt), frozenset(), dtype=object)
        vals[groups.index.to_numpy()] = groups.to_numpy()
        out = pd.DataFrame({"unit": pt, "annotator": anns.take(pa), "value": vals, "task": tasks.take(pt),
                            "field": _const(field, len(pt)), "kind": _const("multilabel", len(pt))})
        return out
    lab, labels = pd.factorize(d["label"], sort=True)
    L = len(labels)
    P = len(pt)
    present = np.zeros(P * L, dtype=np.int8)
    present[row_pair.astype(np.int64) * L + lab] = 1
    # unit = (task, label); rows ordered (task, annotator, label) as the sorted pairs
    task_rank = np.concatenate([[0], np.cumsum(pt[1:] != pt[:-1])]) if P else np.zeros(0, np.int64)
    pidx = np.repeat(np.arange(P, dtype=np.int64), L)
    lidx = np.tile(np.arange(L, dtype=np.int64), P)
    unit = np.repeat(task_rank.astype(np.int64) * L, L) + lidx
    return pd.DataFrame({
        "unit": unit, "annotator": _take(anns, pa[pidx]), "value": present,
        "task": _take(tasks, pt[pidx]), "field": _const(field, len(unit)), "kind": _const("multilabel", len(unit)),
        "label": _take(labels, lidx),
    })


def _const(value: Any, n: int) -> pd.Categorical:
    """A constant column as a one-category Categorical (no n-fold string copy)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def _take(index: pd.Index, codes: np.ndarray):
    """Values of ``index`` at ``codes``: numpy take for numbers, a Categorical otherwise (no string copies)."""
    if index.dtype.kind in "iufb":
        return index.to_numpy()[codes]
    return pd.Categorical.from_codes(codes, categories=index)


def _regions(d: pd.DataFrame, pairs: pd.DataFrame, field: Any, kind: str, iou_threshold: float,
             label_aware: bool, sigmas: Any) -> pd.DataFrame:
    d = d.reset_index(drop=True)
    obj, mp = match_objects(d, kind, field=field, iou_threshold=iou_threshold, label_aware=label_aware,
                            sigmas=sigmas, func="to_units")
    n = len(d)
    score = np.zeros(n)
    cnt = np.zeros(n)
    for col in ("row_a", "row_b"):
        np.add.at(score, mp[col].to_numpy(), mp["iou"].to_numpy())
        np.add.at(cnt, mp[col].to_numpy(), 1)
    score = np.divide(score, cnt, out=np.full(n, np.nan), where=cnt > 0)
    tasks, anns, pt, pa, dt, da = _pairs_codes(d, pairs, with_rows=True)
    n_obj = int(obj.max()) + 1 if n else 0
    obj_task = np.zeros(n_obj, dtype=np.int64)
    obj_task[obj] = dt
    # assigned annotators per task
    po = np.lexsort((pa, pt))
    pt, pa = pt[po], pa[po]
    per_task = np.bincount(pt, minlength=len(tasks))
    start = np.cumsum(per_task) - per_task
    k = per_task[obj_task]
    u = np.repeat(np.arange(n_obj), k)
    off = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
    ua = pa[start[obj_task[u]] + off]
    nA = len(anns)
    mkey = obj.astype(np.int64) * nA + da
    so = np.argsort(mkey)
    ukey = u.astype(np.int64) * nA + ua
    pos = np.searchsorted(mkey[so], ukey)
    pos = np.minimum(pos, max(n - 1, 0))
    hit = (mkey[so][pos] == ukey) if n else np.zeros(len(u), bool)
    row = np.where(hit, so[pos] if n else -1, -1)
    labels = d["label"].to_numpy(dtype=object)
    value = np.where(hit, labels[np.maximum(row, 0)] if n else ABSENT, ABSENT)
    first_obj = np.searchsorted(obj_task[np.argsort(obj_task, kind="stable")], obj_task)  # first object of the task
    out = pd.DataFrame({"unit": u, "annotator": anns.take(ua), "value": value, "task": tasks.take(obj_task[u]),
                        "field": _const(field, len(u)), "kind": _const(kind, len(u)), "object": u - first_obj[u], "row": row,
                        "iou": np.where(hit, score[np.maximum(row, 0)], np.nan)})
    from qa_toolkit.units.geometry import GEOMETRY_COLUMNS

    for c in [*GEOMETRY_COLUMNS[kind], "score", "area"]:
        if c in d.columns:
            col = d[c].to_numpy()
            vals = col[np.maximum(row, 0)] if n else col[:0]
            if vals.dtype.kind in "fiub":
                out[c] = np.where(hit, vals.astype(float), np.nan)
            else:
                out[c] = pd.Series(vals, dtype=object).where(hit, None).to_numpy()
    an = d["annotator"].to_numpy()
    ra, rb = mp["row_a"].to_numpy(), mp["row_b"].to_numpy()
    acode, auniq = pd.factorize(an)
    arank = np.argsort(np.argsort(np.array([str(x) for x in auniq], dtype=object)))
    swap = arank[acode[ra]] > arank[acode[rb]] if len(ra) else np.zeros(0, bool)
    ra, rb = np.where(swap, rb, ra), np.where(swap, ra, rb)
    first_unit = np.searchsorted(u, mp["object"].to_numpy())
    named = pd.DataFrame({"unit": mp["object"].to_numpy(), "task": out["task"].to_numpy()[first_unit] if len(u) else [],
                          "annotator_a": an[ra], "annotator_b": an[rb], "label_a": labels[ra], "label_b": labels[rb],
                          "iou": mp["iou"].to_numpy()})
    return out, named


def region_units(data: pd.DataFrame, *, field: Any = None, kinds: dict | None = None,
                 assignments: pd.DataFrame | None = None, iou_threshold: float = 0.5,
                 label_aware: bool = False, sigmas: Any = None, func: str = "region_units"):
    """Units of a region field and the matched pairs (``unit, task, annotator_a, annotator_b, label_a, label_b, iou``)."""
    d, field, kind = select_field(data, field, kinds=kinds, func=func)
    if kind not in REGION_KINDS:
        raise QAInputError(f"{func}: field {field!r} has kind {kind!r}; region matching needs one of {list(REGION_KINDS)}.")
    pairs, counted = assigned_pairs(d, assignments=assignments, whole=data)
    units, named = _regions(d, pairs, field, kind, iou_threshold, label_aware, sigmas)
    return _set_finish(units, field, kind, counted), named
