"""Truth inference: majority vote and Dawid-Skene (full, one-coin, gold-aware)."""

from qa_toolkit.aggregation.dawid_skene import DawidSkene
from qa_toolkit.aggregation.majority import majority_vote, numeric_aggregate

__all__ = ["DawidSkene", "majority_vote", "numeric_aggregate"]
