"""LabelMe reader: the LabelMe Webtool XML and the ``labelme`` desktop tool JSON.

LabelMe stores one file per image and annotator session; multi-annotator projects keep
one folder (or one file name suffix) per annotator. Policies:

* ``task`` is the image file name (XML ``<filename>``, JSON ``imagePath`` without its
  folder), else the annotation file's stem. The same image annotated in several folders
  is one task.
* ``annotator``: the ``annotator=`` argument when given; else, by ``annotator_from``,
  the name of the folder holding the file (``'folder'``, the default: one folder per
  annotator), the file stem (``'file'``: one file per annotator), or the XML
  ``<polygon><username>`` (``'username'``; JSON has none, so it is refused there).
* ``field`` is ``"polygon"`` and ``kind`` ``"polygon"``; ``points`` holds the vertices as a
  tuple of ``(x, y)`` pixel pairs; ``image_width``/``image_height`` come from
  ``<imagesize><ncols>/<nrows>`` (XML) or ``imageWidth``/``imageHeight`` (JSON).
  JSON ``rectangle`` shapes become their 4-corner polygon and ``circle`` shapes a 64-gon;
  ``line``, ``linestrip``, ``point`` and ``points`` shapes have no area and are kept out
  (counted in the warning).
* Deleted objects: the Webtool never removes an object from the XML; it sets
  ``<deleted>1</deleted>`` (and the object is not shown). Such objects are dropped and
  counted in one :class:`~qa_toolkit.AnnotationWarning`.
* ``annotation_id`` is the annotation file (relative to the folder read), ``region_id`` the
  object ``<id>`` (XML) or shape index (JSON); ``occluded``, ``verified`` and ``created_at``
  (``<date>``) are kept when present, ``group_id`` for JSON.
* Files that are byte-identical to another file read (a copied folder) are read, and counted
  in the warning, since a copy would otherwise pass for another annotator.
* ``data.attrs["assignments"]`` lists every (task, annotator, annotation_id) read, including
  files whose every object was deleted or that have none ("saw it, marked nothing").
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, check_option
from qa_toolkit.io._common import (
    Problems,
    as_path,
    boundary,
    finish,
    load_json,
    parse_xml,
    to_float,
)

__all__ = ["read_labelme", "is_labelme_file"]

_COLS = ("task", "annotator", "label", "field", "kind", "annotation_id", "region_id", "points",
         "image_width", "image_height", "created_at", "occluded", "verified", "group_id", "source")
_NO_AREA = ("line", "linestrip", "point", "points")


def is_labelme_file(path: Path, head: bytes | None = None) -> bool:
    """True when ``path`` looks like a LabelMe XML or JSON annotation file."""
    if head is None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(1 << 16)
        except OSError:
            return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        return "<annotation" in text and "<annotations" not in text and (
            "<imagesize" in text or "<polygon" in text or "LabelMe" in text)
    if text.startswith("{"):
        return '"shapes"' in text and ('"imagePath"' in text or '"imageHeight"' in text)
    return False


def _files(source: Any) -> tuple[list[Path], Path]:
    """Annotation files under ``source`` (file, folder or list) and the folder they are relative to."""
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise AnnotationFormatError("read_labelme: 'source' is an empty list; expected files or folders.")
    out: list[Path] = []
    for item in items:
        p = as_path(item, func="read_labelme")
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in (".xml", ".json") and f.is_file())
            out += [f for f in found if is_labelme_file(f)]
        else:
            out.append(p)
    if not out:
        raise AnnotationFormatError(
            f"read_labelme: no LabelMe *.xml or *.json annotation files found in {source}."
        )
    # relative names keep at least the folder holding each file (the annotator folder)
    base = Path(os.path.commonpath([str(f.parent.resolve()) for f in out])).parent
    return out, base


def _collector(rows: list[dict]) -> Callable[..., None]:
    def emit(**row: Any) -> None:
        rows.append(row)

    return emit


def _ring(points: list[tuple[float, float]], shape_type: str) -> list[tuple[float, float]]:
    if shape_type == "rectangle":
        (x0, y0), (x1, y1) = points[0], points[1]
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if shape_type == "circle":
        (cx, cy), (px, py) = points[0], points[1]
        r = math.hypot(px - cx, py - cy)
        return [(cx + r * math.cos(2 * math.pi * k / 64), cy + r * math.sin(2 * math.pi * k / 64)) for k in range(64)]
    return points


def _xml(path: Path, problems: Problems, emit: Callable[..., None], rel: str) -> tuple[str, str | None]:
    root, lines = parse_xml(path)
    if root.tag != "annotation":
        raise AnnotationFormatError(f"{path} is not a LabelMe XML file: expected root <annotation>, got <{root.tag}>.")
    task = (root.findtext("filename") or "").strip() or path.stem
    size = root.find("imagesize")
    width = height = None
    if size is not None:
        width, height = (size.findtext("ncols") or "").strip() or None, (size.findtext("nrows") or "").strip() or None
    user = None
    for oi, obj in enumerate(root.findall("object")):
        where = f"{rel}, <object> #{oi}" + (f" (line {lines[id(obj)]})" if id(obj) in lines else "")
        if (obj.findtext("deleted") or "0").strip() == "1":
            problems.note("deleted object(s) (<deleted>1</deleted>) dropped", where)
            continue
        label = (obj.findtext("name") or "").strip()
        poly = obj.find("polygon")
        if poly is None:
            problems.note("object(s) without <polygon> (e.g. <segm> masks) kept out", where)
            continue
        if not label:
            problems.bad(where, "field 'name' (the label) is empty", kind="object without label")
            continue
        user = user or (poly.findtext("username") or "").strip() or None
        try:
            pts = [(to_float(pt.findtext("x"), what="<pt><x>"), to_float(pt.findtext("y"), what="<pt><y>"))
                   for pt in poly.findall("pt")]
        except ValueError as exc:
            problems.bad(where, f"field 'points': {exc}", kind="invalid polygon")
            continue
        if len(pts) < 3:
            problems.bad(where, f"field 'points': a polygon needs at least 3 <pt>, got {len(pts)}",
                         kind="invalid polygon")
            continue
        emit(task=task, label=label, points=tuple(pts), region_id=(obj.findtext("id") or str(oi)).strip(),
             image_width=width, image_height=height, created_at=(obj.findtext("date") or "").strip() or None,
             occluded=(obj.findtext("occluded") or "").strip() or None,
             verified=(obj.findtext("verified") or "").strip() or None,
             username=(poly.findtext("username") or "").strip() or None)
    return task, user


def _json(path: Path, problems: Problems, emit: Callable[..., None], rel: str) -> tuple[str, None]:
    doc = load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise AnnotationFormatError(f"{path} is not a LabelMe JSON file: expected an object with a 'shapes' list.")
    task = Path(str(doc.get("imagePath") or "").replace("\\", "/")).name or path.stem
    for si, shape in enumerate(doc["shapes"]):
        where = f"{rel}, shapes[{si}]"
        if not isinstance(shape, dict):
            problems.bad(where, f"expected an object, got {type(shape).__name__}")
            continue
        stype = shape.get("shape_type") or "polygon"
        label = str(shape.get("label") or "").strip()
        if stype in _NO_AREA:
            problems.note(f"'{stype}' shape(s) (no area, not a polygon) kept out", where)
            continue
        if not label:
            problems.bad(where, "field 'label' is empty", kind="shape without label")
            continue
        try:
            pts = [(to_float(p[0], what="points x"), to_float(p[1], what="points y")) for p in shape.get("points") or []]
            need = 2 if stype in ("rectangle", "circle") else 3
            if len(pts) < need:
                raise ValueError(f"a {stype} needs at least {need} points, got {len(pts)}")
            pts = _ring(pts, stype)
        except (ValueError, TypeError, IndexError) as exc:
            problems.bad(where, f"field 'points': {exc}", kind="invalid polygon")
            continue
        emit(task=task, label=label, points=tuple(pts), region_id=str(si), image_width=doc.get("imageWidth"),
             image_height=doc.get("imageHeight"), group_id=shape.get("group_id"), username=None)
    return task, None


@boundary("LabelMe")
def read_labelme(source: Any, *, annotator: str | None = None, annotator_from: str = "folder",
                 errors: str = "raise") -> pd.DataFrame:
    """Read LabelMe annotations (Webtool XML or ``labelme`` JSON) into the canonical table.

    Parameters
    ----------
    source : path, folder, or list of paths/folders
        One annotation file, a folder (searched recursively for LabelMe ``*.xml``/``*.json``),
        or a list of them, e.g. one folder per annotator.
    annotator : str, optional
        Name for every shape (one annotator's files).
    annotator_from : {'folder', 'file', 'username'}, default='folder'
        Where the annotator comes from when ``annotator`` is not given: the file's folder
        name, the file stem, or the XML ``<username>`` of the first shape in the file.
    errors : {'raise', 'warn'}, default='raise'
        Bad objects raise :class:`~qa_toolkit.AnnotationFormatError` naming the file and
        object, or are skipped and counted.

    Returns
    -------
    pandas.DataFrame
        Canonical table (see the module docstring) with ``attrs["assignments"]``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "alice"
    >>> d.mkdir()
    >>> xml = ('<annotation><filename>a.jpg</filename><object><name>car</name><deleted>0</deleted>'
    ...        '<id>0</id><polygon><pt><x>1</x><y>1</y></pt><pt><x>5</x><y>1</y></pt>'
    ...        '<pt><x>5</x><y>4</y></pt></polygon></object>'
    ...        '<imagesize><nrows>8</nrows><ncols>8</ncols></imagesize></annotation>')
    >>> _ = (d / "a.xml").write_text(xml)
    >>> read_labelme(d)[["task", "annotator", "label", "kind", "points"]]
        task annotator label     kind                                 points
    0  a.jpg     alice   car  polygon  ((1.0, 1.0), (5.0, 1.0), (5.0, 4.0))
    """
    check_option("annotator_from", annotator_from, ["folder", "file", "username"], func="read_labelme")
    if annotator is not None and (not isinstance(annotator, str) or not annotator.strip()):
        raise AnnotationFormatError(
            f"The 'annotator' parameter of read_labelme must be a non-empty string; got {annotator!r}."
        )
    files, base = _files(source)
    problems = Problems(source if not isinstance(source, (list, tuple)) else base, errors, func="read_labelme")
    cols: dict[str, list] = {c: [] for c in _COLS}
    assignments: list[tuple] = []
    digests: dict[str, str] = {}
    for path in files:
        rel = os.path.relpath(path.resolve(), base)
        digest = hashlib.sha1(path.read_bytes()).hexdigest()  # noqa: S324 - identity of copies, not security
        if digest in digests:
            problems.note("file(s) byte-identical to another file read (copies? each read as its own annotation)",
                          f"{rel} = {digests[digest]}")
        digests.setdefault(digest, rel)
        current: list[dict] = []
        emit = _collector(current)

        try:
            if path.suffix.lower() == ".json":
                task, user = _json(path, problems, emit, rel)
                if annotator is None and annotator_from == "username":
                    raise AnnotationFormatError(
                        f"{path}: LabelMe JSON files hold no user name; pass annotator=... or "
                        "annotator_from='folder' / 'file' to read_labelme."
                    )
            else:
                task, user = _xml(path, problems, emit, rel)
        except AnnotationFormatError as exc:
            if errors == "raise":
                raise
            problems.bad(rel, str(exc), kind="unreadable file")
            continue
        if annotator is not None:
            who = annotator
        elif annotator_from == "folder":
            who = path.parent.name or path.parent.resolve().name
        elif annotator_from == "file":
            who = path.stem
        else:
            who = user
            if who is None and current:
                problems.bad(rel, "annotator_from='username' but no <polygon><username> in the file",
                             kind="file without username")
                continue
        if who is None:  # username mode, file without shapes: nobody to assign
            problems.note("file(s) without shapes or username (no assignment recorded)", rel)
            continue
        assignments.append((task, who, rel))
        for row in current:
            row.pop("username", None)
            row.update(annotator=who, field="polygon", kind="polygon", annotation_id=rel, source=path.name)
            for c, lst in cols.items():
                lst.append(row.get(c))
    return finish(cols, problems, assignments=[dict(zip(("task", "annotator", "annotation_id"), a))
                                               for a in assignments])
