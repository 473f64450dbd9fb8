"""CROWDLAB (Goh et al. 2022) on the long multi-annotator table.

:func:`crowdlab` returns the consensus label of each task with its quality, as an issue
table (contract name ``label``: ``is_label_issue``, ``label_score``, lower = worse),
and a per-annotator quality table.

References
----------
Goh, H.W., Tkachenko, U., Mueller, J. (2022). CROWDLAB: supervised learning to infer
consensus labels and quality scores for data with multiple annotators. arXiv:2210.06812
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns, check_option
from qa_toolkit.errors._probs import as_prob_frame, check_in_classes
from qa_toolkit.table import to_wide

__all__ = ["CrowdlabResult", "crowdlab"]


@dataclass(frozen=True)
class CrowdlabResult:
    """CROWDLAB output.

    Parameters
    ----------
    label_quality : pandas.DataFrame
        Per-task table (see Attributes).
    annotator_quality : pandas.DataFrame
        Per-annotator table (see Attributes).

    Attributes
    ----------
    label_quality : pandas.DataFrame
        The issue table, indexed by ``task``: ``consensus_label``, ``label_score``
        (CROWDLAB's consensus quality, lower = worse), ``is_label_issue`` (confident
        learning applied to the consensus label), ``annotator_agreement`` (share of
        annotators agreeing with the consensus), ``num_annotations``, and the aliases
        ``consensus_quality`` and ``label_quality`` (same values as ``label_score``,
        kept for code written before the issue-table contract).
    annotator_quality : pandas.DataFrame
        Indexed by ``annotator``: ``annotator_quality`` (lower = worse),
        ``agreement_with_consensus``, ``worst_class``, ``num_examples_labeled``.
    """

    label_quality: pd.DataFrame
    annotator_quality: pd.DataFrame

    def __str__(self) -> str:
        lq = self.label_quality
        return (
            f"CROWDLAB: {len(lq)} tasks, {len(self.annotator_quality)} annotators, "
            f"{int(lq['is_label_issue'].sum())} consensus labels flagged, "
            f"median consensus quality {lq['label_score'].median():.3f}"
        )


def crowdlab(
    data: pd.DataFrame,
    pred_probs: pd.DataFrame,
    *,
    consensus_method: Literal["best_quality", "majority_vote"] = "best_quality",
    calibrate_probs: bool = False,
) -> CrowdlabResult:
    """Infer consensus labels and quality scores for multi-annotator data (CROWDLAB).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table (``task``, ``annotator``, ``label``), one label per
        (task, annotator).
    pred_probs : pandas.DataFrame of shape (n_tasks, n_classes)
        Out-of-sample model probabilities indexed by ``task``; columns are the classes.
    consensus_method : {'best_quality', 'majority_vote'}, default='best_quality'
        How cleanlab picks the consensus label.
    calibrate_probs : bool, default=False
        Let cleanlab temperature-scale ``pred_probs`` against the annotators.

    Returns
    -------
    CrowdlabResult
        Per-task and per-annotator tables.

    Raises
    ------
    QAInputError
        For bad probabilities, tasks without probabilities, labels outside the columns.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
    ...                    "annotator": list("abc") * 4,
    ...                    "label": ["x", "x", "y", "y", "y", "y", "x", "x", "x", "y", "x", "y"]})
    >>> probs = pd.DataFrame({"x": [.8, .2, .9, .3], "y": [.2, .8, .1, .7]}, index=[1, 2, 3, 4])
    >>> res = crowdlab(df, probs)
    >>> res.label_quality["consensus_label"].tolist()
    ['x', 'y', 'x', 'y']
    >>> sorted(res.annotator_quality.index)
    ['a', 'b', 'c']
    """
    from cleanlab.multiannotator import get_label_quality_multiannotator

    func = "crowdlab"
    check_columns(data, ("task", "annotator", "label"), func=func)
    check_option("consensus_method", consensus_method, ("best_quality", "majority_vote"), func=func)
    if not isinstance(pred_probs, pd.DataFrame):
        raise QAInputError(
            f"The 'pred_probs' parameter of {func} must be a DataFrame indexed by task with one "
            f"column per class. Got {type(pred_probs).__name__}."
        )
    if data["annotator"].nunique() < 2:
        raise QAInputError(f"The 'data' of {func} needs at least 2 annotators; got {data['annotator'].nunique()}.")
    probs = as_prob_frame(pred_probs, index=None, classes=None, func=func)
    wide = to_wide(data)
    missing = wide.index.difference(probs.index)
    if len(missing):
        raise QAInputError(
            f"The 'pred_probs' of {func} has no row for {len(missing)} annotated task(s), e.g. {list(missing[:5])}."
        )
    probs = probs.loc[wide.index]
    classes = probs.columns
    stacked = wide.stack().dropna()
    check_in_classes(stacked, classes, name="data['label']", func=func)
    coded = wide.apply(lambda col: pd.Series(classes.get_indexer(col.to_numpy()), index=col.index).where(col.notna()))
    coded = coded.astype(float)
    p = probs.to_numpy()
    p = p / p.sum(axis=1, keepdims=True)
    res = get_label_quality_multiannotator(
        coded, p, consensus_method=consensus_method, calibrate_probs=calibrate_probs,
        return_detailed_quality=False, return_annotator_stats=True, verbose=False,
    )
    lq = res["label_quality"]
    consensus_codes = lq["consensus_label"].to_numpy().astype(int)
    from cleanlab.filter import find_label_issues as _cl_find

    mask = _cl_find(consensus_codes, p, n_jobs=1, verbose=False)
    table = pd.DataFrame(
        {
            "consensus_label": classes.to_numpy()[consensus_codes],
            "consensus_quality": lq["consensus_quality_score"].to_numpy(dtype=float),
            "annotator_agreement": lq["annotator_agreement"].to_numpy(dtype=float),
            "num_annotations": lq["num_annotations"].to_numpy(dtype=int),
        },
        index=pd.Index(wide.index, name="task"),
    )
    table["label_score"] = table["consensus_quality"]
    table["is_label_issue"] = np.asarray(mask, dtype=bool)
    table["label_quality"] = table["consensus_quality"]
    stats = res["annotator_stats"].copy()
    stats.index = pd.Index(stats.index, name="annotator")
    stats["worst_class"] = classes.to_numpy()[stats["worst_class"].to_numpy().astype(int)]
    stats = stats[["annotator_quality", "agreement_with_consensus", "worst_class", "num_examples_labeled"]]
    return CrowdlabResult(label_quality=table, annotator_quality=stats.sort_index())
