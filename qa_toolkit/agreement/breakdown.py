"""Agreement broken down per task, per annotator, per label and per annotator pair."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from qa_toolkit._validation import check_option, check_positive_int
from qa_toolkit.agreement._common import EXAMPLE  # noqa: F401
from qa_toolkit.agreement._engine import alpha_batch, multi_pa_pe
from qa_toolkit.agreement._warnings import LowOverlapWarning, warn
from qa_toolkit.agreement._weights import agreement_weights
from qa_toolkit.engines.coding import code_annotations

__all__ = ["per_task", "per_annotator", "per_label", "pairwise", "PAIRWISE_METRICS"]

PAIRWISE_METRICS = ("cohen_kappa", "percent_agreement", "scott_pi", "gwet_ac1", "brennan_prediger")
_PER_LABEL = ("fleiss_kappa", "krippendorff_alpha", "gwet_ac1", "percent_agreement")


def per_task(data: pd.DataFrame, *, categories: Any = None) -> pd.DataFrame:
    """Agreement of each task's labels.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table (a task may have a single label).
    categories : list, optional
        Label set and order (ties for the majority go to the first in this order).

    Returns
    -------
    pandas.DataFrame
        Index ``task``; columns

        - ``n_labels`` (int): labels on the task;
        - ``majority_label``: the modal label (ties: first in ``categories`` order, see
          ``is_tie``);
        - ``agreement`` (float in [0, 1]): share of the task's labels equal to the
          modal label (1 = unanimous; lower = more disputed);
        - ``pairwise_agreement`` (float): share of agreeing annotator pairs (NaN with
          one label);
        - ``vote_entropy`` (float, nats): Shannon entropy of the label shares (0 =
          unanimous; higher = more disputed);
        - ``is_tie`` (bool): several labels share the top count.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import per_task
    >>> per_task(pd.DataFrame(EXAMPLE))[["n_labels", "majority_label", "agreement"]]
          n_labels majority_label  agreement
    task
    1            3              x   1.000000
    2            3              y   1.000000
    3            3              x   0.666667
    4            3              y   0.666667
    """
    coded = code_annotations(data, func="per_task", categories=categories, min_annotators=1, min_pairable=0)
    C = coded.counts.astype(float)
    r = C.sum(axis=1)
    top = C.max(axis=1)
    p = C / r[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
        pair = np.where(r >= 2, (C * (C - 1)).sum(axis=1) / (r * (r - 1)), np.nan)
    return pd.DataFrame(
        {
            "n_labels": r.astype(np.int64),
            "majority_label": np.asarray(coded.categories, dtype=object)[C.argmax(axis=1)],
            "agreement": top / r,
            "pairwise_agreement": pair,
            "vote_entropy": ent + 0.0,
            "is_tie": (C == top[:, None]).sum(axis=1) > 1,
        },
        index=pd.Index(coded.tasks, name="task"),
    )


def per_annotator(data: pd.DataFrame, *, categories: Any = None) -> pd.DataFrame:
    """Each annotator's agreement with the other annotators (leave-one-out).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    categories : list, optional
        Label set.

    Returns
    -------
    pandas.DataFrame
        Index ``annotator``; columns

        - ``agreement`` (float in [0, 1]): over the annotator's tasks that others also
          labelled, the share of the *other* annotators' labels equal to theirs
          (pooled over pairs; lower = agrees less with the crowd);
        - ``kappa`` (float): the same, chance-corrected with the annotator's label
          distribution and the others' (Cohen-style, annotator vs. the rest);
        - ``n_tasks`` (int): tasks shared with at least one other annotator;
        - ``n_labels`` (int): all labels the annotator gave.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import per_annotator
    >>> per_annotator(pd.DataFrame(EXAMPLE))["agreement"].round(3).tolist()
    [0.75, 0.625, 0.625]
    """
    coded = code_annotations(data, func="per_annotator", categories=categories)
    C = coded.counts
    r = C.sum(axis=1)
    t, a, l = coded.t, coded.a, coded.l  # noqa: E741
    A, K = len(coded.annotators), len(coded.categories)
    others = (r[t] - 1).astype(float)
    agree = (C[t, l] - 1).astype(float)
    shared = others > 0
    n_pairs = np.bincount(a, weights=others, minlength=A)
    n_agree = np.bincount(a, weights=agree, minlength=A)
    n_tasks = np.bincount(a, weights=shared, minlength=A)
    # chance: own label shares (on shared tasks) x others' label shares on those tasks
    own = np.bincount(a[shared] * K + l[shared], minlength=A * K).reshape(A, K).astype(float)
    # others' labels on the annotator's shared tasks: all labels there minus the annotator's own
    rows = np.flatnonzero(shared)
    oth = np.column_stack([np.bincount(a[rows], weights=C[t[rows], k], minlength=A) for k in range(K)]) - own
    return _per_annotator_frame(n_pairs, n_agree, n_tasks, own, oth, np.bincount(a, minlength=A), coded.annotators)


def _per_annotator_frame(n_pairs, n_agree, n_tasks, own, oth, n_labels, annotators) -> pd.DataFrame:
    """The :func:`per_annotator` table from its sums (shared with the out-of-core engines)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        po = n_agree / n_pairs
        pe = ((own / own.sum(axis=1, keepdims=True)) * (oth / oth.sum(axis=1, keepdims=True))).sum(axis=1)
        kappa = np.where(pe < 1, (po - pe) / (1 - pe), np.nan)
    return pd.DataFrame(
        {"agreement": po, "kappa": kappa, "n_tasks": np.asarray(n_tasks).astype(np.int64),
         "n_labels": np.asarray(n_labels).astype(np.int64)},
        index=pd.Index(annotators, name="annotator"),
    )


