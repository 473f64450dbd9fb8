"""Analytic standard errors and confidence intervals (Gwet's linearisation, FCE for Cohen).

Every multi-rater SE here is the linearisation variance of Gwet (2008; 2014, ch. 5) as
coded in R irrCAC 1.0 (``agree.coeff3.raw.r``, infinite population, ``N = Inf``):
``var = sum_i (x_i - c)^2 / (n (n - 1))`` over the tasks, with ``x_i`` each task's
linearised contribution. Intervals are Student t with ``n_tasks - 1`` degrees of freedom
(as irrCAC; pairable tasks for Krippendorff's alpha), except Cohen's kappa (normal interval on the Fleiss, Cohen & Everitt (1969)
ASE, as SAS PROC FREQ). All intervals are clipped to [-1, 1].

References
----------
Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of
high agreement. Br. J. Math. Stat. Psychol. 61(1), 29-48. doi:10.1348/000711006X126600

Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*, 4th ed. Advanced Analytics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri, stdtrit  # = scipy.stats norm / t ppf

from qa_toolkit._validation import QAInputError
from qa_toolkit.agreement._engine import (
    cohen_ase,
    confusion,
    conger_pa_pe,
    count_patterns,
    multi_unit_se,
)
from qa_toolkit.agreement._weights import distance_matrix
from qa_toolkit.engines.coding import Coded

__all__ = ["ANALYTIC", "analytic_interval", "alpha_se", "conger_se", "scott_se"]

_MULTI = {"percent_agreement": "percent", "fleiss_kappa": "fleiss", "gwet_ac1": "gwet", "brennan_prediger": "bp"}
#: Metrics with an analytic standard error.
ANALYTIC = (*_MULTI, "cohen_kappa", "scott_pi", "conger_kappa", "krippendorff_alpha")


def alpha_se(C: np.ndarray, W: np.ndarray) -> tuple[float, float, int]:
    """Krippendorff's alpha and its linearisation SE from task x label counts ``C``.

    ``W`` are agreement weights (identity: nominal). Follows R irrCAC 1.0 (CRAN, 2019)
    ``krippen.alpha.raw``, whose documented output (README: cac.raw4raters, se 0.14557,
    CI (0.419, 1)) and the Python port irrCAC reproduce: the SE is that of ``alpha'``
    (alpha before the small-sample term ``1 / sum r_i``) over the ``n`` pairable tasks,
    the interval uses ``n - 1`` degrees of freedom. (irrCAC's 2021 GitHub revision uses
    ``pa'`` instead of ``pa`` in the task term and ``n_tasks - 1`` df: 0.14548 and
    (0.423, 1) on that example.) Returns ``(alpha, se, n_pairable)``.
    """
    comp = count_patterns(C)  # issue 14: sums over the distinct count rows, weighted
    w_all = None if comp is None else comp[1].astype(float)
    if comp is not None:
        C = comp[0]
    r_all = C.sum(axis=1)
    keep = r_all >= 2
    A = C[keep].astype(float)
    r = r_all[keep].astype(float)
    w = np.ones(len(r)) if w_all is None else w_all[keep]
    wsum = (lambda x: x.sum(axis=0)) if w_all is None else (lambda x: w @ x)
    n = int(round(w.sum()))
    if n < 2:
        return np.nan, np.nan, n
    rmean = wsum(r) / n
    eps = 1.0 / wsum(r)
    sum_q = (A * (A @ W.T - 1)).sum(axis=1)
    pa_prime = wsum(sum_q / (rmean * (r - 1))) / n
    pa = (1 - eps) * pa_prime + eps
    pi = wsum(A / rmean) / n
    pe = float(pi @ W @ pi)
    if pe >= 1:
        return np.nan, np.nan, n
    alpha = (pa - pe) / (1 - pe)
    alpha_prime = (pa_prime - pe) / (1 - pe)
    pa_i = sum_q / (rmean * (r - 1)) - pa * (r - rmean) / rmean
    k_i = (pa_i - pe) / (1 - pe)
    pi_w = (W @ pi + W.T @ pi) / 2
    pe_i = (A @ pi_w) / rmean - pe * (r - rmean) / rmean
    x_i = k_i - 2 * (1 - alpha_prime) * (pe_i - pe) / (1 - pe)
    var = wsum((x_i - alpha_prime) ** 2) / (n * (n - 1))
    return float(alpha), float(np.sqrt(var)), n


def conger_se(coded: Coded, W: np.ndarray, value: float) -> float:
    """Linearisation SE of Conger's kappa, as R irrCAC ``conger.kappa.raw``.

    irrCAC's ``lamda_ig`` (task i, rater g) summed over the categories reduces to
    ``(M W)[g, l_ig] - c_g`` for a rated cell and ``(n_g / n) c_g`` for every rater, with
    ``M[g, k] = (n / n_g) (sum_h p_hk - p_gk)`` and ``c_g = sum_k (p_g W')_k M[g, k]``,
    so the SE is one pass over the rows (no tasks x raters x labels array).
    """
    C = coded.counts
    n, q = C.shape
    n_ann = len(coded.annotators)
    if n < 2 or n_ann < 2:
        return np.nan
    pa, pe = conger_pa_pe(C, coded.t, coded.a, coded.l, n_ann, W)
    if pe >= 1:
        return np.nan
    classif = np.bincount(coded.a * q + coded.l, minlength=n_ann * q).reshape(n_ann, q).astype(float)
    ng = classif.sum(axis=1)
    pgk = classif / ng[:, None]
    M = (n / ng)[:, None] * (pgk.sum(axis=0)[None, :] - pgk)
    c = ((pgk @ W.T) * M).sum(axis=1)
    MW = M @ W
    row_term = MW[coded.a, coded.l] - c[coded.a]
    lam = np.bincount(coded.t, weights=row_term, minlength=n) + float((ng / n) @ c)
    pe_i = lam / (n_ann * (n_ann - 1))
    r = C.sum(axis=1).astype(float)
    pairable = r >= 2
    n2 = int(pairable.sum())
    sum_q = (C * (C @ W.T - 1)).sum(axis=1)
    pa_i = np.divide(sum_q, r * (r - 1), out=np.zeros(n), where=pairable)
    k_i = (n / n2) * (pa_i - pe * pairable) / (1 - pe)
    x_i = k_i - 2 * (1 - value) * (pe_i - pe) / (1 - pe)
    return float(np.sqrt(((x_i - value) ** 2).sum() / (n * (n - 1))))


def scott_se(M: np.ndarray, W: np.ndarray, value: float) -> float:
    """SE of (weighted) Scott's pi from a two-rater confusion matrix, as R irrCAC ``scott2.table``."""
    n = M.sum()
    if n < 2:
        return np.nan
    p = M / n
    pk, pl = p.sum(axis=1), p.sum(axis=0)
    pi = (pk + pl) / 2
    pe = float(pi @ W @ pi)
    pa = float((W * p).sum())
    if pe >= 1:
        return np.nan
    pbk = (W @ pl + W.T @ pk) / 2
    sum1 = (p * (W - (1 - value) * (pbk[:, None] + pbk[None, :])) ** 2).sum()
    var = (sum1 - (pa - 2 * (1 - value) * pe) ** 2) / (n * (1 - pe) ** 2)
    return float(np.sqrt(max(var, 0.0)))


def _alpha_weights(level: Any, coded: Coded) -> np.ndarray:
    """Agreement weights ``1 - d / max(d)`` of a fixed Krippendorff distance (alpha is scale free)."""
    if level == "ordinal":
        raise QAInputError(
            "confidence_interval: method='analytic' for krippendorff_alpha supports level='nominal', "
            "'interval', 'ratio' or a callable distance (fixed distances); Krippendorff's ordinal "
            "distance depends on the label frequencies. Use method='bootstrap' for level='ordinal'."
        )
    K = len(coded.categories)
    d = np.asarray(distance_matrix(level, coded, func="confidence_interval")(np.ones((1, K)))[0], dtype=float)
    top = d.max()
    return np.eye(K) if top <= 0 else 1.0 - d / top


def analytic_interval(
    name: str,
    coded: Coded,
    W: np.ndarray,
    value: float,
    *,
    confidence: float,
    n_tasks: int,
    la: np.ndarray | None = None,
    lb: np.ndarray | None = None,
    level: Any = "nominal",
) -> tuple[float, float, float]:
    """``(se, ci_low, ci_high)`` of metric ``name`` (see the module docstring).

    ``coded``/``W`` as built by :func:`qa_toolkit.agreement.confidence_interval`;
    ``la``/``lb`` the aligned label codes of the two raters for Cohen and Scott.
    """
    if name not in ANALYTIC:
        raise QAInputError(
            f"confidence_interval: method='analytic' is available for {list(ANALYTIC)}; "
            f"got metric {name!r}. Use method='bootstrap'."
        )
    K = len(coded.categories)
    if name in ("cohen_kappa", "scott_pi"):
        if la is None or lb is None:
            raise QAInputError(f"analytic_interval: {name} needs the aligned labels la and lb of the two annotators.")
        M = confusion(la, lb, K)
    if name == "cohen_kappa":
        se = cohen_ase(M, W, value)
        z = ndtri(0.5 + confidence / 2)
        return se, max(-1.0, value - z * se), min(1.0, value + z * se)
    if name == "scott_pi":
        se = scott_se(M, W, value)
    elif name == "conger_kappa":
        se = conger_se(coded, W, value)
    elif name == "krippendorff_alpha":
        _, se, n_tasks = alpha_se(coded.counts, _alpha_weights(level, coded))  # df: pairable tasks - 1
    else:
        se = multi_unit_se(_MULTI[name], coded.counts, W, value)
    tq = stdtrit(max(n_tasks - 1, 1), 0.5 + confidence / 2)
    return se, max(-1.0, value - tq * se), min(1.0, value + tq * se)
