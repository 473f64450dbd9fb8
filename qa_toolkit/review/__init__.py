"""Review: the decision log (per unit), its replay into the adjudicated table, re-scoring.

Modules: :mod:`~qa_toolkit.review.log_io` (hash chain, durable writes),
:mod:`~qa_toolkit.review.decision_log` (:class:`DecisionLog`),
:mod:`~qa_toolkit.review.tables` (annotation hashes, plurality labels),
:mod:`~qa_toolkit.review.units` (review units of every kind with their consensus),
:mod:`~qa_toolkit.review.replay` (effective decisions, staleness),
:mod:`~qa_toolkit.review.apply` (adjudicated table, status, requeue),
:mod:`~qa_toolkit.review.rescore` (Dawid-Skene with reviewed gold).
No ipywidgets here: the review panel in ``qa_toolkit.widgets`` writes through
:class:`DecisionLog`, and a script, the CLI or a second notebook can write the same log.

Storage choice: JSON Lines, one decision per line, ``fsync`` after every decision,
appends serialised between processes with a :mod:`filelock` lock file beside the log;
each line carries a sequence number and a SHA-256 chained to the line before, so an
edited, deleted, duplicated or reordered line is reported with its line number
(:class:`DecisionLogError`). Version-1 logs (no chain) are read with a warning and never
extended (:func:`migrate_log` chains a copy); version-2 logs (one hash for the whole
table) are read and extended; version-3 logs hash each decision's own task.
"""

from qa_toolkit.review.apply import (
    ADJUDICATOR,
    apply_decisions,
    migrate_log,
    requeue_units,
    review_status,
)
from qa_toolkit.review.decision_log import DecisionLog
from qa_toolkit.review.log_io import (
    DECISIONS,
    DecisionLogError,
    DecisionLogWarning,
    LogMismatchError,
)
from qa_toolkit.review.record import REJECT_POLICIES
from qa_toolkit.review.replay import (
    decision_key,
    final_decision_table,
    final_decisions,
    stale_decisions,
    undecided,
)
from qa_toolkit.review.rescore import rescore
from qa_toolkit.review.tables import annotations_hash, consensus_labels, task_hashes
from qa_toolkit.review.units import review_units

__all__ = [
    "ADJUDICATOR",
    "DECISIONS",
    "REJECT_POLICIES",
    "DecisionLog",
    "DecisionLogError",
    "DecisionLogWarning",
    "LogMismatchError",
    "annotations_hash",
    "apply_decisions",
    "consensus_labels",
    "decision_key",
    "final_decision_table",
    "final_decisions",
    "migrate_log",
    "requeue_units",
    "rescore",
    "review_status",
    "review_units",
    "stale_decisions",
    "task_hashes",
    "undecided",
]
