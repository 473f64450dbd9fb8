"""Phase-aware QA sampling: how much to review, which gold items, how many checks per annotator.

The rates follow the usual annotation-QA practice: review everything in the pilot,
20-30 % while ramping up, 5-10 % in production and only targeted checks
(flagged tasks plus a small random audit) in maintenance. Rare classes are
oversampled and a new annotator's first tasks are always reviewed. The number of
gold checks per annotator comes from the Wilson score interval, so the plan can say
why it chose its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    QAInputError,
    check_columns,
    check_fraction,
    check_option,
    check_positive_int,
    check_random_state,
)
from qa_toolkit.annotators.gold import check_gold
from qa_toolkit.stats import wilson_interval, wilson_sample_size
from qa_toolkit.triage.escalation import escalate_low_agreement
from qa_toolkit.vote import plurality

__all__ = [
    "PHASE_RATES",
    "SamplingPlan",
    "wilson_interval",
    "wilson_sample_size",
    "sampling_plan",
    "select_gold",
    "gold_leakage",
    "first_tasks",
]

#: Review rate range (low, high) per project phase. The plan uses the midpoint unless
#: ``review_rate`` is given. Maintenance is targeted: flagged tasks plus a 2 % audit.
PHASE_RATES: dict[str, tuple[float, float]] = {
    "pilot": (1.0, 1.0),
    "ramp_up": (0.20, 0.30),
    "production": (0.05, 0.10),
    "maintenance": (0.0, 0.02),
}
_PHASES = tuple(PHASE_RATES)


@dataclass(frozen=True)
class SamplingPlan:
    """What to review, and why.

    Attributes
    ----------
    tasks : pandas.DataFrame
        One row per task (index ``task``): ``label`` (majority label), ``review`` (bool,
        expert/QA review), ``extra_annotator`` (bool, low agreement below the cap),
        ``gold_check`` (bool, chosen honeypot), ``reasons`` (words).
    labels : pandas.DataFrame
        One row per label: ``n_tasks``, ``share``, ``rate`` (review rate used), ``n_review``.
    annotators : pandas.DataFrame
        One row per annotator: ``n_labels``, ``is_new``, ``n_first_reviewed`` and
        ``gold_checks_needed`` (Wilson sample size for ±epsilon).
    phase : str
    rate : float
        Base review rate.
    notes : tuple of str
        Why the plan picked its rates.
    gold_items : pandas.Index
        Gold tasks chosen as honeypots (empty without ``gold``).
    leakage : pandas.DataFrame
        :func:`gold_leakage` of the chosen gold items.
    """

    tasks: pd.DataFrame
    labels: pd.DataFrame
    annotators: pd.DataFrame
    phase: str
    rate: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    gold_items: pd.Index = field(default_factory=lambda: pd.Index([]))
    leakage: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def review_fraction(self) -> float:
        """Share of tasks the plan sends to review."""
        return float(self.tasks["review"].mean()) if len(self.tasks) else 0.0

    def __str__(self) -> str:
        lines = [
            f"Sampling plan ({self.phase}): review {int(self.tasks['review'].sum())} of "
            f"{len(self.tasks)} tasks ({self.review_fraction:.1%}); base rate {self.rate:.0%}."
        ]
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{n}</li>" for n in self.notes)
        return f"<p>{str(self).splitlines()[0]}</p><ul>{items}</ul>" + self.labels.to_html()


def _majority(data: pd.DataFrame) -> pd.Series:
    """Most frequent label per task (the vote kernel; ties: lowest label in sorted order)."""
    return plurality(data, ties="lowest", func="sampling_plan")["label"]


def first_tasks(data: pd.DataFrame, n_first: int) -> pd.DataFrame:
    """The first ``n_first`` (task, annotator) rows of each annotator, by ``created_at`` or row order."""
    d = data[["task", "annotator"]].copy()
    d["_order"] = np.arange(len(d))
    if "created_at" in data.columns:
        d["_t"] = data["created_at"].to_numpy()
        d = d.sort_values(["_t", "_order"], kind="stable")
    d = d.drop_duplicates(["annotator", "task"])
    d["_rank"] = d.groupby("annotator", sort=False).cumcount()
    return d[d["_rank"] < n_first]


def _stratified_picks(major: pd.Series, label_rates: pd.Series, rare, phase: str, rng) -> list[tuple]:
    """Policy 1: a random share of each label's tasks (rare labels oversampled)."""
    out = []
    for label in sorted(label_rates.index, key=str):
        members = major.index[(major == label).to_numpy()].to_numpy()
        k = int(np.ceil(label_rates[label] * len(members) - 1e-9))
        if k:
            why = f"rare label {label!r} sampled at {label_rates[label]:.0%}" if label in rare else f"{phase} random sample"
            out.extend((t, why) for t in rng.choice(members, size=k, replace=False))
    return out


