"""Tests for qa_toolkit.errors.clusters.embedding_clusters on synthetic data with known structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qa_toolkit as qa
from qa_toolkit._validation import QAInputError
from qa_toolkit.errors.clusters import embedding_clusters
from qa_toolkit.errors.fusion import fused_issue_table
from qa_toolkit.triage import review_queue


def _blobs(rng, n_per=40, k=4, dim=16, spread=0.15):
    centres = np.eye(dim)[:k] * 3.0
    x = np.concatenate([c + rng.normal(0, spread, (n_per, dim)) for c in centres])
    labels = np.repeat(np.array(["cat", "dog", "fox", "owl"][:k], dtype=object), n_per)
    return x, labels


def test_clusters_recover_blobs_and_find_flipped_labels(rng):
    x, labels = _blobs(rng)
    noisy = labels.copy()
    flips = [3, 50, 95]
    noisy[flips] = ["dog", "cat", "owl"]
    res = embedding_clusters(x, noisy, random_state=0)
    # n_clusters chosen by silhouette: the 4 blobs
    assert res.silhouette.idxmax() == 4 and len(res.clusters) == 4
    # every blob is one cluster
    assert pd.crosstab(res.items["cluster"], labels).gt(0).sum(axis=1).eq(1).all()
    assert np.flatnonzero(res.items["is_cluster_minority_issue"]).tolist() == flips
    # minority score: share of the other 39 members with the item's label (0 here)
    assert res.items["cluster_minority_score"].iloc[flips].eq(0).all()
    assert res.items["cluster_minority_score"].drop(index=flips).min() == pytest.approx(38 / 39)
    c3 = res.items.loc[3, "cluster"]
    assert res.clusters.loc[c3, "purity"] == pytest.approx(39 / 40)
    assert res.clusters.loc[c3, "label_counts"] == {"cat": 39, "dog": 1}
    assert res.items.loc[3, "reasons"].startswith(f"in cluster {c3}: 98 % 'cat' (40 items); labelled 'dog'")
    assert not res.clusters["is_mixed_cluster_issue"].any()
    # entropy of a 39/1 split over 4 classes, normalised by log(4)
    p = np.array([39, 1]) / 40
    assert res.clusters.loc[c3, "entropy"] == pytest.approx(-(p * np.log(p)).sum() / np.log(4))
    assert res.centroids.shape == (4, 16)
    np.testing.assert_allclose(np.linalg.norm(res.centroids, axis=1), 1, rtol=1e-5)


def test_same_seed_same_result_and_no_labels(rng):
    x, _ = _blobs(rng)
    a = embedding_clusters(x, random_state=1)
    b = embedding_clusters(x, random_state=1)
    pd.testing.assert_frame_equal(a.items, b.items)
    assert "is_cluster_minority_issue" not in a.items and a.annotators is None
    assert {"cluster", "centroid_distance", "cluster_outlier_score", "is_cluster_outlier_issue"} <= set(a.items)


def test_mixed_cluster_and_outlier(rng):
    x, labels = _blobs(rng, k=3)
    lab = labels.copy()
    lab[80:120] = np.where(np.arange(40) % 2, "fox", "owl")  # blob 3: half fox, half owl
    far = x[0] + np.r_[0.0, 2.0, np.zeros(14)]  # item between blob 1 and 2
    x = np.r_[x, [far]]
    lab = np.r_[lab, ["cat"]]
    res = embedding_clusters(x, lab, n_clusters=3, random_state=0)
    mixed = res.clusters[res.clusters["is_mixed_cluster_issue"]]
    assert len(mixed) == 1 and mixed["purity"].iloc[0] == pytest.approx(0.5)
    assert mixed["entropy"].iloc[0] == pytest.approx(np.log(2) / np.log(4))
    assert res.items["is_cluster_outlier_issue"].iloc[-1]
    assert res.items["cluster_outlier_score"].iloc[-1] == 0.0  # nobody of its cluster is farther out
    assert "far from the centre of cluster" in res.items["reasons"].iloc[-1]
    # a 50/50 cluster: nobody is a minority (the share of the item's label among the others is ~0.49)
    in_mixed = res.items["cluster"] == mixed.index[0]
    assert not res.items.loc[in_mixed, "is_cluster_minority_issue"].any()


def test_hdbscan_noise(rng):
    x, labels = _blobs(rng, k=3)
    x = np.r_[x, np.eye(16)[[10, 12, 14]] * 3]  # three lone directions
    res = embedding_clusters(x, np.r_[labels, ["cat", "dog", "fox"]], method="hdbscan", min_cluster_size=10)
    assert (res.clusters.index >= 0).sum() == 3
    noise = res.items["cluster"] == -1
    assert noise.iloc[-3:].all()
    assert res.items.loc[noise, "is_cluster_outlier_issue"].all()
    assert res.items.loc[noise, "cluster_minority_score"].isna().all()
    assert res.items.loc[noise, "reasons"].str.contains("HDBSCAN noise").all()
    with pytest.raises(QAInputError, match="applies to method='kmeans' only"):
        embedding_clusters(x, method="hdbscan", n_clusters=3)


def _long(rng, labels, bad_annotator="a3"):
    """3 annotators per item; a3 labels blob 'dog' as 'cat'; item 0 is 'dog' for 2 of 3."""
    rows = []
    for t, lab in enumerate(labels):
        for a in ("a1", "a2", "a3"):
            v = "cat" if (a == bad_annotator and lab == "dog") else lab
            if t == 0 and a != "a1":
                v = "dog"
            rows.append((f"t{t}", a, v))
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


def test_long_table_labels_and_dissenting_annotators(rng):
    x, labels = _blobs(rng)
    long = _long(rng, labels)
    emb = pd.DataFrame(x, index=pd.Index([f"t{i}" for i in range(len(x))], name="task")).iloc[::-1]
    res = embedding_clusters(emb, long, n_clusters=4, random_state=0)
    assert res.items.index.name == "task"
    item0 = res.items.loc["t0"]
    assert item0["label"] == "dog" and item0["n_votes"] == 3 and item0["label_votes"] == 2
    assert item0["is_cluster_minority_issue"]
    assert item0["reasons"].endswith("labelled 'dog' by 2 of 3 annotators")
    dog = res.items.loc["t45", "cluster"]
    assert res.clusters.loc[dog, "top_dissenters"] == "a3 (40 of 40)"
    assert res.clusters.loc[dog, "annotator_agreement"] == pytest.approx(2 / 3)
    a = res.annotators.set_index(["cluster", "annotator"])
    assert a.loc[(dog, "a3"), "against_rate"] == 1.0 and a.loc[(dog, "a1"), "n_against_majority"] == 0
    # the same with an array and ids=
    res2 = embedding_clusters(x, long, ids=[f"t{i}" for i in range(len(x))], n_clusters=4, random_state=0)
    assert res2.items.loc["t0", "is_cluster_minority_issue"]
    # review_queue takes the items table as issues and says why in words
    q = review_queue(long, issues=res.items)
    top = q.set_index("task").loc["t0", "reasons"]
    assert "in cluster" in top and "by 2 of 3 annotators" in top


def test_input_errors(rng):
    x, labels = _blobs(rng)
    long = _long(rng, labels)
    with pytest.raises(QAInputError, match="needs to know which task each embedding row is"):
        embedding_clusters(x, long, n_clusters=4)
    with pytest.raises(QAInputError, match=r"one label per embedding row \(160\). Got 3"):
        embedding_clusters(x, ["a", "b", "c"], n_clusters=4)
    with pytest.raises(QAInputError, match="label task 'zz', which has no embedding row"):
        embedding_clusters(x, pd.concat([long, pd.DataFrame({"task": ["zz"], "annotator": ["a1"], "label": ["cat"]})]),
                           ids=[f"t{i}" for i in range(len(x))], n_clusters=4)
    boxes = long.assign(field="bbox", kind="box")
    with pytest.raises(QAInputError, match="field 'bbox' has kind 'box'.*qa.box_agreement"):
        embedding_clusters(x, boxes, ids=[f"t{i}" for i in range(len(x))], n_clusters=4)
    with pytest.raises(QAInputError, match="'method' parameter of embedding_clusters"):
        embedding_clusters(x, method="dbscan")
    with pytest.raises(QAInputError, match="'embeddings' parameter of embedding_clusters has 1 row"):
        embedding_clusters(np.r_[x, [[np.nan] * 16]])
    with pytest.raises(QAInputError, match="at least 20 items"):
        embedding_clusters(x[:10])


def test_fused_table_cluster_columns(rng):
    x, labels = _blobs(rng)
    noisy = labels.copy()
    noisy[[3, 50]] = ["dog", "cat"]
    given = pd.Series(noisy, index=pd.Index(np.arange(len(noisy)) + 1000, name="task"))
    out = fused_issue_table(given, embeddings=x, clusters=True, random_state=0, n_neighbors=5)
    assert {"cluster", "cluster_minority_score", "cluster_majority_label", "is_cluster_outlier_issue"} <= set(out)
    assert set(out.index[:2]) == {1003, 1050}
    assert "clusters: in cluster" in out.loc[1003, "reasons"] and "labelled 'dog'" in out.loc[1003, "reasons"]
    assert out.loc[1003, "cluster_majority_label"] == "cat"
    # a precomputed result gives the same columns
    res = embedding_clusters(x, given, random_state=0)
    out2 = fused_issue_table(given, clusters=res)
    assert out2.loc[1050, "is_fused_issue"] and out2["is_fused_issue"].sum() == 2
    with pytest.raises(QAInputError, match="clusters=True in fused_issue_table needs 'embeddings'"):
        fused_issue_table(given, pred_probs=None, vote_counts=None, clusters=True)


def test_public_name():
    assert qa.embedding_clusters is embedding_clusters


# ---------------------------------------------------------------- approximate neighbours (faiss IVF)


def test_ivf_neighbours_reach_recall_target_and_auto_switches():
    pytest.importorskip("faiss")
    from qa_toolkit.errors.neighbours import (
        _LAST_IVF,
        nearest_neighbours,
        neighbour_inconsistency,
        neighbour_recall,
    )

    # 6 concepts x 1000 items around random unit centres (cos to centre ~0.7), 5 % labels flipped
    # (the generator of benchmarks/bench_neighbours_ann.py)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 64))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    which = rng.integers(6, size=6000)
    x = centres[which] + rng.normal(0, 1 / 8, (6000, 64))
    labels = which.copy()
    flip = rng.random(6000) < 0.05
    labels[flip] = (labels[flip] + 1) % 6
    idx, sim = nearest_neighbours(x, k=10, backend="ivf", random_state=0)
    assert neighbour_recall(x, idx, n_queries=300, random_state=1) >= 0.95
    assert (idx != np.arange(len(x))[:, None]).all()  # never the item itself
    assert np.all(np.diff(sim, axis=1) <= 1e-6)  # most similar first
    # a fixed small nprobe gives lower recall than the calibrated one (the calibration does something)
    low, _ = nearest_neighbours(x, k=10, backend="ivf", nprobe=1, random_state=0)
    assert neighbour_recall(x, low, n_queries=300, random_state=1) < neighbour_recall(x, idx, n_queries=300, random_state=1)
    # 'auto' is exact below exact_threshold, IVF from it on
    _LAST_IVF.clear()
    nearest_neighbours(x[:500], k=5)
    assert not _LAST_IVF
    nearest_neighbours(x, k=5, exact_threshold=5000, random_state=0)
    assert _LAST_IVF["nlist"] == 77  # round(sqrt(6000))
    out = neighbour_inconsistency(x, labels, k=10, neighbours=(idx, sim))
    assert out["is_neighbour_issue"].to_numpy()[flip].mean() >= 0.9


def test_neighbour_errors_name_the_called_function():
    from qa_toolkit.errors.neighbours import nearest_neighbours, neighbour_inconsistency

    with pytest.raises(QAInputError, match="'k' parameter of nearest_neighbours"):
        nearest_neighbours(np.eye(3), k=5)
    with pytest.raises(QAInputError, match="'k' parameter of neighbour_inconsistency"):
        neighbour_inconsistency(np.eye(3), list("abc"), k=5)
    with pytest.raises(QAInputError, match="'neighbours' parameter of neighbour_inconsistency"):
        neighbour_inconsistency(np.eye(3), list("abc"), k=1, neighbours=(np.zeros((3, 2)), np.zeros((3, 2))))


# ---------------------------------------------------------------- plots and the gallery widget


def test_plot_embedding_map_with_clusters_and_precomputed_xy(rng):
    from qa_toolkit.errors.embeddings import project_embeddings
    from qa_toolkit.plotting import plot_embedding_map

    x, labels = _blobs(rng, k=3)
    res = embedding_clusters(x, labels, n_clusters=3, random_state=0)
    xy = project_embeddings(x, method="pca", random_state=0)
    assert xy.attrs["method"] == "pca"
    ax = plot_embedding_map(None, labels, xy=xy, clusters=res.items["cluster"],
                            suspects=res.items["is_cluster_outlier_issue"])
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "2"]
    assert ax.get_xlabel() == "PCA 1"
    with pytest.raises(QAInputError, match="'clusters' parameter of plot_embedding_map"):
        plot_embedding_map(None, labels, xy=xy, clusters=[0, 1])
    auto = project_embeddings(x[:30], method="auto", random_state=0)
    import importlib.util

    assert auto.attrs["method"] == ("umap" if importlib.util.find_spec("umap") else "pca")


def test_cluster_gallery_headless(rng):
    W = pytest.importorskip("ipywidgets")
    from qa_toolkit.widgets import ClusterGallery

    x, labels = _blobs(rng, n_per=20, k=3)
    noisy = labels.copy()
    noisy[3] = "dog"
    ids = [f"t{i}" for i in range(len(x))]
    long = _long(rng, noisy)
    images = {t: rng.integers(0, 256, (30, 30, 3), dtype=np.uint8) for t in ids}
    emb = pd.DataFrame(x, index=pd.Index(ids, name="task"))
    res = embedding_clusters(emb, pd.Series(noisy, index=emb.index), n_clusters=3, random_state=0)
    got = []
    g = ClusterGallery(res, content=images, annotations=long, xy=pd.DataFrame({"x": x[:, 0], "y": x[:, 1]}),
                       max_items=10, on_send=got.append)
    c3 = res.items.loc["t3", "cluster"]
    # the dropdown puts the cluster with the flagged item first
    assert g.dropdown.options[0][1] == c3 and "1 flagged" in g.dropdown.options[0][0]
    assert g.cluster == c3
    assert len(g.grid.children) == 10 and "showing 10 of 20 items" in g.info.value
    first = g.grid.children[0]
    assert isinstance(first.children[0], W.Image) and first.children[0].value[:4] == b"\x89PNG"
    assert "minority" in first.children[1].value and "t3" in first.children[1].value
    assert "a1: dog" in first.children[1].value  # every annotator's label is listed
    assert len(g.map.value) > 100  # the map is drawn
    assert g.send_button.disabled
    g.select(["t3"])
    assert g.selected == ["t3"] and not g.send_button.disabled
    g.send_button.click()
    assert g.sent["task"].tolist() == ["t3"] and got[0]["task"].tolist() == ["t3"]
    assert g.sent.loc[0, "suggested_label"] == "cat" and "labelled 'dog'" in g.sent.loc[0, "reasons"]
    assert not g.selected  # ticks are cleared after sending
    # another cluster: text snippets, nothing flagged
    other = [c for _, c in g.dropdown.options if c != c3][0]
    g.dropdown.value = other
    assert g.cluster == other and all("minority" not in t.children[1].value for t in g.grid.children)
    with pytest.raises(KeyError, match="not on show"):
        g.select(["t3"])
    texts = ClusterGallery(res, content=lambda t: f"text of {t}")
    assert "text of" in texts.grid.children[0].children[0].value
    with pytest.raises(TypeError, match="needs the result of qa.embedding_clusters"):
        ClusterGallery(res.items)


def test_silhouette_search_warns_when_it_hits_its_cap():
    """60 tight groups but a 200-item sample: the search stops at k = 20 and says so."""
    import warnings as _w

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(60, 16))
    x = np.repeat(centres, 10, axis=0) + 0.01 * rng.normal(size=(600, 16))
    with _w.catch_warnings(record=True) as caught:
        _w.simplefilter("always")
        res = qa.embedding_clusters(x, sample_size=200, random_state=0)
    assert res.items["cluster"].nunique() == 20
    assert any("largest candidate, k=20" in str(w.message) for w in caught)
