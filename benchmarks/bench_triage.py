"""Benchmark: review queue and annotator report on 10^6 annotations vs pandas groupby-apply.

Run:  nice .venv/bin/python benchmarks/bench_triage.py [--n 1000000]

The baseline is the straightforward implementation a notebook user would write: one
``groupby(...).apply`` per task (majority, split, agreement, reasons) and per annotator
(leave-one-out agreement, gold accuracy with Wilson CI, median time). Both are timed in
the same run on the same synthetic table and checked to agree on the shared columns.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from qa_toolkit.annotators import annotator_report
from qa_toolkit.stats import wilson_interval
from qa_toolkit.triage import review_queue


def make_table(n: int, *, labels_per_task: int = 5, n_annotators: int = 2000, n_classes: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_tasks = n // labels_per_task
    truth = rng.integers(0, n_classes, n_tasks)
    task = np.repeat(np.arange(n_tasks), labels_per_task)
    skill = rng.uniform(0.5, 0.97, n_annotators)
    ann = rng.integers(0, n_annotators, len(task))
    right = rng.random(len(task)) < skill[ann]
    label = np.where(right, truth[task], rng.integers(0, n_classes, len(task)))
    df = pd.DataFrame({"task": task, "annotator": ann.astype(str), "label": label,
                       "lead_time": rng.gamma(2.0, 5.0, len(task))})
    gold_tasks = rng.choice(n_tasks, n_tasks // 10, replace=False)
    gold = pd.Series(truth[gold_tasks], index=gold_tasks, name="gold")
    return df, gold


def baseline_queue(df: pd.DataFrame) -> pd.DataFrame:
    def per_task(g):
        counts = g["label"].value_counts()
        n = counts.sum()
        agree = (counts * (counts - 1)).sum() / (n * (n - 1)) if n > 1 else np.nan
        split = "/".join(map(str, counts.to_numpy()))
        reason = f"{n} annotators split {split}" if len(counts) > 1 else ""
        return pd.Series({"majority_label": counts.index[0], "agreement": agree,
                          "priority": 1 - counts.iloc[0] / n, "reasons": reason})

    out = df.groupby("task").apply(per_task, include_groups=False)
    return out.sort_values("priority", ascending=False, kind="stable")


def baseline_report(df: pd.DataFrame, gold: pd.Series) -> pd.DataFrame:
    d = df.copy()
    d["gold"] = d["task"].map(gold)

    def loo(g):
        c = g["label"].map(g["label"].value_counts())
        return (c - 1) / (len(g) - 1) if len(g) > 1 else c * np.nan

    d["agree"] = d.groupby("task", group_keys=False).apply(loo, include_groups=False)

    def per_annotator(g):
        on = g["gold"].notna()
        k, n = int((g.loc[on, "label"] == g.loc[on, "gold"]).sum()), int(on.sum())
        lo, hi = wilson_interval(k, n)
        return pd.Series({"n_labels": len(g), "agreement": g["agree"].mean(),
                          "gold_accuracy": k / n if n else np.nan, "gold_ci_low": float(lo),
                          "gold_ci_high": float(hi), "median_lead_time": g["lead_time"].median()})

    return d.groupby("annotator").apply(per_annotator, include_groups=False)


def timed(f, *a, **k):
    t = time.perf_counter()
    out = f(*a, **k)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    df, gold = make_table(args.n)
    warnings.simplefilter("ignore")
    rows = []
    q, t_q = timed(review_queue, df, gold=gold)
    bq, t_bq = timed(baseline_queue, df)
    rows.append(("review_queue", t_q, t_bq))
    r, t_r = timed(annotator_report, df, gold=gold, dawid_skene=False)
    br, t_br = timed(baseline_report, df, gold)
    rows.append(("annotator_report (no DS)", t_r, t_br))
    _, t_ds = timed(annotator_report, df, gold=gold)
    rows.append(("annotator_report (+ Dawid-Skene)", t_ds, np.nan))

    # the two implementations must agree where they compute the same thing
    qi = q.set_index("task")
    assert (qi.loc[bq.index, "agreement"].to_numpy() - bq["agreement"].to_numpy(dtype=float)).__abs__().max() < 1e-9
    for col in ("n_labels", "agreement", "gold_accuracy", "gold_ci_low", "median_lead_time"):
        np.testing.assert_allclose(r.loc[br.index, col].to_numpy(dtype=float), br[col].to_numpy(dtype=float), rtol=1e-9)

    print(f"{len(df):,} annotations, {df['task'].nunique():,} tasks, {df['annotator'].nunique():,} annotators, "
          f"{len(gold):,} gold tasks")
    print(f"{'step':<34}{'qa_toolkit s':>14}{'groupby-apply s':>17}{'speed-up':>10}")
    for name, a, b in rows:
        sb = f"{b:17.2f}" if np.isfinite(b) else f"{'-':>17}"
        sp = f"{b / a:9.1f}x" if np.isfinite(b) else f"{'-':>10}"
        print(f"{name:<34}{a:14.2f}{sb}{sp}")


if __name__ == "__main__":
    main()
