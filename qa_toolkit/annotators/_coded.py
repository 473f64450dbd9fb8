"""The categorical annotator report's per-row work on integer codes (issue 14).

:func:`coded_core` computes what :func:`~qa_toolkit.annotators.categorical.categorical_annotator_report`
derives from the rows when there is no gold: the leave-one-out agreement and its CI, the
plurality reference, each annotator's top label and its share among the others, the worst
label and the most confused pair. Task, annotator and label are coded once (categoricals
keep their codes), so no per-row object array of ids or labels is built and no groupby
hashes strings. Every number and every tie-break is the one of the row-wise code (the
groupbys run on the same rows in the same order, keyed by codes whose order is the order
the row-wise groupbys use); :func:`usable` says when this path applies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from qa_toolkit.annotators.gold import _ambiguous, _same_label_rows
from qa_toolkit.engines._intcode import sorted_codes

__all__ = ["usable", "coded_core"]

#: Largest dense (tasks x labels) or (annotators x labels x labels) array this path builds.
MAX_CELLS = 2**28


def usable(d: pd.DataFrame) -> bool:
    """Whether :func:`coded_core` gives the row-wise results: no missing value, one kind of label."""
    if len(d) < 2 or any(bool(d[c].isna().any()) for c in ("task", "annotator", "label")):
        return False
    return not _ambiguous(d["label"]) and not _ambiguous(d["annotator"], safe=("string", "integer"))


def _codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes in the order a ``groupby`` of the column lists its groups (categoricals: category order)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.int64)
        cats = col.cat.categories
        used = np.bincount(codes, minlength=len(cats)) > 0
        if not used.all():
            remap = np.cumsum(used) - 1
            codes, cats = remap[codes], cats[used]
        return codes, pd.Index(cats)
    codes, uniques = sorted_codes(col)  # pd.factorize(col, sort=True); compact integer ids by one bincount
    return codes.astype(np.int64), pd.Index(uniques)


def _sorted_rank(values: pd.Index) -> np.ndarray:
    """Rank of each value in sorted order (what a groupby of an object column sorts by)."""
    order = np.argsort(np.asarray(values, dtype=object), kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank


def coded_core(d: pd.DataFrame, *, confidence: float) -> dict | None:
    """Per-annotator columns of the categorical report (no gold), or None when too large to code densely.

    Returns ``agreement`` (the :func:`~qa_toolkit.annotators.flags.annotator_agreement`
    table), ``n_classes``, ``table_top`` and the Series ``top_label_share``,
    ``reference_top_share``, ``worst_label`` and ``most_confused`` indexed by annotator.
    """
    t, tasks = _codes(d["task"])
    a, names = _codes(d["annotator"])
    lab, labels = _codes(d["label"])
    n_t, n_a, K = len(tasks), len(names), len(labels)
    if n_t * K > MAX_CELLS or n_a * K * K > MAX_CELLS:
        return None
    a_rank = _sorted_rank(names)  # the row-wise code groups annotators by sorted value
    wc = a_rank[a]
    who = pd.Index(names).take(np.argsort(a_rank))  # annotator of each sorted code
    l_rank = _sorted_rank(labels)
    counts = np.bincount(t * K + lab, minlength=n_t * K).reshape(n_t, K)
    n = np.bincount(t, minlength=n_t)

    # leave-one-out agreement per row and its per-annotator mean and CI (flags.annotator_agreement)
    c_own = counts[t, lab]
    n_row = n[t].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = np.where(n_row > 1, (c_own.astype(float) - 1) / (n_row - 1), np.nan)
    g = pd.Series(agree).groupby(wc, sort=True)
    size = np.bincount(wc, minlength=n_a)
    mean, sd, cnt = g.mean(), g.std(ddof=1), g.count()
    z = float(ndtri(0.5 + confidence / 2))
    half = z * sd / np.sqrt(cnt)
    seen = np.zeros(n_a * n_t, dtype=bool) if n_a * n_t <= MAX_CELLS else None
    if seen is not None:
        seen[wc * n_t + t] = True
        n_tasks = seen.reshape(n_a, n_t).sum(axis=1)
    else:
        n_tasks = np.bincount(np.unique(wc * n_t + t) // n_t, minlength=n_a)
    agreement = pd.DataFrame({"n_labels": size.astype(np.int64), "n_tasks": n_tasks.astype(np.int64),
                              "agreement": mean.reindex(range(n_a)).to_numpy(),
                              "agreement_ci_low": (mean - half).reindex(range(n_a)).to_numpy(),
                              "agreement_ci_high": (mean + half).reindex(range(n_a)).to_numpy()},
                             index=pd.Index(who, name="annotator"))

    # plurality reference per task, ties to the lowest label (vote.plurality: the factorised order)
    top = counts.max(axis=1)
    ref = np.argmax(counts == top[:, None], axis=1)[t]  # per row, the reference's label code

    # each annotator's most frequent label (ties: the label listed first by a groupby of the column)
    per = np.bincount(wc * K + lab, minlength=n_a * K).reshape(n_a, K)
    top_share = per.max(axis=1) / size
    top_of = np.argmax(per == per.max(axis=1, keepdims=True), axis=1)
    tgt = top_of[wc]
    c_tgt = counts[t, tgt] - (lab == tgt)
    n_top = (counts == top[:, None]).sum(axis=1)
    best = top[t] - ((c_own == top[t]) & (n_top[t] == 1))
    loo_ref = np.where(n[t] > 1, ((c_tgt >= best) & (c_tgt > 0)).astype(float), np.nan)
    ref_share = pd.Series(loo_ref).groupby(wc, sort=True).mean().reindex(range(n_a)).to_numpy()

    # wrong against the reference: label equality decided once per pair of labels (gold.same_label)
    lab_obj = np.asarray(labels, dtype=object)
    ii, jj = np.divmod(np.arange(K * K), K)
    same = _same_label_rows(pd.Series(lab_obj[ii], dtype=object), pd.Series(lab_obj[jj], dtype=object))
    wrong = ~same.reshape(K, K)[lab, ref]
    # worst label: highest error rate per (annotator, reference) with 3+ rows, ties by sorted label
    cell = wc * K + l_rank[ref]
    tot = np.bincount(cell, minlength=n_a * K).reshape(n_a, K)
    bad = np.bincount(cell, weights=wrong, minlength=n_a * K).reshape(n_a, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where((tot >= 3) & (bad > 0), bad / tot, -1.0)
    by_rank = np.asarray(lab_obj)[np.argsort(l_rank)]
    worst = np.where(rate.max(axis=1) > 0, np.argmax(rate == rate.max(axis=1, keepdims=True), axis=1), -1)
    worst_label = pd.Series([by_rank[w] if w >= 0 else np.nan for w in worst], index=agreement.index)
    # most confused pair "reference -> given": most frequent per annotator, ties by (reference, given) sorted
    key = (wc[wrong] * K + l_rank[ref[wrong]]) * K + l_rank[lab[wrong]]
    pairs = np.bincount(key, minlength=n_a * K * K).reshape(n_a, K * K)
    most = np.argmax(pairs == pairs.max(axis=1, keepdims=True), axis=1)
    confused = [f"{by_rank[m // K]} -> {by_rank[m % K]}" if pairs[i, m] > 0 else np.nan for i, m in enumerate(most)]
    return {"agreement": agreement, "n_classes": max(2, K), "table_top": float(np.bincount(lab).max() / len(lab)),
            "top_label_share": pd.Series(top_share, index=agreement.index),
            "reference_top_share": pd.Series(ref_share, index=agreement.index),
            "worst_label": worst_label, "most_confused": pd.Series(confused, index=agreement.index)}
