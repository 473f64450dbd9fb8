"""Model-based label errors for typed fields: multi-label, spans (as tokens), boxes.

Thin, validated wrappers around cleanlab's finders for the kinds that are not one label
per item (categorical fields keep :func:`qa_toolkit.errors.multiannotator.crowdlab` and
:func:`~qa_toolkit.errors.label_issues.find_label_issues`):

* :func:`multilabel_label_issues` - ``cleanlab.multilabel_classification``;
* :func:`token_label_issues` - ``cleanlab.token_classification`` on span fields cut into tokens;
* :func:`box_label_issues` - ``cleanlab.object_detection`` on axis-aligned box fields.

Each **annotation** (one annotator's labels of one task, including assigned annotations
where nothing was marked, from ``data.attrs["assignments"]``, for the tasks in the table
given) is checked against the model,
so the issue table says whose annotation looks wrong. The result follows the issue-table
contract (name ``label``): ``task``, ``field``, ``annotator`` (+ ``unit`` = token index for
tokens), ``is_label_issue`` and ``label_score`` in [0, 1], lower = more likely wrong.

A field of another kind is refused, naming the field, its kind and the function that
handles it. Predictions must be out-of-sample (cross-validated or from a model not trained
on these labels), as cleanlab requires.

References
----------
Thyagarajan, A., Snorrason, E., Northcutt, C., Mueller, J. (2023). Identifying incorrect
annotations in multi-label classification data. arXiv:2211.13895.
Wang, W.-C., Mueller, J. (2022). Detecting label errors in token classification data.
arXiv:2210.03920.
Tkachenko, U., Thyagarajan, A., Mueller, J. (2023). ObjectLab: automated diagnosis of
mislabeled images in object detection data. arXiv:2309.00832.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_option
from qa_toolkit.units.kinds import assigned_pairs, select_field

__all__ = ["multilabel_label_issues", "token_label_issues", "box_label_issues", "whitespace_tokens"]

_HANDLERS = {
    "categorical": "qa.crowdlab / qa.find_label_issues",
    "multilabel": "multilabel_label_issues",
    "span": "token_label_issues",
    "box": "box_label_issues",
}


def _field(data: pd.DataFrame, field: Any, kinds: dict | None, want: str, func: str) -> tuple[pd.DataFrame, Any]:
    sub, field, kind = select_field(data, field, kinds=kinds, func=func)
    if kind != want:
        other = _HANDLERS.get(kind, "no model-based finder: use qa.agreement_report(data, field=...) "
                                    "and qa.to_units")
        raise QAInputError(
            f"{func} reads {want} fields, but field {field!r} has kind {kind!r}; for {kind} fields use {other}."
        )
    return sub, field


def _annotations(sub: pd.DataFrame, data: pd.DataFrame, assignments) -> tuple[pd.DataFrame, bool]:
    pairs, counted = assigned_pairs(sub, assignments=assignments, whole=data)
    pairs = pairs.loc[pairs["task"].isin(set(pd.unique(data["task"])))]  # tasks of the table given
    return pairs.sort_values(["task", "annotator"], kind="stable").reset_index(drop=True), counted


def _finish(out: pd.DataFrame, field: Any, counted: bool, score: Any, flag: Any) -> pd.DataFrame:
    """Add the contract columns (``field``, ``label_score``, ``is_label_issue``) and attrs."""
    out.insert(1, "field", [field] * len(out))
    out["label_score"] = np.asarray(score, dtype=float)
    out["is_label_issue"] = np.asarray(flag, dtype=bool)
    out.attrs = {"field": field, "empties_counted": bool(counted)}
    return out


def whitespace_tokens(text: str) -> list[tuple[int, int]]:
    """Character offsets ``(start, end)`` of the whitespace-separated tokens of ``text``.

    Examples
    --------
    >>> whitespace_tokens("Ann lives  here")
    [(0, 3), (4, 9), (11, 15)]
    """
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def multilabel_label_issues(data: pd.DataFrame, pred_probs: pd.DataFrame, *, field: Any = None,
                            kinds: dict | None = None, assignments: pd.DataFrame | None = None,
                            filter_by: str = "prune_by_noise_rate", threshold: float = 0.5) -> pd.DataFrame:
    """Flag annotations of a multi-label field whose label set the model contradicts.

    Wraps ``cleanlab.multilabel_classification.filter.find_label_issues`` and
    ``cleanlab.multilabel_classification.rank.get_label_quality_scores``.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table: one row per selected label.
    pred_probs : pandas.DataFrame
        Out-of-sample probability that each label applies (columns = labels, values in
        [0, 1], independent per label), indexed by ``task``, or by (``task``,
        ``annotator``) to give each annotation its own prediction.
    field : optional
        The field to check (required when the table has several).
    kinds : dict, optional
        ``{field: kind}`` overrides.
    assignments : pandas.DataFrame, optional
        ``task, annotator`` pairs given the task (default ``data.attrs["assignments"]``):
        assigned annotators without rows are checked as "no label applies".
    filter_by : str, default='prune_by_noise_rate'
        cleanlab's rule for ``is_label_issue``.
    threshold : float, default=0.5
        Probability above which a label goes into ``suggested_labels``.

    Returns
    -------
    pandas.DataFrame
        One row per annotation: ``task``, ``field``, ``annotator``, ``given_labels``
        (tuple), ``suggested_labels`` (tuple), ``label_score`` (lower = worse),
        ``is_label_issue``; ``attrs["empties_counted"]``.

    Raises
    ------
    QAInputError
        The field is not multilabel (naming the function for its kind), a label is not a
        column of ``pred_probs``, a task has no prediction, or probabilities are outside [0, 1].

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 3, 3, 4], "annotator": "a",
    ...                    "label": ["x", "y", "x", "y", "x", "y"], "kind": "multilabel"})
    >>> p = pd.DataFrame({"x": [.9, .95, .9, .1], "y": [.9, .05, .8, .9]}, index=[1, 2, 3, 4])
    >>> multilabel_label_issues(df, p)[["task", "given_labels", "is_label_issue"]]
       task given_labels  is_label_issue
    0     1       (x, y)           False
    1     2         (x,)           False
    2     3       (x, y)           False
    3     4         (y,)           False
    """
    from cleanlab.multilabel_classification.filter import find_label_issues
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    func = "multilabel_label_issues"
    check_option("filter_by", filter_by, ["prune_by_noise_rate", "prune_by_class", "both",
                                          "confident_learning", "predicted_neq_given"], func=func)
    sub, field = _field(data, field, kinds, "multilabel", func)
    if not isinstance(pred_probs, pd.DataFrame):
        raise QAInputError(f"The 'pred_probs' parameter of {func} must be a DataFrame (columns = labels, "
                           f"index = task). Got {type(pred_probs).__name__}.")
    probs = pred_probs.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if np.isnan(probs).any() or (probs < 0).any() or (probs > 1).any():
        raise QAInputError(f"The 'pred_probs' of {func} must be probabilities in [0, 1] with no missing value.")
    if pred_probs.shape[1] < 2:
        raise QAInputError(f"The 'pred_probs' of {func} needs at least 2 label columns; got {pred_probs.shape[1]}.")
    classes = list(pred_probs.columns)
    extra = sorted(set(map(str, pd.unique(sub["label"]))) - set(map(str, classes)))
    if extra:
        raise QAInputError(f"Field {field!r} has label(s) {extra[:5]} that are not columns of 'pred_probs' "
                           f"in {func} (columns: {classes[:10]}).")
    pairs, counted = _annotations(sub, data, assignments)
    per_annotation = isinstance(pred_probs.index, pd.MultiIndex)
    keys = list(zip(pairs["task"], pairs["annotator"])) if per_annotation else list(pairs["task"])
    missing = pd.Index(keys).difference(pred_probs.index) if not per_annotation else [
        k for k in keys if k not in pred_probs.index]
    if len(missing):
        raise QAInputError(f"The 'pred_probs' of {func} has no row for {len(missing)} annotated "
                           f"{'annotation' if per_annotation else 'task'}(s), e.g. {list(missing[:5])}.")
    p = pd.DataFrame(probs, index=pred_probs.index).loc[keys].to_numpy()
    code = {str(c): i for i, c in enumerate(classes)}
    sets = sub.groupby(["task", "annotator"], sort=False)["label"].agg(lambda s: sorted({code[str(v)] for v in s}))
    given = [sets.get((t, a), []) for t, a in zip(pairs["task"], pairs["annotator"])]
    score = get_label_quality_scores(given, p)
    mask = find_label_issues(given, p, filter_by=filter_by, n_jobs=1)
    cls = np.asarray(classes, dtype=object)
    out = pairs[["task", "annotator"]].copy()
    out["given_labels"] = [tuple(cls[g]) for g in given]
    out["suggested_labels"] = [tuple(cls[row >= threshold]) for row in p]
    return _finish(out, field, counted, score, mask)


def _token_probs(pred_probs, task, who, n_tok: int, k: int, func: str) -> np.ndarray:
    key = (task, who) if (task, who) in pred_probs else task
    if key not in pred_probs:
        raise QAInputError(f"The 'pred_probs' of {func} has no entry for task {task!r} (or ({task!r}, {who!r})).")
    arr = np.asarray(pred_probs[key], dtype=float)
    if arr.shape != (n_tok, k):
        raise QAInputError(f"The 'pred_probs' of {func} for task {task!r} has shape {arr.shape}; expected "
                           f"({n_tok} tokens, {k} classes).")
    if np.isnan(arr).any() or (arr < 0).any() or not np.allclose(arr.sum(axis=1), 1, atol=1e-4):
        raise QAInputError(f"The 'pred_probs' of {func} for task {task!r} must be rows of probabilities summing to 1.")
    return arr / arr.sum(axis=1, keepdims=True)


def token_label_issues(data: pd.DataFrame, pred_probs: Mapping, *, tokens: Mapping, classes: list,
                       field: Any = None, kinds: dict | None = None, outside: str = "O",
                       assignments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Flag tokens whose span label (or its absence) the model contradicts.

    Each annotation's spans are cut into token labels (IO scheme: the label of the span
    that covers the token, else ``outside``; a token overlapped by no span is outside) and
    checked with ``cleanlab.token_classification``.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with ``start``/``end`` character offsets (``end`` exclusive).
    pred_probs : mapping
        ``{task: array (n_tokens, n_classes)}`` of out-of-sample token probabilities,
        columns in the order of ``classes``; a ``(task, annotator)`` key gives one
        annotation its own prediction.
    tokens : mapping
        ``{task: [(start, end), ...]}`` token character offsets (e.g. from
        :func:`whitespace_tokens` or a tokenizer's offsets).
    classes : list
        Class names of the ``pred_probs`` columns, including ``outside``.
    field, kinds, assignments
        As in :func:`multilabel_label_issues`.
    outside : str, default='O'
        The class of tokens in no span.

    Returns
    -------
    pandas.DataFrame
        One row per token of each annotation: ``task``, ``field``, ``annotator``, ``unit``
        (token index), ``token_start``, ``token_end``, ``given_label``,
        ``suggested_label``, ``label_score`` (lower = worse), ``is_label_issue``.
        ``attrs["annotation_scores"]`` holds cleanlab's
        per-annotation score (the worst token) as ``label_score``.

    Raises
    ------
    QAInputError
        The field is not a span field, a span label is not in ``classes``, or a task has
        no tokens or predictions of the right shape.
    """
    from cleanlab.token_classification.filter import find_label_issues
    from cleanlab.token_classification.rank import get_label_quality_scores

    func = "token_label_issues"
    sub, field = _field(data, field, kinds, "span", func)
    classes = list(classes)
    if outside not in classes:
        raise QAInputError(f"The 'classes' of {func} must include the outside class {outside!r}; got {classes[:10]}.")
    code = {str(c): i for i, c in enumerate(classes)}
    extra = sorted(set(map(str, pd.unique(sub["label"]))) - set(code))
    if extra:
        raise QAInputError(f"Field {field!r} has span label(s) {extra[:5]} that are not in 'classes' of {func}.")
    pairs, counted = _annotations(sub, data, assignments)
    groups = sub.groupby(["task", "annotator"], sort=False).indices
    starts = pd.to_numeric(sub["start"]).to_numpy(dtype=float)
    ends = pd.to_numeric(sub["end"]).to_numpy(dtype=float)
    labs = sub["label"].astype(str).to_numpy()
    given, probs, meta = [], [], []
    for t, a in zip(pairs["task"], pairs["annotator"]):
        if t not in tokens or len(tokens[t]) == 0:
            raise QAInputError(f"The 'tokens' of {func} has no tokens for task {t!r}.")
        tok = np.asarray(tokens[t], dtype=float).reshape(-1, 2)
        lab = np.full(len(tok), code[outside], dtype=int)
        for i in groups.get((t, a), []):
            cover = (tok[:, 0] < ends[i]) & (tok[:, 1] > starts[i])
            lab[cover] = code[labs[i]]
        given.append(lab.tolist())
        probs.append(_token_probs(pred_probs, t, a, len(tok), len(classes), func))
        meta.append((t, a, tok))
    issues = set(map(tuple, find_label_issues(given, probs)))
    sentence, token_info = get_label_quality_scores(given, probs)
    cls = np.asarray(classes, dtype=object)
    parts = []
    for s, ((t, a, tok), lab, p) in enumerate(zip(meta, given, probs)):
        n = len(lab)
        parts.append(pd.DataFrame({
            "task": [t] * n, "annotator": [a] * n, "unit": np.arange(n),
            "token_start": tok[:, 0].astype(int), "token_end": tok[:, 1].astype(int),
            "given_label": cls[lab], "suggested_label": cls[p.argmax(axis=1)],
            "score": np.asarray(token_info[s], dtype=float),
            "flag": [(s, j) in issues for j in range(n)],
        }))
    tok_table = pd.concat(parts, ignore_index=True)
    out = _finish(tok_table.drop(columns=["score", "flag"]), field, counted, tok_table["score"],
                  tok_table["flag"])
    sentence_scores = np.asarray(sentence, dtype=float)
    out.attrs["annotation_scores"] = pairs[["task", "annotator"]].assign(
        label_score=sentence_scores)
    return out


