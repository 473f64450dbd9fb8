"""The group-by counts an engine returns, before they become a coded table."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["Aggregates", "duplicate_message"]


@dataclass(frozen=True)
class Aggregates:
    """Group-by counts of a source (internal): the input of :func:`sufficient_statistics`.

    ``task_label``: ``task, label, n``; ``annotator_label``: ``annotator, label, n``;
    ``duplicate``: one (task, annotator) pair with several rows, or None; ``n_rows``.
    """

    task_label: pd.DataFrame
    annotator_label: pd.DataFrame
    duplicate: tuple | None
    n_rows: int


def duplicate_message(func: str, where: str, duplicate: tuple) -> str:
    """The error text for a (task, annotator) with several rows (every engine raises it)."""
    task, ann, n = duplicate
    return (f"{func} needs one label per (task, annotator); in {where} task {task!r} has {n} labels "
            f"from annotator {ann!r}. Deduplicate first (qa_toolkit.agreement functions take "
            "duplicates='first' on in-memory tables).")
