"""``agreement_report``: every coefficient with intervals, breakdowns and interpretation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._entry import entry_point
from qa_toolkit._validation import QAInputError, check_positive_int
from qa_toolkit.agreement._common import EXAMPLE  # noqa: F401
from qa_toolkit.agreement._result import AgreementReport, interpret
from qa_toolkit.agreement.bootstrap import METRICS, confidence_interval
from qa_toolkit.agreement.breakdown import pairwise, per_annotator, per_label
from qa_toolkit.engines.coding import one_coding  # issue 14: one coding per report

__all__ = ["AgreementReport", "agreement_report", "interpret"]

_DEFAULT = ("percent_agreement", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1", "brennan_prediger", "conger_kappa")


@one_coding
@entry_point("agreement_report")  # issue 10: errors found inside name agreement_report
def agreement_report(
    data: pd.DataFrame,
    *,
    metrics: Any = None,
    n_boot: int = 500,
    min_overlap: int = 10,
    random_state: int | np.random.Generator | None = None,
    ci: str = "auto",
    duplicates: str = "error",
    field: Any = None,
    kinds: dict | None = None,
    assignments: pd.DataFrame | None = None,
    iou_threshold: float = 0.5,
    label_aware: bool = False,
    engine: str = "auto",
    client: Any = None,
) -> AgreementReport:
    """Compute every multi-rater coefficient with bootstrap intervals and breakdowns.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    metrics : list of str, optional
        Names from ``METRICS`` (default: percent agreement, Fleiss, Krippendorff's
        alpha (nominal), Gwet AC1, Brennan-Prediger, Conger; plus Cohen and Scott when
        the table has exactly two annotators).
    n_boot : int, default=500
        Bootstrap replicates for the intervals.
    min_overlap : int, default=10
        Minimum shared tasks for a pairwise cell (see :func:`pairwise`).
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the bootstrap.
    ci : {'auto', 'bootstrap', 'analytic'}, default='auto'
        Interval method of the summary (see :func:`confidence_interval`); 'analytic'
        gives Gwet's linearisation SEs (R irrCAC) for every default metric; 'auto' uses
        them from ``AUTO_ANALYTIC_TASKS`` (50,000) tasks on and the bootstrap below.
    duplicates : {'error', 'first', 'last'}, default='error'
        Repeated labels by one annotator on one task (test-retest): raise, or keep the
        first / last (see :func:`qa_toolkit.intra_annotator_agreement`).
    field : hashable, optional
        Typed tables (``field`` column, or a non-categorical kind): the field to report;
        by default one report per field (a :class:`MultiFieldReport`). Each field is
        reported by its kind (see :mod:`qa_toolkit.agreement.fields`): categorical as
        below; multilabel per-label alpha/kappa and alpha with MASI/Jaccard; ordinal /
        interval alpha at the kind's level and ICC; regions precision/recall/F1, mean
        IoU and alpha over matched objects with "absent" counted.
    kinds : dict, optional
        ``{field: kind}`` overrides.
    assignments : pandas.DataFrame, optional
        ``task, annotator`` pairs given each task (default ``data.attrs['assignments']``).
    iou_threshold : float, default=0.5
        Region kinds: matching threshold (IoU; OKS for keypoints).
    label_aware : bool, default=False
        Region kinds: match only regions with the same label.
    engine : {'auto', 'pandas', 'duckdb', 'dask'}, default='auto'
        Where the counts are computed (see :mod:`qa_toolkit.engines` and docs/SCALE.md).
        ``data`` may then be a Parquet file or folder, an Arrow table or dataset, a
        Polars frame or a DuckDB relation; 'auto' reads sources of up to
        ``qa_toolkit.engines.AUTO_ROWS`` rows into memory and sends larger ones to DuckDB.
        Out of core the summary covers the count-based coefficients.
    client : distributed.Client or str, optional
        engine='dask': a client or a scheduler address ('tcp://host:8786').

    Returns
    -------
    AgreementReport
        Tables ``summary``, ``per_label``, ``pairwise``, ``per_annotator``.

    Examples
    --------
    >>> import pandas as pd
    >>> from qa_toolkit.agreement import agreement_report
    >>> df = pd.concat([pd.DataFrame(EXAMPLE).assign(task=lambda d: d.task + 10 * i) for i in range(10)])
    >>> rep = agreement_report(df, n_boot=100, random_state=0)
    >>> rep.summary.loc["fleiss_kappa", "value"].round(4)
    np.float64(0.3333)
    """
    n_boot = check_positive_int("n_boot", n_boot, minimum=2, func="agreement_report")
    # -- issue 14 (delimited edit): engines (out of core, Dask) --
    from qa_toolkit.engines import choose_engine
    from qa_toolkit.io.parquet_dataset import is_columnar_source, read_parquet_dataset

    eng = choose_engine(data, engine, func="agreement_report")
    if eng != "pandas":
        from qa_toolkit.agreement.out_of_core import engine_report

        return engine_report(data, engine=eng, metrics=metrics, n_boot=n_boot, min_overlap=min_overlap,
                             random_state=random_state, ci=ci, client=client)
    if is_columnar_source(data):
        data = read_parquet_dataset(data)
    # -- end of delimited edit --
    # -- issue 11 (delimited edit): typed fields, dispatch by kind --
    from qa_toolkit.agreement.fields import is_typed, report_by_field

    if field is not None or kinds is not None or (duplicates == "error" and is_typed(data)):
        return report_by_field(
            data, field=field, kinds=kinds, assignments=assignments, n_boot=n_boot, random_state=random_state,
            iou_threshold=iou_threshold, label_aware=label_aware,
            categorical=lambda flat, rng: agreement_report(flat, metrics=metrics, n_boot=n_boot, min_overlap=min_overlap,
                                                           random_state=rng, ci=ci))
    # -- end of delimited edit --
    # -- issue 10 (delimited edit): interval method and test-retest policy --
    from qa_toolkit._validation import check_option
    from qa_toolkit.agreement._common import resolve_duplicates

    check_option("ci", ci, ["auto", "bootstrap", "analytic"], func="agreement_report")
    data = resolve_duplicates(data, duplicates, func="agreement_report", eager=True)
    # -- end of delimited edit --
    n_ann = data["annotator"].nunique() if hasattr(data, "columns") and "annotator" in data.columns else 0
    if metrics is None:
        metrics = list(_DEFAULT) + (["cohen_kappa", "scott_pi"] if n_ann == 2 else [])
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise QAInputError(f"The 'metrics' parameter of agreement_report must list names from {list(METRICS)}. Got {bad}.")
    from qa_toolkit._validation import check_random_state

    rng = check_random_state(random_state)
    rows = []
    for m in metrics:
        kw = {}
        if m in ("cohen_kappa", "scott_pi"):
            a, b = sorted(pd.unique(data["annotator"]))[:2]
            kw = {"annotator_a": a, "annotator_b": b}
        rows.append(confidence_interval(data, m, method=ci, n_boot=n_boot, random_state=rng, **kw))
    summary = pd.concat(rows)
    summary["interpretation"] = [interpret(m, v) for m, v in summary["value"].items()]
    return AgreementReport(
        summary=summary,
        per_label=per_label(data, n_boot=min(n_boot, 200), random_state=rng),
        pairwise=pairwise(data, min_overlap=min_overlap),
        per_annotator=per_annotator(data),
    )
