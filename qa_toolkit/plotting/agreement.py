"""Agreement plots: pairwise heatmap with overlap, per-label coefficients, confusion.

Heatmaps are drawn with :func:`seaborn.heatmap` (NaN cells blank, cell annotations,
colour bar); the per-label plot keeps ``Axes.errorbar`` because its intervals are the
bootstrap CIs already computed, which seaborn would re-estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError
from qa_toolkit.agreement import pairwise, per_label
from qa_toolkit.agreement._common import EXAMPLE, two_raters  # noqa: F401

__all__ = ["plot_pairwise_heatmap", "plot_per_label", "plot_confusion", "pairwise_matrix"]

#: The pairwise heatmap names at most this many annotators (fewer when they would overlap); beyond, every k-th.
MAX_TICK_LABELS = 60


def pairwise_matrix(pairs: pd.DataFrame, *, column: str = "value") -> pd.DataFrame:
    """Symmetric annotator x annotator matrix from :func:`qa_toolkit.agreement.pairwise`.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Output of :func:`qa_toolkit.agreement.pairwise`.
    column : str, default='value'
        Column to spread (``'n'`` for the overlaps).

    Returns
    -------
    pandas.DataFrame
        Annotators on both axes, NaN on the diagonal and for pairs without overlap.

    Examples
    --------
    >>> from qa_toolkit.agreement import pairwise
    >>> pairwise_matrix(pairwise(pd.DataFrame(EXAMPLE), min_overlap=1), column="n").loc["a", "b"]
    np.float64(4.0)
    """
    names = sorted(set(pairs["annotator_a"]) | set(pairs["annotator_b"]), key=str)
    where = pd.Index(names)
    ia, ib = where.get_indexer(pairs["annotator_a"]), where.get_indexer(pairs["annotator_b"])
    values = np.full((len(names), len(names)), np.nan)
    v = pairs[column].to_numpy(dtype=float)
    cell = np.minimum(ia, ib).astype(np.int64) * max(1, len(names)) + np.maximum(ia, ib)
    if len(np.unique(cell)) == len(cell):  # each pair once (pairwise()): no cell is written twice
        values[ia, ib] = v
        values[ib, ia] = v
    else:  # pair by pair in table order: the last row of a pair wins
        for i in range(len(v)):
            values[ia[i], ib[i]] = values[ib[i], ia[i]] = v[i]
    return pd.DataFrame(values, index=pd.Index(names, name="annotator_a"), columns=pd.Index(names, name="annotator_b"))


def plot_pairwise_heatmap(data: pd.DataFrame, *, metric: str = "cohen_kappa", min_overlap: int = 10,
                          annotate: bool | None = None, ax=None, pairs: pd.DataFrame | None = None, **kwargs):
    """Heatmap of a two-rater coefficient for every annotator pair, overlap ``n`` in the cells.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    metric : str, default='cohen_kappa'
        See :func:`qa_toolkit.agreement.pairwise`.
    min_overlap : int, default=10
        Pairs sharing fewer tasks are blank.
    annotate : bool, optional
        Write "value / n" in each cell (default: when at most 15 annotators).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    pairs : pandas.DataFrame, optional
        ``pairwise(data, metric=metric, min_overlap=min_overlap)`` when already computed
        (e.g. ``agreement_report(...).pairwise``): not computed again.
    **kwargs
        Passed to :func:`seaborn.heatmap` (e.g. ``cmap``, ``vmin``, ``vmax``).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> plot_pairwise_heatmap(pd.DataFrame(EXAMPLE), min_overlap=1).get_title()
    'cohen_kappa between annotators'
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if pairs is None:
        pairs = pairwise(data, metric=metric, min_overlap=min_overlap)
    val, n = pairwise_matrix(pairs), pairwise_matrix(pairs, column="n")
    if ax is None:
        size = min(4 + 0.3 * len(val), 12)
        _, ax = plt.subplots(figsize=(size, size * 0.85))
    if annotate is None:
        annotate = len(val) <= 15
    cells: Any = False
    if annotate:
        v, k = val.to_numpy(float), n.to_numpy(float)
        cells = np.full(v.shape, "", dtype=object)
        has_n = np.isfinite(k) & ~np.eye(len(val), dtype=bool)
        for i, j in zip(*np.nonzero(has_n)):
            cells[i, j] = f"{v[i, j]:.2f}\nn={int(k[i, j])}" if np.isfinite(v[i, j]) else f"n={int(k[i, j])}"
    names = [str(c) for c in val.columns]
    # the names are set after seaborn's own draw of the figure (which only decides their rotation):
    # that draw then lays out no tick label (issue 14)
    sns.heatmap(val.astype(float), ax=ax, cmap=kwargs.pop("cmap", "RdYlGn"), vmin=kwargs.pop("vmin", -0.2),
                vmax=kwargs.pop("vmax", 1.0), annot=cells, fmt="", annot_kws={"fontsize": 7},
                cbar_kws={"label": metric}, xticklabels=False, yticklabels=False, square=True, **kwargs)
    if annotate:  # seaborn leaves NaN cells blank: still say how many tasks the pair shares
        for i, j in zip(*np.nonzero(has_n & ~np.isfinite(v))):
            ax.text(j + 0.5, i + 0.5, cells[i, j], ha="center", va="center", fontsize=7)
    _name_cells(ax, names)
    ax.set_title(f"{metric} between annotators")
    return ax


