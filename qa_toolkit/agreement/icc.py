"""Intraclass correlation (ICC) of numeric ratings: one-way and two-way, single and average.

Shrout & Fleiss (1979) and McGraw & Wong (1996), with the F-based confidence intervals
that ``pingouin.intraclass_corr`` and R ``irr::icc`` / ``psych::ICC`` report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from qa_toolkit._validation import (
    AnnotationFormatError,
    QAInputError,
    check_columns,
    check_fraction,
)
from qa_toolkit.units.kinds import py_value

__all__ = ["icc"]

_DESC = {
    "ICC1": "one-way random, single rater (absolute agreement)",
    "ICC2": "two-way random, single rater (absolute agreement)",
    "ICC3": "two-way mixed, single rater (consistency)",
    "ICC1k": "one-way random, average of k raters",
    "ICC2k": "two-way random, average of k raters (absolute agreement)",
    "ICC3k": "two-way mixed, average of k raters (consistency)",
}


def icc(data: pd.DataFrame, *, value: str = "label", confidence: float = 0.95) -> pd.DataFrame:
    """Intraclass correlation coefficients of a (task x annotator) table of numeric ratings.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table ``task``, ``annotator`` and a numeric column (``value``). Only tasks
        rated by every annotator are used (listwise deletion, as pingouin
        ``nan_policy='omit'`` and irr); ``n_tasks`` says how many remain. When no task
        is rated by all annotators but every task has the same number k of ratings
        (different raters per task, as in crowd data), only the one-way ICC1 / ICC1k
        are defined and given; the two-way rows are NaN.
    value : str, default='label'
        Column with the ratings.
    confidence : float, default=0.95
        Coverage of the intervals.

    Returns
    -------
    pandas.DataFrame
        Index ``type`` (ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k); ``description``,
        ``icc``, ``F``, ``df1``, ``df2``, ``pval``, ``ci_low``, ``ci_high``,
        ``n_tasks``, ``n_annotators``. R ``irr::icc(model="twoway", type="agreement",
        unit="single")`` is ICC2; ``type="consistency"`` is ICC3; ``unit="average"``
        the k forms.

    Raises
    ------
    AnnotationFormatError
        Non-numeric ratings, or several ratings per (task, annotator).
    QAInputError
        Fewer than two annotators or two complete tasks.

    References
    ----------
    Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
    rater reliability. Psychological Bulletin 86(2), 420-428.
    McGraw, K. O. & Wong, S. P. (1996). Forming inferences about some intraclass
    correlation coefficients. Psychological Methods 1(1), 30-46.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3, 4, 4], "annotator": list("ab") * 4,
    ...                    "label": [1, 2, 3, 3, 5, 4, 2, 2]})
    >>> round(float(icc(df).loc["ICC2", "icc"]), 4)  # pingouin ICC(A,1): 0.8636
    0.8636
    """
    check_columns(data, ["task", "annotator", value], func="icc")
    conf = check_fraction("confidence", confidence, func="icc")
    x = pd.to_numeric(data[value], errors="coerce")
    if x.isna().any():
        bad = data.loc[x.isna()].iloc[0]
        raise AnnotationFormatError(f"icc needs numeric ratings in {value!r}; task {py_value(bad['task'])!r}, annotator "
                                    f"{py_value(bad['annotator'])!r} has {py_value(bad[value])!r}.")
    d = pd.DataFrame({"task": data["task"].to_numpy(), "annotator": data["annotator"].to_numpy(), "x": x.to_numpy(float)})
    if d.duplicated(["task", "annotator"]).any():
        bad = d.loc[d.duplicated(["task", "annotator"])].iloc[0]
        raise AnnotationFormatError(f"icc needs one rating per (task, annotator); task {py_value(bad['task'])!r} has several "
                                    f"from annotator {py_value(bad['annotator'])!r}.")
    wide = d.pivot(index="task", columns="annotator", values="x")
    Y = wide.dropna().to_numpy()
    per_task = d.groupby("task").size()
    one_way = False
    if len(Y) < 2 and per_task.nunique() == 1 and per_task.iloc[0] >= 2:
        # raters differ between tasks (crowd designs): only the one-way model is defined
        one_way = True
        Y = np.sort(d.sort_values("task", kind="stable")["x"].to_numpy().reshape(len(per_task), -1), axis=1)
    n, k = Y.shape
    if k < 2 or n < 2:
        raise QAInputError(f"icc needs at least two annotators and two tasks rated by all of them; got {n} complete "
                           f"task(s) and {k} annotator(s).")
    grand = Y.mean()
    ss_r = k * ((Y.mean(axis=1) - grand) ** 2).sum()
    ss_c = n * ((Y.mean(axis=0) - grand) ** 2).sum()
    ss_t = ((Y - grand) ** 2).sum()
    ss_e = ss_t - ss_r - ss_c
    msr, msc = ss_r / (n - 1), ss_c / (k - 1)
    mse = ss_e / ((n - 1) * (k - 1))
    msw = (ss_c + ss_e) / (n * (k - 1))
    a = 1 - conf
    icc1 = (msr - msw) / (msr + (k - 1) * msw)
    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    icc3 = (msr - mse) / (msr + (k - 1) * mse)
    icc1k = (msr - msw) / msr
    icc2k = (msr - mse) / (msr + (msc - mse) / n)
    icc3k = (msr - mse) / msr
    # F tests and intervals (Shrout & Fleiss 1979; McGraw & Wong 1996), as pingouin
    f1, df1, df2_1 = msr / msw, n - 1, n * (k - 1)
    f3, df2_3 = msr / mse, (n - 1) * (k - 1)
    p1, p3 = stats.f.sf(f1, df1, df2_1), stats.f.sf(f3, df1, df2_3)
    f1l, f1u = f1 / stats.f.ppf(1 - a / 2, df1, df2_1), f1 * stats.f.ppf(1 - a / 2, df2_1, df1)
    f3l, f3u = f3 / stats.f.ppf(1 - a / 2, df1, df2_3), f3 * stats.f.ppf(1 - a / 2, df2_3, df1)
    fj = msc / mse
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    f2u, f2l = stats.f.ppf(1 - a / 2, n - 1, v), stats.f.ppf(1 - a / 2, v, n - 1)
    l2 = n * (msr - f2u * mse) / (f2u * (k * msc + (k * n - k - n) * mse) + n * msr)
    u2 = n * (f2l * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f2l * msr)
    rows = {
        "ICC1": (icc1, f1, df1, df2_1, p1, (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)),
        "ICC2": (icc2, f3, df1, df2_3, p3, l2, u2),
        "ICC3": (icc3, f3, df1, df2_3, p3, (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)),
        "ICC1k": (icc1k, f1, df1, df2_1, p1, 1 - 1 / f1l, 1 - 1 / f1u),
        "ICC2k": (icc2k, f3, df1, df2_3, p3, l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
        "ICC3k": (icc3k, f3, df1, df2_3, p3, 1 - 1 / f3l, 1 - 1 / f3u),
    }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["icc", "F", "df1", "df2", "pval", "ci_low", "ci_high"])
    if one_way:
        out.loc[["ICC2", "ICC3", "ICC2k", "ICC3k"]] = np.nan
    out.insert(0, "description", [_DESC[t] for t in out.index])
    out["n_tasks"], out["n_annotators"] = n, k
    out.index.name = "type"
    return out
