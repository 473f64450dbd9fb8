"""Masks: Label Studio brush RLE → COCO uncompressed RLE (no pycocotools needed)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["decode_ls_rle", "mask_to_coco_rle", "ls_brush_to_rle"]
_BITS = bytes.maketrans(b"\x00\x01", b"01")


def decode_ls_rle(rle: list[int], expected: int) -> np.ndarray:
    """Decode Label Studio's brush RLE (thi.ng ``rle-pack``, as label-studio-converter ``brush.decode_rle``).

    Layout: 32 bits value count, 5 bits word size - 1, four 4-bit run-length sizes - 1;
    then blocks of 1 bit (repeat?), 2 bits (which run-length size), the run length - 1,
    and one word (repeat) or that many words.

    Parameters
    ----------
    rle : list of int
        Bytes of the bit-packed run-length code.
    expected : int
        ``width * height * 4`` (RGBA): the decoded length must equal it.

    Returns
    -------
    numpy.ndarray of uint8, shape (expected,)

    Raises
    ------
    ValueError
        When the code is truncated or decodes to another length.
    """
    if not isinstance(rle, list) or not all(isinstance(b, int) and 0 <= b < 256 for b in rle):
        raise ValueError("'value.rle' must be a list of bytes (0-255)")
    bits = np.unpackbits(np.asarray(rle, dtype=np.uint8)).tobytes().translate(_BITS)
    pos = 0

    def read(size: int) -> int:
        nonlocal pos
        if pos + size > len(bits):
            raise ValueError("'value.rle' is truncated")
        chunk = bits[pos:pos + size]
        pos += size
        return int(chunk, 2) if size else 0

    num = read(32)
    if num != expected:
        raise ValueError(f"'value.rle' decodes to {num} values, expected width*height*4 = {expected}")
    word = read(5) + 1
    sizes = [read(4) + 1 for _ in range(4)]
    out = np.zeros(num, dtype=np.uint8)
    i = 0
    while i < num:
        same = read(1)
        j = i + 1 + read(sizes[read(2)])
        if j > num:
            raise ValueError(f"'value.rle' run ends at {j}, beyond its {num} values")
        if same:
            out[i:j] = read(word)
            i = j
        else:
            while i < j:
                out[i] = read(word)
                i += 1
    return out


def mask_to_coco_rle(mask: np.ndarray) -> dict[str, Any]:
    """Binary mask (h, w) → COCO uncompressed RLE ``{"size": [h, w], "counts": [...]}`` (column-major)."""
    h, w = mask.shape
    flat = mask.astype(bool).ravel(order="F")
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    return {"size": [int(h), int(w)], "counts": [int(r) for r in runs]}


def ls_brush_to_rle(rle: list[int], width: float, height: float) -> dict[str, Any]:
    """A Label Studio brush region as a COCO RLE of its alpha channel."""
    w, h = int(round(width)), int(round(height))
    rgba = decode_ls_rle(rle, w * h * 4).reshape(h, w, 4)
    return mask_to_coco_rle(rgba[:, :, 3] > 0)
