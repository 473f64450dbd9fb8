"""Format detection from a file's content (not only its extension)."""

from __future__ import annotations

import os
from pathlib import Path

from qa_toolkit._validation import AnnotationFormatError

__all__ = ["detect_format", "VENDOR_FORMATS", "CROWD_FORMAT_NAMES", "KNOWN_FORMATS"]

VENDOR_FORMATS = ("label_studio", "label_studio_min", "label_studio_csv", "cvat", "coco", "doccano", "table")
CROWD_FORMAT_NAMES = ("zheng", "snow", "gal", "lewidi", "cifar10n", "dawid_skene", "bluebirds")
KNOWN_FORMATS = VENDOR_FORMATS + CROWD_FORMAT_NAMES
_HEAD = 1 << 18


def _crowd(path: Path, head: bytes) -> str | None:
    try:
        from qa_toolkit.io.crowd import detect_crowd_format
    except ImportError:  # pragma: no cover - crowd.py is the lead's module
        return None
    return detect_crowd_format(path, head)


def detect_format(source) -> str:
    """Name the annotation format of ``source`` from its content.

    Parameters
    ----------
    source : path, folder or list of paths
        A folder or a list of files is read as COCO, one file per annotator.

    Returns
    -------
    str
        One of :data:`KNOWN_FORMATS`.

    Raises
    ------
    AnnotationFormatError
        When the file is empty or matches no known format (the message lists them).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "export.txt"
    >>> _ = p.write_text('[{"id": 1, "annotations": [{"result": []}]}]')
    >>> detect_format(p)
    'label_studio'
    """
    if isinstance(source, (list, tuple)):
        return "coco"
    if not isinstance(source, (str, os.PathLike)):
        raise AnnotationFormatError(
            f"The 'source' parameter must be a path, a folder or a list of paths. Got {type(source).__name__}."
        )
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"read_annotations: file not found: {path}")
    if path.is_dir():
        if any(path.glob("*.json")):
            return "coco"
        raise AnnotationFormatError(f"{path} is a folder without *.json files: expected COCO files, one per annotator.")
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    if not head.strip():
        raise AnnotationFormatError(f"{path} is empty: expected annotations.")
    if head.startswith(b"PAR1"):
        return "table"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        if "<annotations" in text:
            return "cvat"
        raise AnnotationFormatError(f"{path} is XML but not a CVAT export (no <annotations> root). {_known()}")
    if text.startswith("{"):
        if '"images"' in text and '"annotations"' in text and '"categories"' in text:
            return "coco"
        crowd = _crowd(path, head)
        if crowd:
            return crowd
        first = text.split("\n", 1)[0]
        if ('"text"' in first and ('"label"' in first or '"labels"' in first) and first.rstrip().endswith("}")
                and '"annotations"' not in first and '"completions"' not in first and '"result"' not in first):
            return "doccano"  # JSONL: a whole object on the first line
        if '"annotations"' in text or '"completions"' in text or '"result"' in text:
            return "label_studio"
        if '"annotator"' in text or '"annotation_id"' in text:
            return "label_studio_min"
        raise AnnotationFormatError(f"{path}: JSON object of no known annotation format. {_known()}")
    if text.startswith("["):
        if '"annotations"' in text or '"completions"' in text or '"predictions"' in text:
            return "label_studio"
        if '"image_id"' in text and '"category_id"' in text:
            return "coco"
        if '"annotator"' in text or '"annotation_id"' in text:
            return "label_studio_min"
        raise AnnotationFormatError(f"{path}: JSON list of no known annotation format. {_known()}")
    crowd = _crowd(path, head)
    if crowd:
        return crowd
    header = text.split("\n", 1)[0]
    cols = {c.strip().strip('"') for c in header.replace("\t", ",").split(",")}
    if {"annotation_id", "annotator"} <= cols:
        return "label_studio_csv"
    if {"task", "annotator", "label"} <= cols:
        return "table"
    raise AnnotationFormatError(
        f"{path}: could not detect the format from its content (header {header[:80]!r}). {_known()} "
        "For another long table pass format='table' with columns={...}."
    )


def _known() -> str:
    return "Known formats: " + ", ".join(repr(f) for f in KNOWN_FORMATS) + "."
