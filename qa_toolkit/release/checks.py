"""The release gate's table-wide checks: one small function per check, in a registry.

Each check reads a :class:`GateInputs` and its validated parameters and returns one row
``(value, threshold text, passed, why)`` (optionally a sixth ``status``) plus, for
``agreement_ci_low``, extra "insufficient data" rows for rare labels. Issue tables are read
through the one contract of :mod:`qa_toolkit.issue_tables`: any table with ``task`` and
``is_<name>_issue`` / ``<name>_score`` pairs counts for ``unresolved_review_items``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit.agreement.label_agreement import label_agreement
from qa_toolkit.annotators import same_label
from qa_toolkit.issue_tables import check_issue_table, issue_pairs
from qa_toolkit.table import validate_annotations

__all__ = ["CHECKS", "GateInputs", "CHECK_FUNCTIONS", "fmt", "compare", "issue_tables_of"]

Row = tuple
#: check name -> (direction, allowed params, default params)
CHECKS: dict[str, tuple[str, tuple[str, ...], dict]] = {
    "agreement_ci_low": ("min", ("min", "confidence", "n_boot", "random_state", "min_support"),
                         {"min": 0.6, "confidence": 0.95, "n_boot": 500, "random_state": 0, "min_support": 5}),
    "gold_pass_rate": ("min", ("min",), {"min": 0.9}),
    "missing_label_rate": ("max", ("max", "min_labels"), {"max": 0.0, "min_labels": 1}),
    "class_balance": ("min", ("min", "max_share"), {"min": 0.01, "max_share": 1.0}),
    "near_duplicate_conflicts": ("max", ("max",), {"max": 0}),
    "unresolved_review_items": ("max", ("max",), {"max": 0}),
    "export_valid": ("none", (), {}),
    "random_audit_drawn": ("min", ("min",), {"min": 0.05}),
    "rework_rate": ("max", ("max",), {"max": 0.1}),
}
_DONE = ["accept", "fix", "reject"]


@dataclass(frozen=True)
class GateInputs:
    """What the checks read: annotations (and their labelled rows), gold, model tasks,
    contract issue tables and the final review decisions."""

    annotations: pd.DataFrame
    labelled: pd.DataFrame
    gold: pd.Series | None
    pred_probs: pd.DataFrame | None
    issues: tuple[pd.DataFrame, ...]
    final: pd.DataFrame | None


def fmt(v: Any) -> str:
    """Short number format of the gate's words."""
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def compare(name: str, value: float, params: dict, detail: str) -> Row:
    """(value, threshold text, passed, why) of a min/max check; NaN -> not computable."""
    direction = CHECKS[name][0]
    thr = params[direction]
    op = ">=" if direction == "min" else "<="
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan, f"{op} {fmt(thr)}", False, f"not computable: {detail}"
    ok = value >= thr if direction == "min" else value <= thr
    return float(value), f"{op} {fmt(thr)}", bool(ok), f"{fmt(value)} {'meets' if ok else 'misses'} {op} {fmt(thr)}; {detail}"


def _agreement_ci_low(x: GateInputs, p: dict) -> tuple[Row, list[Row]]:
    name = "agreement_ci_low"
    la = label_agreement(x.labelled, confidence=p["confidence"], n_boot=int(p["n_boot"]), random_state=p.get("random_state"))
    la = la[la["n_labels"] > 0]
    rare = la[la["n_labels"] < p.get("min_support", 1)]
    la = la[la["n_labels"] >= p.get("min_support", 1)]
    extra = []
    if len(rare):
        names = ", ".join(f"'{k}' ({int(n)})" for k, n in rare["n_labels"].head(8).items())
        extra.append(("agreement_ci_low (rare labels)", float(len(rare)), f"support >= {int(p['min_support'])}", True,
                      f"{len(rare)} label(s) below {int(p['min_support'])} labels, not judged (insufficient data): "
                      f"{names}", "insufficient data"))
    if not len(la) and len(rare):
        return (np.nan, f">= {fmt(p['min'])}", False,
                f"insufficient data: no label has {int(p['min_support'])}+ labels"), extra
    if la["ci_low"].notna().any():
        worst = la["ci_low"].idxmin()
        return compare(name, float(la["ci_low"].min()), p,
                       f"worst label '{worst}': agreement {fmt(la.loc[worst, 'agreement'])} "
                       f"[{fmt(la.loc[worst, 'ci_low'])}, {fmt(la.loc[worst, 'ci_high'])}]"), extra
    return compare(name, np.nan, p, "no task has two labels"), extra


def _gold_pass_rate(x: GateInputs, p: dict) -> Row:
    if x.gold is None:
        return compare("gold_pass_rate", np.nan, p, "no gold given")
    g = x.labelled[x.labelled["task"].isin(x.gold.index)]
    ok = same_label(g["label"], g["task"].map(x.gold))
    return compare("gold_pass_rate", float(ok.mean()) if len(g) else np.nan, p,
                   f"{int(ok.sum())} of {len(g)} gold-task labels match gold")


def _missing_label_rate(x: GateInputs, p: dict) -> Row:
    tasks = pd.Index(x.annotations["task"].unique())
    for extra in (x.gold, x.pred_probs):
        if extra is not None:
            tasks = tasks.union(pd.Index(extra.index))
    n = x.labelled.groupby("task").size().reindex(tasks).fillna(0)
    short = int((n < p["min_labels"]).sum())
    return compare("missing_label_rate", short / len(tasks) if len(tasks) else np.nan, p,
                   f"{short} of {len(tasks)} tasks have fewer than {int(p['min_labels'])} label(s)")


