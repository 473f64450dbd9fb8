"""Scale benchmarks (issue 14): coefficients vs the bincount floor, the report, Dawid-Skene,
out-of-core engines (DuckDB vs Polars streaming) and Dask vs in-memory.

Usage::

    nice .venv/bin/python benchmarks/bench_scale.py --quick            # 10^5 / 10^5 tasks, seconds
    nice .venv/bin/python benchmarks/bench_scale.py                    # 5*10^6 labels, DS 10^6 tasks
    nice .venv/bin/python benchmarks/bench_scale.py --labels 50000000  # the issue's 5*10^7 row
    nice .venv/bin/python benchmarks/bench_scale.py --only engines --parquet-rows 20000000

Every ratio is measured in the same run (synthetic crowd: 5 labels per task, 50 annotators,
5 labels). Engines run in a child process each, so their peak RSS is their own.
Prints markdown tables.
"""

# ruff: noqa: B023
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_agreement import make_table  # noqa: E402

warnings.simplefilter("ignore")


def load() -> str:
    """The 1-minute load average (benchmarks on a shared machine: read ratios, not seconds)."""
    return Path("/proc/loadavg").read_text().split()[0]


def best(f, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_coefficients(n_labels: int, peer_max: int) -> None:
    from qa_toolkit.agreement import fleiss_kappa, gwet_ac1, krippendorff_alpha

    df = make_table(n_labels, 5, 50)
    floor = best(lambda: np.bincount(df["label"].to_numpy()), 5)
    print(f"\n### Coefficients on {n_labels:,} labels (np.bincount over the rows: {floor:.3f} s; "
          f"load average {load()})\n")
    print("| coefficient | s (best of 3) | x bincount | krippendorff pivot path s | peer / ours |")
    print("|---|---:|---:|---:|---:|")
    peer = np.nan
    if n_labels <= peer_max:
        import krippendorff

        def pivot_path():
            m = df.pivot(index="annotator", columns="task", values="label").to_numpy(dtype=float)
            return krippendorff.alpha(reliability_data=m, level_of_measurement="nominal")

        peer = best(pivot_path, 1)
    for f in (krippendorff_alpha, fleiss_kappa, gwet_ac1):
        t = best(lambda: f(df))
        p = peer if f is krippendorff_alpha else np.nan
        print(f"| {f.__name__} | {t:.3f} | {t / floor:.1f} | {p:.2f} | {p / t:.1f} |")


def bench_memory(n_labels: int) -> None:
    """Peak memory (tracemalloc: numpy and pandas buffers) of each coefficient vs the input table."""
    import tracemalloc

    from qa_toolkit.agreement import (
        brennan_prediger,
        cohen_kappa,
        conger_kappa,
        fleiss_kappa,
        gwet_ac1,
        krippendorff_alpha,
        percent_agreement,
    )

    df = make_table(n_labels, 5, 50)
    table = int(df.memory_usage(deep=True).sum())
    print(f"\n### Peak memory on {n_labels:,} labels (input table {table / 2**20:.0f} MiB, "
          "memory_usage(deep=True))\n")
    print("| coefficient | peak MiB | x input table |")
    print("|---|---:|---:|")
    calls = {f.__name__: (lambda f=f: f(df)) for f in (krippendorff_alpha, fleiss_kappa, gwet_ac1, brennan_prediger,
                                                         percent_agreement, conger_kappa)}
    calls["krippendorff_alpha(level='interval')"] = lambda: krippendorff_alpha(df, level="interval")
    calls["cohen_kappa(0, 10)"] = lambda: cohen_kappa(df, 0, 10)
    for name, f in calls.items():
        f()  # warm imports and caches outside the measurement
        tracemalloc.start()
        f()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"| {name} | {peak / 2**20:.0f} | {peak / table:.2f} |")


