"""Format detection from a file's content (not only its extension)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qa_toolkit._validation import AnnotationFormatError
from qa_toolkit.io.crowd import detect_crowd_format

__all__ = ["detect_format", "VENDOR_FORMATS", "CROWD_FORMAT_NAMES", "KNOWN_FORMATS"]

VENDOR_FORMATS = ("label_studio", "label_studio_min", "label_studio_csv", "cvat", "coco", "doccano", "table",
                  "labelme", "prodigy")
CROWD_FORMAT_NAMES = ("zheng", "snow", "gal", "lewidi", "cifar10n", "dawid_skene", "bluebirds")
KNOWN_FORMATS = VENDOR_FORMATS + CROWD_FORMAT_NAMES
_HEAD = 1 << 18
_JSON_HEAD = 1 << 22  # 4 MiB: enough for the first records of any export


def _crowd(path: Path, head: bytes) -> str | None:  # noqa: D103
    return detect_crowd_format(path, head)


def detect_format(source: Any) -> str:
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
        return "labelme" if source and _labelme(Path(source[0])) else "coco"
    if not isinstance(source, (str, os.PathLike)):
        raise AnnotationFormatError(
            f"The 'source' parameter must be a path, a folder or a list of paths. Got {type(source).__name__}."
        )
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"read_annotations: file not found: {path}")
    if path.is_dir():
        if _labelme(path):
            return "labelme"
        if any(path.glob("*.json")):
            return "coco"
        raise AnnotationFormatError(f"{path} is a folder without *.json files: expected COCO files, one per annotator.")
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    if not head.strip():
        raise AnnotationFormatError(f"{path} is empty: expected annotations.")
    if head.startswith(b"PAR1"):
        return "table"
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")  # XML declared UTF-16 (read per its declaration)
    text = head.decode("utf-16" if utf16 else "utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        if "<annotations" in text:
            return "cvat"
        if _labelme(path, head):
            return "labelme"
        raise AnnotationFormatError(f"{path} is XML but not a CVAT export (no <annotations> root). {_known()}")
    if text.startswith("{"):
        if '"images"' in text and '"annotations"' in text and '"categories"' in text:
            return "coco"
        if '"_input_hash"' in text.split("\n", 1)[0]:
            return "prodigy"  # db-out JSONL: Prodigy's hashes on every record
        if _labelme(path, head):
            return "labelme"
        crowd = _crowd(path, head)
        if crowd:
            return crowd
        return _json_structure(path, "JSON object")
    if text.startswith("["):
        return _json_structure(path, "JSON list")
    header = text.split("\n", 1)[0]
    cols = {c.strip().strip('"') for c in header.replace("\t", ",").split(",")}
    if {"annotation_id", "annotator"} <= cols:  # headers naming canonical columns win over crowd heuristics
        return "label_studio_csv"
    if {"task", "annotator", "label"} <= cols:
        return "table"
    crowd = _crowd(path, head)
    if crowd:
        return crowd
    raise AnnotationFormatError(
        f"{path}: could not detect the format from its content (header {header[:80]!r}). {_known()} "
        "For another long table pass format='table' with columns={...}."
    )


def _ls_task(t: Any) -> bool:
    """A Label Studio task: ``annotations`` (or ``completions``/``predictions``) are lists of
    objects with ``result`` lists (an empty list only next to the task's ``data``)."""
    if not isinstance(t, dict):
        return False
    found = False
    for key in ("annotations", "completions", "predictions"):
        items = t.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            return False
        if not items and isinstance(t.get("data"), dict):
            found = True
        for a in items:
            if key == "predictions" and isinstance(a, (int, str)):
                found = True  # predictions exported as bare ids
            elif isinstance(a, dict) and isinstance(a.get("result"), list):
                found = True
            else:
                return False
    return found


def _json_head(path: Path) -> tuple[Any, bool]:
    """Parse the start of a JSON file: ``(records, is_json_lines)``.

    A list gives its first records (decoded one by one from the first MiBs, so a large
    export is not parsed twice); an object gives itself; several objects one after the
    other (JSON Lines) give the first one and ``True``.
    """
    import json

    from qa_toolkit.io._common import load_json

    dec = json.JSONDecoder()
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(_JSON_HEAD)
    text = head.decode("utf-8-sig", errors="ignore").lstrip()
    complete = size <= _JSON_HEAD
    if text.startswith("["):
        records: list[Any] = []
        i = 1
        while len(records) < 50:
            while i < len(text) and text[i] in " \t\r\n,":
                i += 1
            if i >= len(text) or text[i] == "]":
                break
            try:
                obj, i = dec.raw_decode(text, i)
            except (json.JSONDecodeError, RecursionError):
                if complete or not records:
                    return load_json(path), False  # the full parse names the line and column
                break
            records.append(obj)
        return records, False
    try:
        obj, end = dec.raw_decode(text, 0)
    except (json.JSONDecodeError, RecursionError):
        return load_json(path), False
    if text[end:].strip():
        return obj, True
    return obj, False


def _json_structure(path: Path, what: str) -> str:
    """Decide a JSON (or JSON Lines) file's format from its parsed structure."""
    data, lines = _json_head(path)
    if isinstance(data, dict) and isinstance(data.get("text"), str) and isinstance(
            data.get("label", data.get("labels")), list) and not _ls_task(data):
        return "doccano"  # JSON Lines (or a one-line file): [start, end, label] spans per document
    if lines:
        raise AnnotationFormatError(
            f"{path}: JSON Lines whose records match no known annotation format (first record's keys: "
            f"{list(data)[:8] if isinstance(data, dict) else type(data).__name__}). {_known()}"
        )
    records = data if isinstance(data, list) else [data]
    dicts = [r for r in records[:200] if isinstance(r, dict)]
    if dicts and any(_ls_task(r) for r in dicts):
        return "label_studio"
    if isinstance(data, list):
        if dicts and all("image_id" in r and "category_id" in r for r in dicts):
            return "coco"
        if dicts and all("annotator" in r or "annotation_id" in r for r in dicts):
            return "label_studio_min"
    elif isinstance(data, dict) and ("annotator" in data or "annotation_id" in data):
        return "label_studio_min"
    raise AnnotationFormatError(f"{path}: {what} of no known annotation format. {_known()}")


def _labelme(path: Path, head: bytes | None = None) -> bool:
    """A LabelMe file, or a folder (or folder of annotator folders) of LabelMe files."""
    from qa_toolkit.io.labelme import is_labelme_file

    if path.is_dir():
        first = next((f for f in sorted(path.rglob("*")) if f.suffix.lower() in (".xml", ".json")), None)
        return first is not None and is_labelme_file(first)
    return path.is_file() and is_labelme_file(path, head)


def _known() -> str:
    return "Known formats: " + ", ".join(repr(f) for f in KNOWN_FORMATS) + "."
