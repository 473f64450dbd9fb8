"""Columnar sources: Parquet files and hive-partitioned folders, Arrow, Polars and DuckDB.

:func:`open_source` checks a source once at the boundary (every file's schema against the
first one, from the Parquet footers only: no data is read) and returns a
:class:`ColumnarSource` that the engines in :mod:`qa_toolkit.engines` scan;
:func:`read_parquet_dataset` reads it into the canonical pandas table (string ids as
categoricals) for the in-memory path. ``read_annotations`` dispatches here for a folder of
Parquet files, a ``.parquet`` file, a ``pyarrow.Table`` / ``pyarrow.dataset.Dataset``, a
Polars DataFrame / LazyFrame and a DuckDB relation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError

__all__ = ["ColumnarSource", "open_source", "read_parquet_dataset", "is_columnar_source"]

REQUIRED = ("task", "annotator", "label")


@dataclass(frozen=True)
class ColumnarSource:
    """A checked columnar input (internal to the engines).

    ``kind`` is ``'frame'`` (pandas), ``'parquet'`` (``files``, hive ``partitioning``),
    ``'arrow'`` (``obj`` a Table or Dataset), ``'polars'`` or ``'duckdb'`` (a relation).
    """

    kind: str
    obj: Any = None
    files: tuple[str, ...] = ()
    root: str | None = None
    n_rows: int = 0
    columns: tuple[str, ...] = ()
    hive: bool = False
    types: dict = field(default_factory=dict)

    def describe(self) -> str:
        return self.root or self.kind


def _kind_of(obj: Any) -> str | None:
    mod = type(obj).__module__ or ""
    if isinstance(obj, pd.DataFrame):
        return "frame"
    if mod.startswith("pyarrow"):
        return "arrow"
    if mod.startswith("polars"):
        return "polars"
    if mod.startswith("duckdb") or mod.startswith("_duckdb"):
        return "duckdb"
    if isinstance(obj, (str, Path)):
        p = Path(obj)
        if p.is_dir() and any(p.rglob("*.parquet")):
            return "parquet"
        if p.suffix == ".parquet":
            return "parquet"
    return None


def is_columnar_source(obj: Any) -> bool:
    """Whether :func:`open_source` takes ``obj`` (not a pandas DataFrame)."""
    return _kind_of(obj) not in (None, "frame")


def _check_parquet(root: Path, *, func: str) -> ColumnarSource:
    import pyarrow.dataset as pds
    import pyarrow.parquet as pq

    if not root.exists():
        raise QAInputError(f"{func}: {root} does not exist.")
    files = sorted(str(p) for p in root.rglob("*.parquet")) if root.is_dir() else [str(root)]
    if not files:
        raise AnnotationFormatError(f"{func}: {root} holds no .parquet file.")
    hive = root.is_dir() and any("=" in part for f in files for part in Path(f).relative_to(root).parts[:-1])
    part_cols: set[str] = set()
    if hive:
        part_cols = {part.split("=", 1)[0] for f in files for part in Path(f).relative_to(root).parts[:-1] if "=" in part}
    first_types: dict[str, Any] = {}
    all_names: set[str] = set()
    n_rows = 0
    for f in files:
        try:
            meta = pq.read_metadata(f)
            schema = meta.schema.to_arrow_schema()
        except Exception as exc:  # pyarrow raises ArrowInvalid / OSError with its own text
            raise AnnotationFormatError(f"{func}: {f} is not a readable Parquet file ({exc}).") from None
        n_rows += meta.num_rows
        names = set(schema.names)
        all_names |= names
        missing = [c for c in REQUIRED if c not in names and c not in part_cols]
        if missing:
            raise AnnotationFormatError(
                f"{func}: {f} lacks the required column(s) {missing} (it has {sorted(names)}); every "
                f"partition of {root} needs {list(REQUIRED)} (as columns or hive folder names)."
            )
        for c in REQUIRED:
            if c not in names:
                continue
            typ = schema.field(c).type
            if c not in first_types:
                first_types[c] = (typ, f)
            elif not _compatible(first_types[c][0], typ):
                raise AnnotationFormatError(
                    f"{func}: inconsistent schemas in {root}: column {c!r} is {typ} in {f} but "
                    f"{first_types[c][0]} in {first_types[c][1]}; write every partition with one schema."
                )
    cols = tuple(sorted(all_names | part_cols))  # every column of every file (the engines refuse region columns)
    ds = pds.dataset(files if not hive else str(root), format="parquet",
                     partitioning="hive" if hive else None)
    return ColumnarSource(kind="parquet", obj=ds, files=tuple(files), root=str(root), n_rows=n_rows,
                          columns=cols, hive=hive, types={c: t for c, (t, _) in first_types.items()})


def _compatible(a: Any, b: Any) -> bool:
    import pyarrow.types as pat

    if a == b:
        return True
    strings = (pat.is_string, pat.is_large_string, pat.is_dictionary)
    if any(p(a) for p in strings) and any(p(b) for p in strings):
        return True
    return pat.is_integer(a) and pat.is_integer(b)


def open_source(source: Any, *, func: str = "open_source") -> ColumnarSource:
    """Check a source once and describe it for the engines.

    Parameters
    ----------
    source : path, pandas.DataFrame, pyarrow.Table, pyarrow.dataset.Dataset, polars frame or duckdb relation
        A ``.parquet`` file or a folder of them (hive partitions ``key=value/`` allowed).
    func : str
        Name of the calling function, for error messages.

    Returns
    -------
    ColumnarSource

    Raises
    ------
    AnnotationFormatError
        A file that is not Parquet, a partition lacking a required column, or a column
        whose type differs between files (each error names the file(s)).
    """
    kind = _kind_of(source)
    if kind is None:
        raise QAInputError(
            f"{func}: cannot read {type(source).__name__} {str(source)[:80]!r}; expected a pandas "
            "DataFrame, a .parquet file or folder, a pyarrow Table/Dataset, a Polars frame or a "
            "DuckDB relation."
        )
    if kind == "parquet":
        return _check_parquet(Path(source), func=func)
    if kind == "frame":
        cols = tuple(map(str, source.columns))
        n = len(source)
    elif kind == "arrow":
        cols = tuple(source.schema.names)
        n = source.num_rows if hasattr(source, "num_rows") else source.count_rows()
    elif kind == "polars":
        cols = tuple(source.collect_schema().names()) if hasattr(source, "collect_schema") else tuple(source.columns)
        n = source.height if hasattr(source, "height") else -1
    else:
        cols = tuple(source.columns)
        n = -1
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise AnnotationFormatError(
            f"{func}: the {kind} source lacks the required column(s) {missing}; it has {list(cols)[:20]}."
        )
    return ColumnarSource(kind=kind, obj=source, n_rows=n, columns=cols)


def read_parquet_dataset(source: Any, *, columns: list[str] | None = None, errors: str = "raise") -> pd.DataFrame:
    """Read a columnar source into the canonical long table.

    Parameters
    ----------
    source : path or table-like
        See :func:`open_source`.
    columns : list of str, optional
        Columns to read (default: all).
    errors : {'raise', 'warn'}, default='raise'
        Passed to :func:`qa_toolkit.table.validate_annotations`.

    Returns
    -------
    pandas.DataFrame
        String ids and labels as categoricals (Arrow dictionaries), so a 10^7-row table
        stays small and codes in linear time.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", "y"]}).to_parquet(d / "p0.parquet")
    >>> read_parquet_dataset(d)[["task", "annotator", "label"]].shape
    (2, 3)
    """
    from qa_toolkit.table import validate_annotations

    src = open_source(source, func="read_parquet_dataset")
    if src.kind == "frame":
        df = src.obj
    elif src.kind in ("parquet", "arrow"):
        table = src.obj.to_table(columns=columns) if hasattr(src.obj, "to_table") else src.obj
        if columns is not None and hasattr(table, "select"):
            table = table.select(columns)
        df = table.to_pandas(strings_to_categorical=True)
    elif src.kind == "polars":
        obj = src.obj.collect() if hasattr(src.obj, "collect") else src.obj
        df = obj.to_pandas()
    else:
        df = src.obj.df()
    if columns is not None:
        df = df[columns]
    for c in REQUIRED:
        if c in df and df[c].dtype == object and len(df) > 100_000:
            df[c] = df[c].astype("category")
    return validate_annotations(df, errors=errors, source=src.describe())
