"""Confidence intervals for every coefficient: task bootstrap on the counts, analytic SEs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from qa_toolkit._validation import (
    QAInputError,
    check_fraction,
    check_option,
    check_positive_int,
    check_random_state,
)
from qa_toolkit.agreement._common import EXAMPLE, two_raters  # noqa: F401
from qa_toolkit.agreement._counts import agreement_weights, code_annotations, distance_matrix
from qa_toolkit.agreement._engine import (
    alpha_batch,
    cohen_ase,
    cohen_pa_pe,
    confusion,
    conger_pa_pe,
    multi_pa_pe,
    multi_unit_se,
)
from qa_toolkit.agreement._warnings import LowOverlapWarning, warn
from qa_toolkit.agreement.gwet import brennan_prediger, gwet_ac1
from qa_toolkit.agreement.kappa import cohen_kappa, conger_kappa, fleiss_kappa, scott_pi
from qa_toolkit.agreement.krippendorff import _check_level, krippendorff_alpha
from qa_toolkit.agreement.percent import percent_agreement

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
_ANALYTIC = ("percent_agreement", "fleiss_kappa", "gwet_ac1", "brennan_prediger", "cohen_kappa")
#: Fewer pairable tasks than this triggers a :class:`LowOverlapWarning`.
MIN_PAIRABLE = 30
_CHUNK_CELLS = 20_000_000


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


def _replicates(name, coded, W, kw, rng, n_boot, la=None, lb=None):
    n = len(la) if la is not None else len(coded.tasks)
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n * max(len(coded.categories), 1), 1)))
    out = []
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        wts = _resample_weights(rng, n, b)
        if name in _MULTI:
            pa, pe = multi_pa_pe(_MULTI[name], coded.counts, W, wts)
            with np.errstate(divide="ignore", invalid="ignore"):
                out.append((pa - pe) if name == "percent_agreement" else (pa - pe) / (1 - pe))
        elif name == "krippendorff_alpha":
            dist = distance_matrix(kw.get("level", "nominal"), coded, func="confidence_interval")
            out.append(alpha_batch(coded.counts, dist, wts)[0])
        elif name in ("cohen_kappa", "scott_pi"):
            K = len(coded.categories)
            vals = []
            for w in wts:
                pa, pe = cohen_pa_pe(confusion(la, lb, K, w), W, kind="scott" if name == "scott_pi" else "cohen")
                vals.append((pa - pe) / (1 - pe) if pe < 1 else np.nan)
            out.append(np.array(vals))
        else:  # conger
            vals = []
            for w in wts:
                pa, pe = conger_pa_pe(coded.counts, coded.t, coded.a, coded.l, len(coded.annotators), W, w)
                vals.append((pa - pe) / (1 - pe) if pe < 1 else np.nan)
            out.append(np.array(vals))
        done += b
    return np.concatenate(out)


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
    method : {'bootstrap', 'analytic'}, default='bootstrap'
        'bootstrap': percentile interval over tasks resampled with replacement (the
        resampling is a multinomial weight matrix applied to the task x label counts, so
        count-based coefficients are computed for all replicates at once).
        'analytic': the standard error from the literature. Cohen's kappa: Fleiss, Cohen
        & Everitt (1969), normal interval (SAS PROC FREQ's ASE). Fleiss' kappa, AC1/AC2,
        Brennan-Prediger and percent agreement: Gwet's (2008) linearisation, Student t
        interval with n_tasks - 1 df capped at 1 (as R irrCAC).
    n_boot : int, default=1000
        Bootstrap replicates.
    confidence : float, default=0.95
        Coverage of the interval.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the resampling.
    **metric_kwargs
        Passed to the metric (``annotator_a``/``annotator_b`` for two-rater
        coefficients, ``weights``, ``level``, ``categories``).

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
    check_option("method", method, ["bootstrap", "analytic"], func="confidence_interval")
    n_boot = check_positive_int("n_boot", n_boot, minimum=2, func="confidence_interval")
    confidence = check_fraction("confidence", confidence, func="confidence_interval")
    allowed = {"categories", "replace_undefined_by"}
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
    W = agreement_weights(metric_kwargs.get("weights"), len(coded.categories), func=name)
    if n_pairable < MIN_PAIRABLE:
        warn(LowOverlapWarning, f"{name}: only {n_pairable} pairable task(s) (< {MIN_PAIRABLE}); "
             "the interval is wide and the coefficient unstable.")
    z = stats.norm.ppf(0.5 + confidence / 2)
    if method == "analytic":
        if name == "cohen_kappa":
            se = cohen_ase(confusion(la, lb, len(coded.categories)), W, value)
            low, high = value - z * se, value + z * se
        else:
            se = multi_unit_se(_MULTI[name], coded.counts, W, value)
            tq = stats.t.ppf(0.5 + confidence / 2, max(n_tasks - 1, 1))
            low, high = value - tq * se, min(1.0, value + tq * se)
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
