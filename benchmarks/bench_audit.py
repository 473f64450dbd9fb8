"""End-to-end ``qa-toolkit audit`` on a synthetic crowd (issue 14: 10^6 labels <= 10 s).

Synthetic crowd as in ``bench_scale.py``: 5 labels per task, 50 annotators, 5 classes, with
string annotator ids and class names as a real export has them. Prints the wall time, the
load average and the time of every report section (the provenance block records them too).

Usage::

    nice .venv/bin/python benchmarks/bench_audit.py --labels 1000000 --format parquet
    nice .venv/bin/python benchmarks/bench_audit.py --labels 1000000 --format csv --profile
    # before / after in the same run, each audit in its own process run as the console script
    # (imports and the interpreter's exit included; wall, CPU, peak RSS):
    git archive HEAD qa_toolkit widgets | tar -x -C /tmp/qa_before
    nice .venv/bin/python benchmarks/bench_audit.py --labels 1000000 --trees /tmp/qa_before . --rounds 3
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_crowd(n_labels: int, *, per_task: int = 5, n_annotators: int = 50, n_classes: int = 5,
               seed: int = 0) -> pd.DataFrame:
    """``n_labels`` rows: each task labelled by ``per_task`` distinct annotators, 30 % noise."""
    rng = np.random.default_rng(seed)
    n_tasks = n_labels // per_task
    truth = rng.integers(0, n_classes, n_tasks)
    step = max(1, n_annotators // per_task)
    ann = (rng.integers(0, n_annotators, n_tasks)[:, None] + np.arange(per_task)[None, :] * step) % n_annotators
    noisy = rng.random((n_tasks, per_task)) < 0.3
    lab = np.where(noisy, rng.integers(0, n_classes, (n_tasks, per_task)), truth[:, None])
    names = np.array([f"class_{k}" for k in range(n_classes)], dtype=object)
    workers = np.array([f"w{k:03d}" for k in range(n_annotators)], dtype=object)
    return pd.DataFrame({"task": np.repeat(np.arange(n_tasks), per_task), "annotator": workers[ann.ravel()],
                         "label": names[lab.ravel()]})


# as the ``qa-toolkit`` console script runs it: main() reads sys.argv, and the process ends right after
_CHILD = """
import json, sys, time, warnings
sys.path.insert(0, {tree!r})
warnings.simplefilter("ignore")
t0, c0 = time.perf_counter(), time.process_time()
from qa_toolkit.cli import main
sys.argv = ["qa-toolkit", "audit", {src!r}, "--out", {out!r}]
rc = main()
print(json.dumps({{"audit_s": time.perf_counter() - t0, "audit_cpu_s": time.process_time() - c0, "rc": rc}}),
      flush=True)
sys.exit(rc)
"""


def run_tree(tree: Path, src: Path, out: Path) -> dict:
    """One audit in its own process (imports and the interpreter's exit included): wall, CPU and peak RSS."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _CHILD.format(tree=str(tree), src=str(src), out=str(out))],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    res = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {"rc": proc.returncode}
    res.update(process_s=time.perf_counter() - t0, process_cpu_s=usage.ru_utime + usage.ru_stime,
               peak_rss_gib=usage.ru_maxrss / 2**20)
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=int, default=1_000_000)
    ap.add_argument("--format", choices=["csv", "parquet"], default="parquet")
    ap.add_argument("--profile", action="store_true", help="print the 25 most expensive functions (in process)")
    ap.add_argument("--workdir", default=None, help="where the input and report go (default: a temp folder)")
    ap.add_argument("--trees", nargs="+", default=None, metavar="DIR",
                    help="source trees to compare in the same run, each audit in its own process "
                    "(e.g. a `git archive` of the previous commit, then this checkout)")
    ap.add_argument("--rounds", type=int, default=1, help="audits per tree, alternating trees (default 1)")
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_audit_"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"crowd_{args.labels}.{args.format}"
    if not src.exists():
        df = make_crowd(args.labels)
        df.to_parquet(src, index=False) if args.format == "parquet" else df.to_csv(src, index=False)
    if args.trees:
        print("| tree | audit wall s | audit CPU s | process wall s | process CPU s | peak RSS GiB | exit | load average |")
        print("|---|---|---|---|---|---|---|---|")
        for r in range(args.rounds):
            for i, tree in enumerate(args.trees):
                out = work / f"report_{i}"
                res = run_tree(Path(tree).resolve(), src, out)
                print(f"| {tree} | {res.get('audit_s', float('nan')):.1f} | {res.get('audit_cpu_s', float('nan')):.1f} | "
                      f"{res['process_s']:.1f} | {res['process_cpu_s']:.1f} | {res['peak_rss_gib']:.2f} | {res['rc']} | "
                      f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} |", flush=True)
                if r == args.rounds - 1 and (out / "provenance__section_seconds.csv").exists():
                    print(pd.read_csv(out / "provenance__section_seconds.csv").to_string(index=False))
        return
    from qa_toolkit.cli import main as cli

    warnings.simplefilter("ignore")
    prof = cProfile.Profile() if args.profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    rc = cli(["audit", str(src), "--out", str(work / "report")])
    if prof:
        prof.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"| audit of {args.labels:,} labels ({args.format}) | {wall:.1f} s | CPU {cpu:.1f} s | exit {rc} | "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} |")
    timings = work / "report" / "provenance__section_seconds.csv"
    if timings.exists():
        print(pd.read_csv(timings).to_string(index=False))
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
