"""First look at an annotation table: who labelled what, how much overlap, what is missing.

These are the numbers of the first section of the ``qa-toolkit audit`` report and of
``notebooks/01_quickstart.ipynb``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_columns
from qa_toolkit.engines._intcode import sorted_codes
from qa_toolkit.table import REQUIRED_COLUMNS

__all__ = ["summary", "task_overview", "annotator_overview", "label_overview", "data_issues"]


def _check(data: pd.DataFrame, func: str) -> None:
    check_columns(data, REQUIRED_COLUMNS, func=func)


#: Largest (groups x values) grid :func:`_distinct_per_group` marks in a byte map instead of sorting.
_GRID_CELLS = 2**27


def _distinct_per_group(g: np.ndarray, n_groups: int, v: np.ndarray) -> np.ndarray:
    """Distinct non-missing values ``v`` (codes >= 0) per group ``g`` (codes >= 0), in linear time.

    Sorts the (group, value) pairs as integers, keeps the first of each run and counts them
    with one ``bincount``: the same numbers as ``groupby(...).nunique()`` without its per-group work.
    """
    ok = (g >= 0) & (v >= 0)
    width = np.int64(v.max() + 1) if ok.any() else np.int64(1)
    if n_groups * int(width) <= _GRID_CELLS:  # issue 14: mark the (group, value) cells, no sort
        seen = np.zeros(n_groups * int(width), dtype=bool)
        seen[(g[ok].astype(np.int64) * width + v[ok]) if not ok.all() else g.astype(np.int64) * width + v] = True
        return seen.reshape(n_groups, int(width)).sum(axis=1)
    pairs = np.sort(g[ok].astype(np.int64) * width + v[ok])  # numpy's vectorised sort beats a hash table
    first = np.r_[True, pairs[1:] != pairs[:-1]] if len(pairs) else np.zeros(0, dtype=bool)
    return np.bincount(pairs[first] // width, minlength=n_groups)


def _duplicated_rows(data: pd.DataFrame) -> np.ndarray:
    """``data.duplicated()`` (keep the first) from one integer key per row and a stable sort.

    Like pandas, it factorises every column (missing values equal to each other); the codes
    are combined into one int64 key, which is sorted instead of hashed. Falls back to
    ``data.duplicated()`` when a column cannot be factorised or the key would overflow.
    """
    from qa_toolkit.engines.coding import any_duplicate_pairs

    if {"task", "annotator"} <= set(data.columns) and not (data["task"].isna().any() or data["annotator"].isna().any()) \
            and not any_duplicate_pairs(data):  # issue 14: no repeated (task, annotator), no repeated row
        return np.zeros(len(data), dtype=bool)
    key = np.zeros(len(data), dtype=np.int64)
    size = 1
    try:
        for i in range(data.shape[1]):
            codes, uniques = pd.factorize(data.iloc[:, i])
            size *= len(uniques) + 1
            if size >= 2**62:
                return data.duplicated().to_numpy()
            key = key * (len(uniques) + 1) + (np.asarray(codes, dtype=np.int64) + 1)
    except TypeError:  # unhashable cells (lists)
        return data.duplicated().to_numpy()
    order = np.argsort(key, kind="stable")
    ranked = key[order]
    dup = np.empty(len(key), dtype=bool)
    dup[order] = np.r_[False, ranked[1:] == ranked[:-1]] if len(key) else ranked.astype(bool)
    return dup


def _codes(col: pd.Series, *, sort: bool = True) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(col, sort=sort)`` as (codes, uniques); -1 for missing values.

    Sorted codes come from :func:`~qa_toolkit.engines._intcode.sorted_codes` (the same codes;
    integer ids in a compact range are coded by one ``bincount``, categoricals keep their
    codes): issue 14, where every count per task, annotator or label only needs consistent
    codes. ``sort=False`` numbers the values in order of first appearance.
    """
    if sort:
        codes, uniques = sorted_codes(col)
        return np.asarray(codes), uniques
    codes, uniques = pd.factorize(col, sort=False)
    return np.asarray(codes), pd.Index(uniques)


def summary(data: pd.DataFrame) -> pd.Series:
    """Headline counts of a canonical table.

    Returns
    -------
    pandas.Series
        ``n_rows``, ``n_tasks``, ``n_annotators``, ``n_labels`` (distinct),
        ``mean_annotators_per_task``, ``share_tasks_multi_annotated`` (tasks with two or
        more annotators), ``n_missing_labels``, ``n_duplicate_rows``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    >>> summary(df)["share_tasks_multi_annotated"]
    0.5
    """
    _check(data, "summary")
    t, tasks = _codes(data["task"])
    a, annotators = _codes(data["annotator"])
    per_task = pd.Series(_distinct_per_group(t, len(tasks), a))
    return pd.Series(
        {
            "n_rows": len(data),
            "n_tasks": len(tasks),  # the distinct non-missing values: nunique()
            "n_annotators": len(annotators),
            "n_labels": int(data["label"].nunique()),
            "mean_annotators_per_task": float(per_task.mean()) if len(per_task) else np.nan,
            "share_tasks_multi_annotated": float((per_task >= 2).mean()) if len(per_task) else np.nan,
            "n_missing_labels": int(data["label"].isna().sum()),
            "n_duplicate_rows": int(_duplicated_rows(data).sum()),
        },
        name="value",
        dtype=object,
    )


