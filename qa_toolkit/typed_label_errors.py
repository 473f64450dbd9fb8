"""Moved to qa_toolkit.errors.typed; kept as an alias.

Import from the new path; this module only re-exports the names code imported from it.
"""

from __future__ import annotations

import warnings

from qa_toolkit.errors.typed import (
    box_label_issues,
    multilabel_label_issues,
    token_label_issues,
    whitespace_tokens,
)

__all__ = ["box_label_issues", "multilabel_label_issues", "token_label_issues", "whitespace_tokens"]

warnings.warn("qa_toolkit.typed_label_errors moved to qa_toolkit.errors.typed; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
