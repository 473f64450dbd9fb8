"""Coding the long table into integer arrays and the task x label count matrix.

Everything in :mod:`qa_toolkit.agreement` starts here: one pass of ``pandas.factorize``
and one ``numpy.bincount`` turn the canonical long table into

- ``counts`` of shape (n_tasks, n_categories): how many annotators gave label k to task i;
- per-row codes ``t`` (task), ``a`` (annotator), ``l`` (label).

No Python loop over tasks anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_columns
from qa_toolkit.agreement._warnings import UndefinedAgreementWarning, warn

__all__ = ["Coded", "code_annotations", "agreement_weights", "finish"]

REQUIRED = ("task", "annotator", "label")


@dataclass(frozen=True)
class Coded:
    """The long table as integer codes (internal)."""

    t: np.ndarray
    a: np.ndarray
    l: np.ndarray  # noqa: E741
    tasks: pd.Index
    annotators: pd.Index
    categories: pd.Index
    counts: np.ndarray

    @property
    def r(self) -> np.ndarray:
        """Labels per task, shape (n_tasks,)."""
        return self.counts.sum(axis=1)

    @property
    def n_pairable(self) -> int:
        return int((self.r >= 2).sum())

    @property
    def values(self) -> np.ndarray:
        """Category values as float (NaN when not numeric)."""
        try:
            return np.asarray(self.categories, dtype=float)
        except (TypeError, ValueError):
            return np.full(len(self.categories), np.nan)


def _codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Sorted factorisation into int32 codes; integer columns with a compact range skip hashing."""
    v = col.to_numpy()
    if v.dtype.kind in "iu" and len(v):
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= min(4 * len(v) + 1000, 2**31 - 1):
            shifted = np.subtract(v, lo, dtype=np.int32, casting="unsafe")  # range < 4 N + 1000 fits
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            mapping = np.cumsum(present, dtype=np.int32)
            mapping -= 1
            codes = mapping[shifted]
            del shifted
            return codes, pd.Index(np.flatnonzero(present) + lo, dtype=v.dtype)
    codes, uniques = pd.factorize(col, sort=True)
    return (codes.astype(np.int32) if len(uniques) < 2**31 else codes), uniques


def code_annotations(
    data: Any,
    *,
    func: str,
    categories: Any = None,
    min_annotators: int = 2,
    min_pairable: int = 1,
) -> Coded:
    """Validate the long table and code it (see the module docstring)."""
    check_columns(data, REQUIRED, func=func)
    d = data[list(REQUIRED)]
    if len(d) == 0:
        raise QAInputError(f"{func}: the 'data' table is empty; it needs rows with task, annotator, label.")
    na = d["label"].isna().to_numpy()
    if na.any():
        raise AnnotationFormatError(
            f"{func}: field 'label' is missing (NaN) in {int(na.sum())} row(s) (first at row "
            f"{int(np.flatnonzero(na)[0])}); drop or fill them first "
            "(validate_annotations(df, errors='warn') drops them)."
        )
    for col in ("task", "annotator"):
        if d[col].isna().any():
            raise AnnotationFormatError(f"{func}: field {col!r} is missing (NaN) in {int(d[col].isna().sum())} row(s).")
    t, tasks = _codes(d["task"])
    a, annotators = _codes(d["annotator"])
    if isinstance(d["label"].dtype, pd.CategoricalDtype) and d["label"].cat.ordered and categories is None:
        categories = list(d["label"].cat.categories)
    if categories is None:
        try:
            l, cats = _codes(d["label"])  # noqa: E741
        except TypeError as exc:
            raise AnnotationFormatError(
                f"{func}: the labels mix types that cannot be ordered ({exc}); "
                "convert the 'label' column to one type (all str or all numbers)."
            ) from None
    else:
        cats = pd.Index(list(categories))
        if cats.has_duplicates:
            raise QAInputError(f"The 'categories' parameter of {func} has duplicates: {list(cats)[:20]}.")
        l = cats.get_indexer(d["label"])  # noqa: E741
        if (l < 0).any():
            unknown = pd.unique(d["label"][l < 0])[:5].tolist()
            raise QAInputError(
                f"The 'categories' parameter of {func} must contain every label; "
                f"{unknown} are not in {list(cats)[:20]}."
            )
    n_ann = len(annotators)
    if n_ann < min_annotators:
        raise QAInputError(
            f"{func} needs at least {min_annotators} annotators; the table has {n_ann} "
            f"({list(annotators)[:5]})."
        )
    key = t.astype(np.int64)
    key *= n_ann
    key += a
    key.sort()  # in place; sort + adjacent compare is faster than np.unique
    has_dup = bool((key[1:] == key[:-1]).any())
    del key
    if has_dup:
        dup = d.duplicated(["task", "annotator"])
        first = d.loc[dup].iloc[0]
        raise AnnotationFormatError(
            f"{func} needs one label per (task, annotator); task {first['task']!r} has several labels "
            f"from annotator {first['annotator']!r} ({int(dup.sum())} extra row(s)). "
            "Match regions first (qa_toolkit.agreement.match_boxes / match_spans)."
        )
    K = len(cats)
    l = l.astype(np.int32, copy=False) if K < 2**31 else l  # noqa: E741
    flat = t.astype(np.int64)
    flat *= K
    flat += l
    counts = np.bincount(flat, minlength=len(tasks) * K).reshape(len(tasks), K)
    del flat
    coded = Coded(t=t, a=a, l=l, tasks=tasks, annotators=annotators, categories=cats, counts=counts)
    if coded.n_pairable < min_pairable:
        raise QAInputError(
            f"{func}: no task has two or more labels, so agreement cannot be measured "
            f"({len(tasks)} task(s), each labelled once)."
        )
    return coded


