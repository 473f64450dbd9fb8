"""Per-field release checks and the provenance of a gate result.

A gate config may carry, next to ``checks``, a ``fields`` mapping
``{field: {check: threshold-or-params}}`` evaluated on that field at the metrics of its
kind (see :data:`FIELD_CHECKS`)::

    fields:
      label:                       # a box field
        alpha_ci_low: 0.5          # alpha on matched units, lower CI bound
        region_f1: 0.8
        region_mean_iou: 0.7
        annotator_min: {min: 0.6, min_tasks: 5}
      sentiment:                   # a categorical field
        kappa_ci_low: 0.6
        ac1_ci_low: 0.6
        label_ci_low: {min: 0.5, min_support: 10}

Labels with fewer than ``min_support`` labels (tasks for multi-label, objects for
regions) are not failed with an undefined or zero agreement: they get their own row with
status ``insufficient data`` (which does not fail the gate); a check with no label that
has enough support is ``insufficient data`` and does not pass (nothing was verified).
"""

from __future__ import annotations

import ast
import hashlib
import sys
import warnings
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError
from qa_toolkit.agreement.label_agreement import label_agreement
from qa_toolkit.annotators import annotator_report, field_annotator_report
from qa_toolkit.units.kinds import REGION_KINDS, field_kinds, select_field

__all__ = ["FIELD_CHECKS", "load_field_checks", "evaluate_field_checks", "load_custom_checks",
           "evaluate_custom_checks", "provenance"]

_BOOT = {"n_boot": 500, "confidence": 0.95, "random_state": 0}
#: check -> (allowed params, defaults, kinds it applies to)
FIELD_CHECKS: dict[str, tuple[tuple[str, ...], dict, tuple[str, ...]]] = {
    "alpha_ci_low": (("min", *_BOOT), {"min": 0.667, **_BOOT},
                     ("categorical", "multilabel", "ordinal", "interval", *REGION_KINDS)),
    "kappa_ci_low": (("min", *_BOOT), {"min": 0.6, **_BOOT}, ("categorical",)),
    "ac1_ci_low": (("min", *_BOOT), {"min": 0.6, **_BOOT}, ("categorical",)),
    "region_f1": (("min", "iou_threshold", *_BOOT), {"min": 0.8, "iou_threshold": 0.5, **_BOOT}, REGION_KINDS),
    "region_mean_iou": (("min", "iou_threshold"), {"min": 0.7, "iou_threshold": 0.5}, REGION_KINDS),
    "annotator_min": (("min", "min_tasks"), {"min": 0.5, "min_tasks": 5},
                      ("categorical", "multilabel", "ordinal", "interval", *REGION_KINDS)),
    "label_ci_low": (("min", "min_support", *_BOOT), {"min": 0.5, "min_support": 10, **_BOOT},
                     ("categorical", "multilabel", *REGION_KINDS)),
}
_INT = {"n_boot": (10, 100000), "min_tasks": (1, 10**9), "min_support": (1, 10**9)}


def load_field_checks(fields: Any) -> dict:
    """Validate the ``fields`` part of a gate config: ``{field: {check: params}}`` with defaults.

    Raises
    ------
    QAInputError
        Unknown check (listing the valid ones), unknown parameter, non-numeric or
        out-of-range threshold, naming the field.

    Examples
    --------
    >>> load_field_checks({"label": {"region_f1": 0.9}})["label"]["region_f1"]["min"]
    0.9
    """
    if not isinstance(fields, dict) or not fields:
        raise QAInputError(f"The 'fields' part of a gate config must map each field to its checks. Got {fields!r}.")
    out = {}
    for f, checks in fields.items():
        if not isinstance(checks, dict) or not checks:
            raise QAInputError(f"Gate config, field {f!r}: expected a mapping of checks {sorted(FIELD_CHECKS)}. Got {checks!r}.")
        out[f] = {}
        for name, params in checks.items():
            if name not in FIELD_CHECKS:
                raise QAInputError(f"Unknown field check {name!r} for field {f!r}. Valid field checks: "
                                   f"{', '.join(sorted(FIELD_CHECKS))}.")
            allowed, defaults, _ = FIELD_CHECKS[name]
            if isinstance(params, (int, float)) and not isinstance(params, bool):
                params = {"min": params}
            if params is None or params is True:
                params = {}
            if not isinstance(params, dict):
                raise QAInputError(f"Field check {name!r} of field {f!r}: the threshold must be a number or a mapping "
                                   f"of {list(allowed)}. Got {params!r}.")
            bad = sorted(set(params) - set(allowed))
            if bad:
                raise QAInputError(f"Field check {name!r} of field {f!r} does not take {bad}; it takes {list(allowed)}.")
            merged = {**defaults, **params}
            for k, v in merged.items():
                if k == "random_state":
                    continue
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                    raise QAInputError(f"Field check {name!r} of field {f!r}: {k!r} must be a number. Got {v!r}.")
                lo, hi = _INT.get(k, (-1.0, 1.0) if k == "min" else (0.0, 1.0))
                if not lo <= v <= hi:
                    raise QAInputError(f"Field check {name!r} of field {f!r}: {k!r} must lie in [{lo}, {hi}]. Got {v!r}.")
            out[f][name] = merged
    return out


