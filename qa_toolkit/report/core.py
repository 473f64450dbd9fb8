"""Building blocks of the ``qa-toolkit audit`` HTML report.

A report is a list of :class:`Section` objects. Each domain module contributes one
through a ``build_section(ctx) -> Section | None`` function that reads what it needs
from the :class:`AuditContext`.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AuditContext", "Section", "df_to_html", "figure_to_html", "escape", "explain", "field_slug",
           "neutralise_formulas", "repeated_pairs", "write_csv"]


@dataclass(frozen=True)
class Section:
    """One titled part of the audit report.

    Attributes
    ----------
    title : str
        Heading shown in the report.
    html : str
        Body as an HTML fragment.
    tables : dict of str to pandas.DataFrame
        Tables written beside the report as ``<name>.csv``.
    """

    title: str
    html: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class AuditContext:
    """What the sections of one audit can read.

    Attributes
    ----------
    annotations : pandas.DataFrame
        The canonical long table.
    gold : pandas.Series or None
        Ground truth indexed by task.
    pred_probs : pandas.DataFrame or None
        Model probabilities, task x label.
    embeddings : array-like or None
        One row per task, in ``pred_probs``/task order when given.
    options : dict
        Free-form options (source file name, gate config, random_state...).
    cache : dict
        Results shared between sections (e.g. a fitted Dawid-Skene model).
    """

    annotations: pd.DataFrame
    gold: pd.Series | None = None
    pred_probs: pd.DataFrame | None = None
    embeddings: Any = None
    options: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    #: ``progress(iterable, desc)``: wraps a loop of a section in a progress bar (stderr).
    progress: Any = None

    def steps(self, iterable: Any, desc: str) -> Any:
        """``iterable`` with a progress bar named ``desc`` when the audit shows progress."""
        items = list(iterable)
        return items if self.progress is None or len(items) < 2 else self.progress(items, desc)


def repeated_pairs(df: pd.DataFrame) -> bool:
    """Whether a (task, annotator) pair has several rows (``df.duplicated([...]).any()`` in linear time).

    Inside the audit's ``shared_coding`` block the codes are kept for the agreement coding.
    """
    from qa_toolkit.engines.coding import any_duplicate_pairs

    if df["task"].isna().any() or df["annotator"].isna().any():  # NaN ids: the pandas rule (NaN == NaN)
        return bool(df.duplicated(["task", "annotator"]).any())
    return any_duplicate_pairs(df)


def explain(title: str, reason: str) -> Section:
    """A section that says why it was not computed (the report never omits a section silently)."""
    return Section(title=title, html=f"<div class='qa-warn'>Not applicable to this data: {html.escape(reason)}</div>")


def field_slug(field_name: Any) -> str:
    """A field name made safe for a CSV file name (``"Category"`` -> ``"Category"``)."""
    return re.sub(r"[^0-9A-Za-z_-]+", "_", str(field_name))


def escape(text: Any) -> str:
    """HTML-escape ``str(text)``."""
    return html.escape(str(text))


def df_to_html(df: pd.DataFrame, *, max_rows: int = 50, float_format: str = "{:.4g}") -> str:
    """Render a DataFrame as an HTML table, truncated to ``max_rows`` with a note."""
    shown = df.head(max_rows)
    out = "<div class='qa-scroll'>" + shown.to_html(
        classes="qa-table", border=0, float_format=lambda v: float_format.format(v), escape=True
    ) + "</div>"
    if len(df) > max_rows:
        out += f"<p class='qa-note'>Showing {max_rows} of {len(df)} rows; the CSV has all.</p>"
    return out


def figure_to_html(fig: Any, *, dpi: int = 100) -> str:
    """Lay a matplotlib figure out (tight layout, unless it has a layout engine), embed it as a base64 PNG
    ``<img>`` and close it.

    The figure is drawn once: the layout is computed from the text extents and the PNG is
    saved at the figure's size (``bbox_inches="tight"`` would draw it twice, issue 14).
    """
    import warnings

    if fig.get_layout_engine() is None:  # a figure with its own engine (constrained) lays itself out
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "not compatible with tight_layout": drawn as laid out
            fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except ImportError:  # pragma: no cover - matplotlib is a core dependency
        pass
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img alt='figure' src='data:image/png;base64,{data}'/>"


#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _neutralise_index(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        arrays = [_neutralise_index(index.get_level_values(i)) for i in range(index.nlevels)]
        return pd.MultiIndex.from_arrays(arrays, names=[_neutralise(n) for n in index.names])
    if index.dtype == object or isinstance(index.dtype, (pd.StringDtype, pd.CategoricalDtype)):
        index = pd.Index([_neutralise(v) for v in index], dtype=object, name=index.name)
    return index.rename(_neutralise(index.name))


def _no_trigger(series: pd.Series) -> bool:
    """Whether no cell of a pandas string column starts with a formula trigger (one Arrow pass, no GIL).

    Issue 14: the audit's text columns are Arrow strings; a scan in C replaces the hash
    factorisation when, as almost always, nothing starts with a trigger.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    hits = pc.match_substring_regex(pa.array(series), pattern="^[=+@\t\r-]")
    return not pc.any(hits).as_py()


