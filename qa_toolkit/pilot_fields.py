"""Moved to ``qa_toolkit.release.pilot_fields``; kept as an alias (issue #12).

Import from the new home (or from ``qa_toolkit``); this module only re-exports.
"""

import warnings

from qa_toolkit.release.pilot_fields import field_pilot_report, pilot_size_check

__all__ = ["field_pilot_report", "pilot_size_check"]

warnings.warn("qa_toolkit.pilot_fields moved to qa_toolkit.release.pilot_fields; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
