"""The compiled Dawid-Skene step (issue 14) against the sparse-product formulas it replaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit.aggregation import DawidSkene, _ds_kernel, _tensors
from qa_toolkit.aggregation._tensors import (
    _ds_coded,
    _posteriors,
    _stats_step,
    e_step,
    m_statistics,
)


@pytest.fixture(autouse=True)
def _compiled_step_on_small_data(monkeypatch):
    """Small partitions normally take the sparse-product path; here every one is compiled."""
    monkeypatch.setattr(_tensors, "KERNEL_MIN_ENTRIES", 0)


def _partition(n_t=3000, n_a=40, k=4, per=5, seed=0, gold=0, dtype=np.float64, unit=False):
    rng = np.random.default_rng(seed)
    t = np.repeat(np.arange(n_t), per)
    a = rng.integers(0, n_a, len(t))
    lab = rng.integers(0, k, len(t))
    n = np.ones(len(t)) if unit else rng.integers(1, 3, len(t)).astype(float)  # some triples count twice
    clamp = None
    if gold:
        idx = rng.choice(n_t, gold, replace=False)
        clamp = (idx.astype(np.int64), rng.integers(0, k, gold).astype(np.int64))
    part = _ds_coded(pd.Index(np.arange(n_t)), t, a * k + lab, n, n_a, k, clamp, dtype=dtype)
    log_pi = np.log(rng.dirichlet(np.ones(k)))
    theta = rng.dirichlet(np.ones(k), size=(n_a, k))  # (a, true, observed)
    lto = np.log(theta).transpose(0, 2, 1).reshape(n_a * k, k)
    return part, log_pi, lto


def _assert_step_matches(part, log_pi, lto):
    """The compiled step's M-step sums, class sums and log-likelihood equal the sparse products'
    to 1e-12; returns the sparse products' posteriors."""
    t_ref, ll_ref = e_step(part, log_pi, lto)
    S_ref, cs_ref = m_statistics(part, t_ref)
    S, cs, ll = _stats_step(part, log_pi, lto)
    np.testing.assert_allclose(S, S_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cs, cs_ref, rtol=1e-12)
    assert ll == pytest.approx(ll_ref, rel=1e-12)
    return t_ref


@pytest.mark.parametrize("gold", [0, 50])
@pytest.mark.parametrize("block_tasks", [100_000, 500])
def test_fused_step_equals_sparse_products(monkeypatch, gold, block_tasks):
    monkeypatch.setattr(_ds_kernel, "BLOCK_TASKS", block_tasks)  # 500: six blocks on 3,000 tasks
    part, log_pi, lto = _partition(gold=gold)
    t_ref = _assert_step_matches(part, log_pi, lto)
    _, post, _, is_gold = _posteriors(part, log_pi, lto)
    np.testing.assert_allclose(post, t_ref, rtol=1e-12, atol=1e-14)
    assert int(is_gold.sum()) == gold
    if gold:  # clamped rows are one-hot on the gold class
        assert np.array_equal(post[part.clamp_idx].argmax(axis=1), part.clamp_lab)
        assert np.allclose(post[part.clamp_idx].max(axis=1), 1.0)


def test_fused_step_is_the_same_with_any_number_of_threads(monkeypatch):
    """Blocks depend on the data only and their sums are added in block order: one thread or
    four give the same bits."""
    monkeypatch.setattr(_ds_kernel, "BLOCK_TASKS", 500)
    part, log_pi, lto = _partition(seed=3)
    results = []
    for workers in (1, 4):
        monkeypatch.setattr(_ds_kernel, "_POOL", None)
        monkeypatch.setattr(_ds_kernel.os, "cpu_count", lambda w=workers: w)
        results.append(_stats_step(part, log_pi, lto))
    assert np.array_equal(results[0][0], results[1][0])
    assert results[0][2] == results[1][2]


def test_block_count_depends_on_data_shape_only(monkeypatch):
    assert _ds_kernel.n_blocks(50_000, 20_001, 4) == 1
    assert _ds_kernel.n_blocks(1_000_000, 20_001, 4) == _ds_kernel.MAX_BLOCKS
    # per-block sums capped by memory: 10^6 annotators x 10 labels -> one block
    assert _ds_kernel.n_blocks(1_000_000, 10_000_001, 10) == 1


