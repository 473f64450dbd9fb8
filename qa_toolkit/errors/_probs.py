"""Validation shared by the cleanlab wrappers: probability tables and class codes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError

__all__ = ["as_prob_frame", "check_in_classes"]


def as_prob_frame(pred_probs: Any, *, index: pd.Index | None, classes: Any, func: str) -> pd.DataFrame:
    """Validate ``pred_probs`` and return it as a float DataFrame (rows = tasks, columns = classes)."""
    if isinstance(pred_probs, pd.DataFrame):
        if classes is not None:
            raise QAInputError(
                f"The 'classes' parameter of {func} is only used with an array 'pred_probs'; "
                "a DataFrame already names its classes in its columns."
            )
        frame = pred_probs
    else:
        try:
            arr = np.asarray(pred_probs, dtype=float)
        except (TypeError, ValueError) as exc:
            raise QAInputError(
                f"The 'pred_probs' parameter of {func} must be a numeric DataFrame or 2-D array. Got "
                f"{type(pred_probs).__name__} that cannot be read as numbers ({exc})."
            ) from None
        if arr.ndim != 2:
            raise QAInputError(
                f"The 'pred_probs' parameter of {func} must be 2-D (n_tasks, n_classes). Got shape {arr.shape}."
            )
        cols = pd.Index(range(arr.shape[1]) if classes is None else list(classes), name="label")
        if len(cols) != arr.shape[1]:
            raise QAInputError(
                f"The 'classes' parameter of {func} has {len(cols)} entries but 'pred_probs' has "
                f"{arr.shape[1]} columns."
            )
        if index is not None and len(index) != arr.shape[0]:
            raise QAInputError(
                f"The 'pred_probs' parameter of {func} has {arr.shape[0]} rows but there are "
                f"{len(index)} labelled tasks; they must match one to one."
            )
        frame = pd.DataFrame(arr, index=index, columns=cols)
    if frame.shape[1] < 2:
        raise QAInputError(
            f"The 'pred_probs' parameter of {func} needs at least 2 class columns. Got {frame.shape[1]}."
        )
    if frame.columns.has_duplicates:
        raise QAInputError(f"The 'pred_probs' columns of {func} must be distinct class labels.")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise QAInputError(f"The 'pred_probs' parameter of {func} must hold numbers only.") from None
    if not np.isfinite(values).all():
        raise QAInputError(f"The 'pred_probs' parameter of {func} contains NaN or infinite values.")
    if (values < 0).any() or (values > 1).any():
        raise QAInputError(f"The 'pred_probs' parameter of {func} must lie in [0, 1]; some values do not.")
    sums = values.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1) > 1e-3)
    if bad.size:
        i = bad[0]
        raise QAInputError(
            f"Each row of 'pred_probs' in {func} must sum to 1 (tolerance 1e-3); {bad.size} rows do not, "
            f"e.g. row {frame.index[i]!r} sums to {sums[i]:.6g}."
        )
    out = pd.DataFrame(values, index=frame.index, columns=frame.columns)
    out.columns.name = "label"
    return out


def check_in_classes(values: pd.Series, classes: pd.Index, *, name: str, func: str) -> np.ndarray:
    """Return integer codes of ``values`` in ``classes``; raise naming the labels that are not there."""
    codes = classes.get_indexer(values.to_numpy())
    if (codes < 0).any():
        unknown = sorted({repr(v) for v in values[codes < 0]})[:5]
        raise QAInputError(
            f"The {name!r} of {func} contains labels outside the class list {list(classes)}: "
            f"{', '.join(unknown)}."
        )
    return codes
