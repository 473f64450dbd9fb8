"""The audit's majority votes, read from the one coding of the table (issue 14).

The truth-inference and label-issue sections each need a majority vote with a different tie
policy (random, missing, lowest); :func:`qa_toolkit.aggregation.majority_vote` codes the
table again for each. Inside the audit's ``shared_coding`` block the Agreement section has
already coded it (sorted tasks, sorted labels, the task x label counts): the vote is then one
plurality over those counts, with the same tie draws.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import check_option, check_random_state
from qa_toolkit.aggregation import majority_vote
from qa_toolkit.engines.coding import any_duplicate_pairs, code_annotations
from qa_toolkit.units.kinds import check_label_field
from qa_toolkit.vote import plurality_index

__all__ = ["audit_majority_vote", "codes_as_majority_vote"]

_TIES = {"random": "random", "first": "lowest", "missing": "none"}


def codes_as_majority_vote(data: pd.DataFrame) -> bool:
    """Whether the shared coding of ``data`` is the one :func:`majority_vote` makes (sorted task and label codes).

    Not for missing values (majority_vote refuses them), repeated (task, annotator) pairs (the
    agreement coding refuses them) or ordered categorical labels (coded with every category).
    """
    cols = ("task", "annotator", "label")
    if not set(cols) <= set(data.columns) or len(data) == 0:
        return False
    if any(bool(data[c].isna().any()) for c in cols):
        return False
    label = data["label"].dtype
    if isinstance(label, pd.CategoricalDtype) and label.ordered:
        return False
    return not any_duplicate_pairs(data)


def audit_majority_vote(data: pd.DataFrame, *, tie_policy: Literal["random", "first", "missing"] = "random",
                        random_state=None) -> pd.Series:
    """``majority_vote(data, tie_policy=..., random_state=...)``, from the audit's coding of ``data``.

    Same Series (values, index, name, tie draws for a given seed); tables that
    :func:`codes_as_majority_vote` turns down go to :func:`majority_vote` itself.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"),
    ...                    "label": ["x", "x", "y", "x", "y"]})
    >>> audit_majority_vote(df, tie_policy="missing").equals(majority_vote(df, tie_policy="missing"))
    True
    """
    check_option("tie_policy", tie_policy, tuple(_TIES), func="majority_vote")
    check_label_field(data, func="majority_vote")  # regions, sets, several fields: refused as majority_vote does
    if not codes_as_majority_vote(data):
        return majority_vote(data, tie_policy=tie_policy, random_state=random_state)
    rng = check_random_state(random_state)
    coded = code_annotations(data, func="majority_vote", min_annotators=1, min_pairable=0)
    idx, _ = plurality_index(coded.counts, ties=_TIES[tie_policy], random_state=rng)  # type: ignore[arg-type]
    out = pd.Series(coded.categories.take(np.maximum(idx, 0)), index=pd.Index(coded.tasks, name="task"),
                    name="agg_label")
    if tie_policy == "missing":
        out = out.where(idx >= 0)
    return out
