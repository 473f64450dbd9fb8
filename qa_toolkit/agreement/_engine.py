"""Vectorised kernels shared by the coefficients and the bootstrap (internal).

Every kernel takes task weights ``wts`` of shape (B, n_tasks): a row of ones gives the
point estimate, rows of multinomial counts give bootstrap replicates. Notation follows
Gwet (2014), *Handbook of Inter-Rater Reliability*, 4th ed., ch. 2-5 (``pa``, ``pe``,
``pi``) and Krippendorff (2011) (``o``, ``e``, ``d``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["multi_pa_pe", "alpha_batch", "confusion", "cohen_pa_pe", "conger_pa_pe", "MULTI_KINDS"]

MULTI_KINDS = ("percent", "fleiss", "gwet", "bp")


#: Smallest number of tasks for which the point estimates first compress the counts to patterns.
PATTERN_MIN_TASKS = 50_000


def count_patterns(C: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Distinct rows of a count matrix and their multiplicities, or None when not worth it.

    Issue 14: every count-based coefficient is a sum over tasks of a function of the task's
    row, so it can be computed on the distinct rows weighted by their multiplicities
    (a few hundred rows instead of 10^6). The row key is one integer product (the row
    read as digits in base ``max + 1``), counted with ``bincount`` when the key space is
    small, hashed otherwise; the patterns are decoded from their keys.
    """
    n, K = C.shape
    if n < PATTERN_MIN_TASKS or not K or C.dtype.kind not in "iu":
        return None
    ref, cached = _LAST_PATTERNS
    if ref is not None and ref() is C:  # a report asks for the same counts ~10 times
        return cached
    out = _count_patterns(C)
    _LAST_PATTERNS[:] = [weakref.ref(C), out]
    return out


#: The last (weak reference to the counts, patterns) pair computed.
_LAST_PATTERNS: list[Any] = [None, None]


