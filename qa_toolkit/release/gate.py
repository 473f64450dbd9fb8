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

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns
from qa_toolkit.annotators import check_gold, final_decision_table
from qa_toolkit.release.checks import CHECK_FUNCTIONS, CHECKS, GateInputs, issue_tables_of
from qa_toolkit.release.gate_fields import (
    evaluate_custom_checks,
    evaluate_field_checks,
    load_custom_checks,
    load_field_checks,
    provenance,
)

__all__ = ["CHECKS", "GateResult", "load_gate_config", "evaluate_gate"]

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
        (:func:`qa_toolkit.release.gate_fields.load_field_checks`) and ``custom: {name: expression}``
        (:func:`qa_toolkit.release.gate_fields.load_custom_checks`).

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
    issues : pandas.DataFrame or list of DataFrames, optional
        Any table(s) following the issue contract (:mod:`qa_toolkit.issue_tables`): every
        flagged task (``is_<name>_issue``; of a fused table only ``is_fused_issue``) is a
        review item for ``unresolved_review_items``; ``is_duplicate_issue`` rows
        (``group`` column when present) are near-duplicate conflicts.
    decisions : pandas.DataFrame, optional
        Review decision log (``task``, ``decision``).
    kinds, assignments : optional
        For the per-field checks (``fields`` in the config), as in :func:`qa_toolkit.to_units`.
    custom_checks : dict, optional
        User-defined checks ``{name: callable(annotations) -> bool or (bool, why)}``; the
        config's ``custom: {name: "expression"}`` entries are evaluated over the counts
        and the values of the other checks (see :func:`qa_toolkit.release.gate_fields.evaluate_custom_checks`).

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

    cfg = load_gate_config(config)
    check_columns(annotations, ["task", "annotator", "label"], name="annotations", func="evaluate_gate")
    if gold is not None:
        gold = check_gold(gold, annotations, func="evaluate_gate")
    inputs = GateInputs(annotations=annotations, labelled=annotations[annotations["label"].notna()], gold=gold,
                        pred_probs=pred_probs, issues=issue_tables_of(issues, func="evaluate_gate"),
                        final=final_decision_table(decisions) if decisions is not None else None)
    rows = []
    for name, p in cfg.items():
        if name in ("fields", "custom"):
            continue
        row, extra = CHECK_FUNCTIONS[name](inputs, p)
        rows.append((name, *row))
        rows.extend(extra)
    table = pd.DataFrame([r[:5] for r in rows], columns=["check", "value", "threshold", "passed", "why"])
    table["passed"] = table["passed"].astype(bool)
    table["status"] = [r[5] if len(r) > 5 else ("insufficient data" if r[4].startswith("insufficient data") else
                       "not computable" if r[4].startswith("not computable") else "pass" if r[3] else "fail") for r in rows]
    table["field"] = None
    if "fields" in cfg:

        ft = evaluate_field_checks(annotations, cfg["fields"], kinds=kinds, assignments=assignments)
        table = pd.concat([table, ft[table.columns]], ignore_index=True) if len(table) else ft[list(table.columns)]
        table["passed"] = table["passed"].astype(bool)
    if "custom" in cfg or custom_checks:

        ct = evaluate_custom_checks(annotations, cfg.get("custom", {}), custom_checks or {}, table)
        table = pd.concat([table, ct[list(table.columns)]], ignore_index=True) if len(table) else ct[list(table.columns)]
        table["passed"] = table["passed"].astype(bool)

    return GateResult(passed=bool(table["passed"].all()), table=table, config=cfg,
                      provenance=provenance(annotations, cfg, kinds=kinds))
