"""Out of core by task bucket (issue 14): the DuckDB engine's spill path gives the in-memory
numbers (counts, coefficients, Dawid-Skene), names bad input, and leaves no temporary files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit import AnnotationFormatError, QAInputError
from qa_toolkit.aggregation import DawidSkene
from qa_toolkit.agreement import fleiss_kappa, gwet_ac1, krippendorff_alpha
from qa_toolkit.engines import _spill, sufficient_statistics
from qa_toolkit.io.parquet_dataset import open_source

pa = pytest.importorskip("pyarrow")
pytest.importorskip("duckdb")


def _crowd(seed=0, n_tasks=300, n_ann=12, k=3, strings=True):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_tasks)
    skill = rng.uniform(0.5, 0.95, n_ann)
    n_per = rng.integers(2, 6, n_tasks)  # 2-5 labels per task: uneven rows
    rows = []
    for i in range(n_tasks):
        for a in rng.choice(n_ann, n_per[i], replace=False):
            lab = truth[i] if rng.random() < skill[a] else rng.integers(0, k)
            rows.append((f"t{i:04d}", f"w{a:02d}", ["cat", "dog", "eel"][lab]) if strings else (7 * i + 3, 100 + a, lab))
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # rows not grouped by task


@pytest.fixture(autouse=True)
def small_buckets(monkeypatch, tmp_path):
    """Force the spill path with buckets of ~150 rows (several buckets on small data)."""
    monkeypatch.setattr(_spill, "SPILL_MIN_ROWS", 0)
    monkeypatch.setattr(_spill, "BUCKET_ROWS", 150)
    spill_root = tmp_path / "spill"
    spill_root.mkdir()
    monkeypatch.setenv("QA_TOOLKIT_SPILL_DIR", str(spill_root))
    return spill_root


@pytest.fixture(scope="module")
def crowd():
    return _crowd()


@pytest.fixture(scope="module")
def hive_dir(crowd, tmp_path_factory, write_hive):
    # a task's rows spread over several partitions
    return write_hive(crowd, tmp_path_factory.mktemp("hive"), np.arange(len(crowd)) % 3)


@pytest.fixture(scope="module")
def int_dir(tmp_path_factory):
    df = _crowd(seed=1, strings=False)
    root = tmp_path_factory.mktemp("ints")
    table = pa.table({"task": df["task"].to_numpy().astype(np.int32),
                      "annotator": df["annotator"].to_numpy().astype(np.int16),
                      "label": df["label"].to_numpy().astype(np.int8)})
    import pyarrow.parquet as pq

    bounds = np.linspace(0, len(df), 5).astype(int)
    for i in range(4):  # several plain files, no hive keys
        pq.write_table(table.slice(bounds[i], bounds[i + 1] - bounds[i]), root / f"part-{i}.parquet")
    return df, root


def _same_coded(got, ref):
    assert np.array_equal(got.tasks.to_numpy(), ref.tasks.to_numpy())
    assert np.array_equal(got.annotators.to_numpy(), ref.annotators.to_numpy())
    assert np.array_equal(got.categories.to_numpy(), ref.categories.to_numpy())
    assert np.array_equal(got.counts, ref.counts)
    assert np.array_equal(got.annotator_counts, ref.annotator_counts)


def test_several_buckets_each_holding_whole_tasks(hive_dir):
    with _spill.spilled(open_source(hive_dir), func="test") as sp:
        assert len(sp.buckets) >= 5
        seen: set = set()
        n = 0
        for i in range(len(sp.buckets)):
            tasks = set(sp.read(i, func="test")["task"].tolist())
            assert not tasks & seen  # no task spans two buckets
            seen |= tasks
            n += len(sp.read(i, ("label",), func="test")["label"])
        assert n == sp.n_rows
        assert list(sp.labels) == ["cat", "dog", "eel"]


def test_counts_equal_in_memory_string_ids(crowd, hive_dir):
    import duckdb
    import polars as pl

    ref = sufficient_statistics(crowd, engine="pandas")
    sources = {"hive_dir": hive_dir, "arrow": pa.Table.from_pandas(crowd), "polars_lazy": pl.from_pandas(crowd).lazy(),
               "duckdb_relation": duckdb.connect().from_df(crowd)}
    for name, src in sources.items():
        got = sufficient_statistics(src, engine="duckdb")
        assert got.counts.dtype == np.int32, name
        _same_coded(got, ref)
    for f in (krippendorff_alpha, fleiss_kappa, gwet_ac1):
        assert f(got) == pytest.approx(f(crowd), abs=1e-12), f.__name__


def test_counts_equal_in_memory_integer_ids_several_files(int_dir):
    df, root = int_dir
    ref = sufficient_statistics(df, engine="pandas")
    got = sufficient_statistics(root, engine="duckdb")
    _same_coded(got, ref)
    assert krippendorff_alpha(got) == pytest.approx(krippendorff_alpha(df), abs=1e-12)
    assert krippendorff_alpha(got, level="interval") == pytest.approx(krippendorff_alpha(df, level="interval"),
                                                                      abs=1e-12)


def test_categories_parameter(crowd, hive_dir):
    got = sufficient_statistics(hive_dir, engine="duckdb", categories=["eel", "dog", "cat", "fox"])
    ref = sufficient_statistics(crowd, engine="pandas", categories=["eel", "dog", "cat", "fox"])
    _same_coded(got, ref)
    assert got.counts[:, 3].sum() == 0
    with pytest.raises(QAInputError, match=r"'categories' parameter .* \['eel'\] are not in"):
        sufficient_statistics(hive_dir, engine="duckdb", categories=["cat", "dog"])


@pytest.mark.parametrize("which", ["strings", "ints"])
def test_dawid_skene_equals_in_memory_with_gold(which, crowd, hive_dir, int_dir):
    df, root = (crowd, hive_dir) if which == "strings" else int_dir
    truth = df.groupby("task")["label"].first()
    gold = truth.iloc[::9]
    ref = DawidSkene(max_iter=30, tol=0.0).fit(df, gold=gold)
    absent = pd.Series(["nonsense"], index=pd.Index([10**9], dtype=gold.index.dtype))
    got = DawidSkene(max_iter=30, tol=0.0).fit(root, engine="duckdb", gold=pd.concat([gold, absent]))
    assert np.array_equal(got.posteriors_.index.to_numpy(), ref.posteriors_.index.to_numpy())
    assert np.abs(got.posteriors_.to_numpy() - ref.posteriors_.to_numpy()).max() < 1e-10
    assert np.abs(got.confusion_.to_numpy() - ref.confusion_.to_numpy()).max() < 1e-10
    assert np.allclose(got.history_, ref.history_, rtol=1e-12, atol=0)
    assert got.labels_.tolist() == ref.labels_.tolist()
    assert got.gold_.tolist() == ref.gold_.tolist() and len(got.gold_) == len(gold)
    lt_got, lt_ref = got.label_table(), ref.label_table()
    assert lt_got["n_annotations"].tolist() == lt_ref["n_annotations"].tolist()
    assert lt_got["is_gold"].tolist() == lt_ref["is_gold"].tolist()
    post = got.posteriors_
    assert np.shares_memory(post.to_numpy(), post[post.columns[0]].to_numpy())  # one block, not copied


def test_dawid_skene_bad_gold_and_classes(crowd, hive_dir):
    gold = pd.Series(["wolf"], index=[crowd["task"].iloc[0]])
    with pytest.raises(AnnotationFormatError, match=r"gold label\(s\) \['wolf'\]"):
        DawidSkene().fit(hive_dir, engine="duckdb", gold=gold)
    with pytest.raises(AnnotationFormatError, match=r"label\(s\) \['eel'\] in data are not in the 'classes'"):
        DawidSkene(classes=["cat", "dog"]).fit(hive_dir, engine="duckdb")


def test_duplicate_names_task_annotator_and_count(crowd, tmp_path, small_buckets):
    dup = tmp_path / "dup"
    dup.mkdir()
    row = crowd.iloc[[5]]
    pd.concat([crowd, row, row]).to_parquet(dup / "d.parquet", index=False)
    task, ann = row["task"].iloc[0], row["annotator"].iloc[0]
    with pytest.raises(AnnotationFormatError, match=rf"task '{task}' has 3 labels from annotator '{ann}'"):
        sufficient_statistics(dup, engine="duckdb")
    assert list(small_buckets.iterdir()) == []  # removed after the error too


def test_null_field_is_named(crowd, tmp_path):
    d = tmp_path / "nulls"
    d.mkdir()
    crowd.assign(annotator=crowd["annotator"].where(crowd.index != 7)).to_parquet(d / "n.parquet", index=False)
    with pytest.raises(AnnotationFormatError, match=r"field 'annotator' is missing \(null\)"):
        sufficient_statistics(d, engine="duckdb")
    crowd.assign(task=crowd["task"].where(crowd.index != 7)).to_parquet(d / "n.parquet", index=False)
    with pytest.raises(AnnotationFormatError, match=r"field 'task' is missing \(null\)"):
        DawidSkene().fit(d, engine="duckdb")


def test_inconsistent_schema_still_named(crowd, tmp_path):
    crowd.iloc[:400].to_parquet(tmp_path / "a.parquet", index=False)
    crowd.iloc[400:].assign(label=1.5).to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(AnnotationFormatError, match=r"column 'label' is double in .*b\.parquet but \w*string in .*a\.parquet"):
        sufficient_statistics(tmp_path, engine="duckdb")


def test_temp_dir_removed_after_success_and_error(crowd, hive_dir, small_buckets, monkeypatch):
    sufficient_statistics(hive_dir, engine="duckdb")
    DawidSkene(max_iter=3).fit(hive_dir, engine="duckdb")
    assert list(small_buckets.iterdir()) == []

    def boom(*args, **kwargs):
        assert any(small_buckets.iterdir())  # the buckets exist while the EM runs
        raise RuntimeError("boom")

    monkeypatch.setattr(DawidSkene, "_em", boom)
    with pytest.raises(RuntimeError, match="boom"):
        DawidSkene().fit(hive_dir, engine="duckdb")
    assert list(small_buckets.iterdir()) == []


def test_small_sources_keep_the_group_by_path(crowd, hive_dir, monkeypatch):
    monkeypatch.setattr(_spill, "SPILL_MIN_ROWS", 10**9)
    assert not _spill.use_spill(open_source(hive_dir))
    got = sufficient_statistics(hive_dir, engine="duckdb")
    assert got.counts.dtype == np.int64  # the GROUP BY path
    monkeypatch.setattr(_spill, "SPILL_MIN_ROWS", 0)
    assert _spill.use_spill(open_source(hive_dir))
    with pytest.raises(QAInputError, match="bucket size must be >= 1"):
        with _spill.spilled(open_source(hive_dir), func="test", bucket_rows=0):
            pass


@pytest.mark.parametrize("dense", [True, False])
def test_agreement_report_on_the_spill_path_equals_in_memory(crowd, hive_dir, monkeypatch, dense):
    """Counts, pairwise and per-annotator tables from one spill (several buckets): the source
    is not read again by DuckDB joins, and the pair sums (dense array or hash map) give the
    in-memory tables."""
    import warnings

    from qa_toolkit.agreement import _pair_sums, agreement_report
    from qa_toolkit.agreement.out_of_core import COUNT_METRICS
    from qa_toolkit.engines import _duckdb

    def no_join(*args, **kwargs):
        raise AssertionError("the spill path must not join the source again")

    monkeypatch.setattr(_duckdb, "duckdb_pair_confusions", no_join)
    monkeypatch.setattr(_duckdb, "duckdb_annotator_sums", no_join)
    monkeypatch.setattr(_pair_sums, "DENSE_CELLS", 2**22 if dense else 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mem = agreement_report(crowd, n_boot=50, random_state=0, min_overlap=5, metrics=list(COUNT_METRICS))
        out = agreement_report(hive_dir, engine="duckdb", n_boot=50, random_state=0, min_overlap=5)
    cols = ["value", "ci_low", "ci_high", "se", "n_tasks", "n_pairable"]
    pd.testing.assert_frame_equal(out.summary[cols], mem.summary.loc[out.summary.index, cols])
    pd.testing.assert_frame_equal(out.per_label, mem.per_label)
    assert len(mem.pairwise) > 20
    pd.testing.assert_frame_equal(out.pairwise.reset_index(drop=True), mem.pairwise, check_dtype=False)
    pd.testing.assert_frame_equal(out.per_annotator, mem.per_annotator, check_dtype=False)


def test_pair_sums_with_many_labels_per_task(monkeypatch):
    """Tasks with 40 labels (780 pairs each) over two buckets: the pair confusions equal a
    direct count of every within-task pair."""
    from qa_toolkit.agreement import _pair_sums

    rng = np.random.default_rng(3)
    A, K, n_t, per = 60, 4, 30, 40
    t = np.repeat(np.arange(n_t), per)
    a = np.concatenate([rng.choice(A, per, replace=False) for _ in range(n_t)])
    lab = rng.integers(0, K, len(t))
    want = np.zeros((A, A, K, K))
    for i in range(n_t):
        rows = np.flatnonzero(t == i)
        for x in rows:
            for y in rows:
                if a[x] < a[y]:
                    want[a[x], a[y], lab[x], lab[y]] += 1
    for dense in (True, False):
        monkeypatch.setattr(_pair_sums, "DENSE_CELLS", 2**22 if dense else 0)
        sums = _pair_sums.PairSums()
        for half in (t < 15, t >= 15):  # two buckets of whole tasks, rows shuffled
            idx = rng.permutation(np.flatnonzero(half))
            tb, codes = np.unique(t[idx], return_inverse=True)
            counts = np.bincount(codes * K + lab[idx], minlength=len(tb) * K).reshape(-1, K)
            sums.add(codes, a[idx], lab[idx], counts, n_annotators=A, n_labels=K)
        assert sums.dense is dense
        keys, conf = sums.pair_confusions()
        got = np.zeros((A * A, K, K))
        got[keys] = conf
        np.testing.assert_array_equal(got.reshape(A, A, K, K), want)


def test_dawid_skene_float32_precision_rule_on_all_tasks(crowd, hive_dir, monkeypatch):
    import qa_toolkit.aggregation.dawid_skene as dsm

    monkeypatch.setattr(dsm, "FLOAT32_TASKS", 200)  # 300 tasks in all, < 150 rows per bucket
    ref = DawidSkene(max_iter=10, tol=0.0, precision="auto").fit(crowd)
    got = DawidSkene(max_iter=10, tol=0.0, precision="auto").fit(hive_dir, engine="duckdb")
    f64 = DawidSkene(max_iter=10, tol=0.0).fit(crowd)
    assert np.abs(got.posteriors_.to_numpy() - ref.posteriors_.to_numpy()).max() < 1e-5
    assert np.abs(got.posteriors_.to_numpy() - f64.posteriors_.to_numpy()).max() > 0  # float32 ran


def test_empty_source_raises_as_in_memory(crowd, tmp_path, small_buckets):
    d = tmp_path / "empty"
    d.mkdir()
    crowd.iloc[:0].to_parquet(d / "e.parquet", index=False)
    with pytest.raises(QAInputError, match="is empty"):
        sufficient_statistics(d, engine="duckdb")
    with pytest.raises(AnnotationFormatError, match="is empty"):
        DawidSkene().fit(d, engine="duckdb")
    assert list(small_buckets.iterdir()) == []


@pytest.mark.parametrize("engine", ["duckdb", "dask"])
def test_region_columns_are_refused_not_counted_as_votes(tmp_path, engine, monkeypatch):
    """One box per (task, annotator) has no repeated pairs: the engines, which read task,
    annotator and label only, would count the boxes' labels as votes. They refuse the source,
    naming it and the region columns; in memory the same boxes are matched into units."""
    from qa_toolkit.agreement import agreement_report

    if engine == "dask":
        pytest.importorskip("dask.dataframe")
    boxes = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": ["car"] * 4,
                          "x_min": [0, 1, 0, 1], "y_min": [0] * 4, "x_max": [4] * 4, "y_max": [4] * 4})
    path = tmp_path / "boxes.parquet"
    boxes.to_parquet(path, index=False)
    for call in (lambda: agreement_report(str(path), engine=engine),
                 lambda: DawidSkene().fit(str(path), engine=engine),
                 lambda: sufficient_statistics(boxes, engine=engine)):
        with pytest.raises(AnnotationFormatError, match=r"region columns \['x_min', 'y_min', 'x_max', 'y_max'\]"):
            call()
    monkeypatch.setattr("qa_toolkit.engines.AUTO_ROWS", 1)  # 'auto' sends the file to DuckDB: refused too
    with pytest.raises(AnnotationFormatError, match="boxes.parquet"):
        agreement_report(str(path))
    plain = boxes[["task", "annotator", "label"]]
    plain.to_parquet(tmp_path / "plain.parquet", index=False)
    assert sufficient_statistics(str(tmp_path / "plain.parquet"), engine=engine).counts.sum() == 4
