"""Annotator quality: the report (categorical and per typed field), flags, drift, decisions.

Modules: :mod:`~qa_toolkit.annotators.report` (the router ``annotator_report``),
:mod:`~qa_toolkit.annotators.categorical`, :mod:`~qa_toolkit.annotators.kinds` (regions,
ratings, multi-label), :mod:`~qa_toolkit.annotators.flags` (the one per-annotator agreement
definition and its relative low-agreement flag), :mod:`~qa_toolkit.annotators.gold`,
:mod:`~qa_toolkit.annotators.decisions` (accept / fix / reject per annotation) and
:mod:`~qa_toolkit.annotators.drift`.
"""

from qa_toolkit.annotators.decisions import decision_rates, final_decision_table
from qa_toolkit.annotators.drift import cusum, drift_report, rolling_quality
from qa_toolkit.annotators.flags import (
    annotator_agreement,
    others_majority_share,
    relative_low_agreement,
    task_mean_ci,
)
from qa_toolkit.annotators.gold import check_gold, loo_agreement, same_label
from qa_toolkit.annotators.kinds import field_annotator_report
from qa_toolkit.annotators.report import annotator_report

__all__ = [
    "annotator_report",
    "annotator_agreement",
    "field_annotator_report",
    "loo_agreement",
    "check_gold",
    "same_label",
    "final_decision_table",
    "decision_rates",
    "others_majority_share",
    "relative_low_agreement",
    "task_mean_ci",
    "cusum",
    "drift_report",
    "rolling_quality",
]
