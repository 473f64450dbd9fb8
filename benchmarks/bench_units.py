"""Benchmark: agreement units (cross-annotator matching) against a plain per-task LSA loop.

Run:  nice .venv/bin/python benchmarks/bench_units.py [--boxes 100000] [--labels 1000000] [--repeats 3]

Boxes: synthetic detection data, 3 annotators, ~8 objects per image; each annotator
draws each object with probability 0.9 (jittered corners) plus a few spurious boxes.
Side by side, on the same rows:

* ``to_units`` — matching of all annotators together (vectorised candidate IoU,
  greedy complete-linkage clustering) and the unit table with "absent" values;
* ``lsa_loop`` — the plain baseline the issue names: for every task and every
  annotator pair, the IoU matrix and ``scipy.optimize.linear_sum_assignment``, pairs
  kept at IoU >= 0.5 (pairwise matches only, no units).

Multi-label and rating units: 10^6 label rows (3 annotators, 12 labels, ~2.5 chosen
per annotator and task; ratings 1-5). Targets (issue 11): boxes <= 5 s and never
slower than the loop; multi-label and rating units <= 2 s. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import time
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from qa_toolkit.units import to_units


def make_boxes(n_boxes: int, *, n_annotators: int = 3, per_task: int = 8, random_state: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(random_state)
    n_tasks = max(1, int(n_boxes / (n_annotators * per_task * 0.93)))
    n_obj = n_tasks * per_task
    task = np.repeat(np.arange(n_tasks), per_task)
    xy = rng.uniform(0, 900, (n_obj, 2))
    wh = rng.uniform(20, 120, (n_obj, 2))
    label = rng.choice(["car", "person", "dog", "bike"], n_obj)
    parts = []
    for a in range(n_annotators):
        keep = rng.random(n_obj) < 0.9
        j = np.clip(rng.normal(0, 4, (n_obj, 4)), -8, 8)
        parts.append(pd.DataFrame({
            "task": task[keep], "annotator": f"ann{a}",
            "label": np.where(rng.random(n_obj) < 0.05, "truck", label)[keep],
            "x_min": (xy[:, 0] + j[:, 0])[keep], "y_min": (xy[:, 1] + j[:, 1])[keep],
            "x_max": (xy[:, 0] + wh[:, 0] + j[:, 2])[keep], "y_max": (xy[:, 1] + wh[:, 1] + j[:, 3])[keep]}))
        n_sp = n_obj // 20
        sxy = rng.uniform(0, 900, (n_sp, 2))
        parts.append(pd.DataFrame({"task": rng.integers(0, n_tasks, n_sp), "annotator": f"ann{a}", "label": "car",
                                   "x_min": sxy[:, 0], "y_min": sxy[:, 1], "x_max": sxy[:, 0] + 50, "y_max": sxy[:, 1] + 50}))
    df = pd.concat(parts, ignore_index=True)
    return df.iloc[:n_boxes].sort_values("task", kind="stable", ignore_index=True)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def lsa_loop(df: pd.DataFrame, thr: float = 0.5) -> int:
    """Plain per-task, per-pair Hungarian matching; returns the number of matched pairs."""
    coords = df[["x_min", "y_min", "x_max", "y_max"]].to_numpy(float)
    ann = df["annotator"].to_numpy()
    n = 0
    for _, idx in df.groupby("task", sort=False).indices.items():
        by = {a: idx[ann[idx] == a] for a in pd.unique(ann[idx])}
        for a, b in combinations(by, 2):
            m = _iou(coords[by[a]], coords[by[b]])
            r, c = linear_sum_assignment(-m)
            n += int((m[r, c] >= thr).sum())
    return n


def make_multilabel(n_labels: int, random_state: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(random_state)
    per = 2.5
    n_pairs = int(1.15 * n_labels / per)  # duplicates dropped below; trimmed to n_labels
    n_tasks = n_pairs // 3
    task = np.repeat(np.arange(n_tasks), 3)
    ann = np.tile(np.array(["a", "b", "c"]), n_tasks)
    k = rng.poisson(per - 1, len(task)) + 1
    rows = np.repeat(np.arange(len(task)), k)
    lab = rng.integers(0, 12, len(rows))
    df = pd.DataFrame({"task": task[rows], "annotator": ann[rows], "label": np.array([f"L{i}" for i in range(12)])[lab]})
    return df.drop_duplicates(ignore_index=True).iloc[:n_labels]


def timeit(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--boxes", type=int, default=100_000)
    p.add_argument("--labels", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    boxes = make_boxes(args.boxes)
    t_units, u = timeit(lambda: to_units(boxes, kinds={"label": "box"}), args.repeats)
    t_loop, n_pairs = timeit(lambda: lsa_loop(boxes), args.repeats)
    from qa_toolkit.units.reduce import region_units

    _, pairs = region_units(boxes, kinds={"label": "box"})
    ml = make_multilabel(args.labels)
    t_ml, mu = timeit(lambda: to_units(ml, kinds={"label": "multilabel"}), args.repeats)
    rng = np.random.default_rng(1)
    n_t = args.labels // 3
    rt = pd.DataFrame({"task": np.repeat(np.arange(n_t), 3), "annotator": np.tile(["a", "b", "c"], n_t),
                       "label": rng.integers(1, 6, 3 * n_t)})
    t_rt, ru = timeit(lambda: to_units(rt, kinds={"label": "ordinal"}), args.repeats)
    print(f"| step | rows in | units out | seconds (best of {args.repeats}) | target |")
    print("|---|---|---|---|---|")
    print(f"| box units (to_units, 3 annotators together) | {len(boxes):,} boxes | {u['unit'].nunique():,} objects, "
          f"{len(pairs):,} matched pairs | {t_units:.2f} | <= 5 s and <= loop |")
    print(f"| plain per-task LSA loop (pairs only) | {len(boxes):,} boxes | {n_pairs:,} matched pairs | {t_loop:.2f} | - |")
    print(f"| multilabel units | {len(ml):,} labels | {len(mu):,} binary unit rows | {t_ml:.2f} | <= 2 s |")
    print(f"| rating units | {len(rt):,} ratings | {len(ru):,} | {t_rt:.2f} | <= 2 s |")


if __name__ == "__main__":
    main()
