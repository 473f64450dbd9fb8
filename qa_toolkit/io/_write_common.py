"""Helpers shared by the writers: JSON-safe scalars, missing cells, the labels argument."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError

__all__ = ["plain", "frame"]


def plain(v: Any) -> Any:
    """numpy / pandas scalars → JSON-serialisable Python values."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def _missing(v: Any) -> bool:
    return v is None or (not isinstance(v, (list, tuple, dict, str)) and bool(pd.isna(v)))


def frame(labels: Any, func: str) -> pd.DataFrame:
    """A Series of labels indexed by task, or a canonical DataFrame, as a DataFrame."""
    if isinstance(labels, pd.Series):
        df = labels.rename("label").rename_axis("task").reset_index()
    elif isinstance(labels, pd.DataFrame):
        df = labels
    else:
        raise QAInputError(
            f"The 'labels' parameter of {func} must be a Series indexed by task (adjudicated labels) "
            f"or a canonical DataFrame. Got {type(labels).__name__} instead."
        )
    missing = [c for c in ("task", "label") if c not in df.columns]
    if missing:
        raise AnnotationFormatError(f"{func}: 'labels' lacks column(s) {missing}; got {list(df.columns)}.")
    if df["label"].isna().any():
        raise AnnotationFormatError(
            f"{func}: field 'label' is missing in {int(df['label'].isna().sum())} row(s); drop them first."
        )
    return df
