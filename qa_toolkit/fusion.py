"""Moved to qa_toolkit.errors.fusion; kept as an alias.

Import from the new path; this module only re-exports the names code imported from it.
"""

from __future__ import annotations

import warnings

from qa_toolkit.errors.fusion import (
    SIGNALS,
    fused_issue_table,
    rank_fuse,
)

__all__ = ["SIGNALS", "fused_issue_table", "rank_fuse"]

warnings.warn("qa_toolkit.fusion moved to qa_toolkit.errors.fusion; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
