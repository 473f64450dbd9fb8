"""Plots of annotator quality: gold accuracy with Wilson CIs, and drift over time.

The drift panel is a :func:`seaborn.lineplot` with one line per annotator; the accuracy
plot keeps ``Axes.errorbar`` because its intervals are the Wilson CIs already computed,
which seaborn would re-estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit.annotators import rolling_quality

__all__ = ["plot_annotator_accuracy", "plot_drift"]


def plot_annotator_accuracy(report: pd.DataFrame, *, top: int = 30, ax=None, **kwargs):
    """Gold accuracy per annotator with its Wilson CI, worst first, flagged ones in red.

    Parameters
    ----------
    report : pandas.DataFrame
        Output of :func:`qa_toolkit.annotators.annotator_report` (with gold).
    top : int, default=30
        How many annotators to show (those with the lowest accuracy).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> from qa_toolkit.annotators import annotator_report
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xyxx")})
    >>> rep = annotator_report(df, gold=pd.Series({1: "x", 2: "x"}), dawid_skene=False, min_labels=1)
    >>> plot_annotator_accuracy(rep).get_xlabel()
    'gold accuracy (Wilson CI)'
    """
    import matplotlib.pyplot as plt

    r = report.dropna(subset=["gold_accuracy"]).sort_values("gold_accuracy").head(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, max(2.5, 0.22 * len(r) + 1)))
    y = np.arange(len(r))
    acc = r["gold_accuracy"].to_numpy(dtype=float)
    err = np.vstack([acc - r["gold_ci_low"].to_numpy(dtype=float), r["gold_ci_high"].to_numpy(dtype=float) - acc])
    flagged = r["flags"].astype(str).str.len().to_numpy() > 0 if "flags" in r.columns else np.zeros(len(r), bool)
    for mask, colour, lab in ((~flagged, kwargs.pop("color", "#4C72B0"), "ok"), (flagged, "#C44E52", "flagged")):
        if mask.any():
            ax.errorbar(acc[mask], y[mask], xerr=err[:, mask], fmt="o", color=colour, label=lab, capsize=2, **kwargs)
    ax.set_yticks(y, [str(a) for a in r.index])
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("gold accuracy (Wilson CI)")
    ax.set_title("Annotators, worst first")
    if flagged.any():
        ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_drift(data: pd.DataFrame, *, gold: pd.Series | None = None, annotators=None, window: int = 50,
               metric: str = "accuracy", ax=None, **kwargs):
    """Rolling gold accuracy (or agreement) over ``created_at`` for some annotators.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations with ``created_at``.
    gold : pandas.Series, optional
        Gold labels indexed by task.
    annotators : list, optional
        Which annotators to draw; by default the 5 with the most labels.
    window : int, default=50
        Labels per rolling window.
    metric : {'accuracy', 'agreement'}, default='accuracy'
        Which rolling quality to draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to :func:`seaborn.lineplot`.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=4, freq="h", tz="UTC")
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xxxy"),
    ...                    "created_at": t})
    >>> plot_drift(df, metric="agreement", window=2).get_ylabel()
    'rolling agreement'
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from qa_toolkit._validation import check_option

    check_option("metric", metric, ["accuracy", "agreement"], func="plot_drift")
    rq = rolling_quality(data, gold=gold, window=window)
    if annotators is None:
        annotators = rq["annotator"].value_counts().head(5).index.tolist()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    col = f"rolling_{metric}"
    shown = rq[rq["annotator"].isin(annotators)].assign(annotator=lambda d: d["annotator"].astype(str))
    drawn = set(shown.dropna(subset=["created_at", col])["annotator"])  # seaborn drops NaN rows
    order = [str(a) for a in annotators if str(a) in drawn]
    sns.lineplot(shown, x="created_at", y=col, hue="annotator", hue_order=order, estimator=None,
                 legend=False, ax=ax, **kwargs)
    for line, name in zip(ax.get_lines()[-len(order):] if order else [], order):
        line.set_label(name)  # one line per annotator, in `annotators` order
    ax.set_ylabel(f"rolling {metric}")
    ax.set_xlabel("created_at")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Drift (window {window} labels)")
    ax.legend(fontsize="small", loc="lower left")
    return ax