def task_overview(data: pd.DataFrame) -> pd.DataFrame:
    """One row per task: ``n_annotators``, ``n_rows``, ``n_distinct_labels``, ``unanimous``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    >>> task_overview(df)["n_annotators"].tolist()
    [2, 1]
    """
    _check(data, "task_overview")
    t, tasks = _codes(data["task"])
    a, _ = _codes(data["annotator"])
    v, _ = _codes(data["label"])
    out = pd.DataFrame(
        {
            "n_annotators": _distinct_per_group(t, len(tasks), a),
            "n_rows": np.bincount(t[t >= 0], minlength=len(tasks)),
            "n_distinct_labels": _distinct_per_group(t, len(tasks), v),
        },
        index=tasks.rename("task"),
    )
    out["unanimous"] = (out["n_distinct_labels"] == 1) & (out["n_annotators"] >= 2)
    return out


def annotator_overview(data: pd.DataFrame) -> pd.DataFrame:
    """One row per annotator: ``n_tasks``, ``n_rows``, ``share_of_tasks``, ``top_label``,
    ``top_label_share`` and, when the table has them, ``median_lead_time``,
    ``first_seen`` and ``last_seen``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    >>> float(annotator_overview(df).loc["a", "top_label_share"])
    1.0
    """
    _check(data, "annotator_overview")
    g = data.groupby("annotator", sort=True, observed=True)
    a, annotators = _codes(data["annotator"])
    t, tasks = _codes(data["task"])
    n_tasks_total = len(tasks)  # data["task"].nunique()
    out = pd.DataFrame({"n_tasks": _distinct_per_group(a, len(annotators), t),
                        "n_rows": np.bincount(a[a >= 0], minlength=len(annotators))},
                       index=annotators.rename("annotator"))
    out["share_of_tasks"] = out["n_tasks"] / max(n_tasks_total, 1)
    counts = data.groupby(["annotator", "label"], sort=True).size().rename("n")
    top = counts.sort_values(ascending=False, kind="stable").groupby(level=0).head(1).reset_index(level=1)
    out["top_label"] = top["label"].reindex(out.index)
    out["top_label_share"] = top["n"].reindex(out.index) / out["n_rows"]
    if "lead_time" in data.columns:
        out["median_lead_time"] = g["lead_time"].median()
    if "created_at" in data.columns:
        out["first_seen"] = g["created_at"].min()
        out["last_seen"] = g["created_at"].max()
    return out


def label_overview(data: pd.DataFrame) -> pd.DataFrame:
    """One row per label: ``n_rows``, ``share``, ``n_tasks``, ``n_annotators``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    >>> label_overview(df)["n_rows"].to_dict()
    {'x': 2, 'y': 1}
    """
    _check(data, "label_overview")
    v, labels = _codes(data["label"])
    t, _ = _codes(data["task"])
    a, _ = _codes(data["annotator"])
    out = pd.DataFrame({"n_rows": np.bincount(v[v >= 0], minlength=len(labels)),
                        "n_tasks": _distinct_per_group(v, len(labels), t),
                        "n_annotators": _distinct_per_group(v, len(labels), a)},
                       index=labels.rename("label"))
    out.insert(1, "share", out["n_rows"] / out["n_rows"].sum())
    return out.sort_values("n_rows", ascending=False, kind="stable")


def data_issues(data: pd.DataFrame) -> pd.DataFrame:
    """Rows with a problem, one row per offending row of ``data``.

    Columns: ``row`` (position in ``data``), ``task``, ``annotator``, ``issue``
    (``missing_label``, ``missing_task``, ``missing_annotator``, ``duplicate_row``,
    ``single_annotator_task``) and ``detail``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "a", "b"], "label": ["x", "x", None]})
    >>> data_issues(df)["issue"].tolist()
    ['missing_label', 'duplicate_row']
    """
    _check(data, "data_issues")
    frames = []
    for col in REQUIRED_COLUMNS:
        bad = data[col].isna().to_numpy()
        if bad.any():
            frames.append(_issue_rows(data, bad, f"missing_{col}", f"{col} is empty"))
    dup = _duplicated_rows(data)
    if dup.any():
        frames.append(_issue_rows(data, dup, "duplicate_row", "same as an earlier row"))
    t, tasks = _codes(data["task"], sort=False)  # numbered in order of first appearance (below)
    a, _ = _codes(data["annotator"])
    per_task = _distinct_per_group(t, len(tasks), a)
    n_ann = np.where(t >= 0, per_task[np.maximum(t, 0)], np.nan)  # no task: neither single nor multi (as groupby)
    # first row of each task: codes are numbered in order of first appearance
    first_row = t > np.maximum.accumulate(np.r_[-1, t[:-1]]) if len(t) else np.zeros(0, dtype=bool)
    single = (n_ann < 2) & first_row
    if single.any() and (n_ann >= 2).any():
        frames.append(_issue_rows(data, single, "single_annotator_task", "only one annotator: no agreement possible"))
    if not frames:
        return pd.DataFrame(columns=["row", "task", "annotator", "issue", "detail"])
    return pd.concat(frames, ignore_index=True)


def _issue_rows(data: pd.DataFrame, mask: np.ndarray, issue: str, detail: str) -> pd.DataFrame:
    idx = np.flatnonzero(mask)
    return pd.DataFrame(
        {
            "row": idx,
            "task": data["task"].to_numpy()[idx],
            "annotator": data["annotator"].to_numpy()[idx],
            "issue": issue,
            "detail": detail,
        }
    )
