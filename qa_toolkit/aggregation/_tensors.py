"""Factorised count tensors shared by the aggregators (private).

The long table becomes integer codes (task, annotator, label) and one sparse matrix
``n`` of shape (n_tasks, n_annotators * n_labels) whose cell ``(i, a * L + l)`` counts how
often annotator ``a`` gave label ``l`` to task ``i``. Every EM step is then a sparse
matrix product; nothing loops over tasks or annotators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_columns
from qa_toolkit.engines._intcode import sorted_codes

__all__: list[str] = []


@dataclass(frozen=True)
class _Codes:
    tasks: pd.Index
    annotators: pd.Index
    classes: pd.Index
    t: np.ndarray  # task code per row
    a: np.ndarray  # annotator code per row
    lab: np.ndarray  # label code per row


def _factorize(data: pd.DataFrame, *, func: str, classes=None) -> _Codes:
    """Validate the canonical columns and factorise them (sorted codes)."""
    check_columns(data, ("task", "annotator", "label"), func=func)
    from qa_toolkit.units.kinds import (
        check_label_field,  # layer 2: refuse regions, sets, several fields
    )

    check_label_field(data, func=func)
    if len(data) == 0:
        raise AnnotationFormatError(f"{func}: the annotation table is empty; expected at least one row.")
    for col in ("task", "annotator", "label"):
        bad = data[col].isna().to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            raise AnnotationFormatError(
                f"{func}: field {col!r} is missing (NaN/None) in {int(bad.sum())} row(s) "
                f"(first row positions {rows}); expected a {col} for every row. "
                "validate_annotations(df, errors='warn') drops such rows."
            )
    t, tasks = sorted_codes(data["task"])
    a, annotators = sorted_codes(data["annotator"])
    if classes is None:
        lab, cats = sorted_codes(data["label"])
    else:
        cats = pd.Index(list(classes))
        if cats.has_duplicates:
            raise AnnotationFormatError(f"{func}: the 'classes' parameter has duplicate entries.")
        lab = cats.get_indexer(data["label"])
        if (lab < 0).any():
            unknown = pd.unique(data["label"][lab < 0])[:5].tolist()
            raise AnnotationFormatError(
                f"{func}: label(s) {unknown} in data are not in the 'classes' parameter {list(cats)[:20]}."
            )
    return _Codes(
        pd.Index(tasks, name="task"),
        pd.Index(annotators, name="annotator"),
        pd.Index(cats, name="label"),
        t.astype(np.int64),
        a.astype(np.int64),
        lab.astype(np.int64),
    )


def _count_matrix(c: _Codes) -> sp.csr_matrix:
    """Sparse counts of shape (n_tasks, n_annotators * n_labels)."""
    n_l = len(c.classes)
    ones = np.ones(len(c.t), dtype=np.float64)
    m = sp.csr_matrix(
        (ones, (c.t, c.a * n_l + c.lab)), shape=(len(c.tasks), len(c.annotators) * n_l)
    )
    m.sum_duplicates()
    return m


def _vote_counts(c: _Codes) -> np.ndarray:
    """Dense (n_tasks, n_labels) vote counts."""
    n_t, n_l = len(c.tasks), len(c.classes)
    return np.bincount(c.t * n_l + c.lab, minlength=n_t * n_l).reshape(n_t, n_l).astype(np.float64)


# --------------------------------------------------------------- Dawid-Skene kernels
# DS reads the data only through its sufficient statistics: the (task, annotator, label)
# counts. ``DSCoded`` holds one partition of them (all of each task's rows); the kernels
# below are what every engine runs per partition (in memory: one partition).


@dataclass(frozen=True)
class DSCoded:
    tasks: pd.Index
    # (n_tasks, n_annotators * k + 1) counts; the last column is all ones, so the E-step
    # product adds log pi and the M-step product returns the class sums for free
    m: sp.csr_matrix
    votes: np.ndarray  # (n_tasks, k)
    clamp_idx: np.ndarray  # gold tasks (local positions) and their class codes
    clamp_lab: np.ndarray
    n_annotations: np.ndarray | None = None  # (n_tasks,) rows per task


def _ds_coded(tasks: pd.Index, t: np.ndarray, col: np.ndarray, n: np.ndarray, n_a: int, k: int,
              clamp: tuple[np.ndarray, np.ndarray] | None = None, dtype=np.float64) -> DSCoded:
    n_t = len(tasks)
    t = np.asarray(t, dtype=np.int64)
    col = np.asarray(col, dtype=np.int64)
    n = np.asarray(n, dtype=np.float64)
    if len(t) and bool((t[1:] >= t[:-1]).all()) and n_a * k + 1 < 2**31:
        m = _csr_grouped(t, col, n, n_t, n_a * k, dtype)
    else:
        rows = np.concatenate([t, np.arange(n_t)])
        cols = np.concatenate([col, np.full(n_t, n_a * k)])
        m = sp.csr_matrix((np.concatenate([n, np.ones(n_t)]).astype(dtype), (rows, cols)),
                          shape=(n_t, n_a * k + 1))
        m.sum_duplicates()
    votes = np.bincount(t * k + col % k, weights=n, minlength=n_t * k).reshape(n_t, k)
    empty = np.zeros(0, dtype=np.int64)
    ci, cl = clamp if clamp is not None else (empty, empty)
    return DSCoded(tasks, m, votes, ci, cl, np.bincount(t, weights=n, minlength=n_t))


def _csr_grouped(t: np.ndarray, col: np.ndarray, n: np.ndarray, n_t: int, ones_col: int, dtype) -> sp.csr_matrix:
    """The count matrix of rows grouped by task, built in place (issue 14: no COO sort).

    Task i's entries sit at ``indptr[i]``..``indptr[i + 1] - 2`` in row order, its ones column
    last; row r of task ``t_r`` lands at ``r + t_r`` (one ones slot per earlier task). A
    (task, annotator, label) repeated in several rows stays several entries (products sum them).
    """
    per = np.bincount(t, minlength=n_t)
    indptr = np.zeros(n_t + 1, dtype=np.int64)
    np.cumsum(per + 1, out=indptr[1:])
    pos = np.arange(len(t), dtype=np.int64)
    pos += t
    idx_dtype = np.int32 if len(pos) + n_t < 2**31 else np.int64
    indices = np.empty(len(t) + n_t, dtype=idx_dtype)
    data = np.empty(len(t) + n_t, dtype=dtype)
    indices[pos] = col
    data[pos] = n
    indices[indptr[1:] - 1] = ones_col
    data[indptr[1:] - 1] = 1.0
    return sp.csr_matrix((data, indices, indptr.astype(idx_dtype)), shape=(n_t, ones_col + 1))


def ds_coded_from_codes(c: _Codes, dtype=np.float64) -> DSCoded:
    """In-memory path: per-row codes from :func:`_factorize` as one partition."""
    k, n_a = len(c.classes), len(c.annotators)
    return _ds_coded(c.tasks, c.t, c.a * k + c.lab, np.ones(len(c.t)), n_a, k, dtype=dtype)


def codes_from_triples(tri: pd.DataFrame, *, annotators: pd.Index, classes: pd.Index,
                       gold: pd.Series | None = None, dtype=np.float64) -> DSCoded:
    """One partition of (task, annotator, label, n) counts, coded with the global indexes."""
    t, tasks = pd.factorize(tri["task"], sort=True)
    a = annotators.get_indexer(tri["annotator"])
    lab = classes.get_indexer(tri["label"])
    if (a < 0).any() or (lab < 0).any():  # pragma: no cover - the indexes come from the same data
        raise AnnotationFormatError("DawidSkene.fit: a partition has annotators or labels the others lack.")
    tasks = pd.Index(tasks, name="task")
    clamp = None
    if gold is not None and len(gold):
        g = gold[gold.index.isin(tasks)]
        clamp = (tasks.get_indexer(g.index).astype(np.int64), g.to_numpy().astype(np.int64))
    k = len(classes)
    return _ds_coded(tasks, t, a.astype(np.int64) * k + lab, tri["n"].to_numpy(), len(annotators), k, clamp,
                     dtype=dtype)


def gold_codes(gold, tasks: pd.Index, classes: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Gold labels (a Series by task) as (task position, class code) arrays; tasks not in the
    data are ignored, unknown labels raise."""
    if gold is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if not isinstance(gold, pd.Series):
        raise QAInputError(
            "The 'gold' parameter of DawidSkene.fit must be a pandas Series of labels indexed "
            f"by task. Got {type(gold).__name__} instead."
        )
    g = gold.dropna()
    g = g[g.index.isin(tasks)]
    lab = classes.get_indexer(g.to_numpy())
    if (lab < 0).any():
        unknown = pd.unique(g[lab < 0])[:5].tolist()
        raise AnnotationFormatError(
            f"DawidSkene.fit: gold label(s) {unknown} are not among the labels "
            f"{list(classes)[:20]} (check the dtype: 1 and '1' differ)."
        )
    return tasks.get_indexer(g.index).astype(np.int64), lab.astype(np.int64)


