"""The Dask engine: the same group-by counts on a ``distributed`` cluster (internal).

Partitions are Parquet files (or slices of an in-memory table); each worker counts its
partitions and only the counts cross the network. Dawid-Skene runs its E-step and the
M-step statistics on the workers (:func:`dask_ds_fit`): per iteration the client sends the
confusion matrices and priors (n_annotators x K x K + K floats) to every partition and
receives the same shape of sums back.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError
from qa_toolkit.engines.aggregates import Aggregates
from qa_toolkit.io.parquet_dataset import ColumnarSource

__all__: list[str] = []

#: Seconds to wait for a scheduler before giving up (QA_TOOLKIT_DASK_TIMEOUT overrides).
CONNECT_TIMEOUT = float(os.environ.get("QA_TOOLKIT_DASK_TIMEOUT", "5"))
COLS = ["task", "annotator", "label"]


@contextmanager
def client_for(client: Any, *, func: str):
    """Yield a ``distributed.Client`` (or None: the local threaded scheduler).

    A string is a scheduler address, connected with :data:`CONNECT_TIMEOUT`; an
    unreachable address raises :class:`QAInputError` naming it.
    """
    if client is None:
        try:
            from distributed import default_client

            yield default_client()
        except (ImportError, ValueError):
            yield None
        return
    if isinstance(client, str):
        from distributed import Client

        try:
            c = Client(client, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise QAInputError(
                f"{func}: cannot reach the Dask scheduler at {client!r} within {CONNECT_TIMEOUT:g} s "
                f"({type(exc).__name__}: {exc}). Check the address (tcp://host:8786) and that the "
                "scheduler is running, or use engine='duckdb' on one machine."
            ) from None
        try:
            yield c
        finally:
            c.close()
        return
    yield client


def _frame(src: ColumnarSource):
    import dask.dataframe as dd

    if src.kind == "parquet":
        path = src.root if src.hive else list(src.files)
        return dd.read_parquet(path, columns=COLS)
    if src.kind == "frame":
        df = src.obj[COLS]
        return dd.from_pandas(df, npartitions=max(1, min(32, len(df) // 1_000_000 + 1)), sort=False)
    if src.kind == "arrow":
        table = src.obj.to_table(columns=COLS) if hasattr(src.obj, "to_table") else src.obj.select(COLS)
        return dd.from_pandas(table.to_pandas(), npartitions=max(1, table.num_rows // 1_000_000 + 1), sort=False)
    raise QAInputError(f"engine='dask' reads pandas, Arrow and Parquet sources; got a {src.kind} source. "
                       "Use engine='duckdb' for it.")


def _compute(client, *objs):
    import dask

    if client is None:
        return dask.compute(*objs, scheduler="threads")
    return tuple(client.compute(list(objs), sync=True))


def dask_aggregates(src: ColumnarSource, *, client: Any = None, func: str) -> Aggregates:
    """Per-partition group-by counts, reduced (integers: identical to the other engines)."""
    ddf = _frame(src)
    tl = ddf.groupby(["task", "label"], observed=True).size()
    al = ddf.groupby(["annotator", "label"], observed=True).size()
    pairs = ddf.groupby(["task", "annotator"], observed=True).size()
    dup = pairs[pairs > 1].head(1, npartitions=-1, compute=False)
    with client_for(client, func=func) as c:
        tl, al, dup = _compute(c, tl, al, dup)
    first = (dup.index[0][0], dup.index[0][1], int(dup.iloc[0])) if len(dup) else None
    tl = tl.rename("n").reset_index()
    al = al.rename("n").reset_index()
    for tab in (tl, al):
        for col in tab.columns[:-1]:
            if isinstance(tab[col].dtype, pd.CategoricalDtype):
                tab[col] = tab[col].astype(tab[col].cat.categories.dtype)
    return Aggregates(tl, al, first, int(tl["n"].sum()))


def dask_triples(src: ColumnarSource, *, client: Any = None, func: str) -> pd.DataFrame:
    """(task, annotator, label, n) counts, reduced on the client."""
    ddf = _frame(src)
    tri = ddf.groupby(COLS, observed=True).size()
    with client_for(client, func=func) as c:
        (tri,) = _compute(c, tri)
    out = tri.rename("n").reset_index()
    for col in COLS:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(out[col].cat.categories.dtype)
    return out


def dask_task_map(src: ColumnarSource, fn, *, client: Any = None, func: str) -> list:
    """``fn(partition)`` on every partition of ``src`` shuffled by task (no task spans two
    partitions), run where the partition lives; the (small) results in partition order."""
    import dask

    parts = [dask.delayed(fn)(p) for p in _frame(src).shuffle("task").to_delayed()]
    with client_for(client, func=func) as c:
        return list(_compute(c, *parts))


def _code_partition(part: pd.DataFrame, annotators: pd.Index, classes: pd.Index, gold, dtype, code_triples):
    """Worker side: one partition's (task, annotator, label, n) counts, coded by the estimator."""
    tri = part.groupby(COLS, observed=True, sort=False).size().rename("n").reset_index()
    for col in COLS:
        if isinstance(tri[col].dtype, pd.CategoricalDtype):
            tri[col] = tri[col].astype(tri[col].cat.categories.dtype)
    return code_triples(tri, annotators=annotators, classes=classes, gold=gold, dtype=dtype)


def dask_ds_fit(src: ColumnarSource, *, annotators: pd.Index, classes: pd.Index, gold, client: Any, func: str,
                run_em, code_triples, dtype=np.float64):
    """Code the partitions on the workers (shuffled by task, so no task spans two) and run EM.

    ``code_triples(tri, *, annotators, classes, gold, dtype)`` codes one partition's counts
    (the estimator's own coding, passed in so that the engines never import the estimators);
    ``run_em(mapper)`` is the estimator's loop; ``mapper(fn, *args)`` runs ``fn`` on every
    coded partition where it lives and gathers the (small) results in partition order.
    """
    import dask

    ddf = _frame(src).shuffle("task")
    parts = [dask.delayed(_code_partition)(p, annotators, classes, gold, dtype, code_triples)
             for p in ddf.to_delayed()]
    with client_for(client, func=func) as c:
        if c is None:
            coded = [cp for cp in dask.compute(*parts, scheduler="threads") if len(cp.tasks)]
            return run_em(lambda fn, *args: [fn(cp, *args) for cp in coded])
        futures = c.compute(parts)
        sizes = c.gather([c.submit(lambda cp: len(cp.tasks), f) for f in futures])
        futures = [f for f, n in zip(futures, sizes) if n]
        try:
            return run_em(lambda fn, *args: c.gather([c.submit(fn, f, *args, pure=False) for f in futures]))
        finally:
            c.cancel(futures)
