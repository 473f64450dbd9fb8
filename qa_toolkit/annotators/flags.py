"""Per-annotator agreement flags shared by every report (categorical and typed) and the dashboard.

The one per-annotator agreement definition: an annotator's agreement is the mean over
their tasks of their agreement with the *other* annotators of the task (leave-one-out;
categorical: share of the others' labels that match; typed kinds: F1, Spearman or macro F1
against the others' consensus). Its CI comes from the spread over tasks. An annotator is
flagged "low agreement" relative to the others with a CI (:func:`relative_low_agreement`),
not only below a fixed fraction of the median.

Annotator flags follow the issue contract keyed by ``annotator`` instead of ``task``:
``is_low_agreement_issue`` / ``low_agreement_score`` (lower = worse) and
``is_spammer_issue`` / ``spammer_score``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_columns
from qa_toolkit.annotators.gold import _ambiguous, loo_agreement

__all__ = ["annotator_agreement", "others_majority_share", "distinct_per_group", "task_mean_ci", "boot_ci",
           "relative_low_agreement"]


def annotator_agreement(data: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """The one per-annotator agreement of a categorical table, with its CI.

    Per row, the leave-one-out agreement (:func:`qa_toolkit.annotators.gold.loo_agreement`:
    share of the *other* labels on the task that match); per annotator, its mean over their
    rows and a normal interval over them (:func:`task_mean_ci`). The annotator report and
    the review dashboard both read it.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations (``task``, ``annotator``, ``label``).
    confidence : float, default=0.95
        Level of the interval.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``annotator`` (sorted): ``n_labels``, ``n_tasks``, ``agreement``,
        ``agreement_ci_low``, ``agreement_ci_high``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"),
    ...                    "label": ["x", "x", "y", "y", "y", "y"]})
    >>> annotator_agreement(df)["agreement"].round(2).to_dict()
    {'a': 0.75, 'b': 0.75, 'c': 0.5}
    """
    check_columns(data, ["task", "annotator", "label"], func="annotator_agreement")
    agree = loo_agreement(data).to_numpy()
    who = data["annotator"].to_numpy()  # one conversion of the annotator column
    g = pd.DataFrame({"task": data["task"].to_numpy(), "agree": agree}).groupby(who, sort=True)
    size = g.size()
    out = pd.DataFrame({"n_labels": size, "n_tasks": distinct_per_group(data["annotator"], data["task"], size.index),
                        "agreement": g["agree"].mean()})
    ci = task_mean_ci(pd.Series(agree), who, confidence=confidence)
    out["agreement_ci_low"], out["agreement_ci_high"] = ci["ci_low"].reindex(out.index), ci["ci_high"].reindex(out.index)
    out.index.name = "annotator"
    return out


def others_majority_share(data: pd.DataFrame, target) -> np.ndarray:
    """Per row: 1.0 when ``target`` is (one of) the most frequent labels of the *other* rows of the task.

    NaN where the task has no other row. Used to tell a one-label annotator who was only
    shown one class (the others agree with that label) from a constant-label spammer.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"), "label": list("xxyyx")})
    >>> others_majority_share(df, ["x"] * 5).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0]
    """
    t = np.asarray(pd.factorize(data["task"])[0]).astype(np.int64)
    lab_s, tgt_s = _as_str(data["label"]), _as_str(pd.Series(target, index=data.index))
    codes, _ = pd.factorize(np.concatenate([lab_s, tgt_s]))
    lab, tgt = codes[: len(t)].astype(np.int64), codes[len(t):].astype(np.int64)
    n_codes = int(codes.max()) + 1 if len(codes) else 1
    ok = lab >= 0  # a missing label (astype(str) may keep NaN) counts for nobody, as in a groupby
    # counts per (task, label) on sorted integer keys: no MultiIndex, no per-task Python
    keys, inv, cnt = np.unique(t[ok] * n_codes + lab[ok], return_inverse=True, return_counts=True)
    c_own = np.full(len(t), -1, dtype=np.int64)
    c_own[ok] = cnt[inv.ravel()]
    want = t * n_codes + tgt
    pos = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
    found = (tgt >= 0) & (keys[pos] == want) if len(keys) else np.zeros(len(t), dtype=bool)
    c_tgt = np.where(found, cnt[pos] if len(keys) else 0, 0) - ((lab == tgt) & ok)
    key_task = keys // n_codes
    n_tasks = int(t.max()) + 1 if len(t) else 0
    top = np.zeros(n_tasks, dtype=np.int64)
    if len(keys):
        starts = np.flatnonzero(np.r_[True, key_task[1:] != key_task[:-1]])
        top[key_task[starts]] = np.maximum.reduceat(cnt, starts)
    n_top = np.bincount(key_task, weights=(cnt == top[key_task]), minlength=n_tasks)
    n = np.bincount(t, minlength=n_tasks)[t]
    # best count among the others: the task's top count, minus one when the row holds the unique top label
    best = top[t] - ((c_own == top[t]) & (n_top[t] == 1))
    out = np.where(n > 1, (c_tgt >= best) & (c_tgt > 0), np.nan)
    return out.astype(float)


def _as_str(values: pd.Series) -> np.ndarray:
    """``values.astype(str)`` as an object array, converting each distinct value once."""
    if _ambiguous(values, safe=("string", "integer", "boolean", "empty")):  # 1 / 1.0 / True, -0.0 / 0.0
        return values.astype(str).to_numpy(dtype=object)
    codes, uniques = pd.factorize(values)
    if (codes < 0).any():  # astype(str) decides what a missing value becomes
        return values.astype(str).to_numpy(dtype=object)
    return np.asarray(pd.Index(uniques).astype(str), dtype=object).take(codes)


def distinct_per_group(groups: pd.Series, values: pd.Series, index: pd.Index) -> pd.Series:
    """``values.groupby(groups).nunique()`` on integer codes, reindexed to ``index`` (0 where absent).

    Missing groups and missing values are not counted, as in the groupby.

    Examples
    --------
    >>> distinct_per_group(pd.Series(list("aab")), pd.Series([1, 1, 2]), pd.Index(["a", "b", "c"])).tolist()
    [1, 1, 0]
    """
    cg, names = pd.factorize(groups)
    cv, uv = pd.factorize(values)
    ok = (cg >= 0) & (cv >= 0)
    pairs = np.sort(cg[ok].astype(np.int64) * max(1, len(uv)) + cv[ok])  # sorted, not hashed: faster
    first = np.r_[True, pairs[1:] != pairs[:-1]] if len(pairs) else np.zeros(0, dtype=bool)
    counts = np.bincount(pairs[first] // max(1, len(uv)), minlength=len(names))
    return pd.Series(counts, index=names).reindex(index, fill_value=0).astype("int64")


def task_mean_ci(values: pd.Series, groups, *, confidence: float = 0.95) -> pd.DataFrame:
    """Normal interval of the mean of ``values`` per group (one value per task): ``mean +- z sd / sqrt(n)``.

    Examples
    --------
    >>> ci = task_mean_ci(pd.Series([1.0, 0.0, 1.0, 0.0]), ["a"] * 4)
    >>> round(float(ci.loc["a", "ci_low"]), 3), round(float(ci.loc["a", "ci_high"]), 3)
    (-0.066, 1.066)
    """
    from scipy.special import ndtri  # = scipy.stats.norm.ppf, without importing scipy.stats

    z = float(ndtri(0.5 + confidence / 2))
    g = pd.Series(np.asarray(values, float)).groupby(np.asarray(groups))
    m, sd, n = g.mean(), g.std(ddof=1), g.count()
    half = z * sd / np.sqrt(n)
    return pd.DataFrame({"mean": m, "ci_low": m - half, "ci_high": m + half, "n": n})


def boot_ci(stat, groups: np.ndarray, n_boot: int, rng, confidence: float) -> tuple[float, float]:
    """Percentile CI of ``stat(weights)`` resampling the task groups ``groups`` (codes 0..G-1)."""
    G = int(groups.max()) + 1 if len(groups) else 0
    if G < 2:
        return np.nan, np.nan
    w = rng.multinomial(G, np.full(G, 1.0 / G), size=n_boot).astype(float)
    vals = np.array([stat(w[b][groups]) for b in range(n_boot)])
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return np.nan, np.nan
    a = (1 - confidence) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def relative_low_agreement(agreement: pd.Series, ci_high: pd.Series, enough: np.ndarray) -> np.ndarray:
    """True where the CI upper bound is below the median agreement of the *other* annotators.

    Parameters
    ----------
    agreement, ci_high : pandas.Series
        Point estimate and upper CI bound per annotator.
    enough : numpy.ndarray of bool
        Annotators with enough data to judge.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> a = pd.Series([.31, .39, .45, .52]); hi = pd.Series([.35, .47, .50, .57])
    >>> relative_low_agreement(a, hi, np.ones(4, bool)).tolist()
    [True, False, False, False]
    """
    a = agreement.to_numpy(float)
    hi = ci_high.to_numpy(float)
    out = np.zeros(len(a), bool)
    for i in range(len(a)):
        others = np.delete(a, i)
        others = others[np.isfinite(others)]
        if enough[i] and len(others) >= 2 and np.isfinite(hi[i]):
            out[i] = hi[i] < float(np.median(others))
    return out