def gold_series(gold, classes: pd.Index, tasks: pd.Index) -> pd.Series | None:
    """Gold labels as class codes indexed by task (for the engines' partitions)."""
    if gold is None:
        return None
    idx, lab = gold_codes(gold, tasks, classes)
    return pd.Series(lab, index=tasks.take(idx))


def _clamp(c: DSCoded, t: np.ndarray) -> np.ndarray:
    if len(c.clamp_idx):
        t[c.clamp_idx] = 0.0
        t[c.clamp_idx, c.clamp_lab] = 1.0
    return t


def initial_posteriors(c: DSCoded, init: str) -> np.ndarray:
    """Majority-vote start: vote shares ('soft') or one-hot majority, ties split ('majority')."""
    votes = c.votes
    if init == "soft":
        t = votes / votes.sum(axis=1, keepdims=True)
    else:
        top = (votes == votes.max(axis=1, keepdims=True)).astype(float)
        t = top / top.sum(axis=1, keepdims=True)
    return _clamp(c, t.astype(c.m.dtype, copy=False))


#: Smallest log-likelihood for which the E-step skips the per-task shift (exp(-700) ~ 1e-304).
_SAFE_LOG = -700.0


def _row_sum(cols: list[np.ndarray]) -> np.ndarray:
    z = cols[0].copy()
    for col in cols[1:]:
        z += col
    return z


