"""Benchmark: neighbour inconsistency and CLIP embedding throughput.

Neighbour inconsistency (k=10, cosine) on random unit vectors of dimension 512 with
10 classes, against a plain scikit-learn ``NearestNeighbors(metric='cosine')`` +
Python loop over items (what one writes without qa_toolkit), measured in the same run.
CLIP throughput: images/s of a randomly initialised open_clip ViT-B-32 (throughput does
not depend on the weights) through ``ClipEmbedder`` (decode + preprocess + forward +
normalise) and through the bare ``model.encode_image`` on preprocessed tensors.

Usage::

    nice .venv/bin/python benchmarks/bench_embeddings.py --sizes 10000 100000
    nice .venv/bin/python benchmarks/bench_embeddings.py --sizes 100000 --backends faiss --baseline-max 0
    nice .venv/bin/python benchmarks/bench_embeddings.py --sizes 100000 1000000 --clip-images 512  # big box

Prints markdown tables.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from qa_toolkit.errors.neighbours import neighbour_inconsistency


def baseline_sklearn_loop(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The straightforward approach: sklearn neighbours, then a Python loop per item."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(x)
    _, idx = nn.kneighbors(x)
    share = np.empty(len(x))
    suggested = np.empty(len(x), dtype=labels.dtype)
    for i in range(len(x)):
        nb = [j for j in idx[i] if j != i][:k]
        votes = Counter(labels[nb])
        suggested[i] = votes.most_common(1)[0][0]
        share[i] = 1.0 - votes.get(labels[i], 0) / k
    return share


def _time(fn, repeat=1):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_neighbours(sizes, dim, k, seed, backends=None, baseline_max=None):
    import importlib.util

    if backends is None:
        backends = ["sklearn", "numpy"] + (["faiss"] if importlib.util.find_spec("faiss") else [])
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        # clustered data so that neighbourhoods mean something (10 classes, 5 % label noise)
        centres = rng.normal(size=(10, dim)).astype(np.float32)
        y = rng.integers(0, 10, n)
        x = centres[y] + 0.9 * rng.normal(size=(n, dim)).astype(np.float32)
        noisy = np.where(rng.random(n) < 0.05, rng.integers(0, 10, n), y)
        if baseline_max is None or n <= baseline_max:
            t_base, base = _time(lambda x=x, y=noisy: baseline_sklearn_loop(x, y, k))
        else:
            t_base, base = np.nan, None  # skipped: too slow for this machine
        times, agree = {}, {}
        for b in backends:
            times[b], ours = _time(lambda x=x, y=noisy, b=b: neighbour_inconsistency(x, y, k=k, backend=b))
            if base is not None:
                agree[b] = float(np.mean(np.isclose(ours["neighbour_disagreement"].to_numpy(), base)))
            else:
                agree[b] = np.nan
        rows.append((n, t_base, times, agree))
        print(f"  n={n}: baseline {t_base:.1f}s, " + ", ".join(f"{b} {t:.1f}s" for b, t in times.items()), flush=True)
    print(f"\n### Neighbour inconsistency, dim={dim}, k={k} (seconds; speed-up = baseline / ours)\n")
    head = " | ".join(f"qa_toolkit {b}" for b in backends)
    print(f"| n items | sklearn NearestNeighbors(cosine) + loop | {head} | best speed-up | scores equal to baseline |")
    print("|---:|---:|" + "---:|" * len(backends) + "---:|---:|")
    for n, t_base, times, agree in rows:
        best = min(times, key=times.get)
        cells = " | ".join(f"{times[b]:.2f}" for b in backends)
        same = min(agree.values())
        if np.isnan(t_base):
            print(f"| {n:,} | skipped | {cells} | - | - |")
        else:
            print(f"| {n:,} | {t_base:.2f} | {cells} | {t_base / times[best]:.2f}x ({best}) | {same:.1%} |")


def bench_clip(n_images, batch_size, seed):
    import open_clip
    import torch

    from qa_toolkit.errors.embeddings import ClipEmbedder

    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, size=(256, 256, 3), dtype=np.uint8) for _ in range(n_images)]
    emb = ClipEmbedder("ViT-B-32", pretrained=None, batch_size=batch_size, progress=False)
    emb.embed_images(images[:batch_size])  # warm-up (model creation, first batch)
    t_ours, x = _time(lambda: emb.embed_images(images))
    model, preprocess, _ = emb._load()[:3]
    from PIL import Image

    tensors = torch.stack([preprocess(Image.fromarray(a)) for a in images]).to(emb.device_)

    def bare():
        with torch.inference_mode():
            for s in range(0, n_images, batch_size):
                model.encode_image(tensors[s : s + batch_size])

    t_bare, _ = _time(bare)
    device = emb.device_ if emb.device_ == "cpu" else torch.cuda.get_device_name()
    print(f"\n### CLIP ViT-B-32 (random weights) image embedding, {n_images} images, batch {batch_size}, "
          f"device {device}, torch threads {torch.get_num_threads()}, open_clip {open_clip.__version__}\n")
    print("| path | images/s |")
    print("|---|---:|")
    print(f"| ClipEmbedder.embed_images (decode + preprocess + forward + normalise) | {n_images / t_ours:.1f} |")
    print(f"| bare model.encode_image on preprocessed tensors | {n_images / t_bare:.1f} |")
    assert x.shape == (n_images, 512)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    p.add_argument("--backends", nargs="+", default=None, help="default: sklearn numpy [faiss]")
    p.add_argument("--baseline-max", type=int, default=None, help="skip the baseline above this n")
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--clip-images", type=int, default=128, help="0 skips the CLIP benchmark")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.sizes:
        bench_neighbours(a.sizes, a.dim, a.k, a.seed, a.backends, a.baseline_max)
    if a.clip_images:
        bench_clip(a.clip_images, a.batch_size, a.seed)


if __name__ == "__main__":
    main()
