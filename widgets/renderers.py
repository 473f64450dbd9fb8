"""Render one review item: image with every annotator's boxes, text with spans, plain fields.

The heavy parts are pure functions returning PNG bytes or an HTML string (tested
without a browser); :func:`render_item` wraps them into stock ipywidgets.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PALETTE",
    "annotator_colors",
    "boxes_png",
    "fields_html",
    "labels_html",
    "render_item",
    "spans_html",
]

#: Colour-blind-safe qualitative palette (Okabe-Ito, then tab10) for annotators.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_BOX = ["x_min", "y_min", "x_max", "y_max"]


def annotator_colors(annotators) -> dict:
    """A stable colour per annotator (sorted by their string form).

    Examples
    --------
    >>> annotator_colors(["b", "a"])
    {'a': '#E69F00', 'b': '#56B4E9'}
    """
    names = sorted(set(annotators), key=str)
    return {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(names)}


def _esc(value: Any) -> str:
    return html.escape(str(value))


def boxes_png(image: Any, rows: pd.DataFrame, *, colors: Mapping | None = None, max_side: int = 512,
              highlight: tuple = (), data_root: Any = None, image_format: str = "png") -> bytes:
    """Draw every annotator's boxes, polygons and keypoints on ``image``; return PNG bytes.

    Parameters
    ----------
    image : path, URL, numpy.ndarray, PIL.Image.Image or None
        A path or an export's image URL is looked up as is and under ``data_root``
        (:func:`qa_toolkit.widgets._images.find_image`); when it does not resolve (or is
        None) a hatched placeholder sized by ``image_width``/``image_height`` or the regions
        is drawn, with "image not found" and the file name written on it.
    rows : pandas.DataFrame
        Annotation rows with ``annotator``, ``label`` and geometry in pixels
        (``x_min, y_min, x_max, y_max`` [+ ``rotation``], ``points`` or ``keypoints``).
    colors : mapping, optional
        annotator -> colour; default :func:`annotator_colors`.
    max_side : int, default=512
        The picture is scaled down so that its longer side is at most this.
    highlight : tuple of int, optional
        Positions in ``rows`` of the unit on review: drawn bold with a black outline and
        captioned; the other regions are drawn thin.
    data_root : path, optional
        Folder the export's image paths resolve under.
    image_format : {'png', 'jpeg'}, default='png'
        Encoding of the bytes returned ('jpeg' is ~15x faster for large photos).
    """
    from PIL import ImageDraw

    from ._images import draw_regions, open_image

    img, scale, message = open_image(image, rows, data_root=data_root, max_side=max_side)
    colors = dict(colors or annotator_colors(rows["annotator"].tolist()))
    draw_regions(img, rows, scale=scale, colors=colors, highlight=tuple(highlight))
    if message:
        d = ImageDraw.Draw(img)
        d.rectangle([0, 0, img.width, 16], fill=(60, 60, 60))
        d.text((4, 2), message, fill=(255, 255, 255))
    buf = io.BytesIO()
    if image_format == "jpeg":
        img.save(buf, format="JPEG", quality=92)
    else:
        img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def spans_html(text: str, rows: pd.DataFrame, *, colors: Mapping | None = None, highlight: tuple = ()) -> str:
    """``text`` as HTML with each annotator's ``start``/``end`` spans underlined in their colour.

    Overlapping spans stack their underlines; the title attribute names who marked what.
    The characters of the rows at positions ``highlight`` (the unit on review) get a yellow
    background and the class ``qa-current``.

    Examples
    --------
    >>> rows = pd.DataFrame({"annotator": ["a"], "label": ["PER"], "start": [0], "end": [3]})
    >>> spans_html("Ada wrote", rows)
    '<div class="qa-text" style="line-height:2"><span style="border-bottom:3px solid #E69F00;padding-bottom:0px" title="a: PER">Ada</span> wrote</div>'
    """
    colors = dict(colors or annotator_colors(rows["annotator"].tolist()))
    n = len(text)
    marks: list[list[tuple]] = [[] for _ in range(n)]
    current = np.zeros(n, dtype=bool)
    hl = set(highlight)
    if {"start", "end"} <= set(rows.columns):
        for j, (a, lab, s, e) in enumerate(zip(rows["annotator"].tolist(), rows["label"].tolist(),
                                               rows["start"].tolist(), rows["end"].tolist())):
            if pd.isna(s) or pd.isna(e):
                continue
            lo, hi = max(0, int(s)), min(n, int(e))
            for i in range(lo, hi):
                marks[i].append((a, lab))
            if j in hl:
                current[lo:hi] = True
    out, i = [], 0
    while i < n:
        j = i
        while j < n and marks[j] == marks[i] and current[j] == current[i]:
            j += 1
        chunk = _esc(text[i:j])
        if marks[i]:
            style = ";".join(f"border-bottom:3px solid {colors.get(a, '#000')};padding-bottom:{2 * k}px"
                             for k, (a, _) in enumerate(marks[i][:1]))
            title = _esc(", ".join(f"{a}: {lab}" for a, lab in marks[i]))
            shadow = "".join(f",0 {3 * (k + 2)}px 0 {colors.get(a, '#000')}" for k, (a, _) in enumerate(marks[i][1:]))
            if shadow:
                style += f";box-shadow:{shadow[1:]}"
            if current[i]:
                style += ";background:#fff3a0;font-weight:bold"
            cls = ' class="qa-current"' if current[i] else ""
            chunk = f'<span{cls} style="{style}" title="{title}">{chunk}</span>'
        out.append(chunk)
        i = j
    return '<div class="qa-text" style="line-height:2">' + "".join(out) + "</div>"


def fields_html(fields: Mapping) -> str:
    """A two-column HTML table of ``fields`` (name, value), values escaped.

    Examples
    --------
    >>> fields_html({"priority": 0.9})
    '<table class="qa-fields"><tr><th style="text-align:left">priority</th><td>0.9</td></tr></table>'
    """
    body = "".join(f'<tr><th style="text-align:left">{_esc(k)}</th><td>{_esc(v)}</td></tr>' for k, v in fields.items())
    return f'<table class="qa-fields">{body}</table>'


def labels_html(labels: Mapping, *, consensus: Any = None, agreement: float = float("nan"),
                suggestion: Any = None, reasons: str = "", colors: Mapping | None = None) -> str:
    """The labels each annotator gave side by side, agreement, suggestion and queue reasons."""
    colors = dict(colors or annotator_colors(list(labels)))
    cells = "".join(
        f'<td style="padding:2px 8px;border-top:3px solid {colors.get(a, "#000")}">'
        f"<small>{_esc(a)}</small><br><b>{_esc(lab)}</b></td>" for a, lab in labels.items())
    if labels:  # count annotators, never rows: "2 of 3 annotators" (one shown <absent> counts)
        n_same = sum(str(lab) == str(consensus) for lab in labels.values())
        support = f"{n_same} of {len(labels)} annotators"
    else:
        support = "agreement n/a" if agreement != agreement else f"agreement {agreement:.0%}"
    parts = [f'<table class="qa-labels"><tr>{cells}</tr></table>',
             f"<div>consensus: <b>{_esc(consensus)}</b> ({support})</div>"]
    if suggestion is not None and not (isinstance(suggestion, float) and np.isnan(suggestion)):
        parts.append(f'<div>model suggests: <b class="qa-suggestion">{_esc(suggestion)}</b></div>')
    if reasons:
        parts.append(f'<div>why queued: <i class="qa-reasons">{_esc(reasons)}</i></div>')
    return "".join(parts)


def _pixels(value: Any) -> int:
    """Pixel count of an array / PIL image; for a path or URL assume a photo (large)."""
    if isinstance(value, np.ndarray):
        return int(value.shape[0] * value.shape[1]) if value.ndim >= 2 else 0
    size = getattr(value, "size", None)
    if isinstance(size, tuple) and len(size) == 2:
        return int(size[0] * size[1])
    return 1 << 30


def render_item(item, *, content: Mapping | Callable | None = None, renderer: str = "auto",
                colors: Mapping | None = None, data_root: Any = None, task_data: Mapping | None = None,
                max_side: int = 512):
    """A widget showing ``item`` (a :class:`qa_toolkit.widgets._queue.ReviewItem`).

    ``content`` maps (or is a function of) the task to its image (path / array) or text;
    without it the task data the importer kept (``task_data``) gives the image URL or text.
    ``renderer`` is 'auto', 'image', 'text' or 'fields'; 'auto' picks 'image' for box,
    polygon and keypoint fields and image content, 'text' for spans and text content. The
    unit on review (``item.members``) is highlighted; the whole image or text is shown.
    """
    import ipywidgets as W

    from ._images import is_image_ref, task_value

    value = task_value(item.task, content=content, task_data=task_data)
    rows = item.rows
    kind = renderer
    if kind == "auto":
        has_geo = (all(c in rows.columns for c in _BOX) and rows[_BOX].notna().all(axis=1).any()) or \
            item.kind in ("box", "polygon", "keypoints")
        if item.kind == "span" or (isinstance(value, str) and not has_geo and not is_image_ref(value)):
            kind = "text"
        elif has_geo or value is not None:
            kind = "image"
        else:
            kind = "fields"
    if kind == "image":
        # photos larger than 256 x 256 go as JPEG (a 500 x 400 PNG costs ~90 ms to encode)
        fmt = "jpeg" if value is not None and _pixels(value) > 256 * 256 else "png"
        data = boxes_png(value, rows, colors=colors, highlight=item.members, data_root=data_root,
                         max_side=max_side, image_format=fmt)
        return W.Image(value=data, format=fmt, layout=W.Layout(max_width=f"{max_side + 8}px"))
    if kind == "text":
        return W.HTML(spans_html("" if value is None else str(value), rows, colors=colors, highlight=item.members))
    fields = {"task": item.task, **({"field": item.field} if item.field is not None else {}),
              **({"unit": item.unit} if item.unit is not None else {}), **item.extra}
    return W.HTML(fields_html(fields))
