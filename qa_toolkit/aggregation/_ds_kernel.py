"""Dawid-Skene's E- and M-step fused in one compiled pass over the count matrix (private).

Issue 14. The sparse-product EM (``m @ log_theta``, exponentiate and normalise the
(n_tasks, k) posteriors, ``m.T @ t``) streams the data three times per iteration and
allocates two (n_tasks, k) arrays. Here one numba loop visits each task once: it
multiplies ``pi`` by ``theta`` of the task's labels for every true class (probability space:
the (n_columns, k) table is exponentiated once per iteration, so no ``exp`` per task; the
product is rescaled by 2^500 when it gets small and a task that underflows all the same is
redone in log space), normalises, clamps gold tasks, and adds the posterior into the M-step
sums of the task's (annotator, label) columns while its indices are still in cache. Same
formulas as :func:`qa_toolkit.aggregation._tensors.e_step` / ``m_statistics`` (Dawid &
Skene 1979, eq. 2.3-2.5); the tests compare both to 1e-12.

Tasks are cut into a fixed number of blocks that depends on the data only (never on the
machine's core count); each block has its own M-step sums, added in block order, so the
result is the same with 1 or 16 threads. Blocks run on a small thread pool (the compiled
loop releases the GIL).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__: list[str] = []

#: Tasks per block below which a table is not split (thread start-up would dominate).
BLOCK_TASKS = 100_000
#: A task's running product is multiplied by HUGE when its largest entry falls below TINY
#: (tasks with hundreds of labels); log z_i then loses RESCALE_BITS * log 2 per rescaling.
RESCALE_BITS = 500
TINY = 2.0 ** -RESCALE_BITS
HUGE = 2.0 ** RESCALE_BITS
_LOG_HUGE = RESCALE_BITS * float(np.log(2.0))
#: Most blocks; each holds its own (n_columns, k) M-step sums.
MAX_BLOCKS = 4
#: Memory allowed for the per-block M-step sums (bytes).
BLOCK_SUMS_BYTES = 64 * 2**20

#: Kernels compiled per number of classes (a constant k lets the compiler unroll the class loops)
#: and per "every count is 1" (the in-memory table: the count array is not read).
_KERNELS: dict[tuple[int, bool], Any] = {}
#: Largest k compiled as a constant; above, one kernel reads k from the arrays.
MAX_CONST_K = 16
_POOL: ThreadPoolExecutor | None = None


_BUILD_LOCK = threading.Lock()


def _compile(k: int, unit: bool):
    """The per-block kernel for ``k`` classes (and counts all 1 or not), compiled (or loaded
    from numba's cache) on first use; numba is imported then."""
    key = (k if k <= MAX_CONST_K else 0, bool(unit))
    with _BUILD_LOCK:
        if key not in _KERNELS:
            _KERNELS[key] = _build(*key)
        return _KERNELS[key]


def prefetch(k: int, *, unit: bool, index_dtype, data_dtype, indptr_dtype=np.int32) -> threading.Thread:
    """Import numba and load the kernel for these argument types in a background thread while
    the caller codes the table (about 1 s in a fresh process: numba's import, its compiler
    start-up and the cached machine code). The first real call then finds it ready; a
    different type only costs the load again, never a different result."""

    def load() -> None:
        try:
            step = _compile(k, unit)
            step(np.array([0, 1], dtype=indptr_dtype), np.array([1], dtype=index_dtype), np.ones(1, dtype=data_dtype),
                 np.ones((2, k)), np.zeros((2, k)), np.full(1, -1, dtype=np.int64), 0, 1, np.zeros((2, k)),
                 np.empty((0, k)), False)
        except Exception:  # pragma: no cover - the real call raises it where the user sees it
            pass

    thread = threading.Thread(target=load, name="qa-ds-prefetch", daemon=True)
    thread.start()
    return thread


def _build(K: int, UNIT: bool):  # noqa: N803 - compile-time constants: classes (when > 0), counts all 1
    import numba

    jit = numba.njit(cache=True, nogil=True, error_model="numpy")

    @jit
    def step(indptr, indices, data, th, lt, clamp, lo, hi, S, post, want_post):  # pragma: no cover - compiled
        """Tasks lo..hi: the E-step in probability space (pi times the product of theta over
        the task's labels, rescaled by 2^RESCALE_BITS when it gets small), normalised, gold
        tasks clamped, then added into the M-step sums of the task's columns while its
        indices are in cache. Returns (sum of log z_i without the rescaling, rescalings).
        A task whose product underflows to 0 anyway (theta below 1e-300) is redone in log
        space from ``lt``."""
        k = K if K > 0 else th.shape[1]
        last = th.shape[0] - 1
        buf = np.empty(k)
        ll = 0.0
        prod = 1.0
        scaled = 0
        for i in range(lo, hi):
            for j in range(k):
                buf[j] = th[last, j]
            end = indptr[i + 1] - 1
            s_i = 0  # this task's rescalings
            for p in range(indptr[i], end):
                c = indices[p]
                if UNIT:
                    for j in range(k):
                        buf[j] *= th[c, j]
                else:
                    w = data[p]
                    if w == 1.0:
                        for j in range(k):
                            buf[j] *= th[c, j]
                    else:
                        for j in range(k):
                            buf[j] *= th[c, j] ** w
                mx = buf[0]
                for j in range(1, k):
                    mx = max(mx, buf[j])
                if mx < TINY:  # keep the product in range (a task with many labels)
                    if mx > 0.0:
                        for j in range(k):
                            buf[j] *= HUGE
                        s_i += 1
            z = 0.0
            for j in range(k):
                z += buf[j]
            if z > 1e-100 and z < 1e100:
                prod *= z  # logs in batches: one log per ~20 tasks instead of one per task
                if prod < 1e-200 or prod > 1e200:
                    ll += np.log(prod)
                    prod = 1.0
                scaled += s_i
            elif z > 0.0 and z < np.inf:
                ll += np.log(z)
                scaled += s_i
            else:  # underflowed to 0 (or nan/inf): log space, shifted by the row maximum; the
                # task's rescalings are dropped with its product
                for j in range(k):
                    buf[j] = lt[last, j]
                for p in range(indptr[i], end):
                    c = indices[p]
                    w = 1.0 if UNIT else data[p]
                    for j in range(k):
                        buf[j] += w * lt[c, j]
                top = buf[0]
                for j in range(1, k):
                    top = max(top, buf[j])
                z = 0.0
                for j in range(k):
                    buf[j] = np.exp(buf[j] - top)
                    z += buf[j]
                ll += top + np.log(z)
            inv = 1.0 / z  # one division per task, not k
            for j in range(k):
                buf[j] *= inv
            g = clamp[i]
            if g >= 0:
                for j in range(k):
                    buf[j] = 0.0
                buf[g] = 1.0
            if want_post:
                for j in range(k):
                    post[i, j] = buf[j]
            for j in range(k):
                S[last, j] += buf[j]  # the ones column: class sums
            for p in range(indptr[i], end):
                c = indices[p]
                if UNIT:
                    for j in range(k):
                        S[c, j] += buf[j]
                else:
                    w = data[p]
                    for j in range(k):
                        S[c, j] += w * buf[j]
        return ll + np.log(prod), scaled

    return step


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, min(MAX_BLOCKS, os.cpu_count() or 1)),
                                   thread_name_prefix="qa-ds")
    return _POOL


