"""Within-task pair sums for the pairwise and per-annotator tables, bucket by bucket (private).

Issue 14. Out of core, ``agreement_report(engine="duckdb")`` spills the source into task
buckets once (:mod:`qa_toolkit.engines._spill`) for the task x label counts. The pairwise
table (Cohen's kappa per annotator pair) and the per-annotator table need within-task pairs;
they used to be two more DuckDB self-joins on the source (two more reads of it, 3.6x the time
of the counts at 2*10^7 rows). Here each bucket, whose tasks are whole, adds its pairs while
it is in memory:

* per annotator pair (a1 < a2) the (label of a1, label of a2) confusion, in a dense array
  when (annotators x labels)^2 is small, else in a hash map keyed by
  ``((a1 * A + a2) * K + l1) * K + l2`` (a compiled loop over each task's rows);
* per annotator: pairs with others, agreeing pairs, shared tasks per label, and the others'
  labels on its shared tasks (bincounts and one sparse product with the bucket's counts).

The sums are those of the DuckDB queries in :mod:`qa_toolkit.engines._duckdb`
(``duckdb_pair_confusions``, ``duckdb_annotator_sums``); the tables built from them equal
the in-memory ``agreement_report``'s (tests/test_outofcore_spill.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__: list[str] = []

#: Largest (A * K)^2 accumulated as a dense int64 array (32 MiB); above, a hash map.
DENSE_CELLS = 2**22
_KERNELS: dict[str, Any] = {}


def _kernel():
    """The compiled pair loop (numba imported and the kernel compiled, or loaded from its
    cache, on first use)."""
    if "pairs" not in _KERNELS:
        import numba

        @numba.njit(cache=True, nogil=True)
        def pairs(order, starts, a, lab, A, K, dense, table, keyed):  # pragma: no cover - compiled
            """Every within-task row pair, oriented a1 < a2, counted at ((a1 * A + a2) * K + l1)
            * K + l2 in the array ``table`` (``dense``) or the typed dict ``keyed``."""
            for i in range(len(starts) - 1):
                for x in range(starts[i], starts[i + 1]):
                    rx = order[x]
                    for y in range(x + 1, starts[i + 1]):
                        ry = order[y]
                        if a[rx] < a[ry]:
                            key = ((np.int64(a[rx]) * A + a[ry]) * K + lab[rx]) * K + lab[ry]
                        else:
                            key = ((np.int64(a[ry]) * A + a[rx]) * K + lab[ry]) * K + lab[rx]
                        if dense:
                            table[key] += 1
                        else:
                            keyed[key] = keyed.get(key, 0) + 1

        _KERNELS["pairs"] = pairs
    return _KERNELS["pairs"]


class PairSums:
    """Accumulates one bucket after another (``add``, the ``on_bucket`` callback of
    :func:`qa_toolkit.engines._spill.spill_coded`); ``pair_confusions`` gives the pair totals
    in code space, the attributes the per-annotator sums."""

    def __init__(self) -> None:
        self.A = self.K = 0
        self.dense = True
        self._conf: Any = None

    def _start(self, A: int, K: int) -> None:  # noqa: N803
        self.A, self.K = A, K
        import numba
        from numba import types

        self.dense = (A * K) ** 2 <= DENSE_CELLS
        self._conf = np.zeros((A * K) ** 2 if self.dense else 0, dtype=np.int64)
        self._keyed = numba.typed.Dict.empty(key_type=types.int64, value_type=types.int64)
        self.n_pairs = np.zeros(A)  # sum over the annotator's rows of (labels on the task - 1)
        self.n_agree = np.zeros(A)  # ... of (labels equal to its own on the task - 1)
        self.own = np.zeros((A, K))  # its labels on shared tasks, per (annotator, label)
        self.oth = np.zeros((A, K))  # every label on its shared tasks (its own included)

    def add(self, t: np.ndarray, a: np.ndarray, lab: np.ndarray, counts: np.ndarray, *,
            n_annotators: int, n_labels: int) -> None:
        """One bucket: per-row task, annotator and label codes, and its (tasks x labels) counts."""
        if self._conf is None:
            self._start(n_annotators, n_labels)
        A, K = self.A, self.K
        r = counts.sum(axis=1, dtype=np.int64)
        rt = r[t]
        self.n_pairs += np.bincount(a, weights=rt - 1, minlength=A)
        self.n_agree += np.bincount(a, weights=counts[t, lab].astype(np.int64) - 1, minlength=A)
        shared = rt > 1
        a_s, t_s = a[shared], t[shared]
        self.own += np.bincount(a_s.astype(np.int64) * K + lab[shared], minlength=A * K).reshape(A, K)
        ind = sp.csr_matrix((np.ones(len(a_s)), (a_s, t_s)), shape=(A, len(r)))
        self.oth += (ind @ sp.csr_matrix(counts, dtype=np.float64)).toarray()
        order = np.argsort(t, kind="stable")
        starts = np.zeros(len(r) + 1, dtype=np.int64)
        np.cumsum(r, out=starts[1:])
        _kernel()(order, starts, a.astype(np.int64, copy=False), lab.astype(np.int64, copy=False), A, K,
                  self.dense, self._conf, self._keyed)

    def pair_confusions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(pair codes a1 * A + a2, (n_pairs, K, K) confusion counts)`` of the pairs seen."""
        A, K = self.A, self.K
        if self.dense:
            conf = self._conf.reshape(A * A, K, K)
            keys = np.flatnonzero(conf.sum(axis=(1, 2)))
            return keys, conf[keys].astype(float)
        cells = np.fromiter(self._keyed.keys(), dtype=np.int64, count=len(self._keyed))
        n = np.fromiter(self._keyed.values(), dtype=np.int64, count=len(self._keyed))
        keys, p = np.unique(cells // (K * K), return_inverse=True)
        conf = np.bincount(p * K * K + cells % (K * K), weights=n, minlength=len(keys) * K * K)
        return keys, conf.reshape(len(keys), K, K)

    def totals(self) -> dict[str, np.ndarray]:
        """The sums as plain arrays (picklable: what a Dask worker sends back)."""
        keys, conf = self.pair_confusions()
        return {"n_pairs": self.n_pairs, "n_agree": self.n_agree, "own": self.own, "oth": self.oth,
                "keys": keys, "conf": conf}


def partition_totals(part: pd.DataFrame, *, annotators: pd.Index, categories: pd.Index) -> dict[str, np.ndarray] | None:
    """Worker side (Dask): the :meth:`PairSums.totals` of one partition holding whole tasks,
    coded with the global ``annotators`` and ``categories``; None for an empty partition."""
    if not len(part):
        return None
    t, tasks = pd.factorize(part["task"])
    a = annotators.get_indexer(part["annotator"])
    lab = categories.get_indexer(part["label"])
    K = len(categories)
    counts = np.bincount(t.astype(np.int64) * K + lab, minlength=len(tasks) * K).reshape(-1, K)
    sums = PairSums()
    sums.add(t, a, lab, counts, n_annotators=len(annotators), n_labels=K)
    return sums.totals()


def merge_totals(parts: list[dict[str, np.ndarray] | None]) -> dict[str, np.ndarray]:
    """Add partitions' totals (pair confusions matched by pair code)."""
    parts = [p for p in parts if p is not None]
    out = {name: np.sum([p[name] for p in parts], axis=0) for name in ("n_pairs", "n_agree", "own", "oth")}
    keys = np.concatenate([p["keys"] for p in parts])
    out["keys"], inv = np.unique(keys, return_inverse=True)
    conf = np.zeros((len(out["keys"]),) + parts[0]["conf"].shape[1:])
    np.add.at(conf, inv, np.concatenate([p["conf"] for p in parts]))
    out["conf"] = conf
    return out