def _class_balance(x: GateInputs, p: dict) -> Row:
    share = x.labelled["label"].value_counts(normalize=True)
    if not len(share):
        return compare("class_balance", np.nan, p, "no labels")
    r = compare("class_balance", float(share.min()), p,
                f"rarest label '{share.idxmin()}', commonest '{share.idxmax()}' at {fmt(share.max())}")
    if share.max() > p["max_share"]:
        r = (r[0], r[1] + f" and top share <= {fmt(p['max_share'])}", False,
             f"commonest label '{share.idxmax()}' has {fmt(share.max())} > {fmt(p['max_share'])}")
    return r


def _near_duplicate_conflicts(x: GateInputs, p: dict) -> Row:
    tables = [t for t in x.issues if "is_duplicate_issue" in t.columns]
    if not tables:
        return compare("near_duplicate_conflicts", np.nan, p,
                       "no near-duplicate table (issues with is_duplicate_issue) given")
    bad = pd.concat([t[t["is_duplicate_issue"].fillna(False).astype(bool)] for t in tables])
    k = bad["group"].nunique() if "group" in bad.columns else len(bad)
    return compare("near_duplicate_conflicts", float(k), p, f"{k} near-duplicate conflict(s)")


def _unresolved_review_items(x: GateInputs, p: dict) -> Row:
    flagged: set = set()
    names: list[str] = []
    for t in x.issues:
        pairs = issue_pairs(t)
        if "fused" in pairs:  # the fused table already combines its components
            pairs = {"fused": pairs["fused"]}
        for nm, (fl, _) in pairs.items():
            names.append(nm)
            flagged |= set(t.loc[t[fl].astype("boolean").fillna(False).to_numpy(dtype=bool), "task"])
    if not names:
        return compare("unresolved_review_items", np.nan, p, "no issue table (task, is_<name>_issue, <name>_score) given")
    final = x.final
    done = set() if final is None or not len(final) else set(final.loc[final["decision"].isin(_DONE), "task"])
    k = len(flagged - done)
    return compare("unresolved_review_items", float(k), p,
                   f"{k} of {len(flagged)} items flagged by {', '.join(sorted(set(names)))} lack an accept/fix/reject "
                   "decision")


def _export_valid(x: GateInputs, p: dict) -> Row:
    try:
        validate_annotations(x.annotations)
    except ValueError as err:
        return 0.0, "valid", False, str(err)
    return 1.0, "valid", True, "validate_annotations found no problem"


def _random_audit_drawn(x: GateInputs, p: dict) -> Row:
    if x.final is None:
        return compare("random_audit_drawn", np.nan, p, "no decision log given")
    n_tasks = x.annotations["task"].nunique()
    k = int(x.final["task"].isin(x.annotations["task"]).sum()) if len(x.final) else 0
    return compare("random_audit_drawn", k / n_tasks, p, f"{k} of {n_tasks} tasks reviewed")


def _rework_rate(x: GateInputs, p: dict) -> Row:
    done = None if x.final is None else x.final.loc[x.final["decision"].isin(_DONE)]
    if done is None or not len(done):
        return compare("rework_rate", np.nan, p,
                       "no accept/fix/reject decision in the log" if x.final is not None else "no decision log given")
    k = int(done["decision"].isin(["fix", "reject"]).sum())
    return compare("rework_rate", k / len(done), p, f"{k} of {len(done)} reviewed items were fixed or rejected")


def _plain(fn: Callable[[GateInputs, dict], Row]) -> Callable[[GateInputs, dict], tuple[Row, list[Row]]]:
    return lambda x, p: (fn(x, p), [])


#: check name -> function(inputs, params) -> (row, extra rows)
CHECK_FUNCTIONS: dict[str, Callable[[GateInputs, dict], tuple[Row, list[Row]]]] = {
    "agreement_ci_low": _agreement_ci_low,
    "gold_pass_rate": _plain(_gold_pass_rate),
    "missing_label_rate": _plain(_missing_label_rate),
    "class_balance": _plain(_class_balance),
    "near_duplicate_conflicts": _plain(_near_duplicate_conflicts),
    "unresolved_review_items": _plain(_unresolved_review_items),
    "export_valid": _plain(_export_valid),
    "random_audit_drawn": _plain(_random_audit_drawn),
    "rework_rate": _plain(_rework_rate),
}


def issue_tables_of(issues, *, func: str) -> tuple[pd.DataFrame, ...]:
    """``issues`` (None, a table or a list of tables) as contract tables with a ``task`` column.

    A near-duplicate table is kept even without a score column (its groups are what the
    ``near_duplicate_conflicts`` check counts); every other table must follow the contract.
    """
    if issues is None:
        return ()
    tables = list(issues) if isinstance(issues, (list, tuple)) else [issues]
    out = []
    for t in tables:
        if isinstance(t, pd.DataFrame) and "is_duplicate_issue" in t.columns and not issue_pairs(t):
            out.append(t.reset_index() if "task" not in t.columns and t.index.name == "task" else t)
        else:
            out.append(check_issue_table(t, func=func))
    return tuple(out)
