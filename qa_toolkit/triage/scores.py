"""Triage scores: model uncertainty, human-vote uncertainty, and the visible ranking step.

Every score function returns one float per task in [0, 1] where **higher = more
uncertain** (review first). Ordering is a separate step, :func:`rank_for_review`,
which can mix in random exploration under a ``random_state`` so a queue is
reproducible. Vote counts come from the one vote kernel, :mod:`qa_toolkit.vote`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns, check_fraction, check_random_state
from qa_toolkit.vote import VoteCounts, plurality_index, vote_counts

__all__ = [
    "entropy_score",
    "margin_score",
    "least_confidence_score",
    "vote_table",
    "vote_scores",
    "rank_for_review",
    "check_probs",
]


def check_probs(pred_probs, func: str) -> pd.DataFrame:
    """Validate a task x label probability table (or array); return it as a DataFrame."""
    if isinstance(pred_probs, np.ndarray):
        pred_probs = pd.DataFrame(pred_probs)
    if not isinstance(pred_probs, pd.DataFrame):
        raise QAInputError(
            f"The 'pred_probs' parameter of {func} must be a DataFrame (task x label) of probabilities. "
            f"Got {type(pred_probs).__name__} instead."
        )
    values = pred_probs.to_numpy(dtype=float)
    if values.ndim != 2 or values.shape[1] < 2:
        raise QAInputError(f"The 'pred_probs' parameter of {func} needs at least 2 label columns. Got shape {values.shape}.")
    if np.isnan(values).any() or (values < 0).any() or not np.allclose(values.sum(axis=1), 1.0, atol=1e-3):
        raise QAInputError(
            f"The 'pred_probs' parameter of {func} must hold probabilities: non-negative, no NaN, rows summing to 1."
        )
    return pred_probs


def entropy_score(pred_probs) -> pd.Series:
    """Normalised Shannon entropy of each row: 0 = certain, 1 = uniform. Higher = more uncertain.

    Parameters
    ----------
    pred_probs : pandas.DataFrame of shape (n_tasks, n_labels)
        Probabilities (model outputs, Dawid-Skene posteriors, or vote shares).

    Returns
    -------
    pandas.Series
        Indexed like ``pred_probs``, name ``entropy_score``.

    Examples
    --------
    >>> p = pd.DataFrame({"cat": [1.0, 0.5], "dog": [0.0, 0.5]}, index=["t1", "t2"])
    >>> entropy_score(p).tolist()
    [0.0, 1.0]
    """
    p = check_probs(pred_probs, "entropy_score")
    v = p.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nansum(np.where(v > 0, v * np.log(v), 0.0), axis=1)
    return pd.Series(np.abs(h) / np.log(v.shape[1]), index=p.index, name="entropy_score").clip(0.0, 1.0)


def margin_score(pred_probs) -> pd.Series:
    """One minus the gap between the two most likely labels. Higher = more uncertain.

    Parameters
    ----------
    pred_probs : pandas.DataFrame of shape (n_tasks, n_labels)
        Probabilities.

    Returns
    -------
    pandas.Series
        Indexed like ``pred_probs``, name ``margin_score``, in [0, 1].

    Examples
    --------
    >>> p = pd.DataFrame({"cat": [0.9, 0.5], "dog": [0.1, 0.5]})
    >>> margin_score(p).round(2).tolist()
    [0.2, 1.0]
    """
    p = check_probs(pred_probs, "margin_score")
    s = np.sort(p.to_numpy(dtype=float), axis=1)
    return pd.Series(1.0 - (s[:, -1] - s[:, -2]), index=p.index, name="margin_score")


def least_confidence_score(pred_probs) -> pd.Series:
    """``(1 - max p) * K / (K - 1)``, scaled to [0, 1]. Higher = more uncertain.

    On Dawid-Skene ``posteriors_`` this is the posterior uncertainty of the consensus.

    Parameters
    ----------
    pred_probs : pandas.DataFrame of shape (n_tasks, n_labels)
        Probabilities (model outputs or posteriors).

    Returns
    -------
    pandas.Series
        Indexed like ``pred_probs``, name ``least_confidence_score``, in [0, 1].

    Examples
    --------
    >>> p = pd.DataFrame({"a": [1.0, 0.5], "b": [0.0, 0.25], "c": [0.0, 0.25]})
    >>> least_confidence_score(p).tolist()
    [0.0, 0.75]
    """
    p = check_probs(pred_probs, "least_confidence_score")
    v = p.to_numpy(dtype=float)
    k = v.shape[1]
    return pd.Series((1.0 - v.max(axis=1)) * k / (k - 1), index=p.index, name="least_confidence_score")


def vote_table(data: pd.DataFrame, *, func: str = "vote_scores") -> pd.DataFrame:
    """Per task, from the one vote kernel: counts, plurality (ties stated), runner-up, agreement.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table with ``task`` and ``label`` (one row = one vote).
    func : str, default='vote_scores'
        Name of the calling function, for error messages.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task``: ``n_labels`` (votes), ``majority_label`` (lowest label in sorted
        order on a tie), ``majority_count``, ``n_tied`` and ``is_tie`` (labels sharing the
        top count), ``runner_up``, ``runner_up_count``, ``n_distinct``, ``agreement``
        (pairwise percent agreement), ``vote_entropy``, ``labels`` ("x:2, y:1") and
        ``split`` ("2/1").
    """
    out, vc, order = _vote_numbers(data, func=func)
    out["labels"], out["split"] = _vote_strings(vc, order, out["n_distinct"].to_numpy())
    return out


def _vote_numbers(data: pd.DataFrame, *, func: str) -> tuple[pd.DataFrame, VoteCounts, np.ndarray]:
    """:func:`vote_table` without the ``labels`` / ``split`` text, the counts, and each task's labels in order.

    ``order[i]`` lists task ``i``'s label columns by count (descending), ties by label (the
    order of :meth:`~qa_toolkit.vote.VoteCounts.long`); its first ``n_distinct[i]`` entries
    are the labels the task received. Issue 14: read from the dense counts, no tidy table.
    """
    vc = vote_counts(data, func=func)
    c = vc.counts.astype(float)
    idx, n_tied = plurality_index(vc.counts, ties="lowest")
    n = c.sum(axis=1)
    out = pd.DataFrame({"n_labels": vc.counts.sum(axis=1)}, index=vc.tasks)
    out["majority_label"] = vc.labels.take(np.maximum(idx, 0))
    out["majority_count"] = vc.counts.max(axis=1)
    out["n_tied"] = n_tied
    out["is_tie"] = n_tied > 1
    order = np.argsort(-vc.counts, axis=1, kind="stable")  # count desc, then label: stable on the label columns
    rows = np.arange(len(out))
    if vc.counts.shape[1] > 1:
        c2 = vc.counts[rows, order[:, 1]]
        runner = np.asarray(vc.labels, dtype=object)[order[:, 1]]
    else:
        c2, runner = np.zeros(len(out), dtype=np.int64), np.full(len(out), np.nan, dtype=object)
    runner = np.where(c2 > 0, runner, np.nan)
    out["runner_up"] = pd.Series(runner, index=out.index, dtype=object)
    out["runner_up_count"] = c2.astype(int)
    out["n_distinct"] = (vc.counts > 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["agreement"] = np.where(n > 1, (c * (c - 1)).sum(axis=1) / (n * (n - 1)), np.nan)
        share = c / n[:, None]
        ent = -np.where(c > 0, share * np.log(np.where(c > 0, share, 1.0)), 0.0).sum(axis=1)
    out["vote_entropy"] = ent / np.log(max(2, len(vc.labels)))
    return out, vc, order


def _vote_strings(vc: VoteCounts, order: np.ndarray, n_distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per task "x:2, y:1" and "2/1": its labels in ``order`` with their counts.

    Tasks with the same (label, count) sequence share their text: each distinct sequence is
    written once, one position at a time (a task has at most as many positions as labels).
    """
    width = int(n_distinct.max()) if len(n_distinct) else 0
    cols = order[:, :width]
    got = vc.counts[np.arange(len(n_distinct))[:, None], cols]  # counts by position; 0 past n_distinct
    n_uniq = np.unique(got[got > 0])
    n_codes = np.searchsorted(n_uniq, got)
    K = vc.counts.shape[1]
    base = K * len(n_uniq) + 1  # one digit per position; 0 = no item there
    rep, back = np.arange(len(n_distinct)), None
    if width and float(base) ** width < 2.0**62:
        key = np.zeros(len(n_distinct), dtype=np.int64)
        for j in range(width):
            item = np.where(n_distinct > j, cols[:, j].astype(np.int64) * len(n_uniq) + n_codes[:, j] + 1, 0)
            key = key * base + item
        _, rep, back = np.unique(key, return_index=True, return_inverse=True)
    n_txt = np.array([str(x) for x in n_uniq], dtype=object)
    lab_txt = np.asarray(pd.Series(vc.labels).astype(str), dtype=object)
    labels = np.full(len(rep), "", dtype=object)
    split = np.full(len(rep), "", dtype=object)
    for j in range(width):
        has = np.flatnonzero(n_distinct[rep] > j)
        at = rep[has]
        labels[has] = labels[has] + ("" if j == 0 else ", ") + lab_txt.take(cols[at, j]) + ":" + n_txt.take(n_codes[at, j])
        split[has] = split[has] + ("" if j == 0 else "/") + n_txt.take(n_codes[at, j])
    if back is not None:
        labels, split = labels.take(back.ravel()), split.take(back.ravel())
    return labels, split