def per_label(
    data: pd.DataFrame,
    *,
    metric: str = "fleiss_kappa",
    n_boot: int = 200,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    categories: Any = None,
) -> pd.DataFrame:
    """Category-specific agreement: each label against the rest (binary).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    metric : {'fleiss_kappa', 'krippendorff_alpha', 'gwet_ac1', 'percent_agreement'}, default='fleiss_kappa'
        Coefficient computed on the label-vs-rest counts.
    n_boot : int, default=200
        Bootstrap replicates for ``ci_low``/``ci_high`` (all labels share the resamples).
    confidence : float, default=0.95
        Coverage of the interval.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the resampling.
    categories : list, optional
        Label set and order.

    Returns
    -------
    pandas.DataFrame
        Index ``label``; columns ``value``, ``ci_low``, ``ci_high``,
        ``specific_agreement`` (Fleiss 1971's proportion of specific agreement: given one
        annotator chose the label, the chance another did too), ``prevalence`` (share
        of all labels), ``n_labels``, ``n_tasks``, ``n_pairable``.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import per_label
    >>> per_label(pd.DataFrame(EXAMPLE), n_boot=50, random_state=0)["specific_agreement"].round(3).tolist()
    [0.667, 0.667]
    """
    check_option("metric", metric, _PER_LABEL, func="per_label")
    check_positive_int("n_boot", n_boot, minimum=2, func="per_label")
    from qa_toolkit._validation import check_random_state
    from qa_toolkit.agreement.bootstrap import pattern_weights, patterns

    rng = check_random_state(random_state)
    coded = code_annotations(data, func="per_label", categories=categories)
    C = coded.counts
    r = C.sum(axis=1)
    Cu, mult = patterns(C)  # distinct count rows: the replicates are multinomial draws over them
    ru = Cu.sum(axis=1)
    wts = np.vstack([mult[None, :].astype(float), pattern_weights(rng, mult, n_boot)])
    kind = {"fleiss_kappa": "fleiss", "gwet_ac1": "gwet", "percent_agreement": "percent"}.get(metric)
    rows = []
    for k, lab in enumerate(coded.categories):
        B = np.column_stack([Cu[:, k], ru - Cu[:, k]])
        if metric == "krippendorff_alpha":
            vals, _ = alpha_batch(B, lambda nc: np.broadcast_to(1 - np.eye(2), (nc.shape[0], 2, 2)), wts)
        else:
            pa, pe = multi_pa_pe(kind, B, np.eye(2), wts)
            with np.errstate(divide="ignore", invalid="ignore"):
                vals = pa if kind == "percent" else (pa - pe) / (1 - pe)
        reps = vals[1:][np.isfinite(vals[1:])]
        lo, hi = (np.quantile(reps, [0.5 - confidence / 2, 0.5 + confidence / 2]) if len(reps) else (np.nan, np.nan))
        pairable = r >= 2
        num = (C[pairable, k] * (C[pairable, k] - 1)).sum()
        den = (C[pairable, k] * (r[pairable] - 1)).sum()
        rows.append({"label": lab, "value": float(vals[0]), "ci_low": float(lo), "ci_high": float(hi),
                     "specific_agreement": num / den if den else np.nan,
                     "prevalence": C[:, k].sum() / r.sum(), "n_labels": int(C[:, k].sum()),
                     "n_tasks": int((C[:, k] > 0).sum()), "n_pairable": int(pairable.sum())})
    return pd.DataFrame(rows).set_index("label")


