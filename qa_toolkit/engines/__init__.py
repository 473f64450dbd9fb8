"""Sufficient statistics of the long table, computed in memory, out of core or on a cluster.

Every categorical coefficient, its intervals and the per-label breakdown are functions of
the task x label counts (plus the annotator x label counts for Conger's kappa);
Dawid-Skene is a function of the (task, annotator, label) counts. These *sufficient
statistics* are computed by one of three engines and fed to the same kernels:

- ``'pandas'``: in memory (:func:`qa_toolkit.engines.coding.code_annotations`);
- ``'duckdb'``: out of core, from Parquet files / Arrow / Polars / DuckDB relations,
  with ``GROUP BY`` queries that stream the data; above ``_spill.SPILL_MIN_ROWS`` rows, one
  pass spills the rows into task buckets and the counts are built bucket by bucket
  (memory bounded by one bucket and the int32 task x label counts);
- ``'dask'``: ``dask.dataframe`` over Parquet partitions on a ``distributed`` cluster;
  per-partition ``groupby().size()`` reduced on the client.

``'auto'`` keeps pandas DataFrames in memory and sends sources of more than
:data:`AUTO_ROWS` rows to DuckDB. Results are identical across engines (integer counts;
the tests compare them). See ``docs/SCALE.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_option
from qa_toolkit.engines._spill import use_spill
from qa_toolkit.engines.aggregates import Aggregates, duplicate_message
from qa_toolkit.engines.coding import Coded, code_annotations
from qa_toolkit.io.parquet_dataset import ColumnarSource, is_columnar_source, open_source

__all__ = ["ENGINES", "AUTO_ROWS", "Aggregates", "choose_engine", "aggregates", "sufficient_statistics",
           "ds_triples"]

ENGINES = ("auto", "pandas", "duckdb", "dask")
#: Columnar sources with more rows than this go to DuckDB under ``engine='auto'``.
AUTO_ROWS = 20_000_000


def choose_engine(source: Any, engine: str = "auto", *, func: str = "choose_engine") -> str:
    """The engine ``'auto'`` resolves to for ``source`` (others are returned as given).

    Parameters
    ----------
    source : DataFrame or columnar source (see :func:`qa_toolkit.io.parquet_dataset.open_source`)
    engine : {'auto', 'pandas', 'duckdb', 'dask'}, default='auto'
    func : str
        Caller, for messages.

    Returns
    -------
    str
        ``'pandas'`` for pandas DataFrames and columnar sources of at most
        :data:`AUTO_ROWS` rows, ``'duckdb'`` above.
    """
    check_option("engine", engine, ENGINES, func=func)
    if engine != "auto":
        _refuse_regions(source, engine, func=func)
        return engine
    if isinstance(source, (pd.DataFrame, Coded)):
        return "pandas"
    if isinstance(source, ColumnarSource):
        src = source
    elif is_columnar_source(source):
        src = open_source(source, func=func)
    else:
        return "pandas"
    chosen = "duckdb" if (src.n_rows < 0 or src.n_rows > AUTO_ROWS) else "pandas"
    _refuse_regions(src, chosen, func=func)
    return chosen


def _refuse_regions(source: Any, engine: str, *, func: str) -> None:
    """The engines count the columns ``task, annotator, label`` only: a source that also has
    region columns (boxes, spans, polygons, keypoints) is refused rather than counted as votes.
    In memory (``engine='pandas'``) typed fields are matched into agreement units instead."""
    if engine == "pandas":
        return
    if isinstance(source, pd.DataFrame):
        cols, where = tuple(source.columns), "the table"
    elif isinstance(source, ColumnarSource):
        cols, where = source.columns, source.describe()
    elif is_columnar_source(source):
        src = open_source(source, func=func)
        cols, where = src.columns, src.describe()
    else:
        return
    from qa_toolkit.engines._labels import REGION_COLUMNS

    regions = [c for c in REGION_COLUMNS if c in cols]
    if regions:
        raise AnnotationFormatError(
            f"{func}(engine={engine!r}) counts one categorical label per (task, annotator) from the columns "
            f"task, annotator, label, but {where} also has region columns {regions}: boxes, spans, polygons "
            "and keypoints are not votes. Filter the source to a categorical field without those columns, or "
            "read it into memory (qa.read_annotations, engine='pandas'), where typed fields are matched into "
            "agreement units (qa.to_units / agreement_report(data, field=...)).")


def aggregates(source: Any, *, engine: str, client: Any = None, func: str = "aggregates") -> Aggregates:
    """Task x label and annotator x label counts of ``source`` with ``engine``.

    Parameters
    ----------
    source : DataFrame or columnar source
    engine : {'pandas', 'duckdb', 'dask'}
    client : distributed.Client or str, optional
        Dask only: a client or a scheduler address (``'tcp://host:8786'``); default: the
        current client, else a local one.
    func : str
        Caller, for messages.

    Returns
    -------
    Aggregates
    """
    check_option("engine", engine, ENGINES[1:], func=func)
    src = source if isinstance(source, ColumnarSource) else open_source(source, func=func)
    if engine == "duckdb":
        from qa_toolkit.engines._duckdb import duckdb_aggregates

        return duckdb_aggregates(src)
    if engine == "dask":
        from qa_toolkit.engines._dask import dask_aggregates

        return dask_aggregates(src, client=client, func=func)
    from qa_toolkit.io.parquet_dataset import read_parquet_dataset

    df = src.obj if src.kind == "frame" else read_parquet_dataset(src.obj if src.kind != "parquet" else src.root)
    tl = df.groupby(["task", "label"], observed=True, sort=False).size().rename("n").reset_index()
    al = df.groupby(["annotator", "label"], observed=True, sort=False).size().rename("n").reset_index()
    pairs = df.groupby(["task", "annotator"], observed=True, sort=False).size()
    dup = pairs[pairs > 1]
    return Aggregates(tl, al, (dup.index[0][0], dup.index[0][1], int(dup.iloc[0])) if len(dup) else None, len(df))


def _codes_sorted(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes, pd.Index(uniques)


def coded_from_aggregates(agg: Aggregates, *, categories: Any = None, func: str = "sufficient_statistics",
                          where: str = "the source") -> Coded:
    """Build the :class:`Coded` counts (no per-row codes) from group-by counts."""
    if agg.duplicate is not None:
        raise AnnotationFormatError(duplicate_message(func, where, agg.duplicate))
    if agg.n_rows == 0:
        raise QAInputError(f"{func}: {where} is empty; it needs rows with task, annotator, label.")
    tl, al = agg.task_label, agg.annotator_label
    for name, tab, col in (("task", tl, "task"), ("label", tl, "label"), ("annotator", al, "annotator")):
        if tab[col].isna().any():
            raise AnnotationFormatError(f"{func}: field {name!r} is missing (null) in {where}.")
    t, tasks = _codes_sorted(tl["task"])
    if categories is None:
        lab_all = pd.concat([tl["label"], al["label"]], ignore_index=True)
        _, cats = _codes_sorted(lab_all)
    else:
        cats = pd.Index(list(categories))
        unknown = set(pd.unique(tl["label"])) - set(cats)
        if unknown:
            raise QAInputError(f"The 'categories' parameter of {func} must contain every label; "
                               f"{sorted(map(str, unknown))[:5]} are not in {list(cats)[:20]}.")
    K = len(cats)
    counts = _scatter_counts(t, cats.get_indexer(tl["label"]), tl["n"].to_numpy(), len(tasks), K)
    a, annotators = _codes_sorted(al["annotator"])
    ann_counts = _scatter_counts(a, cats.get_indexer(al["label"]), al["n"].to_numpy(), len(annotators), K)
    return Coded(t=None, a=None, l=None, tasks=tasks, annotators=annotators, categories=cats,
                 counts=counts, annotator_counts=ann_counts)


def _scatter_counts(rows: np.ndarray, cols: np.ndarray, n: np.ndarray, n_rows: int, K: int) -> np.ndarray:
    """(n_rows, K) int64 counts from group-by rows: written in place (each (row, col) is one
    group; issue 14: no float64 ``bincount`` and no second copy, half the peak memory)."""
    flat = np.multiply(rows, K, dtype=np.int64)
    flat += cols
    out = np.zeros(n_rows * K, dtype=np.int64)
    out[flat] = n
    if int(out.sum()) != int(n.sum()):  # a (row, col) in several groups (never from a GROUP BY)
        out = np.bincount(flat, weights=n, minlength=n_rows * K).astype(np.int64)
    return out.reshape(n_rows, K)


def sufficient_statistics(source: Any, *, engine: str = "auto", categories: Any = None, client: Any = None,
                          min_annotators: int = 2, min_pairable: int = 1) -> Coded:
    """The coded counts every categorical coefficient reads, from any engine.

    Parameters
    ----------
    source : pandas.DataFrame, path to Parquet file/folder, pyarrow Table/Dataset, Polars frame, DuckDB relation
    engine : {'auto', 'pandas', 'duckdb', 'dask'}, default='auto'
        See the module docstring.
    categories : list, optional
        Label set and order.
    client : distributed.Client or str, optional
        Dask only (a scheduler address is connected with a short timeout).
    min_annotators, min_pairable : int
        Checked as by the in-memory path.

    Returns
    -------
    Coded
        ``counts`` (n_tasks x n_labels), ``annotator_counts`` (n_annotators x n_labels),
        sorted ``tasks``, ``annotators``, ``categories``. Pass it to any coefficient in
        place of the table (``fleiss_kappa(coded)``). The pandas engine on a DataFrame
        also keeps the per-row codes.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.engines import sufficient_statistics
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xxxy")})
    >>> sufficient_statistics(df).counts.tolist()
    [[2, 0], [1, 1]]
    """
    func = "sufficient_statistics"
    engine = choose_engine(source, engine, func=func)
    if engine == "pandas" and isinstance(source, (pd.DataFrame, Coded)):
        coded = code_annotations(source, func=func, categories=categories, min_annotators=min_annotators,
                                 min_pairable=min_pairable)
        if coded.t is not None and coded.annotator_counts is None:
            K = len(coded.categories)
            ac = np.bincount(coded.a.astype(np.int64) * K + coded.l, minlength=len(coded.annotators) * K)
            coded = Coded(t=coded.t, a=coded.a, l=coded.l, tasks=coded.tasks, annotators=coded.annotators,
                          categories=coded.categories, counts=coded.counts,
                          annotator_counts=ac.reshape(len(coded.annotators), K))
        return coded
    src = source if isinstance(source, ColumnarSource) else open_source(source, func=func)
    if engine == "duckdb" and use_spill(src):  # large: one pass into task buckets, int32 counts
        from qa_toolkit.engines._spill import spill_coded

        coded = spill_coded(src, categories=categories, func=func)
    else:
        agg = aggregates(src, engine=engine, client=client, func=func)
        coded = coded_from_aggregates(agg, categories=categories, func=func, where=src.describe())
    return code_annotations(coded, func=func, min_annotators=min_annotators, min_pairable=min_pairable)


def ds_triples(source: Any, *, engine: str = "auto", client: Any = None) -> pd.DataFrame:
    """Dawid-Skene's sufficient statistics: ``task, annotator, label, n`` (rows per triple).

    Parameters
    ----------
    source : DataFrame or columnar source
    engine : {'auto', 'pandas', 'duckdb', 'dask'}, default='auto'
    client : distributed.Client or str, optional

    Returns
    -------
    pandas.DataFrame
        One row per distinct (task, annotator, label), ``n`` its count.
    """
    func = "DawidSkene.fit"
    engine = choose_engine(source, engine, func=func)
    src = source if isinstance(source, ColumnarSource) else open_source(source, func=func)
    if engine == "duckdb":
        from qa_toolkit.engines._duckdb import duckdb_triples

        return duckdb_triples(src)
    if engine == "dask":
        from qa_toolkit.engines._dask import dask_triples

        return dask_triples(src, client=client, func=func)
    from qa_toolkit.io.parquet_dataset import read_parquet_dataset

    df = src.obj if src.kind == "frame" else read_parquet_dataset(src.obj if src.kind != "parquet" else src.root)
    return df.groupby(["task", "annotator", "label"], observed=True, sort=False).size().rename("n").reset_index()
