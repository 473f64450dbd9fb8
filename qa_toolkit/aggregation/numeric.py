"""Truth inference on units of ratings and multi-label fields.

Ratings: a robust consensus (median) with an additive per-annotator bias estimated by
alternating medians. Multi-label: one binary Dawid-Skene per label over the present /
absent units (every assigned annotator votes on every label).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from qa_toolkit._validation import QAInputError, check_positive_int

__all__ = ["RatingConsensus", "rating_consensus", "multilabel_dawid_skene"]


@dataclass(frozen=True)
class RatingConsensus:
    """Result of :func:`rating_consensus`.

    Attributes
    ----------
    tasks : pandas.DataFrame
        Index ``task``; ``value`` (bias-corrected median, within the rating scale),
        ``median`` (plain median), ``mad`` (median absolute deviation of the corrected
        ratings), ``n_ratings``, ``is_clipped`` (the corrected median fell outside the scale
        and ``value`` is the scale's end).
    annotators : pandas.DataFrame
        Index ``annotator``; ``bias`` (median of rating minus consensus; positive =
        rates high), ``mean_abs_error`` (to the consensus), ``n_ratings``.
    """

    tasks: pd.DataFrame
    annotators: pd.DataFrame


def rating_consensus(data: pd.DataFrame, *, field: Any = None, kinds: dict | None = None,
                     correct_bias: bool = True, n_iter: int = 100,
                     scale: tuple[float, float] | None = None) -> RatingConsensus:
    """Median consensus of ordinal / interval ratings with per-annotator bias.

    Model ``rating = truth_task + bias_annotator + noise``, fitted robustly by
    alternation: ``truth`` = median of the bias-corrected ratings of the task;
    ``bias`` = 10%-trimmed mean of the annotator's rating minus the mean of the *other*
    raters' corrected ratings on the same task (leave-one-out, so that with 3 raters a
    rater is not compared with a median it sets itself), centred to mean 0 over ratings;
    at most ``n_iter`` rounds.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with an ordinal or interval field (numeric ``value`` or
        ``label``).
    field : hashable, optional
        The field (required when the table has several).
    kinds : dict, optional
        ``{field: kind}`` overrides (e.g. ``{"label": "ordinal"}`` for a flat table).
    correct_bias : bool, default=True
        False: the plain median per task (biases still reported).
    n_iter : int, default=100
        Maximum rounds (stops when no bias moves by more than 1e-9).
    scale : (float, float), optional
        The rating scale's ends; a bias-corrected consensus outside them is clipped to the
        nearest end (``is_clipped``). Default: the smallest and largest rating observed in the
        field (a 0-100 scale whose best summaries all get 100 otherwise yields consensus
        values above 100).

    Returns
    -------
    RatingConsensus

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "annotator": list("abc") * 2,
    ...                    "label": [3, 4, 5, 1, 2, 3]})
    >>> r = rating_consensus(df, kinds={"label": "ordinal"})
    >>> r.tasks["value"].tolist(), r.annotators["bias"].round(6).tolist()
    ([4.0, 2.0], [-1.0, 0.0, 1.0])
    """
    from qa_toolkit.units.reduce import to_units

    n_iter = check_positive_int("n_iter", n_iter, func="rating_consensus")
    u = to_units(data, field=field, kinds=kinds)
    if u.attrs["kind"] not in ("ordinal", "interval"):
        raise QAInputError(f"rating_consensus: field {u.attrs['field']!r} has kind {u.attrs['kind']!r}; it needs "
                           "'ordinal' or 'interval' (pass kinds={field: 'ordinal'}).")
    t, tasks = pd.factorize(u["task"], sort=True)
    a, anns = pd.factorize(u["annotator"], sort=True)
    x = u["value"].to_numpy(float)
    n_t = np.bincount(t)
    plain = pd.Series(x).groupby(t).median().to_numpy()
    bias = np.zeros(len(anns))
    shared = n_t[t] >= 2
    for _ in range(n_iter):
        c = x - bias[a]
        loo = (np.bincount(t, weights=c)[t] - c) / np.maximum(n_t[t] - 1, 1)
        resid = pd.Series((x - loo)[shared]).groupby(a[shared])
        est = resid.apply(lambda r: stats.trim_mean(r.to_numpy(), 0.1))
        new = np.zeros(len(anns))
        new[est.index.to_numpy()] = est.to_numpy()
        new -= np.average(new[a])
        done = np.abs(new - bias).max() < 1e-9
        bias = new
        if done:
            break
    truth = pd.Series(x - bias[a]).groupby(t).median().to_numpy() if correct_bias else plain
    lo, hi = _scale(scale, x)
    clipped = (truth < lo) | (truth > hi)
    truth = np.clip(truth, lo, hi)
    resid = x - bias[a] - truth[t] if correct_bias else x - truth[t]
    tasks_df = pd.DataFrame({"value": truth, "median": plain,
                             "mad": pd.Series(np.abs(resid)).groupby(t).median().to_numpy(),
                             "n_ratings": np.bincount(t), "is_clipped": clipped},
                            index=pd.Index(tasks, name="task"))
    ann_df = pd.DataFrame({"bias": bias, "mean_abs_error": pd.Series(np.abs(x - truth[t])).groupby(a).mean().to_numpy(),
                           "n_ratings": np.bincount(a)}, index=pd.Index(anns, name="annotator"))
    return RatingConsensus(tasks_df, ann_df)


def _scale(scale: Any, x: np.ndarray) -> tuple[float, float]:
    if scale is None:
        return float(np.min(x)), float(np.max(x))
    ok = isinstance(scale, (tuple, list)) and len(scale) == 2
    try:
        lo, hi = (float(scale[0]), float(scale[1])) if ok else (np.nan, np.nan)
    except (TypeError, ValueError):
        lo, hi = np.nan, np.nan
    if not lo <= hi:
        raise QAInputError("The 'scale' parameter of rating_consensus must be a pair (low, high) of numbers "
                           f"with low <= high. Got {scale!r} instead.")
    return lo, hi


def multilabel_dawid_skene(data: pd.DataFrame, *, field: Any = None, kinds: dict | None = None,
                           assignments: pd.DataFrame | None = None, threshold: float = 0.5,
                           **ds_params: Any) -> pd.DataFrame:
    """Per-label binary Dawid-Skene on multi-label units.

    Each label of the field is a binary task for every annotator assigned to the task
    (chose it / did not), so annotators who leave a label out vote "absent".

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with a multilabel field.
    field, kinds, assignments : optional
        As in :func:`qa_toolkit.to_units`.
    threshold : float, default=0.5
        ``present`` when the posterior of "present" is at least this.
    **ds_params
        Passed to :class:`qa_toolkit.aggregation.DawidSkene` (e.g. ``model='one_coin'``).

    Returns
    -------
    pandas.DataFrame
        One row per (task, label): ``task``, ``label``, ``p_present`` (posterior),
        ``present`` (bool), ``share_chosen`` (share of assigned annotators who chose it).
    """
    from qa_toolkit.aggregation.dawid_skene import DawidSkene
    from qa_toolkit.units.reduce import to_units

    u = to_units(data, field=field, kinds=kinds, assignments=assignments)
    if u.attrs["kind"] != "multilabel":
        raise QAInputError(f"multilabel_dawid_skene: field {u.attrs['field']!r} has kind {u.attrs['kind']!r}, not 'multilabel'.")
    out = []
    for lab, g in u.groupby("label", sort=True, observed=True):
        t = pd.DataFrame({"task": g["task"].to_numpy(), "annotator": g["annotator"].to_numpy(),
                          "label": g["value"].to_numpy().astype(int)})
        share = t.groupby("task")["label"].mean()
        if t["label"].nunique() < 2:
            p = share.astype(float)
        else:
            post = DawidSkene(classes=[0, 1], **ds_params).fit_predict_proba(t)
            p = post[1].reindex(share.index)
        out.append(pd.DataFrame({"task": share.index, "label": lab, "p_present": p.to_numpy(),
                                 "share_chosen": share.to_numpy()}))
    res = pd.concat(out, ignore_index=True)
    res["present"] = res["p_present"] >= threshold
    return res[["task", "label", "p_present", "present", "share_chosen"]]