def bench_report(n_labels: int) -> None:
    from qa_toolkit.agreement import agreement_report

    df = make_table(n_labels, 5, 50)
    print(f"\n### agreement_report on {n_labels:,} labels (6 coefficients, per label, pairwise, per annotator; "
          f"load average {load()})\n")
    print("| ci | s |")
    print("|---|---:|")
    for ci in ("analytic", "bootstrap"):
        t = best(lambda: agreement_report(df, ci=ci, random_state=0), 1)
        print(f"| {ci} (n_boot=500) | {t:.2f} |" if ci == "bootstrap" else f"| {ci} | {t:.2f} |")


def bench_ds(n_tasks: int, n_annotators: int, crowdkit: bool) -> None:
    from bench_aggregation import make_data

    from qa_toolkit.aggregation import DawidSkene

    df, truth = make_data(5 * n_tasks, per_task=5)
    if n_annotators:
        rng = np.random.default_rng(1)
        df["annotator"] = rng.integers(0, n_annotators, len(df))
        df = df.drop_duplicates(["task", "annotator"]).reset_index(drop=True)
    print(f"\n### Dawid-Skene, 100 iterations, {df['task'].nunique():,} tasks, "
          f"{df['annotator'].nunique():,} annotators, {len(df):,} labels\n")
    print(f"(load average {load()}; CPU s = process time of all threads)\n")
    print("| implementation | s | CPU s | accuracy vs truth |")
    print("|---|---:|---:|---:|")
    c0, t0 = time.process_time(), time.perf_counter()
    ds = DawidSkene(max_iter=100, tol=0.0).fit(df)
    t, cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = float((ds.labels_.to_numpy() == truth.loc[ds.labels_.index].to_numpy()).mean())
    print(f"| qa_toolkit ({ds.n_iter_} iterations) | {t:.2f} | {cpu:.2f} | {acc:.4f} |")
    if crowdkit:
        from crowdkit.aggregation import DawidSkene as CK

        c0, t0 = time.process_time(), time.perf_counter()
        ck = CK(n_iter=100, tol=0.0).fit(df.rename(columns={"annotator": "worker"}))
        t, cpu = time.perf_counter() - t0, time.process_time() - c0
        lab = ck.labels_.sort_index()
        acc = float((lab.to_numpy() == truth.loc[lab.index].to_numpy()).mean())
        print(f"| crowd-kit 1.4 | {t:.2f} | {cpu:.2f} | {acc:.4f} |")


