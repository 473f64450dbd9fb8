"""Axes-level plots: every function takes ``ax=None`` and returns the Axes.

Compute with the analysis functions first, then draw; nothing here changes data.
Imported lazily so that ``import qa_toolkit`` does not load matplotlib.
"""

from __future__ import annotations

from qa_toolkit._lazy import lazy_exports

_EXPORTS = {
    "plot_overlap": "overview",
    "plot_annotator_counts": "overview",
    "plot_pairwise_heatmap": "agreement",
    "plot_per_label": "agreement",
    "plot_confusion": "agreement",
    "pairwise_matrix": "agreement",
    "plot_annotator_confusion": "aggregation",
    "plot_ds_accuracy": "aggregation",
    "plot_annotator_accuracy": "annotators",
    "plot_drift": "annotators",
    "plot_issue_signals": "label_errors",
    "plot_precision_at_k": "label_errors",
    "plot_embedding_map": "embeddings",
    "plot_annotator_agreement": "review",
    "plot_review_status": "review",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