def _indicators(coded, A: int, T: int):
    K = len(coded.categories)
    X = [sparse.csr_matrix((np.ones(int((coded.l == k).sum())), (coded.a[coded.l == k], coded.t[coded.l == k])),
                           shape=(A, T)) for k in range(K)]
    M = sparse.csr_matrix((np.ones(len(coded.a)), (coded.a, coded.t)), shape=(A, T))
    return X, M


_DENSE_PAIR_CELLS = 4_000_000


def _pairs_dense(coded, W: np.ndarray):
    """All within-task label pairs at once, one bincount into (A, A, K, K) confusions."""
    A, K = len(coded.annotators), len(coded.categories)
    if bool((coded.t[1:] >= coded.t[:-1]).all()):  # already grouped by task: no sort
        ts, key = coded.t, coded.a.astype(np.int64)
        key *= K
        key += coded.l
    else:
        order = np.argsort(coded.t, kind="stable")
        ts = coded.t[order]
        key = coded.a[order].astype(np.int64)
        key *= K
        key += coded.l[order]  # a * K + l: ordering by key orders by annotator
        del order
    AK = A * K
    conf = np.zeros(AK * AK, dtype=np.int64)
    r_max = int(coded.counts.sum(axis=1).max())
    for d in range(1, r_max):
        same = ts[d:] == ts[:-d]
        k1, k2 = key[:-d][same], key[d:][same]
        lo = np.minimum(k1, k2)
        np.maximum(k1, k2, out=k2)
        del k1
        lo *= AK
        lo += k2
        conf += np.bincount(lo, minlength=len(conf))
    conf = conf.reshape(A, K, A, K).transpose(0, 2, 1, 3)  # (a_lo, a_hi, l_lo, l_hi)
    n_all = conf.sum(axis=(2, 3))
    ia, ib = np.nonzero(np.triu(n_all, 1))
    c = conf[ia, ib].astype(float)  # (P, K, K), rows: annotator ia
    n = n_all[ia, ib].astype(float)
    po = (c * W[None]).sum(axis=(1, 2))
    return ia, ib, n, po, c.sum(axis=2), c.sum(axis=1)


def _pairs_sparse(coded, W: np.ndarray):
    """Sparse products for many annotators: X_k X_l', M M' and X_k M'."""
    A, T, K = len(coded.annotators), len(coded.tasks), len(coded.categories)
    X, M = _indicators(coded, A, T)
    MT = M.T.tocsr()
    XT = [x.T.tocsr() for x in X]
    N = (M @ MT).tocoo()
    keep = N.row < N.col
    ia, ib, n = N.row[keep], N.col[keep], N.data[keep].astype(float)
    po = np.zeros(len(ia))
    marg_a = np.zeros((len(ia), K))
    marg_b = np.zeros((len(ia), K))
    for k in range(K):
        S = X[k] @ MT
        marg_a[:, k] = np.asarray(S[ia, ib]).ravel()
        marg_b[:, k] = np.asarray(S[ib, ia]).ravel()
        for j in range(K):
            if W[k, j] != 0:
                po += W[k, j] * np.asarray((X[k] @ XT[j])[ia, ib]).ravel()
    return ia, ib, n, po, marg_a, marg_b


