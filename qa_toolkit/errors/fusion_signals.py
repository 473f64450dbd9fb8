"""The signals :func:`qa_toolkit.errors.fusion.fused_issue_table` joins.

* :func:`human_signal` - vote share / Dawid-Skene posterior of the given label;
* :func:`embedding_matrix` - embeddings aligned with the labelled tasks;
* :func:`issue_signals` - any issue table that follows the contract
  (:mod:`qa_toolkit.errors.contract`), reduced to one row per task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns
from qa_toolkit.aggregation import DawidSkene
from qa_toolkit.errors.contract import per_task_issue
from qa_toolkit.issue_tables import check_issue_table, issue_columns
from qa_toolkit.table import to_counts

__all__ = ["embedding_matrix", "human_signal", "issue_signals"]


def human_signal(labels: pd.Series, annotations: pd.DataFrame | None, vote_counts: pd.DataFrame | None,
                 dawid_skene: Any, func: str) -> pd.DataFrame:
    """Vote share, vote entropy and (with a long table) the Dawid-Skene posterior of each given label.

    ``dawid_skene`` is ``'auto'``/``True`` (fit Dawid-Skene on ``annotations``), ``False``,
    or an already fitted :class:`~qa_toolkit.aggregation.DawidSkene` (reused, not refitted).
    Returns a frame indexed like ``labels`` with ``human_quality`` (lower = worse) and
    ``is_vote_issue``.
    """
    if annotations is not None and vote_counts is not None:
        raise QAInputError(f"Give either 'annotations' or 'vote_counts' to {func}, not both.")
    if annotations is not None:
        check_columns(annotations, ("task", "annotator", "label"), name="annotations", func=func)
        counts = to_counts(annotations)
    else:
        if not isinstance(vote_counts, pd.DataFrame):
            raise QAInputError(
                f"The 'vote_counts' parameter of {func} must be a DataFrame (task x label counts). "
                f"Got {type(vote_counts).__name__}."
            )
        counts = vote_counts
        vals = counts.to_numpy(dtype=float)
        if not np.isfinite(vals).all() or (vals < 0).any():
            raise QAInputError(f"The 'vote_counts' of {func} must be finite counts >= 0.")
    counts = counts.reindex(labels.index)
    unknown = ~labels.isin(counts.columns)
    if unknown.any():
        raise QAInputError(
            f"The given labels of {func} include labels no annotator used and outside the vote columns "
            f"{list(counts.columns)}: {sorted(map(repr, set(labels[unknown])))[:5]}."
        )
    c = counts.fillna(0).to_numpy(dtype=float)
    n = c.sum(axis=1)
    given = counts.columns.get_indexer(labels.to_numpy())
    share = np.where(n > 0, c[np.arange(len(c)), given] / np.where(n > 0, n, 1), np.nan)
    p = c / np.where(n > 0, n, 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=1) / np.log(max(c.shape[1], 2))
    out = pd.DataFrame(
        {
            "n_votes": n.astype(int),
            "vote_share": share,
            "vote_entropy": np.where(n > 0, ent, np.nan),
            "human_label": np.where(n > 0, counts.columns.to_numpy()[c.argmax(axis=1)], None),
        },
        index=labels.index,
    )
    out["is_vote_issue"] = (n > 0) & (c.max(axis=1) > c[np.arange(len(c)), given])
    out["human_quality"] = out["vote_share"]
    fitted = dawid_skene if hasattr(dawid_skene, "posteriors_") else None
    if annotations is not None and (fitted is not None or dawid_skene in (True, "auto")):
        ds = fitted if fitted is not None else DawidSkene().fit(annotations)
        post = ds.posteriors_.reindex(labels.index)
        cols = post.columns.get_indexer(labels.to_numpy())
        pv = post.to_numpy(dtype=float)
        dsp = np.where(cols >= 0, pv[np.arange(len(pv)), np.maximum(cols, 0)], 0.0)
        dsp[np.isnan(pv).any(axis=1)] = np.nan
        out["ds_posterior"] = dsp
        out["ds_label"] = ds.labels_.reindex(labels.index).to_numpy()
        out["is_vote_issue"] = out["is_vote_issue"] | (out["ds_label"].notna() & (out["ds_label"] != labels))
        out["human_quality"] = out["ds_posterior"]
    return out


def embedding_matrix(embeddings: Any, labels: pd.Series, func: str) -> np.ndarray:
    """The embedding rows of the labelled tasks, in the order of ``labels``."""
    if isinstance(embeddings, pd.DataFrame):
        missing = labels.index.difference(embeddings.index)
        if len(missing):
            raise QAInputError(f"The 'embeddings' of {func} lack rows for tasks {list(missing[:5])}.")
        return embeddings.loc[labels.index].to_numpy(dtype=float)
    x = np.asarray(embeddings, dtype=float)
    if x.ndim != 2 or x.shape[0] != len(labels):
        raise QAInputError(
            f"The 'embeddings' of {func} must be 2-D with one row per labelled task ({len(labels)}), in the "
            f"order of 'labels'. Got shape {x.shape}."
        )
    return x


def _reasons_per_task(table: pd.DataFrame, flag_col: str) -> pd.Series | None:
    """The ``reasons`` of a table's flagged rows joined per task, or None without the column."""
    if "reasons" not in table.columns:
        return None
    tasks = table["task"] if "task" in table.columns else table.index.to_series(index=table.index)
    flagged = table[flag_col].to_numpy(dtype=bool)
    text = table["reasons"].astype(str).where(flagged, "")
    frame = pd.DataFrame({"task": tasks.to_numpy(), "text": text.to_numpy()})
    frame = frame[frame["text"] != ""]
    return frame.groupby("task", sort=False)["text"].agg(lambda s: "; ".join(dict.fromkeys(s)))


