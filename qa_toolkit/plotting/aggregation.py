"""Plots of a fitted Dawid-Skene model: annotator confusion matrices and accuracies (seaborn)."""

from __future__ import annotations

import pandas as pd

from qa_toolkit._validation import QAInputError

__all__ = ["plot_annotator_confusion", "plot_ds_accuracy"]


def _fitted(model, func: str):
    if not hasattr(model, "confusion_"):
        raise QAInputError(
            f"{func} needs a fitted DawidSkene model (call .fit(data) first). "
            f"Got {type(model).__name__} without a 'confusion_' attribute."
        )
    return model


def plot_annotator_confusion(model, annotator, *, ax=None, cmap: str = "Blues", **kwargs):
    """Heatmap of one annotator's estimated confusion matrix (rows: true, columns: said).

    Parameters
    ----------
    model : DawidSkene
        A fitted model.
    annotator : hashable
        One of ``model.annotators_``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    cmap : str, default='Blues'
        Colour map.
    **kwargs
        Passed to :func:`seaborn.heatmap`.

    Returns
    -------
    matplotlib.axes.Axes
        The axes with the heatmap (cells annotated with their probability).

    Examples
    --------
    >>> from qa_toolkit.aggregation import DawidSkene
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b"] * 2, "label": ["x", "x", "y", "x"]})
    >>> ax = plot_annotator_confusion(DawidSkene().fit(df), "a")
    >>> ax.get_ylabel()
    'true label'
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from qa_toolkit.plotting.agreement import _rotate_class_ticks

    model = _fitted(model, "plot_annotator_confusion")
    if annotator not in model.annotators_:
        raise QAInputError(
            f"The 'annotator' parameter of plot_annotator_confusion must be one of the fitted "
            f"annotators (e.g. {list(model.annotators_[:5])}). Got {annotator!r} instead."
        )
    m: pd.DataFrame = model.confusion_.loc[annotator]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 0.6 * len(m), 1.0 + 0.6 * len(m)))
    sns.heatmap(m.astype(float), ax=ax, vmin=0, vmax=1, cmap=cmap, annot=True, fmt=".2f",
                annot_kws={"fontsize": 8}, cbar=False, xticklabels=[str(c) for c in m.columns],
                yticklabels=[str(c) for c in m.index], **kwargs)
    ax.tick_params(axis="y", rotation=0)
    _rotate_class_ticks(ax, [str(c) for c in m.columns])
    ax.set_xlabel("label given")
    ax.set_ylabel("true label")
    ax.set_title(f"annotator {annotator}: accuracy {model.annotator_accuracy_[annotator]:.2f}")
    return ax


def plot_ds_accuracy(model, *, top: int | None = None, ax=None, **kwargs):
    """Horizontal bars of the DS accuracy of each annotator, worst first.

    Parameters
    ----------
    model : DawidSkene
        A fitted model.
    top : int, optional
        Show only the ``top`` worst annotators.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to :func:`seaborn.barplot`.

    Returns
    -------
    matplotlib.axes.Axes
        The axes with one bar per annotator.

    Examples
    --------
    >>> from qa_toolkit.aggregation import DawidSkene
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b"] * 2, "label": ["x", "x", "y", "x"]})
    >>> len(plot_ds_accuracy(DawidSkene().fit(df)).patches)
    2
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    model = _fitted(model, "plot_ds_accuracy")
    acc = model.annotator_accuracy_.sort_values()
    if top is not None:
        acc = acc.iloc[: int(top)]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 1 + 0.22 * len(acc)))
    sns.barplot(x=acc.to_numpy(dtype=float), y=[str(a) for a in acc.index], orient="h", ax=ax,
                color=kwargs.pop("color", "#4C72B0"), errorbar=kwargs.pop("errorbar", None), **kwargs)
    ax.set_xlim(0, 1)
    ax.set_xlabel("estimated accuracy (Dawid-Skene)")
    ax.set_ylabel("annotator")
    return ax
