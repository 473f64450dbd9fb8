"""Benchmark: qa_toolkit DawidSkene vs crowd-kit DawidSkene on synthetic data with known truth.

Run:  nice .venv/bin/python benchmarks/bench_aggregation.py [--sizes 100000 1000000] [--repeats 3]

crowd-kit is benchmark-only (``pip install crowd-kit``). Both run at most 100 EM
iterations from majority-vote proportions; accuracy is against the generating truth.
Prints a markdown table; speed-up = crowd-kit median time / ours.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from qa_toolkit.aggregation import DawidSkene, majority_vote


def make_data(n_annotations: int, *, k: int = 4, per_task: int = 5, random_state: int = 0):
    """Synthetic crowd: per-annotator confusion matrices (skill 0.35-0.95), known truth."""
    rng = np.random.default_rng(random_state)
    n_tasks = n_annotations // per_task
    n_annotators = max(50, n_annotations // 1000)
    truth = rng.choice(k, n_tasks, p=np.linspace(1, 2, k) / np.linspace(1, 2, k).sum())
    skill = rng.uniform(0.35, 0.95, n_annotators)
    # confusion: diagonal = skill, the rest a random Dirichlet split (biased errors)
    off = rng.dirichlet(np.ones(k - 1), size=(n_annotators, k))
    task = np.repeat(np.arange(n_tasks), per_task)
    ann = rng.integers(0, n_annotators, n_tasks * per_task)
    t = truth[task]
    correct = rng.random(task.size) < skill[ann]
    # draw a wrong label from the annotator's error distribution for the true class
    cum = off[ann, t].cumsum(axis=1)
    j = (rng.random(task.size)[:, None] > cum).sum(axis=1).clip(max=k - 2)
    wrong = j + (j >= t)
    label = np.where(correct, t, wrong)
    df = pd.DataFrame({"task": task, "annotator": ann, "label": label})
    df = df.drop_duplicates(["task", "annotator"]).reset_index(drop=True)
    return df, pd.Series(truth, name="gold")


def _time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--annotators", type=int, default=0, help="reassign labels to this many annotators (issue 14: 5000)")
    ap.add_argument("--fixed-iterations", action="store_true", help="tol=0: always 100 iterations (both)")
    ap.add_argument("--precision", default="auto", choices=["auto", "float64", "float32"])
    args = ap.parse_args(argv)
    try:
        from crowdkit.aggregation import DawidSkene as CKDawidSkene
    except ImportError as exc:  # pragma: no cover
        raise SystemExit("crowd-kit is needed for this benchmark: pip install crowd-kit") from exc

    rows = []
    for n in args.sizes:
        df, truth = make_data(n)
        if args.annotators:
            df["annotator"] = np.random.default_rng(1).integers(0, args.annotators, len(df))
            df = df.drop_duplicates(["task", "annotator"]).reset_index(drop=True)
        tol = {"tol": 0.0} if args.fixed_iterations else {}
        ck_df = df.rename(columns={"annotator": "worker"})
        t_ours, ours = _time(lambda d=df, tol=tol: DawidSkene(max_iter=100, precision=args.precision, **tol).fit(d), args.repeats)
        t_ck, ck = _time(lambda d=ck_df, tol=tol: CKDawidSkene(n_iter=100, **tol).fit(d), args.repeats)
        acc_ours = float((ours.labels_.to_numpy() == truth.loc[ours.labels_.index].to_numpy()).mean())
        ck_lab = ck.labels_.sort_index()
        acc_ck = float((ck_lab.to_numpy() == truth.loc[ck_lab.index].to_numpy()).mean())
        mv = majority_vote(df, random_state=0)
        acc_mv = float((mv.to_numpy() == truth.loc[mv.index].to_numpy()).mean())
        rows.append(
            (len(df), df["annotator"].nunique(), acc_mv, acc_ours, acc_ck,
             ours.n_iter_, len(ck.loss_history_), t_ours, t_ck)
        )

    print(
        "| annotations | annotators | MV acc | ours acc | crowd-kit acc | ours iters "
        "| crowd-kit iters | ours s (median) | crowd-kit s (median) | speed-up |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, a, mv, ao, ac, it, itc, to, tc in rows:
        print(
            f"| {n:,} | {a} | {mv:.4f} | {ao:.4f} | {ac:.4f} | {it} | {itc} "
            f"| {to:.3f} | {tc:.3f} | {tc / to:.1f}x |"
        )


if __name__ == "__main__":
    main()
