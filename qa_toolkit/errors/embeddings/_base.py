"""Machinery shared by the embedders: image decoding, content hashing, batching, cache.

Private: the public classes live in :mod:`qa_toolkit.errors.embeddings.models`.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, QAWarning, check_positive_int

__all__ = ["_BaseEmbedder", "_auto_device", "_to_pil", "_item_key"]

def _auto_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _to_pil(item: Any):
    """Decode one image item (path, bytes, PIL image or array) into an RGB PIL image."""
    from PIL import Image

    if isinstance(item, (str, os.PathLike)):
        with Image.open(item) as im:
            return im.convert("RGB")
    if isinstance(item, (bytes, bytearray)):
        with Image.open(io.BytesIO(item)) as im:
            return im.convert("RGB")
    if isinstance(item, Image.Image):
        return item.convert("RGB")
    arr = np.asarray(item)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)) or arr.size == 0:
        raise ValueError(f"array of shape {arr.shape} is not an image (expected (H, W), (H, W, 3) or (H, W, 4))")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError("float image contains NaN or inf")
        arr = np.clip(arr * 255.0 if arr.max() <= 1.0 else arr, 0, 255).round().astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return Image.fromarray(arr).convert("RGB")


def _item_key(item: Any, kind: str) -> str:
    h = hashlib.sha256(kind.encode())
    if kind == "text":
        h.update(str(item).encode("utf-8"))
    elif isinstance(item, (str, os.PathLike)):
        with open(item, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    elif isinstance(item, (bytes, bytearray)):
        h.update(bytes(item))
    elif hasattr(item, "tobytes") and hasattr(item, "mode"):  # PIL image
        h.update(f"{item.mode}{item.size}".encode())
        h.update(item.tobytes())
    else:
        arr = np.ascontiguousarray(np.asarray(item))
        h.update(f"{arr.dtype}{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


class _BaseEmbedder:
    """Batching, the content-hash cache, per-item decode errors and progress bars."""

    model_id: str = ""

    def _cache_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        mid = hashlib.sha256(self.model_id.encode()).hexdigest()[:16]
        return Path(self.cache_dir) / mid / key[:2] / f"{key}.npy"

    def _run(self, items: Sequence[Any], kind: str, encode) -> np.ndarray:
        if isinstance(items, (str, bytes)) or not hasattr(items, "__len__"):
            raise QAInputError(
                f"embed_{kind}s expects a sequence of items (a list). Got {type(items).__name__} instead."
            )
        items = list(items)
        if kind == "text":
            bad = [i for i, t in enumerate(items) if not isinstance(t, str)]
            if bad:
                raise QAInputError(
                    f"embed_texts expects strings; items {bad[:10]} are not "
                    f"(first: {type(items[bad[0]]).__name__})."
                )
        check_positive_int("batch_size", self.batch_size, func=type(self).__name__)
        out: list[np.ndarray | None] = [None] * len(items)
        errors: list[tuple[int, str, str]] = []
        todo: list[tuple[int, Any, Path | None]] = []
        for i, item in enumerate(items):
            try:
                key = _item_key(item, kind)
            except OSError as exc:
                errors.append((i, repr(item)[:80], f"{type(exc).__name__}: {exc}"))
                continue
            path = self._cache_path(key)
            if path is not None and path.exists():
                out[i] = np.load(path)
            else:
                todo.append((i, item, path))
        bar = None
        if self.progress and todo:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=f"embedding {kind}s", leave=False)
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            ready = []
            for i, item, path in batch:
                if kind == "image":
                    try:
                        ready.append((i, _to_pil(item), path))
                    except Exception as exc:  # noqa: BLE001 - reported per item, the rest continue
                        errors.append((i, repr(item)[:80], f"{type(exc).__name__}: {exc}"))
                else:
                    ready.append((i, str(item), path))
            if ready:
                vecs = np.asarray(encode([r[1] for r in ready]), dtype=np.float32)
                vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
                for (i, _, path), v in zip(ready, vecs):
                    out[i] = v
                    if path is not None:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                        np.save(tmp, v)
                        os.replace(tmp, path)
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()
        self.errors_ = pd.DataFrame(errors, columns=["position", "item", "error"]).sort_values("position")
        self.errors_ = self.errors_.reset_index(drop=True)
        dims = {v.shape[0] for v in out if v is not None}
        if not dims:
            raise QAInputError(
                f"None of the {len(items)} {kind}s could be embedded; first error: "
                f"{errors[0][2] if errors else 'no items given'}."
            )
        dim = dims.pop()
        result = np.full((len(items), dim), np.nan, dtype=np.float32)
        for i, v in enumerate(out):
            if v is not None:
                result[i] = v
        if errors:
            shown = "; ".join(f"item {p} ({e})" for p, _, e in errors[:3])
            warnings.warn(
                f"{len(errors)} of {len(items)} {kind}s could not be decoded and got NaN rows: {shown}"
                f"{' ...' if len(errors) > 3 else ''}. See the embedder's errors_ table.",
                QAWarning,
                stacklevel=3,
            )
        return result


def _online(url: str, timeout: float = 1.5) -> bool:
    """Whether ``url``'s host answers HTTPS within ``timeout`` seconds (False when HF_HUB_OFFLINE is set)."""
    import threading
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    host = urlparse(url).hostname or "huggingface.co"
    ok: list[bool] = []

    def probe():
        import urllib.error
        import urllib.request

        try:  # an HTTP answer of any status (TLS included) counts: a bare TCP connect can be a proxy's
            urllib.request.urlopen(urllib.request.Request(f"https://{host}/", method="HEAD"), timeout=timeout).close()
            ok.append(True)
        except urllib.error.HTTPError:
            ok.append(True)
        except (OSError, ValueError):
            ok.append(False)

    t = threading.Thread(target=probe, daemon=True)  # getaddrinfo has no timeout of its own
    t.start()
    t.join(timeout)
    return bool(ok and ok[0])