def box_label_issues(data: pd.DataFrame, predictions: pd.DataFrame, *, field: Any = None,
                     kinds: dict | None = None, assignments: pd.DataFrame | None = None,
                     overlapping_label_check: bool = True) -> pd.DataFrame:
    """Flag box annotations that the model contradicts (missed, spurious, badly placed or labelled boxes).

    Wraps ``cleanlab.object_detection.filter.find_label_issues`` and
    ``cleanlab.object_detection.rank.get_label_quality_scores`` (ObjectLab), one image per
    annotation.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with ``x_min, y_min, x_max, y_max`` in pixels (axis-aligned).
    predictions : pandas.DataFrame
        Model detections: ``task``, ``label``, ``score`` (confidence in [0, 1]) and the box
        columns, e.g. from :func:`qa_toolkit.read_predictions`. Out-of-sample.
    field, kinds, assignments
        As in :func:`multilabel_label_issues`.
    overlapping_label_check : bool, default=True
        cleanlab's check for boxes of different labels drawn on the same object.

    Returns
    -------
    pandas.DataFrame
        One row per annotation: ``task``, ``field``, ``annotator``, ``n_boxes``,
        ``label_score`` (lower = worse), ``is_label_issue``.

    Raises
    ------
    QAInputError
        The field is not a box field, boxes are rotated, or predictions lack columns.
    """
    from cleanlab.object_detection.filter import find_label_issues
    from cleanlab.object_detection.rank import get_label_quality_scores

    func = "box_label_issues"
    sub, field = _field(data, field, kinds, "box", func)
    box = ["x_min", "y_min", "x_max", "y_max"]
    if not isinstance(predictions, pd.DataFrame) or not {"task", "label", "score", *box} <= set(predictions.columns):
        raise QAInputError(f"The 'predictions' of {func} must be a DataFrame with columns task, label, score, "
                           f"{', '.join(box)} (e.g. qa.read_predictions(...)).")
    if "rotation" in sub.columns and (pd.to_numeric(sub["rotation"], errors="coerce").fillna(0) != 0).any():
        i = int(np.flatnonzero(pd.to_numeric(sub["rotation"], errors="coerce").fillna(0).to_numpy() != 0)[0])
        r = {c: getattr(sub[c].iloc[i], "item", lambda v=sub[c].iloc[i]: v)() for c in ("task", "annotator", "rotation")}
        raise QAInputError(f"{func}: field {field!r} has rotated boxes (task {r['task']!r}, annotator "
                           f"{r['annotator']!r}, rotation {r['rotation']}); cleanlab's object detection reads "
                           "axis-aligned boxes only. Use qa.agreement_report(data, field=...) for rotated boxes.")
    pred = predictions.dropna(subset=box + ["score"])
    sc = pd.to_numeric(pred["score"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(sc).any() or (sc < 0).any() or (sc > 1).any():
        raise QAInputError(f"The 'score' column of the 'predictions' of {func} must be confidences in [0, 1].")
    classes = sorted(set(map(str, pd.unique(sub["label"]))) | set(map(str, pd.unique(pred["label"]))))
    code = {c: i for i, c in enumerate(classes)}
    pairs, counted = _annotations(sub, data, assignments)
    g_lab = sub.groupby(["task", "annotator"], sort=False).indices
    g_pred = pred.groupby("task", sort=False).indices
    xy = sub[box].apply(pd.to_numeric).to_numpy(dtype=float)
    lab = sub["label"].astype(str).map(code).to_numpy()
    pxy = pred[box].apply(pd.to_numeric).to_numpy(dtype=float)
    plab = pred["label"].astype(str).map(code).to_numpy()
    labels, preds, n_boxes = [], [], []
    for t, a in zip(pairs["task"], pairs["annotator"]):
        idx = np.asarray(g_lab.get((t, a), []), dtype=int)
        labels.append({"bboxes": xy[idx].reshape(-1, 4), "labels": lab[idx].astype(int)})
        n_boxes.append(len(idx))
        pidx = np.asarray(g_pred.get(t, []), dtype=int)
        preds.append([np.column_stack([pxy[pidx[plab[pidx] == k]], sc[pidx[plab[pidx] == k]]]).reshape(-1, 5)
                      for k in range(len(classes))])
    score = get_label_quality_scores(labels, preds, overlapping_label_check=overlapping_label_check, verbose=False)
    mask = find_label_issues(labels, preds, overlapping_label_check=overlapping_label_check)
    out = pairs[["task", "annotator"]].copy()
    out["n_boxes"] = n_boxes
    return _finish(out, field, counted, score, mask)
