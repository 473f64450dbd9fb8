"""Benchmark: approximate neighbours (faiss IVF-Flat) and neighbour inconsistency at 10^5-10^6 items.

Data: ``n`` unit vectors of dimension 512 drawn around ``n / 1000`` random cluster
centres on the sphere (noise chosen so that an item's cosine to its centre is ~0.7,
like CLIP image embeddings of one class/concept), 10 labels, 5 % of labels flipped.
Uniformly random vectors would be the wrong test: they have no neighbourhood structure
and no index (nor any label-error method) is meant for them.

Measured per size: wall time of ``neighbour_inconsistency(..., backend='ivf')`` (index
training, nprobe calibration to recall@10 >= 0.95 on 200 queries, search of all items,
label counting; ``nearest_neighbours`` then ``neighbour_inconsistency(neighbours=...)``,
the same work as one ``neighbour_inconsistency`` call), the ``nprobe`` chosen, and recall@10 against exact search on an
independent sample of 500 items (``neighbour_recall``); exact faiss flat search time for
comparison where it is affordable (``--exact-max``).

Usage::

    nice .venv/bin/python benchmarks/bench_neighbours_ann.py --sizes 100000
    nice .venv/bin/python benchmarks/bench_neighbours_ann.py --sizes 1000000 --exact-max 0   # ~2 GB RAM

Prints a markdown table. Measured 2026-12-01 on 2 cores shared with 7 other jobs (load ~9):
10^5 items: 93 s in all, nprobe 4 of 316 lists, recall@10 0.992, all flipped labels flagged.
10^6 items, measured 2026-12-01 on the same machine, quiet (load ~2): 243.5 s in all (4 min 26 s
wall for the script), nprobe 1, recall@10 0.984, all flipped labels flagged, 6.9 GiB peak RSS.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def make_data(n: int, dim: int, seed: int, noise: float = 1.0):
    rng = np.random.default_rng(seed)
    n_centres = max(10, n // 1000)
    centres = rng.normal(size=(n_centres, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    which = rng.integers(n_centres, size=n)
    x = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        sl = slice(s, min(n, s + 100_000))
        x[sl] = centres[which[sl]] + rng.normal(0, noise / np.sqrt(dim), (sl.stop - sl.start, dim)).astype(np.float32)
    labels = (which % 10).astype(np.int64)
    flip = rng.random(n) < 0.05
    labels[flip] = (labels[flip] + rng.integers(1, 10, flip.sum())) % 10
    return x, labels, flip


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--exact-max", type=int, default=100_000, help="largest n for the exact faiss comparison")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    from qa_toolkit.errors.neighbours import (
        _LAST_IVF,
        nearest_neighbours,
        neighbour_inconsistency,
        neighbour_recall,
    )

    print(f"cores: {os.cpu_count()}, dim {a.dim}, k {a.k}")
    print("| n | inconsistency (IVF) s | nprobe | recall@10 (500 queries) | flips found (recall) | exact flat s |")
    print("|---|---|---|---|---|---|")
    for n in a.sizes:
        x, labels, flip = make_data(n, a.dim, a.seed)
        t = time.perf_counter()
        nb = nearest_neighbours(x, k=a.k, backend="ivf", random_state=a.seed)
        out = neighbour_inconsistency(x, labels, k=a.k, neighbours=nb)
        t_ivf = time.perf_counter() - t
        idx, nprobe = nb[0], _LAST_IVF["nprobe"]
        rec = neighbour_recall(x, idx, n_queries=500, random_state=a.seed + 1)
        found = out["is_neighbour_issue"].to_numpy()[flip].mean()
        t_exact = float("nan")
        if n <= a.exact_max:
            t = time.perf_counter()
            nearest_neighbours(x, k=a.k, backend="faiss")
            t_exact = time.perf_counter() - t
        print(f"| {n:,} | {t_ivf:.1f} | {nprobe} | {rec:.3f} | {found:.3f} | {t_exact:.1f} |", flush=True)


if __name__ == "__main__":
    main()
