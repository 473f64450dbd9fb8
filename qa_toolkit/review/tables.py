"""Per-table helpers the decision log and review share: the annotation hashes (whole table and
per task) and the plurality label per task (kept below both so neither imports the other)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_columns
from qa_toolkit.vote import plurality

__all__ = ["HASHED_COLUMNS", "annotations_hash", "consensus_labels", "task_hashes"]

#: Columns whose values make up a task's hash (those present in the table).
HASHED_COLUMNS = ("annotator", "field", "label", "annotation_id", "region_id", "x_min", "y_min", "x_max",
                  "y_max", "rotation", "points", "rle", "keypoints", "start", "end", "value")


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
    top = plurality(annotations, ties="none", func="consensus_labels")  # the one vote kernel
    out = pd.DataFrame({"consensus_label": top["label"].astype(object),
                        "agreement": top["count"] / top["n_votes"], "n_labels": top["n_votes"]})
    out.index.name = "task"
    return out


def task_hashes(annotations: pd.DataFrame) -> dict:
    """A 64-bit checksum (16 hex digits) of each task's rows, order-free: ``{task: hash}``.

    A decision is stale when the hash of its own task changed (rows added, removed or
    edited on that task: annotator, field, label, ids, geometry, span or value); rows of
    other tasks never make it stale.

    Examples
    --------
    >>> a = pd.DataFrame({"task": [1, 1, 2], "annotator": ["x", "y", "x"], "label": ["cat", "dog", "cat"]})
    >>> h = task_hashes(a)
    >>> h2 = task_hashes(pd.concat([a, pd.DataFrame({"task": [2], "annotator": ["y"], "label": ["cat"]})]))
    >>> h[1] == h2[1], h[2] == h2[2]
    (True, False)
    """
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="task_hashes")
    cols = [c for c in HASHED_COLUMNS if c in annotations.columns]
    key = np.full(len(annotations), "", dtype=object)
    for c in cols:
        key = key + "\x1f" + annotations[c].to_numpy(dtype=object).astype(str).astype(object)
    # vectorised and order-free: per task, the wrapping sum and the xor of (rotated) 64-bit row hashes
    h = pd.util.hash_pandas_object(pd.Series(key, dtype=object), index=False).to_numpy(np.uint64)
    codes, tasks = pd.factorize(annotations["task"], sort=False)
    n = len(tasks)
    total = np.zeros(n, dtype=np.uint64)
    mixed = np.zeros(n, dtype=np.uint64)
    np.add.at(total, codes, h)
    np.bitwise_xor.at(mixed, codes, (h << np.uint64(13)) | (h >> np.uint64(51)))
    counts = np.bincount(codes, minlength=n)
    return {(t.item() if isinstance(t, np.generic) else t): f"{int(s) ^ int(c):016x}"[:8] + f"{int(x):016x}"[:8]
            for t, s, x, c in zip(tasks, total, mixed, counts)}
