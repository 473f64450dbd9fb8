"""Krippendorff's alpha on the coincidence matrix built from task x label counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_option
from qa_toolkit.agreement._common import EXAMPLE, check_single_label, resolve_duplicates  # noqa: F401
from qa_toolkit.agreement._engine import alpha_batch
from qa_toolkit.agreement._weights import distance_matrix, finish
from qa_toolkit.engines.coding import Coded, code_annotations

__all__ = ["krippendorff_alpha", "LEVELS"]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _check_level(level: Any, coded: Coded | None, func: str, categories: Any) -> None:
    if not callable(level):
        check_option("level", level, LEVELS, func=func)
    if level == "ordinal" and coded is not None and categories is None and np.isnan(coded.values).any():
        raise QAInputError(
            f"{func}: level='ordinal' needs an order of the labels; the labels "
            f"{list(coded.categories)[:5]} are not numbers. Pass categories=[...] in order, "
            "or an ordered pandas Categorical 'label' column."
        )


def krippendorff_alpha(
    data: pd.DataFrame,
    *,
    level: Literal["nominal", "ordinal", "interval", "ratio"] | Callable[[Any, Any], float] = "nominal",
    categories: Any = None,
    replace_undefined_by: float = np.nan,
    duplicates: str = "error",
) -> float:
    """Krippendorff's alpha for any number of annotators per task and missing labels.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    level : {'nominal', 'ordinal', 'interval', 'ratio'} or callable, default='nominal'
        Level of measurement. A callable ``distance(a, b) -> float`` (0 for equal
        values) is evaluated on every pair of labels. Note that ``krippendorff.alpha``
        defaults to 'interval'; categorical annotation wants 'nominal'.
    categories : list, optional
        Label set and order (the order matters for 'ordinal'; required there when the
        labels are not numbers).
    duplicates : {'error', 'first', 'last'}, default='error'
        Several labels by one annotator on one task (test-retest): raise, or keep the
        first / last one (``created_at`` order when present, else row order). Measure
        the repeats themselves with :func:`qa_toolkit.intra_annotator_agreement`.
    replace_undefined_by : float, default=nan
        Value returned when expected disagreement is 0 (a single value in use).

    Returns
    -------
    float
        ``1 - D_o / D_e``. Tasks with a single label are not pairable and do not count.

    Notes
    -----
    Krippendorff (2004) suggests relying on data with alpha >= 0.800 and drawing only
    tentative conclusions for 0.667 <= alpha < 0.800. The coincidence matrix is one
    sparse product of the task x label counts (no loop over tasks); it reproduces
    ``krippendorff.alpha(value_counts=...)`` (see the tests).

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    https://repository.upenn.edu/asc_papers/43

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import krippendorff_alpha
    >>> df = pd.DataFrame(EXAMPLE)
    >>> round(krippendorff_alpha(df), 4)
    0.3889
    """
    if not callable(level):
        check_option("level", level, LEVELS, func="krippendorff_alpha")
    data = resolve_duplicates(data, duplicates, func="krippendorff_alpha")
    coded = code_annotations(data, func="krippendorff_alpha", categories=categories)
    _check_level(level, coded, "krippendorff_alpha", categories)
    check_single_label(coded, "krippendorff_alpha")
    dist = distance_matrix(level, coded, func="krippendorff_alpha")
    alpha, De = alpha_batch(coded.counts, dist)
    if not np.isfinite(De[0]) or De[0] == 0:
        return finish(0.0, 0.0, func="krippendorff_alpha", replace_undefined_by=replace_undefined_by)
    return float(alpha[0])
