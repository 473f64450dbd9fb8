"""Provenance of an audit: what was read, with what, how, when and how long it took."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from qa_toolkit.report.core import Section, df_to_html, escape

__all__ = ["file_sha256", "library_versions", "provenance_section", "LIBRARIES"]

#: Libraries whose versions the report records (absent ones are listed as absent).
LIBRARIES = ("qa_toolkit", "numpy", "pandas", "scipy", "cleanlab", "krippendorff", "scikit-learn", "pyarrow", "duckdb")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, or of a folder's files (sorted relative paths and their bytes).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "a.txt")
    ...     _ = open(p, "w").write("abc")
    ...     file_sha256(p)[:12]
    'ba7816bf8f01'
    """
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode("utf-8") + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def table_sha256(data: pd.DataFrame) -> str:
    """SHA-256 of a table's canonical columns (for inputs that are not files, e.g. bundled data sets)."""
    cols = [c for c in ("task", "annotator", "label") if c in data.columns]
    hashed = pd.util.hash_pandas_object(data[cols].astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def library_versions() -> dict[str, str]:
    """``{library: version}`` of :data:`LIBRARIES` and Python ('absent' when not installed)."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def provenance_section(data: pd.DataFrame, *, source: str, input_path: str | None, parameters: dict[str, Any],
                       started: datetime, seconds: float, section_seconds: dict[str, float],
                       fields: dict | None = None) -> tuple[Section, str]:
    """The provenance section and a one-line summary for the top of the page.

    Parameters
    ----------
    data : pandas.DataFrame
        The annotations as read.
    source : str
        Input name shown (file name or ``dataset:NAME``).
    input_path : str or None
        The file or folder read (hashed); None for in-memory inputs (the table is hashed).
    parameters : dict
        The options of the run (the command-line arguments).
    started : datetime
        When the run started (UTC).
    seconds : float
        Wall time of the run so far.
    section_seconds : dict
        Time per section.
    fields : dict, optional
        ``{field: kind}``; annotators and rows are counted per field.
    """
    if input_path and Path(input_path).exists():
        digest, hashed = file_sha256(input_path), "file"
    else:
        digest, hashed = table_sha256(data), "table (task, annotator, label as text)"
    rows = [("input", source), (f"SHA-256 of the {hashed}", digest), ("rows", f"{len(data):,}"),
            ("tasks", f"{data['task'].nunique():,}"), ("annotators", f"{data['annotator'].nunique():,}"),
            ("started", started.strftime("%Y-%m-%d %H:%M:%S UTC")), ("duration", f"{seconds:.1f} s")]
    per_field = []
    for field in (fields or {"label": "categorical"}):
        sub = data[data["field"] == field] if "field" in data.columns else data
        per_field.append({"field": field, "kind": (fields or {}).get(field, "categorical"), "rows": len(sub),
                          "tasks": int(sub["task"].nunique()), "annotators": int(sub["annotator"].nunique())})
    versions = library_versions()
    run = pd.DataFrame(rows, columns=["what", "value"]).set_index("what")
    params = pd.DataFrame({"value": {k: str(v) for k, v in parameters.items()}}).rename_axis("parameter")
    libs = pd.DataFrame({"version": versions}).rename_axis("library")
    fields_t = pd.DataFrame(per_field).set_index("field")
    timing = pd.DataFrame({"seconds": section_seconds}).rename_axis("section")
    html = ["<h3>Run</h3>", df_to_html(run), "<h3>Per field</h3>", df_to_html(fields_t),
            "<h3>Parameters</h3>", df_to_html(params), "<h3>Libraries</h3>", df_to_html(libs),
            "<h3>Time per section</h3>", df_to_html(timing)]
    summary = (f"Input <b>{escape(source)}</b> (SHA-256 <code>{escape(digest[:16])}…</code>), {len(data):,} rows, "
               f"{data['task'].nunique():,} tasks, {data['annotator'].nunique():,} annotators; qa_toolkit "
               f"{escape(versions['qa_toolkit'])}; {seconds:.1f} s. <a href='#provenance'>Provenance</a>")
    section = Section(title="Provenance", html="<a id='provenance'></a>" + "\n".join(html),
                      tables={"run": run, "fields": fields_t, "parameters": params, "libraries": libs,
                              "section_seconds": timing})
    return section, f"<p class='qa-note'>{summary}</p>"
