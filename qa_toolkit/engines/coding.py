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
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_columns
from qa_toolkit.engines._intcode import compact_table, int_range, range_codes, sorted_codes

__all__ = ["Coded", "code_annotations", "shared_coding", "has_duplicate_pairs", "any_duplicate_pairs", "one_coding",
           "row_sums"]

REQUIRED = ("task", "annotator", "label")


class Coded:
    """The long table as integer codes (internal).

    ``t``, ``a``, ``l``: per-row task, annotator and label codes (None out of core);
    ``tasks``, ``annotators``, ``categories``: the values behind the codes; ``counts``:
    (n_tasks, n_categories) label counts; ``annotator_counts``: (n_annotators,
    n_categories) label counts, set by the out-of-core engines. Integer annotator ids
    are resolved lazily (``annotator_range``: raw 0-based codes and the smallest id), so
    the coefficients that only read ``counts`` never pay for them.
    """

    def __init__(self, t: Any, a: Any, l: Any, tasks: pd.Index, annotators: pd.Index | None,  # noqa: E741
                 categories: pd.Index, counts: np.ndarray, annotator_counts: np.ndarray | None = None, *,
                 r: np.ndarray | None = None, annotator_range: tuple[np.ndarray, int, int] | None = None) -> None:
        self.t, self.l, self.tasks, self.categories, self.counts = t, l, tasks, categories, counts
        self.annotator_counts = annotator_counts
        self._a, self._annotators, self._a_range = a, annotators, annotator_range
        if r is not None:
            self.__dict__["r"] = r

    def _resolve_annotators(self) -> None:
        raw, lo, n_range = self._a_range  # type: ignore[misc]
        present = np.bincount(raw, minlength=n_range) > 0
        dtype = np.int64 if raw.dtype.itemsize > 4 else np.int32
        if present.all():
            self._a = raw
        else:
            mapping = np.cumsum(present, dtype=dtype) - 1
            self._a = mapping[raw]
        self._annotators = pd.Index(np.flatnonzero(present) + lo)
        self._a_range = None

    @property
    def a(self) -> Any:
        if self._a_range is not None:
            self._resolve_annotators()
        return self._a

    @property
    def annotators(self) -> pd.Index:
        if self._a_range is not None:
            self._resolve_annotators()
        return self._annotators  # type: ignore[return-value]

    @property
    def n_annotator_codes(self) -> int:
        """Range of the annotator codes (>= the number of annotators; equal once resolved)."""
        if self._a_range is not None:
            return self._a_range[2]
        return len(self._annotators)  # type: ignore[arg-type]

    def at_least_annotators(self, k: int) -> bool:
        """Whether the table has ``k`` or more annotators, without resolving them when k <= 2."""
        if self._a_range is not None and k <= 2:  # codes 0 and n_range - 1 both occur
            return k <= 1 or self._a_range[2] >= 2
        return len(self.annotators) >= k

    @functools.cached_property
    def r(self) -> np.ndarray:
        """Labels per task, shape (n_tasks,)."""
        return row_sums(self.counts)

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


def row_sums(C: np.ndarray) -> np.ndarray:
    """Row sums of a count matrix (a product with ones: 3x faster than ``sum(axis=1)`` for few columns)."""
    if C.dtype.kind in "iu":
        return C @ np.ones(C.shape[1], dtype=C.dtype)
    return C.sum(axis=1)


#: Largest (n_tasks x n_annotators) grid the duplicate check marks in a byte map.
_DUP_GRID_CELLS = 2**31


