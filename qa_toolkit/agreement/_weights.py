"""Agreement weights, distance matrices and the undefined-ratio guard (internal).

Split from :mod:`qa_toolkit.engines.coding` (issue 14) to keep modules small.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from qa_toolkit._validation import QAInputError
from qa_toolkit.agreement._warnings import UndefinedAgreementWarning, warn
from qa_toolkit.engines.coding import Coded

__all__ = ["agreement_weights", "finish", "distance_matrix"]


def agreement_weights(weights: Any, n_categories: Any, *, func: str) -> np.ndarray:
    """Agreement weight matrix (1 on the diagonal) of shape (K, K).

    ``n_categories`` is the categories (``coded.categories``) or, for positions only, K.
    ``None`` gives the identity; ``'linear'`` ``1 - |x_i - x_j| / (x_max - x_min)`` and
    ``'quadratic'`` ``1 - (x_i - x_j)^2 / (x_max - x_min)^2``. The scores ``x`` are the
    label VALUES when every category is a number (or a numeric string), as SAS PROC
    FREQ's default table scores and R irrCAC ``linear.weights``/``quadratic.weights``,
    so a scale point nobody used does not move the others; otherwise the positions
    0..K-1 in the given category order (as sklearn ``cohen_kappa_score``). An array is
    taken as is.
    """
    # -- agreement conventions (issue 10): scores from label values (delimited edit) --
    from qa_toolkit.engines._labels import category_scores

    K, scores = category_scores(n_categories)
    # -- end of delimited edit --
    if weights is None:
        return np.eye(K)
    if isinstance(weights, str):
        if weights not in ("linear", "quadratic"):
            raise QAInputError(
                f"The 'weights' parameter of {func} must be one of {{None, 'linear', 'quadratic'}} "
                f"or a square array. Got {weights!r} instead."
            )
        if K == 1:
            return np.eye(1)
        i = scores
        diff = np.abs(i[:, None] - i[None, :]) / (i.max() - i.min())
        return 1 - diff if weights == "linear" else 1 - diff**2
    w = np.asarray(weights, dtype=float)
    if w.shape != (K, K):
        raise QAInputError(
            f"The 'weights' parameter of {func} must be a ({K}, {K}) array for the {K} categories. "
            f"Got shape {w.shape} instead."
        )
    return w


def finish(num: float, den: float, *, func: str, replace_undefined_by: float) -> float:
    """``num / den`` or ``replace_undefined_by`` with a warning when ``den`` is 0."""
    if not np.isfinite(den) or abs(den) < 1e-15:
        warn(
            UndefinedAgreementWarning,
            f"{func} is undefined here (chance agreement is 1, e.g. a single label in use); "
            f"returning {replace_undefined_by!r}.",
        )
        return float(replace_undefined_by)
    return float(num / den)


def distance_matrix(
    level: str | Callable, coded: Coded, *, func: str
) -> Callable[[np.ndarray], np.ndarray]:
    """Return ``d(n_c)`` giving the (B, K, K) distance matrices from (B, K) value marginals."""
    K = len(coded.categories)
    if callable(level):
        vals = np.asarray(coded.categories, dtype=object)
        d = np.array([[float(level(vals[i], vals[j])) for j in range(K)] for i in range(K)])
        return lambda n: np.broadcast_to(d, (n.shape[0], K, K))
    if level == "nominal":
        d = 1.0 - np.eye(K)
        return lambda n: np.broadcast_to(d, (n.shape[0], K, K))
    if level == "ordinal":

        def ordinal(n: np.ndarray) -> np.ndarray:
            cum = np.cumsum(n, axis=1)  # (B, K)
            i = np.arange(K)
            lo, hi = np.minimum(i[:, None], i[None, :]), np.maximum(i[:, None], i[None, :])
            between = cum[:, hi] - cum[:, lo] + n[:, lo]
            return (between - (n[:, :, None] + n[:, None, :]) / 2) ** 2

        return ordinal
    v = coded.values
    if np.isnan(v).any():
        raise QAInputError(
            f"{func}: level={level!r} needs numeric labels; got {list(coded.categories)[:5]}. "
            "Use level='nominal' or 'ordinal' (with categories=[...] giving the order)."
        )
    if level == "interval":
        d = (v[:, None] - v[None, :]) ** 2
    else:  # ratio
        s = v[:, None] + v[None, :]
        d = np.divide(v[:, None] - v[None, :], s, out=np.zeros((K, K)), where=s != 0) ** 2
    return lambda n: np.broadcast_to(d, (n.shape[0], K, K))
