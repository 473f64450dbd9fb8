"""Find a task's image or text, and draw every annotator's regions with one unit highlighted.

Images come from ``content`` (task -> path / array / PIL image / text) or from the task data
an importer kept (``attrs["task_data"]``: Label Studio ``image`` URLs, COCO/CVAT file
names), resolved under ``data_root``. An image that does not resolve is drawn as a clear
placeholder (grey canvas, "image not found" and the name looked for), never silently.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

__all__ = ["IMAGE_EXTENSIONS", "draw_regions", "find_image", "task_value"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
_BOX = ["x_min", "y_min", "x_max", "y_max"]


def task_value(task: Any, *, content: Mapping | Callable | None, task_data: Mapping | None) -> Any:
    """The task's content: ``content[task]`` (or ``content(task)``), else its task data's image / text."""
    if callable(content):
        return content(task)
    if content is not None and task in content:
        return content[task]
    data = (task_data or {}).get(task)
    if not isinstance(data, Mapping):
        return None
    for key in ("image", "img", "image_url", "file_name", "url"):
        if isinstance(data.get(key), str):
            return data[key]
    for v in data.values():
        if isinstance(v, str) and v.lower().split("?")[0].endswith(IMAGE_EXTENSIONS):
            return v
    for key in ("text", "html", "dialogue"):
        if isinstance(data.get(key), str):
            return data[key]
    return None


def is_image_ref(value: Any) -> bool:
    """True for arrays, PIL images and strings naming an image file or URL."""
    if isinstance(value, np.ndarray) or type(value).__name__ in ("Image", "PngImageFile", "JpegImageFile"):
        return True
    return isinstance(value, (str, os.PathLike)) and str(value).lower().split("?")[0].endswith(IMAGE_EXTENSIONS)


def find_image(ref: str | os.PathLike, data_root: str | os.PathLike | None) -> Path | None:
    """The local file an export's image reference points to, or None.

    Tries the path itself, then under ``data_root``: the path without URL scheme/host, its
    Label Studio ``?d=`` local-files part, every trailing part of it and the bare file name.
    """
    s = unquote(str(ref))
    cands = [Path(s)]
    if data_root is not None:
        root = Path(data_root)
        parsed = urlparse(s)
        path = parsed.path
        if "d=" in parsed.query:  # /data/local-files/?d=folder/img.jpg
            path = parsed.query.split("d=", 1)[1]
        parts = [p for p in path.split("/") if p]
        cands += [root.joinpath(*parts[i:]) for i in range(len(parts))]
        name = parts[-1] if parts else s
        if "-" in name:  # Label Studio uploads prefix a hash: 'a1b2c3d4-cat.jpg'
            cands.append(root / name.split("-", 1)[1])
    for c in cands:
        try:
            if c.is_file():
                return c
        except OSError:
            continue
    return None


@functools.lru_cache(maxsize=16)
def _load(path: str, mtime: float, max_side: int):
    from PIL import Image

    img = Image.open(path).convert("RGB")
    scale = min(1.0, max_side / max(img.size))
    if scale < 1.0:
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
    return img, scale


def open_image(ref: Any, rows: pd.DataFrame, *, data_root: Any, max_side: int):
    """(PIL image, scale, message): the picture to draw on, or a placeholder canvas and why."""
    from PIL import Image, ImageDraw

    message = ""
    if isinstance(ref, np.ndarray):
        arr = ref if ref.dtype == np.uint8 else np.clip(ref * (255 if ref.max() <= 1 else 1), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr).convert("RGB")
    elif isinstance(ref, Image.Image):
        img = ref.convert("RGB")
    elif ref is not None:
        path = find_image(ref, data_root)
        if path is not None:
            img, scale = _load(str(path), path.stat().st_mtime, max_side)
            return img.copy(), scale, ""
        message = f"image not found: {Path(unquote(str(ref))).name}" + ("" if data_root else " (no data_root=)")
        img = None
    else:
        message, img = "no image for this task", None
    if img is None:
        w = h = None
        if "image_width" in rows.columns and rows["image_width"].notna().any():
            w, h = int(rows["image_width"].max()), int(rows["image_height"].max())
        if not w and all(c in rows.columns for c in _BOX) and rows[_BOX].notna().any().all():
            w, h = int(np.nanmax(rows["x_max"])) + 10, int(np.nanmax(rows["y_max"])) + 10
        img = Image.new("RGB", (w or 256, h or 256), (225, 225, 225))
        d = ImageDraw.Draw(img)
        for k in range(0, img.width + img.height, 24):  # hatched: plainly not a photo
            d.line([(k, 0), (k - img.height, img.height)], fill=(205, 205, 205), width=1)
    scale = min(1.0, max_side / max(img.size))
    if scale < 1.0:
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
    elif max(img.size) < 128:  # tiny images (CIFAR): enlarge so regions are visible
        k = 128 // max(img.size)
        img, scale = img.resize((img.width * k, img.height * k), Image.NEAREST), float(k)
    return img, scale, message


def _rotated(x0: float, y0: float, x1: float, y1: float, rot: float) -> list[tuple[float, float]]:
    """Corners of a box rotated by ``rot`` degrees clockwise about (x0, y0) (Label Studio)."""
    t = np.deg2rad(rot)
    c, s = np.cos(t), np.sin(t)
    pts = [(0.0, 0.0), (x1 - x0, 0.0), (x1 - x0, y1 - y0), (0.0, y1 - y0)]
    return [(x0 + px * c - py * s, y0 + px * s + py * c) for px, py in pts]


def draw_regions(img, rows: pd.DataFrame, *, scale: float, colors: Mapping, highlight: tuple = ()) -> None:
    """Draw every row's box / polygon / keypoints in its annotator's colour; ``highlight`` bold."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(img)
    order = {a: k for k, a in enumerate(sorted(colors, key=str))}
    hl = set(highlight)
    cols = set(rows.columns)
    has_box = set(_BOX) <= cols
    box = rows[_BOX].to_numpy(dtype=float) if has_box else None
    rot = rows["rotation"].to_numpy(dtype=float) if "rotation" in cols else None
    pts = rows["points"].tolist() if "points" in cols else None
    kps = rows["keypoints"].tolist() if "keypoints" in cols else None
    anns, labs = rows["annotator"].tolist(), rows["label"].tolist()
    for j in sorted(range(len(rows)), key=lambda j: j in hl):  # highlighted last, on top
        a, c = anns[j], colors.get(anns[j], "#000000")
        width = 4 if j in hl else (1 if hl else 2)
        anchor = None
        if has_box and box is not None and not np.isnan(box[j]).any():
            x0, y0, x1, y1 = box[j]
            r = 0.0 if rot is None or np.isnan(rot[j]) else float(rot[j])
            corners = [(x * scale, y * scale) for x, y in _rotated(x0, y0, x1, y1, r)]
            if j in hl:
                draw.polygon(corners, outline="#000000", width=width + 2)
            draw.polygon(corners, outline=c, width=width)
            anchor = corners[0]
        elif pts is not None and isinstance(pts[j], (tuple, list)) and len(pts[j]):
            xy = [(float(x) * scale, float(y) * scale) for x, y in pts[j]]
            if len(xy) >= 3:
                if j in hl:
                    draw.polygon(xy, outline="#000000", width=width + 2)
                draw.polygon(xy, outline=c, width=width)
            for x, y in xy if len(xy) < 3 else []:
                rad = 5 if j in hl else 3
                draw.ellipse([x - rad, y - rad, x + rad, y + rad], outline=c, fill=c if j in hl else None)
            anchor = xy[0]
        elif kps is not None and isinstance(kps[j], (tuple, list)) and len(kps[j]):
            vis = [(float(x) * scale, float(y) * scale) for x, y, v in kps[j] if v > 0]
            for x, y in vis:
                rad = 5 if j in hl else 3
                draw.ellipse([x - rad, y - rad, x + rad, y + rad], outline=c, fill=c if j in hl else None)
            anchor = vis[0] if vis else None
        if anchor is not None and (j in hl or not hl):
            draw.text((anchor[0] + 2, anchor[1] + 1 + 11 * (order.get(a, 0) % 4)), f"{a}: {labs[j]}", fill=c)
