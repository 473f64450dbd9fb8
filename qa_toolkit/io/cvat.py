"""CVAT for images / for video XML 1.1 reader.

Policies:

* ``task`` is the image ``name`` (file name; stable across tools, so the same image in a
  Label Studio export matches), prefixed ``'<subset>/'`` when a project export has
  several subsets; ``image_id`` keeps CVAT's frame id. Video tracks are
  imported per frame: ``task`` is ``'frame_<n>'``, ``track_id`` and ``frame`` are kept, and
  shapes with ``outside="1"`` (the object left the view) are not labels.
* ``annotator``: the ``annotator=`` argument, else the job/task ``<assignee>`` username,
  else its ``<owner>`` username, else ``'unknown'`` (counted in a warning). In a project
  export each image's ``task_id`` picks its task's assignee/owner. CVAT stores no
  per-shape annotator.
* ``<box>`` → ``x_min..y_max`` pixels; ``<polygon>``, ``<polyline>``, ``<points>`` →
  ``points`` (list of ``(x, y)`` pixel pairs) with ``shape`` naming which; ``<tag>`` →
  an image-level label; ``<mask>``/``<skeleton>``/``<ellipse>``/``<cuboid>`` rows keep
  the label without geometry. ``image_width``/``image_height`` come from the image (or
  ``original_size`` for video) so out-of-image boxes are caught.
* ``field`` is the shape type and ``kind`` follows it: ``box`` → box (``rotation`` in
  degrees; CVAT rotates about the box centre, the reader converts to the top-left
  convention of docs/DATA_MODEL.md), ``polygon`` → polygon, ``polyline`` → polygon (an
  open path of at least 2 points), ``points`` → keypoints, ``tag`` → categorical
  (multilabel when an image has several tags from one annotator); shapes without
  geometry (mask, skeleton, ellipse, cuboid) are categorical.
* ``attrs["assignments"]``: every image of the file for its annotator, shapes or not
  (an image without shapes was seen and left empty); for video, every frame a track
  records (``outside=1`` frames included).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from qa_toolkit.io._common import PathLike, Problems, as_path, boundary, finish, parse_xml, to_float

__all__ = ["read_cvat"]

_COLS = ("task", "annotator", "label", "x_min", "y_min", "x_max", "y_max", "points", "image_width",
         "image_height", "source", "shape", "image_id", "frame", "track_id", "occluded", "cvat_source",
         "z_order", "rotation", "field", "kind", "region_id", "_loc")
_KIND = {"box": "box", "polygon": "polygon", "polyline": "polygon", "points": "keypoints", "tag": "categorical"}
_SHAPES = ("box", "polygon", "polyline", "points", "tag", "mask", "skeleton", "ellipse", "cuboid")


def _user(el: Any) -> str | None:
    if el is None:
        return None
    name = (el.findtext("username") or el.text or "").strip()
    return name or None


def _who(task_el: Any) -> str | None:
    if task_el is None:
        return None
    return _user(task_el.find("assignee")) or _user(task_el.find("owner"))


def _points(s: str) -> tuple[tuple[float, float], ...]:
    pts = []
    for pair in s.split(";"):
        xy = pair.split(",")
        if len(xy) != 2:
            raise ValueError(f"attribute 'points' must be 'x,y;x,y;...', got {s[:40]!r}")
        pts.append((to_float(xy[0], what="attribute 'points'"), to_float(xy[1], what="attribute 'points'")))
    return tuple(pts)


def centre_to_corner(x_min: float, y_min: float, x_max: float, y_max: float,
                     rotation: float) -> tuple[float, float, float, float]:
    """CVAT's box rotated about its centre → the same shape rotated about (x_min, y_min).

    Both rotate clockwise in image coordinates (y down) by ``rotation`` degrees. The shape's
    centre is ``c = p0 + R (w/2, h/2)`` for the top-left convention, so ``p0 = c - R (w/2, h/2)``.

    Examples
    --------
    >>> [round(v, 6) for v in centre_to_corner(0, 0, 2, 2, 90)]
    [2.0, 0.0, 4.0, 2.0]
    """
    w, h = x_max - x_min, y_max - y_min
    cx, cy = (x_min + x_max) / 2, (y_min + y_max) / 2
    c, s = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    x0 = cx - (w / 2 * c - h / 2 * s)
    y0 = cy - (w / 2 * s + h / 2 * c)
    return x0 + 0.0, y0 + 0.0, x0 + w, y0 + h


@boundary("CVAT XML")
def read_cvat(source: PathLike, *, errors: str = "raise", annotator: str | None = None,
              kinds: dict[str, str] | None = None, duplicates: str = "warn") -> pd.DataFrame:
    """Read a CVAT XML 1.1 export (for images, or per frame for video tracks).

    Parameters
    ----------
    source : str or path-like
        ``annotations.xml`` from a CVAT task, job or project export.
    errors : {'raise', 'warn'}, default='raise'
        Bad shapes raise :class:`~qa_toolkit.AnnotationFormatError` naming the file,
        image and element, or are skipped and counted.
    annotator : str, optional
        Name for every shape (use it for one-file-per-annotator job exports).
    kinds : dict of {field: kind}, optional
        Override the kinds of the shape types.
    duplicates : {'warn', 'raise'}, default='warn'
        Exact duplicate shapes: keep one and count them, or raise.

    Returns
    -------
    pandas.DataFrame
        Canonical table; see the module docstring.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> xml = ('<annotations><version>1.1</version><image id="0" name="a.jpg" width="10" height="10">'
    ...        '<box label="cat" xtl="1" ytl="2" xbr="5" ybr="6"/></image></annotations>')
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "annotations.xml"
    >>> _ = p.write_text(xml)
    >>> read_cvat(p, annotator="ann1")[["task", "annotator", "label", "x_min", "y_max"]]
        task annotator label  x_min  y_max
    0  a.jpg      ann1   cat    1.0    6.0
    """
    path = as_path(source, func="read_cvat")
    problems = Problems(path, errors, func="read_cvat")
    root, lines = parse_xml(path)
    from qa_toolkit._validation import AnnotationFormatError

    if root.tag != "annotations":
        raise AnnotationFormatError(
            f"{path} is not a CVAT XML export: expected root element <annotations>, got <{root.tag}>."
        )
    meta = root.find("meta")
    default = None
    by_task: dict[str, str] = {}
    size = (None, None)
    if meta is not None:
        for tag in ("job", "task", "project"):
            el = meta.find(tag)
            if el is not None:
                default = default or _who(el)
                osz = el.find("original_size")
                if osz is not None:
                    size = (osz.findtext("width"), osz.findtext("height"))
        for t in meta.iter("task"):
            who = _who(t)
            if t.findtext("id") and who:
                by_task[t.findtext("id").strip()] = who
    cols: dict[str, list] = {c: [] for c in _COLS}
    name = path.name
    unknown = 0

    def add(row: dict[str, Any], el: Any, where: str) -> None:
        nonlocal unknown
        if id(el) in lines:
            where = f"{where} (line {lines[id(el)]})"
        tag = el.tag
        label = el.get("label")
        if not label:
            problems.bad(where, f"<{tag}> has no 'label' attribute (or it is empty)", kind="shape without label")
            return
        try:
            geo: dict[str, Any] = {}
            if tag == "box":
                geo = {k: to_float(el.get(a), what=f"attribute {a!r}")
                       for k, a in (("x_min", "xtl"), ("y_min", "ytl"), ("x_max", "xbr"), ("y_max", "ybr"))}
                rot = to_float(el.get("rotation") or 0.0, what="attribute 'rotation'")
                if rot:
                    box = centre_to_corner(geo["x_min"], geo["y_min"], geo["x_max"], geo["y_max"], rot)
                    geo.update(zip(("x_min", "y_min", "x_max", "y_max"), box))
                geo["rotation"] = rot
            elif tag in ("polygon", "polyline", "points"):
                geo = {"points": _points(el.get("points") or "")}
        except (ValueError, TypeError) as exc:
            problems.bad(where, f"<{tag} label={label!r}>: {exc}")
            return
        if row["annotator"] is None:
            unknown += 1
            row["annotator"] = "unknown"
        row.update(geo, label=label, shape=tag, occluded=el.get("occluded"), cvat_source=el.get("source"),
                   z_order=el.get("z_order"), source=name, field=tag, kind=_KIND.get(tag, "categorical"),
                   _loc=f"<{tag}> #{where.rsplit('#', 1)[-1]}")
        for c, lst in cols.items():
            lst.append(row.get(c))

    assignments: list[dict[str, Any]] = []
    images = root.findall("image")
    tracks = root.findall("track")
    subsets = {img.get("subset") for img in images}
    for ii, img in enumerate(images):
        iname = img.get("name") or img.get("id")
        if len(subsets) > 1 and iname is not None:
            iname = f"{img.get('subset')}/{iname}"
        if iname is None:
            problems.bad(f"<image> #{ii}", "has neither 'name' nor 'id'")
            continue
        who = annotator or by_task.get(img.get("task_id") or "") or default
        assignments.append({"task": iname, "annotator": who or "unknown", "annotation_id": None})
        for si, el in enumerate(img):
            if el.tag not in _SHAPES:
                continue
            row = {"task": iname, "annotator": who, "image_id": img.get("id"), "region_id": si,
                   "image_width": img.get("width"), "image_height": img.get("height")}
            add(row, el, f"image {iname!r}, <{el.tag}> #{si}")
    for tr in tracks:
        for si, el in enumerate(tr):
            if el.tag not in _SHAPES:
                continue
            frame = el.get("frame")
            assignments.append({"task": f"frame_{frame}", "annotator": annotator or default or "unknown",
                                "annotation_id": None})
            if el.get("outside") == "1":
                problems.note("track frame(s) with outside=1 kept out")
                continue
            row = {"task": f"frame_{frame}", "annotator": annotator or default, "frame": frame,
                   "track_id": tr.get("id"), "image_width": size[0], "image_height": size[1]}
            el.set("label", tr.get("label") or "")
            add(row, el, f"track id {tr.get('id')!r}, <{el.tag}> #{si} (frame {frame})")
    if not images and not tracks:
        raise AnnotationFormatError(f"{path} is not a CVAT XML export: no <image> or <track> elements found.")
    if unknown:
        problems.note("shape(s) with no annotator (no annotator=, assignee or owner) labelled 'unknown'")
    return finish(cols, problems, kinds=kinds, assignments=assignments, duplicates=duplicates)
