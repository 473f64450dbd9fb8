"""Record-level checks of the vendor readers, run by :func:`qa_toolkit.io._common.finish`.

Ids and labels must be scalars; numeric-by-nature columns must hold numbers; ``created_at``
must parse; exact duplicate regions are kept once and counted; categorical fields with
several labels in one result become ``multilabel``; a field holding both ``1`` and ``"1"``
is reported. Every message names the record as the user knows it (task id, annotation id,
result, field), never an internal row index.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._table_checks import non_scalar
from qa_toolkit._validation import AnnotationFormatError
from qa_toolkit.io._problems import Problems
from qa_toolkit.table import AnnotationWarning

__all__ = ["check_rows", "warn_mixed_types", "drop_duplicate_regions", "mark_multilabel"]

_NUMERIC = ("x_min", "y_min", "x_max", "y_max", "lead_time", "value", "score", "rotation",
            "image_width", "image_height", "start", "end", "_doc_len")


def _locate(df: pd.DataFrame, i: int) -> str:
    from qa_toolkit.table import record_name

    return record_name(df, i)


def _parse_dates(raw: pd.Series) -> pd.Series:
    """ISO 8601 strings (or datetimes) → UTC timestamps; anything else NaT. Each distinct value parsed once."""
    if isinstance(raw.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(raw):
        return pd.to_datetime(raw, utc=True)
    uniq = pd.Series(pd.unique(raw.dropna()), dtype=object)
    ok = uniq.map(lambda v: isinstance(v, (str, datetime)))
    parsed = pd.to_datetime(uniq.where(ok, None), utc=True, errors="coerce", format="mixed")
    lookup = pd.Series(parsed.to_numpy(), index=uniq.to_numpy())
    return pd.to_datetime(raw.map(lookup), utc=True) if len(uniq) else pd.to_datetime(raw, utc=True, errors="coerce")


def check_rows(df: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """Record-level checks before validation: scalar ids/labels, numbers, dates."""
    bad = np.zeros(len(df), dtype=bool)
    for col in ("task", "annotator", "label"):
        if col in df.columns:
            wrong = non_scalar(df[col])
            for i in np.flatnonzero(wrong & ~bad):
                v = df[col].iloc[i]
                problems.bad(_locate(df.assign(**{col: "?"}), int(i)),
                             f"field {col!r} must be a single string or number, got {type(v).__name__} "
                             f"{str(v)[:40]}", kind=f"record(s) with a non-scalar {col!r}")
            bad |= wrong
    for col in _NUMERIC:
        if col in df.columns and not pd.api.types.is_numeric_dtype(df[col].dtype):
            scalar = ~non_scalar(df[col])
            num = pd.to_numeric(df[col].where(scalar, None), errors="coerce")
            wrong = (df[col].notna() & num.isna()).to_numpy() & ~bad
            for i in np.flatnonzero(wrong):
                problems.bad(_locate(df, int(i)), f"field {col!r} must be a number, got {df[col].iloc[i]!r}",
                             kind=f"record(s) with a non-numeric {col!r}")
            bad |= wrong
            df[col] = num
    if "created_at" in df.columns:
        raw = df["created_at"]
        when = _parse_dates(raw)
        wrong = (raw.notna() & when.isna()).to_numpy() & ~bad
        for i in np.flatnonzero(wrong):
            problems.bad(_locate(df, int(i)), f"field 'created_at' is not an ISO 8601 date: {raw.iloc[i]!r}",
                         kind="record(s) with an unparseable 'created_at'")
        bad |= wrong
        df["created_at"] = when
    if bad.any():
        df = df.loc[~bad].reset_index(drop=True)
    for col in ("task", "annotation_id", "image_id"):  # integer ids as integers (JSON numbers)
        if col in df.columns and df[col].dtype == object:
            inferred = df[col].infer_objects()
            if pd.api.types.is_integer_dtype(inferred.dtype):
                df[col] = inferred
    return df


def _alike(vals: Any) -> list[str]:
    nums = {str(v) for v in vals if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)}
    nums |= {str(int(v)) for v in vals if isinstance(v, float) and v.is_integer()}
    return sorted(nums & {v for v in vals if isinstance(v, str)})


def warn_mixed_types(df: pd.DataFrame, path: str) -> None:
    """Warn when one field holds the integer 1 and the string '1' (two labels otherwise).

    Labels are checked per ``field`` (the control they came from) and the message names it.
    """
    for col in ("label", "task", "annotator"):
        if col not in df.columns or df[col].dtype != object:
            continue
        if col == "label" and "field" in df.columns:
            groups = [(f"field {f!r} (column 'label')", g) for f, g in df.groupby("field", sort=False)["label"]]
        else:
            groups = [(f"field {col!r}", df[col])]
        for what, values in groups:
            both = _alike(pd.unique(values.dropna()))
            if both:
                warnings.warn(
                    f"{path}: {what} holds both numbers and strings that read alike ({both[:5]}: e.g. the "
                    f"number {both[0]} and the string {both[0]!r}); they count as different {col}s. "
                    "Make the export consistent or convert the column.",
                    AnnotationWarning, stacklevel=4,
                )


def drop_duplicate_regions(df: pd.DataFrame, problems: Problems, duplicates: str) -> pd.DataFrame:
    """Exact duplicate regions of one annotation: keep one and count them (or raise)."""
    key = [c for c in df.columns if c in ("task", "annotator", "label", "x_min", "y_min", "x_max", "y_max",
                                         "rotation", "start", "end", "annotation_id", "field", "points",
                                         "keypoints", "shape", "value", "text", "image_id")]
    if "annotation_id" not in df.columns and "created_at" in df.columns:
        key.append("created_at")
    probe = df[key]
    if any(probe[c].dtype == object for c in ("points", "keypoints", "rle") if c in probe.columns):
        probe = probe.astype(str)
    try:
        dup = probe.duplicated().to_numpy()
    except TypeError:
        dup = probe.astype(str).duplicated().to_numpy()
    if not dup.any():
        return df
    first = _locate(df, int(np.flatnonzero(dup)[0]))
    if duplicates == "raise":
        raise AnnotationFormatError(
            f"{problems.path}: {first}: exact duplicate of an earlier region of the same annotation "
            f"({int(dup.sum())} such duplicate(s)); pass duplicates='warn' to keep one of each."
        )
    for _ in range(int(dup.sum())):
        problems.note("exact duplicate region(s) of one annotation (one of each kept)", first)
    return df.loc[~dup].reset_index(drop=True)


def mark_multilabel(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical fields where one result (or one annotation) selected several labels.

    Label Studio rows (``result_type``) group by result: a ``choices`` result with several
    values is multilabel, two per-region ``choices`` results are not. Other tools group
    by (task, annotator, annotation): several CVAT ``<tag>`` of one image are multilabel.
    """
    if "kind" not in df.columns or "field" not in df.columns:
        return df
    cat = (df["kind"] == "categorical").to_numpy()
    if not cat.any():
        return df
    keys = ("task", "annotator", "annotation_id", "field") + (("region_id",) if "result_type" in df.columns else ())
    by = [c for c in keys if c in df.columns]
    sub = df.loc[cat, by].astype(str)
    multi = sub.duplicated(keep=False)
    if multi.any():
        fields = set(df.loc[cat, "field"][multi.to_numpy()])
        df.loc[df["field"].isin(fields) & (df["kind"] == "categorical"), "kind"] = "multilabel"
    return df
