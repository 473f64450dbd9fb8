"""Accept / fix / reject rates per annotator, from the decision log replayed per key.

The log is replayed once, by :func:`qa_toolkit.review.final_decision_table` (``undo`` pops
the previous decision, ``skip`` never wins). Who a decision counts for:

* a per-annotation decision (``scope == 'annotation'``: one annotator's whole annotation of
  a task accepted or rejected) counts for that annotator only;
* a unit decision that took one annotator's version (``annotator`` set) counts as
  ``accept`` for that annotator and ``fix`` for the others of the task;
* a unit ``fix`` with the corrected label (``label_after``) on a one-label-per-annotator
  field counts as ``accept`` for the annotators who already gave that label and ``fix``
  for the rest;
* any other unit decision (and logs from before per-unit records) counts for every
  annotator of the task (of the field, where the log names one).

A plain decision table without ``scope`` whose rows name an ``annotation_id`` or
``annotator`` is read as per-annotation decisions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns
from qa_toolkit.review import final_decision_table

__all__ = ["DECISIONS", "final_decision_table", "decision_rates"]

DECISIONS = ("accept", "fix", "reject")


def _annotators_of(d: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """Name the annotator of per-annotation decisions that give only ``annotation_id``."""
    missing = d["annotator"].isna() & d["annotation_id"].notna()
    if not missing.any():
        return d
    if "annotation_id" not in data.columns:
        raise QAInputError("annotator_report: the decision log names annotation_id but the annotations have no "
                           "'annotation_id' column to map it to an annotator.")
    who = data.drop_duplicates("annotation_id").set_index("annotation_id")["annotator"]
    d = d.copy()
    d.loc[missing, "annotator"] = d.loc[missing, "annotation_id"].map(who)
    unknown = missing & d["annotator"].isna()
    if unknown.any():
        r = d.loc[unknown].iloc[0]
        raise QAInputError(f"annotator_report: decision on task {r['task']!r} names annotation_id "
                           f"{r['annotation_id']!r}, which is not in the annotations.")
    return d


def _unit_votes(units: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """Unit decisions as (annotator, decision) rows for the annotators of their task."""
    on = ["task", "field"] if "field" in data.columns and units["field"].notna().all() else ["task"]
    rows = data[[*on, "annotator", *(["label"] if "label" in data.columns else [])]]
    per = rows[[*on, "annotator"]].drop_duplicates().merge(
        units[[*on, "decision", "annotator", "label_after"]].rename(columns={"annotator": "taken"}), on=on)
    decision = per["decision"].astype(object)
    taken = per["taken"].notna()
    decision = decision.mask(taken, np.where(per["annotator"] == per["taken"], "accept", "fix"))
    if "label" in rows.columns:  # the label of annotators who gave exactly one on the unit
        n = rows.groupby([*on, "annotator"], sort=False, dropna=False)["annotator"].transform("size")
        per = per.merge(rows.loc[n == 1], on=[*on, "annotator"], how="left")
        fixed = (per["decision"] == "fix") & per["label_after"].notna() & ~taken & per["label"].notna()
        same = per["label"].astype(str) == per["label_after"].astype(str)
        decision = decision.mask(fixed, np.where(same, "accept", "fix"))
    return pd.DataFrame({"annotator": per["annotator"], "decision": decision})


def decision_rates(decisions: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """Accept / fix / reject rates per annotator (who each decision counts for: module docstring).

    Parameters
    ----------
    decisions : pandas.DataFrame
        A decision log (``task``, ``decision``, optionally ``seq``, ``scope``, ``field``,
        ``annotation_id``, ``annotator``, ``label_after``), e.g. ``DecisionLog.read()``.
    data : pandas.DataFrame
        The annotations the decisions were made on.

    Returns
    -------
    pandas.DataFrame
        Index ``annotator``; ``accept_rate``, ``fix_rate``, ``reject_rate``, ``n_reviewed``.
    """
    check_columns(decisions, ["task", "decision"], name="decisions", func="annotator_report")
    whose = [c for c in ("annotation_id", "annotator") if c in decisions.columns]
    if "scope" not in decisions.columns and whose:  # a plain table naming whose annotation was judged
        named = decisions[whose].notna().any(axis=1)
        decisions = decisions.assign(scope=np.where(named, "annotation", "unit"))
    final = final_decision_table(decisions)
    final = final[final["decision"].isin(DECISIONS)]
    by_annotation = final["scope"] == "annotation"
    ann = _annotators_of(final[by_annotation], data)
    parts = [ann[["annotator", "decision"]]]
    if (~by_annotation).any():
        parts.append(_unit_votes(final[~by_annotation], data))
    per = pd.concat(parts, ignore_index=True).dropna(subset=["annotator"])
    rates = pd.crosstab(per["annotator"], per["decision"], normalize="index")
    rates = rates.reindex(columns=list(DECISIONS), fill_value=0.0)
    rates.columns = [f"{c}_rate" for c in rates.columns]
    rates["n_reviewed"] = per.groupby("annotator").size()
    return rates
