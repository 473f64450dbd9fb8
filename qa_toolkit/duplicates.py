"""Moved to qa_toolkit.errors.duplicates; kept as an alias.

Import from the new path; this module only re-exports the names code imported from it.
"""

from __future__ import annotations

import warnings

from qa_toolkit.errors.duplicates import (
    duplicate_groups,
    near_duplicates,
)

__all__ = ["duplicate_groups", "near_duplicates"]

warnings.warn("qa_toolkit.duplicates moved to qa_toolkit.errors.duplicates; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
