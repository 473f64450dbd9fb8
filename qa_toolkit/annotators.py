"""Per-annotator quality: agreement, gold accuracy with Wilson CIs, Dawid-Skene accuracy, flags.

The reference label for "worst label" and "most confused pair" is the gold label where
there is one, otherwise the task's majority label.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    QAInputError,
    QAWarning,
    check_columns,
    check_fraction,
    check_positive_int,
)
from qa_toolkit.annotators_kinds import others_majority_share, relative_low_agreement, task_mean_ci
from qa_toolkit.stats import wilson_interval

__all__ = ["annotator_report", "loo_agreement", "check_gold", "same_label", "final_decision_table"]

_DECISIONS = ("accept", "fix", "reject")


def check_gold(gold, data: pd.DataFrame, *, func: str) -> pd.Series:
    """Validate ``gold`` (Series indexed by task) against ``data``; return it without NaN.

    Parameters
    ----------
    gold : pandas.Series
        Gold labels indexed by task.
    data : pandas.DataFrame
        Canonical long annotations.
    func : str
        Name of the calling function, for the message.

    Returns
    -------
    pandas.Series
        ``gold`` without missing values or duplicate tasks.

    Raises
    ------
    QAInputError
        When ``gold`` is not a Series or none of its tasks is in ``data``.
    """
    if not isinstance(gold, pd.Series):
        raise QAInputError(
            f"The 'gold' parameter of {func} must be a pandas Series of labels indexed by task. "
            f"Got {type(gold).__name__} instead."
        )
    gold = gold.dropna()
    gold = gold[~gold.index.duplicated()]
    if len(gold) and not gold.index.isin(data["task"].unique()).any():
        raise QAInputError(
            f"The 'gold' parameter of {func}: none of its {len(gold)} tasks is in the annotations "
            f"(gold tasks e.g. {list(gold.index[:3])}, annotation tasks e.g. "
            f"{list(pd.unique(data['task'])[:3])}). Index gold by the same task ids."
        )
    return gold


def same_label(a, b) -> np.ndarray:
    """Elementwise label equality that treats ``1``, ``1.0`` and ``'1'`` alike.

    Parameters
    ----------
    a, b : array-like
        Labels of equal length.

    Returns
    -------
    numpy.ndarray of bool
        True where the labels are equal.

    Examples
    --------
    >>> same_label([1, "x"], ["1.0", "y"]).tolist()
    [True, False]
    """
    a, b = pd.Series(np.asarray(a)), pd.Series(np.asarray(b))
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        return (a.to_numpy() == b.to_numpy())
    a, b = a.astype(object), b.astype(object)
    na, nb = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    num = na.notna() & nb.notna()
    out = a.astype(str).to_numpy() == b.astype(str).to_numpy()
    out[num.to_numpy()] = (na[num] == nb[num]).to_numpy()
    return out


def loo_agreement(data: pd.DataFrame) -> pd.Series:
    """Leave-one-out agreement of each row: share of the *other* labels on its task that match.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.

    Returns
    -------
    pandas.Series
        Aligned with ``data``'s rows, name ``loo_agreement``; NaN where the task has no
        other label.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": list("abc"), "label": list("xxy")})
    >>> loo_agreement(df).tolist()
    [0.5, 0.5, 0.0]
    """
    check_columns(data, ["task", "annotator", "label"], func="loo_agreement")
    c = data.groupby(["task", "label"], sort=False, observed=True)["annotator"].transform("size").to_numpy(dtype=float)
    n = data.groupby("task", sort=False)["annotator"].transform("size").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 1, (c - 1) / (n - 1), np.nan)
    return pd.Series(share, index=data.index, name="loo_agreement")


def _ds_accuracy(data: pd.DataFrame) -> pd.Series | None:
    try:
        from qa_toolkit.aggregation import DawidSkene
    except ImportError:
        warnings.warn("qa_toolkit.aggregation.DawidSkene is not available: ds_accuracy is NaN.", QAWarning, stacklevel=3)
        return None
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


def final_decision_table(decisions: pd.DataFrame) -> pd.DataFrame:
    """The effective decision per task (``undo`` pops the previous one, ``skip`` never wins).

    Replays the log in ``seq`` (or row) order with ``qa_toolkit.review.final_decisions``.

    Parameters
    ----------
    decisions : pandas.DataFrame
        A decision log (``task``, ``decision``, optionally ``seq``), e.g. ``DecisionLog.read()``.

    Returns
    -------
    pandas.DataFrame
        One row per task with its effective decision.
    """
    from qa_toolkit.review import final_decisions

    check_columns(decisions, ["task", "decision"], name="decisions", func="final_decision_table")
    d = decisions.sort_values("seq", kind="stable") if "seq" in decisions.columns else decisions
    final = final_decisions(d.to_dict("records"))
    rows = [rec for rec, _ in final.values()]
    if not rows:
        return pd.DataFrame(columns=list(decisions.columns))
    return pd.DataFrame.from_records(rows)


def _decision_rates(decisions: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """Accept / fix / reject rates per annotator, replayed per annotation where the log says whose."""
    check_columns(decisions, ["task", "decision"], name="decisions", func="annotator_report")
    keys = [c for c in ("annotation_id", "annotator") if c in decisions.columns]
    if keys:  # one effective decision per (task, annotation): undo / skip replayed per key
        dl = decisions.sort_values("seq", kind="stable") if "seq" in decisions.columns else decisions
        parts = [final_decision_table(g) for _, g in dl.groupby(keys, sort=False, dropna=False)]
        d = pd.concat(parts, ignore_index=True) if parts else dl.iloc[:0]
    else:
        d = final_decision_table(decisions)
    d = d[d["decision"].isin(_DECISIONS)]
    if "annotator" not in d.columns and "annotation_id" in d.columns:
        if "annotation_id" not in data.columns:
            raise QAInputError("annotator_report: the decision log names annotation_id but the annotations have no "
                               "'annotation_id' column to map it to an annotator.")
        who = data.drop_duplicates("annotation_id").set_index("annotation_id")["annotator"]
        d = d.assign(annotator=d["annotation_id"].map(who))
        unknown = d["annotator"].isna()
        if unknown.any():
            r = d.loc[unknown].iloc[0]
            raise QAInputError(f"annotator_report: decision on task {r['task']!r} names annotation_id "
                               f"{r['annotation_id']!r}, which is not in the annotations.")
    if "annotator" in d.columns:
        per = d[["annotator", "decision"]]
    else:  # the decision concerns every annotator of the task
        per = data[["task", "annotator"]].drop_duplicates().merge(d[["task", "decision"]], on="task")
    rates = pd.crosstab(per["annotator"], per["decision"], normalize="index")
    rates = rates.reindex(columns=list(_DECISIONS), fill_value=0.0)
    rates.columns = [f"{c}_rate" for c in rates.columns]
    rates["n_reviewed"] = per.groupby("annotator").size()
    return rates


def annotator_report(
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
    field=None,
    **typed,
) -> pd.DataFrame:
    """One row per annotator: volume, agreement, gold accuracy with CI, DS accuracy, flags.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations (``lead_time`` in seconds is used when present).
    gold : pandas.Series, optional
        Gold labels indexed by task.
    pred_probs : pandas.DataFrame, optional
        Model probabilities (task x label): gives ``model_alignment``, the share of the
        annotator's labels that equal the model's top label.
    decisions : pandas.DataFrame, optional
        Review decision log (``task``, ``decision`` in accept/fix/reject/skip/undo, and
        optionally ``annotator`` or ``annotation_id``); gives ``accept_rate``,
        ``fix_rate``, ``reject_rate``, replayed per annotation (undo / skip per
        (task, annotation)) when the log says whose annotation was judged. Without
        either column a task's final decision counts for all its annotators.
    dawid_skene : bool, default=True
        Fit ``qa_toolkit.aggregation.DawidSkene`` for ``ds_accuracy``.
    min_labels, min_gold : int
        Below these, "insufficient data" is flagged instead of judging.
    target_accuracy : float, default=0.8
        "needs calibration" when the gold CI upper bound is below it.
    fast_fraction : float, default=0.25
        "too fast" when the median lead time is below this share of the overall median.
    constant_share : float, default=0.95
        "constant label" when one label makes up at least this share of the annotator's
        labels, but not of the whole table, nor of the reference labels (gold, else the
        majority of the *other* annotators) of the annotator's own tasks: an annotator
        who was only shown one class is not a spammer.
    confidence : float, default=0.95
        Of the Wilson interval and the agreement interval.
    field : hashable, optional
        A field of a typed table: the report at the metrics of its kind (regions,
        ratings, multi-label; see :func:`qa_toolkit.annotators_kinds.field_annotator_report`).
        Required when the table has several fields or a non-categorical kind.
    **typed
        With ``field=``: ``kinds``, ``assignments``, ``iou_threshold``, ``quorum``,
        ``min_tasks``, ``n_boot``, ``random_state`` of the typed report.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``annotator``: ``n_labels``, ``n_tasks``, ``agreement`` (leave-one-out),
        ``gold_n``, ``gold_accuracy``, ``gold_ci_low``, ``gold_ci_high``,
        ``model_alignment``, ``ds_accuracy``, ``accept_rate``, ``fix_rate``,
        ``reject_rate``, ``median_lead_time``, ``top_label_share``, ``reference_top_share``
        (share of the annotator's tasks whose reference label is their top label),
        ``worst_label``, ``most_confused``, ``agreement_ci_low`` / ``agreement_ci_high``
        (normal interval over the annotator's tasks), ``is_low_agreement_issue`` (without
        enough gold: CI upper bound below the median agreement of the others),
        ``is_spammer_issue``, ``needs_calibration``, ``flags`` (words).

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"),
    ...                    "label": ["x", "x", "y", "x"]})
    >>> annotator_report(df, dawid_skene=False, min_labels=1)["agreement"].tolist()
    [0.5, 0.5]
    """
    func = "annotator_report"
    check_columns(data, ["task", "annotator", "label"], func=func)
    if field is not None or typed:
        from qa_toolkit.annotators_kinds import field_annotator_report

        classic = {k: v for k, v in dict(gold=gold, pred_probs=pred_probs, decisions=decisions, dawid_skene=dawid_skene,
                                         min_labels=min_labels, min_gold=min_gold, target_accuracy=target_accuracy,
                                         fast_fraction=fast_fraction, constant_share=constant_share,
                                         confidence=confidence).items()
                   if v is not annotator_report.__kwdefaults__[k]}
        return field_annotator_report(data, field=field, **typed, **classic)
    from qa_toolkit.agreement.fields import is_typed

    if ("field" in data.columns or "kind" in data.columns) and is_typed(data):
        from qa_toolkit.units.kinds import field_kinds

        ks = field_kinds(data)
        raise QAInputError(f"{func}: the table has typed fields {ks}; pass field=... to get the report of one field "
                           "at the metrics of its kind.")
    if len(data) == 0:
        raise QAInputError(f"The 'data' parameter of {func} is empty: expected at least one annotation.")
    min_labels = check_positive_int("min_labels", min_labels, func=func)
    min_gold = check_positive_int("min_gold", min_gold, func=func)
    target_accuracy = check_fraction("target_accuracy", target_accuracy, func=func)
    check_fraction("fast_fraction", fast_fraction, func=func)
    check_fraction("constant_share", constant_share, func=func)
    d = data[["task", "annotator", "label"]].copy()
    d["_agree"] = loo_agreement(data).to_numpy()
    g = d.groupby("annotator", sort=True)
    out = pd.DataFrame({"n_labels": g.size(), "n_tasks": g["task"].nunique(), "agreement": g["_agree"].mean()})
    n_classes = max(2, d["label"].nunique())

    # reference label: gold where known, else the task majority
    counts = d.groupby(["task", "label"], observed=True).size().rename("n").reset_index()
    major = _top_pair(counts, "task", "label", "n")
    ref = d["task"].map(major)
    if gold is not None:
        gold = check_gold(gold, data, func=func)
        gl = d["task"].map(gold)
        on_gold = gl.notna().to_numpy()
        ref = ref.where(~on_gold, gl)
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

    ds = _ds_accuracy(data) if dawid_skene else None
    out["ds_accuracy"] = ds.reindex(out.index).to_numpy(dtype=float) if ds is not None else np.nan

    if decisions is not None:
        out = out.join(_decision_rates(decisions, data))
        out["n_reviewed"] = out["n_reviewed"].fillna(0).astype(int)
    else:
        for c in _DECISIONS:
            out[f"{c}_rate"] = np.nan

    if "lead_time" in data.columns:
        lt = pd.to_numeric(data["lead_time"], errors="coerce")
        out["median_lead_time"] = lt.groupby(data["annotator"].to_numpy()).median().reindex(out.index)
        overall = float(lt.median())
    else:
        out["median_lead_time"] = np.nan
        overall = np.nan

    per_label = d.groupby(["annotator", "label"], observed=True).size().rename("n").reset_index()
    out["top_label_share"] = (per_label.groupby("annotator")["n"].max() / out["n_labels"]).reindex(out.index)
    table_top = d["label"].value_counts(normalize=True).iloc[0]
    top_of = per_label.sort_values(["annotator", "n"], ascending=[True, False], kind="stable").drop_duplicates("annotator")
    top_of = top_of.set_index("annotator")["label"]
    loo_ref = others_majority_share(d, d["annotator"].map(top_of))
    if gold is not None:
        gl_top = same_label(d["task"].map(gold).astype(object), d["annotator"].map(top_of).astype(object))
        loo_ref = np.where(on_gold, gl_top.astype(float), loo_ref)
    out["reference_top_share"] = pd.Series(loo_ref).groupby(d["annotator"].to_numpy()).mean().reindex(out.index)
    ci = task_mean_ci(d["_agree"], d["annotator"], confidence=confidence)
    out["agreement_ci_low"], out["agreement_ci_high"] = ci["ci_low"].reindex(out.index), ci["ci_high"].reindex(out.index)

    wrong = ~same_label(d["label"], ref)
    e = pd.DataFrame({"annotator": d["annotator"].to_numpy(), "ref": ref.to_numpy(), "wrong": wrong, "given": d["label"].to_numpy()})
    acc_lab = e.groupby(["annotator", "ref"], observed=True)["wrong"].agg(["mean", "size"]).reset_index()
    acc_lab = acc_lab[acc_lab["size"] >= 3]
    out["worst_label"] = _top_pair(acc_lab[acc_lab["mean"] > 0], "annotator", "ref", "mean").reindex(out.index)
    errs = e[e["wrong"]]
    pairs = errs.groupby(["annotator", "ref", "given"], observed=True).size().rename("n").reset_index()
    pairs["pair"] = pairs["ref"].astype(str) + " -> " + pairs["given"].astype(str)
    out["most_confused"] = _top_pair(pairs, "annotator", "pair", "n").reindex(out.index)

    # flags
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
    words = [
        (~enough, "insufficient data"),
        (too_fast, "possible spammer: too fast"),
        (constant, "possible spammer: constant label"),
        (near_random, "possible spammer: near-random on gold"),
        (low_agree, "possible spammer: low agreement"),
        (rel_low, "low agreement: CI upper bound below the others' median"),
        (out["needs_calibration"].to_numpy(), "needs calibration"),
    ]
    flags = [[] for _ in range(len(out))]
    for mask, w in words:
        for i in np.flatnonzero(mask):
            flags[i].append(w)
    out["flags"] = ["; ".join(f) for f in flags]
    out.index.name = "annotator"
    return out