def _new_annotator_picks(data: pd.DataFrame, new_annotators, n_first: int, func: str) -> list[tuple]:
    """Policy 2: every new annotator's first ``n_first`` tasks."""
    new = [] if new_annotators is None else list(new_annotators)
    unknown = sorted(set(map(str, new)) - set(map(str, data["annotator"].unique())))
    if unknown:
        raise QAInputError(f"The 'new_annotators' parameter of {func} names annotators not in data: {unknown[:5]}.")
    first = first_tasks(data[data["annotator"].isin(new)], n_first) if new else data.iloc[:0]
    return [(t, f"new annotator {a}: first {n_first} tasks") for t, a in zip(first["task"], first["annotator"])]


def _flagged_picks(flagged, tasks: pd.Index, func: str) -> list[tuple]:
    """Policy 3: tasks flagged by a detector (maintenance phase)."""
    if flagged is None:
        return []
    fl = pd.Index(flagged)
    missing = fl.difference(tasks)
    if len(missing):
        raise QAInputError(f"The 'flagged' parameter of {func} lists tasks not in data: {list(missing[:5])}.")
    return [(t, "flagged") for t in fl]


def sampling_plan(
    data: pd.DataFrame,
    *,
    phase: Literal["pilot", "ramp_up", "production", "maintenance"] = "production",
    review_rate: float | None = None,
    rare_share: float = 0.05,
    rare_factor: float = 3.0,
    new_annotators: list | None = None,
    n_first: int = 20,
    flagged: list | None = None,
    epsilon: float = 0.05,
    confidence: float = 0.95,
    expected_accuracy: float = 0.9,
    agreement_threshold: float = 0.7,
    max_additional: int = 2,
    gold: pd.Series | None = None,
    n_gold: int | None = None,
    random_state=None,
) -> SamplingPlan:
    """Choose the tasks to review for a project phase, and say why.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations (``task``, ``annotator``, ``label``; ``created_at``
        orders each annotator's tasks when present).
    phase : {'pilot', 'ramp_up', 'production', 'maintenance'}, default='production'
        Sets the base rate from :data:`PHASE_RATES` (the midpoint of its range).
    review_rate : float, optional
        Override the base rate (0-1).
    rare_share : float, default=0.05
        A label whose share of tasks (by majority label) is below this is rare.
    rare_factor : float, default=3.0
        Rare labels are reviewed at ``min(1, rare_factor * rate)``.
    new_annotators : list, optional
        Annotators whose first ``n_first`` tasks are all reviewed.
    n_first : int, default=20
        How many first tasks of each new annotator are reviewed.
    flagged : list, optional
        Tasks flagged elsewhere (label issues, low agreement); always reviewed.
    epsilon, confidence, expected_accuracy : float
        Precision target for each annotator's accuracy; gives ``gold_checks_needed``.
    agreement_threshold : float, default=0.7
        Tasks below this pairwise agreement get an extra annotator
        (:func:`qa_toolkit.triage.escalate_low_agreement`).
    max_additional : int, default=2
        Cap on extra annotators per task above the usual overlap (the median).
    gold : pandas.Series, optional
        Gold labels indexed by task, to choose honeypots from.
    n_gold : int, optional
        How many gold tasks to use as honeypots (stratified by label); default
        ``min(len(gold), gold_checks_needed)``.
    random_state : int, numpy.random.Generator or None
        Seeds the stratified draw.

    Returns
    -------
    SamplingPlan
        Per-task decisions, per-label rates, per-annotator needs and the notes saying why.

    Examples
    --------
    >>> df = pd.DataFrame({"task": range(100), "annotator": "a",
    ...                    "label": ["x"] * 98 + ["y"] * 2})
    >>> plan = sampling_plan(df, phase="ramp_up", random_state=0)
    >>> int(plan.tasks["review"].sum())  # 25 % of 98 'x' rounded up, all rare 'y'
    27
    """
    func = "sampling_plan"
    check_columns(data, ["task", "annotator", "label"], func=func)
    check_option("phase", phase, _PHASES, func=func)
    lo, hi = PHASE_RATES[phase]
    rate = (lo + hi) / 2 if review_rate is None else check_fraction("review_rate", review_rate, func=func)
    check_fraction("rare_share", rare_share, func=func)
    if not (isinstance(rare_factor, (int, float)) and rare_factor >= 1):
        raise QAInputError(f"The 'rare_factor' parameter of {func} must be a number >= 1. Got {rare_factor!r} instead.")
    n_first = check_positive_int("n_first", n_first, func=func)
    rng = check_random_state(random_state)
    if len(data) == 0:
        raise QAInputError(f"The 'data' parameter of {func} is empty: expected at least one annotation.")

    major = _majority(data)
    tasks = pd.DataFrame({"label": major})
    tasks["review"] = False
    reasons: dict = {t: [] for t in tasks.index}
    share = major.value_counts(normalize=True)
    counts = major.value_counts()
    rare = share[share < rare_share].index
    label_rates = pd.Series(rate, index=share.index, dtype=float)
    label_rates[rare] = min(1.0, rate * rare_factor)
    picks = (_stratified_picks(major, label_rates, rare, phase, rng)
             + _new_annotator_picks(data, new_annotators, n_first, func)
             + _flagged_picks(flagged, tasks.index, func))
    for t, why in picks:
        tasks.loc[t, "review"] = True
        reasons[t].append(why)
    overlap = int(max(1, data.groupby("task").size().median()))
    esc = escalate_low_agreement(data, threshold=agreement_threshold, base_overlap=overlap, max_additional=max_additional)
    tasks["extra_annotator"] = esc["escalate"].reindex(tasks.index).fillna(False).astype(bool)
    for t in tasks.index[tasks["extra_annotator"].to_numpy()]:
        reasons[t].append(f"agreement below {agreement_threshold:g}: extra annotator")
    need = wilson_sample_size(epsilon=epsilon, confidence=confidence, expected_accuracy=expected_accuracy)
    gold_items, leakage = pd.Index([]), pd.DataFrame(columns=["annotator", "task", "n_seen", "is_leak_issue"])
    if gold is not None:
        g = check_gold(gold, data, func=func)
        gold_items = select_gold(g, n=min(len(g), need) if n_gold is None else n_gold, random_state=rng)
        leakage = gold_leakage(data, gold_items)
    tasks["gold_check"] = tasks.index.isin(gold_items)
    tasks["reasons"] = pd.Series({t: "; ".join(r) for t, r in reasons.items()}, dtype=object)
    tasks.index.name = "task"

    labels = pd.DataFrame({"n_tasks": counts, "share": share, "rate": label_rates})
    labels["n_review"] = tasks.groupby("label")["review"].sum().reindex(labels.index).fillna(0).astype(int)
    labels.index.name = "label"

    ann = data.groupby("annotator").size().rename("n_labels").to_frame()
    new = [] if new_annotators is None else list(new_annotators)
    ann["is_new"] = ann.index.isin(new)
    first = first_tasks(data[data["annotator"].isin(new)], n_first) if new else data.iloc[:0]
    ann["n_first_reviewed"] = first.groupby("annotator").size().reindex(ann.index).fillna(0).astype(int)
    ann["gold_checks_needed"] = need

    notes = [
        f"phase {phase!r}: base review rate {rate:.0%} (practice range {lo:.0%}-{hi:.0%})",
        f"{len(rare)} rare label(s) (< {rare_share:.0%} of tasks) reviewed at {min(1.0, rate * rare_factor):.0%}",
        f"{len(new)} new annotator(s): first {n_first} tasks each reviewed",
        f"{need} gold checks per annotator estimate accuracy within ±{epsilon:g} at "
        f"{confidence:.0%} confidence (Wilson, expected accuracy {expected_accuracy:g})",
    ]
    if flagged is not None:
        notes.append(f"{len(pd.Index(flagged).unique())} flagged task(s) always reviewed")
    notes.append(f"{int(tasks['extra_annotator'].sum())} task(s) below agreement {agreement_threshold:g} get an extra annotator "
                 f"(cap {overlap} + {max_additional})")
    if gold is not None:
        notes.append(f"{len(gold_items)} gold items chosen stratified by label; "
                     f"{int(leakage['is_leak_issue'].sum())} annotator/item pairs seen more than once")
    return SamplingPlan(tasks=tasks, labels=labels, annotators=ann, phase=phase, rate=float(rate), notes=tuple(notes),
                        gold_items=gold_items, leakage=leakage)


