"""What a queue row is about: a text snippet or an image thumbnail next to the task id.

The item comes from the task data an importer keeps (``data.attrs['task_data']``: Label
Studio ``data``, e.g. ``text`` or ``image``) or, for flat tables, from a ``text`` /
``image`` column. An image is shown as a small inline thumbnail when its path resolves
to a local file (relative to ``data_root``, else to the input's folder); otherwise its
name is shown as a link.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["item_lookup", "item_preview", "table_with_items"]

_TEXT_KEYS = ("text", "sentence", "content", "question", "prompt", "html", "title")
_IMAGE_KEYS = ("image", "img", "image_url", "image_path", "url", "file_name", "path")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")


def item_lookup(data: pd.DataFrame) -> dict:
    """``{task: {key: value}}`` of the item behind each task (may be empty)."""
    found = data.attrs.get("task_data") if hasattr(data, "attrs") else None
    if isinstance(found, dict) and found:
        return found
    cols = [c for c in (*_TEXT_KEYS, *_IMAGE_KEYS) if c in data.columns]
    if not cols or "task" not in data.columns:
        return {}
    first = data[["task", *cols]].drop_duplicates("task").set_index("task")
    return {t: row.dropna().to_dict() for t, row in first.iterrows()}


def _thumbnail(path: Path, *, size: int = 96) -> str | None:
    try:
        from PIL import Image

        with Image.open(path) as im:
            im.thumbnail((size, size))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format="JPEG", quality=70)
    except Exception:  # an unreadable or non-image file: fall back to the link
        return None
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _resolve(ref: str, roots: list[Path]) -> Path | None:
    ref = ref.split("?", 1)[0]
    if ref.startswith(("http://", "https://", "s3://", "gs://")):
        return None
    ref = ref.replace("file://", "", 1)
    rel = ref.lstrip("/")
    candidates = [Path(ref)] + [root / rel for root in roots] + [root / Path(rel).name for root in roots]
    return next((c for c in candidates if c.is_file()), None)


def _span_snippet(text: str, start: int, end: int, context: int = 60) -> str:
    lo, hi = max(0, start - context), min(len(text), end + context)
    before, span, after = text[lo:start], text[start:end], text[end:hi]
    pre = " ".join(before.split()) + (" " if before[-1:].isspace() else "")
    post = (" " if after[:1].isspace() else "") + " ".join(after.split())
    return (("…" if lo > 0 else "") + html.escape(pre) + f"<mark>{html.escape(span)}</mark>" + html.escape(post)
            + ("…" if hi < len(text) else ""))


def item_preview(info: Any, *, roots: list[Path] | None = None, max_chars: int = 120,
                 span: tuple[int, int] | None = None) -> str:
    """HTML for one item: an image thumbnail, an image link, or an escaped text snippet.

    Examples
    --------
    >>> item_preview({"text": "A deputy sheriff was killed " * 2}, max_chars=30)
    "<span title='A deputy sheriff was killed A deputy sheriff was killed'>A deputy sheriff was killed A…</span>"
    >>> item_preview({"text": "Shots fired at the deputy."}, span=(12, 18))
    'Shots fired <mark>at the</mark> deputy.'
    >>> item_preview({"image": "/data/upload/cat.jpg"}, roots=[])
    "<a href='/data/upload/cat.jpg'>cat.jpg</a> <span class='qa-note'>(not found locally)</span>"
    """
    if not isinstance(info, dict) or not info:
        return ""
    roots = list(roots or [])
    for key in _IMAGE_KEYS:
        ref = info.get(key)
        if isinstance(ref, str) and (key.startswith("image") or key == "img" or ref.lower().endswith(_IMAGE_SUFFIXES)):
            path = _resolve(ref, roots)
            if path is not None:
                thumb = _thumbnail(path)
                if thumb is not None:
                    return (f"<img class='qa-thumb' alt='{html.escape(path.name)}' "
                            f"src='data:image/jpeg;base64,{thumb}'/>{html.escape(path.name)}")
            name = html.escape(ref.rsplit("/", 1)[-1])
            return f"<a href='{html.escape(ref)}'>{name}</a> <span class='qa-note'>(not found locally)</span>"
    for key in _TEXT_KEYS:
        text = info.get(key)
        if isinstance(text, str) and span is not None and 0 <= span[0] <= span[1] <= len(text):
            return _span_snippet(text, int(span[0]), int(span[1]))
        if isinstance(text, str) and text.strip():
            flat = " ".join(text.split())
            short = flat if len(flat) <= max_chars else flat[:max_chars].rstrip() + "…"
            full = flat if len(flat) <= 4 * max_chars else flat[:4 * max_chars] + "…"
            return f"<span title='{html.escape(full)}'>{html.escape(short)}</span>"
    return ""


def table_with_items(table: pd.DataFrame, items: dict, *, roots: list[Path] | None = None, max_rows: int = 50,
                     task_col: str = "task", float_format: str = "{:.4g}") -> str:
    """A queue table as HTML with an ``item`` column (snippet or thumbnail) next to the task id."""
    shown = table.head(max_rows).copy()
    as_column = task_col in shown.columns
    if not as_column:
        shown = shown.reset_index()
    if "tie" in shown.columns:  # ties are stated as ties, next to the suggestion they leave open
        for col in ("suggested_value", "majority_label", "majority_vote"):
            if col in shown.columns:
                tie = shown["tie"].fillna(False).astype(bool)
                shown[col] = shown[col].astype(object).where(~tie, shown[col].astype(str) + " (tie)")
    tasks = shown[task_col] if task_col in shown.columns else pd.Series([], dtype=object)
    fmt = {"classes": "qa-table", "border": 0, "escape": True, "index": False,
           "float_format": lambda v: float_format.format(v)}
    if not items or not any(t in items for t in tasks):
        body = shown.to_html(**fmt)
    else:
        tokens = [f"@@ITEM{i}@@" for i in range(len(shown))]
        frame = shown.copy()
        pos = list(frame.columns).index(task_col) + 1
        frame.insert(pos, "item", tokens)
        if "reasons" in frame.columns:  # why it is queued, right next to what it is
            frame.insert(pos + 1, "reasons", frame.pop("reasons"))
        body = frame.to_html(**fmt)
        starts = shown["start"] if "start" in shown.columns else pd.Series([None] * len(shown))
        ends = shown["end"] if "end" in shown.columns else pd.Series([None] * len(shown))
        for token, task, a, b in zip(tokens, tasks, starts, ends):
            span = (int(a), int(b)) if pd.notna(a) and pd.notna(b) else None
            cell = item_preview(items.get(task), roots=roots, span=span)
            body = body.replace(f"<td>{token}</td>", f"<td class='qa-item'>{cell}</td>", 1)
    note = (f"<p class='qa-note'>Showing {max_rows} of {len(table):,} rows; the CSV has all.</p>"
            if len(table) > max_rows else "")
    return f"<div class='qa-scroll'>{body}</div>{note}"