def plot_per_label(data: pd.DataFrame, *, metric: str = "fleiss_kappa", n_boot: int = 200,
                   random_state: Any = None, table: pd.DataFrame | None = None, ax=None, **kwargs):
    """Per-label (one-vs-rest) coefficient with bootstrap CI bars.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    metric : str, default='fleiss_kappa'
        See :func:`qa_toolkit.agreement.per_label`.
    n_boot : int, default=200
        Bootstrap replicates.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the bootstrap.
    table : pandas.DataFrame, optional
        ``per_label(data, metric=metric, ...)`` when already computed (e.g.
        ``AgreementReport.per_label``): drawn as is, nothing is recomputed.
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
    >>> plot_per_label(pd.DataFrame(EXAMPLE), n_boot=20, random_state=0).get_xlabel()
    'fleiss_kappa (label vs rest)'
    """
    import matplotlib.pyplot as plt

    if table is None:
        table = per_label(data, metric=metric, n_boot=n_boot, random_state=random_state)
    t = table.sort_values("value")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 1 + 0.35 * len(t)))
    y = np.arange(len(t))
    err = np.vstack([t["value"] - t["ci_low"], t["ci_high"] - t["value"]]).clip(min=0)
    ax.errorbar(t["value"], y, xerr=err, fmt=kwargs.pop("fmt", "o"), capsize=kwargs.pop("capsize", 3), **kwargs)
    ax.set_yticks(y, [str(v) for v in t.index])
    for x in (0.4, 0.6, 0.8):
        ax.axvline(x, color="grey", lw=0.5, ls=":")
    ax.set_xlabel(f"{metric} (label vs rest)")
    return ax


def plot_confusion(data: pd.DataFrame, annotator_a: Any, annotator_b: Any = None, *, gold: pd.Series | None = None,
                   normalize: bool = False, ax=None, **kwargs):
    """Confusion matrix between two annotators, or one annotator against gold.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    annotator_a : hashable
        Rows of the matrix.
    annotator_b : hashable, optional
        Columns; leave out and pass ``gold`` (Series indexed by task) to compare with gold.
    gold : pandas.Series, optional
        Ground truth indexed by task.
    normalize : bool, default=False
        Row-normalise the counts.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to :func:`seaborn.heatmap`.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> plot_confusion(pd.DataFrame(EXAMPLE), "a", "b").get_ylabel()
    'a'
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if (annotator_b is None) == (gold is None):
        raise QAInputError("plot_confusion needs exactly one of 'annotator_b' and 'gold'.")
    if gold is not None:
        g = pd.DataFrame({"task": gold.index, "annotator": "__gold__", "label": gold.to_numpy()})
        data = pd.concat([data.loc[data["annotator"] == annotator_a, ["task", "annotator", "label"]], g])
        annotator_b, col_name = "__gold__", "gold"
    else:
        col_name = str(annotator_b)
    coded, la, lb = two_raters(data, annotator_a, annotator_b, func="plot_confusion")
    K = len(coded.categories)
    m = np.bincount(la * K + lb, minlength=K * K).reshape(K, K).astype(float)
    if normalize:
        m = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 0.5 * K, 1.2 + 0.5 * K))
    labels = [str(c) for c in coded.categories]
    sns.heatmap(m if normalize else m.astype(int), ax=ax, cmap=kwargs.pop("cmap", "Blues"), annot=True,
                fmt=".2f" if normalize else "d", annot_kws={"fontsize": 8}, cbar=False,
                xticklabels=labels, yticklabels=labels, **kwargs)
    ax.tick_params(axis="y", rotation=0)
    _rotate_class_ticks(ax, labels)
    ax.set_ylabel(str(annotator_a))
    ax.set_xlabel(col_name)
    return ax


def _name_cells(ax, names: list[str]) -> None:
    """Annotator names on both axes of a square heatmap, as many as fit without overlapping.

    Every name when they fit (at most :data:`MAX_TICK_LABELS`), otherwise every k-th: 50 names
    on a 4.5-inch axis overlap and are unreadable, and each name costs a tick to lay out and
    draw (747 names cost minutes). x names are vertical when they would crowd (more than 6,
    or longer than 8 characters), y names horizontal.
    """
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    box = ax.get_position()
    width, height = ax.figure.get_size_inches()
    side_pt = 72 * min(box.width * width, box.height * height)  # the square cells' side
    size_pt = FontProperties(size=rcParams["ytick.labelsize"]).get_size_in_points()
    fit = max(1, min(MAX_TICK_LABELS, int(side_pt // (1.25 * size_pt))))
    step = max(1, -(-len(names) // fit))
    at = np.arange(0, len(names), step)
    shown = [names[i] for i in at]
    ax.set_xticks(at + 0.5, shown)
    ax.set_yticks(at + 0.5, shown, va="center")
    ax.tick_params(axis="y", rotation=0)
    _rotate_class_ticks(ax, shown)


def _rotate_class_ticks(ax, labels: list[str]) -> None:
    """Class names on the x axis: vertical when there are many or they are long (readable at 15+)."""
    if len(labels) > 6 or max((len(x) for x in labels), default=0) > 8:
        ax.tick_params(axis="x", rotation=90)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("center")
