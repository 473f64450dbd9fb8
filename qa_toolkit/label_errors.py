"""Model-based label errors: thin, validated wrappers around cleanlab.

Three entry points:

* :func:`find_label_issues` - confident learning (Northcutt et al. 2021) plus a
  per-item label quality score, as one tidy issue table indexed by ``task``;
* :func:`crowdlab` - CROWDLAB (Goh et al. 2022) on our long multi-annotator table:
  consensus label, its quality, and a per-annotator quality table;
* :func:`out_of_sample_pred_probs` - cross-validated predicted probabilities from
  features or embeddings (cleanlab needs out-of-sample probabilities).

Probabilities are a ``pandas.DataFrame`` of shape (n_tasks, n_classes) whose columns
are the class labels (or an array plus ``classes=``). Everything is checked at the
boundary: rows must sum to 1, shapes must agree, labels must be in the class list.

References
----------
Northcutt, C., Jiang, L., Chuang, I. (2021). Confident learning: estimating
uncertainty in dataset labels. JAIR 70, 1373-1411. doi:10.1613/jair.1.12125
Goh, H.W., Tkachenko, U., Mueller, J. (2022). CROWDLAB: supervised learning to infer
consensus labels and quality scores for data with multiple annotators. arXiv:2210.06812
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns, check_option, check_positive_int
from qa_toolkit.table import to_wide

__all__ = ["CrowdlabResult", "crowdlab", "find_label_issues", "out_of_sample_pred_probs"]

_FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")
_SCORES = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")


def _as_prob_frame(pred_probs: Any, *, index: pd.Index | None, classes: Any, func: str) -> pd.DataFrame:
    """Validate ``pred_probs`` and return it as a float DataFrame (rows = tasks, columns = classes)."""
    if isinstance(pred_probs, pd.DataFrame):
        if classes is not None:
            raise QAInputError(
                f"The 'classes' parameter of {func} is only used with an array 'pred_probs'; "
                "a DataFrame already names its classes in its columns."
            )
        frame = pred_probs
    else:
        try:
            arr = np.asarray(pred_probs, dtype=float)
        except (TypeError, ValueError) as exc:
            raise QAInputError(
                f"The 'pred_probs' parameter of {func} must be a numeric DataFrame or 2-D array. Got "
                f"{type(pred_probs).__name__} that cannot be read as numbers ({exc})."
            ) from None
        if arr.ndim != 2:
            raise QAInputError(
                f"The 'pred_probs' parameter of {func} must be 2-D (n_tasks, n_classes). Got shape {arr.shape}."
            )
        cols = pd.Index(range(arr.shape[1]) if classes is None else list(classes), name="label")
        if len(cols) != arr.shape[1]:
            raise QAInputError(
                f"The 'classes' parameter of {func} has {len(cols)} entries but 'pred_probs' has "
                f"{arr.shape[1]} columns."
            )
        if index is not None and len(index) != arr.shape[0]:
            raise QAInputError(
                f"The 'pred_probs' parameter of {func} has {arr.shape[0]} rows but there are "
                f"{len(index)} labelled tasks; they must match one to one."
            )
        frame = pd.DataFrame(arr, index=index, columns=cols)
    if frame.shape[1] < 2:
        raise QAInputError(
            f"The 'pred_probs' parameter of {func} needs at least 2 class columns. Got {frame.shape[1]}."
        )
    if frame.columns.has_duplicates:
        raise QAInputError(f"The 'pred_probs' columns of {func} must be distinct class labels.")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise QAInputError(f"The 'pred_probs' parameter of {func} must hold numbers only.") from None
    if not np.isfinite(values).all():
        raise QAInputError(f"The 'pred_probs' parameter of {func} contains NaN or infinite values.")
    if (values < 0).any() or (values > 1).any():
        raise QAInputError(f"The 'pred_probs' parameter of {func} must lie in [0, 1]; some values do not.")
    sums = values.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1) > 1e-3)
    if bad.size:
        i = bad[0]
        raise QAInputError(
            f"Each row of 'pred_probs' in {func} must sum to 1 (tolerance 1e-3); {bad.size} rows do not, "
            f"e.g. row {frame.index[i]!r} sums to {sums[i]:.6g}."
        )
    out = pd.DataFrame(values, index=frame.index, columns=frame.columns)
    out.columns.name = "label"
    return out


def _check_in_classes(values: pd.Series, classes: pd.Index, *, name: str, func: str) -> np.ndarray:
    """Return integer codes of ``values`` in ``classes``; raise naming the labels that are not there."""
    codes = classes.get_indexer(values.to_numpy())
    if (codes < 0).any():
        unknown = sorted({repr(v) for v in values[codes < 0]})[:5]
        raise QAInputError(
            f"The {name!r} of {func} contains labels outside the class list {list(classes)}: "
            f"{', '.join(unknown)}."
        )
    return codes


def find_label_issues(
    labels: Any,
    pred_probs: Any,
    *,
    classes: Any = None,
    filter_by: Literal[
        "prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given"
    ] = "prune_by_noise_rate",
    score_method: Literal["self_confidence", "normalized_margin", "confidence_weighted_entropy"] = "self_confidence",
) -> pd.DataFrame:
    """Flag likely label errors with confident learning and score every item.

    Parameters
    ----------
    labels : pandas.Series or array-like of shape (n_tasks,)
        The given label of each item. A Series is indexed by ``task``.
    pred_probs : pandas.DataFrame or array-like of shape (n_tasks, n_classes)
        Out-of-sample predicted probabilities; DataFrame columns are the classes and its
        index must contain the tasks of ``labels``. Rows must sum to 1.
    classes : sequence, optional
        Class labels of the columns when ``pred_probs`` is an array (default ``0..K-1``).
    filter_by : {'prune_by_noise_rate', 'prune_by_class', 'both', 'confident_learning', \
'predicted_neq_given'}, default='prune_by_noise_rate'
        cleanlab's rule for the ``is_label_issue`` flag.
    score_method : {'self_confidence', 'normalized_margin', 'confidence_weighted_entropy'}, \
