"""Plots of the fused label-issue table: signals side by side, precision along the queue."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_issue_signals", "plot_precision_at_k"]


def plot_issue_signals(fused: pd.DataFrame, *, x: str = "vote_share", y: str = "label_quality", ax=None, **kwargs):
    """Scatter of two per-item signals of a fused issue table, fused issues highlighted.

    Parameters
    ----------
    fused : pandas.DataFrame
        Output of :func:`qa_toolkit.errors.fused_issue_table`.
    x, y : str, default='vote_share', 'label_quality'
        Columns to plot (e.g. ``ds_posterior``, ``neighbour_score``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to ``Axes.scatter``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> t = pd.DataFrame({"vote_share": [1, .2, .9], "label_quality": [.9, .1, .8],
    ...                   "is_fused_issue": [False, True, False]})
    >>> plot_issue_signals(t).get_xlabel()
    'vote_share'
    """
    import matplotlib.pyplot as plt

    from qa_toolkit._validation import QAInputError

    for name, col in (("x", x), ("y", y)):
        if col not in fused.columns:
            raise QAInputError(
                f"The {name!r} parameter of plot_issue_signals must be a column of 'fused'; got {col!r}, "
                f"columns are {list(fused.columns)}."
            )
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    flagged = fused.get("is_fused_issue", pd.Series(False, index=fused.index)).to_numpy(dtype=bool)
    s = kwargs.pop("s", 8)
    ax.scatter(fused.loc[~flagged, x], fused.loc[~flagged, y], s=s, alpha=0.4, color="#8C8C8C",
               label="not flagged", **kwargs)
    ax.scatter(fused.loc[flagged, x], fused.loc[flagged, y], s=s * 2, alpha=0.8, color="#C44E52",
               label="fused issue", **kwargs)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_precision_at_k(is_error, rankings: dict, *, k_max: int | None = None, ax=None, **kwargs):
    """Precision among the top k items of several review rankings, for k = 1..k_max.

    Parameters
    ----------
    is_error : array-like of bool, shape (n_items,)
        Which items are known errors.
    rankings : dict of str to array-like of shape (n_items,)
        Priority per item (higher = reviewed first), one entry per method.
    k_max : int, optional
        Largest k (default: 3 x the number of errors).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_precision_at_k([True, False, True], {"m": [0.9, 0.1, 0.5]})
    >>> ax.get_ylabel()
    'precision among top k'
    """
    import matplotlib.pyplot as plt

    y = np.asarray(is_error, dtype=bool)
    k_max = int(k_max or min(len(y), max(3 * y.sum(), 1)))
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    ks = np.arange(1, k_max + 1)
    for name, pr in rankings.items():
        order = np.argsort(-np.asarray(pr, dtype=float), kind="stable")[:k_max]
        ax.plot(ks, np.cumsum(y[order]) / ks, label=name, **kwargs)
    ax.axvline(y.sum(), color="#999", lw=0.8, ls="--")
    ax.set_xlabel("k (items reviewed)")
    ax.set_ylabel("precision among top k")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="best", fontsize="small")
    return ax