def vote_scores(data: pd.DataFrame) -> pd.DataFrame:
    """Uncertainty of the human votes per task. Higher = more uncertain.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task``: ``n_labels``, ``majority_label``, ``agreement`` (pairwise
        percent agreement, NaN with one label), ``vote_entropy`` (entropy of the vote
        shares over log of the number of labels in the table) and ``disagreement``
        (1 - majority share).

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"),
    ...                    "label": ["x", "x", "y", "x", "x"]})
    >>> vote_scores(df)["disagreement"].round(3).tolist()
    [0.333, 0.0]
    """
    check_columns(data, ["task", "annotator", "label"], func="vote_scores")
    v = vote_table(data)
    v["disagreement"] = 1.0 - v["majority_count"] / v["n_labels"]
    return v[["n_labels", "majority_label", "agreement", "vote_entropy", "disagreement"]]


def rank_for_review(scores: pd.Series, *, explore: float = 0.0, random_state=None) -> pd.DataFrame:
    """Order tasks by score (highest first), optionally mixing in random picks.

    Each queue position is, with probability ``explore``, given to a task drawn at
    random from the whole pool instead of the next best one, so that a share of review
    effort checks the ranking itself. Same ``random_state`` -> same queue.

    Parameters
    ----------
    scores : pandas.Series
        One score per task (higher = review first), indexed by task. NaN ranks last.
    explore : float, default=0.0
        Share of positions filled at random, in [0, 1].
    random_state : int, numpy.random.Generator or None
        Seeds the exploration draw; the same seed gives the same queue.

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``score``, ``rank`` (1 = first) and ``explored`` (bool), in
        queue order.

    Examples
    --------
    >>> s = pd.Series([0.2, 0.9, 0.5], index=["a", "b", "c"])
    >>> rank_for_review(s)["task"].tolist()
    ['b', 'c', 'a']
    """
    if not isinstance(scores, pd.Series):
        raise QAInputError(f"The 'scores' parameter of rank_for_review must be a pandas Series indexed by task. Got {type(scores).__name__}.")
    explore = check_fraction("explore", explore, func="rank_for_review")
    rng = check_random_state(random_state)
    n = len(scores)
    order = np.lexsort((np.arange(n), -np.nan_to_num(scores.to_numpy(dtype=float), nan=-np.inf)))
    explored = np.zeros(n, dtype=bool)
    if explore > 0 and n:
        slots = rng.random(n) < explore
        m = int(slots.sum())
        picks = rng.choice(n, size=m, replace=False)
        rest = order[~np.isin(order, picks)]
        queue = np.empty(n, dtype=int)
        queue[slots] = picks
        queue[~slots] = rest
        order, explored = queue, slots
    return pd.DataFrame({
        "task": scores.index.to_numpy()[order],
        "score": scores.to_numpy(dtype=float)[order],
        "rank": np.arange(1, n + 1),
        "explored": explored,
    })
