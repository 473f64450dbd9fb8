"""Confidence intervals for every coefficient: task bootstrap on the counts, analytic SEs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._entry import entry_point
from qa_toolkit._validation import (
    QAInputError,
    check_fraction,
    check_option,
    check_positive_int,
    check_random_state,
)
from qa_toolkit.agreement._common import EXAMPLE, resolve_duplicates, two_raters  # noqa: F401
from qa_toolkit.agreement._engine import (
    alpha_batch,
    multi_pa_pe,
)
from qa_toolkit.agreement._warnings import LowOverlapWarning, warn
from qa_toolkit.agreement._weights import agreement_weights, distance_matrix
from qa_toolkit.agreement.analytic import ANALYTIC, analytic_interval  # issue 10 (delimited edit)
from qa_toolkit.agreement.gwet import brennan_prediger, gwet_ac1
from qa_toolkit.agreement.kappa import cohen_kappa, conger_kappa, fleiss_kappa, scott_pi
from qa_toolkit.agreement.krippendorff import _check_level, krippendorff_alpha
from qa_toolkit.agreement.percent import percent_agreement
from qa_toolkit.engines.coding import code_annotations

__all__ = ["confidence_interval", "METRICS", "MIN_PAIRABLE"]

#: Coefficient name -> function.
METRICS: dict[str, Callable[..., float]] = {
    "percent_agreement": percent_agreement,
    "cohen_kappa": cohen_kappa,
    "scott_pi": scott_pi,
    "fleiss_kappa": fleiss_kappa,
    "conger_kappa": conger_kappa,
    "krippendorff_alpha": krippendorff_alpha,
    "gwet_ac1": gwet_ac1,
    "brennan_prediger": brennan_prediger,
}
_MULTI = {"percent_agreement": "percent", "fleiss_kappa": "fleiss", "gwet_ac1": "gwet", "brennan_prediger": "bp"}
_ANALYTIC = ANALYTIC  # issue 10: + scott_pi, conger_kappa, krippendorff_alpha (agreement/analytic.py)
#: Fewer pairable tasks than this triggers a :class:`LowOverlapWarning`.
MIN_PAIRABLE = 30
_CHUNK_CELLS = 20_000_000
#: ``method='auto'`` uses the analytic interval from this many tasks on.
AUTO_ANALYTIC_TASKS = 50_000


def _metric_name(metric: Any) -> str:
    if callable(metric):
        for name, f in METRICS.items():
            if f is metric:
                return name
        metric = getattr(metric, "__name__", repr(metric))
    return check_option("metric", metric, list(METRICS), func="confidence_interval")


def _resample_weights(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    idx = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=size * n).reshape(size, n).astype(float)


def patterns(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a count matrix and their multiplicities (hash of a packed row key).

    Tasks with the same label counts are interchangeable in every count-based
    coefficient, so resampling n tasks with replacement is a multinomial draw of n over
    the distinct rows (same distribution, a few hundred cells instead of n per replicate).
    """
    n, K = C.shape
    base = int(C.max()) + 1 if C.size else 1
    if K and K * np.log2(max(base, 2)) < 62:
        key = C[:, 0].astype(np.int64)
        for k in range(1, K):
            key = key * base + C[:, k]
        codes, _ = pd.factorize(key)
    else:
        _, codes = np.unique(C, axis=0, return_inverse=True)
        codes = codes.ravel()
    mult = np.bincount(codes)
    first = np.zeros(len(mult), dtype=np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)  # first row of each pattern
    return C[first], mult


def pattern_weights(rng: np.random.Generator, mult: np.ndarray, size: int) -> np.ndarray:
    """(size, n_patterns) bootstrap weights: multinomial(n, multiplicity / n) per replicate."""
    n = int(mult.sum())
    return rng.multinomial(n, mult / n, size=size).astype(float)


def _two_rater_replicates(wts: np.ndarray, la: np.ndarray, lb: np.ndarray, W: np.ndarray, *, scott: bool):
    """Cohen's kappa / Scott's pi of every replicate from (B, K * K) weights of the label pairs."""
    K = len(W)
    p = wts.reshape(len(wts), K, K) / wts.sum(axis=1)[:, None, None]
    row, col = p.sum(axis=2), p.sum(axis=1)
    pa = (p * W[None]).sum(axis=(1, 2))
    if scott:
        row = col = (row + col) / 2
    pe = np.einsum("bk,kl,bl->b", row, W, col)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pe < 1, (pa - pe) / (1 - pe), np.nan)


