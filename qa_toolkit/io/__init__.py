"""Importers and writers: vendor exports and research crowd formats → the canonical table.

``read_annotations(source, format=None)`` detects the format from the content and
dispatches to one reader per format; ``read_predictions`` reads model output (Label
Studio ``predictions``, COCO results) as its own table.
"""

from __future__ import annotations

from qa_toolkit._validation import AnnotationFormatError, check_option
from qa_toolkit.io.coco import read_coco, read_coco_results
from qa_toolkit.io.cvat import read_cvat
from qa_toolkit.io.detect import CROWD_FORMAT_NAMES, KNOWN_FORMATS, detect_format
from qa_toolkit.io.label_studio import read_label_studio, read_label_studio_predictions
from qa_toolkit.io.tabular import (
    read_doccano,
    read_label_studio_csv,
    read_label_studio_min,
    read_table,
)
from qa_toolkit.io.writers import write_coco, write_label_studio, write_table

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
    "write_label_studio",
    "write_coco",
    "write_table",
]

_READERS = {
    "label_studio": read_label_studio,
    "label_studio_min": read_label_studio_min,
    "label_studio_csv": read_label_studio_csv,
    "cvat": read_cvat,
    "coco": read_coco,
    "doccano": read_doccano,
    "table": read_table,
}


def read_annotations(source, *, format=None, errors="raise", **options):  # noqa: A002
    """Read annotations in any known format into the canonical long table.

    Parameters
    ----------
    source : path, folder or list of paths
        A file; for COCO also a list of files or a folder (one file per annotator).
    format : str, optional
        One of :data:`KNOWN_FORMATS`; default: detected from the content.
    errors : {'raise', 'warn'}, default='raise'
        Bad records raise :class:`~qa_toolkit.AnnotationFormatError` (naming file,
        record and field) or are skipped, counted and reported in one
        :class:`~qa_toolkit.AnnotationWarning`. The research crowd formats validate
        with the same policy after reading.
    **options
        Passed to the format's reader (``annotator=``, ``fields=``, ``columns=``...).

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``annotator``, ``label`` plus what the format has.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = p.write_text("task,annotator,label\\n1,a,x\\n1,b,y\\n")
    >>> read_annotations(p)[["task", "annotator", "label"]]
       task annotator label
    0     1         a     x
    1     1         b     y
    """
    if format is None:
        format = detect_format(source)  # noqa: A001
    check_option("format", format, KNOWN_FORMATS, func="read_annotations")
    check_option("errors", errors, ["raise", "warn"], func="read_annotations")
    if format in CROWD_FORMAT_NAMES:
        from qa_toolkit.io import crowd
        from qa_toolkit.table import validate_annotations

        df = crowd.CROWD_FORMATS[format](source, **options)
        return validate_annotations(df, errors=errors, source=str(source))
    return _READERS[format](source, errors=errors, **options)


def read_predictions(source, *, format=None, errors="raise", **options):  # noqa: A002
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
