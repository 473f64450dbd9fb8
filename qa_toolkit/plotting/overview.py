"""Plots of the first look at a table: overlap per task and work per annotator."""

from __future__ import annotations

import pandas as pd

from qa_toolkit.overview import annotator_overview, task_overview

__all__ = ["plot_overlap", "plot_annotator_counts"]


def plot_overlap(data: pd.DataFrame, *, ax=None, **kwargs):
    """Bar chart of how many tasks have 1, 2, 3... annotators.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    >>> plot_overlap(df).get_xlabel()
    'annotators per task'
    """
    import matplotlib.pyplot as plt

    counts = task_overview(data)["n_annotators"].value_counts().sort_index()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    ax.bar(counts.index.astype(str), counts.to_numpy(), color=kwargs.pop("color", "#4C72B0"), **kwargs)
    ax.set_xlabel("annotators per task")
    ax.set_ylabel("tasks")
    ax.set_title("Overlap")
    return ax


def plot_annotator_counts(data: pd.DataFrame, *, top: int = 30, ax=None, **kwargs):
    """Horizontal bars of tasks labelled per annotator (the ``top`` busiest).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    >>> len(plot_annotator_counts(df).patches)
    2
    """
    import matplotlib.pyplot as plt

    counts = annotator_overview(data)["n_tasks"].sort_values(ascending=False).head(top)[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, max(2.0, 0.22 * len(counts) + 1)))
    ax.barh(counts.index.astype(str), counts.to_numpy(), color=kwargs.pop("color", "#55A868"), **kwargs)
    ax.set_xlabel("tasks labelled")
    ax.set_ylabel("annotator")
    ax.set_title(f"Work per annotator (top {len(counts)})")
    return ax
