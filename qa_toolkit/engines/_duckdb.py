"""The DuckDB engine: group-by counts streamed out of core (internal).

DuckDB scans Parquet (projection: only ``task``, ``annotator``, ``label`` are read),
Arrow, Polars and its own relations; the hash aggregates spill to disk above the memory
limit, so memory is bounded by the aggregates, not the rows.
"""

from __future__ import annotations

import os

import pandas as pd

from qa_toolkit.engines.aggregates import Aggregates
from qa_toolkit.io.parquet_dataset import ColumnarSource

__all__: list[str] = []

#: DuckDB memory limit (spills above it); override with QA_TOOLKIT_DUCKDB_MEMORY.
MEMORY_LIMIT = os.environ.get("QA_TOOLKIT_DUCKDB_MEMORY", "2GB")


def _connect_and_scan(src: ColumnarSource):
    import duckdb

    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT})
    threads = os.environ.get("QA_TOOLKIT_DUCKDB_THREADS")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if src.kind == "parquet":
        files = ", ".join("'" + f.replace("'", "''") + "'" for f in src.files)
        hive = "true" if src.hive else "false"
        con.execute(f"CREATE VIEW src AS SELECT task, annotator, label FROM read_parquet([{files}], "
                    f"hive_partitioning = {hive})")
    elif src.kind == "duckdb":
        return None, src.obj
    else:
        obj = src.obj
        if src.kind == "polars":
            obj = obj.collect() if hasattr(obj, "collect") else obj
            obj = obj.to_arrow()
        con.register("src_obj", obj)
        con.execute("CREATE VIEW src AS SELECT task, annotator, label FROM src_obj")
    return con, None


def _query(src: ColumnarSource, sql: str) -> pd.DataFrame:
    con, rel = _connect_and_scan(src)
    if rel is not None:
        return rel.query("src", sql).df()
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def duckdb_aggregates(src: ColumnarSource) -> Aggregates:
    """Task x label and annotator x label counts, and the duplicate check, in one connection."""
    con, rel = _connect_and_scan(src)
    queries = {
        "tl": "SELECT task, label, count(*) AS n FROM src GROUP BY task, label",
        "al": "SELECT annotator, label, count(*) AS n FROM src GROUP BY annotator, label",
        "dup": "SELECT task, annotator, count(*) AS n FROM src GROUP BY task, annotator HAVING count(*) > 1 LIMIT 1",
    }
    if rel is not None:
        out = {k: rel.query("src", q).df() for k, q in queries.items()}
    else:
        try:
            out = {k: con.execute(q).df() for k, q in queries.items()}
        finally:
            con.close()
    dup = out["dup"]
    first = (dup["task"].iloc[0], dup["annotator"].iloc[0], int(dup["n"].iloc[0])) if len(dup) else None
    return Aggregates(out["tl"], out["al"], first, int(out["tl"]["n"].sum()))


def duckdb_triples(src: ColumnarSource) -> pd.DataFrame:
    """(task, annotator, label, n) counts for Dawid-Skene."""
    return _query(src, "SELECT task, annotator, label, count(*) AS n FROM src GROUP BY task, annotator, label")


def duckdb_pair_confusions(src: ColumnarSource) -> pd.DataFrame:
    """Within-task label pairs of every annotator pair (a1 < a2): ``a1, a2, l1, l2, n``."""
    return _query(src, "SELECT x.annotator AS a1, y.annotator AS a2, x.label AS l1, y.label AS l2, count(*) AS n "
                       "FROM src x JOIN src y ON x.task = y.task AND x.annotator < y.annotator "
                       "GROUP BY ALL")


def duckdb_annotator_sums(src: ColumnarSource) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (annotator, label): labels, pairs with others, agreeing pairs, shared tasks; and the
    others' labels on the annotator's shared tasks (``annotator, label, n_other``)."""
    base = ("WITH tc AS (SELECT task, label, count(*) AS c FROM src GROUP BY task, label), "
            "tr AS (SELECT task, sum(c) AS r FROM tc GROUP BY task) ")
    own = _query(src, base + "SELECT s.annotator, s.label, count(*) AS n_labels, sum(tr.r - 1) AS n_pairs, "
                             "sum(tc.c - 1) AS n_agree, sum(CASE WHEN tr.r > 1 THEN 1 ELSE 0 END) AS n_shared "
                             "FROM src s JOIN tc ON s.task = tc.task AND s.label = tc.label "
                             "JOIN tr ON s.task = tr.task GROUP BY s.annotator, s.label")
    oth = _query(src, base + "SELECT s.annotator, tc.label, sum(tc.c) AS n_all FROM src s "
                             "JOIN tr ON s.task = tr.task AND tr.r > 1 JOIN tc ON s.task = tc.task "
                             "GROUP BY s.annotator, tc.label")
    return own, oth
