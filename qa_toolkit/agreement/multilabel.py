"""Multi-label agreement: per-label binary coefficients and alpha with set distances.

Units come from :func:`qa_toolkit.to_units`: one binary unit per (task, label) for
every annotator assigned to the task (present 1 / absent 0), and, with ``sets=True``,
one set-valued unit per task.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qa_toolkit._validation import (
    QAInputError,
    check_option,
    check_positive_int,
    check_random_state,
)

__all__ = ["masi_distance", "jaccard_distance", "set_alpha", "per_label_agreement", "pairwise_per_label", "SET_DISTANCES"]


def jaccard_distance(a: Any, b: Any) -> float:
    """``1 - |a & b| / |a | b|`` (0 for two empty sets).

    Examples
    --------
    >>> jaccard_distance({"a"}, {"a", "b"})
    0.5
    """
    a, b = set(a), set(b)
    u = len(a | b)
    return 0.0 if u == 0 else 1.0 - len(a & b) / u


def masi_distance(a: Any, b: Any) -> float:
    """MASI distance (Passonneau 2006), as ``nltk.metrics.distance.masi_distance``.

    ``1 - J * m`` with J the Jaccard similarity and m = 1 (equal), 2/3 (one contains
    the other), 1/3 (they overlap), 0 (disjoint), as NLTK 3.10 (older NLTK rounded m to
    0.67 / 0.33). Two empty sets are at distance 0.

    Examples
    --------
    >>> round(masi_distance({"a"}, {"a", "b"}), 4)
    0.6667
    """
    a, b = set(a), set(b)
    u = len(a | b)
    if u == 0:
        return 0.0
    i = len(a & b)
    m = 1.0 if a == b else 2 / 3 if (a <= b or b <= a) else 1 / 3 if i > 0 else 0.0
    return 1.0 - i / u * m


def _distance_matrix(sets: list, distance: str) -> np.ndarray:
    labels = sorted({x for s in sets for x in s}, key=str)
    pos = {x: i for i, x in enumerate(labels)}
    S = np.zeros((len(sets), max(len(labels), 1)))
    for k, s in enumerate(sets):
        S[k, [pos[x] for x in s]] = 1
    inter = S @ S.T
    size = S.sum(axis=1)
    union = size[:, None] + size[None, :] - inter
    jac = np.divide(inter, union, out=np.ones_like(inter), where=union > 0)
    if distance == "jaccard":
        return 1.0 - jac
    equal = (inter == size[:, None]) & (inter == size[None, :])
    subset = (inter == np.minimum(size[:, None], size[None, :]))
    m = np.where(equal, 1.0, np.where(subset, 2 / 3, np.where(inter > 0, 1 / 3, 0.0)))
    return np.where(union > 0, 1.0 - jac * m, 0.0)


SET_DISTANCES = {"masi": masi_distance, "jaccard": jaccard_distance}


def _alpha_from_counts(C: sp.csr_matrix, D: np.ndarray, w: np.ndarray | None = None) -> float:
    m = np.asarray(C.sum(axis=1)).ravel()
    keep = m >= 2
    inv = np.zeros(len(m))
    inv[keep] = 1.0 / (m[keep] - 1)
    if w is not None:
        inv = inv * w
    Ck = sp.diags(inv) @ C
    o = (C.T @ Ck).toarray() - np.diag(np.asarray(Ck.sum(axis=0)).ravel())
    n_c = o.sum(axis=1)
    n = n_c.sum()
    Do = (o * D).sum()
    De = (np.outer(n_c, n_c) * D).sum() / (n - 1) if n > 1 else 0.0
    return float(1 - Do / De) if De > 0 else np.nan


def set_alpha(
    units: pd.DataFrame,
    *,
    distance: str = "masi",
    n_boot: int = 0,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Krippendorff's alpha over set-valued units with the MASI or Jaccard distance.

    Parameters
    ----------
    units : pandas.DataFrame
        ``unit, annotator, value`` with set values (``to_units(..., sets=True)``).
    distance : {'masi', 'jaccard'}, default='masi'
        Set distance (Passonneau 2006; Artstein & Poesio 2008, sec. 4.4).
    n_boot : int, default=0
        Bootstrap replicates over units for the interval (0: no interval).
    confidence : float, default=0.95
        Coverage of the interval.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the resampling.

    Returns
    -------
    pandas.DataFrame
        One row, index ``alpha_<distance>``: ``value``, ``ci_low``, ``ci_high``, ``n_units``.

    Examples
    --------
    >>> u = pd.DataFrame({"unit": [0, 0, 1, 1], "annotator": ["a", "b"] * 2,
    ...                   "value": [frozenset("AB"), frozenset("AB"), frozenset("C"), frozenset("C")]})
    >>> set_alpha(u)["value"].item()
    1.0
    """
    check_option("distance", distance, tuple(SET_DISTANCES), func="set_alpha")
    vals = [frozenset(v) for v in units["value"]]
    codes, uniq = pd.factorize(pd.Series(vals, dtype=object))
    ucodes, _ = pd.factorize(units["unit"])
    C = sp.csr_matrix((np.ones(len(codes)), (ucodes, codes)), shape=(ucodes.max() + 1, len(uniq)))
    D = _distance_matrix(list(uniq), distance)
    value = _alpha_from_counts(C, D)
    lo = hi = np.nan
    if n_boot:
        n_boot = check_positive_int("n_boot", n_boot, minimum=2, func="set_alpha")
        rng = check_random_state(random_state)
        n_u = C.shape[0]
        reps = [_alpha_from_counts(C, D, rng.multinomial(n_u, np.full(n_u, 1 / n_u)).astype(float))
                for _ in range(n_boot)]
        q = (1 - confidence) / 2
        lo, hi = np.nanquantile(reps, [q, 1 - q])
    return pd.DataFrame({"value": [value], "ci_low": [lo], "ci_high": [hi], "n_units": [C.shape[0]]},
                        index=pd.Index([f"alpha_{distance}"], name="metric"))


