"""Fields and kinds: which control a row came from and how it is read.

Every row of the long table belongs to a ``field`` (the control it came from) and every
field has one ``kind`` (see ``docs/DATA_MODEL.md``). This module resolves the kind of
each field (the ``kind`` column, a user override, or inference), describes the fields,
and holds :func:`check_one_label`, the shared refusal of rows an engine cannot read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_columns

__all__ = [
    "KINDS", "REGION_KINDS", "DEFAULT_FIELD", "LEVELS", "field_kinds", "describe_fields",
    "select_field", "check_one_label", "check_label_field", "assigned_pairs", "LABEL_KINDS",
]

KINDS = ("categorical", "multilabel", "ordinal", "interval", "span", "box", "polygon", "keypoints", "text")
REGION_KINDS = ("span", "box", "polygon", "keypoints")
#: Field of flat tables without a ``field`` column.
DEFAULT_FIELD = "label"
#: Level of measurement of the values of each kind (regions: the labels of matched objects).
LEVELS = {"categorical": "nominal", "multilabel": "nominal", "ordinal": "ordinal", "interval": "interval",
          "span": "nominal", "box": "nominal", "polygon": "nominal", "keypoints": "nominal", "text": None}
#: The function that reads each kind (named in refusals).
HANDLER = {"categorical": "agreement_report / majority_vote / DawidSkene",
           "multilabel": "qa.to_units(data, field=...) and agreement_report(data, field=...) (per-label units)",
           "ordinal": "agreement_report(data, field=...) (alpha at the ordinal level, ICC)",
           "interval": "agreement_report(data, field=...) (alpha at the interval level, ICC)",
           "span": "qa.to_units / agreement_report(data, field=...) (cross-annotator span matching)",
           "box": "qa.to_units / agreement_report(data, field=...) (cross-annotator box matching)",
           "polygon": "qa.to_units / agreement_report(data, field=...) (cross-annotator polygon/mask matching)",
           "keypoints": "qa.to_units / agreement_report(data, field=...) (cross-annotator OKS matching)",
           "text": "similarity_agreement (free text has no label to count)"}


def py_value(v: Any) -> Any:
    """numpy scalars as Python scalars, for messages."""
    return v.item() if isinstance(v, np.generic) else v


def _fields(data: pd.DataFrame) -> pd.Series:
    if "field" in data.columns:
        return data["field"].where(data["field"].notna(), DEFAULT_FIELD)
    return pd.Series(DEFAULT_FIELD, index=data.index, name="field")


def field_kinds(data: pd.DataFrame, *, kinds: dict | None = None) -> dict:
    """Kind of every field: user override, else the ``kind`` column, else inferred.

    Delegates to :func:`qa_toolkit.table.infer_kinds` (the importers' contract), which
    also checks that an override fits the values.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    kinds : dict, optional
        ``{field: kind}`` overrides.

    Returns
    -------
    dict
        ``{field: kind}`` in order of first appearance.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "a", "b"], "label": ["x", "y", "x"]})
    >>> field_kinds(df)
    {'label': 'categorical'}
    >>> field_kinds(df, kinds={"label": "multilabel"})
    {'label': 'multilabel'}
    """
    from qa_toolkit.table import infer_kinds

    return infer_kinds(data, kinds)


def select_field(data: pd.DataFrame, field: Any = None, *, kinds: dict | None = None, func: str) -> tuple[pd.DataFrame, Any, str]:
    """Rows of one field, its name and kind (``field=None`` only when the table has one field)."""
    check_columns(data, ["task", "annotator", "label"], func=func)
    ks = field_kinds(data, kinds=kinds)
    if field is None:
        if len(ks) > 1:
            raise QAInputError(f"{func}: the table has {len(ks)} fields {list(ks)[:10]}; pass field=... "
                               "(qa.describe_fields(data) lists them).")
        field = next(iter(ks))
    if field not in ks:
        raise QAInputError(f"The 'field' parameter of {func} must be a field of the table {list(ks)[:20]}. Got {field!r}.")
    sub = data.loc[_fields(data).to_numpy() == field] if len(ks) > 1 else data
    return sub, field, ks[field]


#: Kinds whose rows are one label per (task, annotator): the classification engines read them.
LABEL_KINDS = ("categorical", "ordinal", "interval")


def check_label_field(data: pd.DataFrame, *, func: str) -> None:
    """Refuse a table that is not one categorical (or rating) field.

    Engines written for one label per (task, annotator) — majority vote, Dawid-Skene —
    call this at their boundary, so regions, multi-label sets, free text or several
    fields are never counted as votes. Repeated labels of a categorical field pass (they
    are repeated votes, as in Dawid & Skene 1979).

    Raises
    ------
    AnnotationFormatError
        Naming the field, its kind and the function that handles it, or the fields.

    Examples
    --------
    >>> boxes = pd.DataFrame({"task": [1, 1], "annotator": ["a", "a"], "label": ["car", "car"],
    ...                       "x_min": [0, 5], "y_min": [0, 5], "x_max": [4, 9], "y_max": [4, 9]})
    >>> check_label_field(boxes, func="majority_vote")
    Traceback (most recent call last):
    ...
    qa_toolkit._validation.AnnotationFormatError: majority_vote reads one label per (task, annotator) of a categorical field, but field 'label' has kind 'box' (regions are not votes). Use qa.to_units / agreement_report(data, field=...) (cross-annotator box matching); for a consensus, qa.consensus_regions(data, field=...).
    """
    typed = any(c in data.columns for c in ("field", "kind", "x_min", "points", "rle", "keypoints", "start"))
    if not typed:
        return
    ks = field_kinds(data)
    if len(ks) > 1:
        raise AnnotationFormatError(
            f"{func} reads one field, but the table has {len(ks)} fields {dict(list(ks.items())[:8])}; select "
            "one (data[data['field'] == name]) or use the function's field= parameter; qa.describe_fields(data) "
            "lists them.")
    (f, kind), = ks.items()
    if kind in LABEL_KINDS:
        return
    extra = {"multilabel": "; for a consensus, qa.multilabel_dawid_skene(data, field=...)",
             "text": ""}.get(kind, "; for a consensus, qa.consensus_regions(data, field=...)")
    what = {"multilabel": "label sets are not single votes", "text": "free text is not a vote"}.get(
        kind, "regions are not votes")
    raise AnnotationFormatError(
        f"{func} reads one label per (task, annotator) of a categorical field, but field {f!r} has kind "
        f"{kind!r} ({what}). Use {HANDLER.get(kind, HANDLER['multilabel'])}{extra}.")


def check_one_label(data: pd.DataFrame, *, func: str, field: Any = None, kind: str | None = None) -> None:
    """Refuse several rows per (task, annotator) where one label is expected.

    Engines that count one vote per (task, annotator) call this at their boundary.

    Raises
    ------
    AnnotationFormatError
        Naming the field, its kind, the first (task, annotator) and the function that
        reads such rows.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "a"], "label": ["x", "y"]})
    >>> check_one_label(df, func="fleiss_kappa")
    Traceback (most recent call last):
    ...
    qa_toolkit._validation.AnnotationFormatError: fleiss_kappa reads one label per (task, annotator), but field 'label' (kind 'categorical') has 2 rows for task 1, annotator 'a' (1 extra row(s) in all). These are repeated labels by one annotator on one task (test-retest): pass duplicates='first' or 'last', measure them with qa.intra_annotator_agreement(data), or, if the field is multi-select, say kinds={'label': 'multilabel'} and use qa.to_units(data, field=...) and agreement_report(data, field=...) (per-label units).
    """
    keys = ["task", "annotator"] + (["field"] if "field" in data.columns else [])
    dup = data.duplicated(keys, keep=False)
    if not dup.any():
        return
    first = data.loc[dup].iloc[0]
    f = first["field"] if "field" in data.columns else (field if field is not None else DEFAULT_FIELD)
    if kind is None:
        kind = field_kinds(data.loc[_fields(data) == f]).get(f, "categorical")
    if kind == "categorical":
        use = ("These are repeated labels by one annotator on one task (test-retest): pass duplicates='first' or "
               "'last', measure them with qa.intra_annotator_agreement(data), or, if the field is multi-select, say "
               f"kinds={{{f!r}: 'multilabel'}} and use {HANDLER['multilabel']}.")
    else:
        use = f"Use {HANDLER.get(kind, HANDLER['multilabel'])}."
    n_first = int(((data["task"] == first["task"]) & (data["annotator"] == first["annotator"])
                   & (_fields(data) == f)).sum())
    aid = f", annotation {first['annotation_id']!r}" if "annotation_id" in data.columns else ""
    raise AnnotationFormatError(
        f"{func} reads one label per (task, annotator), but field {f!r} (kind {kind!r}) has {n_first} rows for "
        f"task {py_value(first['task'])!r}, annotator {py_value(first['annotator'])!r}{aid} ({int(data.duplicated(keys).sum())} extra "
        f"row(s) in all). {use}"
    )


def assigned_pairs(data: pd.DataFrame, *, assignments: pd.DataFrame | None = None,
                   whole: pd.DataFrame | None = None) -> tuple[pd.DataFrame, bool]:
    """(task, annotator) pairs given the task, and whether empty annotations are counted.

    The assignments (``assignments=`` or ``data.attrs['assignments']``) plus every pair
    with a row in the table; without assignments, the pairs with a row in any field of
    ``whole`` (the full table) stand in and ``empties_counted`` is False.
    """
    from qa_toolkit.table import get_assignments

    whole = data if whole is None else whole
    pairs = get_assignments(whole, assignments)
    counted = bool(pairs.attrs.get("empties_counted", False))
    pairs = pairs[["task", "annotator"]].reset_index(drop=True)
    if not counted and whole is not data:  # without assignments, only tasks of this field
        tasks = pd.unique(data["task"])
        pairs = pairs.loc[pairs["task"].isin(tasks)].reset_index(drop=True)
    return pairs, counted


def describe_fields(data: pd.DataFrame, *, kinds: dict | None = None,
                    assignments: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per field: its kind, labels, level and how it was annotated.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table (with a ``field`` column, or one default field).
    kinds : dict, optional
        ``{field: kind}`` overrides.
    assignments : pandas.DataFrame, optional
        ``task, annotator`` pairs given each task (default ``data.attrs['assignments']``).

    Returns
    -------
    pandas.DataFrame
        Index ``field``; ``kind``, ``level``, ``n_labels``, ``labels`` (up to 20),
        ``n_rows``, ``n_tasks``, ``n_annotators``, ``annotators_per_task`` (mean of the
        assigned annotators), ``rows_per_task_annotator`` (mean over pairs with a row),
        ``max_rows_per_task_annotator``, ``empties_counted``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2], "annotator": ["a", "a", "b", "a"], "label": ["x", "y", "x", "x"]})
    >>> d = describe_fields(df)
    >>> d.loc["label", "kind"], int(d.loc["label", "n_labels"]), int(d.loc["label", "max_rows_per_task_annotator"])
    ('categorical', 2, 2)
    """
    ks = field_kinds(data, kinds=kinds)
    fields = _fields(data).to_numpy()
    rows = []
    for f, k in ks.items():
        d = data.loc[fields == f] if len(ks) > 1 else data
        pairs, counted = assigned_pairs(d, assignments=assignments, whole=data)
        pairs = pairs.loc[pairs["task"].isin(set(pd.unique(d["task"]))) | counted]
        per = d.groupby(["task", "annotator"], sort=False).size()
        labels = sorted(map(str, pd.unique(d["label"].dropna())))
        rows.append({"field": f, "kind": k, "level": LEVELS[k], "n_labels": len(labels), "labels": labels[:20],
                     "n_rows": len(d), "n_tasks": int(d["task"].nunique()), "n_annotators": int(d["annotator"].nunique()),
                     "annotators_per_task": float(pairs.groupby("task").size().mean()) if len(pairs) else np.nan,
                     "rows_per_task_annotator": float(per.mean()) if len(per) else np.nan,
                     "max_rows_per_task_annotator": int(per.max()) if len(per) else 0,
                     "empties_counted": counted})
    return pd.DataFrame(rows).set_index("field")
