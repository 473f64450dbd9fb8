"""Per-annotator quality of a categorical table: agreement, gold accuracy with Wilson CIs,
Dawid-Skene accuracy, review decision rates, label mix and flags.

The reference label for "worst label" and "most confused pair" is the gold label where
there is one, otherwise the task's plurality label (:func:`qa_toolkit.vote.plurality`,
ties: lowest label). Agreement is the one per-annotator definition of
:mod:`qa_toolkit.annotators.flags` (leave-one-out, CI over tasks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_fraction, check_positive_int
from qa_toolkit.aggregation import DawidSkene
from qa_toolkit.annotators._coded import coded_core, usable
from qa_toolkit.annotators.decisions import DECISIONS, decision_rates
from qa_toolkit.annotators.flags import (
    annotator_agreement,
    others_majority_share,
    relative_low_agreement,
)
from qa_toolkit.annotators.gold import check_gold, same_label
from qa_toolkit.stats import wilson_interval
from qa_toolkit.vote import plurality

__all__ = ["categorical_annotator_report"]


def _ds_accuracy(data: pd.DataFrame) -> pd.Series:
    model = DawidSkene().fit(data[["task", "annotator", "label"]])
    acc = model.annotator_accuracy_
    if isinstance(acc, dict):
        acc = pd.Series(acc)
    if isinstance(acc, pd.DataFrame):
        acc = acc["accuracy"] if "accuracy" in acc.columns else acc.iloc[:, 0]
    return pd.Series(acc, dtype=float)


def _top_pair(frame: pd.DataFrame, key: str, value: str, count: str) -> pd.Series:
    f = frame.sort_values([key, count], ascending=[True, False], kind="stable")
    return f.drop_duplicates(key).set_index(key)[value]


def categorical_annotator_report(
    data: pd.DataFrame,
    *,
    gold: pd.Series | None = None,
    pred_probs: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    dawid_skene: bool = True,
    min_labels: int = 20,
    min_gold: int = 10,
    target_accuracy: float = 0.8,
    fast_fraction: float = 0.25,
    constant_share: float = 0.95,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The categorical annotator report (see :func:`qa_toolkit.annotators.annotator_report`)."""
    func = "annotator_report"
    if len(data) == 0:
        raise QAInputError(f"The 'data' parameter of {func} is empty: expected at least one annotation.")
    min_labels = check_positive_int("min_labels", min_labels, func=func)
    min_gold = check_positive_int("min_gold", min_gold, func=func)
    target_accuracy = check_fraction("target_accuracy", target_accuracy, func=func)
    check_fraction("fast_fraction", fast_fraction, func=func)
    check_fraction("constant_share", constant_share, func=func)
    d = data[["task", "annotator", "label"]].copy()
    # issue 14: without gold, the per-row work runs on integer codes (same numbers, same ties)
    core = coded_core(d, confidence=confidence) if gold is None and usable(d) else None
    # the one per-annotator definition
    agreement = core["agreement"] if core is not None else annotator_agreement(d, confidence=confidence)
    out = agreement[["n_labels", "n_tasks", "agreement"]].copy()
    n_classes = core["n_classes"] if core is not None else max(2, d["label"].nunique())

    if gold is not None:
        gold = check_gold(gold, data, func=func)
        gl = d["task"].map(gold)
        on_gold = gl.notna().to_numpy()
        correct = pd.Series(np.where(on_gold, same_label(d["label"], gl), False))
        gg = pd.DataFrame({"annotator": d["annotator"].to_numpy()[on_gold], "c": correct.to_numpy()[on_gold]})
        gs = gg.groupby("annotator")["c"].agg(["sum", "size"]).reindex(out.index).fillna(0)
        out["gold_n"] = gs["size"].astype(int)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["gold_accuracy"] = np.where(gs["size"] > 0, gs["sum"] / gs["size"], np.nan)
        lo, hi = wilson_interval(gs["sum"].to_numpy(), gs["size"].to_numpy(), confidence=confidence)
        out["gold_ci_low"], out["gold_ci_high"] = lo, hi
    else:
        out["gold_n"] = 0
        out["gold_accuracy"] = out["gold_ci_low"] = out["gold_ci_high"] = np.nan

    if pred_probs is not None:
        if not isinstance(pred_probs, pd.DataFrame):
            raise QAInputError(f"The 'pred_probs' parameter of {func} must be a DataFrame (task x label). Got {type(pred_probs).__name__}.")
        top = pd.Series(pred_probs.columns.to_numpy()[np.argmax(pred_probs.to_numpy(dtype=float), axis=1)], index=pred_probs.index)
        mt = d["task"].map(top)
        m = mt.notna().to_numpy()
        hit = pd.Series(same_label(d["label"].to_numpy()[m], mt.to_numpy()[m]))
        out["model_alignment"] = hit.groupby(d["annotator"].to_numpy()[m]).mean().reindex(out.index)
    else:
        out["model_alignment"] = np.nan

    out["ds_accuracy"] = _ds_accuracy(data).reindex(out.index).to_numpy(dtype=float) if dawid_skene else np.nan

    if decisions is not None:
        out = out.join(decision_rates(decisions, data))
        out["n_reviewed"] = out["n_reviewed"].fillna(0).astype(int)
    else:
        for c in DECISIONS:
            out[f"{c}_rate"] = np.nan

    if "lead_time" in data.columns:
        lt = pd.to_numeric(data["lead_time"], errors="coerce")
        out["median_lead_time"] = lt.groupby(data["annotator"].to_numpy()).median().reindex(out.index)
        overall = float(lt.median())
    else:
        out["median_lead_time"] = np.nan
        overall = np.nan

    if core is not None:
        for col in ("top_label_share", "reference_top_share"):  # the columns' order of the row-wise path
            out[col] = core[col].reindex(out.index)
        out["agreement_ci_low"] = agreement["agreement_ci_low"]
        out["agreement_ci_high"] = agreement["agreement_ci_high"]
        for col in ("worst_label", "most_confused"):
            out[col] = core[col].reindex(out.index)
        return _flags(out, n_classes=n_classes, overall=overall, table_top=core["table_top"], min_labels=min_labels,
                      min_gold=min_gold, target_accuracy=target_accuracy, fast_fraction=fast_fraction,
                      constant_share=constant_share)
    # reference label: gold where known, else the task majority
    major = plurality(d, ties="lowest", func=func)["label"]  # the one vote kernel
    ref = d["task"].map(major)
    if gold is not None:
        ref = ref.where(~on_gold, gl)
    per_label = d.groupby(["annotator", "label"], observed=True).size().rename("n").reset_index()
    out["top_label_share"] = (per_label.groupby("annotator")["n"].max() / out["n_labels"]).reindex(out.index)
    table_top = d["label"].value_counts(normalize=True).iloc[0]
    top_of = per_label.sort_values(["annotator", "n"], ascending=[True, False], kind="stable").drop_duplicates("annotator")
    top_of = top_of.set_index("annotator")["label"]
    loo_ref = others_majority_share(d, d["annotator"].map(top_of))
    if gold is not None:
        gl_top = same_label(d["task"].map(gold).astype(object), d["annotator"].map(top_of).astype(object))
        loo_ref = np.where(on_gold, gl_top.astype(float), loo_ref)
    who = d["annotator"].to_numpy()  # one conversion of the annotator column for the groupbys below
    out["reference_top_share"] = pd.Series(loo_ref).groupby(who).mean().reindex(out.index)
    out["agreement_ci_low"] = agreement["agreement_ci_low"]
    out["agreement_ci_high"] = agreement["agreement_ci_high"]

    wrong = ~same_label(d["label"], ref)
    e = pd.DataFrame({"annotator": who, "ref": ref.to_numpy(), "wrong": wrong, "given": d["label"].to_numpy()})
    acc_lab = e.groupby(["annotator", "ref"], observed=True)["wrong"].agg(["mean", "size"]).reset_index()
    acc_lab = acc_lab[acc_lab["size"] >= 3]
    out["worst_label"] = _top_pair(acc_lab[acc_lab["mean"] > 0], "annotator", "ref", "mean").reindex(out.index)
    errs = e[e["wrong"]]
    pairs = errs.groupby(["annotator", "ref", "given"], observed=True).size().rename("n").reset_index()
    pairs["pair"] = pairs["ref"].astype(str) + " -> " + pairs["given"].astype(str)
    out["most_confused"] = _top_pair(pairs, "annotator", "pair", "n").reindex(out.index)

    return _flags(out, n_classes=n_classes, overall=overall, table_top=table_top, min_labels=min_labels,
                  min_gold=min_gold, target_accuracy=target_accuracy, fast_fraction=fast_fraction,
                  constant_share=constant_share)