def n_blocks(n_tasks: int, n_cols: int, k: int) -> int:
    """Blocks for ``n_tasks`` tasks: a function of the data's shape only (deterministic sums)."""
    by_memory = BLOCK_SUMS_BYTES // max(1, n_cols * k * 8)
    return int(max(1, min(MAX_BLOCKS, n_tasks // BLOCK_TASKS, by_memory)))


def fused_step(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, lt: np.ndarray, clamp: np.ndarray,
               *, want_post: bool, unit: bool = False) -> tuple[np.ndarray, float, np.ndarray | None]:
    """One E-step and the M-step sums: ``(S, loglik, posteriors or None)``.

    ``lt`` is (n_columns, k) float64: ``log theta`` laid out by (annotator, observed label)
    with ``log pi`` as its last row (the count matrix's ones column). ``S`` has the same
    shape: its last row is the class sums. Every row of the count matrix must end with its
    ones-column entry (as :func:`qa_toolkit.aggregation._tensors._ds_coded` builds it:
    the ones column has the largest index and CSR rows are sorted). ``unit``: every count
    is 1, so ``data`` is not read; ``indices`` may be any integer type (uint16 when the
    columns fit halves the bytes streamed).
    """
    n_t = len(indptr) - 1
    n_cols, k = lt.shape
    step = _compile(k, unit)
    th = np.exp(lt)  # the (n_columns, k) table in probability space: no exp per task
    post = np.empty((n_t, k)) if want_post else np.empty((0, k))
    nb = n_blocks(n_t, n_cols, k)
    edges = [int(e) for e in np.linspace(0, n_t, nb + 1).astype(np.int64)]
    sums = [np.zeros((n_cols, k)) for _ in range(nb)]

    def block(b: int) -> float:
        ll, scaled = step(indptr, indices, data, th, lt, clamp, edges[b], edges[b + 1], sums[b], post, want_post)
        return float(ll) - int(scaled) * _LOG_HUGE

    lls = [block(0)] if nb == 1 else list(_pool().map(block, range(nb)))
    S = sums[0]
    for extra in sums[1:]:
        S += extra
    ll = float(sum(lls))
    return S, ll, post if want_post else None
