"""Out of core by task bucket: one pass over the source, then bounded memory per bucket (internal).

DuckDB streams the source once into Parquet *buckets* (``hash(task) % P``, about
:data:`BUCKET_ROWS` rows each) in a temporary folder; every bucket holds all the rows of
its tasks, so each one is then read alone (in numpy, one bucket in memory at a time) for:

- the duplicate (task, annotator) check, the task x label counts (int32, filled bucket by
  bucket, sorted by task once at the end) and the annotator x label counts
  (:func:`spill_coded`: the :class:`~qa_toolkit.engines.coding.Coded` counts of every
  count-based coefficient);
- Dawid-Skene's per-bucket coded partitions, which the estimator codes with its own
  function and saves next to the buckets (:func:`save_arrays`); :class:`BucketMapper`
  loads one at a time per EM step.

Only our own spill files are read again, never the user's source. The folder is a
:class:`tempfile.TemporaryDirectory` (parent: ``QA_TOOLKIT_SPILL_DIR``, else the system
temporary folder), removed at the end, also on error.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError
from qa_toolkit.engines.aggregates import duplicate_message
from qa_toolkit.engines.coding import Coded
from qa_toolkit.io.parquet_dataset import ColumnarSource

__all__ = ["BUCKET_ROWS", "SPILL_MIN_ROWS", "Spill", "spilled", "spill_coded", "use_spill", "BucketMapper",
           "save_arrays", "load_arrays", "index_codes"]

#: Rows per bucket (the memory of one step is a few times this many rows of codes).
BUCKET_ROWS = int(os.environ.get("QA_TOOLKIT_SPILL_BUCKET_ROWS", "5000000"))
#: ``engine='duckdb'`` spills sources of more rows than this (or of unknown size); smaller
#: ones use the ``GROUP BY`` queries, faster there (see docs/SCALE.md).
SPILL_MIN_ROWS = int(os.environ.get("QA_TOOLKIT_SPILL_MIN_ROWS", "5000000"))
COLS = ("task", "annotator", "label")


def use_spill(src: ColumnarSource) -> bool:
    """Whether the DuckDB engine takes the spill path for ``src``."""
    return src.n_rows < 0 or src.n_rows > SPILL_MIN_ROWS


@dataclass
class Spill:
    """The buckets of one source: ``root`` (folder), ``buckets`` (one list of files each),
    the sorted distinct ``annotators`` and ``labels``, ``n_rows`` and ``where`` (for messages)."""

    root: Path
    buckets: list[list[str]]
    annotators: pd.Index
    labels: pd.Index
    n_rows: int
    where: str

    def read(self, i: int, columns: tuple[str, ...] = COLS, *, func: str) -> dict[str, np.ndarray]:
        """Bucket ``i`` as numpy columns; a null in any of them raises (naming the field)."""
        import pyarrow.parquet as pq

        table = pq.ParquetDataset(self.buckets[i]).read(columns=list(columns))
        out = {}
        for c in columns:
            col = table.column(c)
            if col.null_count:
                raise AnnotationFormatError(f"{func}: field {c!r} is missing (null) in {col.null_count} row(s) "
                                            f"of {self.where}; expected a value in every row.")
            out[c] = col.to_numpy() if _is_numeric(col.type) else np.asarray(col.to_pandas(), dtype=object)
        return out


def _is_numeric(typ: Any) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_integer(typ) or pat.is_floating(typ) or pat.is_boolean(typ))


def _n_rows(con: Any, rel: Any, src: ColumnarSource) -> int:
    if src.n_rows >= 0:
        return src.n_rows
    sql = "SELECT count(*) FROM src"
    row = (rel.query("src", sql).fetchall() if rel is not None else con.execute(sql).fetchall())[0]
    return int(row[0])


def _distinct(con: Any, files: str, col: str, where: str, func: str) -> pd.Index:
    vals = con.execute(f"SELECT DISTINCT {col} FROM read_parquet({files}, hive_partitioning = false)").df()[col]
    if vals.isna().any():
        raise AnnotationFormatError(f"{func}: field {col!r} is missing (null) in {where}; "
                                    "expected a value in every row.")
    return pd.Index(pd.unique(vals.to_numpy())).sort_values()


@contextmanager
def spilled(src: ColumnarSource, *, func: str, bucket_rows: int | None = None,
            empty_error: type[Exception] = QAInputError) -> Iterator[Spill]:
    """Spill ``src`` into task buckets in a temporary folder, removed on exit (also on error).

    Parameters
    ----------
    src : ColumnarSource
    func : str
        Caller, for messages.
    bucket_rows : int, optional
        Rows per bucket (default :data:`BUCKET_ROWS`).
    empty_error : exception class
        Raised for a source without rows (the caller's in-memory path raises the same).

    Yields
    ------
    Spill
    """
    import duckdb

    from qa_toolkit.engines._duckdb import MEMORY_LIMIT, _connect_and_scan

    bucket_rows = BUCKET_ROWS if bucket_rows is None else bucket_rows
    if bucket_rows < 1:
        raise QAInputError(f"{func}: the bucket size must be >= 1 row; got {bucket_rows}.")
    with tempfile.TemporaryDirectory(prefix="qa_spill_", dir=os.environ.get("QA_TOOLKIT_SPILL_DIR") or None) as tmp:
        root = Path(tmp)
        where = src.describe()
        con, rel = _connect_and_scan(src)
        try:
            n_rows = _n_rows(con, rel, src)
            if n_rows == 0:
                raise empty_error(f"{func}: {where} is empty; it needs rows with task, annotator, label.")
            P = max(1, -(-n_rows // bucket_rows))
            target = str(root / "b").replace("'", "''")
            sql = (f"COPY (SELECT task, annotator, label, hash(task) % {P} AS b FROM src) TO '{target}' "
                   "(FORMAT parquet, PARTITION_BY (b), COMPRESSION uncompressed)")
            if rel is not None:  # the user's connection: its settings are left as they are
                rel.query("src", sql)
            else:
                con.execute("SET preserve_insertion_order = false")
                con.execute(sql)
        finally:
            if con is not None:
                con.close()
        buckets = [sorted(str(f) for f in d.glob("*.parquet")) for d in sorted((root / "b").glob("b=*"))]
        buckets = [b for b in buckets if b]
        with duckdb.connect(config={"memory_limit": MEMORY_LIMIT}) as con2:
            files = "[" + ", ".join("'" + f.replace("'", "''") + "'" for b in buckets for f in b) + "]"
            annotators = _distinct(con2, files, "annotator", where, func).rename("annotator")
            labels = _distinct(con2, files, "label", where, func)
        yield Spill(root, buckets, annotators, labels, n_rows, where)


def index_codes(values: np.ndarray, index: pd.Index) -> np.ndarray:
    """Positions of ``values`` in the sorted unique ``index`` (-1 where absent): a lookup
    table for integers of a compact range, a hash lookup otherwise."""
    if values.dtype.kind in "iu" and index.dtype.kind in "iu" and len(index):
        lo, hi = int(index[0]), int(index[-1])
        if hi - lo < 2**26 and len(values) and int(values.min()) >= lo and int(values.max()) <= hi:
            lut = np.full(hi - lo + 1, -1, dtype=np.int64)
            lut[index.to_numpy().astype(np.int64) - lo] = np.arange(len(index))
            return lut[values.astype(np.int64) - lo]
    return index.get_indexer(values)


def _first_duplicate(t: np.ndarray, a: np.ndarray, n_t: int, n_a: int) -> tuple[int, int, int] | None:
    """One (task code, annotator code, rows) with several rows, or None (a byte map of the
    task x annotator grid when small, a hash of the keys otherwise)."""
    key = t.astype(np.int64) * n_a + a
    cells = n_t * n_a
    if cells <= max(32 * len(key), 2**26):
        seen = np.zeros(cells, dtype=np.uint8)
        seen[key] = 1
        if int(np.count_nonzero(seen)) == len(key):
            return None
    elif not pd.Index(key).has_duplicates:
        return None
    vals, cnt = np.unique(key, return_counts=True)
    i = int(np.argmax(cnt > 1))
    return int(vals[i] // n_a), int(vals[i] % n_a), int(cnt[i])


def _py(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def spill_coded(src: ColumnarSource, *, categories: Any = None, func: str,
                bucket_rows: int | None = None, on_bucket: Callable[..., None] | None = None) -> Coded:
    """The :class:`Coded` counts of ``src`` (no per-row codes), out of core by task bucket.

    Task x label counts are int32 (half the memory of int64; a task has < 2^31 labels).
    ``on_bucket(t, a, lab, counts, n_annotators=, n_labels=)``, when given, sees each bucket's
    per-row codes and its (tasks x labels) counts while they are in memory (the pairwise
    sums of ``agreement_report`` come from the same single read).
    Raises as :func:`qa_toolkit.engines.coded_from_aggregates` does (duplicate (task,
    annotator) naming both and the count, nulls, labels outside ``categories``).
    """
    with spilled(src, func=func, bucket_rows=bucket_rows) as sp:
        if categories is None:
            cats = sp.labels
        else:
            cats = pd.Index(list(categories))
            unknown = sp.labels.difference(cats)
            if len(unknown):
                raise QAInputError(f"The 'categories' parameter of {func} must contain every label; "
                                   f"{sorted(map(str, unknown))[:5]} are not in {list(cats)[:20]}.")
        K, n_a = len(cats), len(sp.annotators)
        task_parts: list[pd.Index] = []
        count_parts: list[np.ndarray] = []
        ann_counts = np.zeros(n_a * K, dtype=np.int64)
        for i in range(len(sp.buckets)):
            cols = sp.read(i, func=func)
            t, tasks_b = pd.factorize(cols.pop("task"), sort=True)
            a = index_codes(cols.pop("annotator"), sp.annotators)
            lab = index_codes(cols.pop("label"), cats)
            dup = _first_duplicate(t, a, len(tasks_b), n_a)
            if dup is not None:
                raise AnnotationFormatError(duplicate_message(
                    func, sp.where, (_py(tasks_b[dup[0]]), _py(sp.annotators[dup[1]]), dup[2])))
            flat = t.astype(np.int64) * K
            flat += lab
            cb = np.bincount(flat, minlength=len(tasks_b) * K).reshape(-1, K)
            if on_bucket is not None:
                on_bucket(t, a, lab, cb, n_annotators=n_a, n_labels=K)
            # held until every bucket is read: the smallest type that fits (uint8 for < 256 labels a task)
            count_parts.append(cb.astype(np.uint8 if int(cb.max()) < 256 else np.int32))
            del cb
            del flat
            flat = a.astype(np.int64) * K + lab
            ann_counts += np.bincount(flat, minlength=n_a * K)
            task_parts.append(pd.Index(tasks_b))
    tasks, counts = _sorted_by_task(task_parts, count_parts)
    return Coded(t=None, a=None, l=None, tasks=tasks, annotators=sp.annotators, categories=cats,
                 counts=counts, annotator_counts=ann_counts.reshape(n_a, K))


def _sorted_by_task(task_parts: list[pd.Index], count_parts: list[np.ndarray]) -> tuple[pd.Index, np.ndarray]:
    """Concatenate the buckets' tasks and counts in sorted task order: each bucket's counts are
    written once at their sorted positions and released (no unsorted copy of the counts)."""
    tasks = task_parts[0].append(task_parts[1:]) if len(task_parts) > 1 else task_parts[0]
    task_parts.clear()
    order = tasks.argsort()
    tasks = pd.Index(tasks.take(order), name="task")
    inv = np.empty(len(order), dtype=np.int64)
    inv[order] = np.arange(len(order))
    del order
    counts = np.empty((len(tasks), count_parts[0].shape[1]), dtype=np.int32)
    off = 0
    for i, part in enumerate(count_parts):
        counts[inv[off:off + len(part)]] = part
        off += len(part)
        count_parts[i] = part = None  # type: ignore[call-overload]
    count_parts.clear()
    return tasks, counts


# ------------------------------------------------------------------ per-bucket arrays for EM
def save_arrays(root: Path, i: int, arrays: dict[str, np.ndarray]) -> None:
    """Write bucket ``i``'s arrays as ``.npy`` files under ``root``."""
    d = root / f"p{i}"
    d.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        np.save(d / f"{name}.npy", np.asarray(arr), allow_pickle=arr.dtype == object)


def load_arrays(root: Path, i: int, names: tuple[str, ...], *, mapped: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read bucket ``i``'s arrays (``np.load``: read pages count in RSS only while held);
    ``mapped`` ones are memory-mapped (read only if touched)."""
    d = root / f"p{i}"
    out: dict[str, Any] = {}
    for name in names:
        f = d / f"{name}.npy"
        if name in mapped:
            try:
                out[name] = np.load(f, mmap_mode="r")
                continue
            except ValueError:  # object arrays (string ids) cannot be mapped
                pass
        out[name] = np.load(f, allow_pickle=True)  # our own files, written by save_arrays
    return out


class BucketMapper:
    """``mapper(fn, *args)``: ``fn(part, *args)`` for every bucket, one loaded at a time.

    ``load(i)`` builds bucket ``i``'s partition. :meth:`gather` places per-task results at
    the buckets' global task positions (``positions(i)``) in one preallocated array each.
    """

    def __init__(self, n: int, load: Callable[[int], Any], positions: Callable[[int], np.ndarray],
                 tasks: pd.Index) -> None:
        self.n, self.load, self.positions, self.tasks = n, load, positions, tasks

    def __call__(self, fn: Callable, *args: Any) -> list:
        return [fn(self.load(i), *args) for i in range(self.n)]

    def gather(self, fn: Callable, *args: Any) -> tuple:
        """``fn`` returns (tasks, per-task arrays...): the arrays, in global task order."""
        out: list[np.ndarray] = []
        for i in range(self.n):
            res = fn(self.load(i), *args)[1:]
            pos = self.positions(i)
            if not out:
                out = [np.empty((len(self.tasks),) + np.shape(r)[1:], dtype=np.asarray(r).dtype) for r in res]
            for dst, r in zip(out, res):
                dst[pos] = r
            del res
        return (self.tasks, *out)
