"""A 2-D map of embeddings coloured by label, with suspect items marked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError
from qa_toolkit.embeddings import project_embeddings

__all__ = ["plot_embedding_map"]


def plot_embedding_map(
    embeddings: Any,
    labels: Any,
    *,
    suspects: Any = None,
    method: str = "pca",
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
        Items to mark, e.g. ``neighbour_inconsistency(...)["is_neighbour_issue"]``.
    method : {'pca', 'umap'}, default='pca'
        Passed to :func:`qa_toolkit.embeddings.project_embeddings`.
    random_state : int, numpy.random.Generator or None
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    **kwargs
        Passed to ``Axes.scatter`` for the label points.

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

    xy = project_embeddings(embeddings, method=method, random_state=random_state)
    lab = pd.Series(list(labels) if not isinstance(labels, pd.Series) else labels.to_list())
    if len(lab) != len(xy):
        raise QAInputError(
            f"The 'labels' parameter of plot_embedding_map must have one label per embedding row "
            f"({len(xy)}). Got {len(lab)} instead."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    classes = sorted(lab.unique(), key=str)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    size = kwargs.pop("s", 14)
    for c, cls in enumerate(classes):
        m = (lab == cls).to_numpy()
        ax.scatter(xy["x"][m], xy["y"][m], s=size, color=cmap(c % cmap.N), label=str(cls), alpha=0.8, **kwargs)
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
    name = method.upper()
    ax.set_xlabel(f"{name} 1")
    ax.set_ylabel(f"{name} 2")
    if len(classes) <= 20:
        ax.legend(fontsize="small", markerscale=1.0, loc="best")
    return ax
