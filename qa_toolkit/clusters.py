"""Moved to qa_toolkit.errors.clusters (cluster_reasons: qa_toolkit.errors.cluster_labels); kept as an alias.

Import from the new path; this module only re-exports the names code imported from it.
"""

from __future__ import annotations

import warnings

from qa_toolkit.errors.cluster_labels import cluster_reasons
from qa_toolkit.errors.clusters import (
    EmbeddingClusters,
    embedding_clusters,
)

__all__ = ["cluster_reasons", "EmbeddingClusters", "embedding_clusters"]

warnings.warn("qa_toolkit.clusters moved to qa_toolkit.errors.clusters; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
