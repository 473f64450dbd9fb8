"""A 2-D map of embeddings coloured by label (seaborn scatter), with suspect items marked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError
from qa_toolkit.errors import project_embeddings

__all__ = ["plot_embedding_map"]


def plot_embedding_map(
    embeddings: Any,
    labels: Any,
    *,
    suspects: Any = None,
    clusters: Any = None,
    method: str = "pca",
    xy: Any = None,
    random_state=None,
    ax=None,
    **kwargs,
):
    """Scatter the embeddings in 2-D (PCA or UMAP), one colour per label, suspects circled.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
    labels : array-like of shape (n_items,)
    suspects : array-like of bool of shape (n_items,), optional
        Items to mark, e.g. ``neighbour_inconsistency(...)["is_neighbour_issue"]`` or
        ``embedding_clusters(...).items["is_cluster_minority_issue"]``.
    clusters : array-like of shape (n_items,), optional
        Cluster of each item (e.g. ``embedding_clusters(...).items["cluster"]``): its
        number is written at the cluster's median position (noise, ``-1``, is not).
    method : {'pca', 'umap', 'auto'}, default='pca'
        Passed to :func:`qa_toolkit.errors.project_embeddings` ('auto': UMAP when
        umap-learn is installed, else PCA).
    xy : DataFrame with columns ``x``, ``y``, optional
        A projection already computed with ``project_embeddings`` (skips the projection;
        ``embeddings`` may then be None).
    random_state : int, numpy.random.Generator or None
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to :func:`seaborn.scatterplot` for the label points.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> ax = plot_embedding_map([[1, 0, 0], [0, 1, 0], [0, 0, 1]], ["a", "b", "b"], suspects=[False, True, False])
    >>> ax.get_xlabel()
    'PCA 1'
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if xy is None:
        xy = project_embeddings(embeddings, method=method, random_state=random_state)
    elif not (isinstance(xy, pd.DataFrame) and {"x", "y"} <= set(xy.columns)):
        raise QAInputError("The 'xy' parameter of plot_embedding_map must be a DataFrame with columns 'x' and 'y' "
                           f"(from project_embeddings). Got {type(xy).__name__}.")
    xy = xy.reset_index(drop=True)
    method = xy.attrs.get("method", method)
    lab = pd.Series(list(labels) if not isinstance(labels, pd.Series) else labels.to_list())
    if len(lab) != len(xy):
        raise QAInputError(
            f"The 'labels' parameter of plot_embedding_map must have one label per embedding row "
            f"({len(xy)}). Got {len(lab)} instead."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    classes = list(dict.fromkeys(str(c) for c in sorted(lab.unique(), key=str)))
    palette = "tab10" if len(classes) <= 10 else "tab20" if len(classes) <= 20 else "husl"
    size = kwargs.pop("s", 14)
    sns.scatterplot(x=np.asarray(xy["x"]), y=np.asarray(xy["y"]), hue=lab.astype(str).to_numpy(), hue_order=classes,
                    palette=palette, s=size, alpha=kwargs.pop("alpha", 0.8), legend=len(classes) <= 20,
                    ax=ax, **kwargs)
    if suspects is not None:
        sus = np.asarray(suspects, dtype=bool)
        if sus.shape != (len(xy),):
            raise QAInputError(
                f"The 'suspects' parameter of plot_embedding_map must be a boolean mask of length {len(xy)}. "
                f"Got shape {sus.shape} instead."
            )
        ax.scatter(
            xy["x"][sus], xy["y"][sus], s=size * 6, facecolors="none", edgecolors="black",
            linewidths=1.2, label=f"suspect ({int(sus.sum())})",
        )
    if clusters is not None:
        cl = np.asarray(clusters)
        if cl.shape != (len(xy),):
            raise QAInputError(f"The 'clusters' parameter of plot_embedding_map must give one cluster per item "
                               f"({len(xy)}). Got shape {cl.shape} instead.")
        for c, pos in xy.groupby(cl).median().iterrows():
            if c != -1:
                ax.annotate(str(c), (pos["x"], pos["y"]), fontsize=9, fontweight="bold", ha="center", va="center",
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0})
    name = method.upper()
    ax.set_xlabel(f"{name} 1")
    ax.set_ylabel(f"{name} 2")
    if len(classes) <= 20:
        ax.legend(fontsize="small", markerscale=1.0, loc="best")
    return ax