def _flags(out: pd.DataFrame, *, n_classes: int, overall: float, table_top: float, min_labels: int, min_gold: int,
           target_accuracy: float, fast_fraction: float, constant_share: float) -> pd.DataFrame:
    """Spam / low-agreement / calibration flags, as contract pairs and words."""
    enough = (out["n_labels"] >= min_labels).to_numpy()
    gold_ok = (out["gold_n"] >= min_gold).to_numpy()
    med_agree = float(np.nanmedian(out["agreement"])) if out["agreement"].notna().any() else np.nan
    too_fast = enough & (out["median_lead_time"] < fast_fraction * overall).to_numpy()
    constant = (enough & (out["top_label_share"] >= constant_share).to_numpy() & (table_top < constant_share)
                & (out["reference_top_share"].fillna(0) < constant_share).to_numpy())
    near_random = gold_ok & (out["gold_accuracy"] <= 1.0 / n_classes + 0.1).to_numpy()
    low_agree = enough & (out["agreement"] < 0.5 * med_agree).to_numpy()
    calib = gold_ok & (out["gold_ci_high"] < target_accuracy).to_numpy()
    rel_low = relative_low_agreement(out["agreement"], out["agreement_ci_high"], enough & ~gold_ok) & ~low_agree
    out["is_low_agreement_issue"] = rel_low | low_agree
    out["is_spammer_issue"] = too_fast | constant | near_random | low_agree
    out["needs_calibration"] = calib & ~out["is_spammer_issue"].to_numpy()
    # issue contract keyed by annotator: lower score = worse
    out["low_agreement_score"] = out["agreement"]
    out["spammer_score"] = np.where(out["is_spammer_issue"].to_numpy(), 0.0, 1.0)
    words = [
        (~enough, "insufficient data"),
        (too_fast, "possible spammer: too fast"),
        (constant, "possible spammer: constant label"),
        (near_random, "possible spammer: near-random on gold"),
        (low_agree, "possible spammer: low agreement"),
        (rel_low, "low agreement: CI upper bound below the others' median"),
        (out["needs_calibration"].to_numpy(), "needs calibration"),
    ]
    flags: list[list[str]] = [[] for _ in range(len(out))]
    for mask, w in words:
        for i in np.flatnonzero(mask):
            flags[i].append(w)
    out["flags"] = ["; ".join(f) for f in flags]
    out.index.name = "annotator"
    return out
