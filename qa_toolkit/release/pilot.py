"""Pilot go/no-go: is the guideline ready to scale?

Three questions, from the usual pilot practice: is agreement high enough (Krippendorff's
alpha, nominal, with a bootstrap CI, against 0.8 — Krippendorff's own bar for relying
on data), is the severe error rate on gold below 10 %, and where does disagreement
concentrate (labels and confused pairs), which is where the guideline needs work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    QAInputError,
    check_fraction,
    check_positive_int,
    check_random_state,
)
from qa_toolkit.agreement.label_agreement import confusion_pairs, label_agreement
from qa_toolkit.annotators import check_gold, same_label
from qa_toolkit.stats import wilson_interval
from qa_toolkit.table import to_counts

__all__ = ["PilotReport", "categorical_pilot_report", "alpha_with_ci", "alpha_replicates"]


def alpha_with_ci(data: pd.DataFrame, *, n_boot: int = 500, confidence: float = 0.95,
                  random_state=None) -> tuple[float, float, float]:
    """Nominal Krippendorff's alpha and a percentile bootstrap CI over tasks.

    The point estimate comes from the ``krippendorff`` package on the task x label count
    matrix. ``krippendorff`` (0.6 to 0.9) has no bootstrap of its own, so the replicates
    are computed at once with numpy: nominal alpha is
    ``1 - (n - 1) * sum_u D_u / (n**2 - sum_c n_c**2)`` with ``D_u`` the disagreeing pairs
    of task ``u`` over ``m_u - 1`` and ``n_c`` the pairable values per label, and every
    term is a sum over tasks, so a replicate is a matrix product of its task draw counts
    with the per-task terms. Replicates draw tasks exactly as one ``rng.integers`` call
    per replicate would (same numbers for the same seed), and a replicate with a single
    label (alpha undefined) is left out, as a loop over ``krippendorff.alpha`` would.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.
    n_boot : int, default=500
        Bootstrap resamples of tasks.
    confidence : float, default=0.95
        Two-sided level of the percentile interval.
    random_state : int, numpy.random.Generator or None
        Seeds the bootstrap.

    Returns
    -------
    alpha, ci_low, ci_high : float
        NaN when fewer than two tasks have two or more labels.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "annotator": list("ababab"),
    ...                    "label": list("xxyyxy")})
    >>> round(alpha_with_ci(df, n_boot=20, random_state=0)[0], 3)
    0.444
    """
    import krippendorff

    rng = check_random_state(random_state)
    counts = to_counts(data).to_numpy(dtype=float)
    counts = counts[counts.sum(axis=1) > 1]
    if len(counts) < 2 or (counts > 0).any(axis=0).sum() < 2:
        return np.nan, np.nan, np.nan
    alpha = float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))
    boots = alpha_replicates(counts, int(n_boot), rng)
    a = (1 - confidence) / 2
    boots = boots[np.isfinite(boots)]
    lo, hi = np.quantile(boots, [a, 1 - a]) if len(boots) else (np.nan, np.nan)
    return alpha, float(lo), float(hi)


def alpha_replicates(counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Nominal alpha of ``n_boot`` bootstrap resamples of the rows (tasks) of ``counts``.

    ``counts`` is tasks x labels, every task with two or more labels. Returns NaN for a
    replicate holding a single label. Works in blocks of replicates so that the
    replicate x task draw matrix stays below ~4 million cells.
    """
    n_tasks = len(counts)
    m = counts.sum(axis=1)
    disagree = (m**2 - (counts**2).sum(axis=1)) / (m - 1)  # D_u: disagreeing pairs / (m_u - 1)
    out = np.empty(n_boot)
    block = max(1, 4_000_000 // n_tasks)
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        idx = rng.integers(0, n_tasks, (b, n_tasks))  # row r = one replicate's draw
        w = np.bincount((idx + n_tasks * np.arange(b)[:, None]).ravel(), minlength=b * n_tasks)
        w = w.reshape(b, n_tasks).astype(float)  # times each task is drawn
        n_c = w @ counts  # pairable values per label
        n = n_c.sum(axis=1)
        expected = n**2 - (n_c**2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = 1 - (n - 1) * (w @ disagree) / expected
        alpha[(n_c > 0).sum(axis=1) < 2] = np.nan
        out[start:start + b] = alpha
    return out


def _reported_alpha(report: Any) -> tuple[float, float, float] | None:
    """Nominal alpha and its interval read from an agreement report; None when it has none."""
    summary = getattr(report, "summary", None)
    if summary is None or "krippendorff_alpha" not in summary.index:
        return None
    row = summary.loc["krippendorff_alpha"]
    a = float(row["value"])
    if not np.isfinite(a):
        return None
    return a, float(row.get("ci_low", np.nan)), float(row.get("ci_high", np.nan))


@dataclass(frozen=True)
class PilotReport:
    """Result of :func:`pilot_report`.

    Attributes
    ----------
    go : bool
        True when every criterion that could be computed passed and agreement was computable.
    table : pandas.DataFrame
        One row per criterion: ``check``, ``value``, ``ci_low``, ``ci_high``, ``threshold``,
        ``passed``, ``why``.
    labels : pandas.DataFrame
        Per-label specific agreement with CI, worst first.
    pairs : pandas.DataFrame
        Confused label pairs, most frequent first.
    """

    go: bool
    table: pd.DataFrame
    labels: pd.DataFrame
    pairs: pd.DataFrame

    def __str__(self) -> str:
        lines = [f"Pilot: {'GO' if self.go else 'NO-GO'}"]
        lines += [f"  [{'PASS' if r.passed else 'FAIL'}] {r.check}: {r.why}" for r in self.table.itertuples()]
        if len(self.labels):
            lines.append(f"  weakest label: '{self.labels.index[0]}' (agreement {self.labels['agreement'].iloc[0]:.2f})")
        if len(self.pairs):
            a, b, share = (self.pairs[c].iloc[0] for c in ("label_a", "label_b", "share"))
            lines.append(f"  most confused: '{a}' vs '{b}' ({share:.0%} of disagreeing pairs)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{str(self)}</pre>" + self.table.to_html(index=False) + self.labels.head(10).to_html()


def categorical_pilot_report(
    data: pd.DataFrame,
    *,
    gold: pd.Series | None = None,
    min_agreement: float = 0.8,
    max_severe_error_rate: float = 0.10,
    severe_pairs: list[tuple] | None = None,
    n_boot: int = 500,
    confidence: float = 0.95,
    random_state=None,
    agreement: Any = None,
    per_label: bool = True,
) -> PilotReport:
    """Go/no-go of a categorical table (see :func:`qa_toolkit.release.pilot_report`).

    ``agreement``, an agreement report of the same table (``summary`` with a finite
    nominal ``krippendorff_alpha`` row), supplies alpha and its interval instead of a
    second estimate; ``per_label=False`` leaves the per-label table empty (not computed).
    """
    func = "pilot_report"
    if len(data) == 0:
        raise QAInputError(f"The 'data' parameter of {func} is empty: expected at least one annotation.")
    min_agreement = check_fraction("min_agreement", min_agreement, low=-1.0, func=func)
    max_severe_error_rate = check_fraction("max_severe_error_rate", max_severe_error_rate, func=func)
    n_boot = check_positive_int("n_boot", n_boot, func=func)
    rng = check_random_state(random_state)
    given = _reported_alpha(agreement)
    a, lo, hi = given if given is not None else alpha_with_ci(data, n_boot=n_boot, confidence=confidence,
                                                              random_state=rng)
    rows = []
    if np.isnan(a):
        rows.append(("agreement_alpha", np.nan, np.nan, np.nan, min_agreement, False, "not computable: fewer than 2 tasks with 2+ labels"))
    else:
        ok = a >= min_agreement
        rows.append(("agreement_alpha", a, lo, hi, min_agreement, bool(ok),
                     f"alpha {a:.3f} [{lo:.3f}, {hi:.3f}] {'>=' if ok else '<'} {min_agreement:g}"
                     + ("" if ok or hi < min_agreement else " (the CI reaches the bar: more pilot data may settle it)")))
    if gold is not None:
        gold = check_gold(gold, data, func=func)
        g = data[data["task"].isin(gold.index)]
        truth = g["task"].map(gold)
        wrong = ~same_label(g["label"], truth)
        if severe_pairs is not None:
            sev = {(str(t), str(given)) for t, given in severe_pairs}
            wrong = wrong & np.array([(str(t), str(given)) in sev for t, given in zip(truth, g["label"])], dtype=bool)
        k, n = int(wrong.sum()), len(g)
        elo, ehi = wilson_interval(k, n, confidence=confidence)
        rate = k / n if n else np.nan
        ok = bool(n) and rate <= max_severe_error_rate
        rows.append(("severe_error_rate", rate, float(elo), float(ehi), max_severe_error_rate, ok,
                     f"{k} of {n} gold-task labels are severe errors ({rate:.1%}); bar {max_severe_error_rate:.0%}"))
    if per_label:
        labels = label_agreement(data, confidence=confidence, n_boot=n_boot,
                                 random_state=rng).sort_values("agreement", kind="stable")
    else:
        labels = pd.DataFrame(columns=["agreement", "ci_low", "ci_high", "n_labels"], index=pd.Index([], name="label"))
    pairs = confusion_pairs(data)
    table = pd.DataFrame(rows, columns=["check", "value", "ci_low", "ci_high", "threshold", "passed", "why"])
    return PilotReport(go=bool(table["passed"].all()), table=table, labels=labels, pairs=pairs)
