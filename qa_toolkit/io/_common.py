"""Shared plumbing of the vendor-format readers: file access, problem reporting, finishing.

Every reader reads bytes through :func:`read_bytes` / :func:`load_json` /
:func:`parse_xml`, which turn empty files, non-UTF-8 text and broken JSON/XML into
:class:`~qa_toolkit.AnnotationFormatError` naming the file. Record-level problems go
through :class:`Problems`: under ``errors='raise'`` the first one raises, under
``errors='warn'`` the record is skipped and counted, and one
:class:`~qa_toolkit.AnnotationWarning` reports the counts at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, check_option
from qa_toolkit.table import (
    AssignmentFrame,
    canonical_frame,
    validate_annotations,
    with_kinds,
)

PathLike = str | os.PathLike[str]
_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = ["PathLike", "boundary", "Problems", "Rows", "read_bytes", "load_json", "parse_xml", "finish", "as_path", "to_float"]


def boundary(fmt: str) -> Callable[[_F], _F]:
    """Decorate a public reader: stray parsing errors become :class:`AnnotationFormatError`.

    The readers check records explicitly; this is the safety net at the boundary so that
    no ``KeyError``/``TypeError``/... from deep inside escapes (parameter errors,
    :class:`~qa_toolkit.QAInputError`, and missing files pass through unchanged).
    """
    import functools

    from qa_toolkit._validation import QAInputError

    def deco(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(source: Any, *args: Any, **kwargs: Any) -> Any:
            import gc

            enabled = gc.isenabled()
            gc.disable()  # millions of small dicts: the cyclic GC would dominate the run time
            try:
                return func(source, *args, **kwargs)
            except (AnnotationFormatError, QAInputError):
                raise
            except (LookupError, TypeError, ValueError, AttributeError, RecursionError,
                    OverflowError) as exc:
                raise AnnotationFormatError(
                    f"{source}: could not be read as {fmt}: {type(exc).__name__}: {exc}"
                ) from exc
            finally:
                if enabled:
                    gc.enable()

        return wrapper  # type: ignore[return-value]

    return deco


def as_path(source: Any, *, func: str) -> Path:
    """Return ``source`` as an existing :class:`~pathlib.Path` or raise a clear error."""
    if not isinstance(source, (str, os.PathLike)):
        raise AnnotationFormatError(
            f"The 'source' parameter of {func} must be a path (str or os.PathLike). "
            f"Got {type(source).__name__} instead."
        )
    p = Path(source)
    if not p.exists():
        raise FileNotFoundError(f"{func}: file not found: {p}")
    return p


def read_bytes(path: Path) -> bytes:
    """Read a whole file; empty files raise :class:`AnnotationFormatError`."""
    if path.is_dir():
        raise AnnotationFormatError(f"{path} is a folder: expected an annotation file.")
    data = path.read_bytes()
    if not data.strip():
        raise AnnotationFormatError(f"{path} is empty: expected annotations.")
    return data


def decode(data: bytes, path: Path) -> str:
    """Decode UTF-8 (with or without BOM) or raise naming the byte offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnnotationFormatError(
            f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start} "
            f"(got {data[exc.start:exc.start + 4]!r}). Re-export it as UTF-8."
        ) from None


def load_json(path: Path) -> Any:
    """Parse a JSON file; syntax errors name the line and column."""
    text = decode(read_bytes(path), path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnotationFormatError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} "
            "(truncated or corrupted file?)."
        ) from None
    except RecursionError:
        raise AnnotationFormatError(f"{path}: JSON nested too deeply to be an annotation export.") from None


def parse_xml(path: Path) -> tuple[Any, dict[int, int]]:
    """Parse an XML file without resolving entities; errors name the line.

    Returns
    -------
    (root, lines)
        The root element and ``{id(element): line number}`` for messages.
    """
    import xml.etree.ElementTree as ET  # noqa: N817

    data = read_bytes(path)
    if not _declared_encoding(data):
        decode(data, path)  # undeclared: must be UTF-8; reject anything else up front with a byte offset
    try:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import DefusedXMLParser as Parser
    except ImportError:  # pragma: no cover - defusedxml is optional; expat expands no external entities
        Parser, DefusedXmlException = ET.XMLParser, ()

    class _Builder(ET.TreeBuilder):
        def __init__(self) -> None:
            super().__init__()
            self.lines: dict[int, int] = {}
            self.expat = None

        def start(self, tag: Any, attrs: Any) -> Any:
            el = super().start(tag, attrs)
            if self.expat is not None:
                self.lines[id(el)] = self.expat.CurrentLineNumber
            return el

    builder = _Builder()
    try:
        parser = Parser(target=builder)
        builder.expat = getattr(parser, "parser", None)
        parser.feed(data)
        return parser.close(), builder.lines
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        raise AnnotationFormatError(f"{path} is not valid XML: {exc} (line {line}).") from None
    except DefusedXmlException as exc:
        raise AnnotationFormatError(f"{path}: forbidden XML construct ({exc}); entities are not resolved.") from None
    except (ValueError, RecursionError, LookupError) as exc:  # LookupError: unknown encoding=
        raise AnnotationFormatError(f"{path} is not valid XML: {exc}.") from None


