"""Per-table helpers the decision log and review share: the annotations hash and the
plurality label per task (kept below both so neither imports the other)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_columns

__all__ = ["annotations_hash", "consensus_labels"]


def annotations_hash(annotations: pd.DataFrame) -> str:
    """SHA-256 (first 16 hex digits) of the ``task, annotator, label`` triples, order-free.

    Examples
    --------
    >>> a = pd.DataFrame({"task": [1, 2], "annotator": ["x", "x"], "label": ["cat", "dog"]})
    >>> annotations_hash(a) == annotations_hash(a.iloc[::-1])
    True
    >>> annotations_hash(a) == annotations_hash(a.assign(label=["cat", "cat"]))
    False
    """
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="annotations_hash")
    keys = (
        annotations["task"].astype(str) + "\x1f" + annotations["annotator"].astype(str)
        + "\x1f" + annotations["label"].astype(str)
    )
    h = hashlib.sha256("\x1e".join(sorted(keys.tolist())).encode("utf-8"))
    return h.hexdigest()[:16]


def consensus_labels(annotations: pd.DataFrame) -> pd.DataFrame:
    """Per task: the unique plurality label (``consensus_label``, NaN on ties) and its share.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task``, columns ``consensus_label``, ``agreement`` (share of the
        task's rows giving the plurality label) and ``n_labels``.

    Examples
    --------
    >>> a = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"),
    ...                   "label": ["x", "x", "y", "x", "y"]})
    >>> c = consensus_labels(a)
    >>> c.loc[1, "consensus_label"], round(float(c.loc[1, "agreement"]), 3), c.loc[2, "consensus_label"]
    ('x', 0.667, nan)
    """
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="consensus_labels")
    counts = annotations.groupby(["task", "label"], sort=True).size().rename("n").reset_index()
    counts = counts.sort_values(["task", "n"], ascending=[True, False], kind="stable")
    n_total = counts.groupby("task", sort=True)["n"].sum()
    top = counts.groupby("task", sort=True).head(2)
    first = top.groupby("task", sort=True).nth(0).set_index("task")
    second = top.groupby("task", sort=True).nth(1).set_index("task")["n"].reindex(first.index)
    tie = (second == first["n"]).to_numpy()
    label = first["label"].astype(object).where(~tie, np.nan)
    out = pd.DataFrame({"consensus_label": label, "agreement": first["n"] / n_total.reindex(first.index),
                        "n_labels": n_total.reindex(first.index)})
    out.index.name = "task"
    return out
