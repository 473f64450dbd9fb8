"""Compiled one-pass coding of large compact integer tables (internal).

Issue 14: the numpy coding of integer ids reads the rows about five times (min / max per
column, the flat key, the ``bincount``, the duplicate check's key and neighbour
comparisons). For large tables two compiled passes do the same work: :func:`scan` finds
each column's range and whether the rows are grouped by task; :func:`count` fills the
task x label counts and, for grouped rows, compares each row's annotator with the earlier
rows of its task. numba is imported on first use and only above :data:`MIN_ROWS` rows
(below, its import would cost more than it saves).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MIN_ROWS", "scan", "count"]

#: Rows from which the compiled passes replace the numpy ones.
MIN_ROWS = 2_000_000
#: Longest run of one task's rows the duplicate comparison walks (quadratic in the run).
MAX_RUN = 64

_KERNELS: Any = None


def _compile():
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    import numba

    jit = numba.njit(cache=True, nogil=True, error_model="numpy")

    @jit
    def scan_k(t, lab, a):  # pragma: no cover - compiled
        t_lo = t_hi = t[0]
        l_lo = l_hi = lab[0]
        a_lo = a_hi = a[0]
        grouped = True
        prev = t[0]
        for i in range(len(t)):
            x = t[i]
            if x < prev:
                grouped = False
            prev = x
            if x < t_lo:
                t_lo = x
            elif x > t_hi:
                t_hi = x
            y = lab[i]
            if y < l_lo:
                l_lo = y
            elif y > l_hi:
                l_hi = y
            z = a[i]
            if z < a_lo:
                a_lo = z
            elif z > a_hi:
                a_hi = z
        return t_lo, t_hi, l_lo, l_hi, a_lo, a_hi, grouped

    @jit
    def count_k(t, lab, a, t_lo, l_lo, K, counts, check_runs, max_run):  # pragma: no cover - compiled
        # 0: no repeated (task, annotator); 1: one repeats; 2: not checked (a run was too long)
        state = 0 if check_runs else 2
        start = 0
        for i in range(len(t)):
            ti = t[i] - t_lo
            counts[ti * K + (lab[i] - l_lo)] += 1
            if state == 0:
                if i > 0 and t[i] != t[i - 1]:
                    start = i
                if i - start > max_run:
                    state = 2
                    continue
                ai = a[i]
                for j in range(start, i):
                    if a[j] == ai:
                        state = 1
                        break
        return state

    _KERNELS = (scan_k, count_k)
    return _KERNELS


def scan(t: np.ndarray, lab: np.ndarray, a: np.ndarray) -> tuple[int, int, int, int, int, int, bool]:
    """``(t_lo, t_hi, l_lo, l_hi, a_lo, a_hi, grouped)`` of three integer columns in one pass."""
    scan_k, _ = _compile()
    t_lo, t_hi, l_lo, l_hi, a_lo, a_hi, grouped = scan_k(t, lab, a)
    return int(t_lo), int(t_hi), int(l_lo), int(l_hi), int(a_lo), int(a_hi), bool(grouped)


def count(t: np.ndarray, lab: np.ndarray, a: np.ndarray, t_lo: int, l_lo: int, T: int, K: int,
          *, grouped: bool) -> tuple[np.ndarray, bool | None]:
    """The (T, K) task x label counts, and whether a (task, annotator) pair repeats.

    The duplicate answer is only known for rows grouped by task with at most
    :data:`MAX_RUN` labels per task (each row is compared with the earlier rows of its task);
    otherwise it is None and the caller runs the general check.
    """
    _, count_k = _compile()
    counts = np.zeros(T * K, dtype=np.int64)
    state = int(count_k(t, lab, a, t_lo, l_lo, K, counts, grouped, MAX_RUN))
    return counts.reshape(T, K), (None if state == 2 else state == 1)
