"""Gwet's AC1/AC2 and the Brennan-Prediger coefficient."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit.agreement._common import EXAMPLE, check_single_label, resolve_duplicates  # noqa: F401
from qa_toolkit.agreement._engine import multi_pa_pe
from qa_toolkit.agreement._weights import agreement_weights, finish
from qa_toolkit.engines.coding import code_annotations

__all__ = ["gwet_ac1", "brennan_prediger"]


def gwet_ac1(
    data: pd.DataFrame,
    *,
    weights: Any = None,
    categories: Any = None,
    replace_undefined_by: float = np.nan,
    duplicates: str = "error",
) -> float:
    """Gwet's AC1 (unweighted) or AC2 (with ``weights``), any number of annotators.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        None gives AC1; weights give AC2. Numeric labels are scored by their values
        (``1 - |x_i - x_j| / (x_max - x_min)``, squared for 'quadratic'), other labels
        by their position in ``categories``, as R irrCAC ``gwet.ac1.raw``.
    categories : list, optional
        Label set and order; its length is ``q`` in the chance term, so pass the full
        label set when some labels were never used.
    duplicates : {'error', 'first', 'last'}, default='error'
        Several labels by one annotator on one task (test-retest): raise, or keep the
        first / last one (``created_at`` order when present, else row order). Measure
        the repeats themselves with :func:`qa_toolkit.intra_annotator_agreement`.
    replace_undefined_by : float, default=nan
        Value returned when the coefficient is undefined (a single category).

    Returns
    -------
    float
        The coefficient (``replace_undefined_by`` when undefined).

    Notes
    -----
    ``pe = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k)``; observed agreement as in
    :func:`fleiss_kappa`. ``q`` is the number of categories (the labels in use unless
    ``categories`` is given) and ``T_w`` the sum of the weights, as R irrCAC
    ``gwet.ac1.raw`` (``categ.labels``): unlike kappa, AC2 changes when an unused
    scale point is added to ``categories``. AC1 is far less sensitive than kappa to skewed prevalence.

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
    data = resolve_duplicates(data, duplicates, func="gwet_ac1")
    coded = code_annotations(data, func="gwet_ac1", categories=categories)
    check_single_label(coded, "gwet_ac1")
    W = agreement_weights(weights, coded.categories, func="gwet_ac1")
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
    duplicates: str = "error",
) -> float:
    """Brennan-Prediger coefficient: chance agreement ``1 / q`` (uniform labels).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        Agreement weights (chance term ``T_w / q^2``), scored by label values for
        numeric labels and by position otherwise, as R irrCAC ``bp.coeff.raw``; ``q``
        and ``T_w`` change when unused scale points are added to ``categories``.
    categories : list, optional
        Label set; ``q`` is its length.
    duplicates : {'error', 'first', 'last'}, default='error'
        Several labels by one annotator on one task (test-retest): raise, or keep the
        first / last one (``created_at`` order when present, else row order). Measure
        the repeats themselves with :func:`qa_toolkit.intra_annotator_agreement`.
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
    data = resolve_duplicates(data, duplicates, func="brennan_prediger")
    coded = code_annotations(data, func="brennan_prediger", categories=categories)
    check_single_label(coded, "brennan_prediger")
    W = agreement_weights(weights, coded.categories, func="brennan_prediger")
    pa, pe = multi_pa_pe("bp", coded.counts, W)
    return finish(pa[0] - pe[0], 1 - pe[0], func="brennan_prediger", replace_undefined_by=replace_undefined_by)
