"""Gwet's AC1/AC2 and the Brennan-Prediger coefficient."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit.agreement._common import EXAMPLE, check_single_label  # noqa: F401
from qa_toolkit.agreement._counts import agreement_weights, code_annotations, finish
from qa_toolkit.agreement._engine import multi_pa_pe

__all__ = ["gwet_ac1", "brennan_prediger"]


def gwet_ac1(
    data: pd.DataFrame,
    *,
    weights: Any = None,
    categories: Any = None,
    replace_undefined_by: float = np.nan,
) -> float:
    """Gwet's AC1 (unweighted) or AC2 (with ``weights``), any number of annotators.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        None gives AC1; weights give AC2.
    categories : list, optional
        Label set and order; its length is ``q`` in the chance term, so pass the full
        label set when some labels were never used.
    replace_undefined_by : float, default=nan
        Value returned when the coefficient is undefined (a single category).

    Returns
    -------
    float
        The coefficient (``replace_undefined_by`` when undefined).

    Notes
    -----
    ``pe = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k)``; observed agreement as in
    :func:`fleiss_kappa`. AC1 is far less sensitive than kappa to skewed prevalence.

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the
    presence of high agreement. Br. J. Math. Stat. Psychol. 61(1), 29-48.
    doi:10.1348/000711006X126600

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import gwet_ac1
    >>> df = pd.DataFrame(EXAMPLE)
    >>> round(gwet_ac1(df), 4)
    0.3333
    """
    coded = code_annotations(data, func="gwet_ac1", categories=categories)
    check_single_label(coded, "gwet_ac1")
    W = agreement_weights(weights, len(coded.categories), func="gwet_ac1")
    if len(coded.categories) < 2:
        return finish(0.0, 0.0, func="gwet_ac1", replace_undefined_by=replace_undefined_by)
    pa, pe = multi_pa_pe("gwet", coded.counts, W)
    return finish(pa[0] - pe[0], 1 - pe[0], func="gwet_ac1", replace_undefined_by=replace_undefined_by)


def brennan_prediger(
    data: pd.DataFrame,
    *,
    weights: Any = None,
    categories: Any = None,
    replace_undefined_by: float = np.nan,
) -> float:
    """Brennan-Prediger coefficient: chance agreement ``1 / q`` (uniform labels).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        Agreement weights (chance term ``T_w / q^2``).
    categories : list, optional
        Label set; ``q`` is its length.
    replace_undefined_by : float, default=nan
        Value returned when the coefficient is undefined (a single category).

    Returns
    -------
    float
        The coefficient (``replace_undefined_by`` when undefined).

    References
    ----------
    Brennan, R. L. & Prediger, D. J. (1981). Coefficient kappa: some uses, misuses, and
    alternatives. Educational and Psychological Measurement 41(3), 687-699.
    doi:10.1177/001316448104100307

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import brennan_prediger
    >>> df = pd.DataFrame(EXAMPLE)
    >>> round(brennan_prediger(df), 4)
    0.3333
    """
    coded = code_annotations(data, func="brennan_prediger", categories=categories)
    check_single_label(coded, "brennan_prediger")
    W = agreement_weights(weights, len(coded.categories), func="brennan_prediger")
    pa, pe = multi_pa_pe("bp", coded.counts, W)
    return finish(pa[0] - pe[0], 1 - pe[0], func="brennan_prediger", replace_undefined_by=replace_undefined_by)
