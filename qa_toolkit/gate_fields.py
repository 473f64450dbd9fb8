"""Moved to ``qa_toolkit.release.gate_fields``; kept as an alias (issue #12).

Import from the new home (or from ``qa_toolkit``); this module only re-exports.
"""

import warnings

from qa_toolkit.release.gate_fields import (
    FIELD_CHECKS,
    evaluate_custom_checks,
    evaluate_field_checks,
    load_custom_checks,
    load_field_checks,
    provenance,
)

__all__ = ["FIELD_CHECKS", "evaluate_custom_checks", "evaluate_field_checks", "load_custom_checks", "load_field_checks", "provenance"]

warnings.warn("qa_toolkit.gate_fields moved to qa_toolkit.release.gate_fields; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
