"""The agreement report's result object and interpretation bands (below report.py, so the
typed-field reports and the engines can use them without importing report.py)."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["AgreementReport", "interpret"]


def interpret(metric: str, value: float) -> str:
    """Interpretation band of a coefficient value.

    Krippendorff (2004) for alpha (>= 0.800 reliable, >= 0.667 tentative); Landis &
    Koch (1977) for the kappa family; percent agreement is not chance-corrected.

    Examples
    --------
    >>> interpret("krippendorff_alpha", 0.7)
    'tentative (0.667 <= alpha < 0.800)'
    >>> interpret("fleiss_kappa", 0.65)
    'substantial (Landis & Koch)'
    """
    if not np.isfinite(value):
        return "undefined"
    if metric == "percent_agreement":
        return "raw agreement (not chance-corrected)"
    if metric == "krippendorff_alpha":
        if value >= 0.8:
            return "reliable (alpha >= 0.800)"
        if value >= 0.667:
            return "tentative (0.667 <= alpha < 0.800)"
        return "unreliable (alpha < 0.667)"
    for bound, name in ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if value < bound or (bound == 0.0 and value < 0):
            return f"{name} (Landis & Koch)"
    return "almost perfect (Landis & Koch)"


@dataclass(frozen=True)
class AgreementReport:
    """Agreement of one annotation table, as tidy tables.

    Attributes
    ----------
    summary : pandas.DataFrame
        Index ``metric``; ``value``, ``ci_low``, ``ci_high``, ``se``, ``n_tasks``,
        ``n_pairable``, ``method``, ``interpretation``.
    per_label : pandas.DataFrame
        See :func:`qa_toolkit.agreement.per_label`.
    pairwise : pandas.DataFrame
        See :func:`qa_toolkit.agreement.pairwise`.
    per_annotator : pandas.DataFrame
        See :func:`qa_toolkit.agreement.per_annotator`.
    """

    summary: pd.DataFrame
    per_label: pd.DataFrame
    pairwise: pd.DataFrame
    per_annotator: pd.DataFrame

    def __str__(self) -> str:
        s = self.summary
        lines = [f"Agreement report: {int(s['n_tasks'].max())} tasks, {len(self.per_annotator)} annotators, "
                 f"{len(self.per_label)} labels"]
        for m, row in s.iterrows():
            lines.append(f"  {m:<20} {row['value']:7.4f}  [{row['ci_low']:.4f}, {row['ci_high']:.4f}]  "
                         f"{row['interpretation']}")
        worst = self.per_label["value"].idxmin() if len(self.per_label) else None
        if worst is not None:
            lines.append(f"  least agreed label: {worst!r} ({self.per_label.loc[worst, 'value']:.3f})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return (f"<pre>{html.escape(str(self))}</pre>" + "<h4>Summary</h4>" + self.summary.to_html(float_format="{:.4f}".format)
                + "<h4>Per label</h4>" + self.per_label.to_html(float_format="{:.4f}".format))