def _neutralise_column(series: pd.Series) -> pd.Series:
    """Neutralise a text column, looking at each distinct value once (hash factorisation)."""
    if isinstance(series.dtype, pd.StringDtype) and _no_trigger(series):
        return series
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists): value by value
        return series.astype(object).map(_neutralise)
    fixed, changed = [], False
    for v in uniques:  # one pass: iterating Arrow-backed uniques makes new str objects each time
        nv = _neutralise(v)
        changed = changed or nv is not v
        fixed.append(nv)
    if not changed:
        return series
    values = np.asarray(fixed + [None], dtype=object)[codes]  # code -1 (missing) -> last slot
    values[codes < 0] = series.to_numpy(dtype=object)[codes < 0]
    return pd.Series(values, index=series.index, name=series.name)


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas.

    Text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading ``'`` (the OWASP advice for CSV injection), in cells, index values and column
    names. Numbers are left alone: numeric columns keep negative values, and a text cell
    that is just a number (``"-1"``, ``"+2.5e3"``) is not a formula either.

    Examples
    --------
    >>> df = pd.DataFrame({"label": ["=HYPERLINK(1)", "-1", "ok", "@SUM(A1)"], "score": [-0.5, 1, 2, -3]})
    >>> neutralise_formulas(df)
                 label  score
    0  '=HYPERLINK(1)   -0.5
    1               -1    1.0
    2               ok    2.0
    3       '@SUM(A1)   -3.0
    """
    out = df.copy()
    for i in range(out.shape[1]):
        series = out.iloc[:, i]
        if isinstance(series.dtype, pd.CategoricalDtype):  # only the categories can be text
            cats = series.cat.categories
            fixed = pd.Index([_neutralise(v) for v in cats], dtype=object)
            if not fixed.equals(pd.Index(cats, dtype=object)):
                out.isetitem(i, pd.Series(pd.Categorical.from_codes(series.cat.codes, categories=fixed.unique())
                                          if fixed.is_unique else series.astype(object).map(_neutralise),
                                          index=series.index))
        elif series.dtype == object or isinstance(series.dtype, pd.StringDtype):
            out.isetitem(i, _neutralise_column(series))
    out.columns = _neutralise_index(out.columns)
    out.index = _neutralise_index(out.index)
    return out


#: Tables with more rows than this are written with pyarrow's multithreaded CSV writer.
FAST_CSV_ROWS = 50_000


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a report table as CSV with its text cells neutralised (:func:`neutralise_formulas`).

    Large tables (more than :data:`FAST_CSV_ROWS` rows) go through ``pyarrow.csv`` when
    every column converts (booleans are then written ``true``/``false``, which
    ``pandas.read_csv`` reads back as booleans); otherwise, and for small tables, pandas.
    """
    safe = neutralise_formulas(df)
    if len(safe) > FAST_CSV_ROWS:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        try:
            flat = safe.reset_index() if not isinstance(safe.index, pd.RangeIndex) else safe.reset_index(names="")
            flat.columns = [str(c) for c in flat.columns]
            table = pa.Table.from_pandas(flat, preserve_index=False)
            pacsv.write_csv(table, str(path), pacsv.WriteOptions(quoting_style="needed"))
            return
        except (pa.ArrowException, TypeError, ValueError):  # mixed or nested cells: pandas writes them
            pass
    safe.to_csv(path)
