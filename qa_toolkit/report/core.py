"""Building blocks of the ``qa-toolkit audit`` HTML report.

A report is a list of :class:`Section` objects. Each domain module contributes one
through a ``build_section(ctx) -> Section | None`` function that reads what it needs
from the :class:`AuditContext`.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["AuditContext", "Section", "df_to_html", "figure_to_html", "escape"]


@dataclass(frozen=True)
class Section:
    """One titled part of the audit report.

    Attributes
    ----------
    title : str
        Heading shown in the report.
    html : str
        Body as an HTML fragment.
    tables : dict of str to pandas.DataFrame
        Tables written beside the report as ``<name>.csv``.
    """

    title: str
    html: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class AuditContext:
    """What the sections of one audit can read.

    Attributes
    ----------
    annotations : pandas.DataFrame
        The canonical long table.
    gold : pandas.Series or None
        Ground truth indexed by task.
    pred_probs : pandas.DataFrame or None
        Model probabilities, task x label.
    embeddings : array-like or None
        One row per task, in ``pred_probs``/task order when given.
    options : dict
        Free-form options (source file name, gate config, random_state...).
    cache : dict
        Results shared between sections (e.g. a fitted Dawid-Skene model).
    """

    annotations: pd.DataFrame
    gold: pd.Series | None = None
    pred_probs: pd.DataFrame | None = None
    embeddings: Any = None
    options: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)


def escape(text: Any) -> str:
    """HTML-escape ``str(text)``."""
    return html.escape(str(text))


def df_to_html(df: pd.DataFrame, *, max_rows: int = 50, float_format: str = "{:.4g}") -> str:
    """Render a DataFrame as an HTML table, truncated to ``max_rows`` with a note."""
    shown = df.head(max_rows)
    out = shown.to_html(
        classes="qa-table", border=0, float_format=lambda v: float_format.format(v), escape=True
    )
    if len(df) > max_rows:
        out += f"<p class='qa-note'>Showing {max_rows} of {len(df)} rows; the CSV has all.</p>"
    return out


def figure_to_html(fig: Any, *, dpi: int = 100) -> str:
    """Embed a matplotlib figure as a base64 PNG ``<img>`` and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except ImportError:  # pragma: no cover - matplotlib is a core dependency
        pass
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img alt='figure' src='data:image/png;base64,{data}'/>"
