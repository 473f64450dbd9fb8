"""Plots of the first look at a table: overlap per task and work per annotator (seaborn)."""

from __future__ import annotations

import pandas as pd

from qa_toolkit.overview import annotator_overview, task_overview

__all__ = ["plot_overlap", "plot_annotator_counts"]


def plot_overlap(data: pd.DataFrame, *, tasks: pd.DataFrame | None = None, ax=None, **kwargs):
    """Bar chart of how many tasks have 1, 2, 3... annotators.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    tasks : pandas.DataFrame, optional
        ``task_overview(data)`` when already computed (not computed again).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to :func:`seaborn.barplot`.

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
    import seaborn as sns

    per_task = (task_overview(data) if tasks is None else tasks)["n_annotators"]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    counts = per_task.value_counts().sort_index()  # bars from counts: no per-task rows to seaborn
    sns.barplot(x=[str(k) for k in counts.index], y=counts.to_numpy(dtype=float), ax=ax,
                color=kwargs.pop("color", "#4C72B0"), errorbar=kwargs.pop("errorbar", None), **kwargs)
    ax.set_xlabel("annotators per task")
    ax.set_ylabel("tasks")
    ax.set_title("Overlap")
    return ax


def plot_annotator_counts(data: pd.DataFrame, *, top: int = 30, annotators: pd.DataFrame | None = None,
                          ax=None, **kwargs):
    """Horizontal bars of tasks labelled per annotator (the ``top`` busiest, busiest first).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    top : int, default=30
        How many annotators to show.
    annotators : pandas.DataFrame, optional
        ``annotator_overview(data)`` when already computed (not computed again).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to :func:`seaborn.barplot`.

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
    import seaborn as sns

    per_annotator = annotator_overview(data) if annotators is None else annotators
    counts = per_annotator["n_tasks"].sort_values(ascending=False, kind="stable").head(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, max(2.0, 0.22 * len(counts) + 1)))
    sns.barplot(x=counts.to_numpy(dtype=float), y=counts.index.astype(str), orient="h", ax=ax,
                color=kwargs.pop("color", "#55A868"), errorbar=kwargs.pop("errorbar", None), **kwargs)
    ax.set_xlabel("tasks labelled")
    ax.set_ylabel("annotator")
    ax.set_title(f"Work per annotator (top {len(counts)})")
    return ax
