"""Benchmark: ``qa.embedding_clusters`` (MiniBatchKMeans) at 10^5-10^6 items, HDBSCAN at 10^4.

Data: the generator of ``bench_neighbours_ann.py`` (512-d unit vectors around ``n / 1000``
random concept centres, 10 labels, 5 % of labels flipped). Measured per size: wall
time with ``n_clusters`` chosen by silhouette (on a 2 000-item sample) and with a fixed
``n_clusters`` (= number of concepts), the adjusted Rand index of the clusters against
the true concepts, and precision / recall of the cluster-minority flags against the
flipped labels.

Usage::

    nice .venv/bin/python benchmarks/bench_clusters.py --sizes 100000
    nice .venv/bin/python benchmarks/bench_clusters.py --sizes 1000000 --hdbscan 0    # ~2 GB RAM

Prints a markdown table. Measured 2026-12-01 on 2 cores shared with 7 other jobs (load ~9):

| method | n | seconds | clusters | ARI | minority precision | minority recall |
|---|---|---|---|---|---|---|
| kmeans, k by silhouette | 100,000 | 119.5 | 87 | 0.868 | 1.000 | 0.975 |
| kmeans, k=100 | 100,000 | 99.3 | 100 | 0.970 | 1.000 | 0.994 |
| hdbscan (min_cluster_size 20) | 10,000 | 227.2 | 10 | 1.000 | 1.000 | 1.000 |

10^6 (same day, quiet machine, ``--sizes 1000000 --hdbscan 0 --skip-fixed``; 4.4 GiB peak RSS):

| kmeans, k by silhouette | 1,000,000 | 91.2 | 200 | 0.236 | 0.103 | 0.853 |

At 10^6 the data has 1,000 concepts but the silhouette search stops at 200 clusters
(``sample / 10`` on its 2,000-item sample): clusters then mix concepts and most minority
flags are false (precision 0.10). Pass ``n_clusters`` when the number of groups is known
to exceed a few hundred.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_neighbours_ann import make_data  # noqa: E402


def _row(name, n, seconds, res, which, flip):
    from sklearn.metrics import adjusted_rand_score

    ari = adjusted_rand_score(which, res.items["cluster"].to_numpy())
    flagged = res.items["is_cluster_minority_issue"].to_numpy()
    prec = (flagged & flip).sum() / max(flagged.sum(), 1)
    rec = (flagged & flip).sum() / max(flip.sum(), 1)
    k = int((res.clusters.index >= 0).sum())
    print(f"| {name} | {n:,} | {seconds:.1f} | {k} | {ari:.3f} | {prec:.3f} | {rec:.3f} |", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--hdbscan", type=int, default=10_000, help="HDBSCAN size (0: skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-fixed", action="store_true", help="only the run with n_clusters chosen by silhouette")
    a = p.parse_args(argv)
    from qa_toolkit.errors.clusters import embedding_clusters

    print(f"cores: {os.cpu_count()}, dim {a.dim}")
    print("| method | n | seconds | clusters | ARI vs concepts | minority precision | minority recall |")
    print("|---|---|---|---|---|---|---|")
    for n in a.sizes:
        x, labels, flip = make_data(n, a.dim, a.seed)
        which = _concepts(n, a.dim, a.seed)
        for k in (None,) if a.skip_fixed else (None, max(10, n // 1000)):
            t = time.perf_counter()
            res = embedding_clusters(x, labels, n_clusters=k, random_state=a.seed)
            name = "kmeans, k by silhouette" if k is None else f"kmeans, k={k}"
            _row(name, n, time.perf_counter() - t, res, which, flip)
        del x
    if a.hdbscan:
        n = a.hdbscan
        x, labels, flip = make_data(n, a.dim, a.seed)
        t = time.perf_counter()
        res = embedding_clusters(x, labels, method="hdbscan", min_cluster_size=20, random_state=a.seed)
        _row("hdbscan", n, time.perf_counter() - t, res, _concepts(n, a.dim, a.seed), flip)


def _concepts(n, dim, seed):
    """The concept of each item, replaying make_data's draws."""
    rng = np.random.default_rng(seed)
    n_centres = max(10, n // 1000)
    rng.normal(size=(n_centres, dim))
    return rng.integers(n_centres, size=n)


if __name__ == "__main__":
    main()
