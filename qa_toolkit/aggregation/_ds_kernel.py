"""Dawid-Skene's E- and M-step fused in one compiled pass over the count matrix (private).

Issue 14. The sparse-product EM (``m @ log_theta``, exponentiate and normalise the
(n_tasks, k) posteriors, ``m.T @ t``) streams the data three times per iteration and
allocates two (n_tasks, k) arrays. Here one numba loop visits each task once: it adds the
log-likelihood of the task's labels under every true class (the ones column of the count
matrix adds ``log pi``), normalises (log-sum-exp with the per-task maximum), clamps gold
tasks, and adds the posterior into the M-step sums of the task's (annotator, label)
columns while they are still in cache. Same formulas as
:func:`qa_toolkit.aggregation._tensors.e_step` / ``m_statistics`` (Dawid & Skene 1979,
eq. 2.3-2.5); the tests compare both to 1e-12.

Tasks are cut into a fixed number of blocks that depends on the data only (never on the
machine's core count); each block has its own M-step sums, added in block order, so the
result is the same with 1 or 16 threads. Blocks run on a small thread pool (the compiled
loop releases the GIL).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__: list[str] = []

#: Tasks per block below which a table is not split (thread start-up would dominate).
BLOCK_TASKS = 100_000
#: Tasks per chunk: the E-step's (chunk, k) scratch buffer stays in cache.
CHUNK_TASKS = 8192
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


def _compile(k: int, unit: bool):
    """The two per-block kernels for ``k`` classes (and counts all 1 or not), compiled (or loaded
    from numba's cache) on first use; numba is imported then."""
    key = (k if k <= MAX_CONST_K else 0, bool(unit))
    if key not in _KERNELS:
        _KERNELS[key] = _build(*key)
    return _KERNELS[key]


def _build(K: int, UNIT: bool):  # noqa: N803 - compile-time constants: classes (when > 0), counts all 1
    import numba

    jit = numba.njit(cache=True, nogil=True, error_model="numpy")

    @jit
    def gather(indptr, indices, data, lt, lo, hi, off, out, top):  # pragma: no cover - compiled
        """E-step, first half: out[i] = log pi + sum of log theta over task i's labels, shifted
        by its maximum (kept in top[i]). Each row's last entry is the ones column (log pi)."""
        k = K if K > 0 else lt.shape[1]
        last = lt.shape[0] - 1
        buf = np.empty(k)
        for i in range(lo, hi):
            for j in range(k):
                buf[j] = lt[last, j]
            for p in range(indptr[i], indptr[i + 1] - 1):
                c = indices[p]
                w = 1.0 if UNIT else data[p]  # a constant branch: no read when all counts are 1
                for j in range(k):
                    buf[j] += w * lt[c, j]
            mx = buf[0]
            for j in range(1, k):
                if buf[j] > mx:
                    mx = buf[j]
            top[i - off] = mx
            for j in range(k):
                out[i - off, j] = buf[j] - mx

    @jit
    def scatter(indptr, indices, data, t, clamp, lo, hi, off, S):  # pragma: no cover - compiled
        """E-step, second half (normalise the exponentiated rows, clamp gold tasks), then add
        each posterior into the M-step sums of the task's columns. Returns sum log z_i."""
        k = K if K > 0 else S.shape[1]
        last = S.shape[0] - 1
        ll = 0.0
        prod = 1.0
        for i in range(lo, hi):
            z = 0.0
            for j in range(k):
                z += t[i - off, j]
            prod *= z  # z in [1, k]: 128 factors stay far below the float64 range
            if (i - lo) % 128 == 127:
                ll += np.log(prod)
                prod = 1.0
            for j in range(k):
                t[i - off, j] /= z
            g = clamp[i]
            if g >= 0:
                for j in range(k):
                    t[i - off, j] = 0.0
                t[i - off, g] = 1.0
            for j in range(k):
                S[last, j] += t[i - off, j]  # the ones column: class sums
            for p in range(indptr[i], indptr[i + 1] - 1):
                c = indices[p]
                w = 1.0 if UNIT else data[p]  # a constant branch: no read when all counts are 1
                for j in range(k):
                    S[c, j] += w * t[i - off, j]
        return ll + np.log(prod)

    return gather, scatter


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
    the ones column has the largest index and CSR rows are sorted). The exponential runs in numpy between the two
    compiled halves (numpy's vectorised ``exp`` is 3x faster than a scalar one). ``unit``:
    every count is 1, so ``data`` is not read; ``indices`` may be any integer type (uint16 when
    the columns fit halves the bytes streamed).
    """
    n_t = len(indptr) - 1
    n_cols, k = lt.shape
    gather, scatter = _compile(k, unit)
    post = np.empty((n_t, k)) if want_post else None
    nb = n_blocks(n_t, n_cols, k)
    edges = [int(e) for e in np.linspace(0, n_t, nb + 1).astype(np.int64)]
    sums = [np.zeros((n_cols, k)) for _ in range(nb)]

    def block(b: int) -> float:
        # chunks of CHUNK_TASKS tasks through a small scratch buffer that stays in cache (the
        # posteriors of the whole table are only materialised when they are asked for)
        ll = 0.0
        size = min(CHUNK_TASKS, edges[b + 1] - edges[b])
        scratch = np.empty((size, k))
        top = np.empty(size)
        for lo in range(edges[b], edges[b + 1], CHUNK_TASKS):
            hi = min(lo + CHUNK_TASKS, edges[b + 1])
            out = post[lo:hi] if post is not None else scratch[:hi - lo]
            gather(indptr, indices, data, lt, lo, hi, lo, out, top)
            np.exp(out, out=out)
            ll += float(top[:hi - lo].sum())
            ll += scatter(indptr, indices, data, out, clamp, lo, hi, lo, sums[b])
        return ll

    lls = [block(0)] if nb == 1 else list(_pool().map(block, range(nb)))
    S = sums[0]
    for extra in sums[1:]:
        S += extra
    ll = float(sum(lls))
    return S, ll, post