def _child(engine: str, path: str) -> None:
    t0 = time.perf_counter()
    value = ""
    if engine == "duckdb":
        from qa_toolkit.engines import sufficient_statistics

        coded = sufficient_statistics(path, engine="duckdb")
        out = int(coded.counts.sum())
    elif engine == "polars":
        import polars as pl

        lf = pl.scan_parquet(str(Path(path) / "**/*.parquet"))
        tl = lf.group_by(["task", "label"]).len().collect(engine="streaming")
        al = lf.group_by(["annotator", "label"]).len().collect(engine="streaming")
        dup = lf.group_by(["task", "annotator"]).len().filter(pl.col("len") > 1).head(1).collect(engine="streaming")
        out = int(tl["len"].sum()) + 0 * len(al) + 0 * len(dup)
    elif engine == "ds_duckdb":
        from qa_toolkit.aggregation import DawidSkene

        ds = DawidSkene(max_iter=20).fit(path, engine="duckdb")
        out = int(ds.label_table()["n_annotations"].sum())
        value = f"loglik {ds.history_[-1]:.6e}"
    elif engine == "alpha_duckdb":  # the count-based coefficient out of core, end to end
        from qa_toolkit.agreement import krippendorff_alpha
        from qa_toolkit.engines import sufficient_statistics

        coded = sufficient_statistics(path, engine="duckdb")
        alpha = krippendorff_alpha(coded)
        out = int(coded.counts.sum())
        value = f"alpha {alpha:.10f}"
    else:  # pandas: read everything, then code
        from qa_toolkit.engines.coding import code_annotations

        df = pd.read_parquet(path, columns=["task", "annotator", "label"])
        out = int(code_annotations(df, func="bench").counts.sum())
    dt = time.perf_counter() - t0
    # VmHWM: this process's own peak (ru_maxrss would include the parent's at fork time)
    hwm = [ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmHWM")]
    rss = (int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 2**20
    print(json.dumps({"engine": engine, "s": dt, "peak_rss_gib": rss, "rows": out, "value": value}))


def write_parquet(n_rows: int, root: Path, n_files: int = 8) -> None:
    per = n_rows // n_files
    for i in range(n_files):
        df = make_table(per, 5, 50, seed=i)
        df["task"] += i * (per // 5)
        (root / f"batch={i}").mkdir(parents=True, exist_ok=True)
        df.to_parquet(root / f"batch={i}" / "part.parquet", index=False)


def write_big_parquet(n_rows: int, root: Path, rows_per_file: int = 10_000_000) -> None:
    """``n_rows`` labels as hive partitions of small dtypes (task int32, annotator int16, label int8),
    written file by file with pyarrow (the memory of one file at a time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for i in range(-(-n_rows // rows_per_file)):
        per = min(rows_per_file, n_rows - i * rows_per_file)
        df = make_table(per, 5, 50, seed=i)
        table = pa.table({"task": (df["task"].to_numpy() + i * (rows_per_file // 5)).astype(np.int32),
                          "annotator": df["annotator"].to_numpy().astype(np.int16),
                          "label": df["label"].to_numpy().astype(np.int8)})
        (root / f"batch={i}").mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / f"batch={i}" / "part.parquet")


def bench_out_of_core(n_rows: int, root: Path) -> None:
    """alpha and Dawid-Skene (20 iterations) through DuckDB on a Parquet folder, each in its own process.

    ``*_duckdb``: the default path (above ``QA_TOOLKIT_SPILL_MIN_ROWS`` rows: one pass into task
    buckets, then bounded memory per bucket); up to 5*10^7 rows also ``*_groupby``, the
    ``GROUP BY`` path (whole aggregates in memory) in the same run.
    """
    t0 = time.perf_counter()
    if not root.exists():
        write_big_parquet(n_rows, root)
    size = sum(f.stat().st_size for f in root.rglob("*.parquet")) / 2**30
    print(f"\n### Out of core: {n_rows:,} labels in {root} ({size:.2f} GiB Parquet, written in "
          f"{time.perf_counter() - t0:.0f} s; load average {Path('/proc/loadavg').read_text().split()[0]})\n")
    print("| step | s | peak RSS GiB | labels counted | value | load after |")
    print("|---|---:|---:|---:|---:|---:|")
    import os

    steps = ["alpha_duckdb", "ds_duckdb"] + (["alpha_groupby", "ds_groupby"] if n_rows <= 50_000_000 else [])
    for eng in steps:
        env = dict(os.environ)
        if eng.endswith("_groupby"):
            env["QA_TOOLKIT_SPILL_MIN_ROWS"] = str(2**62)
        r = subprocess.run([sys.executable, __file__, "--child", eng.replace("_groupby", "_duckdb"), str(root)],
                           capture_output=True, text=True, env=env)
        if r.returncode:
            print(f"| {eng} | failed: {r.stderr.strip().splitlines()[-1][:80]} | | |", flush=True)
            continue
        out = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"| {eng} | {out['s']:.1f} | {out['peak_rss_gib']:.2f} | {out['rows']:,} | {out.get('value', '')} "
              f"| {load()} |", flush=True)


def bench_engines(n_rows: int, engines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "labels"
        write_parquet(n_rows, root)
        print(f"\n### Sufficient statistics of {n_rows:,} labels in Parquet (8 hive partitions)\n")
        print("| engine | s | peak RSS GiB | labels counted |")
        print("|---|---:|---:|---:|")
        for eng in engines:
            r = subprocess.run([sys.executable, __file__, "--child", eng, str(root)], capture_output=True, text=True)
            if r.returncode:
                print(f"| {eng} | failed: {r.stderr.strip().splitlines()[-1][:80]} | | |")
                continue
            out = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"| {eng} | {out['s']:.2f} | {out['peak_rss_gib']:.2f} | {out['rows']:,} |")


def bench_dask(n_rows: int) -> None:
    from distributed import Client, LocalCluster

    from qa_toolkit.aggregation import DawidSkene
    from qa_toolkit.engines import sufficient_statistics

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "labels"
        write_parquet(n_rows, root)
        df = pd.read_parquet(root, columns=["task", "annotator", "label"])
        print(f"\n### Dask LocalCluster (2 worker processes) vs in memory, {n_rows:,} labels\n")
        print("| step | in memory s | Dask s | identical |")
        print("|---|---:|---:|---|")
        t0 = time.perf_counter()
        ref = sufficient_statistics(df, engine="pandas")
        t_mem = time.perf_counter() - t0
        t0 = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
                Client(lc) as c:
            t_start = time.perf_counter() - t0
            t0 = time.perf_counter()
            got = sufficient_statistics(root, engine="dask", client=c)
            t_dask = time.perf_counter() - t0
            same = bool(np.array_equal(got.counts, ref.counts))
            print(f"| cluster start | | {t_start:.2f} | |")
            print(f"| task x label counts | {t_mem:.2f} | {t_dask:.2f} | {same} |")
            t0 = time.perf_counter()
            dds = DawidSkene(max_iter=20, precision="float64").fit(root, engine="dask", client=c)
            t_dask = time.perf_counter() - t0
        t0 = time.perf_counter()
        mds = DawidSkene(max_iter=20, precision="float64").fit(df)
        t_mem = time.perf_counter() - t0
        diff = float(np.abs(dds.posteriors_.to_numpy() - mds.posteriors_.to_numpy()).max())
        print(f"| Dawid-Skene 20 iterations | {t_mem:.2f} | {t_dask:.2f} | max |diff| {diff:.1e} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--labels", type=int, default=5_000_000, help="rows for the coefficient table")
    ap.add_argument("--report-labels", type=int, default=1_000_000)
    ap.add_argument("--ds-tasks", type=int, default=1_000_000)
    ap.add_argument("--ds-annotators", type=int, default=5000)
    ap.add_argument("--parquet-rows", type=int, default=5_000_000)
    ap.add_argument("--dask-rows", type=int, default=1_000_000)
    ap.add_argument("--peer-max", type=int, default=5_000_000, help="largest size for the krippendorff pivot path")
    ap.add_argument("--memory-labels", type=int, default=5_000_000)
    ap.add_argument("--big-rows", type=int, default=200_000_000, help="rows for --only outofcore")
    ap.add_argument("--big-dir", default="/tmp/qa_big", help="Parquet folder for --only outofcore (kept)")
    ap.add_argument("--only", nargs="+", default=["coefficients", "memory", "report", "ds", "engines", "dask"])
    ap.add_argument("--no-crowdkit", action="store_true")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(*args.child)
    if args.quick:
        args.labels, args.report_labels, args.ds_tasks, args.ds_annotators = 100_000, 100_000, 20_000, 200
        args.parquet_rows, args.dask_rows, args.memory_labels = 200_000, 100_000, 100_000
    if "coefficients" in args.only:
        bench_coefficients(args.labels, args.peer_max)
    if "memory" in args.only:
        bench_memory(args.memory_labels)
    if "report" in args.only:
        bench_report(args.report_labels)
    if "ds" in args.only:
        bench_ds(args.ds_tasks, args.ds_annotators, not args.no_crowdkit)
    if "engines" in args.only:
        bench_engines(args.parquet_rows, ["duckdb", "polars", "pandas", "ds_duckdb"])
    if "dask" in args.only:
        bench_dask(args.dask_rows)
    if "outofcore" in args.only:  # not in the default list: writes --big-rows rows to --big-dir
        bench_out_of_core(args.big_rows, Path(args.big_dir))


if __name__ == "__main__":
    main()
