"""Coding compact integer ids in linear time (internal).

Issue 14: tables whose ``task`` and ``label`` columns are integers in a compact range (the
usual shape of large crowdsourcing exports after an id mapping) are coded without any
hashing or presence pass: the task x label counts are one ``bincount`` over the raw range,
and unused tasks or labels are dropped from the (small) count matrix afterwards. Integer
annotator ids are kept as raw 0-based codes and resolved only when a coefficient reads
them (:class:`~qa_toolkit.engines.coding.Coded`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = ["int_range", "range_codes", "sorted_codes", "compact_counts", "CompactTable", "compact_table"]


def int_range(v: np.ndarray, limit: int) -> tuple[int, int] | None:
    """``(lo, hi)`` of an integer array whose range ``hi - lo`` is below ``limit``, else None."""
    if v.dtype.kind not in "iu" or not len(v):
        return None
    lo, hi = int(v.min()), int(v.max())
    return (lo, hi) if hi - lo < limit else None


def range_codes(v: np.ndarray, lo: int, n_range: int) -> np.ndarray:
    """``v - lo`` as integer codes (``v`` itself, no copy, when it is int32/int64 and ``lo`` is 0)."""
    if lo == 0 and v.dtype.kind == "i" and v.dtype.itemsize >= 4:
        return v
    return np.subtract(v, lo, dtype=np.int32 if n_range < 2**31 else np.int64, casting="unsafe")


def sorted_codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Sorted factorisation into int32 codes in linear time (no sort of the rows).

    Integer columns with a compact range use one ``bincount``; anything else is hashed
    (``pd.factorize``; categoricals reuse their codes) and only the uniques are sorted.
    Same codes and uniques as ``pd.factorize(col, sort=True)``; the codes may be the column's
    own array (already compact ids from 0), so copy them before writing.
    """
    # only numpy integer columns are read as an array (text would be copied into Python objects)
    v = col.to_numpy() if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu" else None
    if v is not None and v.dtype.kind in "iu" and len(v):
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= min(4 * len(v) + 1000, 2**31 - 1):
            if lo == 0 and v.dtype.itemsize >= 4:
                present = np.bincount(v, minlength=hi + 1) > 0
                if present.all():  # already compact codes 0..hi: no copy at all
                    return v, pd.Index(np.arange(hi + 1), dtype=v.dtype)
            shifted = np.subtract(v, lo, dtype=np.int32, casting="unsafe")  # range < 4 N + 1000 fits
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            mapping = np.cumsum(present, dtype=np.int32)
            mapping -= 1
            codes = mapping[shifted]
            del shifted
            return codes, pd.Index(np.flatnonzero(present) + lo, dtype=v.dtype)
    codes, uniques = pd.factorize(col, sort=True)
    return (codes.astype(np.int32) if len(uniques) < 2**31 else codes), pd.Index(uniques)


def _label_limit(n: int) -> int:
    """Largest label range (exclusive) coded by range: at most 65,536 and the number of rows."""
    return min(n, 2**16) + 1


def _task_limit(n: int) -> int:
    """Largest task range (exclusive) coded by range."""
    return 4 * n + 1000


def _grid_fits(T: int, K: int, n: int) -> bool:  # noqa: N803
    """Whether the (task range x label range) count grid is small enough to ``bincount``."""
    return T * K <= max(2 * n, 2**22)


def _present_codes(codes: np.ndarray, present: np.ndarray) -> np.ndarray:
    mapping = np.cumsum(present, dtype=np.int32 if len(present) < 2**31 else np.int64)
    mapping -= 1
    return mapping[codes]


class CompactTable(NamedTuple):
    """Codes and counts of a compact integer table (see :func:`compact_table`)."""

    t: np.ndarray
    tasks: pd.Index
    l: np.ndarray  # noqa: E741
    categories: pd.Index
    counts: np.ndarray
    r: np.ndarray
    grouped: bool
    annotator_range: tuple[int, int] | None  # (lo, hi) of integer annotator ids, when scanned
    duplicate: bool | None  # whether a (task, annotator) repeats, when checked in the same pass