def per_label_agreement(
    units: pd.DataFrame,
    *,
    n_boot: int = 200,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Per-label Krippendorff's alpha and Fleiss' kappa over binary present/absent units.

    Parameters
    ----------
    units : pandas.DataFrame
        Binary multilabel units (``to_units`` of a multilabel field): ``unit``,
        ``annotator``, ``value`` (0/1), ``label``.
    n_boot : int, default=200
        Bootstrap replicates for the intervals (tasks resampled).
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the resampling.

    Returns
    -------
    pandas.DataFrame
        Index ``label``; ``alpha``, ``alpha_ci_low``, ``alpha_ci_high``, ``kappa``
        (Fleiss), ``kappa_ci_low``, ``kappa_ci_high``, ``percent_agreement``,
        ``prevalence`` (share of 1s), ``n_units``; undefined (NaN) where a label is
        never or always chosen.
    """
    import warnings

    from qa_toolkit.agreement.bootstrap import confidence_interval

    if "label" not in units.columns:
        raise QAInputError("per_label_agreement needs binary multilabel units with a 'label' column "
                           "(qa.to_units(data, field=...) of a multilabel field).")
    rng = check_random_state(random_state)
    rows = []
    for lab, g in units.groupby("label", sort=True, observed=True):
        t = pd.DataFrame({"task": g["unit"].to_numpy(), "annotator": g["annotator"].to_numpy(),
                          "label": g["value"].to_numpy()})
        row = {"label": lab, "prevalence": float(t["label"].mean()), "n_units": int(t["task"].nunique())}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, metric in (("alpha", "krippendorff_alpha"), ("kappa", "fleiss_kappa"),
                                 ("percent_agreement", "percent_agreement")):
                try:
                    ci = confidence_interval(t, metric, n_boot=max(n_boot, 2), random_state=rng).iloc[0]
                    row[name] = ci["value"]
                    if name != "percent_agreement":
                        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci["ci_low"], ci["ci_high"]
                except (QAInputError, ValueError, ZeroDivisionError):
                    row[name] = np.nan
        rows.append(row)
    cols = ["alpha", "alpha_ci_low", "alpha_ci_high", "kappa", "kappa_ci_low", "kappa_ci_high",
            "percent_agreement", "prevalence", "n_units"]
    return pd.DataFrame(rows).set_index("label").reindex(columns=cols)


def pairwise_per_label(units: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa of every annotator pair on every label's binary units.

    Parameters
    ----------
    units : pandas.DataFrame
        Binary multilabel units (``to_units`` of a multilabel field).

    Returns
    -------
    pandas.DataFrame
        One row per (``annotator_a``, ``annotator_b``, ``label``): ``kappa`` (Cohen),
        ``n_tasks`` (tasks given to both). NaN where a label is constant for the pair.
    """
    import warnings
    from itertools import combinations

    from qa_toolkit.agreement.kappa import cohen_kappa

    rows = []
    anns = sorted(pd.unique(units["annotator"]), key=str)
    for lab, g in units.groupby("label", sort=True, observed=True):
        t = pd.DataFrame({"task": g["unit"].to_numpy(), "annotator": g["annotator"].to_numpy(),
                          "label": g["value"].to_numpy()})
        for a, b in combinations(anns, 2):
            sub = t.loc[t["annotator"].isin([a, b])]
            n = int((sub.groupby("task")["annotator"].nunique() == 2).sum())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    k = cohen_kappa(sub, annotator_a=a, annotator_b=b)
                except (QAInputError, ValueError):
                    k = np.nan
            rows.append({"annotator_a": a, "annotator_b": b, "label": lab, "kappa": k, "n_tasks": n})
    return pd.DataFrame(rows, columns=["annotator_a", "annotator_b", "label", "kappa", "n_tasks"])
