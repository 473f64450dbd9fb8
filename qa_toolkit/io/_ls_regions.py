"""Label Studio result values → canonical row fragments (shared by the JSON, JSON_MIN and CSV readers)."""

from __future__ import annotations

from typing import Any

from qa_toolkit.io._common import to_float

__all__ = ["parse_region", "KIND_OF"]

_SPAN_TYPES = frozenset({"labels", "hypertextlabels", "timeserieslabels"})
#: Result type → kind (docs/DATA_MODEL.md); ``choices`` become ``multilabel`` when any
#: result of the field selects several values. Types not listed are inferred.
KIND_OF = {
    "choices": "categorical", "taxonomy": "multilabel", "labels": "span", "hypertextlabels": "span",
    "timeserieslabels": "span", "paragraphlabels": "span", "rectanglelabels": "box",
    "polygonlabels": "polygon", "brushlabels": "polygon", "keypointlabels": "keypoints",
    "rating": "ordinal", "number": "interval", "textarea": "text", "datetime": "text",
}
_LABEL_KEYS = (
    "rectanglelabels", "polygonlabels", "keypointlabels", "ellipselabels", "brushlabels",
    "labels", "hypertextlabels", "paragraphlabels", "timeserieslabels", "taxonomy", "choices",
    "rating", "number", "textarea", "datetime",
)


def _number_label(v: float) -> str:
    """``4`` and ``4.0`` are one rating: integral numbers without a decimal point."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def parse_region(rtype: str, value: Any, width: Any, height: Any) -> list[dict[str, Any]]:
    """Turn one Label Studio result ``value`` into canonical row fragments.

    Parameters
    ----------
    rtype : str
        The result ``type`` (``'choices'``, ``'rectanglelabels'``, ...).
    value : dict
        The result ``value``.
    width, height : float or None
        ``original_width`` / ``original_height`` for percent geometry.

    Returns
    -------
    list of dict
        One dict per label, with ``label`` and the geometry/span/value keys.

    Raises
    ------
    ValueError, KeyError, TypeError
        On a malformed value; the readers add the file/task/annotation context.

    Examples
    --------
    >>> parse_region("rectanglelabels", {"x": 10, "y": 20, "width": 50, "height": 25,
    ...              "rectanglelabels": ["Car"]}, 200, 100)
    [{'x_min': 20.0, 'y_min': 20.0, 'x_max': 120.0, 'y_max': 45.0, 'rotation': 0.0, 'image_width': 200.0, 'image_height': 100.0, 'label': 'Car'}]
    >>> parse_region("taxonomy", {"taxonomy": [["Animal", "Cat"]]}, None, None)
    [{'label': 'Animal/Cat', 'taxonomy_path': ('Animal', 'Cat')}]
    """
    if not isinstance(value, dict):
        raise TypeError(f"'value' must be an object, got {type(value).__name__}")
    base: dict = {}
    if rtype == "taxonomy":
        paths = value["taxonomy"]
        if not isinstance(paths, list):
            raise TypeError(f"'value.taxonomy' must be a list of paths, got {paths!r}")
        labels = ["/".join(map(str, p)) if isinstance(p, list) else str(p) for p in paths]
        tpaths = [tuple(map(str, p)) if isinstance(p, list) else (str(p),) for p in paths]
        out = []
        for lab, tp in zip(labels, tpaths):
            if not lab:
                raise ValueError("empty taxonomy path in value.taxonomy")
            out.append({"label": lab, "taxonomy_path": tp})
        if not out:
            raise ValueError("no label in value.taxonomy (empty list)")
        return out
    elif rtype in ("rating", "number"):
        v = to_float(value[rtype], what=f"value.{rtype}")
        base["value"] = v
        labels = [_number_label(v)]  # labels stay strings (4 and 4.0 are one); the number is in `value`
    elif rtype == "textarea":
        t = value["text"]
        labels = [t] if isinstance(t, str) else list(t)
    elif rtype in value:
        labels = value[rtype]
        labels = list(labels) if isinstance(labels, list) else [labels]
    else:
        raise KeyError(f"value.{rtype}")
    if rtype == "brushlabels" and "rle" in value:
        from qa_toolkit.io._masks import ls_brush_to_rle

        if width is None or height is None:
            raise KeyError("original_width/original_height (needed to decode the brush RLE)")
        base["rle"] = ls_brush_to_rle(value["rle"], to_float(width, what="original_width"),
                                      to_float(height, what="original_height"))
    has_box = all(k in value for k in ("x", "y", "width", "height"))
    if (has_box or "points" in value or rtype == "keypointlabels") and rtype not in _SPAN_TYPES:
        if width is None or height is None:
            if rtype in ("rectanglelabels", "polygonlabels", "keypointlabels"):
                raise KeyError("original_width/original_height (needed to turn percent into pixels)")
        else:
            w = to_float(width, what="original_width")
            h = to_float(height, what="original_height")
            if "points" in value:
                pts = value["points"]
                if not isinstance(pts, list) or not all(isinstance(p, list) and len(p) == 2 for p in pts):
                    raise TypeError(f"'value.points' must be a list of [x, y] pairs, got {str(pts)[:60]}")
                base["points"] = tuple((to_float(x, what="points x") * w / 100,
                                        to_float(y, what="points y") * h / 100) for x, y in pts)
            elif rtype == "keypointlabels":
                base["points"] = ((to_float(value["x"], what="x") * w / 100, to_float(value["y"], what="y") * h / 100),)
            elif has_box:
                x, y = to_float(value["x"], what="x"), to_float(value["y"], what="y")
                bw, bh = to_float(value["width"], what="width"), to_float(value["height"], what="height")
                base.update(x_min=x * w / 100, y_min=y * h / 100, x_max=(x + bw) * w / 100,
                            y_max=(y + bh) * h / 100, rotation=float(value.get("rotation") or 0.0))
            base.update(image_width=w, image_height=h)
    if rtype in _SPAN_TYPES or (rtype == "paragraphlabels" and "text" in value):
        if "start" in value and "end" in value and rtype != "paragraphlabels":
            for k in ("start", "end"):
                if isinstance(value[k], bool) or not isinstance(value[k], (int, float)):
                    raise ValueError(f"'value.{k}' must be a number (character offset), got {value[k]!r}")
            base["start"], base["end"] = value["start"], value["end"]
        if "text" in value:
            base["text"] = value["text"]
    out = []
    for lab in labels:
        if lab is None or (isinstance(lab, str) and lab == ""):
            raise ValueError(f"empty label in value.{rtype}")
        if isinstance(lab, (list, dict)):
            raise TypeError(f"label in value.{rtype} must be a string or number, got {str(lab)[:40]}")
        out.append({**base, "label": lab})
    if not out:
        raise ValueError(f"no label in value.{rtype} (empty list)")
    return out
