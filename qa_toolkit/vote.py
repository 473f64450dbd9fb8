"""The one vote kernel: label counts per task and the plurality label with a tie policy.

Everything that needs "the most common label" (majority vote, the review queue, the
sampling plan, the annotator report, review consensus) calls :func:`plurality`, so the
answer and its tie handling are the same everywhere. Layer 1: imports only
``qa_toolkit._validation``.

Counting is linear in the rows: task and label are factorised (hash), the pair code
``task * n_labels + label`` is counted with one ``numpy.bincount`` into a dense
``(n_tasks, n_labels)`` array, and the winner is an ``argmax`` per row. There is no
Python loop per task.

Tie policies
------------
``"all"``
    Keep every tied label: one row per (task, tied label).
``"lowest"``
    The smallest tied label in sorted order (deterministic; biased towards low labels).
``"first"``
    The tied label given first in the table's row order (deterministic).
``"random"``
    One tied label drawn uniformly with ``random_state``.
``"none"``
    NA on ties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns, check_option, check_random_state

__all__ = ["TIE_POLICIES", "VoteCounts", "vote_counts", "plurality", "plurality_index"]

TIE_POLICIES = ("all", "lowest", "first", "random", "none")
TiePolicy = Literal["all", "lowest", "first", "random", "none"]


@dataclass(frozen=True)
class VoteCounts:
    """Dense vote counts of one table.

    Attributes
    ----------
    tasks : pandas.Index
        Sorted task ids (row ``i`` of ``counts``).
    labels : pandas.Index
        Sorted labels (column ``j`` of ``counts``).
    counts : numpy.ndarray of int64, shape (n_tasks, n_labels)
        Rows (votes) per task and label.
    first_row : numpy.ndarray of int64, shape (n_tasks, n_labels)
        Position in the input of the first row with that task and label (``n_rows`` where
        there is none); used by the ``"first"`` tie policy.
    """

    tasks: pd.Index
    labels: pd.Index
    counts: np.ndarray
    first_row: np.ndarray

    def long(self) -> pd.DataFrame:
        """Tidy ``task, label, n`` for the non-zero counts, by task then count (desc) then label."""
        t, j = np.nonzero(self.counts)
        n = self.counts[t, j]
        order = np.lexsort((j, -n, t))
        t, j, n = t[order], j[order], n[order]
        return pd.DataFrame({"task": self.tasks.take(t), "label": self.labels.take(j), "n": n})


def vote_counts(data: pd.DataFrame, *, func: str = "vote_counts") -> VoteCounts:
    """Count the rows per (task, label).

    Parameters
    ----------
    data : pandas.DataFrame
        Long table with ``task`` and ``label`` (one row = one vote; NaN labels are not votes).
    func : str, default='vote_counts'
        Name of the calling function, for error messages.

    Returns
    -------
    VoteCounts

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "label": ["x", "y", "y"]})
    >>> vote_counts(df).counts.tolist()
    [[1, 1], [0, 1]]
    """
    check_columns(data, ["task", "label"], func=func)
    d = data[data["label"].notna().to_numpy()] if data["label"].isna().any() else data
    t, tasks = pd.factorize(d["task"], sort=True)
    lab, labels = pd.factorize(d["label"], sort=True)
    n_t, n_l = len(tasks), len(labels)
    if n_t * n_l > 2**31:
        raise QAInputError(f"{func}: {n_t} tasks x {n_l} labels is too many distinct labels for dense vote "
                           "counts; is 'label' a free-text or id column?")
    code = t.astype(np.int64) * n_l + lab
    counts = np.bincount(code, minlength=n_t * n_l).reshape(n_t, n_l)
    first = np.full(n_t * n_l, len(d), dtype=np.int64)
    np.minimum.at(first, code, np.arange(len(d), dtype=np.int64))
    return VoteCounts(tasks=pd.Index(tasks, name="task"), labels=pd.Index(labels), counts=counts,
                      first_row=first.reshape(n_t, n_l))


def plurality_index(counts: np.ndarray, *, ties: TiePolicy = "lowest", random_state=None,
                    first_row: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Winning column per row of a count array, and the number of tied top labels.

    Parameters
    ----------
    counts : numpy.ndarray, shape (n_tasks, n_labels)
        Vote counts (or weights).
    ties : {'lowest', 'first', 'random', 'none'}, default='lowest'
        Tie policy (``'all'`` is handled by :func:`plurality`); ``'none'`` returns -1 on ties.
    random_state : int, numpy.random.Generator or None
        For ``ties='random'``: one uniform draw per cell, so the same seed gives the same
        winners as ``qa_toolkit.aggregation.majority_vote`` always has.
    first_row : numpy.ndarray, optional
        Required for ``ties='first'`` (see :class:`VoteCounts`).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Column index of the winner (-1 for a task without votes or a tie under ``'none'``)
        and the number of labels sharing the top count (0 without votes).
    """
    check_option("ties", ties, ("lowest", "first", "random", "none"), func="plurality")
    counts = np.asarray(counts)
    if counts.shape[1] == 0:
        return np.full(counts.shape[0], -1), np.zeros(counts.shape[0], dtype=int)
    top_n = counts.max(axis=1, keepdims=True)
    top = (counts == top_n) & (top_n > 0)
    n_tied = top.sum(axis=1)
    if ties == "random":
        rng = check_random_state(random_state)
        idx = np.argmax(top * (rng.random(counts.shape) + 1.0), axis=1)
    elif ties == "first":
        if first_row is None:
            raise QAInputError("plurality: ties='first' needs the row order (first_row) of the votes.")
        idx = np.argmin(np.where(top, first_row, np.iinfo(np.int64).max), axis=1)
    else:
        idx = np.argmax(top, axis=1)
    idx = np.where(n_tied > 0, idx, -1)
    if ties == "none":
        idx = np.where(n_tied == 1, idx, -1)
    return idx, n_tied