def _conger_replicates(wts: np.ndarray, coded, W: np.ndarray):
    """Conger's kappa of every replicate (R irrCAC ``conger.kappa.raw`` terms, vectorised)."""
    from scipy import sparse

    C, q, A = coded.counts, len(coded.categories), len(coded.annotators)
    pa, _ = multi_pa_pe("percent", C, W, wts)
    units = sparse.csr_matrix((np.ones(len(coded.t)), (coded.t, coded.a.astype(np.int64) * q + coded.l)),
                              shape=(len(coded.tasks), A * q))
    classif = np.asarray(units.T.tocsr() @ wts.T).T.reshape(len(wts), A, q)  # (B, raters, labels)
    ng = classif.sum(axis=2, keepdims=True)
    pgk = classif / np.where(ng > 0, ng, 1)
    pbar = pgk.mean(axis=1)  # (B, q)
    s2 = (np.einsum("bgk,bgl->bkl", pgk, pgk) - A * pbar[:, :, None] * pbar[:, None, :]) / (A - 1)
    pe = ((pbar[:, :, None] * pbar[:, None, :] - s2 / A) * W[None]).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pe < 1, (pa - pe) / (1 - pe), np.nan)


def _replicates(name, coded, W, kw, rng, n_boot, la=None, lb=None):
    """Bootstrap replicates; count-based coefficients resample the distinct count rows."""
    if name in _MULTI or name == "krippendorff_alpha":
        Cu, mult = patterns(coded.counts)
        wts = pattern_weights(rng, mult, n_boot)
        if name == "krippendorff_alpha":
            dist = distance_matrix(kw.get("level", "nominal"), coded, func="confidence_interval")
            return alpha_batch(Cu, dist, wts)[0]
        pa, pe = multi_pa_pe(_MULTI[name], Cu, W, wts)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (pa - pe) if name == "percent_agreement" else (pa - pe) / (1 - pe)
    if name in ("cohen_kappa", "scott_pi"):
        K = len(W)
        wts = pattern_weights(rng, np.bincount(la * K + lb, minlength=K * K), n_boot)
        return _two_rater_replicates(wts, la, lb, W, scott=name == "scott_pi")
    n = len(coded.tasks)
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n * max(len(coded.categories), 1), 1)))
    out = []
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        wts = _resample_weights(rng, n, b)  # Conger: the rows carry annotator identities
        out.append(_conger_replicates(wts, coded, W))
        done += b
    return np.concatenate(out)


