"""The issue-table contract, its checker, its reader, and the one review priority.

Every detector (label errors, CROWDLAB, neighbours, duplicates, clusters, fusion, annotator
flags, drift) emits a tidy table with

* a key: ``task`` (a column, or the index named ``task``), plus ``unit`` where the finding
  is finer than a task (a matched object, a task-label); annotator flags use ``annotator``;
* one or more pairs ``is_<name>_issue`` (bool) and ``<name>_score`` (in [0, 1], **lower =
  worse**);
* optionally ``reasons`` (words for a reviewer).

Other columns (component scores, suggested labels) may ride along. cleanlab's historical
pair ``is_label_issue`` / ``label_quality`` is read as the pair ``label``. A table carrying
the ``fused`` pair (``qa.fused_issue_table``) already combines its components, so only that
pair is read from it.

The review priority is defined once, by :func:`review_priority`: the noisy-OR
``1 - prod(1 - s)`` of the signals, where each signal is in [0, 1] with higher = more
suspicious (for an issue pair, ``1 - <name>_score``; a flag without a score counts 1).
The review queue and every other ranking call it. Layer 1: imports only
``qa_toolkit._validation``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError

__all__ = ["issue_columns", "issue_pairs", "check_issue_table", "issue_signals", "review_priority"]

#: legacy score column names read as the score of a pair (cleanlab's label_quality)
_LEGACY_SCORES = {"label": "label_quality"}
_NOT_ISSUES = ("priority",)


def issue_pairs(table: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """The complete ``is_<name>_issue`` / ``<name>_score`` pairs of a table.

    Parameters
    ----------
    table : pandas.DataFrame
        Any table.

    Returns
    -------
    dict
        ``{name: (flag column, score column)}`` in column order.

    Examples
    --------
    >>> t = pd.DataFrame(columns=["task", "is_fused_issue", "fused_score", "x_score"])
    >>> issue_pairs(t)
    {'fused': ('is_fused_issue', 'fused_score')}
    """
    cols = [str(c) for c in table.columns]
    have = set(cols)
    out: dict[str, tuple[str, str]] = {}
    for c in cols:
        if c.startswith("is_") and c.endswith("_issue") and len(c) > len("is__issue"):
            name = c[3:-6]
            score = f"{name}_score" if f"{name}_score" in have else _LEGACY_SCORES.get(name)
            if score is not None and score in have and name not in _NOT_ISSUES:
                out[name] = (c, score)
    return out


def issue_columns(table: pd.DataFrame) -> list[str]:
    """Names of every ``is_<name>_issue`` / ``<name>_score`` pair in a table.

    Parameters
    ----------
    table : pandas.DataFrame
        Any table.

    Returns
    -------
    list of str
        The ``<name>`` of each complete pair, in column order.

    Examples
    --------
    >>> t = pd.DataFrame(columns=["task", "is_label_issue", "label_quality",
    ...                           "is_neighbour_issue", "neighbour_score"])
    >>> issue_columns(t)
    ['label', 'neighbour']
    """
    return list(issue_pairs(table))


def _orphans(table: pd.DataFrame, pairs: Mapping[str, tuple[str, str]]) -> list[str]:
    used = {c for pair in pairs.values() for c in pair}
    return [str(c) for c in table.columns
            if str(c) not in used and ((str(c).startswith("is_") and str(c).endswith("issue"))
                                       or str(c).endswith("_score"))]


def check_issue_table(table, *, func: str, key: str = "task", name: str = "issues") -> pd.DataFrame:
    """Check that a table follows the issue contract; return it with ``key`` as a column.

    Parameters
    ----------
    table : pandas.DataFrame
        The candidate issue table.
    func : str
        The function that received it (named in errors).
    key : str, default='task'
        The key column (``annotator`` for annotator flags).
    name : str, default='issues'
        The parameter that carried it (named in errors).

    Returns
    -------
    pandas.DataFrame
        ``table`` with ``key`` as a column (moved out of the index when it was there).

    Raises
    ------
    QAInputError
        Not a DataFrame, no ``key`` column or index, or no complete pair; the message names
        the columns that break the contract (a lone ``is_issue``, a score without its flag,
        a flag without its score).

    Examples
    --------
    >>> check_issue_table(pd.DataFrame({"task": [1], "is_issue": [True]}), func="f")
    Traceback (most recent call last):
    ...
    qa_toolkit._validation.QAInputError: The 'issues' parameter of f does not follow the issue \
