"""Moved to qa_toolkit.errors (label_issues: find_label_issues, out_of_sample_pred_probs; multiannotator: crowdlab, CrowdlabResult); kept as an alias.

Import from the new path; this module only re-exports the names code imported from it.
"""

from __future__ import annotations

import warnings

from qa_toolkit.errors.label_issues import (
    find_label_issues,
    out_of_sample_pred_probs,
)
from qa_toolkit.errors.multiannotator import (
    CrowdlabResult,
    crowdlab,
)

__all__ = ["CrowdlabResult", "crowdlab", "find_label_issues", "out_of_sample_pred_probs"]

warnings.warn("qa_toolkit.label_errors moved to qa_toolkit.errors; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
