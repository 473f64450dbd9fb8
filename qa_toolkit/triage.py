"""Triage: uncertainty scores, a visible ranking step, the review queue and escalation.

Every score function returns one float per task in [0, 1] where **higher = more
uncertain** (review first). Ordering is a separate step, :func:`rank_for_review`,
which can mix in random exploration under a ``random_state`` so a queue is
reproducible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    QAInputError,
    check_columns,
    check_fraction,
    check_positive_int,
    check_random_state,
)
from qa_toolkit.sampling import sampling_plan

__all__ = [
    "entropy_score",
    "margin_score",
    "least_confidence_score",
    "vote_scores",
    "rank_for_review",
    "review_queue",
    "escalate_low_agreement",
    "to_label_studio_tasks",
    "sampling_plan",
]


def _probs(pred_probs, func: str) -> pd.DataFrame:
    if isinstance(pred_probs, np.ndarray):
        pred_probs = pd.DataFrame(pred_probs)
    if not isinstance(pred_probs, pd.DataFrame):
        raise QAInputError(
            f"The 'pred_probs' parameter of {func} must be a DataFrame (task x label) of probabilities. "
            f"Got {type(pred_probs).__name__} instead."
        )
    values = pred_probs.to_numpy(dtype=float)
    if values.ndim != 2 or values.shape[1] < 2:
        raise QAInputError(f"The 'pred_probs' parameter of {func} needs at least 2 label columns. Got shape {values.shape}.")
    if np.isnan(values).any() or (values < 0).any() or not np.allclose(values.sum(axis=1), 1.0, atol=1e-3):
        raise QAInputError(
            f"The 'pred_probs' parameter of {func} must hold probabilities: non-negative, no NaN, rows summing to 1."
        )
    return pred_probs


def entropy_score(pred_probs) -> pd.Series:
    """Normalised Shannon entropy of each row: 0 = certain, 1 = uniform. Higher = more uncertain.

    Parameters
    ----------
    pred_probs : pandas.DataFrame of shape (n_tasks, n_labels)
        Probabilities (model outputs, Dawid-Skene posteriors, or vote shares).

    Returns
    -------
    pandas.Series
        Indexed like ``pred_probs``, name ``entropy_score``.

    Examples
    --------
    >>> p = pd.DataFrame({"cat": [1.0, 0.5], "dog": [0.0, 0.5]}, index=["t1", "t2"])
    >>> entropy_score(p).tolist()
    [0.0, 1.0]
    """
    p = _probs(pred_probs, "entropy_score")
    v = p.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nansum(np.where(v > 0, v * np.log(v), 0.0), axis=1)
    return pd.Series(np.abs(h) / np.log(v.shape[1]), index=p.index, name="entropy_score").clip(0.0, 1.0)


def margin_score(pred_probs) -> pd.Series:
    """One minus the gap between the two most likely labels. Higher = more uncertain.

    Parameters
    ----------
    pred_probs : pandas.DataFrame of shape (n_tasks, n_labels)
        Probabilities.

    Returns
    -------
    pandas.Series
        Indexed like ``pred_probs``, name ``margin_score``, in [0, 1].

    Examples
    --------
    >>> p = pd.DataFrame({"cat": [0.9, 0.5], "dog": [0.1, 0.5]})
    >>> margin_score(p).round(2).tolist()
    [0.2, 1.0]
    """
    p = _probs(pred_probs, "margin_score")
    s = np.sort(p.to_numpy(dtype=float), axis=1)
    return pd.Series(1.0 - (s[:, -1] - s[:, -2]), index=p.index, name="margin_score")


def least_confidence_score(pred_probs) -> pd.Series:
    """``(1 - max p) * K / (K - 1)``, scaled to [0, 1]. Higher = more uncertain.

    On Dawid-Skene ``posteriors_`` this is the posterior uncertainty of the consensus.

    Parameters
    ----------
    pred_probs : pandas.DataFrame of shape (n_tasks, n_labels)
        Probabilities (model outputs or posteriors).

    Returns
    -------
    pandas.Series
        Indexed like ``pred_probs``, name ``least_confidence_score``, in [0, 1].

    Examples
    --------
    >>> p = pd.DataFrame({"a": [1.0, 0.5], "b": [0.0, 0.25], "c": [0.0, 0.25]})
    >>> least_confidence_score(p).tolist()
    [0.0, 0.75]
    """
    p = _probs(pred_probs, "least_confidence_score")
    v = p.to_numpy(dtype=float)
    k = v.shape[1]
    return pd.Series((1.0 - v.max(axis=1)) * k / (k - 1), index=p.index, name="least_confidence_score")


def _vote_table(data: pd.DataFrame) -> pd.DataFrame:
    """Per task: n_labels, majority_label, majority_count, runner_up, counts text, agreement."""
    counts = data.groupby(["task", "label"], sort=True, observed=True).size().rename("n").reset_index()
    counts = counts.sort_values(["task", "n"], ascending=[True, False], kind="stable")
    tasks = counts.groupby("task", sort=True)
    out = pd.DataFrame({"n_labels": tasks["n"].sum()})
    first = counts.drop_duplicates("task").set_index("task")
    out["majority_label"] = first["label"]
    out["majority_count"] = first["n"]
    second = counts[counts.duplicated("task")].drop_duplicates("task").set_index("task")
    out["runner_up"] = second["label"].reindex(out.index)
    out["runner_up_count"] = second["n"].reindex(out.index).fillna(0).astype(int)
    out["n_distinct"] = tasks.size()
    n = out["n_labels"].to_numpy(dtype=float)
    pairs = (counts["n"] * (counts["n"] - 1)).groupby(counts["task"]).sum().reindex(out.index).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["agreement"] = np.where(n > 1, pairs / (n * (n - 1)), np.nan)
    share = counts["n"] / counts["task"].map(out["n_labels"])
    ent = (-share * np.log(share)).groupby(counts["task"]).sum().reindex(out.index)
    kmax = max(2, counts["label"].nunique())
    out["vote_entropy"] = (ent / np.log(kmax)).to_numpy()
    # counts is sorted by task, so each task's rows are one contiguous block
    items = (counts["label"].astype(str) + ":" + counts["n"].astype(str)).tolist()
    ns = counts["n"].astype(str).tolist()
    bounds = np.r_[0, np.cumsum(out["n_distinct"].to_numpy())]
    out["labels"] = [", ".join(items[s:e]) for s, e in zip(bounds[:-1], bounds[1:])]
    out["split"] = ["/".join(ns[s:e]) for s, e in zip(bounds[:-1], bounds[1:])]
    return out


def vote_scores(data: pd.DataFrame) -> pd.DataFrame:
    """Uncertainty of the human votes per task. Higher = more uncertain.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task``: ``n_labels``, ``majority_label``, ``agreement`` (pairwise
        percent agreement, NaN with one label), ``vote_entropy`` (entropy of the vote
        shares over log of the number of labels in the table) and ``disagreement``
        (1 - majority share).

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"),
    ...                    "label": ["x", "x", "y", "x", "x"]})
    >>> vote_scores(df)["disagreement"].round(3).tolist()
    [0.333, 0.0]
    """
    check_columns(data, ["task", "annotator", "label"], func="vote_scores")
    v = _vote_table(data)
    v["disagreement"] = 1.0 - v["majority_count"] / v["n_labels"]
    return v[["n_labels", "majority_label", "agreement", "vote_entropy", "disagreement"]]


def rank_for_review(scores: pd.Series, *, explore: float = 0.0, random_state=None) -> pd.DataFrame:
    """Order tasks by score (highest first), optionally mixing in random picks.

    Each queue position is, with probability ``explore``, given to a task drawn at
    random from the whole pool instead of the next best one, so that a share of review
    effort checks the ranking itself. Same ``random_state`` -> same queue.

    Parameters
    ----------
    scores : pandas.Series
        One score per task (higher = review first), indexed by task. NaN ranks last.
    explore : float, default=0.0
        Share of positions filled at random, in [0, 1].
    random_state : int, numpy.random.Generator or None
        Seeds the exploration draw; the same seed gives the same queue.

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``score``, ``rank`` (1 = first) and ``explored`` (bool), in
        queue order.

    Examples
    --------
    >>> s = pd.Series([0.2, 0.9, 0.5], index=["a", "b", "c"])
    >>> rank_for_review(s)["task"].tolist()
    ['b', 'c', 'a']
    """
    if not isinstance(scores, pd.Series):
        raise QAInputError(f"The 'scores' parameter of rank_for_review must be a pandas Series indexed by task. Got {type(scores).__name__}.")
    explore = check_fraction("explore", explore, func="rank_for_review")
    rng = check_random_state(random_state)
    n = len(scores)
    order = np.lexsort((np.arange(n), -np.nan_to_num(scores.to_numpy(dtype=float), nan=-np.inf)))
    explored = np.zeros(n, dtype=bool)
    if explore > 0 and n:
        slots = rng.random(n) < explore
        m = int(slots.sum())
        picks = rng.choice(n, size=m, replace=False)
        rest = order[~np.isin(order, picks)]
        queue = np.empty(n, dtype=int)
        queue[slots] = picks
        queue[~slots] = rest
        order, explored = queue, slots
    return pd.DataFrame({
        "task": scores.index.to_numpy()[order],
        "score": scores.to_numpy(dtype=float)[order],
        "rank": np.arange(1, n + 1),
        "explored": explored,
    })


def _fmt(v) -> str:
    return str(v)


def review_queue(
    data: pd.DataFrame,
    *,
    pred_probs: pd.DataFrame | None = None,
    issues: pd.DataFrame | None = None,
    gold: pd.Series | None = None,
    posteriors: pd.DataFrame | None = None,
    new_annotators: list | None = None,
    n_first: int = 20,
    explore: float = 0.0,
    random_state=None,
    field=None,
    **typed,
) -> pd.DataFrame:
    """One row per task, prioritised for human review, with the reasons in words.

    With ``field=`` (typed tables): one row per *unit* of that field, see
    :func:`qa_toolkit.queue_units.unit_review_queue` (``typed`` takes its ``kinds``,
    ``assignments``, ``decisions``, ``iou_threshold``, ``quorum``...).

    The priority combines the available signals (each in [0, 1], higher = more
    suspicious) by a noisy-OR, ``1 - prod(1 - s)``: vote disagreement, model
    uncertainty, model disagreeing with the majority, the label-issue table's
    ``1 - label_quality``, gold mismatches, and 0.5 for a new annotator's first tasks.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.
    pred_probs : pandas.DataFrame, optional
        Model probabilities, task x label.
    issues : pandas.DataFrame, optional
        A label-issue table indexed by task (``label_quality`` and/or ``is_label_issue``,
        optional ``reasons``), as from ``qa_toolkit.label_errors``, or the ``items`` table of
        ``qa.embedding_clusters`` (``cluster_minority_score``, ``reasons``).
    gold : pandas.Series, optional
        Gold labels indexed by task; gold tasks where a label differs are raised.
    posteriors : pandas.DataFrame, optional
        Dawid-Skene posteriors (task x label); their argmax becomes the suggestion.
    new_annotators : list, optional
        Their first ``n_first`` tasks (by ``created_at`` or row order) are raised.
    n_first : int, default=20
        How many of a new annotator's first tasks are raised.
    explore : float, default=0.0
        Passed to :func:`rank_for_review`.
    random_state : int, numpy.random.Generator or None
        Passed to :func:`rank_for_review`.

    Returns
    -------
    pandas.DataFrame
        In queue order: ``task``, ``rank``, ``priority``, ``reasons``, ``labels`` (given,
        with counts), ``n_labels``, ``majority_label``, ``suggested_label``, ``agreement``,
        ``explored`` and one column per signal used.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"),
    ...                    "label": ["cat", "cat", "dog", "dog", "dog", "dog"]})
    >>> q = review_queue(df)
    >>> print(q.loc[0, "task"], "|", q.loc[0, "reasons"])
    1 | 3 annotators split 2/1
    """
    func = "review_queue"
    check_columns(data, ["task", "annotator", "label"], func=func)
    from qa_toolkit.agreement.fields import is_typed

    if field is not None or typed or (("field" in data.columns or "kind" in data.columns) and is_typed(data)):
        from qa_toolkit.queue_units import unit_review_queue

        extra = [n for n, v in (("pred_probs", pred_probs), ("gold", gold), ("posteriors", posteriors),
                                ("new_annotators", new_annotators)) if v is not None]
        if extra:
            raise QAInputError(f"{func}: {extra} are read per task of a categorical table; with typed fields pass "
                               "issues= (any issue-contract table) to the unit queue instead.")
        return unit_review_queue(data, field=field, issues=issues, explore=explore, random_state=random_state, **typed)
    if len(data) == 0:
        raise QAInputError(f"The 'data' parameter of {func} is empty: expected at least one annotation.")
    n_first = check_positive_int("n_first", n_first, func=func)
    v = _vote_table(data)
    tasks = v.index
    signals: dict[str, np.ndarray] = {}
    reasons: list[list[str]] = [[] for _ in range(len(v))]

    dis = (1.0 - v["majority_count"] / v["n_labels"]).to_numpy(dtype=float)
    kmax = max(2, data["label"].nunique())
    signals["vote_disagreement"] = np.clip(dis * kmax / (kmax - 1), 0.0, 1.0)
    split_idx = np.flatnonzero(dis > 0)
    nl, sp = v["n_labels"].to_numpy(), v["split"].to_numpy()
    for i in split_idx:
        reasons[i].append(f"{nl[i]} annotators split {sp[i]}")
    for i in np.flatnonzero(nl == 1):
        reasons[i].append("only 1 label")
    suggested = v["majority_label"].to_numpy(dtype=object).copy()
    tie = (v["runner_up_count"] == v["majority_count"]).to_numpy()

    if pred_probs is not None:
        p = _probs(pred_probs, func).reindex(tasks)
        have = ~p.isna().any(axis=1).to_numpy()
        cols = p.columns.to_numpy(dtype=object)
        vals = p.to_numpy(dtype=float)
        top = np.nanargmax(np.where(have[:, None], vals, 0.0), axis=1)
        top_p = vals[np.arange(len(p)), top]
        unc = np.where(have, least_confidence_score(p.fillna(1.0 / p.shape[1])).to_numpy(), 0.0)
        signals["model_uncertainty"] = unc
        col_of = {str(c): j for j, c in enumerate(cols)}
        maj_j = np.array([col_of.get(str(m), -1) for m in v["majority_label"]])
        p_major = np.where(maj_j >= 0, vals[np.arange(len(p)), np.maximum(maj_j, 0)], 0.0)
        signals["model_disagrees"] = np.where(have, np.clip(1.0 - p_major, 0.0, 1.0) * (top != maj_j), 0.0)
        for i in np.flatnonzero(have & (top != maj_j)):
            reasons[i].append(f"model {top_p[i]:.2f} says {_fmt(cols[top[i]])}")
        use_model = have & tie
        suggested[use_model] = cols[top[use_model]]
    if posteriors is not None:
        post = _probs(posteriors, func).reindex(tasks)
        ok = ~post.isna().any(axis=1).to_numpy()
        pc = post.columns.to_numpy(dtype=object)
        suggested[ok] = pc[np.nanargmax(post.fillna(0).to_numpy(dtype=float), axis=1)[ok]]
    if issues is not None:
        if not isinstance(issues, pd.DataFrame):
            raise QAInputError(f"The 'issues' parameter of {func} must be a DataFrame indexed by task. Got {type(issues).__name__}.")
        iss = issues.set_index("task") if "task" in issues.columns else issues
        iss = iss[~iss.index.duplicated()].reindex(tasks)
        if "label_quality" in iss.columns:
            signals["label_issue"] = np.nan_to_num(1.0 - iss["label_quality"].to_numpy(dtype=float), nan=0.0)
        elif "is_label_issue" in iss.columns:
            signals["label_issue"] = iss["is_label_issue"].fillna(False).to_numpy(dtype=float)
        elif "cluster_minority_score" in iss.columns:  # qa.embedding_clusters(...).items
            signals["cluster_minority"] = np.nan_to_num(1.0 - iss["cluster_minority_score"].to_numpy(dtype=float), nan=0.0)
        flag = iss["is_label_issue"].fillna(False).to_numpy(dtype=bool) if "is_label_issue" in iss.columns else None
        words = iss["reasons"].to_numpy(dtype=object) if "reasons" in iss.columns else None
        for i in range(len(v)):
            if words is not None and isinstance(words[i], str) and words[i]:
                reasons[i].append(words[i])
            elif flag is not None and flag[i]:
                reasons[i].append("label issue")
    if gold is not None:
        if not isinstance(gold, pd.Series):
            raise QAInputError(f"The 'gold' parameter of {func} must be a Series indexed by task. Got {type(gold).__name__}.")
        known = gold.index.isin(tasks)
        if not known.any():
            raise QAInputError(
                f"The 'gold' parameter of {func}: none of its {len(gold)} tasks is in the annotations "
                f"(e.g. {list(gold.index[:3])}); check that gold is indexed by the same task ids."
            )
        g = gold.dropna()
        d = data[data["task"].isin(g.index)]
        from qa_toolkit.annotators import same_label

        wrong = pd.Series(~same_label(d["label"], d["task"].map(g)), index=d.index).groupby(d["task"]).agg(["sum", "size"])
        wrong = wrong.reindex(tasks)
        has = wrong["size"].notna().to_numpy()
        signals["gold_mismatch"] = np.where(has, wrong["sum"].fillna(0) / wrong["size"].fillna(1), 0.0)
        gl = g.reindex(tasks).to_numpy(dtype=object)
        ks, nsz = wrong["sum"].fillna(0).to_numpy(dtype=int), wrong["size"].fillna(0).to_numpy(dtype=int)
        for i in np.flatnonzero(has):
            k, n = ks[i], nsz[i]
            reasons[i].append(f"gold check: {k} of {n} differ from gold {_fmt(gl[i])}" if k else "gold check")
        suggested[has] = gl[has]
    if new_annotators is not None:
        from qa_toolkit.sampling import _first_tasks

        first = _first_tasks(data[data["annotator"].isin(list(new_annotators))], n_first)
        who = first.groupby("task")["annotator"].agg(lambda s: ", ".join(map(str, sorted(set(s)))))
        pos = tasks.get_indexer(who.index)
        sig = np.zeros(len(v))
        sig[pos] = 0.5
        signals["new_annotator"] = sig
        for i, names in zip(pos, who.to_numpy()):
            reasons[i].append(f"new annotator {names}")

    mat = np.column_stack(list(signals.values()))
    priority = 1.0 - np.prod(1.0 - np.clip(mat, 0.0, 1.0), axis=1)
    out = pd.DataFrame({
        "priority": priority,
        "reasons": ["; ".join(r) for r in reasons],
        "labels": v["labels"].to_numpy(),
        "n_labels": v["n_labels"].to_numpy(),
        "majority_label": v["majority_label"].to_numpy(),
        "suggested_label": suggested,
        "agreement": v["agreement"].to_numpy(),
        **signals,
    }, index=tasks)
    ranked = rank_for_review(out["priority"], explore=explore, random_state=random_state)
    out = out.loc[ranked["task"].to_numpy()]
    out.insert(0, "rank", ranked["rank"].to_numpy())
    out["explored"] = ranked["explored"].to_numpy()
    out.index.name = "task"
    return out.reset_index()


def escalate_low_agreement(
    data: pd.DataFrame,
    *,
    threshold: float = 0.7,
    base_overlap: int = 2,
    max_additional: int = 3,
) -> pd.DataFrame:
    """Mark tasks whose agreement is below ``threshold`` for one more annotator, up to a cap.

    This follows Label Studio Enterprise's low-agreement strategy ("assign to another
    annotator" until the agreement threshold or "maximum additional annotators" is
    reached). Agreement is pairwise percent agreement on the task.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.
    threshold : float, default=0.7
        Desired agreement in [0, 1].
    base_overlap : int, default=2
        Annotators per task before any escalation.
    max_additional : int, default=3
        Cap on extra annotators per task.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task``: ``n_labels``, ``agreement``, ``majority_label``, ``escalate``
        (bool), ``n_extra`` (0 or 1) and ``reason``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"),
    ...                    "label": ["x", "y", "x", "x"]})
    >>> escalate_low_agreement(df)["escalate"].tolist()
    [True, False]
    """
    func = "escalate_low_agreement"
    check_columns(data, ["task", "annotator", "label"], func=func)
    threshold = check_fraction("threshold", threshold, func=func)
    base_overlap = check_positive_int("base_overlap", base_overlap, func=func)
    max_additional = check_positive_int("max_additional", max_additional, minimum=0, func=func)
    v = _vote_table(data)
    cap = base_overlap + max_additional
    low = (v["agreement"] < threshold).to_numpy()
    capped = (v["n_labels"] >= cap).to_numpy()
    out = v[["n_labels", "agreement", "majority_label"]].copy()
    out["escalate"] = low & ~capped
    out["n_extra"] = out["escalate"].astype(int)
    out["reason"] = np.select(
        [low & ~capped, low & capped],
        [f"agreement below {threshold:g}: add an annotator", f"agreement below {threshold:g} at the cap of {cap}: expert review"],
        default="",
    )
    return out


def to_label_studio_tasks(table: pd.DataFrame, *, data: dict | None = None, only: str | None = None) -> list[dict]:
    """Deprecated alias of :func:`qa_toolkit.io.to_label_studio_tasks` (issue #13).

    The writer now carries each task's data and original id; ``data`` may also be the
    annotation table read by :func:`~qa_toolkit.io.read_label_studio`.
    """
    import warnings

    from qa_toolkit.io.write_escalation import to_label_studio_tasks as _tasks

    warnings.warn("qa_toolkit.triage.to_label_studio_tasks moved to qa_toolkit.io.to_label_studio_tasks; "
                  "this alias will be removed.", DeprecationWarning, stacklevel=2)
    return _tasks(table, data=data, only=only)
