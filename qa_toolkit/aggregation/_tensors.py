"""Factorised count tensors shared by the aggregators (private).

The long table becomes integer codes (task, annotator, label) and one sparse matrix
``n`` of shape (n_tasks, n_annotators * n_labels) whose cell ``(i, a * L + l)`` counts how
often annotator ``a`` gave label ``l`` to task ``i``. Every EM step is then a sparse
matrix product; nothing loops over tasks or annotators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qa_toolkit._validation import AnnotationFormatError, check_columns

__all__: list[str] = []


@dataclass(frozen=True)
class _Codes:
    tasks: pd.Index
    annotators: pd.Index
    classes: pd.Index
    t: np.ndarray  # task code per row
    a: np.ndarray  # annotator code per row
    lab: np.ndarray  # label code per row


def _factorize(data: pd.DataFrame, *, func: str, classes=None) -> _Codes:
    """Validate the canonical columns and factorise them (sorted codes)."""
    check_columns(data, ("task", "annotator", "label"), func=func)
    if len(data) == 0:
        raise AnnotationFormatError(f"{func}: the annotation table is empty; expected at least one row.")
    for col in ("task", "annotator", "label"):
        bad = data[col].isna().to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            raise AnnotationFormatError(
                f"{func}: field {col!r} is missing (NaN/None) in {int(bad.sum())} row(s) "
                f"(first row positions {rows}); expected a {col} for every row. "
                "validate_annotations(df, errors='warn') drops such rows."
            )
    t, tasks = pd.factorize(data["task"], sort=True)
    a, annotators = pd.factorize(data["annotator"], sort=True)
    if classes is None:
        lab, cats = pd.factorize(data["label"], sort=True)
    else:
        cats = pd.Index(list(classes))
        if cats.has_duplicates:
            raise AnnotationFormatError(f"{func}: the 'classes' parameter has duplicate entries.")
        lab = cats.get_indexer(data["label"])
        if (lab < 0).any():
            unknown = pd.unique(data["label"][lab < 0])[:5].tolist()
            raise AnnotationFormatError(
                f"{func}: label(s) {unknown} in data are not in the 'classes' parameter {list(cats)[:20]}."
            )
    return _Codes(
        pd.Index(tasks, name="task"),
        pd.Index(annotators, name="annotator"),
        pd.Index(cats, name="label"),
        t.astype(np.int64),
        a.astype(np.int64),
        lab.astype(np.int64),
    )


def _count_matrix(c: _Codes) -> sp.csr_matrix:
    """Sparse counts of shape (n_tasks, n_annotators * n_labels)."""
    n_l = len(c.classes)
    ones = np.ones(len(c.t), dtype=np.float64)
    m = sp.csr_matrix(
        (ones, (c.t, c.a * n_l + c.lab)), shape=(len(c.tasks), len(c.annotators) * n_l)
    )
    m.sum_duplicates()
    return m


def _vote_counts(c: _Codes) -> np.ndarray:
    """Dense (n_tasks, n_labels) vote counts."""
    n_t, n_l = len(c.tasks), len(c.classes)
    return np.bincount(c.t * n_l + c.lab, minlength=n_t * n_l).reshape(n_t, n_l).astype(np.float64)
