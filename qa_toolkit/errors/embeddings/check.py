"""Embedding matrices: validation and 2-D projection.

Every detector in :mod:`qa_toolkit.errors` that works on embeddings (neighbours,
duplicates, clusters) takes a plain ``(n_items, dim)`` matrix, so any precomputed
embedding works; :func:`check_embeddings` validates it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_option, check_random_state

__all__ = ["check_embeddings", "project_embeddings"]


def check_embeddings(
    embeddings: Any, *, name: str = "embeddings", func: str | None = None, normalize: bool = False
) -> np.ndarray:
    """Validate an embedding matrix and return it as a float32 array.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
        One row per item. A pandas DataFrame is accepted (its values are used).
    name : str, default='embeddings'
        Parameter name used in error messages.
    func : str, optional
        Name of the calling function, used in error messages.
    normalize : bool, default=False
        Return rows scaled to unit L2 norm (what cosine similarity needs).

    Returns
    -------
    numpy.ndarray of shape (n_items, dim), dtype float32
        The validated (and optionally normalised) matrix, C-contiguous.

    Raises
    ------
    QAInputError
        When the input is not 2-D numeric, is empty, or has rows with NaN/inf or
        with zero norm (the message lists the first offending rows).

    Examples
    --------
    >>> check_embeddings([[3.0, 4.0], [0.0, 2.0]], normalize=True)
    array([[0.6, 0.8],
           [0. , 1. ]], dtype=float32)
    >>> check_embeddings([[1.0, float("nan")]])
    Traceback (most recent call last):
    ...
    qa_toolkit._validation.QAInputError: The 'embeddings' parameter has 1 row(s) with NaN or infinite values (rows [0]); ...
    """
    where = f" of {func}" if func else ""
    if isinstance(embeddings, pd.DataFrame):
        embeddings = embeddings.to_numpy()
    try:
        x = np.asarray(embeddings, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise QAInputError(
            f"The {name!r} parameter{where} must be a numeric array of shape (n_items, dim). "
            f"Got {type(embeddings).__name__} that cannot be converted to numbers ({exc})."
        ) from None
    if x.ndim != 2:
        raise QAInputError(
            f"The {name!r} parameter{where} must be 2-D of shape (n_items, dim). Got shape {x.shape} instead."
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise QAInputError(f"The {name!r} parameter{where} must not be empty. Got shape {x.shape}.")
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        raise QAInputError(
            f"The {name!r} parameter{where} has {bad.size} row(s) with NaN or infinite values "
            f"(rows {bad[:10].tolist()}); drop them first (e.g. images that could not be decoded)."
        )
    norms = np.linalg.norm(x, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise QAInputError(
            f"The {name!r} parameter{where} has {zero.size} all-zero row(s) (rows {zero[:10].tolist()}); "
            "cosine similarity is undefined for them."
        )
    if normalize:
        x = x / norms[:, None]
    return np.ascontiguousarray(x, dtype=np.float32)


def project_embeddings(embeddings: Any, *, method: str = "pca", random_state=None) -> pd.DataFrame:
    """Project embeddings to 2-D (for :func:`qa_toolkit.plotting.plot_embedding_map`).

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
    method : {'pca', 'umap', 'auto'}, default='pca'
        UMAP needs the optional ``umap-learn`` package; ``'auto'`` uses UMAP when it is
        installed and PCA otherwise.
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    pandas.DataFrame
        Columns ``x``, ``y``; one row per item, in input order; ``attrs["method"]`` is the
        method used ('pca' or 'umap').

    Examples
    --------
    >>> xy = project_embeddings([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    >>> xy.shape
    (4, 2)
    """
    check_option("method", method, ["pca", "umap", "auto"], func="project_embeddings")
    if method == "auto":
        import importlib.util

        method = "umap" if importlib.util.find_spec("umap") is not None else "pca"
    x = check_embeddings(embeddings, func="project_embeddings", normalize=True)
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise ImportError("method='umap' needs the optional 'umap-learn' package; use method='pca'.") from None
        xy = umap.UMAP(n_components=2, metric="cosine", random_state=seed, n_jobs=1).fit_transform(x)
    else:
        from sklearn.decomposition import PCA

        n_comp = min(2, x.shape[0], x.shape[1])
        xy = PCA(n_components=n_comp, random_state=seed).fit_transform(x)
        if n_comp < 2:
            xy = np.column_stack([xy, np.zeros((x.shape[0], 2 - n_comp))])
    out = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})
    out.attrs["method"] = method
    return out
