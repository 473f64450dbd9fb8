"""The annotator report router: categorical tables and typed fields at the metrics of their kind."""

from __future__ import annotations

import pandas as pd

from qa_toolkit._validation import QAInputError, check_columns
from qa_toolkit.annotators.categorical import categorical_annotator_report
from qa_toolkit.annotators.kinds import field_annotator_report

__all__ = ["annotator_report"]


def annotator_report(
    data: pd.DataFrame,
    *,
    gold: pd.Series | None = None,
    pred_probs: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    dawid_skene: bool = True,
    min_labels: int = 20,
    min_gold: int = 10,
    target_accuracy: float = 0.8,
    fast_fraction: float = 0.25,
    constant_share: float = 0.95,
    confidence: float = 0.95,
    field=None,
    **typed,
) -> pd.DataFrame:
    """One row per annotator: volume, agreement, gold accuracy with CI, DS accuracy, flags.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long annotations (``lead_time`` in seconds is used when present).
    gold : pandas.Series, optional
        Gold labels indexed by task.
    pred_probs : pandas.DataFrame, optional
        Model probabilities (task x label): gives ``model_alignment``, the share of the
        annotator's labels that equal the model's top label.
    decisions : pandas.DataFrame, optional
        Review decision log (``task``, ``decision`` in accept/fix/reject/skip/undo, and
        optionally ``annotator`` or ``annotation_id``); gives ``accept_rate``,
        ``fix_rate``, ``reject_rate``, replayed per annotation (undo / skip per
        (task, annotation)) when the log says whose annotation was judged. Without
        either column a task's final decision counts for all its annotators.
    dawid_skene : bool, default=True
        Fit ``qa_toolkit.aggregation.DawidSkene`` for ``ds_accuracy``.
    min_labels, min_gold : int
        Below these, "insufficient data" is flagged instead of judging.
    target_accuracy : float, default=0.8
        "needs calibration" when the gold CI upper bound is below it.
    fast_fraction : float, default=0.25
        "too fast" when the median lead time is below this share of the overall median.
    constant_share : float, default=0.95
        "constant label" when one label makes up at least this share of the annotator's
        labels, but not of the whole table, nor of the reference labels (gold, else the
        majority of the *other* annotators) of the annotator's own tasks: an annotator
        who was only shown one class is not a spammer.
    confidence : float, default=0.95
        Of the Wilson interval and the agreement interval.
    field : hashable, optional
        A field of a typed table: the report at the metrics of its kind (regions,
        ratings, multi-label; see :func:`qa_toolkit.annotators.kinds.field_annotator_report`).
        Required when the table has several fields or a non-categorical kind.
    **typed
        With ``field=``: ``kinds``, ``assignments``, ``iou_threshold``, ``quorum``,
        ``min_tasks``, ``n_boot``, ``random_state`` of the typed report.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``annotator``: ``n_labels``, ``n_tasks``, ``agreement`` (leave-one-out),
        ``gold_n``, ``gold_accuracy``, ``gold_ci_low``, ``gold_ci_high``,
        ``model_alignment``, ``ds_accuracy``, ``accept_rate``, ``fix_rate``,
        ``reject_rate``, ``median_lead_time``, ``top_label_share``, ``reference_top_share``
        (share of the annotator's tasks whose reference label is their top label),
        ``worst_label``, ``most_confused``, ``agreement_ci_low`` / ``agreement_ci_high``
        (normal interval over the annotator's tasks), ``is_low_agreement_issue`` (without
        enough gold: CI upper bound below the median agreement of the others),
        ``low_agreement_score``, ``is_spammer_issue``, ``spammer_score`` (the issue contract keyed
        by ``annotator``), ``needs_calibration``, ``flags`` (words).

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"),
    ...                    "label": ["x", "x", "y", "x"]})
    >>> annotator_report(df, dawid_skene=False, min_labels=1)["agreement"].tolist()
    [0.5, 0.5]
    """
    func = "annotator_report"
    check_columns(data, ["task", "annotator", "label"], func=func)
    classic = dict(gold=gold, pred_probs=pred_probs, decisions=decisions, dawid_skene=dawid_skene,
                   min_labels=min_labels, min_gold=min_gold, target_accuracy=target_accuracy,
                   fast_fraction=fast_fraction, constant_share=constant_share, confidence=confidence)
    if field is not None or typed:
        defaults = annotator_report.__kwdefaults__ or {}
        changed = {k: v for k, v in classic.items() if v is not defaults[k]}
        return field_annotator_report(data, field=field, **typed, **changed)
    from qa_toolkit.agreement.fields import is_typed

    if ("field" in data.columns or "kind" in data.columns) and is_typed(data):
        from qa_toolkit.units.kinds import field_kinds

        ks = field_kinds(data)
        raise QAInputError(f"{func}: the table has typed fields {ks}; pass field=... to get the report of one field "
                           "at the metrics of its kind.")
    return categorical_annotator_report(data, **classic)  # type: ignore[arg-type]
