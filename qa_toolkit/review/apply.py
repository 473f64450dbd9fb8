"""Replay a decision log onto the annotations: the adjudicated table, every kind.

:func:`apply_decisions` gives the adjudicated long table (one row per kept unit, annotator
``"adjudicated"``, ready for :func:`qa_toolkit.io.write_label_studio` or
:func:`qa_toolkit.io.write_coco`); :func:`review_status` gives the status of every unit
(pending, accepted, fixed, rejected, skipped); :func:`requeue_units` lists the rejected
units whose policy is ``requeue``, for :func:`qa_toolkit.io.to_label_studio_tasks`.

Decisions on a unit: ``accept`` keeps the consensus (or, with an ``annotation_id``, that
annotator's version of the object); ``fix`` sets the label and/or the geometry; ``reject``
drops the unit (a region object is deleted, a multi-label label is absent, a task has no
label). Per-annotation decisions (``scope='annotation'``) grade an annotator's whole
annotation (see :func:`qa_toolkit.review.final_decision_table`); they do not change the
consensus.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns
from qa_toolkit.review import log_io as _io
from qa_toolkit.review.decision_log import _MAGIC, _VERSION, DecisionLog, _now
from qa_toolkit.review.log_io import DecisionLogWarning
from qa_toolkit.review.log_io import py_scalar as _py
from qa_toolkit.review.replay import effective_records
from qa_toolkit.review.units import review_units

__all__ = ["ADJUDICATOR", "apply_decisions", "migrate_log", "requeue_units", "review_status"]

#: The annotator name of adjudicated rows.
ADJUDICATOR = "adjudicated"
_STATUS = {"accept": "accepted", "fix": "fixed", "reject": "rejected", "skip": "skipped"}
_GEOMETRY = ("x_min", "y_min", "x_max", "y_max", "rotation", "start", "end", "points", "keypoints")
_OnMismatch = Literal["raise", "warn", "ignore"]


def migrate_log(source: str | os.PathLike, target: str | os.PathLike) -> DecisionLog:
    """Copy a (version-1) decision log into a new hash-chained log at ``target``.

    Timestamps, tasks and every field are kept; ``target`` must not exist yet.
    """
    if Path(target).exists():
        raise QAInputError(f"The 'target' parameter of migrate_log must be a new file; {target} exists.")
    old = DecisionLog(source, read_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DecisionLogWarning)
        recs = old.records()
    header = old._read_header() or {}
    rec = {"format": _MAGIC, "version": _VERSION, "annotations_hash": header.get("annotations_hash"),
           "created_at": header.get("created_at") or _now(), "migrated_from": str(source)}
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        _io.write_all(fd, _io.seal(rec, 0, "")[0], size_before=0)
    finally:
        os.close(fd)
    new = DecisionLog(target)
    for r in recs:
        new._append_record({k: v for k, v in r.items() if k not in ("seq", "hash")})
    return new


def _match(units: pd.DataFrame, final: dict, *, func: str) -> dict:
    """Unit position -> (record, n) for the effective unit decisions (per-annotation ones left out)."""
    where = {(t, f, u): i for i, (t, f, u) in enumerate(zip(units["task"], units["field"], units["unit"]))}
    fields = list(dict.fromkeys(units["field"].tolist()))
    tasks = set(units["task"].tolist())
    out = {}
    for (task, field, unit, annotation), (rec, n) in final.items():
        if annotation is not None:
            continue
        if task not in tasks:
            raise QAInputError(f"{func}: the log decides tasks that are not in the annotations: [{task!r}].")
        if field is None:
            if len(fields) != 1:
                raise QAInputError(f"{func}: the decision on task {task!r} (seq {rec.get('seq')}) names no field, "
                                   f"and the table has the fields {fields[:10]}.")
            field = fields[0]
        i = where.get((task, field, unit))
        if i is None and isinstance(unit, str) and unit.lstrip("-").isdigit():
            i = where.get((task, field, int(unit)))
        if i is None:
            raise QAInputError(f"{func}: the decision on task {task!r}, field {field!r}, unit {unit!r} "
                               f"(seq {rec.get('seq')}) names no unit of the annotations (a region field's unit "
                               "is its object number, a multi-label field's unit is the label).")
        out[i] = (rec, n)
    return out


def _resolve(annotations: pd.DataFrame, log: Any, on_mismatch: str, func: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func=func)
    final = effective_records(annotations, log, on_mismatch=on_mismatch, func=func)
    units = review_units(annotations)
    decided = _match(units, final, func=func)
    n = len(units)
    status = np.full(n, "pending", dtype=object)
    label = units["consensus_label"].astype(object).to_numpy(copy=True)
    kept = units["consensus_kept"].to_numpy(dtype=bool, copy=True)
    source = np.where(kept, "consensus", None).astype(object)
    base = units["base_row"].to_numpy(dtype=np.int64, copy=True)
    cols = {c: np.full(n, None, dtype=object) for c in ("reviewer", "reason", "comment", "decided_at", "geometry",
                                                         "policy")}
    n_dec = np.zeros(n, dtype=np.int64)
    kinds = units["kind"].to_numpy()
    for i, (rec, k) in decided.items():
        n_dec[i] = k
        d = rec["decision"]
        status[i] = _STATUS.get(d, "skipped")
        for c in ("reviewer", "reason", "comment", "policy"):
            cols[c][i] = _py(rec.get(c))
        cols["decided_at"][i] = rec.get("timestamp")
        if d == "reject":
            kept[i], source[i], label[i] = False, None, None
        elif d in ("accept", "fix"):
            aid = _py(rec.get("annotation_id"))
            members = units["members"].iat[i]
            if aid is not None and members:
                row = members.get(aid, members.get(("annotator", _py(rec.get("annotator")))))
                if row is None:
                    raise QAInputError(f"{func}: the decision on task {rec['task']!r}, unit {rec.get('unit')!r} "
                                       f"takes annotation {aid!r}, which has no region in that object.")
                base[i] = row
            after = rec.get("label_after")
            if kinds[i] == "multilabel":
                kept[i] = bool(units["consensus_kept"].iat[i]) if d == "accept" else True
                label[i] = after if d == "fix" else units["unit"].iat[i]
            else:
                kept[i] = True
                if after is not None:
                    label[i] = after
                elif aid is not None and members:
                    label[i] = _py(annotations["label"].iloc[base[i]])
            source[i] = "review" if kept[i] else None
            if isinstance(rec.get("geometry"), dict):
                cols["geometry"][i] = rec["geometry"]
    res = units[["task", "field", "kind", "unit", "consensus_label", "agreement"]].copy()
    res["label"] = label
    res["status"], res["label_source"], res["kept"], res["base_row"] = status, source, kept, base
    for c, v in cols.items():
        res[c] = v
    res["n_decisions"] = n_dec
    res["decided_at"] = pd.to_datetime(res["decided_at"], utc=True, format="ISO8601")
    return annotations.reset_index(drop=True), res


def review_status(annotations: pd.DataFrame, log: DecisionLog | str | os.PathLike | pd.DataFrame, *,
                  on_mismatch: _OnMismatch = "raise") -> pd.DataFrame:
    """The review state of every unit of every field.

    Parameters
    ----------
    annotations : pandas.DataFrame
        The canonical long table the decisions were taken on.
    log : DecisionLog, path or pandas.DataFrame
        A log, a log file, or the table :meth:`DecisionLog.read` returned.
    on_mismatch : {'raise', 'warn', 'ignore'}, default='raise'
        Decisions whose own task changed since (:func:`qa_toolkit.review.stale_decisions`):
        raise :class:`LogMismatchError`, or leave them out with or without a warning.

    Returns
    -------
    pandas.DataFrame
        One row per unit: ``task``, ``field``, ``kind``, ``unit``, ``consensus_label``,
        ``agreement``, ``label`` (final; None for rejected units, absent labels and ties),
        ``status`` ({'pending', 'accepted', 'fixed', 'rejected', 'skipped'}),
        ``label_source`` ('review', 'consensus' or None), ``kept`` (in the adjudicated
        table), ``reviewer``, ``reason``, ``comment``, ``policy``, ``decided_at``,
        ``n_decisions``.
    """
    _, res = _resolve(annotations, log, on_mismatch, "review_status")
    return res.drop(columns=["base_row", "geometry"])


def _set_geometry(out: pd.DataFrame, j: int, geometry: dict) -> None:
    for key, value in geometry.items():
        if key not in _GEOMETRY:
            continue
        if key in ("points", "keypoints"):
            value = tuple(tuple(p) for p in value)
        if key not in out.columns:
            out[key] = None if key in ("points", "keypoints") else np.nan
        if isinstance(value, tuple):
            out[key] = out[key].astype(object)
        out.iat[j, out.columns.get_loc(key)] = value


def _rating_text(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def apply_decisions(annotations: pd.DataFrame, log: DecisionLog | str | os.PathLike | pd.DataFrame, *,
                    on_mismatch: _OnMismatch = "raise") -> pd.DataFrame:
    """Replay a decision log into the adjudicated long table, for every kind of field.

    Pure: neither argument is modified, and replaying twice gives the same table.

    Parameters
    ----------
    annotations : pandas.DataFrame
        The canonical long table the decisions were taken on (``docs/DATA_MODEL.md``).
    log : DecisionLog, path or pandas.DataFrame
        A log, a log file, or the table :meth:`DecisionLog.read` returned.
    on_mismatch : {'raise', 'warn', 'ignore'}, default='raise'
        What to do with stale decisions (taken before their own task's rows changed).

    Returns
    -------
    pandas.DataFrame
        The annotation table's columns, one row per kept unit, ``annotator`` =
        :data:`ADJUDICATOR`: a categorical task with its final label (consensus, or the
        reviewed one; ties without a decision are left out), a rating with the median or
        the corrected value, one row per present label of a multi-label task, one row
        per kept region object with the decided label and geometry (the consensus medoid
        member, the annotator version taken, or the fixed geometry; objects drawn by
        fewer than half of the assigned annotators are left out unless accepted). Each
        row is a copy of an annotation row, so task size, span text and region ids
        survive; ``annotation_id`` is cleared. Provenance columns: ``unit``, ``status``,
        ``label_source``, ``consensus_label``, ``agreement``, ``reviewer``, ``reason``,
        ``comment``, ``decided_at``, ``n_decisions``. ``attrs`` keep ``task_data``,
        ``task_ids`` and ``ls_controls`` for the writers.

    Raises
    ------
    LogMismatchError
        With ``on_mismatch='raise'``, when decisions are stale.
    QAInputError
        When the log decides tasks or units that are not in the annotations.
    """
    data, res = _resolve(annotations, log, on_mismatch, "apply_decisions")
    res = res.loc[res["kept"].to_numpy() & res["label"].notna().to_numpy() & (res["base_row"] >= 0).to_numpy()]
    out = data.iloc[res["base_row"].to_numpy()].reset_index(drop=True)
    out["annotator"] = ADJUDICATOR
    if "annotation_id" in out.columns:
        out["annotation_id"] = None
    if "kind" not in out.columns:
        out["kind"] = res["kind"].to_numpy()
    if "field" not in out.columns:
        out.insert(1, "field", res["field"].to_numpy())
    kinds = res["kind"].to_numpy()
    labels = res["label"].to_numpy(dtype=object)
    numeric = np.isin(kinds, ["ordinal", "interval"])
    if numeric.any():
        if "value" in out.columns:
            out["value"] = out["value"].astype(object)
            out.loc[numeric, "value"] = [float(v) for v in labels[numeric]]
        labels = np.array([_rating_text(float(v)) if nm else v for v, nm in zip(labels, numeric)], dtype=object)
    out["label"] = labels
    if "taxonomy_path" in out.columns:
        ml = np.flatnonzero(kinds == "multilabel")
        out["taxonomy_path"] = out["taxonomy_path"].astype(object)
        for j in ml:
            if "/" in str(labels[j]) or not pd.isna(out["taxonomy_path"].iat[j]):
                out.iat[j, out.columns.get_loc("taxonomy_path")] = tuple(str(labels[j]).split("/"))
    for j, geo in enumerate(res["geometry"].tolist()):
        if isinstance(geo, dict):
            _set_geometry(out, j, geo)
    for c in ("unit", "status", "label_source", "consensus_label", "agreement", "reviewer", "reason", "comment",
              "decided_at", "n_decisions"):
        out[c] = res[c].to_numpy()
    out.attrs = {k: annotations.attrs[k] for k in ("task_data", "task_ids", "ls_controls") if k in annotations.attrs}
    return out


def requeue_units(annotations: pd.DataFrame, log: DecisionLog | str | os.PathLike | pd.DataFrame, *,
                  on_mismatch: _OnMismatch = "raise") -> pd.DataFrame:
    """The rejected units (and rejected annotations) whose reject policy is ``requeue``.

    Feed it to :func:`qa_toolkit.io.to_label_studio_tasks` (``data=annotations``) to send
    them back for re-annotation as Label Studio tasks with their data and original ids.
    Decisions without a ``policy`` requeue; ``policy='remove'`` only drops the unit.

    Returns
    -------
    pandas.DataFrame
        One row per task with ``task``, ``reason`` (the units and reject reasons, joined),
        ``n_units``.
    """
    from qa_toolkit.review.replay import final_decision_table

    st = review_status(annotations, log, on_mismatch=on_mismatch)
    rej = st.loc[(st["status"] == "rejected") & (st["policy"].fillna("requeue") == "requeue")]
    parts = [pd.DataFrame({"task": rej["task"], "what": [f"{f} unit {u}" if u is not None else str(f)
                                                          for f, u in zip(rej["field"], rej["unit"])],
                           "reason": rej["reason"]})]
    fd = final_decision_table(log, on="annotation")
    fd = fd.loc[(fd["decision"] == "reject") & (fd.get("policy", pd.Series(index=fd.index, dtype=object))
                                                .fillna("requeue") == "requeue")]
    if len(fd):
        parts.append(pd.DataFrame({"task": fd["task"], "reason": fd["reason"],
                                   "what": [f"annotation {a if a is not None else w}"
                                            for a, w in zip(fd["annotation_id"], fd["annotator"])]}))
    allp = pd.concat(parts, ignore_index=True)
    if allp.empty:
        return pd.DataFrame({"task": [], "reason": [], "n_units": []})
    allp["reason"] = allp["what"] + ": " + allp["reason"].astype(str)
    g = allp.groupby("task", sort=False)
    return pd.DataFrame({"task": list(g.groups), "reason": g["reason"].agg("; ".join).to_numpy(),
                         "n_units": g.size().to_numpy()})
