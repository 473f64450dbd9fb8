"""Agreement engine vs the paths users take today, measured in the same run.

Usage::

    python benchmarks/bench_agreement.py                 # 1e5, 1e6, 1e7 annotations
    python benchmarks/bench_agreement.py --quick         # 1e4, 1e5
    python benchmarks/bench_agreement.py --sizes 100000 1000000

Peers: ``krippendorff.alpha`` on an annotator x task matrix pivoted from the long table,
statsmodels ``aggregate_raters`` + ``fleiss_kappa`` on a task x rater-slot pivot, a loop
of sklearn ``cohen_kappa_score`` over annotator pairs (timed on a sample of pairs and
extrapolated to all pairs, marked ``~``), crowd-kit ``alpha_krippendorff`` when installed.
Prints a markdown table of medians, ratios (peer / ours) and peak memory (tracemalloc)
relative to the input table's memory.
"""

# ruff: noqa: B023  (the lambdas run inside the iteration that defines them)
from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_toolkit.agreement import agreement_report, fleiss_kappa, krippendorff_alpha, pairwise  # noqa: E402

warnings.simplefilter("ignore")


def make_table(n_annotations: int, per_task: int, n_annotators: int, n_labels: int = 5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_tasks = n_annotations // per_task
    truth = rng.integers(0, n_labels, n_tasks)
    # each task gets per_task distinct annotators
    ann = (rng.integers(0, n_annotators, n_tasks)[:, None] + np.arange(per_task)[None, :] * max(1, n_annotators // per_task)) % n_annotators
    noisy = rng.random((n_tasks, per_task)) < 0.3
    lab = np.where(noisy, rng.integers(0, n_labels, (n_tasks, per_task)), truth[:, None])
    return pd.DataFrame({"task": np.repeat(np.arange(n_tasks), per_task), "annotator": ann.ravel(), "label": lab.ravel()})


def timeit(f, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_bytes(f):
    tracemalloc.start()
    f()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def peer_kripp(df, level):
    import krippendorff

    wide = df.pivot(index="annotator", columns="task", values="label").to_numpy(float)
    return krippendorff.alpha(reliability_data=wide, level_of_measurement=level)


def peer_fleiss(df):
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    slots = df.assign(slot=df.groupby("task").cumcount()).pivot(index="task", columns="slot", values="label")
    return sm_fleiss(aggregate_raters(slots.to_numpy())[0])


def peer_pairwise(df, max_pairs=30):
    from sklearn.metrics import cohen_kappa_score

    groups = {a: g.set_index("task")["label"] for a, g in df.groupby("annotator")}
    pairs = list(combinations(sorted(groups), 2))
    sample = pairs[:: max(1, len(pairs) // max_pairs)][:max_pairs]
    t = time.perf_counter()
    for a, b in sample:
        j = groups[a].to_frame("a").join(groups[b].to_frame("b"), how="inner")
        if len(j) > 1:
            cohen_kappa_score(j["a"], j["b"])
    return (time.perf_counter() - t) * len(pairs) / len(sample), len(sample) < len(pairs)


def crowdkit_alpha():
    try:
        from crowdkit.metrics.data import alpha_krippendorff
    except Exception:  # noqa: BLE001 - optional peer
        return None
    return lambda df: alpha_krippendorff(df.rename(columns={"annotator": "worker"}))


def run(sizes, configs, repeat):
    rows = []
    ck = crowdkit_alpha()
    for n in sizes:
        for per_task, n_ann in configs:
            df = make_table(n, per_task, n_ann)
            table_mb = df.memory_usage(deep=True).sum() / 2**20
            r = 1 if n >= 5_000_000 else repeat
            cases = [
                ("alpha nominal", lambda: krippendorff_alpha(df), lambda: peer_kripp(df, "nominal"), "krippendorff.alpha(pivot)"),
                ("alpha interval", lambda: krippendorff_alpha(df, level="interval"), lambda: peer_kripp(df, "interval"), "krippendorff.alpha(pivot)"),
                ("fleiss kappa", lambda: fleiss_kappa(df), lambda: peer_fleiss(df), "statsmodels aggregate_raters+fleiss_kappa"),
            ]
            pivot_gb = n_ann * (n // per_task) * 8 / 2**30
            for name, ours, peer, peer_name in cases:
                t_ours = timeit(ours, r)
                mem = peak_bytes(ours) / 2**20
                if "alpha" in name and pivot_gb > 2:
                    t_peer, note = np.nan, f"skipped: pivot needs {pivot_gb:.0f} GiB"
                else:
                    t_peer, note = timeit(peer, r), ""
                rows.append((n, per_task, n_ann, name, t_ours, mem / table_mb, peer_name, t_peer, note))
                if ck is not None and name == "alpha nominal" and n <= 1_000_000:
                    rows.append((n, per_task, n_ann, name, t_ours, mem / table_mb, "crowd-kit alpha_krippendorff", timeit(lambda: ck(df), 1), ""))
            t_ours = timeit(lambda: pairwise(df, min_overlap=1), r)
            mem = peak_bytes(lambda: pairwise(df, min_overlap=1)) / 2**20
            t_peer, extrap = peer_pairwise(df)
            rows.append((n, per_task, n_ann, f"pairwise Cohen ({n_ann * (n_ann - 1) // 2} pairs)", t_ours, mem / table_mb,
                         "sklearn cohen_kappa_score loop", t_peer, "~ extrapolated from 30 pairs" if extrap else ""))
            # issue 14: the floor (one bincount over the rows) and the whole report, same run
            floor = timeit(lambda: np.bincount(df["label"].to_numpy()), 3)
            rows.append((n, per_task, n_ann, "np.bincount over the rows (floor)", floor, np.nan, "", np.nan, ""))
            if n <= 1_000_000:
                t_rep = timeit(lambda: agreement_report(df, ci="analytic", random_state=0), 1)
                rows.append((n, per_task, n_ann, "agreement_report, analytic CIs", t_rep, np.nan, "", np.nan, ""))
            print(f"done n={n} per_task={per_task} annotators={n_ann}", file=sys.stderr, flush=True)
    print("| annotations | labels/task | annotators | computation | ours (s) | peak mem / table | peer | peer (s) | peer / ours | note |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, k, a, name, t, m, peer, tp, note in rows:
        ratio = f"{tp / t:.1f}x" if np.isfinite(tp) else "n/a"
        tps = f"{tp:.3f}" if np.isfinite(tp) else "n/a"
        print(f"| {n:.0e} | {k} | {a} | {name} | {t:.3f} | {m:.2f} | {peer} | {tps} | {ratio} | {note} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10**5, 10**6, 10**7])
    p.add_argument("--quick", action="store_true", help="sizes 1e4 and 1e5")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    sizes = [10**4, 10**5] if args.quick else args.sizes
    run(sizes, [(3, 50), (5, 1000)], args.repeat)


if __name__ == "__main__":
    main()