@entry_point("confidence_interval")  # issue 10: errors found inside name confidence_interval
def confidence_interval(
    data: pd.DataFrame,
    metric: str | Callable[..., float],
    *,
    method: str = "bootstrap",
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    **metric_kwargs: Any,
) -> pd.DataFrame:
    """A coefficient with its confidence interval, as a one-row tidy table.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    metric : str or callable
        One of ``METRICS`` (e.g. ``'krippendorff_alpha'``) or the function itself.
    method : {'bootstrap', 'analytic', 'auto'}, default='bootstrap'
        'auto' (issue 14): 'analytic' where it exists and the table has at least
        ``AUTO_ANALYTIC_TASKS`` (50,000) tasks, else 'bootstrap'; the column ``method``
        says which ran.
        'bootstrap': percentile interval over tasks resampled with replacement (the
        resampling is a multinomial weight matrix applied to the task x label counts, so
        count-based coefficients are computed for all replicates at once).
        'analytic': the standard error from the literature. Cohen's kappa: Fleiss, Cohen
        & Everitt (1969), normal interval (SAS PROC FREQ's ASE). Fleiss' kappa, AC1/AC2,
        Brennan-Prediger, percent agreement, Conger's kappa and Krippendorff's alpha
        (not level='ordinal'): Gwet's (2008) linearisation, Student t interval with
        n_tasks - 1 df (as R irrCAC ``*.raw``); Scott's pi: R irrCAC ``scott2.table``.
        Every interval is clipped to [-1, 1] (see :mod:`qa_toolkit.agreement.analytic`).
    n_boot : int, default=1000
        Bootstrap replicates.
    confidence : float, default=0.95
        Coverage of the interval.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the resampling.
    **metric_kwargs
        Passed to the metric (``annotator_a``/``annotator_b`` for two-rater
        coefficients, ``weights``, ``level``, ``categories``, ``duplicates`` (test-retest
        repeats: 'error', 'first' or 'last', applied once before coding)).

    Returns
    -------
    pandas.DataFrame
        Index ``metric``; columns ``value``, ``ci_low``, ``ci_high``, ``se``,
        ``n_tasks`` (tasks used), ``n_pairable`` (tasks with >= 2 labels), ``method``.

    Warns
    -----
    LowOverlapWarning
        Fewer than 30 pairable tasks: the interval will be wide and unstable.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import confidence_interval
    >>> df = pd.DataFrame(EXAMPLE)
    >>> ci = confidence_interval(df, "fleiss_kappa", n_boot=200, random_state=0)  # doctest: +SKIP
    >>> list(confidence_interval(pd.concat([df.assign(task=df.task + 10 * i) for i in range(10)]),
    ...      "fleiss_kappa", n_boot=200, random_state=0).columns)
    ['value', 'ci_low', 'ci_high', 'se', 'n_tasks', 'n_pairable', 'method']
    """
    name = _metric_name(metric)
    check_option("method", method, ["bootstrap", "analytic", "auto"], func="confidence_interval")
    n_boot = check_positive_int("n_boot", n_boot, minimum=2, func="confidence_interval")
    confidence = check_fraction("confidence", confidence, func="confidence_interval")
    allowed = {"categories", "replace_undefined_by", "duplicates"}
    allowed |= {"level"} if name == "krippendorff_alpha" else {"weights"}
    allowed |= {"annotator_a", "annotator_b"} if name in ("cohen_kappa", "scott_pi") else set()
    unknown = set(metric_kwargs) - allowed
    if unknown:
        raise QAInputError(f"confidence_interval got keyword(s) {sorted(unknown)} that {name} does not take; "
                           f"allowed: {sorted(allowed)}.")
    if method == "analytic" and name not in _ANALYTIC:
        raise QAInputError(
            f"confidence_interval: method='analytic' is available for {list(_ANALYTIC)}; "
            f"got metric {name!r}. Use method='bootstrap'."
        )
    rng = check_random_state(random_state)
    dup_policy = metric_kwargs.pop("duplicates", "error")  # issue 10: test-retest policy
    data = resolve_duplicates(data, dup_policy, func="confidence_interval", eager=True)
    value = METRICS[name](data, **metric_kwargs)
    cats = metric_kwargs.get("categories")
    la = lb = None
    if name in ("cohen_kappa", "scott_pi"):
        coded, la, lb = two_raters(data, metric_kwargs.get("annotator_a"), metric_kwargs.get("annotator_b"),
                                   func=name, categories=cats)
        n_tasks = n_pairable = len(la)
    else:
        coded = code_annotations(data, func=name, categories=cats)
        n_tasks, n_pairable = len(coded.tasks), coded.n_pairable
        if name == "krippendorff_alpha":
            _check_level(metric_kwargs.get("level", "nominal"), coded, name, cats)
    W = agreement_weights(metric_kwargs.get("weights"), coded.categories, func=name)
    if n_pairable < MIN_PAIRABLE:
        warn(LowOverlapWarning, f"{name}: only {n_pairable} pairable task(s) (< {MIN_PAIRABLE}); "
             "the interval is wide and the coefficient unstable.")
    if method == "auto":  # issue 14: analytic intervals are the fast default on large tables
        level = metric_kwargs.get("level", "nominal")
        has_analytic = name in _ANALYTIC and not (name == "krippendorff_alpha" and level == "ordinal")
        method = "analytic" if has_analytic and n_tasks >= AUTO_ANALYTIC_TASKS else "bootstrap"
    if method == "analytic":  # issue 10: every analytic SE lives in agreement/analytic.py
        se, low, high = analytic_interval(name, coded, W, value, confidence=confidence, n_tasks=n_tasks,
                                          la=la, lb=lb, level=metric_kwargs.get("level", "nominal"))
    else:
        reps = _replicates(name, coded, W, metric_kwargs, rng, n_boot, la, lb)
        reps = reps[np.isfinite(reps)]
        if len(reps) == 0:
            low = high = se = np.nan
        else:
            low, high = np.quantile(reps, [0.5 - confidence / 2, 0.5 + confidence / 2])
            se = float(np.std(reps, ddof=1)) if len(reps) > 1 else np.nan
    return pd.DataFrame(
        {"value": [value], "ci_low": [float(low)], "ci_high": [float(high)], "se": [float(se)],
         "n_tasks": [int(n_tasks)], "n_pairable": [int(n_pairable)], "method": [method]},
        index=pd.Index([name], name="metric"),
    )
