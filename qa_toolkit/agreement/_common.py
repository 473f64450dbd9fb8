"""Helpers shared by the coefficient modules (internal)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_option
from qa_toolkit.agreement._warnings import PrevalenceParadoxWarning, SingleLabelWarning, warn
from qa_toolkit.engines._labels import (  # noqa: F401  (re-exported)
    REGION_COLUMNS,
    REGION_KINDS,
    category_scores,
    chronological_order,
    duplicate_error,
    region_hint,
    show_value,
)
from qa_toolkit.engines.coding import Coded, code_annotations

__all__ = [
    "two_raters",
    "check_single_label",
    "check_paradox",
    "EXAMPLE",
    "category_scores",
    "resolve_duplicates",
    "duplicate_error",
    "DUPLICATES",
]

#: Policies for repeated labels by one annotator on one task (``duplicates=``).
DUPLICATES = ("error", "first", "last")
#: The small table used in the docstring examples (4 tasks x 3 annotators).
EXAMPLE = {"task": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], "annotator": list("abc") * 4,
           "label": list("xxxyyyxyxyyx")}


def two_raters(data: Any, annotator_a: Any, annotator_b: Any, *, func: str, categories: Any = None) -> tuple[Coded, np.ndarray, np.ndarray]:
    """Code the tasks both annotators labelled; return (coded, labels of a, labels of b)."""
    if annotator_a is None and annotator_b is None:
        coded = code_annotations(data, func=func, categories=categories)
        if len(coded.annotators) != 2:
            raise QAInputError(
                f"{func} compares two annotators: pass annotator_a and annotator_b, or a table with "
                f"exactly two annotators (this one has {len(coded.annotators)})."
            )
        annotator_a, annotator_b = coded.annotators
    if annotator_a == annotator_b:
        raise QAInputError(f"{func}: annotator_a and annotator_b must differ; both are {annotator_a!r}.")
    present = set(pd.unique(data["annotator"])) if "annotator" in getattr(data, "columns", []) else set()
    for name, who in (("annotator_a", annotator_a), ("annotator_b", annotator_b)):
        if present and who not in present:
            raise QAInputError(
                f"The {name!r} parameter of {func} must be an annotator of the table. Got {who!r}; "
                f"annotators include {sorted(map(str, present))[:10]}."
            )
    sub = data.loc[data["annotator"].isin([annotator_a, annotator_b])]
    coded = code_annotations(sub, func=func, categories=categories)
    ia = coded.annotators.get_loc(annotator_a)
    n_t = len(coded.tasks)
    la = np.full(n_t, -1)
    lb = np.full(n_t, -1)
    mask_a = coded.a == ia
    la[coded.t[mask_a]] = coded.l[mask_a]
    lb[coded.t[~mask_a]] = coded.l[~mask_a]
    both = (la >= 0) & (lb >= 0)
    if not both.any():
        raise QAInputError(f"{func}: annotators {annotator_a!r} and {annotator_b!r} share no task.")
    return coded, la[both], lb[both]


def check_single_label(coded: Coded, func: str) -> None:
    if len(coded.categories) < 2:
        warn(SingleLabelWarning, f"{func}: only one label ({coded.categories[0]!r}) is in use; "
             "chance-corrected agreement is undefined.")


def check_paradox(pa: float, value: float, func: str) -> None:
    if np.isfinite(value) and pa >= 0.8 and value < 0.4:
        warn(PrevalenceParadoxWarning, f"{func}: raw agreement is {pa:.2f} but the coefficient is "
             f"{value:.2f}: one label dominates (the prevalence paradox). Report percent agreement "
             "and per-label agreement beside it, or Gwet's AC1.")


def resolve_duplicates(data: Any, duplicates: str, *, func: str, eager: bool = False) -> Any:
    """Apply the ``duplicates`` policy to repeated (task, annotator) rows.

    ``'error'`` leaves the table as is (``code_annotations`` raises :func:`duplicate_error`
    after its other checks); ``'first'``/``'last'`` keep the earliest or latest label
    (``created_at`` order when present, else row order). Rows that are regions, a
    multilabel field or several fields always raise: dropping them would change the
    data, not resolve a repeat. ``eager=True`` raises for ``'error'`` at once, naming
    ``func`` (for entry points such as ``agreement_report`` that call several metrics).
    """
    check_option("duplicates", duplicates, DUPLICATES, func=func)
    cols = getattr(data, "columns", None)
    if (duplicates == "error" and not eager) or cols is None or "task" not in cols or "annotator" not in cols:
        return data  # code_annotations names the missing column
    from qa_toolkit.engines.coding import any_duplicate_pairs  # issue 14: linear pre-check

    if not any_duplicate_pairs(data):
        return data
    dup = data.duplicated(["task", "annotator"], keep=False).to_numpy()
    if duplicates == "error" or region_hint(data.loc[dup]) is not None:
        raise duplicate_error(data, func=func)
    order = chronological_order(data)
    ordered = data.iloc[order]
    keep = ~ordered.duplicated(["task", "annotator"], keep=duplicates).to_numpy()
    out = data.iloc[np.sort(order[keep])]
    out.attrs = dict(data.attrs)
    return out