def select_gold(gold: pd.Series, *, n: int, random_state=None) -> pd.Index:
    """Choose ``n`` gold (honeypot) tasks stratified by their gold label.

    Each label gets ``n`` times its share (largest remainders), at least one where
    ``n`` allows, so rare classes are represented.

    Parameters
    ----------
    gold : pandas.Series
        Gold label indexed by task.
    n : int
        How many gold tasks to pick (at most ``len(gold)``).
    random_state : int, numpy.random.Generator or None
        Seeds the draw within each label.

    Returns
    -------
    pandas.Index
        The chosen tasks, sorted.

    Examples
    --------
    >>> g = pd.Series(["a"] * 90 + ["b"] * 10, index=range(100))
    >>> chosen = select_gold(g, n=10, random_state=0)
    >>> g[chosen].value_counts().to_dict()
    {'a': 9, 'b': 1}
    """
    if not isinstance(gold, pd.Series):
        raise QAInputError(f"The 'gold' parameter of select_gold must be a pandas Series indexed by task. Got {type(gold).__name__}.")
    gold = gold.dropna()
    n = check_positive_int("n", n, func="select_gold")
    if n > len(gold):
        raise QAInputError(f"The 'n' parameter of select_gold must be <= the {len(gold)} gold tasks. Got {n}.")
    rng = check_random_state(random_state)
    share = gold.value_counts(normalize=True).sort_index()
    quota = np.floor(share * n).astype(int)
    if n >= len(share):
        quota = quota.clip(lower=1)
    rest = n - quota.sum()
    if rest > 0:
        order = (share * n - np.floor(share * n)).sort_values(ascending=False, kind="stable").index
        for lab in order[:rest]:
            quota[lab] += 1
    while quota.sum() > n:  # the floor of 1 overshot: trim the largest strata
        quota[quota.idxmax()] -= 1
    picks = []
    for lab, k in quota.items():
        members = gold.index[(gold == lab).to_numpy()].to_numpy()
        picks.append(rng.choice(members, size=min(k, len(members)), replace=False))
    return pd.Index(np.concatenate(picks)).sort_values()


def gold_leakage(data: pd.DataFrame, gold_tasks) -> pd.DataFrame:
    """How often each annotator has seen each gold task (leakage: seen more than once).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.
    gold_tasks : array-like
        The gold (honeypot) tasks.

    Returns
    -------
    pandas.DataFrame
        One row per (annotator, gold task) seen: ``annotator``, ``task``, ``n_seen``
        and ``is_leak_issue`` (``n_seen > 1``), sorted by ``n_seen`` descending.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "a", "b"], "label": [0, 0, 1]})
    >>> gold_leakage(df, [1, 2])["n_seen"].tolist()
    [2, 1]
    """
    check_columns(data, ["task", "annotator"], func="gold_leakage")
    g = data[data["task"].isin(pd.Index(gold_tasks))]
    out = g.groupby(["annotator", "task"]).size().rename("n_seen").reset_index()
    out["is_leak_issue"] = out["n_seen"] > 1
    return out.sort_values(["n_seen", "annotator"], ascending=[False, True], kind="stable").reset_index(drop=True)