contract (a 'task' key, is_<name>_issue with <name>_score, lower score = worse): no complete \
pair; column(s) ['is_issue'] have no partner.
    """
    if not isinstance(table, pd.DataFrame):
        raise QAInputError(f"The {name!r} parameter of {func} must be a DataFrame following the issue contract "
                           f"({key}, is_<name>_issue, <name>_score). Got {type(table).__name__}.")
    t = table.reset_index() if key not in table.columns and table.index.name == key else table
    contract = (f"The {name!r} parameter of {func} does not follow the issue contract (a {key!r} key, "
                "is_<name>_issue with <name>_score, lower score = worse)")
    if key not in t.columns:
        raise QAInputError(f"{contract}: no {key!r} column or index; columns {list(t.columns)[:12]}.")
    pairs = issue_pairs(t)
    if not pairs:
        orphans = _orphans(t, pairs)
        what = f"column(s) {orphans} have no partner" if orphans else f"columns {list(t.columns)[:12]}"
        raise QAInputError(f"{contract}: no complete pair; {what}.")
    return t


def _per_key(t: pd.DataFrame, on: list[str], pairs: Mapping[str, tuple[str, str]]) -> pd.DataFrame:
    """One row per key of a finer table (per annotation, token...): the worst finding wins
    (lowest score, any flag, the reasons of a flagged row first)."""
    if not t.duplicated(on).any():
        return t
    cols = [c for pair in pairs.values() for c in pair]
    flags = [fl for fl, _ in pairs.values()]
    work = t[on + cols + (["reasons"] if "reasons" in t.columns else [])].copy()
    for fl in flags:
        work[fl] = work[fl].astype("boolean").fillna(False).astype(bool)
    agg: dict[str, str] = {sc: "min" for _, sc in pairs.values()}
    agg.update({fl: "max" for fl in flags})
    out = work.groupby(on, sort=False, dropna=False).agg(agg)
    if "reasons" in work.columns:
        flagged = work[flags].any(axis=1).to_numpy()
        text = work.assign(_f=~flagged).sort_values("_f", kind="stable")  # flagged rows' reasons first
        text = text[text["reasons"].map(lambda r: isinstance(r, str) and bool(r))]
        out["reasons"] = text.groupby(on, sort=False)["reasons"].first().reindex(out.index)
    return out.reset_index()


def issue_signals(issues, keys: pd.DataFrame, *, func: str) -> tuple[dict[str, np.ndarray], list[list[str]]]:
    """Read one or several contract tables as review signals aligned with ``keys``.

    Parameters
    ----------
    issues : pandas.DataFrame or sequence of DataFrames
        Tables following the contract (checked with :func:`check_issue_table`).
    keys : pandas.DataFrame
        ``task`` (and ``unit``) of the items to score, in order. A table with ``unit`` is
        joined on (task, unit) when ``keys`` has ``unit``; otherwise on task. A table finer
        than the key (one row per annotation or token) counts its worst row: the lowest
        score, any flag.
    func : str
        The caller, for messages.

    Returns
    -------
    (dict, list)
        ``{"<name>_issue": array in [0, 1]}`` (``1 - <name>_score``; the flag where the
        score is missing; 0 for items absent from the table) and, per item, reason words
        (the table's ``reasons`` when given, else "<name> issue" for flagged items).
    """
    tables: Sequence = [issues] if isinstance(issues, pd.DataFrame) or not isinstance(issues, (list, tuple)) \
        else issues
    signals: dict[str, np.ndarray] = {}
    words: list[list[str]] = [[] for _ in range(len(keys))]
    for table in tables:
        t = check_issue_table(table, func=func)
        pairs = issue_pairs(t)
        if "fused" in pairs:
            pairs = {"fused": pairs["fused"]}
        on = ["task", "unit"] if "unit" in t.columns and "unit" in keys.columns else ["task"]
        m = keys[on].merge(_per_key(t, on, pairs), on=on, how="left")
        for nm, (fl, sc) in pairs.items():
            flag = m[fl].astype("boolean").fillna(False).to_numpy(dtype=bool)
            score = pd.to_numeric(m[sc], errors="coerce").to_numpy(dtype=float)
            present = m[fl].notna().to_numpy() | ~np.isnan(score)
            s = np.where(np.isnan(score), flag.astype(float), np.clip(1.0 - score, 0.0, 1.0))
            signals[f"{nm}_issue"] = np.maximum(signals.get(f"{nm}_issue", 0.0), np.where(present, s, 0.0))
            text = m["reasons"].to_numpy(dtype=object) if "reasons" in m.columns else None
            for i in np.flatnonzero(flag):
                w = text[i] if text is not None and isinstance(text[i], str) and text[i] else \
                    nm.replace("_", " ") + " issue"
                if w not in words[i]:
                    words[i].append(w)
    return signals, words


def review_priority(signals: Mapping[str, np.ndarray] | np.ndarray) -> np.ndarray:
    """The review priority, defined once: noisy-OR of signals in [0, 1].

    ``priority = 1 - prod_s (1 - s)``: an item with any strong signal ranks high, and
    independent weak signals add up. Higher = review first.

    Parameters
    ----------
    signals : mapping of name -> array, or 2-D array (items x signals)
        Each signal in [0, 1], higher = more suspicious (values are clipped).

    Returns
    -------
    numpy.ndarray
        One priority per item, in [0, 1].

    Examples
    --------
    >>> review_priority({"a": np.array([0.5, 0.0]), "b": np.array([0.5, 0.0])}).tolist()
    [0.75, 0.0]
    """
    if isinstance(signals, Mapping):
        mat = np.column_stack(list(signals.values())) if signals else np.empty((0, 0))
    else:
        mat = np.asarray(signals, dtype=float)
    if mat.ndim != 2 or mat.shape[1] == 0:
        raise QAInputError("review_priority needs at least one signal (items x signals).")
    return 1.0 - np.prod(1.0 - np.clip(np.nan_to_num(mat, nan=0.0), 0.0, 1.0), axis=1)
