"""Moved to ``qa_toolkit.annotators.kinds``; kept as an alias (issue #12).

Import from the new home (or from ``qa_toolkit``); this module only re-exports.
"""

import warnings

from qa_toolkit.annotators.flags import (
    others_majority_share,
    relative_low_agreement,
    task_mean_ci,
)
from qa_toolkit.annotators.kinds import field_annotator_report

__all__ = ["field_annotator_report", "others_majority_share", "relative_low_agreement", "task_mean_ci"]

warnings.warn("qa_toolkit.annotators_kinds moved to qa_toolkit.annotators.kinds; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
