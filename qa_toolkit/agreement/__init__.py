"""Agreement engine: chance-corrected coefficients on the canonical long table.

Every coefficient takes the long table (``task``, ``annotator``, ``label``) first and
returns a float; breakdowns and intervals return tidy DataFrames.
"""

from qa_toolkit.agreement._warnings import (
    AgreementWarning,
    LowOverlapWarning,
    PrevalenceParadoxWarning,
    SingleLabelWarning,
    SpanOverlapWarning,
    UndefinedAgreementWarning,
)
from qa_toolkit.agreement.bootstrap import METRICS, confidence_interval
from qa_toolkit.agreement.breakdown import pairwise, per_annotator, per_label, per_task
from qa_toolkit.agreement.geometry import (
    box_agreement,
    box_alpha,
    box_iou,
    match_boxes,
    mean_iou_per_label,
)
from qa_toolkit.agreement.gwet import brennan_prediger, gwet_ac1
from qa_toolkit.agreement.intra import intra_annotator_agreement
from qa_toolkit.agreement.kappa import cohen_kappa, conger_kappa, fleiss_kappa, scott_pi
from qa_toolkit.agreement.krippendorff import krippendorff_alpha
from qa_toolkit.agreement.label_agreement import confusion_pairs, label_agreement
from qa_toolkit.agreement.percent import percent_agreement
from qa_toolkit.agreement.report import AgreementReport, agreement_report
from qa_toolkit.agreement.spans import (
    match_spans,
    numeric_agreement,
    similarity_agreement,
    span_agreement,
    span_alpha,
    span_iou,
)

__all__ = [
    "box_agreement",
    "box_alpha",
    "box_iou",
    "match_boxes",
    "mean_iou_per_label",
    "match_spans",
    "numeric_agreement",
    "similarity_agreement",
    "span_agreement",
    "span_alpha",
    "span_iou",
    "AgreementReport",
    "AgreementWarning",
    "agreement_report",
    "LowOverlapWarning",
    "PrevalenceParadoxWarning",
    "SingleLabelWarning",
    "SpanOverlapWarning",
    "UndefinedAgreementWarning",
    "intra_annotator_agreement",
    "METRICS",
    "brennan_prediger",
    "confidence_interval",
    "pairwise",
    "per_annotator",
    "per_label",
    "per_task",
    "cohen_kappa",
    "conger_kappa",
    "fleiss_kappa",
    "gwet_ac1",
    "krippendorff_alpha",
    "label_agreement",
    "confusion_pairs",
    "percent_agreement",
    "scott_pi",
]
