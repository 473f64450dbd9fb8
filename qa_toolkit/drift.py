"""Moved to ``qa_toolkit.annotators.drift``; kept as an alias (issue #12).

Import from the new home (or from ``qa_toolkit``); this module only re-exports.
"""

import warnings

from qa_toolkit.annotators.drift import cusum, drift_report, rolling_quality

__all__ = ["cusum", "drift_report", "rolling_quality"]

warnings.warn("qa_toolkit.drift moved to qa_toolkit.annotators.drift; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
