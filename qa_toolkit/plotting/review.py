"""Plots for review: per-annotator agreement bars and review progress by status (seaborn)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from qa_toolkit._validation import QAInputError

__all__ = ["plot_annotator_agreement", "plot_review_status"]


def plot_annotator_agreement(table: pd.DataFrame, *, column: str = "agreement", ax=None, **kwargs):
    """Horizontal bars of ``table[column]`` per annotator (index), lowest at the top.

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by annotator, e.g. :func:`qa_toolkit.widgets.annotator_basics`.
    column : str, default='agreement'
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> t = pd.DataFrame({"agreement": [0.9, 0.5]}, index=pd.Index(["a", "b"], name="annotator"))
    >>> plot_annotator_agreement(t).get_xlabel()
    'agreement'
    """
    if column not in getattr(table, "columns", []):
        raise QAInputError(f"The 'column' parameter of plot_annotator_agreement must be a column of table. Got {column!r}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 0.25 * len(table) + 1))
    t = table[column].astype(float).sort_values(kind="stable")
    sns.barplot(x=t.to_numpy(), y=[str(a) for a in t.index], orient="h", ax=ax,
                color=kwargs.pop("color", "#4C72B0"), **kwargs)
    ax.set_xlabel(column)
    ax.set_ylabel(table.index.name or "annotator")
    return ax


def plot_review_status(final: pd.DataFrame, *, ax=None, **kwargs):
    """Bar chart of the ``status`` counts in :func:`qa_toolkit.review.apply_decisions` output.

    Examples
    --------
    >>> f = pd.DataFrame({"status": ["accepted", "pending", "pending"]})
    >>> [float(b.get_height()) for b in plot_review_status(f).patches]
    [1.0, 2.0]
    """
    if "status" not in getattr(final, "columns", []):
        raise QAInputError("The 'final' parameter of plot_review_status must have a 'status' column (apply_decisions output).")
    order = [s for s in ("accepted", "fixed", "rejected", "skipped", "pending") if s in set(final["status"])]
    if ax is None:
        _, ax = plt.subplots()
    sns.countplot(x=final["status"].astype(str), order=order, ax=ax, color=kwargs.pop("color", "#4C72B0"), **kwargs)
    ax.set_ylabel("tasks")
    return ax