def e_step(c: DSCoded, log_pi: np.ndarray, log_theta_obs: np.ndarray) -> tuple[np.ndarray, float]:
    """Posteriors of the true labels and the observed-data log-likelihood.

    ``log_theta_obs`` is ``log theta`` laid out (n_annotators * k_observed, k_true), so
    ``m @ log_theta_obs`` gives ``sum_{a,l} n[i,a,l] log theta[a,j,l]`` for every task.
    """
    dt = c.m.dtype  # float32 halves the memory traffic on large data (see DawidSkene's precision)
    lt = np.vstack([log_theta_obs, log_pi[None, :]]).astype(dt, copy=False)
    t = c.m @ lt  # (n_tasks, k) log pi_j + log P(votes_i | z_i = j)
    cols = [t[:, j] for j in range(t.shape[1])]  # row max / sum as k column ufuncs (no per-row loop)
    if len(t) and float(t.min()) > _SAFE_LOG:
        # issue 14: every log-likelihood is above -700, so exp cannot underflow to 0 and no
        # per-row shift is needed (the shift and the strided row max were half the E-step).
        # Row sums as column adds, not a BLAS product: OpenBLAS threads spinning after a
        # call slow the next sparse product on a 2-core machine.
        np.exp(t, out=t)
        z = _row_sum(cols)
        t /= z[:, None]
        ll = float(np.log(z).sum(dtype=np.float64))  # sum_i log P(votes_i)
        return _clamp(c, t), ll
    top = cols[0].copy()
    for col in cols[1:]:
        np.maximum(top, col, out=top)
    t -= top[:, None]
    np.exp(t, out=t)
    z = _row_sum(cols)
    t /= z[:, None]
    ll = float(top.sum(dtype=np.float64) + np.log(z).sum(dtype=np.float64))  # sum_i log P(votes_i)
    return _clamp(c, t), ll