def compact_table(t_v: np.ndarray, l_v: np.ndarray, a_v: np.ndarray) -> CompactTable | None:
    """:func:`compact_counts` plus, for large integer tables, the annotator range and the
    duplicate check from the same compiled passes (:mod:`._intkernel`).

    Below ``_intkernel.MIN_ROWS`` rows (or with non-integer annotators) this is the numpy
    path and ``annotator_range`` / ``duplicate`` are None (the caller computes them).
    """
    from qa_toolkit.engines import _intkernel

    n = len(t_v)
    if n < _intkernel.MIN_ROWS or a_v.dtype.kind not in "iu" or t_v.dtype.kind not in "iu" \
            or l_v.dtype.kind not in "iu":
        out = compact_counts(t_v, l_v)
        if out is None:
            return None
        t, tasks, lab, cats, counts, r, grouped = out
        return CompactTable(t, tasks, lab, cats, counts, r, grouped, None, None)
    t_lo, t_hi, l_lo, l_hi, a_lo, a_hi, grouped = _intkernel.scan(t_v, l_v, a_v)
    T, K = t_hi - t_lo + 1, l_hi - l_lo + 1
    if l_hi - l_lo >= _label_limit(n) or t_hi - t_lo >= _task_limit(n) or not _grid_fits(T, K, n):
        return None
    counts, dup = _intkernel.count(t_v, l_v, a_v, t_lo, l_lo, T, K, grouped=grouped)
    t_codes, tasks, l_codes, cats, counts, r = _drop_unused(counts, t_v, l_v, t_lo, t_hi, l_lo, T, K)
    return CompactTable(t_codes, tasks, l_codes, cats, counts, r, grouped, (a_lo, a_hi), dup)


def compact_counts(t_v: np.ndarray, l_v: np.ndarray):
    """Task and label codes and the task x label counts of compact integer columns.

    Returns ``(t, tasks, l, categories, counts, r, grouped)`` or None when the ids are not
    integers in a compact range (the caller then hashes them). ``r`` holds the labels per task;
    ``grouped`` says whether the rows are sorted by task.
    """
    n = len(t_v)
    lr = int_range(l_v, _label_limit(n))
    if lr is None:
        return None
    grouped = t_v.dtype.kind in "iu" and bool((t_v[1:] >= t_v[:-1]).all())  # the usual export order
    if grouped:  # sorted: the range without a min/max pass
        tr = (int(t_v[0]), int(t_v[-1])) if int(t_v[-1]) - int(t_v[0]) < _task_limit(n) else None
    else:
        tr = int_range(t_v, _task_limit(n))
    if tr is None:
        return None
    (t_lo, t_hi), (l_lo, l_hi) = tr, lr
    T, K = t_hi - t_lo + 1, l_hi - l_lo + 1
    if not _grid_fits(T, K, n):
        return None
    flat = np.multiply(t_v, K, dtype=np.int64)
    flat += l_v
    if t_lo * K + l_lo:
        flat -= t_lo * K + l_lo
    counts = np.bincount(flat, minlength=T * K).reshape(T, K)
    del flat
    return (*_drop_unused(counts, t_v, l_v, t_lo, t_hi, l_lo, T, K), grouped)


def _drop_unused(counts: np.ndarray, t_v: np.ndarray, l_v: np.ndarray, t_lo: int, t_hi: int, l_lo: int, T: int,
                 K: int):
    """Codes without gaps: labels and tasks absent from the counts are dropped."""
    has_label = counts[:4096].any(axis=0)  # a label seen in the first tasks is present: no full pass
    if not has_label.all():
        has_label = counts.sum(axis=0) > 0
    if has_label.all():
        l_codes = range_codes(l_v, l_lo, K)
    else:
        counts = counts[:, has_label]
        l_codes = _present_codes(range_codes(l_v, l_lo, K), has_label)
    cats = pd.Index(np.flatnonzero(has_label) + l_lo, dtype=l_v.dtype)
    r = counts @ np.ones(counts.shape[1], dtype=counts.dtype)
    has_task = r > 0
    if has_task.all():
        t_codes = range_codes(t_v, t_lo, T)
        tasks = pd.Index(np.arange(t_lo, t_hi + 1), dtype=t_v.dtype)
    else:
        counts, r = counts[has_task], r[has_task]
        t_codes = _present_codes(range_codes(t_v, t_lo, T), has_task)
        tasks = pd.Index(np.flatnonzero(has_task) + t_lo, dtype=t_v.dtype)
    return t_codes, tasks, l_codes, cats, counts, r