def _declared_encoding(data: bytes) -> str | None:
    """The encoding an XML file declares (UTF-16 BOM or ``<?xml ... encoding="..."?>``), if any.

    expat reads UTF-8, UTF-16, ISO-8859-1 and US-ASCII per the declaration; Python adds
    the other single-byte codecs.
    """
    import re

    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    m = re.match(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']", data[:200])
    if m and m.group(1).lower() not in (b"utf-8", b"utf8"):
        return m.group(1).decode("ascii")
    return None


def to_float(value: Any, *, what: str) -> float:
    """``float(value)`` or ValueError naming ``what`` (bools and non-finite strings rejected)."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a number, got {value!r}") from None


from qa_toolkit.io._checks import (  # noqa: E402
    check_rows,
    drop_duplicate_regions,
    mark_multilabel,
    warn_mixed_types,
)
from qa_toolkit.io._problems import Problems  # noqa: E402,F401  (re-exported for the readers)


def finish(columns: dict[str, Any], problems: Problems, *, validate: bool = True,
           kinds: dict[str, str] | None = None, assignments: list[dict] | None = None,
           duplicates: str = "warn") -> pd.DataFrame:
    """Build the canonical table from column lists, check records, add kinds, validate.

    Columns that are entirely missing (all None) are dropped, so a choices-only file
    has no box columns. Non-scalar ids or labels, non-numeric numbers and unparseable
    dates are bad records (named by task, annotation, result and field); exact duplicate
    regions are kept once and counted (``duplicates='raise'`` raises); ``kind`` is set per
    field (``kinds`` overrides, checked against the values); ``assignments`` (every
    annotation read, empty ones included) go to ``attrs["assignments"]``.
    """
    check_option("duplicates", duplicates, ["warn", "raise"], func="read_annotations")
    n = len(columns.get("task", []))
    if n == 0:
        problems.report()
        raise AnnotationFormatError(
            f"{problems.path}: no annotations found (expected at least one labelled record)"
            + (f"; skipped: {dict(problems.skipped)}" if problems.skipped else "")
            + (f"; not labels: {dict(problems.notes)}" if problems.notes else "")
            + "."
        )
    keep = ("task", "annotator", "model", "label")
    data = {k: v for k, v in columns.items() if k in keep or any(x is not None for x in v)}
    df = pd.DataFrame(data)
    if "ground_truth" in df.columns:
        df["ground_truth"] = df["ground_truth"].astype("boolean")
    df = check_rows(df, problems)
    df = canonical_frame(df)
    if validate:
        df = drop_duplicate_regions(df, problems, duplicates)
        df = mark_multilabel(df)
    warn_mixed_types(df, problems.path)
    if validate:
        probe = df.assign(_row=range(len(df)))
        if "created_at" in probe.columns and "annotation_id" in probe.columns:
            probe = probe.drop(columns="created_at")  # formatting datetimes dominates validation time
        problems.report()
        kept = validate_annotations(probe, errors=problems.errors, source=problems.path)
        if len(kept) != len(probe):
            df = df.iloc[kept["_row"].to_numpy()].reset_index(drop=True)
    else:
        problems.report()
    df = df.drop(columns=[c for c in ("_loc", "_doc_len") if c in df.columns])
    if "field" in df.columns or kinds:
        df = with_kinds(df, kinds)
    if assignments is not None:
        a = pd.DataFrame.from_records(assignments, columns=["task", "annotator", "annotation_id"])
        df.attrs["assignments"] = AssignmentFrame(a.drop_duplicates().reset_index(drop=True))
    return df


class Rows:
    """Row collector: per-annotation metadata stored once, per-label parts as small dicts.

    Columns are assembled at the end (meta columns by fancy indexing), so the cost per
    label is proportional to the keys it has, not to the number of columns.
    """

    def __init__(self, order: tuple[str, ...]) -> None:
        self.order = order
        self.meta: list[dict[str, Any]] = []
        self.idx: list[int] = []
        self.parts: list[dict[str, Any]] = []

    def annotation(self, meta: dict[str, Any]) -> int:
        self.meta.append(meta)
        return len(self.meta) - 1

    def add(self, mi: int, part: dict[str, Any]) -> None:
        self.idx.append(mi)
        self.parts.append(part)

    def columns(self) -> dict[str, Any]:

        idx = np.asarray(self.idx, dtype=np.intp)
        out: dict[str, Any] = {}
        meta_keys: set[str] = set()
        part_keys: set[str] = set()
        for m in self.meta:
            meta_keys.update(m)
        for p in self.parts:
            part_keys.update(p)
        for c in self.order:
            if c in part_keys:
                out[c] = [p.get(c) for p in self.parts]
            elif c in meta_keys:
                arr = np.empty(len(self.meta), dtype=object)
                arr[:] = [m.get(c) for m in self.meta]
                out[c] = arr[idx]
        if "task" not in out:
            out["task"] = []
        return out
