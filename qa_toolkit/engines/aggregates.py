"""The group-by counts an engine returns, before they become a coded table."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["Aggregates"]


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
