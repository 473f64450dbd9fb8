"""Import throughput of ``read_annotations`` (annotations/s and peak memory).

Usage::

    nice .venv/bin/python benchmarks/bench_io.py                  # 10^5 and 10^6 annotations
    nice .venv/bin/python benchmarks/bench_io.py --sizes 100000   # quick

Synthetic data (seeded): tasks with 3 annotators each, one ``choices`` result per
annotation plus, in the bbox variant, 2 ``rectanglelabels`` regions. Every measurement
runs in a fresh subprocess so peak RSS is that reader's own. Baselines in the same run:

* Label Studio JSON: ``json.load`` alone (the floor) and the usual hand-written path,
  ``pandas.json_normalize(tasks, ["annotations", "result"], ...)`` (no percent→pixel,
  no validation, no annotator normalisation).
* Parquet: ``pandas.read_parquet`` alone (the floor).

Our number includes format detection, validation (duplicates, boxes, spans) and the
canonical columns. On a shared machine timings are noisy: ``--repeats`` takes the best.

Prints a markdown table; ``ratio`` = our time / the baseline's time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_label_studio(n_annotations: int, path: Path, *, boxes: bool = False, random_state: int = 0) -> int:
    rng = np.random.default_rng(random_state)
    n_tasks = max(1, n_annotations // 3)
    labels = np.array(["cat", "dog", "bird", "fish"])
    lab = labels[rng.integers(0, 4, 3 * n_tasks)]
    xy = rng.uniform(0, 50, (3 * n_tasks, 2, 2))
    tasks = []
    k = 0
    for t in range(n_tasks):
        anns = []
        for a in range(3):
            result = [{"id": f"c{k}", "type": "choices", "from_name": "cls", "to_name": "image",
                       "value": {"choices": [str(lab[k])]}}]
            if boxes:
                for b in range(2):
                    x, y = xy[k, b]
                    result.append({"id": f"b{k}_{b}", "type": "rectanglelabels", "from_name": "box",
                                   "to_name": "image", "original_width": 640, "original_height": 480,
                                   "value": {"x": float(x), "y": float(y), "width": 10.0, "height": 20.0,
                                             "rotation": 0, "rectanglelabels": [str(lab[k])]}})
            anns.append({"id": k, "completed_by": {"id": a, "email": f"ann{a}@example.org"},
                         "result": result, "was_cancelled": False, "ground_truth": False,
                         "created_at": "2024-01-01T00:00:00.000000Z", "lead_time": 3.5})
            k += 1
        tasks.append({"id": t, "data": {"image": f"/data/{t}.jpg"}, "annotations": anns})
    path.write_text(json.dumps(tasks))
    return k * (3 if boxes else 1)


def make_parquet(n_annotations: int, path: Path, *, random_state: int = 0) -> int:
    import pandas as pd

    rng = np.random.default_rng(random_state)
    n = n_annotations
    df = pd.DataFrame({
        "task": np.repeat(np.arange(n // 3 + 1), 3)[:n],
        "annotator": np.tile(np.array(["a0", "a1", "a2"]), n // 3 + 1)[:n],
        "label": np.array(["cat", "dog", "bird", "fish"])[rng.integers(0, 4, n)],
        "lead_time": rng.exponential(10, n),
    })
    df.to_parquet(path, index=False)
    return n


def _measure(kind: str, path: str) -> None:
    import warnings

    import pandas as pd  # noqa: F401 - imports are not part of the timing

    from qa_toolkit.io import read_annotations

    t0 = time.perf_counter()
    if kind == "ours":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n = len(read_annotations(path))
    elif kind == "json_load":
        with open(path) as fh:
            n = len(json.load(fh))
    elif kind == "json_normalize":
        import pandas as pd

        with open(path) as fh:
            tasks = json.load(fh)
        n = len(pd.json_normalize(tasks, ["annotations", "result"], ["id", ["annotations", "completed_by", "email"]],
                                  meta_prefix="task_", errors="ignore"))
    elif kind == "read_parquet":
        import pandas as pd

        n = len(pd.read_parquet(path))
    else:
        raise SystemExit(f"unknown kind {kind}")
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    print(json.dumps({"seconds": dt, "peak_rss_mib": rss, "rows": n}))


def run(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--_measure", kind, str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def make(kind: str, n: int, path: Path) -> int:
    out = subprocess.run([sys.executable, __file__, "--_make", kind, str(n), str(path)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs of read_annotations")
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_make", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._measure:
        _measure(*args._measure)
        return
    if args._make:
        kind, n, path = args._make
        maker = {"ls": make_label_studio, "ls_box": lambda n, p: make_label_studio(n, p, boxes=True),
                 "parquet": make_parquet}[kind]
        print(maker(int(n), Path(path)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            cases = []
            # Files are made in subprocesses too: on Linux a child's ru_maxrss starts from
            # its parent's RSS at fork, so the parent must stay small.
            p = Path(tmp) / f"ls_{n}.json"
            cases.append(("Label Studio JSON (choices)", p, make("ls", n, p), ["json_load", "json_normalize"]))
            p = Path(tmp) / f"ls_box_{n}.json"
            cases.append(("Label Studio JSON (choices + 2 boxes)", p, make("ls_box", n // 3, p),
                          ["json_load", "json_normalize"]))
            p = Path(tmp) / f"t_{n}.parquet"
            cases.append(("Parquet (long table)", p, make("parquet", n, p), ["read_parquet"]))
            for name, path, n_rows, baselines in cases:
                ours = min((run("ours", path) for _ in range(args.repeats)), key=lambda m: m["seconds"])
                assert ours["rows"] == n_rows, (ours, n_rows)
                line = {"format": name, "rows": n_rows, "MB": path.stat().st_size / 1e6, "ours": ours}
                line["baselines"] = {b: run(b, path) for b in baselines}
                rows.append(line)
                print(f"done {name} n={n_rows}", file=sys.stderr)
    print("| format | label rows | file MB | read_annotations s | rows/s | peak RSS MiB | baseline "
          "| baseline s | baseline peak RSS MiB | ratio (ours/baseline) |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for r in rows:
        o = r["ours"]
        for i, (b, m) in enumerate(r["baselines"].items()):
            lead = (f"| {r['format']} | {r['rows']:,} | {r['MB']:.0f} | {o['seconds']:.2f} | "
                    f"{r['rows'] / o['seconds']:,.0f} | {o['peak_rss_mib']:.0f} |") if i == 0 else "| | | | | | |"
            print(f"{lead} {b} | {m['seconds']:.2f} | {m['peak_rss_mib']:.0f} | {o['seconds'] / m['seconds']:.2f} |")


if __name__ == "__main__":
    main()
