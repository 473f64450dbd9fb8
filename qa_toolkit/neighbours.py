"""Moved to qa_toolkit.errors.neighbours; kept as an alias.

Import from the new path; this module only re-exports the names code imported from it.
"""

from __future__ import annotations

import warnings

from qa_toolkit.errors.neighbours import (
    nearest_neighbours,
    neighbour_inconsistency,
    neighbour_recall,
)

__all__ = ["nearest_neighbours", "neighbour_inconsistency", "neighbour_recall"]

warnings.warn("qa_toolkit.neighbours moved to qa_toolkit.errors.neighbours; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
