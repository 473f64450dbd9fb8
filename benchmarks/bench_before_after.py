"""Issue 14, second pass: the coefficients, the report and Dawid-Skene before and after, in one run.

Usage::

    git archive <before-commit> qa_toolkit widgets | tar -x -C /tmp/qa_before
    nice .venv/bin/python benchmarks/bench_before_after.py /tmp/qa_before [--labels 5000000] [--ds-tasks 1000000]

Each implementation runs in its own child process (the old tree, or this checkout, first on
``sys.path``; the child checks which package it imported), alternately, ``--rounds`` times; the table shows the best time of each and the
np.bincount floor measured in the same child. Prints a markdown table and the load average.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, TREE)
import qa_toolkit.agreement  # the tree under test, before bench_agreement puts this checkout first
assert qa_toolkit.__file__.startswith(TREE), qa_toolkit.__file__
sys.path.insert(0, BENCH)
import numpy as np
from bench_agreement import make_table
from qa_toolkit.agreement import agreement_report, fleiss_kappa, gwet_ac1, krippendorff_alpha
out = {}
def best(f, r):
    ts = []
    for _ in range(r):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)
df = make_table(LABELS, 5, 50)
out["bincount"] = best(lambda: np.bincount(df["label"].to_numpy()), 5)
for f in (krippendorff_alpha, fleiss_kappa, gwet_ac1):
    out[f.__name__] = best(lambda: f(df), 3)
    out[f.__name__ + "_value"] = f(df)
rep = make_table(REPORT, 5, 50)
out["agreement_report"] = best(lambda: agreement_report(rep, random_state=0), 1)
if DS_TASKS:
    from bench_aggregation import make_data
    from qa_toolkit.aggregation import DawidSkene
    d, truth = make_data(5 * DS_TASKS, per_task=5)
    d["annotator"] = np.random.default_rng(1).integers(0, 5000, len(d))
    d = d.drop_duplicates(["task", "annotator"]).reset_index(drop=True)
    c0, t0 = time.process_time(), time.perf_counter()
    ds = DawidSkene(max_iter=100, tol=0.0, smoothing=0.0).fit(d)
    out["ds_s"], out["ds_cpu"] = time.perf_counter() - t0, time.process_time() - c0
    out["ds_acc"] = float((ds.labels_.to_numpy() == truth.loc[ds.labels_.index].to_numpy()).mean())
print(json.dumps(out))
"""


def run(tree: Path, labels: int, report: int, ds_tasks: int) -> dict:
    code = (CHILD.replace("BENCH", repr(str(HERE))).replace("TREE", repr(str(tree.resolve())))
            .replace("LABELS", str(labels))
            .replace("REPORT", str(report)).replace("DS_TASKS", str(ds_tasks)))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", help="a tree holding the old qa_toolkit package")
    ap.add_argument("--labels", type=int, default=5_000_000)
    ap.add_argument("--report-labels", type=int, default=1_000_000)
    ap.add_argument("--ds-tasks", type=int, default=0, help="Dawid-Skene tasks (0: skip; 1000000 in the issue)")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    res: dict[str, list[dict]] = {"before": [], "after": []}
    loads = []
    for _ in range(args.rounds):
        for name, tree in (("before", Path(args.before)), ("after", ROOT)):
            loads.append(Path("/proc/loadavg").read_text().split()[0])
            res[name].append(run(tree, args.labels, args.report_labels, args.ds_tasks))
            time.sleep(1)
    keys = [k for k in res["after"][0] if not k.endswith("_value") and k != "ds_acc"]
    print(f"\n### Before / after on {args.labels:,} labels (report: {args.report_labels:,}; "
          f"load average during the runs {min(loads)}-{max(loads)})\n")
    print("| step | before s | after s | before x bincount | after x bincount |")
    print("|---|---:|---:|---:|---:|")
    for k in keys:
        b = min(r[k] for r in res["before"])
        a = min(r[k] for r in res["after"])
        fb = min(r["bincount"] for r in res["before"])
        fa = min(r["bincount"] for r in res["after"])
        print(f"| {k} | {b:.3f} | {a:.3f} | {b / fb:.1f} | {a / fa:.1f} |")
    for k in res["after"][0]:
        if k.endswith("_value") or k == "ds_acc":
            print(f"{k}: before {res['before'][0][k]!r} after {res['after'][0][k]!r}")


if __name__ == "__main__":
    main()