def _cached_open_clip_weights(open_clip, model_name: str, tag: str) -> tuple[str | None, dict, str]:
    """The local file of an open_clip pretrained tag if it is already cached, its config, and its source URL."""
    cfg = open_clip.get_pretrained_cfg(model_name, tag) or {}
    hub = cfg.get("hf_hub", "")
    if hub:
        repo, filename = os.path.split(hub)
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return None, cfg, f"{endpoint}/{repo}"
        for name in ([filename] if filename else []) + ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]:
            hit = try_to_load_from_cache(repo, name)
            if isinstance(hit, str) and os.path.isfile(hit):
                return hit, cfg, f"{endpoint}/{repo}"
        return None, cfg, f"{endpoint}/{repo}"
    url = cfg.get("url", "")
    path = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
    return (str(path) if url and path.is_file() else None), cfg, url


def _offline_pretrained(open_clip, model_name: str, pretrained: str | None, is_file: bool) -> tuple[str | None, dict]:
    """``pretrained`` and extra open_clip arguments that never start a download that cannot happen.

    A tag whose weights are cached is loaded from the cached file (with the tag's
    quick_gelu and preprocessing settings); an uncached tag fails at once when
    HF_HUB_OFFLINE is set or the download host does not answer within 1.5 s, instead of
    open_clip's ~47 s of retries.
    """
    if pretrained is None or is_file:
        return pretrained, {}
    local, cfg, source = _cached_open_clip_weights(open_clip, model_name, pretrained)
    if local is not None:
        extra = {"force_quick_gelu": bool(cfg.get("quick_gelu", False))}
        extra.update({f"image_{k}": cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in cfg})
        return local, extra
    if not _online(source):
        raise QAInputError(
            f"The 'pretrained' weights {pretrained!r} of ClipEmbedder({model_name!r}) are not in "
            f"the local cache and {source or 'the download host'} cannot be reached (offline, or "
            "HF_HUB_OFFLINE is set). Use a local checkpoint: download it once where there is network "
            f"(open_clip.create_model_and_transforms({model_name!r}, pretrained={pretrained!r}) "
            "fills ~/.cache/huggingface/hub, which you can copy), or pass the file: "
            f"ClipEmbedder({model_name!r}, pretrained='/path/to/open_clip_pytorch_model.bin')."
        )
    return pretrained, {}


def _zero_shot_probs(embedder, images, class_prompts, *, template: str, index) -> pd.DataFrame:
    """The body of :meth:`qa_toolkit.errors.embeddings.models.ClipEmbedder.zero_shot_probs`."""
    func = "ClipEmbedder.zero_shot_probs"
    if isinstance(class_prompts, dict):
        prompts = {c: [p] if isinstance(p, str) else list(p) for c, p in class_prompts.items()}
    elif isinstance(class_prompts, str) or not hasattr(class_prompts, "__iter__"):
        raise QAInputError(f"The 'class_prompts' parameter of {func} must be a list of class names or a dict "
                           f"{{class: prompt(s)}}. Got {type(class_prompts).__name__}.")
    else:
        if "{}" not in template:
            raise QAInputError(f"The 'template' parameter of {func} must contain '{{}}'. Got {template!r}.")
        prompts = {c: [template.format(c)] for c in class_prompts}
    if len(prompts) < 2 or any(not p or not all(isinstance(t, str) for t in p) for p in prompts.values()):
        raise QAInputError(f"{func} needs at least 2 classes, each with at least one text prompt. Got {prompts!r:.200}.")
    img = embedder.embed_images(images)
    flat = [t for p in prompts.values() for t in p]
    txt = embedder.embed_texts(flat)
    owner = np.repeat(np.arange(len(prompts)), [len(p) for p in prompts.values()])
    cls = np.stack([txt[owner == j].mean(axis=0) for j in range(len(prompts))])
    cls /= np.linalg.norm(cls, axis=1, keepdims=True)
    model = embedder._load()[0]
    scale = float(model.logit_scale.exp().item()) if hasattr(model, "logit_scale") else 100.0
    logits = scale * (img @ cls.T)
    logits -= np.nanmax(logits, axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    idx = pd.RangeIndex(len(img)) if index is None else pd.Index(list(index))
    if len(idx) != len(img):
        raise QAInputError(f"The 'index' parameter of {func} must give one label per image ({len(img)}). Got {len(idx)}.")
    return pd.DataFrame(p, index=idx, columns=list(prompts))