def _row(name, f, value, lo, hi, p, detail, status=None):
    thr = p["min"]
    if status is None:
        if value is None or not np.isfinite(value):
            return (f"{f}:{name}", f, np.nan, f">= {thr:g}", False, "not computable", f"not computable: {detail}")
        ok = bool(value >= thr)
        status = "pass" if ok else "fail"
        ci = f" [{lo:.4g}, {hi:.4g}]" if lo is not None and np.isfinite(lo) else ""
        detail = f"{value:.4g}{ci} {'meets' if ok else 'misses'} >= {thr:g}; {detail}"
        return (f"{f}:{name}", f, float(value), f">= {thr:g}", ok, status, detail)
    return (f"{f}:{name}", f, np.nan if value is None else value, f">= {thr:g}", status != "insufficient data" or name.endswith("(rare labels)"),
            status, detail)


def _ci(t, metric, p, **kw):
    from qa_toolkit.agreement.bootstrap import confidence_interval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = confidence_interval(t, metric, n_boot=int(p["n_boot"]), confidence=p["confidence"],
                                random_state=p["random_state"], **kw).iloc[0]
    return float(r["value"]), float(r["ci_low"]), float(r["ci_high"])


def _field_report(cache, data, f, kinds, assignments, p):
    from qa_toolkit.agreement.fields import report_by_field

    key = ("report", f, p.get("iou_threshold", 0.5))
    if key not in cache:
        cache[key] = report_by_field(data, field=f, kinds=kinds, assignments=assignments, n_boot=int(p.get("n_boot", 500)),
                                     random_state=p.get("random_state", 0), iou_threshold=p.get("iou_threshold", 0.5))
    return cache[key]


def _labels(name, f, kind, per, col, lo_col, support, p):
    """Rows of a per-label check: the worst label with enough support, rare labels apart."""
    rare = per.loc[support < p["min_support"]]
    ok = per.loc[(support >= p["min_support"]) & per[lo_col].notna()]
    rows = []
    if len(ok):
        w = ok[lo_col].idxmin()
        rows.append(_row(name, f, float(ok.loc[w, lo_col]), None, None, p,
                         f"worst label {w!r} ({col} {ok.loc[w, col]:.3g}, support {int(support[w])}) of {len(ok)} judged"))
    else:
        rows.append(_row(name, f, None, None, None, p, f"no label has {int(p['min_support'])}+ support", "insufficient data"))
    if len(rare):
        names = ", ".join(f"{x!r} ({int(support[x])})" for x in list(rare.index)[:8]) + (" ..." if len(rare) > 8 else "")
        rows.append((f"{f}:{name} (rare labels)", f, float(len(rare)), f"support >= {int(p['min_support'])}", True,
                     "insufficient data", f"{len(rare)} label(s) below {int(p['min_support'])} support, not judged: {names}"))
    return rows


