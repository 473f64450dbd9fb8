"""qa_toolkit: annotation quality assurance in the notebook.

The canonical long table (``task``, ``annotator``, ``label`` plus optional geometry,
span and time columns) flows through every function. The public API is re-exported
here and imported lazily, so ``import qa_toolkit`` stays fast and torch/open_clip are
only loaded when an embedder is used. Submodules (``qa.datasets``, ``qa.agreement``,
``qa.plotting``...) are reachable as attributes too, imported on first access. The
review widgets are not among them: they live in :mod:`qa_toolkit.widgets`, which the
core never imports.

Examples
--------
>>> import qa_toolkit as qa
>>> df = qa.load_dataset("fleiss1971_diagnoses").annotations
>>> round(qa.fleiss_kappa(df), 4)
0.4302
>>> bool(qa.datasets.list_datasets().loc["welinder2010_bluebirds", "bundled"])
True
"""

from __future__ import annotations

from qa_toolkit._lazy import lazy_exports
from qa_toolkit._validation import AnnotationFormatError, QAInputError, QAWarning
from qa_toolkit.table import (
    AnnotationWarning,
    canonical_frame,
    from_wide,
    to_counts,
    to_wide,
    validate_annotations,
)

# The one place the version is written: pyproject.toml reads it (dynamic = ["version"]).
__version__ = "0.1.0"

#: Submodules reachable as ``qa_toolkit.<name>`` after a bare ``import qa_toolkit`` (the
#: old module paths of issue #12's moves, e.g. ``qa_toolkit.gate``, still import, with a
#: DeprecationWarning naming the new home).
_SUBMODULES = (
    "aggregation",
    "agreement",
    "annotators",
    "cli",
    "datasets",
    "errors",
    "io",
    "overview",
    "plotting",
    "release",
    "report",
    "review",
    "table",
    "triage",
    "units",
)

_LAZY = {
    # importers and writers
    "read_annotations": "io",
    "read_predictions": "io",
    "write_label_studio": "io",
    "write_coco": "io",
    "write_table": "io",
    # bundled and shared datasets
    "load_dataset": "datasets",
    "list_datasets": "datasets",
    "dataset_path": "datasets",
    # first audit
    "summary": "overview",
    "task_overview": "overview",
    "annotator_overview": "overview",
    "label_overview": "overview",
    "data_issues": "overview",
    # agreement
    "agreement_report": "agreement",
    "intra_annotator_agreement": "agreement",
    "AgreementReport": "agreement",
    "AgreementWarning": "agreement",
    "percent_agreement": "agreement",
    "cohen_kappa": "agreement",
    "fleiss_kappa": "agreement",
    "krippendorff_alpha": "agreement",
    "gwet_ac1": "agreement",
    "scott_pi": "agreement",
    "brennan_prediger": "agreement",
    "conger_kappa": "agreement",
    "pairwise": "agreement",
    "per_label": "agreement",
    "per_task": "agreement",
    "per_annotator": "agreement",
    "confidence_interval": "agreement",
    "match_boxes": "agreement",
    "box_agreement": "agreement",
    "match_spans": "agreement",
    "span_agreement": "agreement",
    "numeric_agreement": "agreement",
    "similarity_agreement": "agreement",
    # truth inference
    "majority_vote": "aggregation",
    "DawidSkene": "aggregation",
    "numeric_aggregate": "aggregation",
    # typed fields and agreement units (issue 11)
    "describe_fields": "units",
    "to_units": "units",
    "consensus_regions": "aggregation.consensus",
    "rating_consensus": "aggregation.numeric",
    "multilabel_dawid_skene": "aggregation.numeric",
    "MultiFieldReport": "agreement.fields",
    # label errors
    "find_label_issues": "errors.label_issues",
    "crowdlab": "errors.multiannotator",
    "out_of_sample_pred_probs": "errors.label_issues",
    "multilabel_label_issues": "errors.typed",
    "token_label_issues": "errors.typed",
    "box_label_issues": "errors.typed",
    "fused_issue_table": "errors.fusion",
    # embeddings
    "ClipEmbedder": "errors.embeddings",
    "check_embeddings": "errors.embeddings",
    "neighbour_inconsistency": "errors.neighbours",
    "near_duplicates": "errors.duplicates",
    "duplicate_groups": "errors.duplicates",
    "embedding_clusters": "errors.clusters",
    # triage, sampling, annotators, drift, pilot, gate
    "review_queue": "triage",
    "to_label_studio_tasks": "io",
    "rank_for_review": "triage",
    "sampling_plan": "triage",
    "annotator_report": "annotators",
    "drift_report": "annotators",
    "pilot_report": "release",
    "evaluate_gate": "release",
    "load_gate_config": "release",
    "GateResult": "release",
    # review
    "DecisionLog": "review",
    "apply_decisions": "review",
}

__all__ = [
    "AnnotationFormatError",
    "AnnotationWarning",
    "QAInputError",
    "QAWarning",
    "canonical_frame",
    "from_wide",
    "to_counts",
    "to_wide",
    "validate_annotations",
    "__version__",
    *sorted(_LAZY),
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, _SUBMODULES)
