"""Engines (issue 14): in-memory, DuckDB out of core and Dask give the same numbers;
columnar sources are read and checked once, with clear errors."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

from qa_toolkit import AnnotationFormatError, QAInputError
from qa_toolkit.aggregation import DawidSkene
from qa_toolkit.agreement import agreement_report, fleiss_kappa
from qa_toolkit.agreement.out_of_core import COUNT_METRICS
from qa_toolkit.engines import choose_engine, sufficient_statistics
from qa_toolkit.io import read_annotations

pa = pytest.importorskip("pyarrow")
pytest.importorskip("duckdb")


def _crowd(seed=0, n_tasks=400, n_ann=12, k=3):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_tasks)
    skill = rng.uniform(0.5, 0.95, n_ann)
    rows = []
    for i in range(n_tasks):
        for a in rng.choice(n_ann, 4, replace=False):
            lab = truth[i] if rng.random() < skill[a] else rng.integers(0, k)
            rows.append((f"t{i:04d}", f"w{a:02d}", ["cat", "dog", "eel"][lab]))
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


@pytest.fixture(scope="module")
def crowd():
    return _crowd()


@pytest.fixture(scope="module")
def hive_dir(crowd, tmp_path_factory, write_hive):
    return write_hive(crowd, tmp_path_factory.mktemp("hive"), crowd["task"].str[1:].astype(int) % 3)


def _sources(crowd, hive_dir):
    import duckdb
    import polars as pl
    import pyarrow.dataset as pds

    con = duckdb.connect()
    return {
        "hive_dir": hive_dir,
        "arrow_table": pa.Table.from_pandas(crowd),
        "arrow_dataset": pds.dataset(str(hive_dir), partitioning="hive"),
        "polars": pl.from_pandas(crowd),
        "polars_lazy": pl.from_pandas(crowd).lazy(),
        "duckdb_relation": con.from_df(crowd),
    }


def test_sufficient_statistics_identical_across_sources(crowd, hive_dir):
    ref = sufficient_statistics(crowd, engine="pandas")
    for name, src in _sources(crowd, hive_dir).items():
        got = sufficient_statistics(src, engine="duckdb")
        assert got.tasks.equals(ref.tasks), name
        assert got.categories.equals(ref.categories), name
        assert got.annotators.equals(ref.annotators), name
        assert np.array_equal(got.counts, ref.counts), name
        assert np.array_equal(got.annotator_counts, ref.annotator_counts), name
    assert fleiss_kappa(got) == fleiss_kappa(crowd)


def test_agreement_report_duckdb_equals_in_memory(crowd, hive_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mem = agreement_report(crowd, n_boot=100, random_state=0, min_overlap=5, metrics=list(COUNT_METRICS))
        out = agreement_report(hive_dir, engine="duckdb", n_boot=100, random_state=0, min_overlap=5)
    common = out.summary.index
    assert list(common) == ["percent_agreement", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1",
                            "brennan_prediger"]
    cols = ["value", "ci_low", "ci_high", "se", "n_tasks", "n_pairable"]
    pd.testing.assert_frame_equal(out.summary[cols], mem.summary.loc[common, cols])
    pd.testing.assert_frame_equal(out.per_label, mem.per_label)
    pd.testing.assert_frame_equal(out.pairwise.reset_index(drop=True), mem.pairwise, check_dtype=False)
    pd.testing.assert_frame_equal(out.per_annotator, mem.per_annotator, check_dtype=False)


def test_auto_engine_by_size(crowd, hive_dir, monkeypatch):
    import qa_toolkit.engines as engines

    assert choose_engine(crowd) == "pandas"
    assert choose_engine(hive_dir) == "pandas"  # 1,600 rows: read into memory, full report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = agreement_report(hive_dir, n_boot=20, random_state=0)
    assert "conger_kappa" in rep.summary.index
    monkeypatch.setattr(engines, "AUTO_ROWS", 1000)
    assert choose_engine(hive_dir) == "duckdb"
    with pytest.raises(ValueError, match="'engine' parameter"):
        choose_engine(crowd, "spark")


def test_dawid_skene_on_parquet_equals_in_memory(crowd, hive_dir):
    ref = DawidSkene(smoothing=0.01).fit(crowd)
    for src in (hive_dir, pa.Table.from_pandas(crowd)):
        ds = DawidSkene(smoothing=0.01).fit(src, engine="duckdb")
        pd.testing.assert_frame_equal(ds.posteriors_, ref.posteriors_, check_names=False, atol=1e-12)
        pd.testing.assert_frame_equal(ds.confusion_, ref.confusion_, check_names=False, atol=1e-12)
        assert ds.n_iter_ == ref.n_iter_
        pd.testing.assert_frame_equal(ds.label_table(), ref.label_table(), check_names=False)


def test_read_annotations_parquet_dir(crowd, hive_dir):
    df = read_annotations(hive_dir)
    assert len(df) == len(crowd)
    got = df[["task", "annotator", "label"]].astype(str).sort_values(["task", "annotator"]).reset_index(drop=True)
    want = crowd.sort_values(["task", "annotator"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert isinstance(df["annotator"].dtype, pd.CategoricalDtype)  # string ids stay dictionary-coded


def test_inconsistent_schema_names_both_files(crowd, tmp_path):
    crowd.iloc[:800].to_parquet(tmp_path / "a.parquet", index=False)
    crowd.iloc[800:].assign(label=1.5).to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(AnnotationFormatError, match=r"column 'label' is double in .*b\.parquet but \w*string in .*a\.parquet"):
        sufficient_statistics(tmp_path, engine="duckdb")


def test_partition_missing_column_names_the_file(crowd, tmp_path):
    crowd.iloc[:800].to_parquet(tmp_path / "a.parquet", index=False)
    crowd.iloc[800:].drop(columns="annotator").to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(AnnotationFormatError, match=r"b\.parquet lacks the required column\(s\) \['annotator'\]"):
        read_annotations(tmp_path)


def test_corrupt_file_and_duplicates_are_named(crowd, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.parquet").write_text("not parquet")
    with pytest.raises(AnnotationFormatError, match=r"x\.parquet is not a readable Parquet file"):
        DawidSkene().fit(bad, engine="duckdb")
    dup = tmp_path / "dup"
    dup.mkdir()
    pd.concat([crowd, crowd.iloc[[5]]]).to_parquet(dup / "d.parquet", index=False)
    with pytest.raises(AnnotationFormatError, match=r"task 't0001' has 2 labels from annotator 'w\d\d'"):
        agreement_report(dup, engine="duckdb")


def test_unreachable_dask_scheduler_fails_fast(crowd):
    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    with pytest.raises(QAInputError, match=r"tcp://127\.0\.0\.1:9 "):
        sufficient_statistics(crowd, engine="dask", client="tcp://127.0.0.1:9")
    assert time.perf_counter() - t0 < 30


def test_dask_local_cluster_identical_to_in_memory(crowd, hive_dir):
    """2 workers (threads: starts in ~1 s; processes=True also works but takes 10-25 s here)."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        got = sufficient_statistics(hive_dir, engine="dask", client=client)
        ref = sufficient_statistics(crowd, engine="pandas")
        assert got.tasks.equals(ref.tasks) and np.array_equal(got.counts, ref.counts)
        assert np.array_equal(got.annotator_counts, ref.annotator_counts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = agreement_report(hive_dir, engine="dask", client=client, n_boot=50, random_state=0)
            mem = agreement_report(crowd, n_boot=50, random_state=0)
        cols = ["value", "ci_low", "ci_high", "se"]
        pd.testing.assert_frame_equal(rep.summary[cols], mem.summary.loc[rep.summary.index, cols])
        # pairwise and per-annotator tables: the source shuffled by task, each partition's pair sums
        assert len(mem.pairwise) > 20
        pd.testing.assert_frame_equal(rep.pairwise.reset_index(drop=True), mem.pairwise, check_dtype=False)
        # (Dask's string index has the <NA> flavour of pandas' string dtype: values compared)
        pd.testing.assert_frame_equal(rep.per_annotator, mem.per_annotator, check_dtype=False, check_index_type=False)
        ds = DawidSkene(smoothing=0.01).fit(hive_dir, engine="dask", client=client)
    ref_ds = DawidSkene(smoothing=0.01).fit(crowd)
    assert ds.n_iter_ == ref_ds.n_iter_
    # partition sums are added in another order: equal to rounding (1e-12), labels identical
    np.testing.assert_allclose(ds.posteriors_.to_numpy(), ref_ds.posteriors_.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(ds.history_, ref_ds.history_, rtol=1e-12)
    assert ds.labels_.index.equals(ref_ds.labels_.index) and list(ds.labels_) == list(ref_ds.labels_)