def plurality(data: pd.DataFrame, *, ties: TiePolicy = "lowest", random_state=None,
              func: str = "plurality") -> pd.DataFrame:
    """The most common label per task, with an explicit tie policy.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table with ``task`` and ``label``; each row is one vote.
    ties : {'all', 'lowest', 'first', 'random', 'none'}, default='lowest'
        See the module docstring.
    random_state : int, numpy.random.Generator or None
        Seeds ``ties='random'``.
    func : str, default='plurality'
        Name of the calling function, for error messages.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task`` (sorted; with ``ties='all'`` a tied task has one row per tied
        label): ``label`` (NA on a tie under ``'none'``), ``count`` (votes of the top
        label), ``n_votes`` (votes on the task), ``n_tied`` (labels sharing the top count)
        and ``is_tie``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "label": ["b", "a", "b", "b", "a"]})
    >>> plurality(df)["label"].tolist()
    ['b', 'a']
    >>> plurality(df, ties="first")["label"].tolist()
    ['b', 'b']
    >>> plurality(df, ties="none")["label"].tolist()
    ['b', nan]
    >>> plurality(df, ties="all").reset_index()[["task", "label"]].values.tolist()
    [[1, 'b'], [2, 'a'], [2, 'b']]
    """
    check_option("ties", ties, TIE_POLICIES, func=func)
    vc = vote_counts(data, func=func)
    n_votes = vc.counts.sum(axis=1)
    top_n = vc.counts.max(axis=1) if vc.counts.shape[1] else np.zeros(len(vc.tasks), dtype=int)
    if ties == "all":
        t, j = np.nonzero((vc.counts == top_n[:, None]) & (top_n[:, None] > 0))
        n_tied = np.bincount(t, minlength=len(vc.tasks))
        return pd.DataFrame({"label": vc.labels.take(j), "count": top_n[t], "n_votes": n_votes[t],
                             "n_tied": n_tied[t], "is_tie": n_tied[t] > 1},
                            index=vc.tasks.take(t))
    idx, n_tied = plurality_index(vc.counts, ties=ties, random_state=random_state, first_row=vc.first_row)
    label = pd.Series(vc.labels.take(np.maximum(idx, 0)), index=vc.tasks, dtype=object)
    label = label.where(idx >= 0) if (idx < 0).any() else label
    return pd.DataFrame({"label": label, "count": top_n, "n_votes": n_votes, "n_tied": n_tied,
                         "is_tie": n_tied > 1}, index=vc.tasks)