default='self_confidence'
        cleanlab's label quality score.

    Returns
    -------
    pandas.DataFrame
        One row per item, indexed by ``task`` in input order, with columns
        ``given_label``, ``suggested_label`` (the most probable class),
        ``label_quality`` (in [0, 1], lower = more likely mislabelled) and
        ``is_label_issue`` (bool).

    Raises
    ------
    QAInputError
        When probabilities are not 2-D, do not sum to 1, do not match the labels one to
        one, or a label is not in the class list.

    Examples
    --------
    >>> labels = pd.Series(["cat", "cat", "dog", "dog", "cat", "dog"], name="label")
    >>> probs = pd.DataFrame({"cat": [.9, .8, .1, .2, .1, .3], "dog": [.1, .2, .9, .8, .9, .7]})
    >>> out = find_label_issues(labels, probs)
    >>> out.loc[4, ["given_label", "suggested_label"]].tolist()
    ['cat', 'dog']
    >>> out.index[out["is_label_issue"]].tolist()
    [4]
    >>> int(out["label_quality"].idxmin())
    4
    """
    from cleanlab.filter import find_label_issues as _cl_find
    from cleanlab.rank import get_label_quality_scores

    func = "find_label_issues"
    check_option("filter_by", filter_by, _FILTERS, func=func)
    check_option("score_method", score_method, _SCORES, func=func)
    if isinstance(labels, pd.DataFrame):
        raise QAInputError(
            f"The 'labels' parameter of {func} must be one label per item (a Series or 1-D array), "
            "not a DataFrame; for several annotators per item use crowdlab()."
        )
    given = labels.copy() if isinstance(labels, pd.Series) else pd.Series(np.asarray(labels, dtype=object))
    if given.ndim != 1 or len(given) == 0:
        raise QAInputError(f"The 'labels' parameter of {func} must be a non-empty 1-D sequence.")
    if given.isna().any():
        raise QAInputError(f"The 'labels' parameter of {func} contains missing labels at tasks "
                           f"{list(given.index[given.isna()][:5])}.")
    given.index.name = "task"
    if given.index.has_duplicates:
        raise QAInputError(f"The 'labels' of {func} must have one row per task; the index has duplicates.")
    if isinstance(pred_probs, pd.DataFrame):
        probs = _as_prob_frame(pred_probs, index=None, classes=classes, func=func)
        missing = given.index.difference(probs.index)
        if len(missing):
            raise QAInputError(
                f"The 'pred_probs' of {func} has no row for {len(missing)} labelled task(s), "
                f"e.g. {list(missing[:5])}."
            )
        probs = probs.loc[given.index]
    else:
        probs = _as_prob_frame(pred_probs, index=given.index, classes=classes, func=func)
    codes = _check_in_classes(given, probs.columns, name="labels", func=func)
    p = probs.to_numpy()
    p = p / p.sum(axis=1, keepdims=True)
    quality = get_label_quality_scores(codes, p, method=score_method)
    mask = _cl_find(codes, p, filter_by=filter_by, n_jobs=1, verbose=False)
    out = pd.DataFrame(
        {
            "given_label": given.to_numpy(),
            "suggested_label": probs.columns.to_numpy()[p.argmax(axis=1)],
            "label_quality": np.asarray(quality, dtype=float),
            "is_label_issue": np.asarray(mask, dtype=bool),
        },
        index=given.index,
    )
    return out


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
        Indexed by ``task``: ``consensus_label``, ``consensus_quality`` (lower = worse),
        ``annotator_agreement`` (share of annotators agreeing with the consensus),
        ``num_annotations``, ``label_quality`` (= ``consensus_quality``) and
        ``is_label_issue`` (confident learning applied to the consensus label).
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
            f"median consensus quality {lq['consensus_quality'].median():.3f}"
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
    probs = _as_prob_frame(pred_probs, index=None, classes=None, func=func)
    wide = to_wide(data)
    missing = wide.index.difference(probs.index)
    if len(missing):
        raise QAInputError(
            f"The 'pred_probs' of {func} has no row for {len(missing)} annotated task(s), e.g. {list(missing[:5])}."
        )
    probs = probs.loc[wide.index]
    classes = probs.columns
    stacked = wide.stack().dropna()
    _check_in_classes(stacked, classes, name="data['label']", func=func)
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
    table["label_quality"] = table["consensus_quality"]
    table["is_label_issue"] = np.asarray(mask, dtype=bool)
    stats = res["annotator_stats"].copy()
    stats.index = pd.Index(stats.index, name="annotator")
    stats["worst_class"] = classes.to_numpy()[stats["worst_class"].to_numpy().astype(int)]
    stats = stats[["annotator_quality", "agreement_with_consensus", "worst_class", "num_examples_labeled"]]
    return CrowdlabResult(label_quality=table, annotator_quality=stats.sort_index())


def out_of_sample_pred_probs(
    features: Any,
    labels: Any,
    *,
    model: Any = None,
    cv: int = 5,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Cross-validated predicted probabilities, as cleanlab needs them.

    Each item's probabilities come from a model that did not see it (stratified
    ``cv``-fold cross-validation).

    Parameters
    ----------
    features : array-like or sparse matrix of shape (n_tasks, n_features)
        Features or embeddings, one row per item in the order of ``labels``.
    labels : pandas.Series or array-like of shape (n_tasks,)
        Given labels; a Series' index (``task``) becomes the result's index.
    model : sklearn classifier with ``predict_proba``, optional
        Cloned per fold. Default: ``LogisticRegression(max_iter=1000)``.
    cv : int, default=5
        Number of folds; every class needs at least ``cv`` items.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the fold shuffle (and the default model).

    Returns
    -------
    pandas.DataFrame of shape (n_tasks, n_classes)
        Index ``task``, columns the sorted class labels; rows sum to 1.

    Raises
    ------
    QAInputError
        On shape mismatch, NaN features, a class with fewer than ``cv`` items or a model
        without ``predict_proba``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (20, 2)), rng.normal(4, 1, (20, 2))]
    >>> y = ["a"] * 20 + ["b"] * 20
    >>> probs = out_of_sample_pred_probs(X, y, cv=4, random_state=0)
    >>> probs.shape, list(probs.columns)
    ((40, 2), ['a', 'b'])
    >>> bool((probs.idxmax(axis=1).to_numpy() == np.array(y)).mean() > 0.9)
    True
    """
    import scipy.sparse as sp
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from qa_toolkit._validation import check_random_state

    func = "out_of_sample_pred_probs"
    cv = check_positive_int("cv", cv, minimum=2, func=func)
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    y = labels if isinstance(labels, pd.Series) else pd.Series(np.asarray(labels, dtype=object))
    if y.isna().any():
        raise QAInputError(f"The 'labels' parameter of {func} contains missing labels.")
    if sp.issparse(features):
        X = features.tocsr()
        if not np.isfinite(X.data).all():
            raise QAInputError(f"The 'features' parameter of {func} contains NaN or infinite values.")
    else:
        try:
            X = np.asarray(features, dtype=float)
        except (TypeError, ValueError):
            raise QAInputError(f"The 'features' parameter of {func} must be numeric.") from None
        if X.ndim != 2:
            raise QAInputError(f"The 'features' parameter of {func} must be 2-D (n_tasks, n_features). Got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise QAInputError(f"The 'features' parameter of {func} contains NaN or infinite values.")
    if X.shape[0] != len(y):
        raise QAInputError(f"'features' has {X.shape[0]} rows but 'labels' has {len(y)} entries in {func}.")
    try:
        codes, classes = pd.factorize(y, sort=True)
    except TypeError:
        raise QAInputError(f"The 'labels' of {func} mix types that cannot be sorted (e.g. str and int).") from None
    classes = np.asarray(classes)
    counts = np.bincount(codes, minlength=len(classes))
    if len(classes) < 2:
        raise QAInputError(f"{func} needs at least 2 classes in 'labels'. Got {list(classes)}.")
    if counts.min() < cv:
        raise QAInputError(
            f"Every class needs at least cv={cv} items for {func}; class {classes[counts.argmin()]!r} "
            f"has {counts.min()}. Lower 'cv' or drop rare classes."
        )
    if model is None:
        model = LogisticRegression(max_iter=1000, random_state=seed)
    if not hasattr(model, "predict_proba"):
        raise QAInputError(f"The 'model' parameter of {func} must have predict_proba. Got {type(model).__name__}.")
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    p = cross_val_predict(clone(model), X, codes, cv=folds, method="predict_proba", n_jobs=1)
    index = pd.Index(y.index, name="task") if isinstance(labels, pd.Series) else pd.RangeIndex(len(y), name="task")
    return pd.DataFrame(p, index=index, columns=pd.Index(classes, name="label"))
