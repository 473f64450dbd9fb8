"""Test-retest (intra-annotator) agreement: one annotator labelling the same task twice."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_columns
from qa_toolkit.agreement._common import chronological_order, region_hint
from qa_toolkit.agreement._engine import cohen_pa_pe, confusion
from qa_toolkit.agreement._weights import agreement_weights

__all__ = ["intra_annotator_agreement"]

_FUNC = "intra_annotator_agreement"
_COLUMNS = ["scope", "annotator", "n", "n_repeat_rows", "percent_agreement", "cohen_kappa"]


def _kappa(first: np.ndarray, second: np.ndarray, K: int, W: np.ndarray) -> tuple[float, float]:
    if len(first) == 0:
        return np.nan, np.nan
    M = confusion(first, second, K)
    pa, pe = cohen_pa_pe(M, W)
    kappa = (pa - pe) / (1 - pe) if pe < 1 - 1e-15 else np.nan
    return float(pa), float(kappa)


def intra_annotator_agreement(
    data: pd.DataFrame, *, field: Any = None, weights: Any = None, categories: Any = None
) -> pd.DataFrame:
    """Test-retest agreement of annotators who labelled the same task more than once.

    For every (task, annotator) with two or more labels, the first and the second label
    (in ``created_at`` order when the table has that column, else in row order) form a
    pair; agreement is measured between the first and the second labels, per annotator
    and over all pairs.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table (``task``, ``annotator``, ``label``; optional ``created_at``).
    field : hashable, optional
        The field to use when the table has a ``field`` column with several fields.
    weights : {None, 'linear', 'quadratic'} or array of shape (K, K), default=None
        Weights of the kappa and of the agreement (label values for numeric labels, see
        :func:`qa_toolkit.agreement.cohen_kappa`).
    categories : list, optional
        Label set and order (default: the sorted labels of the repeated tasks).

    Returns
    -------
    pandas.DataFrame
        One row per annotator with repeats (``scope='annotator'``) and a last row
        ``scope='overall'`` (``annotator`` missing): ``n`` (repeated (task, annotator)
        pairs), ``n_repeat_rows`` (rows beyond the first label of each pair),
        ``percent_agreement`` (share of pairs whose first and second labels agree,
        weighted when ``weights`` is given) and ``cohen_kappa`` (first vs second label;
        NaN when undefined, e.g. one label in use). No repeats: only the overall row,
        with ``n = 0``.

    Raises
    ------
    AnnotationFormatError
        The repeated rows are regions (boxes, spans, ...), a multilabel field or several
        fields: several rows per (task, annotator) are expected there and are not
        repeats.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3, 1], "annotator": list("aaaabbb"),
    ...                    "label": ["x", "x", "y", "x", "y", "y", "x"]})
    >>> out = intra_annotator_agreement(df)
    >>> out[["scope", "n", "percent_agreement"]].round(4).values.tolist()
    [['annotator', 2, 0.5], ['annotator', 1, 1.0], ['overall', 3, 0.6667]]
    >>> out["annotator"].tolist()[:2]
    ['a', 'b']
    """
    check_columns(data, ["task", "annotator", "label"], func=_FUNC)
    d = data
    if "field" in d.columns and d["field"].nunique(dropna=False) > 1:
        fields = [str(f) for f in pd.unique(d["field"])][:20]
        if field is None:
            raise QAInputError(f"The 'field' parameter of {_FUNC} is needed: the table has several fields {fields}.")
        d = d.loc[d["field"] == field]
        if len(d) == 0:
            raise QAInputError(f"The 'field' parameter of {_FUNC} must be one of {fields}. Got {field!r} instead.")
    for col in ("task", "annotator", "label"):
        if d[col].isna().any():
            first = int(np.flatnonzero(d[col].isna().to_numpy())[0])
            raise AnnotationFormatError(
                f"{_FUNC}: field {col!r} is missing (NaN) in {int(d[col].isna().sum())} row(s) (first at row {first})."
            )
    d = d.iloc[chronological_order(d)]
    dup = d.duplicated(["task", "annotator"], keep=False).to_numpy()
    rep = d.loc[dup]
    empty = pd.DataFrame([["overall", None, 0, 0, np.nan, np.nan]], columns=_COLUMNS)
    if len(rep) == 0:
        return empty
    hint = region_hint(rep)
    if hint is not None:
        raise AnnotationFormatError(f"{_FUNC}: the repeated rows are not test-retest labels; {hint}")
    rank = rep.groupby(["task", "annotator"], sort=False).cumcount().to_numpy()
    firsts = rep.loc[rank == 0, ["task", "annotator", "label"]]
    seconds = rep.loc[rank == 1, ["task", "annotator", "label"]]
    pairs = firsts.merge(seconds, on=["task", "annotator"], suffixes=("_1", "_2"))
    extra = rep.loc[rank >= 1].groupby("annotator", sort=False).size()
    if categories is None:
        try:
            cats = pd.Index(sorted(pd.unique(pd.concat([pairs["label_1"], pairs["label_2"]]))))
        except TypeError as exc:
            raise AnnotationFormatError(
                f"{_FUNC}: the labels mix types that cannot be ordered ({exc}); convert 'label' to one type."
            ) from None
    else:
        cats = pd.Index(list(categories))
    c1, c2 = cats.get_indexer(pairs["label_1"]), cats.get_indexer(pairs["label_2"])
    if (c1 < 0).any() or (c2 < 0).any():
        unknown = pd.unique(pd.concat([pairs["label_1"][c1 < 0], pairs["label_2"][c2 < 0]]))[:5].tolist()
        raise QAInputError(f"The 'categories' parameter of {_FUNC} must contain every label; {unknown} are not in it.")
    K = len(cats)
    W = agreement_weights(weights, cats, func=_FUNC)
    rows = []
    ann = pairs["annotator"].to_numpy()
    for a in sorted(pd.unique(ann), key=str):
        m = ann == a
        pa, kappa = _kappa(c1[m], c2[m], K, W)
        rows.append(["annotator", a, int(m.sum()), int(extra.get(a, 0)), pa, kappa])
    pa, kappa = _kappa(c1, c2, K, W)
    rows.append(["overall", None, len(pairs), int(extra.sum()), pa, kappa])
    return pd.DataFrame(rows, columns=_COLUMNS)