def agreement_weights(weights: Any, n_categories: int, *, func: str) -> np.ndarray:
    """Agreement weight matrix (1 on the diagonal) of shape (K, K).

    ``None`` gives the identity; ``'linear'`` ``1 - |i-j|/(K-1)`` and ``'quadratic'``
    ``1 - (i-j)^2/(K-1)^2`` on the category positions (as sklearn and SAS PROC FREQ);
    an array is taken as is.
    """
    K = n_categories
    if weights is None:
        return np.eye(K)
    if isinstance(weights, str):
        if weights not in ("linear", "quadratic"):
            raise QAInputError(
                f"The 'weights' parameter of {func} must be one of {{None, 'linear', 'quadratic'}} "
                f"or a square array. Got {weights!r} instead."
            )
        if K == 1:
            return np.eye(1)
        i = np.arange(K)
        diff = np.abs(i[:, None] - i[None, :]) / (K - 1)
        return 1 - diff if weights == "linear" else 1 - diff**2
    w = np.asarray(weights, dtype=float)
    if w.shape != (K, K):
        raise QAInputError(
            f"The 'weights' parameter of {func} must be a ({K}, {K}) array for the {K} categories. "
            f"Got shape {w.shape} instead."
        )
    return w


def finish(num: float, den: float, *, func: str, replace_undefined_by: float) -> float:
    """``num / den`` or ``replace_undefined_by`` with a warning when ``den`` is 0."""
    if not np.isfinite(den) or abs(den) < 1e-15:
        warn(
            UndefinedAgreementWarning,
            f"{func} is undefined here (chance agreement is 1, e.g. a single label in use); "
            f"returning {replace_undefined_by!r}.",
        )
        return float(replace_undefined_by)
    return float(num / den)


def distance_matrix(
    level: str | Callable, coded: Coded, *, func: str
) -> Callable[[np.ndarray], np.ndarray]:
    """Return ``d(n_c)`` giving the (B, K, K) distance matrices from (B, K) value marginals."""
    K = len(coded.categories)
    if callable(level):
        vals = np.asarray(coded.categories, dtype=object)
        d = np.array([[float(level(vals[i], vals[j])) for j in range(K)] for i in range(K)])
        return lambda n: np.broadcast_to(d, (n.shape[0], K, K))
    if level == "nominal":
        d = 1.0 - np.eye(K)
        return lambda n: np.broadcast_to(d, (n.shape[0], K, K))
    if level == "ordinal":

        def ordinal(n: np.ndarray) -> np.ndarray:
            cum = np.cumsum(n, axis=1)  # (B, K)
            i = np.arange(K)
            lo, hi = np.minimum(i[:, None], i[None, :]), np.maximum(i[:, None], i[None, :])
            between = cum[:, hi] - cum[:, lo] + n[:, lo]
            return (between - (n[:, :, None] + n[:, None, :]) / 2) ** 2

        return ordinal
    v = coded.values
    if np.isnan(v).any():
        raise QAInputError(
            f"{func}: level={level!r} needs numeric labels; got {list(coded.categories)[:5]}. "
            "Use level='nominal' or 'ordinal' (with categories=[...] giving the order)."
        )
    if level == "interval":
        d = (v[:, None] - v[None, :]) ** 2
    else:  # ratio
        s = v[:, None] + v[None, :]
        d = np.divide(v[:, None] - v[None, :], s, out=np.zeros((K, K)), where=s != 0) ** 2
    return lambda n: np.broadcast_to(d, (n.shape[0], K, K))
