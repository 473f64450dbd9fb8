"""The review queue: one row per task (or per unit of a typed field), with reasons in words.

The categorical queue is a list of small signal policies (:data:`SIGNALS`): each reads one
input (votes, model probabilities, issue tables, gold, new annotators) and returns its
signal in [0, 1], reason words and, optionally, suggestions. The priority is the one
:func:`qa_toolkit.issue_tables.review_priority`. Typed fields go to
:func:`qa_toolkit.triage.units.unit_review_queue`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns, check_positive_int
from qa_toolkit.annotators.flags import distinct_per_group
from qa_toolkit.annotators.gold import same_label
from qa_toolkit.issue_tables import issue_signals, review_priority
from qa_toolkit.triage.sampling import first_tasks
from qa_toolkit.triage.scores import (
    check_probs,
    least_confidence_score,
    rank_for_review,
    vote_table,
)
from qa_toolkit.triage.units import unit_review_queue

__all__ = ["review_queue", "SIGNALS"]


def _fmt(v) -> str:
    return str(v)


@dataclass
class _Signal:
    """What one policy adds: signals by name, words per task, suggested labels where set."""

    signals: dict[str, np.ndarray] = dc_field(default_factory=dict)
    words: list[list[str]] | np.ndarray = dc_field(default_factory=list)  # or one "; "-joined string per task
    suggest: np.ndarray | None = None  # object array, None = keep


def _votes(v: pd.DataFrame, data: pd.DataFrame, opts: dict) -> _Signal:
    dis = (1.0 - v["majority_count"] / v["n_labels"]).to_numpy(dtype=float)
    kmax = max(2, data["label"].nunique())
    nl, sp = v["n_labels"].to_numpy(), v["split"].to_numpy()
    tie, runner = v["is_tie"].to_numpy(), v["runner_up"].to_numpy(dtype=object)
    n_tied = v["n_tied"].to_numpy()
    major = v["majority_label"].to_numpy(dtype=object)
    n_ann = distinct_per_group(data["task"], data["annotator"], v.index).to_numpy(int)
    words = np.full(len(v), "", dtype=object)
    split = np.flatnonzero(dis > 0)  # count annotators, never rows (repeats are said as such)
    words[split] = _per_distinct(
        lambda n, a, s: f"{n} annotators split {s}" if a == n else f"{n} labels from {a} annotators split {s}",
        nl[split], n_ann[split], sp[split])
    ties = split[tie[split]]
    words[ties] = words[ties] + _per_distinct(
        lambda m, r, k: f"; tie between {_fmt(m)!r} and {_fmt(r)!r}" + (f" (+{k - 2} more)" if k > 2 else ""),
        major[ties], runner[ties], n_tied[ties])
    words[nl == 1] = "only 1 label"
    return _Signal({"vote_disagreement": np.clip(dis * kmax / (kmax - 1), 0.0, 1.0)}, words)


def _per_distinct(fmt: Callable[..., str], *columns: np.ndarray) -> np.ndarray:
    """``fmt(*row)`` for every row of ``columns``, called once per distinct row (object array).

    Values equal under hashing (``1``, ``1.0``, ``True``) must format alike: here they are
    counts, split strings and labels that are already distinct values of one factorisation.
    """
    if not len(columns[0]):
        return np.array([], dtype=object)
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for col in columns:
        codes, uniques = pd.factorize(pd.Series(col, dtype=object), use_na_sentinel=False)
        key = key * max(1, len(uniques)) + codes
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    text = np.array([fmt(*(col[i] for col in columns)) for i in first], dtype=object)
    return text.take(inv.ravel())


def _is_set(suggest: np.ndarray) -> np.ndarray:
    """``[s is not None for s in suggest]``, compared in C when every cell compares plainly."""
    try:
        return np.asarray(np.not_equal(suggest, None), dtype=bool)
    except (TypeError, ValueError):  # a cell such as pd.NA answers neither True nor False
        return np.array([s is not None for s in suggest], dtype=bool)


def _joined(words: list[list[str]] | np.ndarray) -> np.ndarray:
    """One "; "-joined reason string per task (object array)."""
    if isinstance(words, np.ndarray):
        return words
    return np.array(["; ".join(w) for w in words], dtype=object)


def _model(v: pd.DataFrame, data: pd.DataFrame, opts: dict) -> _Signal:
    p = check_probs(opts["pred_probs"], "review_queue").reindex(v.index)
    have = ~p.isna().any(axis=1).to_numpy()
    cols = p.columns.to_numpy(dtype=object)
    vals = p.to_numpy(dtype=float)
    top = np.nanargmax(np.where(have[:, None], vals, 0.0), axis=1)
    top_p = vals[np.arange(len(p)), top]
    unc = np.where(have, least_confidence_score(p.fillna(1.0 / p.shape[1])).to_numpy(), 0.0)
    col_of = {str(c): j for j, c in enumerate(cols)}
    maj_j = _per_distinct(lambda m: col_of.get(str(m), -1), v["majority_label"].to_numpy(dtype=object)).astype(int)
    p_major = np.where(maj_j >= 0, vals[np.arange(len(p)), np.maximum(maj_j, 0)], 0.0)
    words: list[list[str]] = [[] for _ in range(len(v))]
    for i in np.flatnonzero(have & (top != maj_j)):
        words[i].append(f"model {top_p[i]:.2f} says {_fmt(cols[top[i]])}")
    suggest = np.full(len(v), None, dtype=object)
    use = have & v["is_tie"].to_numpy()  # the model breaks a tie in the votes
    suggest[use] = cols[top[use]]
    return _Signal({"model_uncertainty": unc,
                    "model_disagrees": np.where(have, np.clip(1.0 - p_major, 0.0, 1.0) * (top != maj_j), 0.0)},
                   words, suggest)


def _posteriors(v: pd.DataFrame, data: pd.DataFrame, opts: dict) -> _Signal:
    post = check_probs(opts["posteriors"], "review_queue").reindex(v.index)
    ok = ~post.isna().any(axis=1).to_numpy()
    suggest = np.full(len(v), None, dtype=object)
    suggest[ok] = post.columns.to_numpy(dtype=object)[np.nanargmax(post.fillna(0).to_numpy(dtype=float), axis=1)[ok]]
    return _Signal({}, np.full(len(v), "", dtype=object), suggest)


def _issues(v: pd.DataFrame, data: pd.DataFrame, opts: dict) -> _Signal:
    signals, words = issue_signals(opts["issues"], pd.DataFrame({"task": v.index.to_numpy()}), func="review_queue")
    return _Signal(signals, words)


def _gold(v: pd.DataFrame, data: pd.DataFrame, opts: dict) -> _Signal:
    gold = opts["gold"]
    if not isinstance(gold, pd.Series):
        raise QAInputError(f"The 'gold' parameter of review_queue must be a Series indexed by task. Got {type(gold).__name__}.")
    tasks = v.index
    if not gold.index.isin(tasks).any():
        raise QAInputError(
            f"The 'gold' parameter of review_queue: none of its {len(gold)} tasks is in the annotations "
            f"(e.g. {list(gold.index[:3])}); check that gold is indexed by the same task ids."
        )
    g = gold.dropna()
    d = data[data["task"].isin(g.index)]
    wrong = pd.Series(~same_label(d["label"], d["task"].map(g)), index=d.index).groupby(d["task"]).agg(["sum", "size"])
    wrong = wrong.reindex(tasks)
    has = wrong["size"].notna().to_numpy()
    gl = g.reindex(tasks).to_numpy(dtype=object)
    ks, nsz = wrong["sum"].fillna(0).to_numpy(dtype=int), wrong["size"].fillna(0).to_numpy(dtype=int)
    words: list[list[str]] = [[] for _ in range(len(v))]
    for i in np.flatnonzero(has):
        words[i].append(f"gold check: {ks[i]} of {nsz[i]} differ from gold {_fmt(gl[i])}" if ks[i] else "gold check")
    suggest = np.full(len(v), None, dtype=object)
    suggest[has] = gl[has]
    return _Signal({"gold_mismatch": np.where(has, wrong["sum"].fillna(0) / wrong["size"].fillna(1), 0.0)},
                   words, suggest)


def _new_annotators(v: pd.DataFrame, data: pd.DataFrame, opts: dict) -> _Signal:
    first = first_tasks(data[data["annotator"].isin(list(opts["new_annotators"]))], opts["n_first"])
    who = first.groupby("task")["annotator"].agg(lambda s: ", ".join(map(str, sorted(set(s)))))
    pos = v.index.get_indexer(who.index)
    sig = np.zeros(len(v))
    sig[pos] = 0.5
    words: list[list[str]] = [[] for _ in range(len(v))]
    for i, names in zip(pos, who.to_numpy()):
        words[i].append(f"new annotator {names}")
    return _Signal({"new_annotator": sig}, words)


#: The categorical queue's signal policies, in the order their reasons are written:
#: (option that switches it on, or None = always; policy).
SIGNALS: list[tuple[str | None, Callable[[pd.DataFrame, pd.DataFrame, dict], _Signal]]] = [
    (None, _votes),
    ("pred_probs", _model),
    ("posteriors", _posteriors),
    ("issues", _issues),
    ("gold", _gold),
    ("new_annotators", _new_annotators),
]


def review_queue(
    data: pd.DataFrame,
    *,
    pred_probs: pd.DataFrame | None = None,
    issues=None,
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
    :func:`qa_toolkit.triage.units.unit_review_queue` (``typed`` takes its ``kinds``,
    ``assignments``, ``decisions``, ``iou_threshold``, ``quorum``...).

    The priority is :func:`qa_toolkit.issue_tables.review_priority` (the one definition:
    noisy-OR ``1 - prod(1 - s)``) of the available signals, each in [0, 1] with higher =
    more suspicious: vote disagreement, model uncertainty, model disagreeing with the
    majority, ``1 - <name>_score`` of every issue table, gold mismatches, and 0.5 for a new
    annotator's first tasks. Ties in the vote are stated as ties in the reasons.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.
    pred_probs : pandas.DataFrame, optional
        Model probabilities, task x label.
    issues : pandas.DataFrame or list of DataFrames, optional
        Any table(s) following the issue contract (:mod:`qa_toolkit.issue_tables`):
        ``task`` (column or index), ``is_<name>_issue`` and ``<name>_score`` (lower = worse),
        optional ``reasons``: label errors, CROWDLAB, neighbours, duplicates, clusters,
        ``fused_issue_table``... A table that breaks the contract is refused.
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
        extra = [n for n, v in (("pred_probs", pred_probs), ("gold", gold), ("posteriors", posteriors),
                                ("new_annotators", new_annotators)) if v is not None]
        if extra:
            raise QAInputError(f"{func}: {extra} are read per task of a categorical table; with typed fields pass "
                               "issues= (any issue-contract table) to the unit queue instead.")
        return unit_review_queue(data, field=field, issues=issues, explore=explore, random_state=random_state, **typed)
    if len(data) == 0:
        raise QAInputError(f"The 'data' parameter of {func} is empty: expected at least one annotation.")
    opts = dict(pred_probs=pred_probs, posteriors=posteriors, issues=issues, gold=gold,
                new_annotators=new_annotators, n_first=check_positive_int("n_first", n_first, func=func))
    v = vote_table(data, func=func)
    signals: dict[str, np.ndarray] = {}
    reasons = np.full(len(v), "", dtype=object)
    suggested = v["majority_label"].to_numpy(dtype=object).copy()
    for option, policy in SIGNALS:
        if option is not None and opts[option] is None:
            continue
        got = policy(v, data, opts)
        signals.update(got.signals)
        new = _joined(got.words)
        said = new != ""
        if said.any():  # a policy with nothing to say leaves the reasons as they are
            glue = np.where((reasons != "") & said, "; ", "").astype(object)
            reasons = reasons + glue + new
        if got.suggest is not None:
            set_ = _is_set(got.suggest)
            suggested[set_] = got.suggest[set_]
    priority = review_priority(signals)
    # the queue order depends on the priorities only: rank positions, then take every column once in
    # that order (issue 14: no reordering of a task-indexed frame)
    ranked = rank_for_review(pd.Series(priority), explore=explore, random_state=random_state)
    order = ranked["task"].to_numpy()
    columns = {"priority": priority, "reasons": reasons, "labels": v["labels"].to_numpy(),
               "n_labels": v["n_labels"].to_numpy(), "majority_label": v["majority_label"].to_numpy(),
               "tie": v["is_tie"].to_numpy(), "suggested_label": suggested, "agreement": v["agreement"].to_numpy(),
               **signals}
    return pd.DataFrame({"task": v.index.take(order), "rank": ranked["rank"].to_numpy(),
                         **{k: np.asarray(c)[order] for k, c in columns.items()},
                         "explored": ranked["explored"].to_numpy()})