def pairwise(
    data: pd.DataFrame,
    *,
    metric: str = "cohen_kappa",
    weights: Any = None,
    min_overlap: int = 10,
    categories: Any = None,
) -> pd.DataFrame:
    """A two-rater coefficient for every pair of annotators, with the overlap.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    metric : {'cohen_kappa', 'percent_agreement', 'scott_pi', 'gwet_ac1', 'brennan_prediger'}, default='cohen_kappa'
        Two-rater coefficient, computed on the tasks both annotators labelled.
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        Agreement weights.
    min_overlap : int, default=10
        Pairs sharing fewer tasks get ``value`` NaN (``n`` is still reported).
    categories : list, optional
        Label set and order (shared by all pairs).

    Returns
    -------
    pandas.DataFrame
        One row per unordered pair that shares at least one task: columns
        ``annotator_a``, ``annotator_b`` (a < b), ``value``, ``n`` (shared tasks),
        ``observed`` (raw agreement on them). Pivot it, or use
        :func:`qa_toolkit.plotting.agreement.plot_pairwise_heatmap`.

    Notes
    -----
    All pairs at once. With few annotators, every within-task pair of labels goes
    into one ``bincount`` giving all (annotator, annotator, label, label) confusions;
    with many, ``X_k`` (sparse annotator x task indicator of label k) and ``M`` (any
    label) give the agreeing counts ``X_k X_l'``, the overlaps ``M M'`` and each
    annotator's marginals on the shared tasks ``X_k M'``. Gwet's q is the table's
    label count for 'gwet_ac1' and 'brennan_prediger'.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import pairwise
    >>> pairwise(pd.DataFrame(EXAMPLE), min_overlap=2)[["annotator_a", "annotator_b", "value", "n"]]
      annotator_a annotator_b  value  n
    0           a           b    0.5  4
    1           a           c    0.5  4
    2           b           c    0.2  4
    """
    check_option("metric", metric, PAIRWISE_METRICS, func="pairwise")
    min_overlap = check_positive_int("min_overlap", min_overlap, func="pairwise")
    coded = code_annotations(data, func="pairwise", categories=categories)
    A, K = len(coded.annotators), len(coded.categories)
    W = agreement_weights(weights, coded.categories, func="pairwise")  # issue 10: label values
    if A * A * K * K <= _DENSE_PAIR_CELLS:
        ia, ib, n, po, marg_a, marg_b = _pairs_dense(coded, W)
    else:
        ia, ib, n, po, marg_a, marg_b = _pairs_sparse(coded, W)
    return _pairwise_frame(ia, ib, n, po, marg_a, marg_b, coded.annotators, W, metric=metric, min_overlap=min_overlap)


def _pairwise_frame(ia, ib, n, po, marg_a, marg_b, annotators, W, *, metric: str, min_overlap: int) -> pd.DataFrame:
    """The :func:`pairwise` table from per-pair sums (shared with the out-of-core engines)."""
    K = len(W)
    po = po / n
    pa_, pb_ = marg_a / n[:, None], marg_b / n[:, None]
    if metric == "cohen_kappa":
        pe = np.einsum("pk,kl,pl->p", pa_, W, pb_)
    elif metric == "scott_pi":
        pool = (pa_ + pb_) / 2
        pe = np.einsum("pk,kl,pl->p", pool, W, pool)
    elif metric == "gwet_ac1":
        pool = (pa_ + pb_) / 2
        pe = W.sum() / (K * (K - 1)) * (pool * (1 - pool)).sum(axis=1) if K > 1 else np.ones(len(n))
    elif metric == "brennan_prediger":
        pe = np.full(len(n), W.sum() / K**2)
    else:
        pe = np.zeros(len(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(pe < 1 - 1e-12, (po - pe) / (1 - pe), np.nan)
    low = n < min_overlap
    value[low] = np.nan
    if low.any():
        warn(LowOverlapWarning, f"pairwise: {int(low.sum())} of {len(n)} annotator pairs share fewer than "
             f"min_overlap={min_overlap} tasks; their value is NaN.")
    order = np.lexsort((ib, ia))
    ann = np.asarray(annotators, dtype=object)
    return pd.DataFrame({"annotator_a": ann[ia[order]], "annotator_b": ann[ib[order]], "value": value[order],
                         "n": n[order].astype(np.int64), "observed": po[order]})


