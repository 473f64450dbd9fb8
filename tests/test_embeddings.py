"""Tests for qa_toolkit.errors.embeddings: validation, projection, the map, and the CLIP embedder.

The CLIP tests run the real open_clip code path with a tiny randomly initialised
architecture saved to a local checkpoint (no download).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa_toolkit._validation import QAInputError, QAWarning
from qa_toolkit.errors.embeddings import (
    ClipEmbedder,
    Embedder,
    check_embeddings,
    project_embeddings,
)
from qa_toolkit.plotting.embeddings import plot_embedding_map

# ---------------------------------------------------------------- validation / projection


def test_check_embeddings_accepts_and_normalises():
    x = check_embeddings([[3, 4], [1, 0]], normalize=True)
    assert x.dtype == np.float32 and x.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "bad, match",
    [
        ([[1.0, np.nan], [1.0, 0.0], [np.inf, 1]], r"2 row\(s\) with NaN or infinite values \(rows \[0, 2\]\)"),
        ([[1.0, 0.0], [0.0, 0.0]], r"1 all-zero row\(s\) \(rows \[1\]\)"),
        ([1.0, 2.0], r"2-D of shape \(n_items, dim\). Got shape \(2,\)"),
        (np.zeros((0, 3)), "must not be empty"),
        ([["a", "b"]], "cannot be converted to numbers"),
    ],
)
def test_check_embeddings_errors(bad, match):
    with pytest.raises(QAInputError, match=match):
        check_embeddings(bad, func="f")


def test_project_embeddings_pca_deterministic(rng):
    x = rng.normal(size=(30, 10))
    a = project_embeddings(x, random_state=0)
    b = project_embeddings(x, random_state=0)
    assert list(a.columns) == ["x", "y"] and len(a) == 30
    np.testing.assert_allclose(a, b)
    assert a["x"].var() >= a["y"].var()  # first principal axis carries most variance


def test_project_embeddings_options():
    with pytest.raises(QAInputError, match="'method' parameter of project_embeddings must be one of"):
        project_embeddings(np.eye(3), method="tsne")
    try:
        import umap  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="umap-learn"):
            project_embeddings(np.eye(3), method="umap")


def test_plot_embedding_map(rng):
    x = rng.normal(size=(20, 5))
    labels = ["a"] * 10 + ["b"] * 10
    sus = np.zeros(20, dtype=bool)
    sus[[3, 15]] = True
    ax = plot_embedding_map(x, labels, suspects=sus, random_state=0)
    assert ax.get_xlabel() == "PCA 1"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["a", "b", "suspect (2)"]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 22
    with pytest.raises(QAInputError, match="'suspects'"):
        plot_embedding_map(x, labels, suspects=[True])
    with pytest.raises(QAInputError, match="one label per embedding row \\(20\\). Got 3"):
        plot_embedding_map(x, ["a", "b", "c"])


# ---------------------------------------------------------------- CLIP on a tiny local model

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 4, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A randomly initialised tiny open_clip model saved as a local checkpoint."""
    open_clip = pytest.importorskip("open_clip")
    torch = pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("tiny_clip")
    (folder / "qa-tiny-clip.json").write_text(json.dumps(TINY))
    open_clip.add_model_config(folder / "qa-tiny-clip.json")
    torch.manual_seed(0)
    model = open_clip.create_model("qa-tiny-clip", pretrained=None)
    ckpt = folder / "tiny.pt"
    torch.save(model.state_dict(), ckpt)
    return "qa-tiny-clip", ckpt


@pytest.fixture
def images(rng, tmp_path):
    from PIL import Image

    arrs = [rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8) for _ in range(3)]
    path = tmp_path / "a.png"
    Image.fromarray(arrs[0]).save(path)
    return [str(path), Image.fromarray(arrs[1]), arrs[2], rng.random((20, 20))]


@pytest.mark.clip
def test_clip_embeds_images_like_open_clip(tiny_clip, images):
    import open_clip
    import torch
    from PIL import Image

    name, ckpt = tiny_clip
    emb = ClipEmbedder(name, pretrained=ckpt, device="cpu", batch_size=3, progress=False)
    assert isinstance(emb, Embedder)
    x = emb.embed_images(images)
    assert x.shape == (4, 32) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    # reference: the same checkpoint through open_clip directly
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=str(ckpt))
    model.eval()
    with torch.no_grad():
        ref = model.encode_image(preprocess(Image.open(images[0]).convert("RGB"))[None]).numpy()[0]
    np.testing.assert_allclose(x[0], ref / np.linalg.norm(ref), atol=1e-5)
    assert emb.errors_.empty


