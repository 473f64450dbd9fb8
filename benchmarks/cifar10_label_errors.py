"""CIFAR-10 test-set label errors: fused ranking (human votes + model) vs cleanlab.

Data (read-only, from ``../shared/datasets`` via ``qa_toolkit.datasets.dataset_path``):

* ``cleanlab_label_errors/pyx/cifar10_test_set_pyx.npy`` - cleanlab's out-of-sample
  predicted probabilities for the 10,000 test images (Northcutt et al. 2021);
* ``cleanlab_label_errors/labels/cifar10_test_set_original_labels.npy`` - given labels;
* ``cleanlab_label_errors/mturk/cifar10_mturk.json`` - 275 candidates checked by 5
  MTurk workers; a candidate is a validated error when fewer than 3 of the 5 chose the
  given label (``mturk['given'] < 3``), which gives 54 errors as in the paper;
* ``cifar10h/cifar10h-counts.npy`` - CIFAR-10H human votes (Peterson et al. 2019), about
  51 per image, same image order.

Protocol: all 10,000 images are ranked; positives are the 54 validated errors, every
other image is a negative. Baseline: cleanlab's self-confidence ranking
(``cleanlab.rank.get_label_quality_scores(method='self_confidence')``, ascending).
Fused: ``qa_toolkit.errors.fusion.fused_issue_table`` with the CIFAR-10H votes and the same
probabilities, default equal-weight rank fusion (no parameter fitted on the 54 labels;
see the module docstring of ``qa_toolkit.errors.fusion`` for how the rule was chosen).
Metrics: average precision (sklearn) and precision at 54.

Run: ``python benchmarks/cifar10_label_errors.py``; the last line is
``AP fused=<float> cleanlab=<float> P@54 fused=<float> cleanlab=<float>``.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd


def load_cifar10(data_home=None) -> dict:
    """Given labels, pred_probs, CIFAR-10H vote counts and the validated-error mask."""
    from qa_toolkit.datasets import dataset_path

    root = dataset_path("cleanlab_label_errors", data_home=data_home)
    h_root = dataset_path("cifar10h", data_home=data_home)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    pyx = np.load(root / "pyx" / "cifar10_test_set_pyx.npy")
    given = np.load(root / "labels" / "cifar10_test_set_original_labels.npy")
    counts = np.load(h_root / "cifar10h-counts.npy")
    mturk = json.loads((root / "mturk" / "cifar10_mturk.json").read_text())
    is_error = np.zeros(len(given), dtype=bool)
    for rec in mturk:
        if rec["mturk"]["given"] < 3:  # Northcutt et al. 2021 rule; SOURCE.md: 54 of 275
            is_error[rec["id"]] = True
    index = pd.RangeIndex(len(given), name="task")
    cols = pd.Index(classes, name="label")
    return {
        "labels": pd.Series(np.asarray(classes, dtype=object)[given], index=index, name="label"),
        "pred_probs": pd.DataFrame(pyx, index=index, columns=cols),
        "vote_counts": pd.DataFrame(counts, index=index, columns=cols),
        "is_error": pd.Series(is_error, index=index, name="is_error"),
        "n_candidates": len(mturk),
    }


def precision_at(y: np.ndarray, priority: np.ndarray, k: int) -> float:
    """Share of positives among the ``k`` items of highest priority (stable order)."""
    order = np.argsort(-priority, kind="stable")[:k]
    return float(y[order].mean())


def run_benchmark(data_home=None) -> dict:
    """Compute AP and P@k (k = number of validated errors) for fused vs cleanlab."""
    from cleanlab.rank import get_label_quality_scores
    from sklearn.metrics import average_precision_score

    from qa_toolkit.errors.fusion import fused_issue_table

    d = load_cifar10(data_home)
    y = d["is_error"].to_numpy()
    k = int(y.sum())
    codes = d["pred_probs"].columns.get_indexer(d["labels"].to_numpy())
    t0 = time.perf_counter()
    self_conf = get_label_quality_scores(codes, d["pred_probs"].to_numpy(), method="self_confidence")
    t_cl = time.perf_counter() - t0
    t0 = time.perf_counter()
    fused = fused_issue_table(d["labels"], vote_counts=d["vote_counts"], pred_probs=d["pred_probs"])
    t_fused = time.perf_counter() - t0
    fused = fused.reindex(d["labels"].index)
    human = fused["vote_share"].to_numpy()
    rows = {
        "cleanlab self-confidence": -self_conf,
        "human vote share (CIFAR-10H)": -human,
        "fused (rank fusion, equal weights)": fused["priority"].to_numpy(),
    }
    table = pd.DataFrame(
        {
            "AP": [average_precision_score(y, s) for s in rows.values()],
            f"P@{k}": [precision_at(y, s, k) for s in rows.values()],
        },
        index=pd.Index(list(rows), name="ranking"),
    )
    return {
        "table": table,
        "n_items": len(y),
        "n_errors": k,
        "n_candidates": d["n_candidates"],
        "ap_fused": float(table.iloc[2]["AP"]),
        "ap_cleanlab": float(table.iloc[0]["AP"]),
        "p_fused": float(table.iloc[2][f"P@{k}"]),
        "p_cleanlab": float(table.iloc[0][f"P@{k}"]),
        "seconds_cleanlab": t_cl,
        "seconds_fused": t_fused,
        "n_fused_issues": int(fused["is_fused_issue"].sum()),
        "recall_fused_issues": float(fused.loc[d["is_error"], "is_fused_issue"].mean()),
    }


def main() -> None:
    r = run_benchmark()
    print(f"CIFAR-10 test set: {r['n_items']} images, {r['n_errors']} validated errors "
          f"(of {r['n_candidates']} MTurk-checked candidates)")
    print(r["table"].to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"AP ratio fused/cleanlab = {r['ap_fused'] / r['ap_cleanlab']:.2f} (goal >= 2)")
    print(f"is_fused_issue: {r['n_fused_issues']} items flagged, recall of validated errors "
          f"{r['recall_fused_issues']:.3f}")
    print(f"time: cleanlab scores {r['seconds_cleanlab']:.3f} s, fused table {r['seconds_fused']:.2f} s")
    print(f"AP fused={r['ap_fused']:.4f} cleanlab={r['ap_cleanlab']:.4f} "
          f"P@{r['n_errors']} fused={r['p_fused']:.4f} cleanlab={r['p_cleanlab']:.4f}")


if __name__ == "__main__":
    main()
