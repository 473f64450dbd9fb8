"""Writers: tables to Label Studio import JSON (:mod:`.write_label_studio`), COCO (:mod:`.write_coco`), CSV/Parquet."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from qa_toolkit._validation import QAInputError, check_option
from qa_toolkit.io.write_coco import write_coco
from qa_toolkit.io.write_escalation import to_label_studio_tasks
from qa_toolkit.io.write_label_studio import write_label_studio

__all__ = ["write_label_studio", "write_coco", "write_table", "to_label_studio_tasks"]


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table as CSV (``.csv``/``.tsv``) or Parquet (``.parquet``), chosen by extension.

    List-valued cells (``points``) are JSON-encoded in CSV; :func:`~qa_toolkit.io.read_table`
    decodes them again.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from qa_toolkit.io import read_table
    >>> t = pd.DataFrame({"task": [1], "annotator": ["a"], "label": ["x"]})
    >>> p = write_table(t, pathlib.Path(tempfile.mkdtemp()) / "t.parquet")
    >>> read_table(p)[["task", "annotator", "label"]].equals(t)
    True
    """
    if not isinstance(df, pd.DataFrame):
        raise QAInputError(f"The 'df' parameter of write_table must be a DataFrame. Got {type(df).__name__}.")
    path = Path(path)
    ext = path.suffix.lower()
    check_option("path extension", ext, [".csv", ".tsv", ".parquet", ".pq"], func="write_table")
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].map(lambda v: isinstance(v, (list, tuple, dict))).any():
            out[c] = out[c].map(lambda v: json.dumps(v) if isinstance(v, (list, tuple, dict)) else v)
    if ext in (".parquet", ".pq"):
        out.to_parquet(path, index=False)
    else:
        out.to_csv(path, index=False, sep="\t" if ext == ".tsv" else ",")
    return path
