"""ClipEmbedder.zero_shot_probs and the fast offline failure of a pretrained tag.

The zero-shot code path runs on a tiny randomly initialised open_clip model saved as a
local checkpoint (as in tests/test_embeddings.py): the probabilities mean nothing, the
test checks that they are exactly what open_clip's own image/text towers give.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import QAInputError
from qa_toolkit.errors.embeddings import ClipEmbedder

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 4, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    open_clip = pytest.importorskip("open_clip")
    torch = pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("tiny_clip_zs")
    (folder / "qa-tiny-clip-zs.json").write_text(json.dumps(TINY))
    open_clip.add_model_config(folder / "qa-tiny-clip-zs.json")
    torch.manual_seed(1)
    model = open_clip.create_model("qa-tiny-clip-zs", pretrained=None)
    with torch.no_grad():
        model.logit_scale.fill_(np.log(50.0))  # a non-default scale, so the test sees it is used
    ckpt = folder / "tiny.pt"
    torch.save(model.state_dict(), ckpt)
    return "qa-tiny-clip-zs", ckpt


@pytest.fixture
def images(rng):
    return [rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8) for _ in range(5)]


def _reference(name, ckpt, images, prompts):
    """Straight open_clip: normalised towers, logit_scale.exp() * cos, softmax."""
    import open_clip
    import torch
    from PIL import Image

    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=str(ckpt))
    model.eval()
    tok = open_clip.get_tokenizer(name)
    with torch.no_grad():
        im = model.encode_image(torch.stack([preprocess(Image.fromarray(a)) for a in images]))
        tx = model.encode_text(tok(prompts))
        im = im / im.norm(dim=-1, keepdim=True)
        tx = tx / tx.norm(dim=-1, keepdim=True)
        return (model.logit_scale.exp() * im @ tx.T).softmax(dim=-1).numpy()


def test_zero_shot_probs_match_open_clip(tiny_clip, images):
    name, ckpt = tiny_clip
    emb = ClipEmbedder(name, pretrained=ckpt, device="cpu", progress=False)
    probs = emb.zero_shot_probs(images, ["cat", "dog", "car"], index=[f"t{i}" for i in range(5)])
    assert list(probs.columns) == ["cat", "dog", "car"] and list(probs.index) == [f"t{i}" for i in range(5)]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    ref = _reference(name, ckpt, images, ["a photo of a cat.", "a photo of a dog.", "a photo of a car."])
    np.testing.assert_allclose(probs.to_numpy(), ref, atol=1e-5)


def test_prompt_ensembles_and_use_as_pred_probs(tiny_clip, images):
    name, ckpt = tiny_clip
    emb = ClipEmbedder(name, pretrained=ckpt, device="cpu", progress=False)
    prompts = {"cat": ["a cat", "a photo of a cat"], "dog": "a dog"}
    probs = emb.zero_shot_probs(images, prompts)
    t = emb.embed_texts(["a cat", "a photo of a cat", "a dog"])
    cat = t[:2].mean(axis=0)
    cat /= np.linalg.norm(cat)
    im = emb.embed_images(images)
    logits = 50.0 * np.c_[im @ cat, im @ t[2]]
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs.to_numpy(), expected / expected.sum(axis=1, keepdims=True), atol=1e-4)
    from qa_toolkit.errors import find_label_issues

    labels = pd.Series(["cat", "dog", "cat", "dog", "cat"])
    out = find_label_issues(labels, probs)
    assert len(out) == 5 and {"label_quality", "is_label_issue"} <= set(out.columns)


def test_zero_shot_bad_prompts(tiny_clip, images):
    name, ckpt = tiny_clip
    emb = ClipEmbedder(name, pretrained=ckpt, device="cpu", progress=False)
    with pytest.raises(QAInputError, match="at least 2 classes"):
        emb.zero_shot_probs(images, ["cat"])
    with pytest.raises(QAInputError, match="'class_prompts' parameter of ClipEmbedder.zero_shot_probs"):
        emb.zero_shot_probs(images, "cat")
    with pytest.raises(QAInputError, match="'template' .* must contain"):
        emb.zero_shot_probs(images, ["cat", "dog"], template="a photo")


@pytest.mark.parametrize("how", ["HF_HUB_OFFLINE", "unreachable host"])
def test_uncached_pretrained_tag_fails_fast_offline(how, monkeypatch, tmp_path):
    pytest.importorskip("open_clip")
    hf = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(hf.constants, "HF_HUB_CACHE", str(tmp_path / "empty_hf_cache"))  # nothing cached
    if how == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:  # a non-routable address: the connect probe must give up on its own (~1.5 s)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", "https://10.255.255.1")
    emb = ClipEmbedder("ViT-B-32", pretrained="laion2b_s34b_b79k", device="cpu", progress=False)
    t = time.perf_counter()
    with pytest.raises(QAInputError, match=r"not in the local cache .* pass the file: ClipEmbedder\('ViT-B-32', pretrained="):
        emb.embed_texts(["a cat"])
    # measured: 0.02 s with HF_HUB_OFFLINE, 1.5 s with an unreachable host (open_clip alone: 47 s of retries)
    assert time.perf_counter() - t < 2.0
