"""Majority vote with an explicit tie policy, and mean/median for numeric labels."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, check_option, check_random_state
from qa_toolkit.aggregation._tensors import _factorize, _vote_counts
from qa_toolkit.vote import plurality_index

__all__ = ["majority_vote", "numeric_aggregate"]

_TIE_POLICIES = ("random", "first", "missing")


def majority_vote(
    data: pd.DataFrame,
    *,
    tie_policy: Literal["random", "first", "missing"] = "random",
    random_state: int | np.random.Generator | None = None,
) -> pd.Series:
    """Most frequent label per task.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with columns ``task``, ``annotator``, ``label``; every
        row is one vote (an annotator's repeated labels on a task count each time).
    tie_policy : {'random', 'first', 'missing'}, default='random'
        What to do when several labels share the top count: ``'random'`` picks one
        uniformly with ``random_state``; ``'first'`` picks the smallest label in sorted
        order (deterministic, but biased towards low labels); ``'missing'`` leaves the
        task NaN.
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator for ``tie_policy='random'``. A local generator is used.

    Returns
    -------
    pandas.Series
        Index ``task`` (sorted), name ``agg_label``, one label per task.

    Raises
    ------
    AnnotationFormatError
        When ``data`` lacks the canonical columns, is empty or has missing values.
    QAInputError
        When ``tie_policy`` or ``random_state`` is invalid.

    See Also
    --------
    DawidSkene : Weighs annotators by their estimated confusion matrices.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"),
    ...                    "label": ["x", "x", "y", "x", "y"]})
    >>> agg = majority_vote(df, tie_policy="first")
    >>> agg.name, agg.index.name, agg.tolist()
    ('agg_label', 'task', ['x', 'x'])
    >>> majority_vote(df, tie_policy="missing").tolist()
    ['x', nan]
    """
    check_option("tie_policy", tie_policy, _TIE_POLICIES, func="majority_vote")
    rng = check_random_state(random_state)
    c = _factorize(data, func="majority_vote")
    # the one vote kernel (qa_toolkit.vote); 'first' here is the lowest label in sorted order
    ties = {"random": "random", "first": "lowest", "missing": "none"}[tie_policy]
    idx, _ = plurality_index(_vote_counts(c), ties=ties, random_state=rng)  # type: ignore[arg-type]
    out = pd.Series(c.classes.take(np.maximum(idx, 0)), index=c.tasks, name="agg_label")
    if tie_policy == "missing":
        out = out.where(idx >= 0)
    return out


def numeric_aggregate(
    data: pd.DataFrame,
    *,
    method: Literal["mean", "median"] = "mean",
) -> pd.Series:
    """Mean or median of numeric labels per task (for ratings such as N_Emotion).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table whose ``label`` column is numeric.
    method : {'mean', 'median'}, default='mean'
        The per-task statistic.

    Returns
    -------
    pandas.Series
        Index ``task`` (sorted), name ``agg_label``, float values.

    Raises
    ------
    AnnotationFormatError
        When labels are not numeric.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": list("abc"), "label": [10, 20, 60]})
    >>> numeric_aggregate(df, method="median").tolist()
    [20.0]
    >>> numeric_aggregate(df).tolist()
    [30.0]
    """
    check_option("method", method, ("mean", "median"), func="numeric_aggregate")
    c = _factorize(data, func="numeric_aggregate")
    values = pd.to_numeric(data["label"], errors="coerce")
    if values.isna().any():
        bad = data["label"][values.isna()].iloc[:3].tolist()
        raise AnnotationFormatError(
            f"numeric_aggregate needs numeric labels; got non-numeric value(s) {bad} in 'label'."
        )
    grouped = pd.Series(values.to_numpy(dtype=float)).groupby(c.t)
    stat = grouped.mean() if method == "mean" else grouped.median()
    return pd.Series(stat.to_numpy(), index=c.tasks, name="agg_label")
