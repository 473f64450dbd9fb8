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


def boxes_png(image: Any, rows: pd.DataFrame, *, colors: Mapping | None = None, max_side: int = 512) -> bytes:
    """Draw every annotator's boxes on ``image`` in their colour; return PNG bytes.

    Parameters
    ----------
    image : path, numpy.ndarray, PIL.Image.Image or None
        None draws on a grey canvas sized by ``image_width``/``image_height`` or the boxes.
    rows : pandas.DataFrame
        Annotation rows with ``annotator``, ``label`` and ``x_min, y_min, x_max, y_max`` (pixels).
    colors : mapping, optional
        annotator -> colour; default :func:`annotator_colors`.
    max_side : int, default=512
        The picture is scaled down so that its longer side is at most this.
    """
    from PIL import Image, ImageDraw

    if image is None:
        w = h = None
        if "image_width" in rows.columns and rows["image_width"].notna().any():
            w, h = int(rows["image_width"].max()), int(rows["image_height"].max())
        if not w and all(c in rows.columns for c in _BOX) and rows[_BOX].notna().any().all():
            w, h = int(np.nanmax(rows["x_max"])) + 10, int(np.nanmax(rows["y_max"])) + 10
        img = Image.new("RGB", (w or 256, h or 256), (235, 235, 235))
    elif isinstance(image, Image.Image):
        img = image.convert("RGB")
    elif isinstance(image, np.ndarray):
        arr = image if image.dtype == np.uint8 else np.clip(image * (255 if image.max() <= 1 else 1), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr).convert("RGB")
    else:
        img = Image.open(image).convert("RGB")
    scale = min(1.0, max_side / max(img.size))
    if scale < 1.0:
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
    elif max(img.size) < 128:  # tiny images (CIFAR): enlarge so boxes are visible
        k = 128 // max(img.size)
        img, scale = img.resize((img.width * k, img.height * k), Image.NEAREST), float(k)
    colors = dict(colors or annotator_colors(rows["annotator"].tolist()))
    draw = ImageDraw.Draw(img)
    order = {a: k for k, a in enumerate(sorted(colors, key=str))}
    if all(c in rows.columns for c in _BOX):
        for a, lab, x0, y0, x1, y1 in zip(rows["annotator"].tolist(), rows["label"].tolist(),
                                         *(rows[c].to_numpy(dtype=float) for c in _BOX)):
            if np.isnan([x0, y0, x1, y1]).any():
                continue
            c = colors.get(a, "#000000")
            box = [x0 * scale, y0 * scale, x1 * scale, y1 * scale]
            draw.rectangle(box, outline=c, width=2)
            # captions stacked by annotator so that overlapping boxes keep readable captions
            draw.text((box[0] + 2, box[1] + 1 + 11 * (order.get(a, 0) % 4)), f"{a}: {lab}", fill=c)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def spans_html(text: str, rows: pd.DataFrame, *, colors: Mapping | None = None) -> str:
    """``text`` as HTML with each annotator's ``start``/``end`` spans underlined in their colour.

    Overlapping spans stack their underlines; the title attribute names who marked what.

    Examples
    --------
    >>> rows = pd.DataFrame({"annotator": ["a"], "label": ["PER"], "start": [0], "end": [3]})
    >>> spans_html("Ada wrote", rows)
    '<div class="qa-text" style="line-height:2"><span style="border-bottom:3px solid #E69F00;padding-bottom:0px" title="a: PER">Ada</span> wrote</div>'
    """
    colors = dict(colors or annotator_colors(rows["annotator"].tolist()))
    n = len(text)
    marks: list[list[tuple]] = [[] for _ in range(n)]
    if {"start", "end"} <= set(rows.columns):
        for a, lab, s, e in zip(rows["annotator"].tolist(), rows["label"].tolist(),
                                rows["start"].tolist(), rows["end"].tolist()):
            if pd.isna(s) or pd.isna(e):
                continue
            for i in range(max(0, int(s)), min(n, int(e))):
                marks[i].append((a, lab))
    out, i = [], 0
    while i < n:
        j = i
        while j < n and marks[j] == marks[i]:
            j += 1
        chunk = _esc(text[i:j])
        if marks[i]:
            style = ";".join(f"border-bottom:3px solid {colors.get(a, '#000')};padding-bottom:{2 * k}px"
                             for k, (a, _) in enumerate(marks[i][:1]))
            title = _esc(", ".join(f"{a}: {lab}" for a, lab in marks[i]))
            shadow = "".join(f",0 {3 * (k + 2)}px 0 {colors.get(a, '#000')}" for k, (a, _) in enumerate(marks[i][1:]))
            if shadow:
                style += f";box-shadow:{shadow[1:]}"
            chunk = f'<span style="{style}" title="{title}">{chunk}</span>'
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
    agree = "n/a" if agreement != agreement else f"{agreement:.0%}"
    parts = [f'<table class="qa-labels"><tr>{cells}</tr></table>',
             f"<div>consensus: <b>{_esc(consensus)}</b> (agreement {agree})</div>"]
    if suggestion is not None and not (isinstance(suggestion, float) and np.isnan(suggestion)):
        parts.append(f'<div>model suggests: <b class="qa-suggestion">{_esc(suggestion)}</b></div>')
    if reasons:
        parts.append(f'<div>why queued: <i class="qa-reasons">{_esc(reasons)}</i></div>')
    return "".join(parts)


def render_item(item, *, content: Mapping | Callable | None = None, renderer: str = "auto",
                colors: Mapping | None = None):
    """A widget showing ``item`` (a :class:`qa_toolkit.widgets._queue.ReviewItem`).

    ``content`` maps (or is a function of) the task to its image (path / array) or text.
    ``renderer`` is 'auto', 'image', 'text' or 'fields'; 'auto' picks 'image' when the rows
    have boxes or the content is not a string, 'text' when the content is a string.
    """
    import ipywidgets as W

    value = None
    if callable(content):
        value = content(item.task)
    elif content is not None:
        value = content.get(item.task)
    rows = item.rows
    kind = renderer
    if kind == "auto":
        has_boxes = all(c in rows.columns for c in _BOX) and rows[_BOX].notna().all(axis=1).any()
        if isinstance(value, str) and not has_boxes and not value.lower().endswith((".png", ".jpg", ".jpeg")):
            kind = "text"
        elif has_boxes or value is not None:
            kind = "image"
        else:
            kind = "fields"
    if kind == "image":
        return W.Image(value=boxes_png(value, rows, colors=colors), format="png",
                       layout=W.Layout(max_width="520px"))
    if kind == "text":
        return W.HTML(spans_html("" if value is None else str(value), rows, colors=colors))
    fields = {"task": item.task, **item.extra}
    return W.HTML(fields_html(fields))
