"""Label-error detectors (layer 3): every one returns an issue table.

The issue-table contract (:mod:`qa_toolkit.errors.contract`): ``task`` (index, or a
column plus ``field`` / ``annotator`` / ``unit`` where the detector looks finer),
``is_<name>_issue`` (bool) and ``<name>_score`` (lower = more likely a problem).

==============================  ==================================================
module                          detectors
==============================  ==================================================
``label_issues``                ``find_label_issues`` (confident learning),
                                ``out_of_sample_pred_probs``
``multiannotator``              ``crowdlab`` (CROWDLAB consensus and annotator quality)
``typed``                       ``multilabel_label_issues``, ``token_label_issues``,
                                ``box_label_issues``
``neighbours``                  ``neighbour_inconsistency``, ``nearest_neighbours``
``duplicates``                  ``near_duplicates`` (pairs), ``duplicate_groups``
``clusters``                    ``embedding_clusters``
``fusion``                      ``fused_issue_table`` (any contract table in, one out)
``embeddings``                  ``check_embeddings``, ``project_embeddings``, embedders
==============================  ==================================================

Imports point down only: table, io, units, agreement, aggregation, stats. The names
are loaded on first use (cleanlab, scikit-learn and torch only inside the functions).
"""

from __future__ import annotations

from qa_toolkit._lazy import lazy_exports

_LAZY = {
    "ISSUE_NAMES": "contract",
    "LEGACY_COLUMNS": "contract",
    "per_task_issue": "contract",
    "find_label_issues": "label_issues",
    "out_of_sample_pred_probs": "label_issues",
    "CrowdlabResult": "multiannotator",
    "crowdlab": "multiannotator",
    "multilabel_label_issues": "typed",
    "token_label_issues": "typed",
    "box_label_issues": "typed",
    "whitespace_tokens": "typed",
    "nearest_neighbours": "neighbours",
    "neighbour_inconsistency": "neighbours",
    "neighbour_recall": "neighbours",
    "near_duplicates": "duplicates",
    "duplicate_groups": "duplicates",
    "EmbeddingClusters": "clusters",
    "embedding_clusters": "clusters",
    "cluster_reasons": "cluster_labels",
    "SIGNALS": "fusion",
    "fused_issue_table": "fusion",
    "rank_fuse": "fusion",
    "Embedder": "embeddings",
    "ClipEmbedder": "embeddings",
    "MobileNetV2Embedder": "embeddings",
    "SentenceTransformerEmbedder": "embeddings",
    "check_embeddings": "embeddings",
    "project_embeddings": "embeddings",
    "load_image": "embeddings",
}

_SUBMODULES = (
    "contract", "label_issues", "multiannotator", "typed", "neighbours", "duplicates", "clusters",
    "cluster_labels", "fusion", "fusion_signals", "fusion_reasons", "embeddings",
)

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, _SUBMODULES)
