"""Moved to ``qa_toolkit.triage.units``; kept as an alias (issue #12).

Import from the new home (or from ``qa_toolkit``); this module only re-exports.
"""

import warnings

from qa_toolkit.triage.units import unit_review_queue

__all__ = ["unit_review_queue"]

warnings.warn("qa_toolkit.queue_units moved to qa_toolkit.triage.units; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
