"""Kappa-type coefficients: Cohen, Scott, Fleiss and Conger."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit.agreement._common import (  # noqa: F401
    EXAMPLE,
    check_paradox,
    check_single_label,
    resolve_duplicates,
    two_raters,
)
from qa_toolkit.agreement._engine import cohen_pa_pe, confusion, conger_pa_pe, multi_pa_pe
from qa_toolkit.agreement._weights import agreement_weights, finish
from qa_toolkit.engines.coding import code_annotations

__all__ = ["cohen_kappa", "scott_pi", "fleiss_kappa", "conger_kappa"]


def cohen_kappa(
    data: pd.DataFrame,
    annotator_a: Any,
    annotator_b: Any,
    *,
    weights: Any = None,
    categories: Any = None,
    replace_undefined_by: float = np.nan,
    duplicates: str = "error",
) -> float:
    """Cohen's kappa between two annotators on the tasks both labelled.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    annotator_a, annotator_b : hashable
        The two annotators (symmetric: swapping them gives the same value).
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        Agreement weights (None: unweighted). Numeric labels (numbers or numeric
        strings) are scored by their VALUES: ``1 - |x_i - x_j| / (x_max - x_min)``
        (squared for 'quadratic'), so on a 1-5 scale where nobody used 3 the value
        equals the one with ``categories=[1, 2, 3, 4, 5]``; this matches R irrCAC
        (``linear.weights``) and SAS PROC FREQ's default table scores (sklearn
        ``cohen_kappa_score`` uses the positions of the labels present instead).
        Other labels are scored by their position in ``categories`` (default: sorted).
        The ends of the scale are the smallest and largest label in use unless
        ``categories`` lists the whole scale (pass it when an end point went unused).
    categories : list, optional
        Label set and order (default: the labels the two annotators used, sorted).
    duplicates : {'error', 'first', 'last'}, default='error'
        Several labels by one annotator on one task (test-retest): raise, or keep the
        first / last one (``created_at`` order when present, else row order). Measure
        the repeats themselves with :func:`qa_toolkit.intra_annotator_agreement`.
    replace_undefined_by : float, default=nan
        Returned, with an :class:`UndefinedAgreementWarning`, when chance agreement is 1.

    Returns
    -------
    float
        ``(p_o - p_e) / (1 - p_e)``, chance agreement from each annotator's own marginals.

    Notes
    -----
    Landis & Koch (1977) bands: < 0 poor, 0-0.2 slight, 0.2-0.4 fair, 0.4-0.6 moderate,
    0.6-0.8 substantial, 0.8-1 almost perfect. A warning flags the prevalence paradox
    (raw agreement >= 0.8 with kappa < 0.4).

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
    Psychological Measurement 20(1), 37-46. doi:10.1177/001316446002000104

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import cohen_kappa
    >>> df = pd.DataFrame(EXAMPLE)
    >>> round(cohen_kappa(df, "a", "b"), 4)
    0.5
    """
    data = resolve_duplicates(data, duplicates, func="cohen_kappa")
    coded, la, lb = two_raters(data, annotator_a, annotator_b, func="cohen_kappa", categories=categories)
    K = len(coded.categories)
    W = agreement_weights(weights, coded.categories, func="cohen_kappa")
    pa, pe = cohen_pa_pe(confusion(la, lb, K), W)
    value = finish(pa - pe, 1 - pe, func="cohen_kappa", replace_undefined_by=replace_undefined_by)
    if weights is None:
        check_paradox(pa, value, "cohen_kappa")
    return value


def scott_pi(
    data: pd.DataFrame,
    annotator_a: Any = None,
    annotator_b: Any = None,
    *,
    weights: Any = None,
    categories: Any = None,
    replace_undefined_by: float = np.nan,
    duplicates: str = "error",
) -> float:
    """Scott's pi between two annotators (chance from the pooled label distribution).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    annotator_a, annotator_b : hashable, optional
        The two annotators; may be left out when the table has exactly two.
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        Agreement weights (None: unweighted). Numeric labels (numbers or numeric
        strings) are scored by their VALUES: ``1 - |x_i - x_j| / (x_max - x_min)``
        (squared for 'quadratic'), so on a 1-5 scale where nobody used 3 the value
        equals the one with ``categories=[1, 2, 3, 4, 5]``; this matches R irrCAC
        (``linear.weights``) and SAS PROC FREQ's default table scores (sklearn
        ``cohen_kappa_score`` uses the positions of the labels present instead).
        Other labels are scored by their position in ``categories`` (default: sorted).
        The ends of the scale are the smallest and largest label in use unless
        ``categories`` lists the whole scale (pass it when an end point went unused).
    categories : list, optional
        Label set and order.
    duplicates : {'error', 'first', 'last'}, default='error'
        Several labels by one annotator on one task (test-retest): raise, or keep the
        first / last one (``created_at`` order when present, else row order). Measure
        the repeats themselves with :func:`qa_toolkit.intra_annotator_agreement`.
    replace_undefined_by : float, default=nan
        Value returned when chance agreement is 1.

    Returns
    -------
    float
        The coefficient (``replace_undefined_by`` when undefined).

    References
    ----------
    Scott, W. A. (1955). Reliability of content analysis: the case of nominal scale
    coding. Public Opinion Quarterly 19(3), 321-325. doi:10.1086/266577

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import scott_pi
    >>> df = pd.DataFrame(EXAMPLE)
    >>> round(scott_pi(df, "a", "b"), 4)
    0.4667
    """
    data = resolve_duplicates(data, duplicates, func="scott_pi")
    coded, la, lb = two_raters(data, annotator_a, annotator_b, func="scott_pi", categories=categories)
    K = len(coded.categories)
    W = agreement_weights(weights, coded.categories, func="scott_pi")
    pa, pe = cohen_pa_pe(confusion(la, lb, K), W, kind="scott")
    return finish(pa - pe, 1 - pe, func="scott_pi", replace_undefined_by=replace_undefined_by)


def fleiss_kappa(
    data: pd.DataFrame,
    *,
    weights: Any = None,
    categories: Any = None,
    replace_undefined_by: float = np.nan,
    duplicates: str = "error",
) -> float:
    """Fleiss' kappa for any number of annotators per task.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        Agreement weights (None: unweighted). Numeric labels (numbers or numeric
        strings) are scored by their VALUES: ``1 - |x_i - x_j| / (x_max - x_min)``
        (squared for 'quadratic'), so on a 1-5 scale where nobody used 3 the value
        equals the one with ``categories=[1, 2, 3, 4, 5]``; this matches R irrCAC
        (``linear.weights``) and SAS PROC FREQ's default table scores (sklearn
        ``cohen_kappa_score`` uses the positions of the labels present instead).
        Other labels are scored by their position in ``categories`` (default: sorted).
        The ends of the scale are the smallest and largest label in use unless
        ``categories`` lists the whole scale (pass it when an end point went unused).
    categories : list, optional
        Label set and order.
    duplicates : {'error', 'first', 'last'}, default='error'
        Several labels by one annotator on one task (test-retest): raise, or keep the
        first / last one (``created_at`` order when present, else row order). Measure
        the repeats themselves with :func:`qa_toolkit.intra_annotator_agreement`.
    replace_undefined_by : float, default=nan
        Value returned when chance agreement is 1 (a single label in use).

    Returns
    -------
    float
        The coefficient (``replace_undefined_by`` when undefined).

    Notes
    -----
    Varying numbers of raters (the policy): observed agreement is averaged over tasks
    with two or more labels; the label distribution ``pi_k`` is the mean over all tasks
    of each task's share of label k (Gwet 2014, eq. 2.10, R irrCAC
    ``fleiss.kappa.raw``). With the same number of raters on every task this is Fleiss
    (1971) exactly (statsmodels ``fleiss_kappa``, R irr ``kappam.fleiss``).

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    Psychological Bulletin 76(5), 378-382. doi:10.1037/h0031619

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import fleiss_kappa
    >>> df = pd.DataFrame(EXAMPLE)
    >>> round(fleiss_kappa(df), 4)
    0.3333
    """
    data = resolve_duplicates(data, duplicates, func="fleiss_kappa")
    coded = code_annotations(data, func="fleiss_kappa", categories=categories)
    check_single_label(coded, "fleiss_kappa")
    W = agreement_weights(weights, coded.categories, func="fleiss_kappa")
    pa, pe = multi_pa_pe("fleiss", coded.counts, W)
    value = finish(pa[0] - pe[0], 1 - pe[0], func="fleiss_kappa", replace_undefined_by=replace_undefined_by)
    if weights is None:
        check_paradox(float(pa[0]), value, "fleiss_kappa")
    return value


def conger_kappa(
    data: pd.DataFrame,
    *,
    weights: Any = None,
    categories: Any = None,
    replace_undefined_by: float = np.nan,
    duplicates: str = "error",
) -> float:
    """Conger's kappa: Cohen's kappa generalised to many annotators.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        Agreement weights (None: unweighted). Numeric labels (numbers or numeric
        strings) are scored by their VALUES: ``1 - |x_i - x_j| / (x_max - x_min)``
        (squared for 'quadratic'), so on a 1-5 scale where nobody used 3 the value
        equals the one with ``categories=[1, 2, 3, 4, 5]``; this matches R irrCAC
        (``linear.weights``) and SAS PROC FREQ's default table scores (sklearn
        ``cohen_kappa_score`` uses the positions of the labels present instead).
        Other labels are scored by their position in ``categories`` (default: sorted).
        The ends of the scale are the smallest and largest label in use unless
        ``categories`` lists the whole scale (pass it when an end point went unused).
    categories : list, optional
        Label set and order.
    duplicates : {'error', 'first', 'last'}, default='error'
        Several labels by one annotator on one task (test-retest): raise, or keep the
        first / last one (``created_at`` order when present, else row order). Measure
        the repeats themselves with :func:`qa_toolkit.intra_annotator_agreement`.
    replace_undefined_by : float, default=nan
        Value returned when chance agreement is 1.

    Returns
    -------
    float
        Equals Cohen's kappa for two annotators with complete data.

    Notes
    -----
    Chance agreement uses each annotator's own label distribution (over the tasks that
    annotator labelled), as in Gwet (2014) eq. 2.27 and R irrCAC ``conger.kappa.raw``.

    References
    ----------
    Conger, A. J. (1980). Integration and generalization of kappas for multiple raters.
    Psychological Bulletin 88(2), 322-328. doi:10.1037/0033-2909.88.2.322

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import conger_kappa
    >>> df = pd.DataFrame(EXAMPLE)
    >>> round(conger_kappa(df), 4)
    0.3846
    """
    data = resolve_duplicates(data, duplicates, func="conger_kappa")
    coded = code_annotations(data, func="conger_kappa", categories=categories)
    check_single_label(coded, "conger_kappa")
    W = agreement_weights(weights, coded.categories, func="conger_kappa")
    pa, pe = conger_pa_pe(coded.counts, coded.t, coded.a, coded.l, len(coded.annotators), W)
    return finish(pa - pe, 1 - pe, func="conger_kappa", replace_undefined_by=replace_undefined_by)
