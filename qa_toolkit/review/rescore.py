"""Re-scoring after review: Dawid-Skene with the reviewed labels as gold, and what changed."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns
from qa_toolkit.review.apply import review_status
from qa_toolkit.review.decision_log import DecisionLog
from qa_toolkit.units import select_field

__all__ = ["rescore"]


def rescore(annotations: pd.DataFrame, log: DecisionLog | str | os.PathLike | pd.DataFrame, *,
            field: Any = None, accuracy_tolerance: float = 0.01, on_mismatch: str = "raise",
            **dawid_skene: Any) -> pd.DataFrame:
    """Fit Dawid-Skene without and with the reviewed labels as gold; return what changed.

    The reviewed labels (accepted or fixed tasks of ``field``) are passed as ``gold=``,
    which clamps those tasks' posteriors (:meth:`qa_toolkit.aggregation.DawidSkene.fit`);
    rejected and pending tasks stay inferred.

    Parameters
    ----------
    annotations : pandas.DataFrame
        The canonical long table.
    log : DecisionLog, path or pandas.DataFrame
    field : hashable, optional
        A categorical field (required when the table has several fields).
    accuracy_tolerance : float, default=0.01
        An annotator's accuracy "moved" when it changed by more than this.
    on_mismatch : {'raise', 'warn', 'ignore'}, default='raise'
        Stale decisions, as in :func:`qa_toolkit.review.apply_decisions`.
    **dawid_skene
        Options of :class:`~qa_toolkit.aggregation.DawidSkene` (e.g. ``random_state``).

    Returns
    -------
    pandas.DataFrame
        Tidy: ``what`` ('task' or 'annotator'), ``id``, ``before``, ``after``,
        ``changed`` (bool), ``is_gold`` (the task was reviewed). Tasks: the inferred
        label before and after; annotators: the Dawid-Skene accuracy before and after.
        ``attrs['n_gold']`` is the number of reviewed labels used.
    """
    from qa_toolkit.aggregation.dawid_skene import DawidSkene

    func = "rescore"
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func=func)
    d, field, kind = select_field(annotations, field, func=func)
    if kind != "categorical":
        raise QAInputError(f"{func}: field {field!r} has kind {kind!r}; Dawid-Skene re-scoring takes a categorical "
                           "field (multi-label and region fields: review_status gives the reviewed labels).")
    st = review_status(annotations, log, on_mismatch=on_mismatch)  # type: ignore[arg-type]
    st = st.loc[(st["field"] == field) & st["status"].isin(["accepted", "fixed"]) & st["label"].notna()]
    gold = pd.Series(st["label"].to_numpy(), index=pd.Index(st["task"].to_numpy(), name="task"), name="label")
    votes = d[["task", "annotator", "label"]]
    before = DawidSkene(**dawid_skene).fit(votes)
    after = DawidSkene(**dawid_skene).fit(votes, gold=gold if len(gold) else None)
    lb, la = before.label_table(), after.label_table()
    tasks = pd.DataFrame({"what": "task", "id": lb.index.to_numpy(), "before": lb["label"].to_numpy(),
                          "after": la["label"].reindex(lb.index).to_numpy()})
    tasks["changed"] = tasks["before"].astype(str) != tasks["after"].astype(str)
    tasks["is_gold"] = tasks["id"].isin(set(gold.index.tolist()))
    ab, aa = before.annotator_accuracy_, after.annotator_accuracy_.reindex(before.annotator_accuracy_.index)
    anns = pd.DataFrame({"what": "annotator", "id": ab.index.to_numpy(), "before": ab.to_numpy(),
                         "after": aa.to_numpy()})
    anns["changed"] = np.abs(anns["before"].astype(float) - anns["after"].astype(float)) > accuracy_tolerance
    anns["is_gold"] = False
    out = pd.concat([tasks, anns], ignore_index=True)
    out.attrs["n_gold"] = len(gold)
    return out
