"""Moved to qa_toolkit.errors.embeddings; kept as an alias.

Import from the new path; this module only re-exports the names code imported from it.
"""

from __future__ import annotations

import warnings

from qa_toolkit.errors.embeddings import (
    ClipEmbedder,
    Embedder,
    MobileNetV2Embedder,
    SentenceTransformerEmbedder,
    check_embeddings,
    project_embeddings,
)

__all__ = ["ClipEmbedder", "Embedder", "MobileNetV2Embedder", "SentenceTransformerEmbedder", "check_embeddings", "project_embeddings"]

warnings.warn("qa_toolkit.embeddings moved to qa_toolkit.errors.embeddings; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