def test_small_partitions_take_the_sparse_path_with_the_same_fit(monkeypatch):
    rng = np.random.default_rng(8)
    n = 9000
    df = pd.DataFrame({"task": np.repeat(np.arange(n // 3), 3), "annotator": rng.integers(0, 30, n),
                       "label": rng.integers(0, 3, n)}).drop_duplicates(["task", "annotator"])
    compiled = DawidSkene(max_iter=30, tol=0).fit(df)
    monkeypatch.setattr(_tensors, "KERNEL_MIN_ENTRIES", 10**12)
    sparse = DawidSkene(max_iter=30, tol=0).fit(df)
    np.testing.assert_allclose(compiled.posteriors_.to_numpy(), sparse.posteriors_.to_numpy(), atol=1e-11)
    np.testing.assert_allclose(compiled.confusion_.to_numpy(), sparse.confusion_.to_numpy(), atol=1e-11)
    assert compiled.history_ == pytest.approx(sparse.history_, rel=1e-12)


def test_float32_storage_gives_the_float64_fit():
    """``precision='float32'`` stores the counts in float32; the kernel computes in float64,
    so the fit equals the float64 one (counts are small integers, exact in float32)."""
    rng = np.random.default_rng(5)
    n = 6000
    df = pd.DataFrame({"task": np.repeat(np.arange(n // 3), 3), "annotator": rng.integers(0, 30, n),
                       "label": rng.integers(0, 3, n)}).drop_duplicates(["task", "annotator"])
    a = DawidSkene(precision="float64").fit(df)
    b = DawidSkene(precision="float32").fit(df)
    np.testing.assert_allclose(a.posteriors_.to_numpy(), b.posteriors_.to_numpy(), atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 20])  # 20 > MAX_CONST_K: the kernel that reads k from the arrays
def test_fused_step_any_number_of_classes(k):
    part, log_pi, lto = _partition(n_t=800, n_a=15, k=k, gold=10, seed=k)
    _assert_step_matches(part, log_pi, lto)


@pytest.mark.parametrize("values", [
    np.array([5, 3, 3, 9, 5], dtype=np.int64),        # gaps in the range
    np.array([-2, 0, -2, 1], dtype=np.int32),         # negative ids
    np.array([0, 1, 2, 1], dtype=np.uint16),          # already compact, unsigned
    np.array([10**12, 1, 1], dtype=np.int64),         # range too wide: hashed
    np.array(["b", "a", "b"], dtype=object),          # text: hashed
])
def test_sorted_codes_equal_pandas_factorize(values):
    from qa_toolkit.engines._intcode import sorted_codes

    codes, uniques = sorted_codes(pd.Series(values))
    want_codes, want_uniques = pd.factorize(pd.Series(values), sort=True)
    assert np.array_equal(codes, want_codes)
    assert list(uniques) == list(want_uniques)


@pytest.mark.parametrize(("unit", "n_a"), [(True, 40), (False, 20_000), (True, 20_000)])
def test_fused_step_layouts(unit, n_a):
    """Counts all 1 (the count array is not read) and > 65,536 columns (int32 indices kept)."""
    part, log_pi, lto = _partition(n_t=2000, n_a=n_a, gold=20, seed=11, unit=unit)
    _assert_step_matches(part, log_pi, lto)
    indices, is_unit = part.__dict__["_kernel_layout"]
    assert is_unit is unit and indices.dtype == (np.uint16 if n_a * 4 + 1 <= 2**16 else np.int32)


@pytest.mark.parametrize("unit", [True, False])
def test_many_labels_per_task_are_rescaled_not_underflowed(unit):
    """400 labels per task: the product of theta falls far below 1e-308; the running
    product is rescaled by 2^500 and the log-likelihood corrected, as the log-space sparse
    path computes it."""
    part, log_pi, lto = _partition(n_t=300, n_a=500, per=400, seed=4, unit=unit)
    part.m.sum_duplicates()
    t_ref = _assert_step_matches(part, log_pi, lto)
    assert float((part.m @ np.vstack([lto, log_pi[None, :]])).min()) < -745  # exp() alone would be 0
    _, post, _, _ = _posteriors(part, log_pi, lto)
    np.testing.assert_allclose(post, t_ref, rtol=1e-10, atol=1e-12)


def test_a_task_that_underflows_in_probability_space_is_redone_in_log_space():
    """theta below 1e-320 for every class (log theta about -800): exp gives 0, the product
    is 0 for every class, and the task is computed in log space, shifted by its maximum."""
    part, log_pi, lto = _partition(n_t=500, n_a=10, seed=6, unit=True)
    lto = lto.copy()
    lto[7] = -800.0 + np.arange(lto.shape[1])  # annotator 1's label 3: every class below 1e-320
    assert (np.exp(lto[7]) == 0).all()
    hit = np.diff(part.m[:, 7].tocsc().indptr).sum()
    assert hit > 0  # some tasks carry that label
    t_ref = _assert_step_matches(part, log_pi, lto)
    _, post, _, _ = _posteriors(part, log_pi, lto)
    assert np.isfinite(post).all()
    np.testing.assert_allclose(post, t_ref, rtol=1e-12, atol=1e-14)


def test_a_long_task_rescaled_then_underflowing_is_redone_without_its_rescalings():
    """400 labels per task (rescaled several times), one of them with theta below 1e-320 for
    every class: the product ends at 0, the task is redone in log space, and the
    log-likelihood does not keep the rescalings of the abandoned product."""
    part, log_pi, lto = _partition(n_t=200, n_a=500, per=400, seed=9, unit=True)
    lto = lto.copy()
    col = int(part.m.indices[part.m.indptr[0]])  # the first label of task 0
    lto[col] = -800.0 + np.arange(lto.shape[1])
    t_ref = _assert_step_matches(part, log_pi, lto)
    _, post, _, _ = _posteriors(part, log_pi, lto)
    assert np.isfinite(post).all()
    np.testing.assert_allclose(post, t_ref, rtol=1e-10, atol=1e-12)


def test_prefetch_loads_the_kernel_for_the_argument_types_in_the_background():
    """DawidSkene.fit starts loading the compiled step while it codes a large table: the
    thread leaves the kernel compiled for the types the real call uses."""
    thread = _ds_kernel.prefetch(3, unit=True, index_dtype=np.uint16, data_dtype=np.float32)
    thread.join(timeout=120)
    assert not thread.is_alive()
    step = _ds_kernel._KERNELS[(3, True)]
    assert any(str(sig[1]).startswith("array(uint16") and "float32" in str(sig[2]) for sig in step.signatures)
