"""The record-problem collector every reader shares: raise at the first bad record under
``errors='raise'``, else count and report once (kept apart so ``_checks`` and ``_common``
both import it without importing each other)."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

from qa_toolkit._validation import AnnotationFormatError, check_option
from qa_toolkit.table import AnnotationWarning

__all__ = ["Problems"]


class Problems:
    """Collects skipped records; raises at the first one under ``errors='raise'``.

    Parameters
    ----------
    path : pathlib.Path or str
        The file, cited in every message.
    errors : {'raise', 'warn'}
        Policy for bad records.
    func : str
        The public function, cited when ``errors`` is invalid.
    """

    def __init__(self, path: Any, errors: str, *, func: str) -> None:
        check_option("errors", errors, ["raise", "warn"], func=func)
        self.path = str(path)
        self.errors = errors
        self.skipped: Counter = Counter()
        self.notes: Counter = Counter()
        self.first: dict[str, str] = {}

    def bad(self, where: str, message: str, *, kind: str = "invalid record") -> None:
        """A record that cannot be read: raise, or skip and count it."""
        full = f"{self.path}: {where}: {message}"
        if self.errors == "raise":
            raise AnnotationFormatError(full + " (pass errors='warn' to skip such records and count them)")
        self.skipped[kind] += 1
        self.first.setdefault(kind, full)

    def note(self, kind: str, example: str = "") -> None:
        """Something kept out of the labels on purpose (cancelled, unsupported type) or repaired."""
        self.notes[kind] += 1
        if example:
            self.first.setdefault(kind, example)

    def report(self) -> None:
        """Emit one :class:`AnnotationWarning` with all counts (nothing is dropped silently)."""
        if not self.skipped and not self.notes:
            return
        parts = [f"skipped {n} {k} (first: {self.first.get(k, '')})" for k, n in self.skipped.items()]
        parts += [f"{n} {k}" + (f" (e.g. {self.first[k]})" if k in self.first else "") for k, n in self.notes.items()]
        warnings.warn(f"{self.path}: " + "; ".join(parts) + ".", AnnotationWarning, stacklevel=3)
