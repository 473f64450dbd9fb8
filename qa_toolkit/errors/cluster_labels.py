"""Label statistics of embedding clusters: minorities, mixed clusters, dissenters, reasons.

The second half of :func:`qa_toolkit.errors.clusters.embedding_clusters`: given each
item's cluster, compare the clusters with the labels the items carry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cluster_reasons", "label_stats"]


def label_stats(items, clusters, votes, cl, mode, min_size, minority_t, mixed_t):
    """Add the label columns to ``items`` and ``clusters`` (in place); per-annotator table or None.

    ``votes`` is ``row, annotator, label``; ``mode`` is ``'given'`` (one label per item) or
    ``'long'`` (every annotator's label counts).
    """
    codes, classes = pd.factorize(votes["label"], sort=True)
    classes = np.asarray(classes, dtype=object)
    rows = votes["row"].to_numpy()
    n, n_cls = len(items), len(classes)
    cids = clusters.index.to_numpy()
    cpos = np.searchsorted(cids, cl)
    C = np.zeros((len(cids), n_cls))
    np.add.at(C, (cpos[rows], codes), 1.0)
    T = C.sum(axis=1)
    # each item's votes: its label = its majority (ties: the label more common in its cluster)
    iv = pd.DataFrame({"row": rows, "code": codes}).value_counts().rename("v").reset_index()
    iv["tie"] = C[cpos[iv["row"].to_numpy()], iv["code"].to_numpy()]
    iv = iv.sort_values(["row", "v", "tie", "code"], ascending=[True, False, False, True])
    top = iv.drop_duplicates("row")
    lab = np.full(n, -1)
    own = np.zeros(n)
    lab[top["row"].to_numpy()], own[top["row"].to_numpy()] = top["code"].to_numpy(), top["v"].to_numpy()
    n_votes = np.bincount(rows, minlength=n).astype(float)
    has = lab >= 0
    maj = C.argmax(axis=1)
    others = T[cpos] - n_votes
    share = np.full(n, np.nan)
    ok = has & (others > 0) & (cl >= 0)
    share[ok] = (C[cpos[ok], lab[ok]] - own[ok]) / others[ok]
    items["label"] = np.where(has, classes[np.maximum(lab, 0)], None)
    items["cluster_majority_label"] = classes[maj[cpos]]
    items["cluster_minority_score"] = share
    items["is_cluster_minority_issue"] = ok & (share < minority_t) & (maj[cpos] != lab) & (others >= min_size)
    if mode == "long":
        items["n_votes"] = n_votes.astype(int)
        items["label_votes"] = own.astype(int)
        mv = pd.DataFrame({"row": rows, "hit": codes == maj[cpos[rows]]}).groupby("row")["hit"].sum()
        items["majority_votes"] = mv.reindex(range(n), fill_value=0).to_numpy().astype(int)
    p = C / np.maximum(T, 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1) / np.log(max(n_cls, 2))
    clusters["n_labels"] = T.astype(int)
    clusters["label_counts"] = [
        {classes[j]: int(c[j]) for j in np.argsort(-c, kind="stable") if c[j] > 0} for c in C]
    clusters["majority_label"] = classes[maj]
    clusters["purity"] = np.where(T > 0, C.max(axis=1) / np.maximum(T, 1), np.nan)
    clusters["entropy"] = np.where(T > 0, ent, np.nan)
    clusters["mixed_cluster_score"] = clusters["purity"]
    clusters["is_mixed_cluster_issue"] = (clusters["purity"] < mixed_t) & (clusters["size"] > min_size) & (cids >= 0)
    clusters["n_minority"] = items.groupby("cluster")["is_cluster_minority_issue"].sum().reindex(cids).to_numpy()
    if mode != "long":
        return None
    items_share = np.where(n_votes > 0, own / np.maximum(n_votes, 1), np.nan)
    clusters["annotator_agreement"] = pd.Series(items_share).groupby(cl).mean().reindex(cids).to_numpy()
    ann = pd.DataFrame({"cluster": cl[rows], "annotator": votes["annotator"].to_numpy(),
                        "against": codes != maj[cpos[rows]]})
    ann = ann.groupby(["cluster", "annotator"])["against"].agg(n_labels="size", n_against_majority="sum").reset_index()
    ann["against_rate"] = ann["n_against_majority"] / ann["n_labels"]
    ann = ann.sort_values(["cluster", "against_rate", "n_against_majority"], ascending=[True, False, False], kind="stable")
    top3 = ann[(ann["n_labels"] >= 3) & (ann["n_against_majority"] > 0)].groupby("cluster").head(3)
    words: dict = {}
    for c, a, k, m in zip(top3["cluster"], top3["annotator"], top3["n_against_majority"], top3["n_labels"]):
        words.setdefault(c, []).append(f"{a} ({k} of {m})")
    clusters["top_dissenters"] = [", ".join(words.get(c, [])) for c in cids]
    return ann.reset_index(drop=True)


def cluster_reasons(items: pd.DataFrame, clusters: pd.DataFrame) -> list[str]:
    """The cluster findings of each item in words ("" when none), e.g.
    "in cluster 7: 94 % 'cat' (48 items); labelled 'dog' by 2 of 3 annotators".

    Parameters
    ----------
    items, clusters : pandas.DataFrame
        The tables of :class:`EmbeddingClusters`.

    Returns
    -------
    list of str
    """
    out = []
    med = items.groupby("cluster")["centroid_distance"].median()
    minority = items["is_cluster_minority_issue"].to_numpy() if "is_cluster_minority_issue" in items else None
    for i, (c, far) in enumerate(zip(items["cluster"].to_numpy(), items["is_cluster_outlier_issue"].to_numpy())):
        parts = []
        if minority is not None and minority[i]:
            row = clusters.loc[c]
            text = f"in cluster {c}: {100 * row['purity']:.0f} % {row['majority_label']!r} ({row['size']} items); labelled {items['label'].iat[i]!r}"
            if "n_votes" in items:
                text += f" by {items['label_votes'].iat[i]} of {items['n_votes'].iat[i]} annotators"
            parts.append(text)
        if far:
            if c < 0:
                parts.append("in no cluster (HDBSCAN noise)")
            else:
                parts.append(f"far from the centre of cluster {c} (cosine distance "
                             f"{items['centroid_distance'].iat[i]:.2f}, cluster median "
                             f"{med[c]:.2f})")
        out.append("; ".join(parts))
    return out
