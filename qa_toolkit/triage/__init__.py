"""Triage: uncertainty scores, the review queue, the sampling plan and escalation.

Modules: :mod:`~qa_toolkit.triage.scores` (entropy / margin / least-confidence / vote
scores and the ranking step), :mod:`~qa_toolkit.triage.queue` (``review_queue`` and its
signal policies), :mod:`~qa_toolkit.triage.units` (the queue of a typed field, one
builder per kind), :mod:`~qa_toolkit.triage.sampling` and
:mod:`~qa_toolkit.triage.escalation`. Issue tables are read through the one contract of
:mod:`qa_toolkit.issue_tables`.
"""

from qa_toolkit.triage.escalation import escalate_low_agreement, to_label_studio_tasks
from qa_toolkit.triage.queue import review_queue
from qa_toolkit.triage.sampling import sampling_plan
from qa_toolkit.triage.scores import (
    entropy_score,
    least_confidence_score,
    margin_score,
    rank_for_review,
    vote_scores,
)
from qa_toolkit.triage.units import unit_review_queue

__all__ = [
    "entropy_score",
    "margin_score",
    "least_confidence_score",
    "vote_scores",
    "rank_for_review",
    "review_queue",
    "unit_review_queue",
    "escalate_low_agreement",
    "to_label_studio_tasks",
    "sampling_plan",
]
