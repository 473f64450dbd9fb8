"""Gold checks and label equality shared by the upper layers (annotators, triage, release)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns

__all__ = ["check_gold", "same_label", "loo_agreement"]


def check_gold(gold, data: pd.DataFrame, *, func: str) -> pd.Series:
    """Validate ``gold`` (Series indexed by task) against ``data``; return it without NaN.

    Parameters
    ----------
    gold : pandas.Series
        Gold labels indexed by task.
    data : pandas.DataFrame
        Canonical long annotations.
    func : str
        Name of the calling function, for the message.

    Returns
    -------
    pandas.Series
        ``gold`` without missing values or duplicate tasks.

    Raises
    ------
    QAInputError
        When ``gold`` is not a Series or none of its tasks is in ``data``.
    """
    if not isinstance(gold, pd.Series):
        raise QAInputError(
            f"The 'gold' parameter of {func} must be a pandas Series of labels indexed by task. "
            f"Got {type(gold).__name__} instead."
        )
    gold = gold.dropna()
    gold = gold[~gold.index.duplicated()]
    if len(gold) and not gold.index.isin(data["task"].unique()).any():
        raise QAInputError(
            f"The 'gold' parameter of {func}: none of its {len(gold)} tasks is in the annotations "
            f"(gold tasks e.g. {list(gold.index[:3])}, annotation tasks e.g. "
            f"{list(pd.unique(data['task'])[:3])}). Index gold by the same task ids."
        )
    return gold


def same_label(a, b) -> np.ndarray:
    """Elementwise label equality that treats ``1``, ``1.0`` and ``'1'`` alike.

    Parameters
    ----------
    a, b : array-like
        Labels of equal length.

    Returns
    -------
    numpy.ndarray of bool
        True where the labels are equal.

    Examples
    --------
    >>> same_label([1, "x"], ["1.0", "y"]).tolist()
    [True, False]
    """
    if len(a) >= 64 and _is_text(a) and _is_text(b):  # text columns: no object copy of the rows
        sa, sb = pd.Series(a).reset_index(drop=True), pd.Series(b).reset_index(drop=True)
        return _same_label_coded(sa, sb, lambda m: pd.Series(np.asarray(sa[m])).astype(object),
                                 lambda m: pd.Series(np.asarray(sb[m])).astype(object))
    a, b = pd.Series(np.asarray(a)), pd.Series(np.asarray(b))
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        return (a.to_numpy() == b.to_numpy())
    a, b = a.astype(object), b.astype(object)
    if len(a) < 64 or _ambiguous(a) or _ambiguous(b):
        return _same_label_rows(a, b)
    return _same_label_coded(a, b, lambda m: a[m].reset_index(drop=True), lambda m: b[m].reset_index(drop=True))


def _is_text(x) -> bool:
    """A Series of the string dtype (what Parquet and pandas 3 give for text columns)."""
    return isinstance(x, pd.Series) and isinstance(x.dtype, pd.StringDtype)


def _same_label_coded(a: pd.Series, b: pd.Series, rows_a, rows_b) -> np.ndarray:
    """:func:`same_label` decided once per distinct (a, b) pair of values, then broadcast.

    ``rows_a(mask)`` / ``rows_b(mask)`` give those rows as object Series, for the rows with a
    missing value (decided row by row).
    """
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    ua, ub = np.asarray(ua, dtype=object), np.asarray(ub, dtype=object)
    missing = (ca < 0) | (cb < 0)
    out = np.zeros(len(a), dtype=bool)
    ok = ~missing
    pair = ca[ok].astype(np.int64) * len(ub) + cb[ok]
    if len(ua) * len(ub) <= 4 * len(a):  # a lookup table over all pairs: no sort
        seen = np.zeros(len(ua) * len(ub), dtype=bool)
        seen[pair] = True
        uniq = np.flatnonzero(seen)
        table = np.zeros(len(seen), dtype=bool)
        table[uniq] = _same_label_rows(pd.Series(ua.take(uniq // len(ub)), dtype=object),
                                       pd.Series(ub.take(uniq % len(ub)), dtype=object))
        out[ok] = table[pair]
    else:
        uniq, inv = np.unique(pair, return_inverse=True)
        pa = pd.Series(ua.take(uniq // len(ub)), dtype=object)
        pb = pd.Series(ub.take(uniq % len(ub)), dtype=object)
        out[ok] = _same_label_rows(pa, pb)[inv.ravel()]
    if missing.any():
        out[missing] = _same_label_rows(rows_a(missing), rows_b(missing))
    return out


def _ambiguous(values: pd.Series,
               safe: tuple[str, ...] = ("string", "integer", "boolean", "floating", "empty")) -> bool:
    """True unless ``values`` hold one kind of value that hashing cannot merge across spellings.

    ``pd.factorize`` merges ``1``, ``1.0`` and ``True`` (equal hashes); their text differs.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(values.cat.categories, skipna=True) not in safe
    return pd.api.types.infer_dtype(values, skipna=True) not in safe


def _same_label_rows(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Row-by-row rule of :func:`same_label` on two object Series."""
    na, nb = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    num = na.notna() & nb.notna()
    out = a.astype(str).to_numpy() == b.astype(str).to_numpy()
    out[num.to_numpy()] = (na[num] == nb[num]).to_numpy()
    return out


def loo_agreement(data: pd.DataFrame) -> pd.Series:
    """Leave-one-out agreement of each row: share of the *other* labels on its task that match.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations.

    Returns
    -------
    pandas.Series
        Aligned with ``data``'s rows, name ``loo_agreement``; NaN where the task has no
        other label.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": list("abc"), "label": list("xxy")})
    >>> loo_agreement(df).tolist()
    [0.5, 0.5, 0.0]
    """
    check_columns(data, ["task", "annotator", "label"], func="loo_agreement")
    c = data.groupby(["task", "label"], sort=False, observed=True)["annotator"].transform("size").to_numpy(dtype=float)
    n = data.groupby("task", sort=False)["annotator"].transform("size").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 1, (c - 1) / (n - 1), np.nan)
    return pd.Series(share, index=data.index, name="loo_agreement")
