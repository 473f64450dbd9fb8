"""Embeddings for the detectors: validation, 2-D projection and the embedders.

* :mod:`~qa_toolkit.errors.embeddings.check` - :func:`check_embeddings` (any
  ``(n_items, dim)`` matrix) and :func:`project_embeddings` (PCA / UMAP to 2-D);
* :mod:`~qa_toolkit.errors.embeddings.models` - :class:`ClipEmbedder`,
  :class:`MobileNetV2Embedder`, :class:`SentenceTransformerEmbedder` and the
  :class:`Embedder` protocol (torch / open_clip imported only when a model is used);
* :func:`load_image` - decode a path, bytes, PIL image or array into an RGB PIL image
  (what the embedders and the cluster gallery's thumbnails read).
"""

from __future__ import annotations

from typing import Any

from qa_toolkit.errors.embeddings._base import _to_pil
from qa_toolkit.errors.embeddings.check import check_embeddings, project_embeddings
from qa_toolkit.errors.embeddings.models import (
    ClipEmbedder,
    Embedder,
    MobileNetV2Embedder,
    SentenceTransformerEmbedder,
)

__all__ = [
    "ClipEmbedder",
    "Embedder",
    "MobileNetV2Embedder",
    "SentenceTransformerEmbedder",
    "check_embeddings",
    "load_image",
    "project_embeddings",
]


def load_image(item: Any) -> Any:
    """Decode one image item into an RGB ``PIL.Image.Image``.

    Parameters
    ----------
    item : str, os.PathLike, bytes, PIL.Image.Image or array-like
        A path, encoded bytes, a PIL image or an array of shape (H, W), (H, W, 3) or
        (H, W, 4) (floats in [0, 1] or [0, 255]).

    Returns
    -------
    PIL.Image.Image
        The image in RGB mode.

    Raises
    ------
    ValueError
        When an array does not have an image shape or holds NaN.

    Examples
    --------
    >>> import numpy as np
    >>> load_image(np.zeros((4, 6))).size
    (6, 4)
    """
    return _to_pil(item)
