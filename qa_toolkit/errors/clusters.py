"""Embedding clusters as issues: outliers, label minorities and mixed-label clusters.

:func:`embedding_clusters` groups items by their embeddings (CLIP or any other matrix;
rows are L2-normalised first, so distances are cosine) and compares each cluster with
the labels the items carry:

* **cluster minority** (per item): the item's label is rare among the *other* members
  of its cluster and the cluster's majority label is another one: either the label is
  wrong or the cluster mixes classes (``is_cluster_minority_issue``,
  ``cluster_minority_score`` = the share of the cluster's other labels equal to the
  item's label, lower = worse);
* **cluster outlier** (per item): far from its cluster's centroid compared with the
  other members (modified z-score of the cosine distance above ``outlier_z``, after
  Iglewicz & Hoaglin 1993), or HDBSCAN noise (``is_cluster_outlier_issue``,
  ``cluster_outlier_score`` = the share of the cluster's members farther out, lower =
  worse; 0 for noise);
* **mixed cluster** (per cluster): no label reaches ``mixed_threshold`` of the
  cluster's labels (``is_mixed_cluster_issue``; ``purity``, normalised ``entropy``).

Labels can be one label per item (given labels or a consensus) or the canonical long
table (``task, annotator, label``): then every annotator's label counts, each item's
label is its majority vote, and an ``annotators`` table says which annotators disagree
with their clusters' majority most.

Choosing the number of clusters (``n_clusters=None``): MiniBatchKMeans is fitted on a
random sample of at most ``sample_size`` items for about a dozen ``k`` spaced
geometrically between 2 and ``min(200, sample / 10)``; the ``k`` with the highest mean
silhouette (cosine geometry, on the same sample) wins, and the final model is fitted
on all items. The candidate scores are returned in ``silhouette``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    QAInputError,
    check_fraction,
    check_option,
    check_positive_int,
    check_random_state,
)
from qa_toolkit.errors.cluster_labels import cluster_reasons, label_stats
from qa_toolkit.errors.embeddings.check import check_embeddings

__all__ = ["EmbeddingClusters", "embedding_clusters", "cluster_reasons"]

_FUNC = "embedding_clusters"
_HANDLED_BY = {
    "box": "qa.box_agreement / qa.match_boxes", "polygon": "qa.box_agreement (masks)",
    "span": "qa.span_agreement / qa.match_spans", "ordinal": "qa.numeric_agreement",
    "interval": "qa.numeric_agreement", "keypoints": "qa.to_units", "text": "qa.similarity_agreement",
    "multilabel": "qa.per_label",
}


@dataclass(frozen=True)
class EmbeddingClusters:
    """Result of :func:`embedding_clusters`.

    Attributes
    ----------
    items : pandas.DataFrame
        One row per item (index ``task``: task ids / the labels' index / row numbers);
        an issue table with two issues, ``cluster_minority`` and ``cluster_outlier``.
    clusters : pandas.DataFrame
        One row per cluster (index ``cluster``; ``-1`` = HDBSCAN noise).
    annotators : pandas.DataFrame or None
        With long-table labels: ``cluster, annotator, n_labels, n_against_majority,
        against_rate``; else None.
    centroids : numpy.ndarray of shape (n_clusters, dim)
        Unit-norm cluster centres.
    silhouette : pandas.Series or None
        Mean silhouette per candidate ``k`` when ``n_clusters`` was chosen automatically.
    """

    items: pd.DataFrame
    clusters: pd.DataFrame
    annotators: pd.DataFrame | None
    centroids: np.ndarray
    silhouette: pd.Series | None


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def _kmeans(x: np.ndarray, k: int, seed: int):
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=min(4096, len(x)), n_init=3)
    return km.fit(x)


def _choose_k(x: np.ndarray, rng: np.random.Generator, sample_size: int) -> tuple[int, pd.Series]:
    from sklearn.metrics import silhouette_score

    n = len(x)
    sample = x if n <= sample_size else x[np.sort(rng.choice(n, sample_size, replace=False))]
    k_max = max(2, min(200, len(sample) // 10))
    cands = sorted({int(round(v)) for v in np.geomspace(2, k_max, 12)}) if k_max > 2 else [2]
    scores = {}
    for k in cands:
        lab = _kmeans(sample, k, _seed(rng)).labels_
        scores[k] = silhouette_score(sample, lab) if len(np.unique(lab)) > 1 else -1.0
    s = pd.Series(scores, name="silhouette").rename_axis("n_clusters")
    if len(cands) > 1 and int(s.idxmax()) == cands[-1]:
        import warnings

        from qa_toolkit._validation import QAWarning

        warnings.warn(
            f"embedding_clusters: the silhouette search chose its largest candidate, k={cands[-1]} (the search "
            f"stops at min(200, sample_size / 10)); the data may hold more groups. Pass n_clusters= (e.g. the "
            "number of classes or concepts you expect) or a larger sample_size.", QAWarning, stacklevel=3)
    return int(s.idxmax()), s


def _labels_input(labels, index, ids, field, n):
    """Return (mode, item_index, votes DataFrame[row, annotator, label]) or (None, index, None)."""
    if labels is None:
        return None, index, None
    if isinstance(labels, pd.DataFrame):
        missing = {"task", "annotator", "label"} - set(labels.columns)
        if missing:
            raise QAInputError(f"The 'labels' long table of {_FUNC} lacks columns {sorted(missing)}; "
                               "give one label per item (a Series) or the canonical long table.")
        lab = labels
        if "field" in lab.columns and lab["field"].nunique() > 1:
            if field is None:
                raise QAInputError(f"The 'labels' of {_FUNC} hold several fields {sorted(map(str, lab['field'].unique()))}; "
                                   "choose one with field=.")
        if field is not None:
            if "field" not in lab.columns or not (lab["field"] == field).any():
                raise QAInputError(f"The 'field' parameter of {_FUNC} names no field of 'labels'. Got {field!r}.")
            lab = lab[lab["field"] == field]
        if "kind" in lab.columns:
            bad = lab[~lab["kind"].isin(["categorical"]) & lab["kind"].notna()]
            if len(bad):
                kind = bad["kind"].iloc[0]
                fname = bad["field"].iloc[0] if "field" in bad.columns else "label"
                raise QAInputError(
                    f"{_FUNC} compares categorical labels with clusters; field {fname!r} has kind {kind!r} "
                    f"(task {bad['task'].iloc[0]!r}): use {_HANDLED_BY.get(kind, 'qa.to_units')} for it, "
                    "or pass one categorical label per item.")
        if lab["label"].isna().any():
            t = lab.loc[lab["label"].isna(), "task"].iloc[0]
            raise QAInputError(f"The 'labels' long table of {_FUNC} has a missing label (task {t!r}).")
        if index is None:
            if ids is None:
                raise QAInputError(
                    f"With a long 'labels' table, {_FUNC} needs to know which task each embedding row is: "
                    "pass embeddings as a DataFrame indexed by task, or ids=<task of each row>.")
            index = pd.Index(list(ids), name="task")
            if len(index) != n:
                raise QAInputError(f"The 'ids' parameter of {_FUNC} must give one task per embedding row ({n}). "
                                   f"Got {len(index)}.")
        if index.has_duplicates:
            raise QAInputError(f"The task ids of the embedding rows of {_FUNC} repeat (e.g. {index[index.duplicated()][0]!r}).")
        pos = index.get_indexer(lab["task"])
        if (pos < 0).any():
            t = lab["task"].to_numpy()[pos < 0][0]
            raise QAInputError(f"The 'labels' of {_FUNC} label task {t!r}, which has no embedding row.")
        votes = pd.DataFrame({"row": pos, "annotator": lab["annotator"].to_numpy(), "label": lab["label"].to_numpy()})
        return "long", index, votes
    if isinstance(labels, str) or np.ndim(labels) != 1:
        raise QAInputError(f"The 'labels' parameter of {_FUNC} must be one label per item (1-D) or the long "
                           f"table (task, annotator, label). Got {type(labels).__name__}.")
    if isinstance(labels, pd.Series):
        if index is not None:
            if not index.isin(labels.index).all():
                raise QAInputError(f"The 'labels' Series of {_FUNC} lacks items {list(index[~index.isin(labels.index)][:5])}.")
            labels = labels.reindex(index)
        else:
            index = labels.index
        values = labels.to_numpy(dtype=object)
    else:
        values = np.asarray(list(labels), dtype=object)
    if len(values) != n:
        raise QAInputError(f"The 'labels' parameter of {_FUNC} must have one label per embedding row ({n}). "
                           f"Got {len(values)} labels instead.")
    miss = pd.isna(values)
    if miss.any():
        raise QAInputError(f"The 'labels' parameter of {_FUNC} has missing labels (rows {np.flatnonzero(miss)[:10].tolist()}).")
    return "given", index, pd.DataFrame({"row": np.arange(n), "annotator": None, "label": values})


def embedding_clusters(
    embeddings: Any,
    labels: Any = None,
    *,
    method: str = "kmeans",
    n_clusters: int | None = None,
    ids: Any = None,
    field: str | None = None,
    min_cluster_size: int = 5,
    minority_threshold: float = 0.2,
    mixed_threshold: float = 0.8,
    outlier_z: float = 3.5,
    sample_size: int = 2000,
    random_state=None,
) -> EmbeddingClusters:
    """Cluster embeddings and report outliers, label minorities and mixed clusters.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim) or DataFrame indexed by task
        Rows are L2-normalised (cosine geometry).
    labels : None, array-like of shape (n_items,), pandas.Series or long DataFrame
        One label per item (given labels or a consensus), or the canonical long table
        (``task, annotator, label``) to count every annotator's label.
    method : {'kmeans', 'hdbscan'}, default='kmeans'
        ``'kmeans'``: scikit-learn's MiniBatchKMeans (scales to 10^6 items);
        ``'hdbscan'``: scikit-learn's HDBSCAN (density clusters plus noise, cluster
        ``-1``; quadratic-ish cost, meant for up to ~10^4 items).
    n_clusters : int, optional
        k-means only; None picks it by silhouette on a sample (see the module notes).
    ids : array-like, optional
        Task of each embedding row, needed with a long ``labels`` table when
        ``embeddings`` is not a DataFrame indexed by task.
    field : str, optional
        The field of a long table holding several fields.
    min_cluster_size : int, default=5
        HDBSCAN's ``min_cluster_size``; also the least number of other members a
        cluster needs before minority and mixed-cluster flags are raised.
    minority_threshold : float, default=0.2
        Flag an item when less than this share of its cluster's other labels equal its label.
    mixed_threshold : float, default=0.8
        Flag a cluster whose majority label holds less than this share of its labels.
    outlier_z : float, default=3.5
        Modified z-score of the distance to the centroid above which an item is an outlier.
    sample_size : int, default=2000
        Sample used to choose ``n_clusters``.
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    EmbeddingClusters
        ``items``: ``cluster``, ``centroid_distance`` (cosine), ``cluster_outlier_score``,
        ``is_cluster_outlier_issue`` and, with labels, ``label``, ``cluster_majority_label``,
        ``cluster_minority_score``, ``is_cluster_minority_issue``, ``reasons`` (words,
        "" when not flagged); with a long table also ``n_votes``, ``label_votes``,
        ``majority_votes``. ``clusters``: ``size``, ``mean_distance``, ``n_outliers`` and,
        with labels, ``n_labels``, ``label_counts``, ``majority_label``, ``purity``,
        ``entropy``, ``mixed_cluster_score`` (= purity), ``is_mixed_cluster_issue``,
        ``n_minority``; with a long table also ``annotator_agreement`` (mean share of an
        item's votes for its own majority) and ``top_dissenters``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal([5, 0, 0], 0.3, (20, 3)), rng.normal([0, 5, 0], 0.3, (20, 3))])
    >>> y = ["a"] * 20 + ["b"] * 20
    >>> y[3] = "b"
    >>> res = embedding_clusters(X, y, n_clusters=2, random_state=0)
    >>> np.flatnonzero(res.items["is_cluster_minority_issue"]).tolist()
    [3]
    >>> res.clusters["purity"].round(3).sort_values().tolist()
    [0.95, 1.0]
    """
    check_option("method", method, ["kmeans", "hdbscan"], func=_FUNC)
    min_cluster_size = check_positive_int("min_cluster_size", min_cluster_size, minimum=2, func=_FUNC)
    minority_threshold = check_fraction("minority_threshold", minority_threshold, func=_FUNC)
    mixed_threshold = check_fraction("mixed_threshold", mixed_threshold, func=_FUNC)
    sample_size = check_positive_int("sample_size", sample_size, minimum=10, func=_FUNC)
    if not (isinstance(outlier_z, (int, float)) and outlier_z > 0):
        raise QAInputError(f"The 'outlier_z' parameter of {_FUNC} must be a number > 0. Got {outlier_z!r}.")
    rng = check_random_state(random_state)
    index = embeddings.index if isinstance(embeddings, pd.DataFrame) else None
    x = check_embeddings(embeddings, func=_FUNC, normalize=True)
    n = len(x)
    mode, index, votes = _labels_input(labels, index, ids, field, n)
    index = pd.RangeIndex(n, name="task") if index is None else index.rename("task")
    sil = None
    if method == "kmeans":
        if n_clusters is None:
            if n < 20:
                raise QAInputError(f"{_FUNC} chooses n_clusters from at least 20 items; got {n}. Pass n_clusters=.")
            n_clusters, sil = _choose_k(x, rng, sample_size)
        n_clusters = check_positive_int("n_clusters", n_clusters, func=_FUNC)
        if n_clusters > n:
            raise QAInputError(f"The 'n_clusters' parameter of {_FUNC} must be <= the number of items ({n}). Got {n_clusters}.")
        km = _kmeans(x, n_clusters, _seed(rng))
        cl, centres = km.labels_.astype(np.int64), km.cluster_centers_
    else:
        if n_clusters is not None:
            raise QAInputError(f"The 'n_clusters' parameter of {_FUNC} applies to method='kmeans' only; "
                               "HDBSCAN finds the number of clusters (tune min_cluster_size).")
        from sklearn.cluster import HDBSCAN

        hd = HDBSCAN(min_cluster_size=min_cluster_size, store_centers="centroid", copy=True).fit(x)
        cl = hd.labels_.astype(np.int64)
        centres = hd.centroids_ if (cl >= 0).any() else np.zeros((0, x.shape[1]))
    centres = np.asarray(centres, dtype=np.float32)
    centres = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    items = _distances(x, cl, centres, outlier_z, index)
    clusters = items.groupby("cluster").agg(size=("cluster", "size"), mean_distance=("centroid_distance", "mean"),
                                            n_outliers=("is_cluster_outlier_issue", "sum"))
    annotators = None
    if mode is not None:
        annotators = label_stats(items, clusters, votes, cl, mode, min_cluster_size,
                                  minority_threshold, mixed_threshold)
    items["reasons"] = cluster_reasons(items, clusters)
    return EmbeddingClusters(items, clusters, annotators, centres, sil)


def _distances(x, cl, centres, outlier_z, index) -> pd.DataFrame:
    n = len(x)
    dist = np.zeros(n)
    if len(centres):
        safe = np.maximum(cl, 0)
        if (cl < 0).any():  # noise: distance to the nearest centre
            noise = np.flatnonzero(cl < 0)
            safe[noise] = np.argmax(x[noise] @ centres.T, axis=1)
        for s in range(0, n, 65536):
            sl = slice(s, min(n, s + 65536))
            dist[sl] = 1.0 - np.einsum("ij,ij->i", x[sl], centres[safe[sl]])
    items = pd.DataFrame({"cluster": cl, "centroid_distance": np.clip(dist, 0.0, 2.0)}, index=index)
    g = items.groupby("cluster")["centroid_distance"]
    med = g.transform("median")
    mad = (items["centroid_distance"] - med).abs().groupby(items["cluster"]).transform("median")
    z = 0.6745 * (items["centroid_distance"] - med) / mad.where(mad > 1e-9)
    items["cluster_outlier_score"] = 1.0 - g.rank(method="max", pct=True)
    noise = cl < 0
    items.loc[noise, "cluster_outlier_score"] = 0.0
    items["is_cluster_outlier_issue"] = (z.fillna(0.0) > outlier_z).to_numpy() | noise
    return items
