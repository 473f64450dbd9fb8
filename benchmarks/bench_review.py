"""Review panel latency (per unit) and decision-log append cost.

Goals (issue 13): the next unit shown after a decision < 50 ms for text (span units on a
text, every annotator's spans drawn) and < 150 ms for an image with 50 boxes (box units,
every box drawn on the pixels, the current object highlighted), median of 100 decisions,
headless render time (the widget state is built; the browser's paint is not counted).
Also (issue 6): a categorical task queue of --n tasks, and a log append < 5 ms incl. fsync.
Peer for the log: SQLite in WAL mode with synchronous=FULL (the storage we did not choose),
one committed INSERT per decision, measured in the same run on the same disk.

Run: ``MPLBACKEND=Agg python benchmarks/bench_review.py [--n 100000] [--units-tasks 200] [--repeats 100]``
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_toolkit.review import DecisionLog  # noqa: E402
from qa_toolkit.widgets import ReviewPanel  # noqa: E402


def make_data(n: int, *, boxes: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    tasks = np.repeat(np.arange(n), 3)
    ann = pd.DataFrame({"task": tasks, "annotator": np.tile(["a1", "a2", "a3"], n),
                        "label": rng.choice(["cat", "dog", "bird", "car"], size=3 * n)})
    if boxes:
        x0 = rng.uniform(0, 150, 3 * n)
        y0 = rng.uniform(0, 150, 3 * n)
        ann = ann.assign(x_min=x0, y_min=y0, x_max=x0 + rng.uniform(20, 100, 3 * n),
                         y_max=y0 + rng.uniform(20, 100, 3 * n), image_width=256, image_height=256)
    queue = pd.DataFrame({"task": rng.permutation(n), "reasons": "low_agreement",
                          "suggested_label": rng.choice(["cat", "dog"], size=n)})
    return ann, queue


def bench_panel(n: int, repeats: int, *, kind: str, tmp: Path) -> dict:
    ann, queue = make_data(n, boxes=kind == "image")
    if kind == "image":
        image = np.random.default_rng(1).integers(0, 255, (256, 256, 3), dtype=np.uint8)
        content = lambda task: image  # noqa: E731
    else:
        text = "The quick brown fox jumps over the lazy dog. " * 6
        content = lambda task: text  # noqa: E731
    t0 = time.perf_counter()
    log = DecisionLog(tmp / f"{kind}.jsonl", annotations=ann)
    panel = ReviewPanel(queue, ann, log, reviewer="bench", content=content)
    build = time.perf_counter() - t0
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        (panel.accept_button if i % 2 else panel.fix_button).click()
        times.append(time.perf_counter() - t)
    assert panel.error == "", panel.error
    assert len(log.read()) == repeats
    return {"case": f"decision -> next item ({kind})", "n_queued": n, "median_ms": 1e3 * statistics.median(times),
            "p90_ms": 1e3 * float(np.percentile(times, 90)), "setup_s": build}


def make_units(n_tasks: int, *, kind: str, seed: int = 0):
    """Typed tables: 3 annotators; images with 17 objects (51 boxes), texts with 6 spans each."""
    rng = np.random.default_rng(seed)
    per = 17 if kind == "image" else 6
    obj = np.arange(n_tasks * per)
    task = np.repeat(np.arange(n_tasks), per)
    rows = []
    for ann in ["a1", "a2", "a3"]:
        jitter = rng.normal(0, 1.5, size=len(obj))
        lab = rng.choice(["car", "person", "sign"], size=len(obj), p=[0.8, 0.1, 0.1])
        if kind == "image":
            x0 = (obj % per) % 5 * 95.0 + 10 + jitter
            y0 = (obj % per) // 5 * 95.0 + 10 + jitter
            rows.append(pd.DataFrame({"task": task, "annotator": ann, "label": lab, "field": "box", "kind": "box",
                                      "x_min": x0, "y_min": y0, "x_max": x0 + 70, "y_max": y0 + 60,
                                      "image_width": 500, "image_height": 400}))
        else:
            start = (obj % per) * 40 + 4
            rows.append(pd.DataFrame({"task": task, "annotator": ann, "label": lab, "field": "ner", "kind": "span",
                                      "start": start, "end": start + 12 + (jitter > 2)}))
    ann = pd.concat(rows, ignore_index=True)
    queue = pd.DataFrame({"task": rng.permutation(n_tasks), "reasons": "low_agreement"})
    return ann, queue


def bench_units(n_tasks: int, repeats: int, *, kind: str, tmp: Path) -> dict:
    ann, queue = make_units(n_tasks, kind=kind)
    if kind == "image":
        image = np.random.default_rng(1).integers(0, 255, (400, 500, 3), dtype=np.uint8)
        content = lambda task: image  # noqa: E731
    else:
        text = "The quick brown fox jumps over the lazy dog. " * 6
        content = lambda task: text  # noqa: E731
    t0 = time.perf_counter()
    log = DecisionLog(tmp / f"units_{kind}.jsonl", annotations=ann)
    panel = ReviewPanel(queue, ann, log, reviewer="bench", content=content)
    build = time.perf_counter() - t0
    n_boxes = len(panel.session.current.rows)
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        (panel.accept_button if i % 2 else panel.fix_button).click()
        times.append(time.perf_counter() - t)
    assert panel.error == "", panel.error
    assert len(log.read()) == repeats and log.read()["unit"].notna().all()
    what = f"image, {n_boxes} boxes" if kind == "image" else f"text, {n_boxes} spans"
    return {"case": f"decision -> next unit ({what})", "n_queued": panel.n_total,
            "median_ms": 1e3 * statistics.median(times), "p90_ms": 1e3 * float(np.percentile(times, 90)),
            "setup_s": build}


def bench_append(repeats: int, tmp: Path) -> list[dict]:
    log = DecisionLog(tmp / "append.jsonl")
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        log.append(i, "fix", reviewer="bench", label="dog", reason=None, comment="c")
        times.append(time.perf_counter() - t)
    con = sqlite3.connect(tmp / "peer.sqlite", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE d (ts TEXT, task INT, decision TEXT, reviewer TEXT, label TEXT, comment TEXT)")
    peer = []
    for i in range(repeats):
        t = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO d VALUES (datetime('now'), ?, 'fix', 'bench', 'dog', 'c')", (i,))
        con.execute("COMMIT")
        peer.append(time.perf_counter() - t)
    con.close()
    ours, theirs = statistics.median(times), statistics.median(peer)
    return [{"case": "log append + fsync (JSONL, filelock)", "n_queued": repeats, "median_ms": 1e3 * ours,
             "p90_ms": 1e3 * float(np.percentile(times, 90)), "setup_s": np.nan, "ratio_vs_peer": ours / theirs},
            {"case": "peer: SQLite WAL synchronous=FULL insert", "n_queued": repeats, "median_ms": 1e3 * theirs,
             "p90_ms": 1e3 * float(np.percentile(peer, 90)), "setup_s": np.nan, "ratio_vs_peer": 1.0}]


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--units-tasks", type=int, default=200, help="images / texts in the per-unit cases")
    ap.add_argument("--repeats", type=int, default=100)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as d:
        tmp = Path(d)
        rows = [bench_units(args.units_tasks, args.repeats, kind="text", tmp=tmp),
                bench_units(args.units_tasks, args.repeats, kind="image", tmp=tmp),
                bench_panel(args.n, args.repeats, kind="text", tmp=tmp),
                bench_panel(args.n, args.repeats, kind="image", tmp=tmp), *bench_append(args.repeats, tmp)]
    table = pd.DataFrame(rows)
    goals = {"decision -> next item (text)": 50, "decision -> next item (image)": 150,
             "log append + fsync (JSONL, filelock)": 5}
    table["goal_ms"] = table["case"].map(goals)
    table.loc[table["case"].str.startswith("decision -> next unit (text"), "goal_ms"] = 50
    table.loc[table["case"].str.startswith("decision -> next unit (image"), "goal_ms"] = 150
    table["meets_goal"] = table["median_ms"] < table["goal_ms"]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    return table


if __name__ == "__main__":
    main()