def _one(name, p, data, d, f, kind, kinds, assignments, cache):
    flat = pd.DataFrame({"task": d["task"].to_numpy(), "annotator": d["annotator"].to_numpy(), "label": d["label"].to_numpy()})
    if name in ("alpha_ci_low", "kappa_ci_low", "ac1_ci_low") and kind == "categorical":
        metric = {"alpha_ci_low": "krippendorff_alpha", "kappa_ci_low": "fleiss_kappa", "ac1_ci_low": "gwet_ac1"}[name]
        v, lo, hi = _ci(flat, metric, p)
        return [_row(name, f, lo, None, None, p, f"{metric} {v:.4g} [{lo:.4g}, {hi:.4g}]")]
    if name == "alpha_ci_low":
        rep = _field_report(cache, data, f, kinds, assignments, p)
        m = {"multilabel": "alpha_masi", "ordinal": "alpha_ordinal", "interval": "alpha_interval"}.get(kind, "alpha_absent_counted")
        r = rep.summary.loc[m]
        return [_row(name, f, float(r["ci_low"]), None, None, p, f"{m} {r['value']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]")]
    if name in ("region_f1", "region_mean_iou"):
        rep = _field_report(cache, data, f, kinds, assignments, p)
        m = "f1" if name == "region_f1" else "mean_iou"
        if m not in rep.summary.index:
            return [_row(name, f, None, None, None, p, "no two annotators share a task")]
        r = rep.summary.loc[m]
        return [_row(name, f, float(r["value"]), float(r["ci_low"]), float(r["ci_high"]), p,
                     f"pooled pairwise {m} over {int(r['n_units'])} matched objects")]
    if name == "annotator_min":

        if kind == "categorical":

            rep = annotator_report(flat, dawid_skene=False)
            judged = rep.loc[rep["n_tasks"] >= p["min_tasks"]]
            metric = "leave-one-out agreement"
        else:
            rep = field_annotator_report(data, field=f, kinds=kinds, assignments=assignments, n_boot=10, random_state=0)
            judged = rep.loc[rep["n_tasks"] >= p["min_tasks"]]
            metric = rep.attrs["agreement_metric"]
        judged = judged.loc[judged["agreement"].notna()]
        if not len(judged):
            return [_row(name, f, None, None, None, p, f"no annotator has {int(p['min_tasks'])}+ tasks", "insufficient data")]
        w = judged["agreement"].idxmin()
        return [_row(name, f, float(judged.loc[w, "agreement"]), None, None, p,
                     f"weakest annotator {w!r} ({metric}) of {len(judged)} with {int(p['min_tasks'])}+ tasks")]
    if name == "label_ci_low":
        if kind == "categorical":

            per = label_agreement(flat, confidence=p["confidence"], n_boot=int(p["n_boot"]), random_state=p["random_state"])
            return _labels(name, f, kind, per, "agreement", "ci_low", per["n_labels"], p)
        rep = _field_report(cache, data, f, kinds, assignments, p)
        per = rep.per_label
        if kind == "multilabel":
            support = (per["prevalence"] * per["n_units"]).round()
            return _labels(name, f, kind, per, "alpha", "alpha_ci_low", support, p)
        return _labels(name, f, kind, per.assign(f1_low=per["f1"]), "f1", "f1_low", per["n_objects"], p)
    raise AssertionError(name)  # pragma: no cover - validated


