"""Confident learning on one label per item, and out-of-sample probabilities for it.

* :func:`find_label_issues` - confident learning (Northcutt et al. 2021) plus cleanlab's
  per-item label quality, as one issue table indexed by ``task``
  (``is_label_issue``, ``label_score``; lower = more likely mislabelled);
* :func:`out_of_sample_pred_probs` - cross-validated predicted probabilities from
  features or embeddings (cleanlab needs out-of-sample probabilities).

Probabilities are a ``pandas.DataFrame`` of shape (n_tasks, n_classes) whose columns
are the class labels (or an array plus ``classes=``). Everything is checked at the
boundary: rows must sum to 1, shapes must agree, labels must be in the class list.

References
----------
Northcutt, C., Jiang, L., Chuang, I. (2021). Confident learning: estimating
uncertainty in dataset labels. JAIR 70, 1373-1411. doi:10.1613/jair.1.12125
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_option, check_positive_int
from qa_toolkit.errors._probs import as_prob_frame, check_in_classes

__all__ = ["find_label_issues", "out_of_sample_pred_probs"]

_FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")
_SCORES = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")


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
        The issue table (contract name ``label``): one row per item, indexed by
        ``task`` in input order, with columns ``given_label``, ``suggested_label`` (the
        most probable class), ``label_score`` (cleanlab's label quality in [0, 1],
        lower = more likely mislabelled), ``is_label_issue`` (bool) and
        ``label_quality`` (the same values as ``label_score``; kept as an alias for
        code written before the issue-table contract).

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
    >>> int(out["label_score"].idxmin())
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
        probs = as_prob_frame(pred_probs, index=None, classes=classes, func=func)
        missing = given.index.difference(probs.index)
        if len(missing):
            raise QAInputError(
                f"The 'pred_probs' of {func} has no row for {len(missing)} labelled task(s), "
                f"e.g. {list(missing[:5])}."
            )
        probs = probs.loc[given.index]
    else:
        probs = as_prob_frame(pred_probs, index=given.index, classes=classes, func=func)
    codes = check_in_classes(given, probs.columns, name="labels", func=func)
    p = probs.to_numpy()
    p = p / p.sum(axis=1, keepdims=True)
    quality = get_label_quality_scores(codes, p, method=score_method)
    mask = _cl_find(codes, p, filter_by=filter_by, n_jobs=1, verbose=False)
    out = pd.DataFrame(
        {
            "given_label": given.to_numpy(),
            "suggested_label": probs.columns.to_numpy()[p.argmax(axis=1)],
            "label_score": np.asarray(quality, dtype=float),
            "is_label_issue": np.asarray(mask, dtype=bool),
        },
        index=given.index,
    )
    out["label_quality"] = out["label_score"]
    return out


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
