"""``agreement_report`` on the engines' sufficient statistics (out of core, on a cluster).

The summary, its intervals and the per-label table read the task x label counts only, so
they are computed by the same functions as in memory on the engine's :class:`Coded`
counts (identical numbers). Pairwise and per-annotator tables need within-task pairs:
on a source large enough to be spilled into task buckets, each bucket adds its pairs while
it is in memory (one read of the source, :mod:`._pair_sums`); on smaller sources DuckDB
computes their sums with joins on ``task``; on Dask the source is shuffled by task and each
partition sends the same sums. Conger's kappa needs per-row weights for its intervals and is left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_positive_int, check_random_state
from qa_toolkit.engines import sufficient_statistics
from qa_toolkit.engines._spill import use_spill
from qa_toolkit.engines.coding import Coded
from qa_toolkit.io.parquet_dataset import ColumnarSource, open_source

__all__ = ["engine_report", "COUNT_METRICS"]

#: Coefficients that are functions of the task x label counts alone.
COUNT_METRICS = ("percent_agreement", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1", "brennan_prediger")


def _pairwise_table(keys: np.ndarray, conf: np.ndarray, coded: Coded, *, min_overlap: int) -> pd.DataFrame:
    """Cohen's kappa per annotator pair from pair codes ``a1 * A + a2`` and their (K, K) label
    confusions (the in-memory ``pairwise`` table's sums)."""
    from qa_toolkit.agreement.breakdown import _pairwise_frame

    A, K = len(coded.annotators), len(coded.categories)
    W = np.eye(K)
    n = conf.sum(axis=(1, 2))
    po = (conf * W[None]).sum(axis=(1, 2))
    return _pairwise_frame(keys // A, keys % A, n, po, conf.sum(axis=2), conf.sum(axis=1), coded.annotators, W,
                           metric="cohen_kappa", min_overlap=min_overlap)


def _pairwise_duckdb(src: ColumnarSource, coded: Coded, *, min_overlap: int) -> pd.DataFrame:
    from qa_toolkit.engines._duckdb import duckdb_pair_confusions

    pc = duckdb_pair_confusions(src)
    A, K = len(coded.annotators), len(coded.categories)
    a1 = coded.annotators.get_indexer(pc["a1"])
    a2 = coded.annotators.get_indexer(pc["a2"])
    pair = a1.astype(np.int64) * A + a2
    keys, p = np.unique(pair, return_inverse=True)
    l1, l2 = coded.categories.get_indexer(pc["l1"]), coded.categories.get_indexer(pc["l2"])
    conf = np.bincount(p * K * K + l1 * K + l2, weights=pc["n"].to_numpy(), minlength=len(keys) * K * K)
    return _pairwise_table(keys, conf.reshape(len(keys), K, K), coded, min_overlap=min_overlap)


def _per_annotator_table(n_pairs: np.ndarray, n_agree: np.ndarray, own: np.ndarray, oth: np.ndarray,
                         coded: Coded) -> pd.DataFrame:
    """The in-memory ``per_annotator`` table from per-annotator sums: pairs with others and
    agreeing pairs (A,), its labels on shared tasks and every label on them, its own included
    (A, K)."""
    from qa_toolkit.agreement.breakdown import _per_annotator_frame

    return _per_annotator_frame(n_pairs, n_agree, own.sum(axis=1), own, oth - own,
                                np.asarray(coded.annotator_counts).sum(axis=1), coded.annotators)


def _per_annotator_duckdb(src: ColumnarSource, coded: Coded) -> pd.DataFrame:
    from qa_toolkit.engines._duckdb import duckdb_annotator_sums

    own, oth = duckdb_annotator_sums(src)
    A, K = len(coded.annotators), len(coded.categories)
    a = coded.annotators.get_indexer(own["annotator"])
    lab = coded.categories.get_indexer(own["label"])

    def per_a(col):
        return np.bincount(a, weights=own[col].to_numpy(dtype=float), minlength=A)

    own_m = np.bincount(a * K + lab, weights=own["n_shared"].to_numpy(dtype=float), minlength=A * K).reshape(A, K)
    ao, lo = coded.annotators.get_indexer(oth["annotator"]), coded.categories.get_indexer(oth["label"])
    oth_m = np.bincount(ao * K + lo, weights=oth["n_all"].to_numpy(dtype=float), minlength=A * K).reshape(A, K)
    return _per_annotator_table(per_a("n_pairs"), per_a("n_agree"), own_m, oth_m, coded)


def _tables_from_totals(totals: dict[str, np.ndarray], coded: Coded, *,
                        min_overlap: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairwise and per-annotator tables from :class:`._pair_sums.PairSums` totals."""
    return (_pairwise_table(totals["keys"], totals["conf"], coded, min_overlap=min_overlap),
            _per_annotator_table(totals["n_pairs"], totals["n_agree"], totals["own"], totals["oth"], coded))


def _tables_from_spill(src: ColumnarSource, *, min_overlap: int) -> tuple[Coded, pd.DataFrame, pd.DataFrame]:
    """Counts, pairwise and per-annotator tables from one spill of ``src`` into task buckets:
    each bucket adds its within-task pairs while it is in memory (:mod:`._pair_sums`)."""
    from qa_toolkit.agreement._pair_sums import PairSums
    from qa_toolkit.engines._spill import spill_coded
    from qa_toolkit.engines.coding import code_annotations

    sums = PairSums()
    coded = code_annotations(spill_coded(src, func="agreement_report", on_bucket=sums.add), func="agreement_report")
    return (coded, *_tables_from_totals(sums.totals(), coded, min_overlap=min_overlap))


def _tables_from_dask(src: ColumnarSource, coded: Coded, *, client: Any,
                      min_overlap: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairwise and per-annotator tables on Dask: the source shuffled by task, each worker's
    partitions send their pair sums (annotators x labels arrays and the pairs' confusions)."""
    from functools import partial

    from qa_toolkit.agreement._pair_sums import merge_totals, partition_totals
    from qa_toolkit.engines._dask import dask_task_map

    fn = partial(partition_totals, annotators=coded.annotators, categories=coded.categories)
    totals = merge_totals(dask_task_map(src, fn, client=client, func="agreement_report"))
    return _tables_from_totals(totals, coded, min_overlap=min_overlap)


def engine_report(source: Any, *, engine: str, metrics: Any = None, n_boot: int = 500, min_overlap: int = 10,
                  random_state: Any = None, ci: str = "bootstrap", client: Any = None):
    """:func:`qa_toolkit.agreement.agreement_report` computed from an engine's counts.

    Parameters
    ----------
    source : columnar source or DataFrame
    engine : {'duckdb', 'dask', 'pandas'}
    metrics : list of str, optional
        From :data:`COUNT_METRICS` (the default: all of them).
    n_boot, min_overlap, random_state, ci
        As in ``agreement_report``.
    client : distributed.Client or str, optional
        Dask only.

    Returns
    -------
    AgreementReport
    """
    from qa_toolkit.agreement._result import AgreementReport, interpret
    from qa_toolkit.agreement.bootstrap import confidence_interval
    from qa_toolkit.agreement.breakdown import per_label

    n_boot = check_positive_int("n_boot", n_boot, minimum=2, func="agreement_report")
    metrics = list(COUNT_METRICS) if metrics is None else list(metrics)
    bad = [m for m in metrics if m not in COUNT_METRICS]
    if bad:
        raise QAInputError(f"agreement_report(engine={engine!r}) computes {list(COUNT_METRICS)} from the "
                           f"task x label counts; {bad} need the rows in memory (engine='pandas').")
    src = source if isinstance(source, (ColumnarSource, Coded)) else open_source(source, func="agreement_report")
    tables: tuple[pd.DataFrame, pd.DataFrame] | None = None
    if engine == "duckdb" and isinstance(src, ColumnarSource) and use_spill(src):
        coded, *tables = _tables_from_spill(src, min_overlap=min_overlap)  # one read: counts and pair sums
    else:
        coded = src if isinstance(src, Coded) else sufficient_statistics(src, engine=engine, client=client)
    rng = check_random_state(random_state)
    parts: list[pd.DataFrame] = [confidence_interval(coded, m, method=ci, n_boot=n_boot, random_state=rng)
                                 for m in metrics]
    summary = pd.concat(parts)
    summary["interpretation"] = [interpret(m, v) for m, v in summary["value"].items()]
    if tables is not None:
        pairs, per_ann = tables
    elif engine == "duckdb" and isinstance(src, ColumnarSource):
        pairs, per_ann = _pairwise_duckdb(src, coded, min_overlap=min_overlap), _per_annotator_duckdb(src, coded)
    elif engine == "dask" and isinstance(src, ColumnarSource):
        pairs, per_ann = _tables_from_dask(src, coded, client=client, min_overlap=min_overlap)
    else:  # counts without rows (a Coded passed in): no within-task pairs to count
        pairs = pd.DataFrame({"annotator_a": [], "annotator_b": [], "value": [], "n": [], "observed": []})
        per_ann = pd.DataFrame({"agreement": [], "kappa": [], "n_tasks": [], "n_labels": []},
                               index=pd.Index([], name="annotator"))
    return AgreementReport(summary=summary, per_label=per_label(coded, n_boot=min(n_boot, 200), random_state=rng),
                           pairwise=pairs, per_annotator=per_ann)
