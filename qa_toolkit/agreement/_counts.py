"""Coding the long table into integer arrays and the task x label count matrix.

Everything in :mod:`qa_toolkit.agreement` starts here: one pass of ``pandas.factorize``
and one ``numpy.bincount`` turn the canonical long table into

- ``counts`` of shape (n_tasks, n_categories): how many annotators gave label k to task i;
- per-row codes ``t`` (task), ``a`` (annotator), ``l`` (label).

No Python loop over tasks anywhere.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_columns
from qa_toolkit.agreement._warnings import UndefinedAgreementWarning, warn

__all__ = ["Coded", "code_annotations", "agreement_weights", "finish", "shared_coding", "has_duplicate_pairs",
           "any_duplicate_pairs", "one_coding"]

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
    #: (n_annotators, n_categories) label counts; set by the out-of-core engines (t/a/l are None there).
    annotator_counts: np.ndarray | None = None

    @functools.cached_property
    def r(self) -> np.ndarray:
        """Labels per task, shape (n_tasks,)."""
        return self.counts.sum(axis=1)

    @functools.cached_property
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
    """Sorted factorisation into int32 codes in linear time (no sort of the rows).

    Integer columns with a compact range use one ``bincount``; anything else is hashed
    (``pd.factorize``; categoricals reuse their codes) and only the uniques are sorted.
    """
    v = None if isinstance(col.dtype, pd.CategoricalDtype) else col.to_numpy()
    if v is not None and v.dtype.kind in "iu" and len(v):
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= min(4 * len(v) + 1000, 2**31 - 1):
            if lo == 0 and v.dtype.itemsize >= 4:
                present = np.bincount(v, minlength=hi + 1) > 0
                if present.all():  # already compact codes 0..hi: no copy at all
                    return v, pd.Index(np.arange(hi + 1), dtype=v.dtype)
            shifted = np.subtract(v, lo, dtype=np.int32, casting="unsafe")  # range < 4 N + 1000 fits
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            mapping = np.cumsum(present, dtype=np.int32)
            mapping -= 1
            codes = mapping[shifted]
            del shifted
            return codes, pd.Index(np.flatnonzero(present) + lo, dtype=v.dtype)
    codes, uniques = pd.factorize(col, sort=True)
    return (codes.astype(np.int32) if len(uniques) < 2**31 else codes), pd.Index(uniques)


#: Largest (n_tasks x n_annotators) grid the duplicate check marks in a byte map.
_DUP_GRID_CELLS = 2**31


def has_duplicate_pairs(t: np.ndarray, a: np.ndarray, n_tasks: int, n_annotators: int) -> bool:
    """Whether any (task, annotator) code pair occurs twice, in linear time.

    Rows grouped by task (the usual export order) are compared with their neighbours
    within each task's run; otherwise each ``t * n_annotators + a`` is marked in a byte
    map of the (task x annotator) grid and the marked cells are compared with the rows
    (no sort); when the grid is larger than
    ``max(32 N, 2^26)`` cells (very many annotators), hashes the keys instead. Used
    by :func:`code_annotations`; the table-level duplicate check
    (:func:`qa_toolkit.table.validate_annotations`) can call it on its own codes.
    """
    n = len(t)
    cells = int(n_tasks) * int(n_annotators)
    if n < 2 or cells < n:
        return n >= 2 and cells < n
    key = np.multiply(t, n_annotators, dtype=np.int64)
    key += a
    if bool((key[1:] > key[:-1]).all()):  # sorted by (task, annotator), as most exports are
        return False
    if bool((t[1:] >= t[:-1]).all()):  # grouped by task: compare within runs, no sort
        r_max = int(np.bincount(t).max()) if n_tasks <= 4 * n else n
        if r_max <= 16:
            return any(bool((key[d:] == key[:-d]).any()) for d in range(1, r_max))
    if cells <= min(max(32 * n, 2**26), _DUP_GRID_CELLS):
        seen = np.zeros(cells, dtype=np.bool_)
        seen[key] = True
        return int(np.count_nonzero(seen)) < n
    return len(pd.unique(key)) < n


def any_duplicate_pairs(data: Any) -> bool:
    """Whether a (task, annotator) pair occurs in several rows of ``data``, in linear time.

    A fast pre-check for duplicate policies (``pandas.DataFrame.duplicated`` hashes row
    tuples: about 0.8 s per 10^6 rows, against about 0.05 s here). Inside
    :func:`shared_coding` the codes are kept for the coding that follows.
    """
    cache = _CACHE.get()
    key = ("has_duplicates", id(data))
    if cache is not None and key in cache and cache[key][0] is data:
        return cache[key][1]
    t, tasks, a, annotators = _task_annotator_codes(data)
    out = has_duplicate_pairs(t, a, len(tasks), len(annotators))
    if cache is not None:
        cache[key] = (data, out)
    return out


def _task_annotator_codes(data: Any):
    cache = _CACHE.get()
    key = ("task_annotator", id(data))
    if cache is not None and key in cache and cache[key][0] is data:
        return cache[key][1]
    t, tasks = _codes(data["task"])
    a, annotators = _codes(data["annotator"])
    out = (t, tasks, a, annotators)
    if cache is not None:
        cache[key] = (data, out)
    return out


_CACHE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("qa_agreement_coding", default=None)


@contextmanager
def shared_coding() -> Iterator[None]:
    """Within the block, :func:`code_annotations` codes each table once.

    ``agreement_report`` (and the audit) wrap their work in it, so every coefficient,
    interval and breakdown of one analysis reads the same coding instead of
    re-validating and re-factorising the table. The cache is keyed by the table's
    identity and ``categories``; it is dropped when the block ends.
    """
    token = _CACHE.set({}) if _CACHE.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _CACHE.reset(token)


def one_coding(func: Callable) -> Callable:
    """Decorator: run ``func`` inside :func:`shared_coding` (one coding per analysis)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with shared_coding():
            return func(*args, **kwargs)

    return wrapper


