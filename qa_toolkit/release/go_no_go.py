"""Pilot go/no-go router: categorical tables, and typed fields at the level of their kind."""

from __future__ import annotations

import pandas as pd

from qa_toolkit._validation import check_columns
from qa_toolkit.release.pilot import PilotReport, categorical_pilot_report
from qa_toolkit.release.pilot_fields import field_pilot_report

__all__ = ["pilot_report"]


def pilot_report(
    data: pd.DataFrame,
    *,
    gold: pd.Series | None = None,
    min_agreement: float = 0.8,
    max_severe_error_rate: float = 0.10,
    severe_pairs: list[tuple] | None = None,
    n_boot: int = 500,
    confidence: float = 0.95,
    random_state=None,
    field=None,
    agreement=None,
    per_label: bool = True,
    **typed,
) -> PilotReport:
    """Go/no-go for scaling up after a pilot.

    With ``field=`` (typed tables): the criteria of that field at the level of its kind
    plus a pilot-size check, see :func:`qa_toolkit.release.pilot_fields.field_pilot_report`
    (``typed`` takes its ``kinds``, ``assignments``, ``total_items``, ``severe_distance``...).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations of the pilot.
    gold : pandas.Series, optional
        Gold labels indexed by task; enables the severe error rate.
    min_agreement : float, default=0.8
        Bar for Krippendorff's alpha (the point estimate must reach it; the CI is shown).
    max_severe_error_rate : float, default=0.10
        Bar for the share of gold-task labels that are severe errors.
    severe_pairs : list of (gold, given) tuples, optional
        Which errors are severe; by default every error is.
    n_boot : int, default=500
        Bootstrap resamples.
    confidence : float, default=0.95
        Level of the intervals.
    random_state : int, numpy.random.Generator or None
        Seeds the bootstrap.
    agreement : AgreementReport, optional
        An agreement report of the same table (or field) already computed: alpha and its
        interval are read from it instead of a second estimate (one interval per field).
    per_label : bool, default=True
        Compute the per-label agreement table (``labels``); False leaves it empty.

    Returns
    -------
    PilotReport
        ``go``, the criteria table, per-label agreement and confused pairs.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "annotator": list("ababab"),
    ...                    "label": list("xxyyxy")})
    >>> pilot_report(df, n_boot=20, random_state=0).go
    False
    """
    func = "pilot_report"
    check_columns(data, ["task", "annotator", "label"], func=func)
    from qa_toolkit.agreement.fields import is_typed

    if field is not None or typed or (("field" in data.columns or "kind" in data.columns) and is_typed(data)):
        extra = {"severe_pairs": severe_pairs} if severe_pairs is not None else {}
        return field_pilot_report(data, field=field, gold=gold, min_agreement=min_agreement,
                                  max_severe_error_rate=max_severe_error_rate, n_boot=n_boot, confidence=confidence,
                                  random_state=random_state, agreement=agreement, per_label=per_label,
                                  **extra, **typed)
    return categorical_pilot_report(data, gold=gold, min_agreement=min_agreement,
                                    max_severe_error_rate=max_severe_error_rate, severe_pairs=severe_pairs,
                                    n_boot=n_boot, confidence=confidence, random_state=random_state,
                                    agreement=agreement, per_label=per_label)