def has_duplicate_pairs(t: np.ndarray, a: np.ndarray, n_tasks: int, n_annotators: int,
                        r: np.ndarray | None = None, grouped: bool | None = None) -> bool:
    """Whether any (task, annotator) code pair occurs twice, in linear time.

    Rows grouped by task (the usual export order) are compared with their neighbours
    within each task's run (``r``, the labels per task when known, bounds the run length);
    otherwise each ``t * n_annotators + a`` is marked in a byte map of the (task x
    annotator) grid and the marked cells are compared with the rows (no sort); when the
    grid is larger than ``max(32 N, 2^26)`` cells (very many annotators), hashes the keys
    instead. ``n_annotators`` may be any bound above the annotator codes; ``grouped``, when
    known, says whether each task's rows are contiguous; otherwise it is found out (as many
    runs of equal codes as distinct codes).
    """
    n = len(t)
    cells = int(n_tasks) * int(n_annotators)
    if n < 2 or cells < n:
        return n >= 2 and cells < n
    key = np.multiply(t, n_annotators, dtype=np.int32 if cells < 2**31 else np.int64, casting="unsafe")
    np.add(key, a, out=key, casting="unsafe")
    per_task = None
    if grouped is None:  # each task's rows contiguous (any task order: text ids code in sorted order)
        grouped = bool((t[1:] >= t[:-1]).all())
        if not grouped and n_tasks <= 4 * n:  # as many runs as tasks present
            per_task = np.bincount(t)
            grouped = int(np.count_nonzero(t[1:] != t[:-1])) + 1 == int(np.count_nonzero(per_task))
    if grouped:  # grouped by task: compare within runs, no sort
        if bool((key[1:] > key[:-1]).all()):  # and by annotator within tasks
            return False
        if r is not None:
            r_max = int(r.max())
        elif per_task is not None:
            r_max = int(per_task.max())
        else:
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
    t, tasks = sorted_codes(data["task"])
    a, annotators = sorted_codes(data["annotator"])
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
    from qa_toolkit._entry import caller_name

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
    if not coded.at_least_annotators(min_annotators):
        n_ann = len(coded.annotators)
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
    for col in REQUIRED:
        if d[col].dtype.kind in "iub":
            continue  # integer columns hold no NaN: skip the pass
        na = d[col].isna().to_numpy()
        if not na.any():
            continue
        if col == "label":
            raise AnnotationFormatError(
                f"{func}: field 'label' is missing (NaN) in {int(na.sum())} row(s) (first at row "
                f"{int(np.flatnonzero(na)[0])}); drop or fill them first "
                "(validate_annotations(df, errors='warn') drops them)."
            )
        raise AnnotationFormatError(f"{func}: field {col!r} is missing (NaN) in {int(na.sum())} row(s).")
    fast = _code_compact(data, d, func=func, categories=categories, min_annotators=min_annotators)
    if fast is not None:
        return fast
    t, tasks, a, annotators = _task_annotator_codes(data)
    if isinstance(d["label"].dtype, pd.CategoricalDtype) and d["label"].cat.ordered and categories is None:
        categories = list(d["label"].cat.categories)
    if categories is None:
        try:
            l, cats = sorted_codes(d["label"])  # noqa: E741
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
    _check_annotators(annotators, min_annotators, func)
    if has_duplicate_pairs(t, a, len(tasks), len(annotators)):
        _raise_duplicates(data, func)
    K = len(cats)
    l = l.astype(np.int32, copy=False) if K < 2**31 else l  # noqa: E741
    flat = np.multiply(t, K, dtype=np.int64)
    flat += l
    counts = np.bincount(flat, minlength=len(tasks) * K).reshape(len(tasks), K)
    del flat
    return Coded(t=t, a=a, l=l, tasks=tasks, annotators=annotators, categories=cats, counts=counts)


def _check_annotators(annotators: pd.Index, min_annotators: int, func: str) -> None:
    if len(annotators) < min_annotators:  # before the duplicate check: the clearer message
        raise QAInputError(
            f"{func} needs at least {min_annotators} annotators; the table has {len(annotators)} "
            f"({list(annotators)[:5]})."
        )


def _raise_duplicates(data: Any, func: str) -> None:
    # -- agreement conventions (issue 10): test-retest vs regions message (delimited edit) --
    from qa_toolkit.engines._labels import duplicate_error

    raise duplicate_error(data, func=func)


def _code_compact(data: Any, d: pd.DataFrame, *, func: str, categories: Any, min_annotators: int) -> Coded | None:
    """Issue 14 fast path: integer task and label ids in a compact range (None otherwise).

    No hashing and no presence pass: the counts come from one ``bincount`` over the raw
    range (:func:`~qa_toolkit.engines._intcode.compact_counts`); integer annotator ids
    stay raw codes until a coefficient reads them. Same codes and counts as the general path.
    """
    if categories is not None:
        return None
    # only numpy integer columns are read as arrays (text ids would be copied into Python objects)
    is_int = [isinstance(d[c].dtype, np.dtype) and d[c].dtype.kind in "iu" for c in REQUIRED]
    if not (is_int[0] and is_int[2]):
        return None
    t_v, l_v = d["task"].to_numpy(), d["label"].to_numpy()
    a_v = d["annotator"].to_numpy() if is_int[1] else np.empty(0)  # empty: not an integer range
    coded = compact_table(t_v, l_v, a_v)
    if coded is None:
        return None
    t, tasks, l, cats, counts, r, grouped, ar, dup = coded  # noqa: E741
    if ar is None:  # not scanned yet (small table)
        ar = int_range(a_v, 4 * len(t_v) + 1000)
    elif ar[1] - ar[0] >= 4 * len(t_v) + 1000:  # sparse annotator ids: hash them
        ar = None
    if ar is None:
        a, annotators = sorted_codes(d["annotator"])
        n_a, a_range = len(annotators), None
        _check_annotators(annotators, min_annotators, func)
    else:
        n_a, annotators = ar[1] - ar[0] + 1, None
        a = range_codes(a_v, ar[0], n_a)
        a_range = (a, ar[0], n_a)
    out = Coded(t=t, a=a if a_range is None else None, l=l, tasks=tasks, annotators=annotators,
                categories=cats, counts=counts, r=r, annotator_range=a_range)
    if a_range is not None and not out.at_least_annotators(min_annotators):
        _check_annotators(out.annotators, min_annotators, func)
    if dup if dup is not None else has_duplicate_pairs(t, a, len(tasks), n_a, r=r, grouped=grouped):
        _raise_duplicates(data, func)
    return out