def issue_signals(issues: Any, func: str) -> dict[str, pd.DataFrame]:
    """Every issue of every contract table in ``issues``, one row per task each.

    Parameters
    ----------
    issues : pandas.DataFrame, sequence of DataFrames or mapping of str to DataFrame
        Issue tables (``task`` index or column, ``is_<name>_issue``, ``<name>_score``,
        lower = worse). In a mapping the key names the signal (``<key>`` when the table
        holds one issue, ``<key>_<name>`` when it holds several); otherwise the issue
        name does.
    func : str
        The public function to name in error messages.

    Returns
    -------
    dict of str to pandas.DataFrame
        Signal name -> :func:`~qa_toolkit.errors.contract.per_task_issue` output with
        columns ``flag``, ``score``, ``n_rows``, ``n_flagged``, ``unit_word`` and
        ``reasons`` (the table's own reasons of its flagged rows, or None).

    Raises
    ------
    QAInputError
        When an entry does not follow the contract
        (:func:`qa_toolkit.issue_tables.check_issue_table`), or two tables give the same
        signal name.
    """
    if isinstance(issues, pd.DataFrame):
        items: list[tuple[str | None, Any]] = [(None, issues)]
    elif isinstance(issues, Mapping):
        items = [(str(k), v) for k, v in issues.items()]
    elif isinstance(issues, (list, tuple)):
        items = [(None, v) for v in issues]
    else:
        raise QAInputError(
            f"The 'issues' parameter of {func} must be an issue table, a list of them or a dict "
            f"name -> table. Got {type(issues).__name__}."
        )
    out: dict[str, pd.DataFrame] = {}
    for key, table in items:
        table = check_issue_table(table, func=func)
        names = issue_columns(table)
        if "fused" in names:  # a fused table already combines its components
            names = ["fused"]
        finer = "unit" in table.columns or "annotator" in table.columns
        word = "unit" if "unit" in table.columns else ("annotation" if "annotator" in table.columns else "row")
        for name in names:
            signal = name if key is None else (key if len(names) == 1 else f"{key}_{name}")
            if signal in out:
                raise QAInputError(
                    f"Two issue tables given to {func} both carry the signal {signal!r}; pass a dict "
                    "{'my_name': table, ...} to name them apart."
                )
            reduced = per_task_issue(table, name, func=func)
            reduced.columns = ["flag", "score", "n_rows", "n_flagged"]
            reduced["unit_word"] = word if finer else ""
            reasons = _reasons_per_task(table, f"is_{name}_issue")
            reduced["reasons"] = reasons.reindex(reduced.index).fillna("") if reasons is not None else ""
            out[signal] = reduced
    return out