def _count_patterns(C: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    n, K = C.shape
    base = int(C.max()) + 1
    if K * np.log2(max(base, 2)) >= 62:
        return None
    # int32 counts keep int32 keys when they fit: an int64 product would first cast C (2x its size)
    dt = np.int32 if C.dtype.itemsize <= 4 and base**K < 2**31 else np.int64
    powers = base ** np.arange(K - 1, -1, -1, dtype=dt)
    key = C @ powers
    if base**K <= 4 * n:
        mult = np.bincount(key, minlength=base**K)
        keys = np.flatnonzero(mult)
        mult = mult[keys]
    else:
        codes, keys = pd.factorize(key)
        if len(keys) > n // 4:
            return None
        mult = np.bincount(codes, minlength=len(keys))
    return (keys[:, None] // powers[None, :]) % base, mult


def _unit_terms(C: np.ndarray, W: np.ndarray):
    r = C.sum(axis=1).astype(float)
    pairable = r >= 2
    if np.array_equal(W, np.eye(len(W))):
        s = np.square(C).sum(axis=1).astype(float)  # integer squares: exact, and faster than einsum
    else:
        s = np.einsum("ij,ij->i", C, C @ W.T, dtype=float)
    s -= r  # sum_k r_ik (r*_ik - 1)
    pa_i = np.divide(s, r * (r - 1), out=np.zeros(len(r)), where=pairable)
    return r, pairable, pa_i


def multi_pa_pe(kind: str, C: np.ndarray, W: np.ndarray, wts: np.ndarray | None = None):
    """Observed (``pa``) and chance (``pe``) agreement, each of shape (B,).

    ``pa``: mean over tasks with >= 2 labels of the (weighted) share of agreeing ordered
    pairs; ``pi_k``: mean over all tasks of the share of label k. ``pe`` by ``kind``:
    Fleiss ``pi' W pi``; Gwet AC1/AC2 ``T_w / (q (q-1)) sum pi_k (1 - pi_k)``;
    Brennan-Prediger ``T_w / q^2``; percent 0.
    """
    if wts is None:
        comp = count_patterns(C)
        if comp is not None:
            return multi_pa_pe(kind, comp[0], W, comp[1][None, :].astype(float))
    n, q = C.shape
    r, pairable, pa_i = _unit_terms(C, W)
    if wts is None:
        all_pairable = bool(pairable.all())
        pa = np.array([pa_i.mean() if all_pairable else pa_i[pairable].mean()])
        pi = ((1.0 / r) @ C / n)[None, :]
    else:
        wp = wts[:, pairable]
        pa = (wp @ pa_i[pairable]) / wp.sum(axis=1)
        pi = ((wts / r[None, :]) @ C) / wts.sum(axis=1)[:, None]
    if kind == "percent":
        return pa, np.zeros_like(pa)
    if kind == "bp":
        return pa, np.full_like(pa, W.sum() / q**2)
    if kind == "fleiss":
        pe = np.einsum("bk,kl,bl->b", pi, W, pi)
    elif kind == "gwet":
        pe = (W.sum() / (q * (q - 1)) if q > 1 else np.inf) * (pi * (1 - pi)).sum(axis=1)
    else:  # pragma: no cover - guarded by callers
        raise ValueError(kind)
    return pa, pe


def multi_unit_se(kind: str, C: np.ndarray, W: np.ndarray, value: float) -> float:
    """Gwet's (2008, 2014) linearisation standard error (infinite population, f = 0).

    As R irrCAC ``fleiss.kappa.raw`` / ``gwet.ac1.raw`` / ``bp.coeff.raw`` / ``pa.coeff.raw``.
    Large tables are summed over their distinct count rows (:func:`count_patterns`).
    """
    comp = count_patterns(C)
    w = None if comp is None else comp[1].astype(float)
    if comp is not None:
        C = comp[0]
    q = C.shape[1]
    wsum = (lambda x: x.sum(axis=0)) if w is None else (lambda x: w @ x)
    n = len(C) if w is None else float(w.sum())
    r, pairable, pa_i = _unit_terms(C, W)
    share = C / r[:, None]
    n2 = wsum(pairable.astype(float))
    pa, pe = multi_pa_pe(kind, C, W, None if w is None else w[None, :])
    pa, pe = float(pa[0]), float(pe[0])
    if n < 2 or pe >= 1:
        return np.nan
    pe_r2 = pe * pairable
    k_i = (n / n2) * (pa_i - pe_r2) / (1 - pe)
    if kind == "fleiss":
        pi = wsum(share) / n
        pi_w = (W @ pi + W.T @ pi) / 2
        pe_i = (C @ pi_w) / r
        k_i = k_i - 2 * (1 - value) * (pe_i - pe) / (1 - pe)
    elif kind == "gwet":
        pi = wsum(share) / n
        pe_i = (W.sum() / (q * (q - 1))) * (C @ (1 - pi)) / r
        k_i = k_i - 2 * (1 - value) * (pe_i - pe) / (1 - pe)
    elif kind == "percent":
        k_i = (n / n2) * pa_i
    return float(np.sqrt(wsum((k_i - value) ** 2) / (n - 1) / n))


def alpha_batch(C: np.ndarray, dist: Callable[[np.ndarray], np.ndarray], wts: np.ndarray | None = None):
    """Krippendorff's alpha for each row of ``wts``; returns (alpha, D_e) of shape (B,).

    ``o`` (coincidences) = sum over pairable units of (n_uc n_uk - [c=k] n_uc) / (m_u - 1);
    ``e_ck = n_c (n_k - [c=k]) / (n.. - 1)``; ``alpha = 1 - sum(o d) / sum(e d)``.
    """
    if wts is None:
        comp = count_patterns(C)
        if comp is not None:
            return alpha_batch(comp[0], dist, comp[1][None, :].astype(float))
    m = C.sum(axis=1)
    keep = m >= 2
    Cp = C if keep.all() else C[keep]
    inv = 1.0 / (m[keep] - 1)
    K = C.shape[1]
    if wts is None:
        Cf = Cp.astype(np.float64)
        o = (Cf.T * inv) @ Cf  # BLAS; einsum here is ~10x slower on 10^6 tasks
        o = (o - np.diag(inv @ Cf))[None]
    else:
        wp = wts[:, keep] * inv[None, :]
        o = np.einsum("bu,uk,ul->bkl", wp, Cp, Cp, optimize=True)
        o -= np.einsum("bk,kl->bkl", wp @ Cp, np.eye(K))
    n_c = o.sum(axis=2)
    n_tot = n_c.sum(axis=1)
    e = (n_c[:, :, None] * n_c[:, None, :] - np.einsum("bk,kl->bkl", n_c, np.eye(K))) / (n_tot - 1)[:, None, None]
    d = dist(n_c)
    Do = (o * d).sum(axis=(1, 2))
    De = (e * d).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - Do / De, De


def confusion(la: np.ndarray, lb: np.ndarray, K: int, w: np.ndarray | None = None) -> np.ndarray:
    """K x K confusion counts of two aligned code vectors (rows: first annotator)."""
    return np.bincount(la * K + lb, weights=w, minlength=K * K).reshape(K, K).astype(float)


def cohen_pa_pe(M: np.ndarray, W: np.ndarray, *, kind: str = "cohen"):
    """Observed and chance agreement of a two-rater confusion matrix ``M``.

    ``kind='cohen'``: chance from each rater's own marginals; ``'scott'``: from the
    pooled marginals (Scott 1955).
    """
    n = M.sum()
    p = M / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    pa = float((W * p).sum())
    if kind == "scott":
        pool = (row + col) / 2
        pe = float(pool @ W @ pool)
    else:
        pe = float(row @ W @ col)
    return pa, pe


def cohen_ase(M: np.ndarray, W: np.ndarray, kappa: float) -> float:
    """Asymptotic standard error of (weighted) Cohen's kappa, Fleiss, Cohen & Everitt (1969).

    The non-null ASE printed by SAS PROC FREQ ("ASE").
    """
    n = M.sum()
    p = M / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    pe = float(row @ W @ col)
    if pe >= 1 or n < 2:
        return np.nan
    wi = W @ col  # w-bar_i.
    wj = row @ W  # w-bar_.j
    term = (p * (W - (wi[:, None] + wj[None, :]) * (1 - kappa)) ** 2).sum()
    var = (term - (kappa - pe * (1 - kappa)) ** 2) / (n * (1 - pe) ** 2)
    return float(np.sqrt(max(var, 0.0)))


def conger_pa_pe(C: np.ndarray, t: np.ndarray, a: np.ndarray, l: np.ndarray, n_ann: int, W: np.ndarray,  # noqa: E741
                 w_units: np.ndarray | None = None):
    """Conger's (1980) kappa terms as in R irrCAC ``conger.kappa.raw`` (Gwet 2014, ch. 2).

    ``pe = sum W * (pbar pbar' - S2 / r)`` with ``p_gk`` the share of label k among the
    tasks rater g labelled, ``pbar`` its mean over raters and ``S2`` their covariance.
    """
    n, q = C.shape
    if w_units is None:
        w_units = np.ones(n)
    pa, _ = multi_pa_pe("percent", C, W, w_units[None, :])
    classif = np.bincount(a * q + l, weights=w_units[t], minlength=n_ann * q).reshape(n_ann, q)
    ng = classif.sum(axis=1)
    pgk = classif / np.where(ng > 0, ng, 1)[:, None]
    pbar = pgk.mean(axis=0)
    s2 = (pgk.T @ pgk - n_ann * np.outer(pbar, pbar)) / (n_ann - 1)
    pe = float((W * (np.outer(pbar, pbar) - s2 / n_ann)).sum())
    return float(pa[0]), pe
