"""Percent agreement: the share of agreeing annotator pairs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from qa_toolkit.agreement._common import EXAMPLE, resolve_duplicates  # noqa: F401  (EXAMPLE: doctests)
from qa_toolkit.agreement._engine import multi_pa_pe
from qa_toolkit.agreement._weights import agreement_weights
from qa_toolkit.engines.coding import code_annotations

__all__ = ["percent_agreement"]


def percent_agreement(
    data: pd.DataFrame, *, weights: Any = None, categories: Any = None, duplicates: str = "error"
) -> float:
    """Share of agreeing annotator pairs, averaged over tasks with two or more labels.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table (``task``, ``annotator``, ``label``), one label per
        (task, annotator).
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        Partial-credit agreement weights: label values for numeric labels (R irrCAC
        ``pa.coeff.raw``), positions in ``categories`` otherwise (see
        :func:`qa_toolkit.agreement.fleiss_kappa`).
    categories : list, optional
        The label set and its order (default: sorted distinct labels).
    duplicates : {'error', 'first', 'last'}, default='error'
        Several labels by one annotator on one task (test-retest): raise, or keep the
        first / last one (``created_at`` order when present, else row order).

    Returns
    -------
    float
        In [0, 1]. Not chance-corrected: with a dominant label it is high even when
        annotators label at random (compare with :func:`fleiss_kappa`).

    Notes
    -----
    For task i with ``r_i`` labels and ``r_ik`` labels k, the task's agreement is
    ``sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))``; tasks with one label are left out
    (Gwet 2014, eq. 2.9; R irrCAC ``pa.coeff.raw``). For two annotators it is the share
    of tasks on which they agree.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import percent_agreement
    >>> df = pd.DataFrame(EXAMPLE)
    >>> round(percent_agreement(df), 4)
    0.6667
    """
    data = resolve_duplicates(data, duplicates, func="percent_agreement")
    coded = code_annotations(data, func="percent_agreement", categories=categories)
    W = agreement_weights(weights, coded.categories, func="percent_agreement")
    pa, _ = multi_pa_pe("percent", coded.counts, W)
    return float(pa[0])


