"""Moved to ``qa_toolkit.release.pilot``; kept as an alias (issue #12).

Import from the new home (or from ``qa_toolkit``); this module only re-exports.
"""

import warnings

from qa_toolkit.agreement.label_agreement import confusion_pairs
from qa_toolkit.release.go_no_go import pilot_report
from qa_toolkit.release.pilot import PilotReport, alpha_with_ci

__all__ = ["PilotReport", "alpha_with_ci", "confusion_pairs", "pilot_report"]

warnings.warn("qa_toolkit.pilot moved to qa_toolkit.release.pilot; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
