"""Escalation: one more annotator for tasks whose agreement is low (Label Studio's strategy)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_columns, check_fraction, check_positive_int
from qa_toolkit.io.write_escalation import to_label_studio_tasks as _to_label_studio_tasks
from qa_toolkit.triage.scores import _vote_numbers

__all__ = ["escalate_low_agreement", "to_label_studio_tasks"]


def escalate_low_agreement(
    data: pd.DataFrame,
    *,
    threshold: float = 0.7,
    base_overlap: int = 2,
    max_additional: int = 3,
    votes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Mark tasks whose agreement is below ``threshold`` for one more annotator, up to a cap.

    This follows Label Studio Enterprise's low-agreement strategy ("assign to another
    annotator" until the agreement threshold or "maximum additional annotators" is
    reached). Agreement is pairwise percent agreement on the task.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.
    threshold : float, default=0.7
        Desired agreement in [0, 1].
    base_overlap : int, default=2
        Annotators per task before any escalation.
    max_additional : int, default=3
        Cap on extra annotators per task.
    votes : pandas.DataFrame, optional
        The per-task vote numbers of ``data`` when already computed: ``n_labels``,
        ``agreement`` and ``majority_label`` by ``task`` (column or index), e.g. a
        :func:`~qa_toolkit.triage.review_queue` of the same table. Not computed again.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task``: ``n_labels``, ``agreement``, ``majority_label``, ``escalate``
        (bool), ``n_extra`` (0 or 1) and ``reason``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"),
    ...                    "label": ["x", "y", "x", "x"]})
    >>> escalate_low_agreement(df)["escalate"].tolist()
    [True, False]
    """
    func = "escalate_low_agreement"
    check_columns(data, ["task", "annotator", "label"], func=func)
    threshold = check_fraction("threshold", threshold, func=func)
    base_overlap = check_positive_int("base_overlap", base_overlap, func=func)
    max_additional = check_positive_int("max_additional", max_additional, minimum=0, func=func)
    if votes is None:
        v = _vote_numbers(data, func=func)[0]  # the vote table without its text columns
    else:
        v = votes.set_index("task") if "task" in votes.columns else votes
        check_columns(v, ["n_labels", "agreement", "majority_label"], func=func)
        v = v.sort_index()  # the vote table's order: tasks sorted
        if isinstance(data["label"].dtype, pd.CategoricalDtype):  # and its label type
            v = v.assign(majority_label=v["majority_label"].astype(data["label"].dtype))
    cap = base_overlap + max_additional
    low = (v["agreement"] < threshold).to_numpy()
    capped = (v["n_labels"] >= cap).to_numpy()
    out = v[["n_labels", "agreement", "majority_label"]].copy()
    out["escalate"] = low & ~capped
    out["n_extra"] = out["escalate"].astype(int)
    reasons = np.array(["", f"agreement below {threshold:g}: add an annotator",
                        f"agreement below {threshold:g} at the cap of {cap}: expert review"], dtype=object)
    out["reason"] = reasons[np.where(low, np.where(capped, 2, 1), 0)]  # one text per case, no per-row strings
    return out


def to_label_studio_tasks(table: pd.DataFrame, *, data: dict | None = None, only: str | None = None) -> list[dict]:
    """Deprecated alias of :func:`qa_toolkit.io.to_label_studio_tasks` (issue #13).

    The writer now carries each task's data and original id; ``data`` may also be the
    annotation table read by :func:`~qa_toolkit.io.read_label_studio`.
    """
    warnings.warn("qa_toolkit.triage.to_label_studio_tasks moved to qa_toolkit.io.to_label_studio_tasks; "
                  "this alias will be removed.", DeprecationWarning, stacklevel=2)
    return _to_label_studio_tasks(table, data=data, only=only)
