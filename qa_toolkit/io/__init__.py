"""Importers and writers: vendor exports and research crowd formats → the canonical table.

``read_annotations(source, format=None)`` detects the format from the content and
dispatches to one reader per format; ``read_predictions`` reads model output (Label
Studio ``predictions``, COCO results) as its own table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, check_option
from qa_toolkit.io.coco import read_coco, read_coco_results
from qa_toolkit.io.cvat import read_cvat
from qa_toolkit.io.detect import CROWD_FORMAT_NAMES, KNOWN_FORMATS, detect_format
from qa_toolkit.io.label_studio import read_label_studio, read_label_studio_predictions
from qa_toolkit.io.labelme import read_labelme
from qa_toolkit.io.prodigy import read_prodigy
from qa_toolkit.io.tabular import (
    read_doccano,
    read_label_studio_csv,
    read_label_studio_min,
    read_table,
)
from qa_toolkit.io.writers import to_label_studio_tasks, write_coco, write_label_studio, write_table

__all__ = [
    "KNOWN_FORMATS",
    "detect_format",
    "read_annotations",
    "read_predictions",
    "read_label_studio",
    "read_label_studio_min",
    "read_label_studio_csv",
    "read_label_studio_predictions",
    "read_cvat",
    "read_coco",
    "read_coco_results",
    "read_table",
    "read_doccano",
    "read_labelme",
    "read_prodigy",
    "write_label_studio",
    "write_coco",
    "write_table",
    "to_label_studio_tasks",
]

_READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "label_studio": read_label_studio,
    "label_studio_min": read_label_studio_min,
    "label_studio_csv": read_label_studio_csv,
    "cvat": read_cvat,
    "coco": read_coco,
    "doccano": read_doccano,
    "table": read_table,
    "labelme": read_labelme,
    "prodigy": read_prodigy,
}


def read_annotations(source: Any, *, format: str | None = None, errors: str = "raise",  # noqa: A002
                     kinds: dict[str, str] | None = None, **options: Any) -> pd.DataFrame:
    """Read annotations in any known format into the canonical long table.

    Parameters
    ----------
    source : path, folder or list of paths
        A file; for COCO also a list of files or a folder (one file per annotator).
        Also a ``.parquet`` file or a folder of them (hive partitions), a
        ``pyarrow.Table`` / ``pyarrow.dataset.Dataset``, a Polars frame or a DuckDB
        relation (:func:`qa_toolkit.io.parquet_dataset.read_parquet_dataset`).
    format : str, optional
        One of :data:`KNOWN_FORMATS`; default: detected from the content.
    errors : {'raise', 'warn'}, default='raise'
        Bad records raise :class:`~qa_toolkit.AnnotationFormatError` (naming file,
        record and field) or are skipped, counted and reported in one
        :class:`~qa_toolkit.AnnotationWarning`. The research crowd formats validate
        with the same policy after reading.
    kinds : dict of {field: kind}, optional
        Override the kind of a field (``{"sentiment": "ordinal"}``); a kind that does not
        fit the values (``interval`` on text labels) raises, naming the field and record.
    **options
        Passed to the format's reader (``annotator=``, ``fields=``, ``columns=``,
        ``duplicates=``...).

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``annotator``, ``label`` plus what the format has, with ``field``
        and ``kind`` (docs/DATA_MODEL.md); ``attrs["assignments"]`` where the format
        records who saw which task.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = p.write_text("task,annotator,label\\n1,a,x\\n1,b,y\\n")
    >>> read_annotations(p)[["task", "annotator", "label", "field", "kind"]]  # ids and labels stay text
      task annotator label  field         kind
    0    1         a     x  label  categorical
    1    1         b     y  label  categorical
    """
    from qa_toolkit.io.parquet_dataset import is_columnar_source, read_parquet_dataset  # issue 14

    if format in (None, "parquet") and is_columnar_source(source):  # Parquet dir/file, Arrow, Polars, DuckDB
        return read_parquet_dataset(source, errors=errors, **options)
    if format is None:
        format = detect_format(source)  # noqa: A001
    check_option("format", format, KNOWN_FORMATS, func="read_annotations")
    check_option("errors", errors, ["raise", "warn"], func="read_annotations")
    if format in CROWD_FORMAT_NAMES:
        from qa_toolkit.io import crowd
        from qa_toolkit.table import validate_annotations, with_kinds

        df = crowd.CROWD_FORMATS[format](source, **options)
        df = validate_annotations(df, errors=errors, source=str(source))
        return with_kinds(df, kinds) if kinds else df
    reader = _READERS[format]
    import inspect

    if kinds is not None and "kinds" not in inspect.signature(reader).parameters:
        from qa_toolkit.table import with_kinds

        return with_kinds(reader(source, errors=errors, **options), kinds)
    if kinds is not None:
        options["kinds"] = kinds
    return reader(source, errors=errors, **options)


def read_predictions(source: Any, *, format: str | None = None, errors: str = "raise",  # noqa: A002
                     **options: Any) -> pd.DataFrame:
    """Read model predictions: Label Studio ``predictions`` or a COCO results file.

    Parameters
    ----------
    source : path
    format : {'label_studio', 'coco'}, optional
        Default: detected from the content.
    errors : {'raise', 'warn'}, default='raise'

    Returns
    -------
    pandas.DataFrame
        ``task``, ``model``, ``label``, ``score`` and geometry columns (pixels).
    """
    if format is None:
        format = detect_format(source)  # noqa: A001
        if format not in ("label_studio", "coco"):
            raise AnnotationFormatError(
                f"{source} looks like a {format!r} file, which holds no model predictions; "
                "read_predictions reads Label Studio exports (their 'predictions') and COCO results."
            )
    check_option("format", format, ["label_studio", "coco"], func="read_predictions")
    if format == "label_studio":
        return read_label_studio_predictions(source, errors=errors, **options)
    from qa_toolkit.io._common import as_path, load_json

    if isinstance(load_json(as_path(source, func="read_predictions")), dict):
        raise AnnotationFormatError(
            f"{source} is a COCO instances file (ground truth), not a COCO results list of detections."
        )
    return read_coco_results(source, errors=errors, **options)
