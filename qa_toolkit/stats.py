"""Small statistics shared by several layers: the Wilson score interval and the sample size
that gives a Wilson interval of a chosen half-width (STYLE rule 18: ``stats.wilson_interval``)."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri  # = scipy.stats.norm.ppf, without importing scipy.stats (1 s)

from qa_toolkit._validation import check_fraction

__all__ = ["wilson_interval", "wilson_sample_size"]


def _z(confidence: float) -> float:
    return float(ndtri(0.5 + confidence / 2.0))


def wilson_interval(successes, n, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes : int or array-like of int
        Number of successes (e.g. correct gold answers).
    n : int or array-like of int
        Number of trials. Where ``n == 0`` both bounds are NaN.
    confidence : float, default=0.95
        Two-sided confidence level in (0, 1).

    Returns
    -------
    ci_low, ci_high : numpy.ndarray of float
        Bounds, same shape as the broadcast inputs.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. JASA 22(158), 209-212. doi:10.1080/01621459.1927.10502953

    Examples
    --------
    >>> lo, hi = wilson_interval(8, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.4902, 0.9433)
    """
    check_fraction("confidence", confidence, low=1e-9, high=1 - 1e-9, func="wilson_interval")
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    low = np.where(n > 0, np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    high = np.where(n > 0, np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return low, high


def wilson_sample_size(
    *, epsilon: float = 0.05, confidence: float = 0.95, expected_accuracy: float = 0.5
) -> int:
    """Smallest ``n`` whose Wilson interval half-width is at most ``epsilon``.

    Parameters
    ----------
    epsilon : float, default=0.05
        Wanted half-width (precision) of the accuracy estimate, e.g. 0.05 for ±5 points.
    confidence : float, default=0.95
        Two-sided confidence level.
    expected_accuracy : float, default=0.5
        Accuracy you expect; 0.5 is the worst case (largest ``n``).

    Returns
    -------
    int
        Number of gold checks needed per annotator.

    Notes
    -----
    For ``expected_accuracy=0.5`` the half-width is ``z / (2 sqrt(n + z^2))``, so
    ``n = (z / 2 epsilon)^2 - z^2``: 381 at ±5 points and 95 %, a few less than the
    Wald formula's 385.

    Examples
    --------
    >>> wilson_sample_size(epsilon=0.05)
    381
    >>> wilson_sample_size(epsilon=0.05, expected_accuracy=0.9)
    141
    """
    eps = check_fraction("epsilon", epsilon, low=1e-6, high=0.5, func="wilson_sample_size")
    check_fraction("confidence", confidence, low=1e-9, high=1 - 1e-9, func="wilson_sample_size")
    p = check_fraction("expected_accuracy", expected_accuracy, func="wilson_sample_size")
    z = _z(confidence)

    def half(n: float) -> float:
        return z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)

    lo, hi = 1, 1
    while half(hi) > eps:
        hi *= 2
    while lo < hi:  # half() decreases in n
        mid = (lo + hi) // 2
        if half(mid) <= eps:
            hi = mid
        else:
            lo = mid + 1
    return int(lo)