def code_annotations(
    data: Any,
    *,
    func: str,
    categories: Any = None,
    min_annotators: int = 2,
    min_pairable: int = 1,
) -> Coded:
    """Validate the long table and code it (see the module docstring).

    ``data`` may also be a :class:`Coded` (from :func:`qa_toolkit.engines.sufficient_statistics`
    or an earlier call), used as is.
    """
    # issue 10: name the function the user called
    from qa_toolkit.agreement._entry import caller_name

    func = caller_name(func)
    if isinstance(data, Coded):
        coded = data
    else:
        cache = _CACHE.get()
        ckey = None
        if cache is not None:
            try:
                ckey = (id(data), None if categories is None else tuple(categories))
                hash(ckey)
            except TypeError:
                ckey = None
        hit = cache.get(ckey) if ckey is not None else None
        if hit is not None and hit[0] is data:
            coded = hit[1]
        else:
            coded = _code(data, func=func, categories=categories, min_annotators=min_annotators)
            if ckey is not None:
                cache[ckey] = (data, coded)
    n_ann = len(coded.annotators)
    if n_ann < min_annotators:
        raise QAInputError(
            f"{func} needs at least {min_annotators} annotators; the table has {n_ann} "
            f"({list(coded.annotators)[:5]})."
        )
    if coded.n_pairable < min_pairable:
        raise QAInputError(
            f"{func}: no task has two or more labels, so agreement cannot be measured "
            f"({len(coded.tasks)} task(s), each labelled once)."
        )
    return coded


def _code(data: Any, *, func: str, categories: Any, min_annotators: int) -> Coded:
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
    t, tasks, a, annotators = _task_annotator_codes(data)
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
    if len(annotators) < min_annotators:  # before the duplicate check: the clearer message
        raise QAInputError(
            f"{func} needs at least {min_annotators} annotators; the table has {len(annotators)} "
            f"({list(annotators)[:5]})."
        )
    if has_duplicate_pairs(t, a, len(tasks), len(annotators)):
        # -- agreement conventions (issue 10): test-retest vs regions message (delimited edit) --
        from qa_toolkit.agreement._labels import duplicate_error

        raise duplicate_error(data, func=func)
    K = len(cats)
    l = l.astype(np.int32, copy=False) if K < 2**31 else l  # noqa: E741
    flat = np.multiply(t, K, dtype=np.int64)
    flat += l
    counts = np.bincount(flat, minlength=len(tasks) * K).reshape(len(tasks), K)
    del flat
    return Coded(t=t, a=a, l=l, tasks=tasks, annotators=annotators, categories=cats, counts=counts)


def agreement_weights(weights: Any, n_categories: Any, *, func: str) -> np.ndarray:
    """Agreement weight matrix (1 on the diagonal) of shape (K, K).

    ``n_categories`` is the categories (``coded.categories``) or, for positions only, K.
    ``None`` gives the identity; ``'linear'`` ``1 - |x_i - x_j| / (x_max - x_min)`` and
    ``'quadratic'`` ``1 - (x_i - x_j)^2 / (x_max - x_min)^2``. The scores ``x`` are the
    label VALUES when every category is a number (or a numeric string), as SAS PROC
    FREQ's default table scores and R irrCAC ``linear.weights``/``quadratic.weights``,
    so a scale point nobody used does not move the others; otherwise the positions
    0..K-1 in the given category order (as sklearn ``cohen_kappa_score``). An array is
    taken as is.
    """
    # -- agreement conventions (issue 10): scores from label values (delimited edit) --
    from qa_toolkit.agreement._labels import category_scores

    K, scores = category_scores(n_categories)
    # -- end of delimited edit --
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
        i = scores
        diff = np.abs(i[:, None] - i[None, :]) / (i.max() - i.min())
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