@pytest.mark.clip
def test_clip_texts(tiny_clip):
    name, ckpt = tiny_clip
    emb = ClipEmbedder(name, pretrained=ckpt, device="cpu", progress=False)
    t = emb.embed_texts(["a photo of a cat", "a photo of a dog", "a photo of a cat"])
    assert t.shape == (3, 32)
    np.testing.assert_allclose(t[0], t[2], atol=1e-6)
    assert not np.allclose(t[0], t[1])
    with pytest.raises(QAInputError, match="sequence of items"):
        emb.embed_texts("just one string")
    with pytest.raises(QAInputError, match="expects strings; items \\[1\\] are not \\(first: NoneType\\)"):
        emb.embed_texts(["ok", None])


@pytest.mark.clip
def test_undecodable_images_reported_per_item(tiny_clip, images, tmp_path):
    name, ckpt = tiny_clip
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    emb = ClipEmbedder(name, pretrained=ckpt, device="cpu", progress=False)
    items = [images[0], str(broken), str(tmp_path / "missing.png"), np.zeros((5,)), images[2]]
    with pytest.warns(QAWarning, match="3 of 5 images could not be decoded"):
        x = emb.embed_images(items)
    assert emb.errors_["position"].tolist() == [1, 2, 3]
    assert np.isnan(x[[1, 2, 3]]).all() and np.isfinite(x[[0, 4]]).all()
    assert "FileNotFoundError" in emb.errors_.loc[1, "error"]
    with pytest.raises(QAInputError, match="NaN"):
        check_embeddings(x)
    with pytest.raises(QAInputError, match="None of the 1 images"):
        emb.embed_images([str(broken)])


@pytest.mark.clip
def test_cache_reuses_vectors_and_is_keyed_by_model(tiny_clip, images, tmp_path, monkeypatch):
    import torch

    name, ckpt = tiny_clip
    cache = tmp_path / "cache"
    emb = ClipEmbedder(name, pretrained=ckpt, device="cpu", cache_dir=cache, progress=False)
    first = emb.embed_images(images[:3])
    assert len(list(cache.rglob("*.npy"))) == 3
    again = ClipEmbedder(name, pretrained=ckpt, device="cpu", cache_dir=cache, progress=False)
    monkeypatch.setattr(again, "_encode_images", lambda ims: pytest.fail("cache was not used"))
    np.testing.assert_array_equal(again.embed_images(images[:3]), first)
    # other weights -> other model id -> no cache hit
    import open_clip

    torch.manual_seed(1)
    other_ckpt = tmp_path / "other.pt"
    torch.save(open_clip.create_model(name, pretrained=None).state_dict(), other_ckpt)
    other = ClipEmbedder(name, pretrained=other_ckpt, device="cpu", cache_dir=cache, progress=False)
    assert other.model_id != emb.model_id
    assert not np.allclose(other.embed_images(images[:1]), first[:1])
    assert len(list(cache.rglob("*.npy"))) == 4


@pytest.mark.clip
def test_bad_checkpoints_and_names(tiny_clip, tmp_path):
    name, _ = tiny_clip
    with pytest.raises(FileNotFoundError, match="does not exist: '.*nope.pt'"):
        ClipEmbedder(name, pretrained=tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_text("this is not a checkpoint")
    emb = ClipEmbedder(name, pretrained=junk, device="cpu", progress=False)
    with pytest.raises(QAInputError, match="is not a usable open_clip checkpoint for 'qa-tiny-clip'"):
        emb.embed_texts(["x"])
    # a checkpoint of another architecture
    with pytest.raises(QAInputError, match="not a usable open_clip checkpoint for 'RN50'"):
        ClipEmbedder("RN50", pretrained=tiny_clip[1], device="cpu", progress=False).embed_texts(["x"])
    with pytest.raises(QAInputError, match="'model_name' parameter of ClipEmbedder"):
        ClipEmbedder("ViT-Q-99", pretrained=None, progress=False).embed_texts(["x"])
    with pytest.raises(QAInputError, match="'pretrained' parameter of ClipEmbedder\\('ViT-B-32'\\) must be one of"):
        ClipEmbedder("ViT-B-32", pretrained="no_such_tag", progress=False).embed_texts(["x"])
    with pytest.raises(QAInputError, match="'batch_size'"):
        ClipEmbedder(name, pretrained=None, batch_size=0)