def evaluate_field_checks(data: pd.DataFrame, fields: dict, *, kinds: dict | None = None,
                          assignments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Evaluate validated per-field checks (:func:`load_field_checks`).

    Returns
    -------
    pandas.DataFrame
        One row per check (``check`` = ``"<field>:<name>"``): ``field``, ``value``,
        ``threshold``, ``passed``, ``status`` (pass / fail / insufficient data / not
        computable / not applicable), ``why``.
    """
    ks = field_kinds(data, kinds=kinds)
    rows, cache = [], {}
    for f, checks in fields.items():
        if f not in ks:
            for name in checks:
                rows.append((f"{f}:{name}", f, np.nan, "", False, "not computable",
                             f"not computable: field {f!r} is not in the table (fields: {list(ks)[:10]})"))
            continue
        d, f, kind = select_field(data, f, kinds=kinds, func="evaluate_gate")
        for name, p in checks.items():
            if kind not in FIELD_CHECKS[name][2]:
                rows.append((f"{f}:{name}", f, np.nan, f">= {p['min']:g}", False, "not applicable",
                             f"{name} is not defined for field {f!r} of kind {kind!r}; checks for this kind: "
                             f"{sorted(n for n, v in FIELD_CHECKS.items() if kind in v[2])}"))
                continue
            rows.extend(_one(name, p, data, d, f, kind, kinds, assignments, cache))
    return pd.DataFrame(rows, columns=["check", "field", "value", "threshold", "passed", "status", "why"])


_OPS = (ast.Expression, ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.BinOp,
        ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Name, ast.Load, ast.Constant, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
        ast.Eq, ast.NotEq)


def load_custom_checks(custom: Any) -> dict:
    """Validate ``custom: {name: "expression"}``: comparisons and arithmetic over names only.

    Examples
    --------
    >>> load_custom_checks({"enough": "n_tasks >= 100 and n_annotators >= 3"})
    {'enough': 'n_tasks >= 100 and n_annotators >= 3'}
    >>> load_custom_checks({"bad": "__import__('os')"})
    Traceback (most recent call last):
    ...
    qa_toolkit._validation.QAInputError: Custom gate check 'bad': only comparisons, and/or/not, arithmetic, names and numbers are allowed; found Call in "__import__('os')".
    """
    if not isinstance(custom, dict) or not custom:
        raise QAInputError(f"The 'custom' part of a gate config must map names to expressions. Got {custom!r}.")
    for name, expr in custom.items():
        if not isinstance(expr, str):
            raise QAInputError(f"Custom gate check {name!r}: expected an expression string such as "
                               f"'n_tasks >= 100'. Got {expr!r}.")
        try:
            tree = ast.parse(expr, mode="eval")
        except SyntaxError as err:
            raise QAInputError(f"Custom gate check {name!r}: {expr!r} is not a valid expression ({err.msg}).") from None
        for node in ast.walk(tree):
            if not isinstance(node, _OPS):
                raise QAInputError(f"Custom gate check {name!r}: only comparisons, and/or/not, arithmetic, names and "
                                   f"numbers are allowed; found {type(node).__name__} in {expr!r}.")
    return dict(custom)


def _namespace(data: pd.DataFrame, table: pd.DataFrame) -> dict:
    ns = {"n_rows": len(data), "n_tasks": int(data["task"].nunique()), "n_annotators": int(data["annotator"].nunique()),
          "labels_per_task": len(data) / max(int(data["task"].nunique()), 1)}
    for c, v in zip(table["check"], table["value"]):
        key = "".join(ch if ch.isalnum() else "_" for ch in str(c)).strip("_")
        ns[key] = float(v) if v is not None and np.isfinite(v) else np.nan
    return ns


def evaluate_custom_checks(data: pd.DataFrame, custom: dict, callables: dict, table: pd.DataFrame) -> pd.DataFrame:
    """Evaluate user-defined checks: config expressions and Python callables.

    Expressions see ``n_rows``, ``n_tasks``, ``n_annotators``, ``labels_per_task`` and the
    value of every check already in ``table`` (name with non-alphanumerics as ``_``,
    e.g. ``label_region_f1`` for ``label:region_f1``). A callable gets the annotations
    and returns a bool or ``(bool, why)``.
    """
    ns = _namespace(data, table)
    rows = []
    for name, expr in custom.items():
        try:
            ok = bool(eval(compile(ast.parse(expr, mode="eval"), "<gate>", "eval"), {"__builtins__": {}}, dict(ns)))  # noqa: S307
            rows.append((name, None, float(ok), expr, ok, "pass" if ok else "fail", f"{expr} is {ok}"))
        except NameError as err:
            rows.append((name, None, np.nan, expr, False, "not computable",
                         f"not computable: {err}; known names: {', '.join(sorted(ns))}"))
    for name, fn in callables.items():
        if not callable(fn):
            raise QAInputError(f"evaluate_gate: custom check {name!r} must be callable(annotations). Got {type(fn).__name__}.")
        res = fn(data)
        ok, why = (res if isinstance(res, tuple) else (res, "user check"))
        rows.append((name, None, float(bool(ok)), "callable", bool(ok), "pass" if ok else "fail", str(why)))
    return pd.DataFrame(rows, columns=["check", "field", "value", "threshold", "passed", "status", "why"])


def _hash(data: pd.DataFrame) -> str:
    try:
        h = pd.util.hash_pandas_object(data, index=False).to_numpy()
    except TypeError:  # unhashable cells (tuples of points, RLE dicts)
        h = pd.util.hash_pandas_object(data.astype(str), index=False).to_numpy()
    return hashlib.sha256(h.tobytes() + ",".join(map(str, data.columns)).encode()).hexdigest()


def provenance(data: pd.DataFrame, config: dict, *, kinds: dict | None = None) -> dict:
    """What a gate result was computed from: input hash, counts, versions, configuration, time.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", "x"]})
    >>> p = provenance(df, {"export_valid": {}})
    >>> p["n_rows"], p["n_tasks"], len(p["input_sha256"])
    (2, 1, 64)
    """
    import importlib.metadata as md

    versions = {"python": sys.version.split()[0]}
    for pkg in ("qa_toolkit", "pandas", "numpy", "scipy", "krippendorff"):
        try:
            versions[pkg] = md.version(pkg.replace("_", "-"))
        except md.PackageNotFoundError:
            versions[pkg] = None
    try:
        ks = field_kinds(data, kinds=kinds)
    except ValueError:
        ks = {}
    per_field = {}
    if "field" in data.columns and len(ks) > 1:
        for f, g in data.groupby("field", sort=False):
            per_field[str(f)] = {"kind": ks.get(f), "n_rows": len(g), "n_tasks": int(g["task"].nunique()),
                                 "n_annotators": int(g["annotator"].nunique())}
    src = data.attrs.get("source") or data.attrs.get("path")
    return {"input_sha256": _hash(data), "source": None if src is None else str(src), "n_rows": len(data),
            "n_tasks": int(data["task"].nunique()), "n_annotators": int(data["annotator"].nunique()),
            "fields": per_field or {str(f): {"kind": k} for f, k in ks.items()}, "versions": versions,
            "config": config, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
