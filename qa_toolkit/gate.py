"""The release gate as code: a config of checks, evaluated to one row per check.

A config is a dict (or YAML file) ``{"checks": {name: params}}``; ``params`` is a
number (the threshold) or a dict. Checks whose inputs are missing (no gold, no
decision log...) fail with a ``why`` saying what is missing: a gate cannot pass
what it could not verify.

Valid checks (see :data:`CHECKS`)::

    agreement_ci_low          min     lowest per-label bootstrap CI lower bound of
                                      specific agreement (params: min, confidence, n_boot,
                                      min_support: labels with fewer labels are reported
                                      as "insufficient data", not failed)
    gold_pass_rate            min     share of labels on gold tasks equal to gold
    missing_label_rate        max     share of tasks with fewer than min_labels labels
    class_balance             min     smallest label share (params: min, max_share)
    near_duplicate_conflicts  max     near-duplicate groups with conflicting labels
    unresolved_review_items   max     flagged items without an accept/fix/reject decision
    export_valid              -       validate_annotations finds no problem
    random_audit_drawn        min     share of tasks with a review decision
    rework_rate               max     share of reviewed items whose final decision is
                                      fix or reject

Per-field checks of typed tables (alpha / kappa / AC1 lower CI bound, region F1 and
mean IoU, per-annotator minimum, per-label lower bound with a minimum support) go under
a ``fields`` key, see :mod:`qa_toolkit.gate_fields`. Every result records its
provenance (input hash, row counts, library versions, configuration, time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns, check_random_state

__all__ = ["CHECKS", "GateResult", "load_gate_config", "evaluate_gate", "label_agreement"]

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
_RANGES = {"confidence": (0.0, 1.0), "n_boot": (10, 100000), "min_labels": (1, 1000), "max_share": (0.0, 1.0),
           "min_support": (1, 10**9)}


def _valid_list() -> str:
    return ", ".join(sorted(CHECKS))


def load_gate_config(config: str | os.PathLike | dict) -> dict:
    """Read and validate a gate config from a YAML file or a dict.

    Parameters
    ----------
    config : str, path-like or dict
        ``{"checks": {name: threshold-or-params}}`` (a bare ``{name: ...}`` mapping is
        accepted too), optionally with ``fields: {field: {check: params}}``
        (:func:`qa_toolkit.gate_fields.load_field_checks`) and ``custom: {name: expression}``
        (:func:`qa_toolkit.gate_fields.load_custom_checks`).

    Returns
    -------
    dict
        ``{name: params}`` with defaults filled in, in the config's order.

    Raises
    ------
    QAInputError
        Unknown check (the message lists the valid ones), unknown parameter, or a
        threshold that is not a number in range.

    Examples
    --------
    >>> load_gate_config({"checks": {"gold_pass_rate": 0.95}})
    {'gold_pass_rate': {'min': 0.95}}
    >>> load_gate_config({"checks": {"gold_rate": 0.95}})
    Traceback (most recent call last):
    ...
    qa_toolkit._validation.QAInputError: Unknown gate check 'gold_rate'. Valid checks: agreement_ci_low, class_balance, export_valid, gold_pass_rate, missing_label_rate, near_duplicate_conflicts, random_audit_drawn, rework_rate, unresolved_review_items.
    """
    if isinstance(config, (str, os.PathLike)):
        import yaml

        path = os.fspath(config)
        if not os.path.exists(path):
            raise QAInputError(f"Gate config file {path!r} does not exist.")
        with open(path, encoding="utf-8") as fh:
            try:
                config = yaml.safe_load(fh)
            except yaml.YAMLError as err:
                raise QAInputError(f"Gate config {path!r} is not valid YAML: {err}") from None
    if not isinstance(config, dict):
        raise QAInputError(f"A gate config must be a mapping {{'checks': {{name: threshold}}}}. Got {type(config).__name__}.")
    from qa_toolkit.gate_fields import load_custom_checks, load_field_checks

    fields, custom = config.get("fields"), config.get("custom")
    extra = {**({"fields": load_field_checks(fields)} if fields is not None else {}),
             **({"custom": load_custom_checks(custom)} if custom is not None else {})}
    checks = config.get("checks", {k: v for k, v in config.items() if k not in ("fields", "custom")})
    if extra and isinstance(checks, dict) and not checks:
        return extra
    if not isinstance(checks, dict) or not checks:
        raise QAInputError(f"A gate config needs a non-empty 'checks' mapping. Valid checks: {_valid_list()}.")
    out = {}
    for name, params in checks.items():
        if name not in CHECKS:
            raise QAInputError(f"Unknown gate check {name!r}. Valid checks: {_valid_list()}.")
        direction, allowed, defaults = CHECKS[name]
        if params is None or params is True:
            params = {}
        elif isinstance(params, (int, float)) and not isinstance(params, bool):
            if direction == "none":
                raise QAInputError(f"Gate check {name!r} takes no threshold. Got {params!r}.")
            params = {direction: params}
        if not isinstance(params, dict):
            raise QAInputError(
                f"Gate check {name!r}: the threshold must be a number or a mapping of {list(allowed) or 'no parameters'}. Got {params!r}."
            )
        bad = sorted(set(params) - set(allowed))
        if bad:
            raise QAInputError(f"Gate check {name!r} does not take {bad}; it takes {list(allowed)}.")
        merged = {k: v for k, v in defaults.items() if k in params or k not in ("min", "max")}
        merged.update({k: v for k, v in defaults.items() if k in ("min", "max")})
        merged.update(params)
        for key, val in merged.items():
            if key == "random_state":
                continue
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not np.isfinite(val):
                raise QAInputError(f"Gate check {name!r}: {key!r} must be a number. Got {val!r}.")
            lo, hi = _RANGES.get(key, (0.0, np.inf) if name in ("near_duplicate_conflicts", "unresolved_review_items") else (0.0, 1.0))
            if not lo <= val <= hi:
                raise QAInputError(f"Gate check {name!r}: {key!r} must lie in [{lo}, {hi}]. Got {val!r}.")
        out[name] = merged
    out.update(extra)
    return out


def label_agreement(data: pd.DataFrame, *, confidence: float = 0.95, n_boot: int = 500, random_state=None) -> pd.DataFrame:
    """Specific (per-label) agreement with a task-bootstrap CI.

    For label ``L``, specific agreement is the share of pairs of labels on the same task
    that are both ``L`` among pairs where at least one is ``L``:
    ``sum c_L (c_L - 1) / sum c_L (n - 1)`` with ``c_L`` the task's count of ``L`` and
    ``n`` its number of labels (Uebersax 1982, "positive specific agreement").

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.
    confidence : float, default=0.95
        Level of the percentile interval.
    n_boot : int, default=500
        Bootstrap resamples of tasks.
    random_state : int, numpy.random.Generator or None
        Seeds the bootstrap.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``label``: ``agreement``, ``ci_low``, ``ci_high``, ``n_labels``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xxxy")})
    >>> label_agreement(df, n_boot=50, random_state=0)["agreement"].round(3).tolist()
    [0.667, 0.0]
    """
    from qa_toolkit.table import to_counts

    check_columns(data, ["task", "annotator", "label"], func="label_agreement")
    rng = check_random_state(random_state)
    c = to_counts(data).to_numpy(dtype=float)
    labels = to_counts(data).columns
    n = c.sum(axis=1, keepdims=True)
    keep = (n[:, 0] > 1)
    c, n = c[keep], n[keep]
    num, den = c * (c - 1), c * (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = num.sum(0) / den.sum(0)
        if len(c):
            w = rng.multinomial(len(c), np.full(len(c), 1.0 / len(c)), size=n_boot).astype(float)
            boot = (w @ num) / (w @ den)
        else:
            boot = np.full((1, len(labels)), np.nan)
    a = (1 - confidence) / 2
    lo = np.nanquantile(boot, a, axis=0) if len(c) else np.full(len(labels), np.nan)
    hi = np.nanquantile(boot, 1 - a, axis=0) if len(c) else np.full(len(labels), np.nan)
    out = pd.DataFrame({"agreement": point, "ci_low": lo, "ci_high": hi, "n_labels": c.sum(0).astype(int)}, index=labels)
    out.index.name = "label"
    return out


@dataclass(frozen=True)
class GateResult:
    """Outcome of :func:`evaluate_gate`.

    Attributes
    ----------
    passed : bool
        True when every check passed.
    table : pandas.DataFrame
        One row per check: ``check``, ``value``, ``threshold``, ``passed``, ``why``,
        ``status`` (pass / fail / not computable / insufficient data / not applicable)
        and ``field`` (None for table-wide checks).
    config : dict
        The validated config used.
    provenance : dict
        Input hash (``input_sha256``), ``n_rows``, ``n_tasks``, ``n_annotators``,
        per-field counts, library ``versions``, ``config`` and ``time``.
    """

    passed: bool
    table: pd.DataFrame
    config: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def __str__(self) -> str:
        failed = int((~self.table["passed"]).sum())
        head = f"Release gate: {'PASSED' if self.passed else 'FAILED'} ({failed} of {len(self.table)} checks failed)"
        lines = [head]
        for r in self.table.itertuples(index=False):
            mark = {"insufficient data": "N/A "}.get(getattr(r, "status", ""), "PASS" if r.passed else "FAIL")
            lines.append(f"  [{mark}] {r.check}: {r.why}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.passed else "#c62828"
        word = "PASSED" if self.passed else "FAILED"
        return f"<p><b style='color:{colour}'>Release gate {word}</b></p>" + self.table.to_html(index=False)


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def _compare(name: str, value: float, params: dict, detail: str) -> tuple[float, str, bool, str]:
    direction = CHECKS[name][0]
    thr = params[direction]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan, f"{'>=' if direction == 'min' else '<='} {_fmt(thr)}", False, f"not computable: {detail}"
    ok = value >= thr if direction == "min" else value <= thr
    op = ">=" if direction == "min" else "<="
    verdict = "meets" if ok else "misses"
    return float(value), f"{op} {_fmt(thr)}", bool(ok), f"{_fmt(value)} {verdict} {op} {_fmt(thr)}; {detail}"


def evaluate_gate(
    annotations: pd.DataFrame,
    config: str | os.PathLike | dict,
    *,
    gold: pd.Series | None = None,
    pred_probs: pd.DataFrame | None = None,
    issues: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    kinds: dict | None = None,
    assignments: pd.DataFrame | None = None,
    custom_checks: dict | None = None,
) -> GateResult:
    """Evaluate the release checks of ``config`` on the annotations.

    Parameters
    ----------
    annotations : pandas.DataFrame
        Canonical long annotations.
    config : str, path-like or dict
        See :func:`load_gate_config`.
    gold : pandas.Series, optional
        Gold labels indexed by task (``gold_pass_rate``).
    pred_probs : pandas.DataFrame, optional
        Model probabilities; their tasks count for ``missing_label_rate``.
    issues : pandas.DataFrame, optional
        Issue table indexed by task: ``is_label_issue``/``is_fused_issue`` rows are review
        items; ``is_duplicate_conflict_issue`` rows (``group`` column when present) are
        near-duplicate conflicts.
    decisions : pandas.DataFrame, optional
        Review decision log (``task``, ``decision``).
    kinds, assignments : optional
        For the per-field checks (``fields`` in the config), as in :func:`qa_toolkit.to_units`.
    custom_checks : dict, optional
        User-defined checks ``{name: callable(annotations) -> bool or (bool, why)}``; the
        config's ``custom: {name: "expression"}`` entries are evaluated over the counts
        and the values of the other checks (see :func:`qa_toolkit.gate_fields.evaluate_custom_checks`).

    Returns
    -------
    GateResult
        ``passed`` and the one-row-per-check ``table``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xxyy")})
    >>> res = evaluate_gate(df, {"checks": {"missing_label_rate": 0.0, "export_valid": {}}})
    >>> res.passed, res.table["check"].tolist()
    (True, ['missing_label_rate', 'export_valid'])
    """
    from qa_toolkit.annotators import check_gold, final_decision_table, same_label
    from qa_toolkit.table import validate_annotations

    cfg = load_gate_config(config)
    check_columns(annotations, ["task", "annotator", "label"], name="annotations", func="evaluate_gate")
    if gold is not None:
        gold = check_gold(gold, annotations, func="evaluate_gate")
    labelled = annotations[annotations["label"].notna()]
    final = final_decision_table(decisions) if decisions is not None else None
    rows, rare_rows = [], []
    for name, p in cfg.items():
        if name in ("fields", "custom"):
            continue
        if name == "agreement_ci_low":
            la = label_agreement(labelled, confidence=p["confidence"], n_boot=int(p["n_boot"]), random_state=p.get("random_state"))
            la = la[la["n_labels"] > 0]
            rare = la[la["n_labels"] < p.get("min_support", 1)]
            la = la[la["n_labels"] >= p.get("min_support", 1)]
            if len(rare):
                names = ", ".join(f"'{x}' ({int(n)})" for x, n in rare["n_labels"].head(8).items())
                rare_rows.append(("agreement_ci_low (rare labels)", float(len(rare)), f"support >= {int(p['min_support'])}",
                                  True, f"{len(rare)} label(s) below {int(p['min_support'])} labels, not judged "
                                  f"(insufficient data): {names}", "insufficient data"))
            if not len(la) and len(rare):
                r = (np.nan, f">= {_fmt(p['min'])}", False, f"insufficient data: no label has {int(p['min_support'])}+ labels")
            elif la["ci_low"].notna().any():
                worst = la["ci_low"].idxmin()
                r = _compare(name, float(la["ci_low"].min()), p,
                             f"worst label '{worst}': agreement {_fmt(la.loc[worst, 'agreement'])} "
                             f"[{_fmt(la.loc[worst, 'ci_low'])}, {_fmt(la.loc[worst, 'ci_high'])}]")
            else:
                r = _compare(name, np.nan, p, "no task has two labels")
        elif name == "gold_pass_rate":
            if gold is None:
                r = _compare(name, np.nan, p, "no gold given")
            else:
                g = labelled[labelled["task"].isin(gold.index)]
                ok = same_label(g["label"], g["task"].map(gold))
                r = _compare(name, float(ok.mean()) if len(g) else np.nan, p, f"{int(ok.sum())} of {len(g)} gold-task labels match gold")
        elif name == "missing_label_rate":
            tasks = pd.Index(annotations["task"].unique())
            for extra in (gold, pred_probs):
                if extra is not None:
                    tasks = tasks.union(pd.Index(extra.index))
            n = labelled.groupby("task").size().reindex(tasks).fillna(0)
            short = int((n < p["min_labels"]).sum())
            r = _compare(name, short / len(tasks) if len(tasks) else np.nan, p,
                         f"{short} of {len(tasks)} tasks have fewer than {int(p['min_labels'])} label(s)")
        elif name == "class_balance":
            share = labelled["label"].value_counts(normalize=True)
            if not len(share):
                r = _compare(name, np.nan, p, "no labels")
            else:
                r = _compare(name, float(share.min()), p, f"rarest label '{share.idxmin()}', commonest '{share.idxmax()}' at {_fmt(share.max())}")
                if share.max() > p["max_share"]:
                    r = (r[0], r[1] + f" and top share <= {_fmt(p['max_share'])}", False,
                         f"commonest label '{share.idxmax()}' has {_fmt(share.max())} > {_fmt(p['max_share'])}")
        elif name == "near_duplicate_conflicts":
            if issues is None or "is_duplicate_conflict_issue" not in issues.columns:
                r = _compare(name, np.nan, p, "no near-duplicate table (issues with is_duplicate_conflict_issue) given")
            else:
                bad = issues[issues["is_duplicate_conflict_issue"].fillna(False).astype(bool)]
                k = bad["group"].nunique() if "group" in bad.columns else len(bad)
                r = _compare(name, float(k), p, f"{k} near-duplicate conflict(s)")
        elif name == "unresolved_review_items":
            flag_col = next((c for c in ("is_fused_issue", "is_label_issue") if issues is not None and c in issues.columns), None)
            if flag_col is None:
                r = _compare(name, np.nan, p, "no issue table with is_fused_issue/is_label_issue given")
            else:
                iss = issues.reset_index() if "task" not in issues.columns else issues
                flagged = pd.Index(iss.loc[iss[flag_col].fillna(False).astype(bool), "task"].unique())
                done = pd.Index([]) if final is None or not len(final) else pd.Index(final.loc[final["decision"].isin(["accept", "fix", "reject"]), "task"])
                k = int((~flagged.isin(done)).sum())
                r = _compare(name, float(k), p, f"{k} of {len(flagged)} flagged items lack an accept/fix/reject decision")
        elif name == "export_valid":
            try:
                validate_annotations(annotations)
                r = (1.0, "valid", True, "validate_annotations found no problem")
            except ValueError as err:
                r = (0.0, "valid", False, str(err))
        elif name == "random_audit_drawn":
            if final is None:
                r = _compare(name, np.nan, p, "no decision log given")
            else:
                n_tasks = annotations["task"].nunique()
                k = int(final["task"].isin(annotations["task"]).sum()) if len(final) else 0
                r = _compare(name, k / n_tasks, p, f"{k} of {n_tasks} tasks reviewed")
        elif name == "rework_rate":
            done = None if final is None else final.loc[final["decision"].isin(["accept", "fix", "reject"])]
            if done is None or not len(done):
                r = _compare(name, np.nan, p, "no accept/fix/reject decision in the log" if final is not None else "no decision log given")
            else:
                k = int(done["decision"].isin(["fix", "reject"]).sum())
                r = _compare(name, k / len(done), p, f"{k} of {len(done)} reviewed items were fixed or rejected")
        rows.append((name, *r))
        rows.extend(rare_rows)
        rare_rows = []
    table = pd.DataFrame([r[:5] for r in rows], columns=["check", "value", "threshold", "passed", "why"])
    table["passed"] = table["passed"].astype(bool)
    table["status"] = [r[5] if len(r) > 5 else ("insufficient data" if r[4].startswith("insufficient data") else
                       "not computable" if r[4].startswith("not computable") else "pass" if r[3] else "fail") for r in rows]
    table["field"] = None
    if "fields" in cfg:
        from qa_toolkit.gate_fields import evaluate_field_checks

        ft = evaluate_field_checks(annotations, cfg["fields"], kinds=kinds, assignments=assignments)
        table = pd.concat([table, ft[table.columns]], ignore_index=True) if len(table) else ft[list(table.columns)]
        table["passed"] = table["passed"].astype(bool)
    if "custom" in cfg or custom_checks:
        from qa_toolkit.gate_fields import evaluate_custom_checks

        ct = evaluate_custom_checks(annotations, cfg.get("custom", {}), custom_checks or {}, table)
        table = pd.concat([table, ct[list(table.columns)]], ignore_index=True) if len(table) else ct[list(table.columns)]
        table["passed"] = table["passed"].astype(bool)
    from qa_toolkit.gate_fields import provenance

    return GateResult(passed=bool(table["passed"].all()), table=table, config=cfg,
                      provenance=provenance(annotations, cfg, kinds=kinds))