def m_statistics(c: DSCoded, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M-step sufficient statistics: (n_annotators * k_obs, k_true) expected counts, class sums.

    ``m.T`` is a CSC view: the product streams the tasks once and adds each task's
    posterior into the small (annotator, label) table (4x faster than a CSR transpose,
    which gathers the posteriors in random order).
    """
    S = np.asarray(c.m.T @ t, dtype=np.float64)
    return S[:-1], S[-1]  # the ones column gives sum_i t_i


# ------------------------------------------------------- per-partition steps (picklable)
def _stats_init(part, init: str):
    t = initial_posteriors(part, init).astype(np.float64, copy=False)  # the EM runs in float64
    S, cs = m_statistics(part, t)
    return S, cs, 0.0


def _clamp_codes(part: DSCoded) -> np.ndarray:
    """Per task: the gold class code, or -1 (cached on the partition)."""
    codes = part.__dict__.get("_clamp_codes")
    if codes is None:
        codes = np.full(len(part.tasks), -1, dtype=np.int64)
        codes[part.clamp_idx] = part.clamp_lab
        object.__setattr__(part, "_clamp_codes", codes)
    return codes


def _fused(part: DSCoded, log_pi: np.ndarray, lto: np.ndarray, want_post: bool):
    """E-step + M-step sums in one compiled pass (:mod:`._ds_kernel`)."""
    from qa_toolkit.aggregation._ds_kernel import fused_step

    lt = np.ascontiguousarray(np.vstack([lto, log_pi[None, :]]), dtype=np.float64)
    m = part.m
    layout = part.__dict__.get("_kernel_layout")
    if layout is None:  # checked and narrowed once per partition
        ok = bool((m.indices[m.indptr[1:] - 1] == m.shape[1] - 1).all()) and bool((np.diff(m.indptr) > 0).all())
        if not ok:  # pragma: no cover - _ds_coded always builds it so
            raise AssertionError("Dawid-Skene count matrix rows must end with the ones column")
        # the kernel reads each row's last entry as the ones column; uint16 column indices when
        # they fit and no count array when every count is 1 (the in-memory table) stream fewer bytes
        indices = m.indices.astype(np.uint16) if m.shape[1] <= 2**16 else m.indices
        layout = (indices, bool((m.data == 1).all()))
        object.__setattr__(part, "_kernel_layout", layout)
    indices, unit = layout
    return fused_step(m.indptr, indices, m.data, lt, _clamp_codes(part), want_post=want_post, unit=unit)


#: Count-matrix entries from which a partition runs the compiled step (below, importing numba
#: costs more than it saves; both paths give the same numbers to 1e-12).
KERNEL_MIN_ENTRIES = 2_000_000


def prefetch_kernel(c: _Codes, dtype) -> None:
    """When the coded table will run the compiled step, load it in the background while the
    count matrix is built (:func:`._ds_kernel.prefetch`)."""
    if len(c.t) + len(c.tasks) < KERNEL_MIN_ENTRIES:  # the count matrix's entries, at most
        return
    from qa_toolkit.aggregation._ds_kernel import prefetch

    n_cols = len(c.annotators) * len(c.classes) + 1
    prefetch(len(c.classes), unit=True, index_dtype=np.uint16 if n_cols <= 2**16 else np.int32, data_dtype=dtype)


def _stats_step(part, log_pi: np.ndarray, lto: np.ndarray):
    if part.m.nnz < KERNEL_MIN_ENTRIES:
        t, ll = e_step(part, log_pi, lto)
        S, cs = m_statistics(part, t)
        return S, cs, ll
    S, ll, _ = _fused(part, log_pi, lto, False)
    return S[:-1], S[-1], ll


def _posteriors(part, log_pi: np.ndarray, lto: np.ndarray):
    if part.m.nnz < KERNEL_MIN_ENTRIES:
        t, _ = e_step(part, log_pi, lto)
        t = t.astype(np.float64, copy=False)
    else:
        _, _, t = _fused(part, log_pi, lto, True)
    is_gold = np.zeros(len(part.tasks), dtype=bool)
    is_gold[part.clamp_idx] = True
    return part.tasks, t, part.n_annotations, is_gold
