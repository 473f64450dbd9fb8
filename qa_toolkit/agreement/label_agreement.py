"""Per-label agreement of a categorical table: specific agreement with a CI, confused pairs.

Moved here from ``qa_toolkit.gate`` (``label_agreement``) and ``qa_toolkit.pilot``
(``confusion_pairs``): both are agreement measures, used by the pilot, the gate and the
report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_columns, check_random_state
from qa_toolkit.table import to_counts

__all__ = ["label_agreement", "confusion_pairs"]


def label_agreement(data: pd.DataFrame, *, confidence: float = 0.95, n_boot: int = 500, random_state=None) -> pd.DataFrame:
    """Specific (per-label) agreement with a task-bootstrap CI.

    For label ``L``, specific agreement is the share of pairs of labels on the same task
    that are both ``L`` among pairs where at least one is ``L``:
    ``sum c_L (c_L - 1) / sum c_L (n - 1)`` with ``c_L`` the task's count of ``L`` and
    ``n`` its number of labels (Uebersax 1982, "positive specific agreement").

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.
    confidence : float, default=0.95
        Level of the percentile interval.
    n_boot : int, default=500
        Bootstrap resamples of tasks.
    random_state : int, numpy.random.Generator or None
        Seeds the bootstrap.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``label``: ``agreement``, ``ci_low``, ``ci_high``, ``n_labels``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xxxy")})
    >>> label_agreement(df, n_boot=50, random_state=0)["agreement"].round(3).tolist()
    [0.667, 0.0]
    """
    check_columns(data, ["task", "annotator", "label"], func="label_agreement")
    rng = check_random_state(random_state)
    c = to_counts(data).to_numpy(dtype=float)
    labels = to_counts(data).columns
    n = c.sum(axis=1, keepdims=True)
    keep = (n[:, 0] > 1)
    c, n = c[keep], n[keep]
    num, den = c * (c - 1), c * (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = num.sum(0) / den.sum(0)
        if len(c):
            w = rng.multinomial(len(c), np.full(len(c), 1.0 / len(c)), size=n_boot).astype(float)
            boot = (w @ num) / (w @ den)
        else:
            boot = np.full((1, len(labels)), np.nan)
    a = (1 - confidence) / 2
    lo = np.nanquantile(boot, a, axis=0) if len(c) else np.full(len(labels), np.nan)
    hi = np.nanquantile(boot, 1 - a, axis=0) if len(c) else np.full(len(labels), np.nan)
    out = pd.DataFrame({"agreement": point, "ci_low": lo, "ci_high": hi, "n_labels": c.sum(0).astype(int)}, index=labels)
    out.index.name = "label"
    return out


def confusion_pairs(data: pd.DataFrame) -> pd.DataFrame:
    """Unordered label pairs given to the same task by different annotators, most frequent first.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.

    Returns
    -------
    pandas.DataFrame
        Columns ``label_a``, ``label_b``, ``n_pairs`` (pairs of disagreeing labels) and
        ``share`` (of all disagreeing pairs).

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": list("abc"), "label": list("xxy")})
    >>> confusion_pairs(df)[["label_a", "label_b", "n_pairs"]].values.tolist()
    [['x', 'y', 2]]
    """
    check_columns(data, ["task", "annotator", "label"], func="confusion_pairs")
    c = to_counts(data)
    labels = c.columns
    m = c.to_numpy(dtype=float)
    co = m.T @ m  # co[i, j] = sum over tasks of c_i * c_j (pairs of labels i, j)
    rows = []
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            if co[i, j] > 0:
                rows.append((labels[i], labels[j], int(co[i, j])))
    out = pd.DataFrame(rows, columns=["label_a", "label_b", "n_pairs"])
    out["share"] = out["n_pairs"] / out["n_pairs"].sum() if len(out) else []
    return out.sort_values("n_pairs", ascending=False, kind="stable").reset_index(drop=True)
