"""The issue-table contract as the detectors of :mod:`qa_toolkit.errors` emit it.

An issue table has one row per task (the index is named ``task``) or, where the detector
looks finer, one row per annotation, token or unit (a ``task`` column, plus ``field``,
``annotator`` and/or ``unit``). For each issue ``<name>`` it holds

* ``is_<name>_issue`` : bool, the detector's flag;
* ``<name>_score`` : float, finite, **lower = more likely a problem** (in [0, 1] for every
  detector here).

A table may hold several issues (``embedding_clusters(...).items`` holds
``cluster_minority`` and ``cluster_outlier``). The names the detectors use:

=====================  =============================================================
name                   detector
=====================  =============================================================
``label``              :func:`~qa_toolkit.errors.label_issues.find_label_issues`
                       (confident learning), :func:`~qa_toolkit.errors.multiannotator.crowdlab`
                       (``label_quality``: CROWDLAB consensus), and the typed finders
                       :func:`~qa_toolkit.errors.typed.multilabel_label_issues`,
                       :func:`~qa_toolkit.errors.typed.token_label_issues`,
                       :func:`~qa_toolkit.errors.typed.box_label_issues`
``neighbour``          :func:`~qa_toolkit.errors.neighbours.neighbour_inconsistency`
``duplicate``          :func:`~qa_toolkit.errors.duplicates.duplicate_groups`
``cluster_minority``   :func:`~qa_toolkit.errors.clusters.embedding_clusters` (items)
``cluster_outlier``    :func:`~qa_toolkit.errors.clusters.embedding_clusters` (items)
``fused``              :func:`~qa_toolkit.errors.fusion.fused_issue_table`
=====================  =============================================================

Typed label errors keep the one name ``label``; their ``field`` column (and ``attrs``)
says which field, hence which kind, a row is about. Two outputs are not task tables:
``near_duplicates`` lists pairs (``is_label_conflict``, ``is_self_conflict``), and
``embedding_clusters(...).clusters`` has one row per cluster (``is_mixed_cluster_issue``,
``mixed_cluster_score``).

The contract itself (which columns form a pair, how a table is checked, the one review
priority) is defined once in :mod:`qa_toolkit.issue_tables` (layer 1); this module adds
what the detectors need on top: the names they use, the columns they keep under their
names from before the contract (:data:`LEGACY_COLUMNS`: same values, never a complete
pair, so no issue is read twice), and :func:`per_task_issue`, which reduces a finer table
to one row per task.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError
from qa_toolkit.issue_tables import check_issue_table, issue_columns, issue_pairs

__all__ = ["ISSUE_NAMES", "LEGACY_COLUMNS", "per_task_issue"]

#: Detector -> the issue name(s) its table carries.
ISSUE_NAMES: dict[str, tuple[str, ...]] = {
    "find_label_issues": ("label",),
    "crowdlab": ("label",),
    "multilabel_label_issues": ("label",),
    "token_label_issues": ("label",),
    "box_label_issues": ("label",),
    "neighbour_inconsistency": ("neighbour",),
    "duplicate_groups": ("duplicate",),
    "embedding_clusters": ("cluster_minority", "cluster_outlier"),
    "fused_issue_table": ("fused",),
}

#: Alias column -> the contract column holding the same values.
LEGACY_COLUMNS: dict[str, str] = {
    "label_quality": "label_score",
    "consensus_quality": "label_score",
}

def per_task_issue(table: pd.DataFrame, name: str, *, func: str = "per_task_issue") -> pd.DataFrame:
    """One issue of a table reduced to one row per task.

    A task is flagged when any of its rows (annotations, tokens, units) is flagged; its
    score is the lowest (worst) score of its rows.

    Parameters
    ----------
    table : pandas.DataFrame
        An issue table: ``task`` index or column, ``is_<name>_issue``, ``<name>_score``.
    name : str
        The issue to reduce (one of :func:`qa_toolkit.issue_tables.issue_columns`).
    func : str, default='per_task_issue'
        The public function to name in error messages.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task`` in order of first appearance: ``is_<name>_issue``,
        ``<name>_score``, ``n_rows`` and ``n_flagged``.

    Raises
    ------
    QAInputError
        When the table has no task, lacks the issue's columns, or a score is not finite
        or a flag not boolean.

    Examples
    --------
    >>> t = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"],
    ...                   "label_score": [0.9, 0.1, 0.8], "is_label_issue": [False, True, False]})
    >>> per_task_issue(t, "label")
          is_label_issue  label_score  n_rows  n_flagged
    task
    1               True          0.1       2          1
    2              False          0.8       1          0
    """
    table = check_issue_table(table, func=func)
    pairs = issue_pairs(table)
    if name not in pairs:
        raise QAInputError(
            f"The issue table given to {func} has no pair is_{name}_issue / {name}_score; it "
            f"carries {issue_columns(table)}."
        )
    flag_col, src_score = pairs[name]
    score_col = f"{name}_score"
    tasks = table["task"]
    flag = table[flag_col]
    if flag.isna().any() or not (flag.dtype == bool or set(pd.unique(flag)) <= {True, False}):
        raise QAInputError(f"The column {flag_col!r} of an issue table given to {func} must be boolean.")
    score = pd.to_numeric(table[src_score], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(score).all():
        bad = np.flatnonzero(~np.isfinite(score))[:5]
        raise QAInputError(
            f"The column {src_score!r} of an issue table given to {func} must be finite numbers; "
            f"tasks {tasks.to_numpy()[bad].tolist()} have {score[bad].tolist()}."
        )
    frame = pd.DataFrame({"task": tasks.to_numpy(), "flag": flag.to_numpy(dtype=bool), "score": score})
    g = frame.groupby("task", sort=False)
    out = pd.DataFrame({
        flag_col: g["flag"].any(),
        score_col: g["score"].min(),
        "n_rows": g.size(),
        "n_flagged": g["flag"].sum().astype(int),
    })
    out.index.name = "task"
    return out
