"""``ClusterGallery``: browse embedding clusters as a grid of thumbnails or text snippets.

Pick a cluster in the dropdown (mixed and issue-rich clusters first): its items show as
tiles with their label(s) and issue flags, flagged items first; tick items and press
"Send to review queue" to collect them (``sent``, in the format of
``qa.review_queue``, ready for :class:`~qa_toolkit.widgets.ReviewPanel`). With ``xy``
(a 2-D projection) an embedding map above the grid highlights the chosen cluster.
Everything is reachable from Python (``cluster``, ``checkboxes``, ``select``,
``send_to_review``), so it is testable without a browser.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd
import traitlets

__all__ = ["ClusterGallery", "thumbnail_png"]


def thumbnail_png(image: Any, *, size: int = 96) -> bytes:
    """PNG bytes of ``image`` (path, bytes, PIL image or array) shrunk to fit ``size`` pixels."""
    from qa_toolkit.errors.embeddings import load_image

    im = load_image(image)
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


class ClusterGallery(W.VBox):
    """A per-cluster gallery over an :func:`qa_toolkit.embedding_clusters` result.

    Parameters
    ----------
    result : EmbeddingClusters
        From ``qa.embedding_clusters`` (with labels, for label captions and flags).
    content : mapping or callable, optional
        Item id -> image (path, bytes, PIL image, array) or text. Without it tiles show ids.
    annotations : pandas.DataFrame, optional
        Canonical long table: each tile then lists every annotator's label.
    xy : pandas.DataFrame, optional
        ``x``, ``y`` per item in the order of ``result.items`` (``project_embeddings``):
        shows the embedding map with the chosen cluster highlighted.
    max_items : int, default=48
        Tiles per cluster (flagged items first, then the farthest from the centre).
    thumb_size : int, default=96
    on_send : callable, optional
        Called with the DataFrame of items sent to the review queue.

    Examples
    --------
    >>> import qa_toolkit as qa
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal([4, 0], .2, (10, 2)), rng.normal([0, 4], .2, (10, 2))]
    >>> res = qa.embedding_clusters(X, ["a"] * 9 + ["b"] + ["b"] * 10, n_clusters=2, random_state=0)
    >>> g = ClusterGallery(res)
    >>> g.cluster = int(res.items.loc[9, "cluster"])
    >>> g.select([9]); g.send_to_review()["task"].tolist()
    [9]
    """

    cluster = traitlets.Any(None, allow_none=True, help="the cluster on show")
    selected = traitlets.List(help="ids of the ticked items of the cluster on show")

    def __init__(self, result: Any, *, content: Mapping | Callable | None = None,
                 annotations: pd.DataFrame | None = None, xy: pd.DataFrame | None = None,
                 max_items: int = 48, thumb_size: int = 96, on_send: Callable | None = None) -> None:
        super().__init__()
        items = getattr(result, "items", None)
        clusters = getattr(result, "clusters", None)
        if not isinstance(items, pd.DataFrame) or not isinstance(clusters, pd.DataFrame):
            raise TypeError("ClusterGallery needs the result of qa.embedding_clusters (with .items and .clusters). "
                            f"Got {type(result).__name__}.")
        if xy is not None and len(xy) != len(items):
            raise ValueError(f"The 'xy' of ClusterGallery must have one row per item ({len(items)}). Got {len(xy)}.")
        self.items, self.clusters = items, clusters
        self._content, self._thumb, self._max = content, int(thumb_size), int(max_items)
        self._xy = None if xy is None else xy.reset_index(drop=True).set_axis(items.index)
        self._votes = None
        if annotations is not None:
            v = annotations[annotations["task"].isin(items.index)]
            words: dict = {}
            for t, a, lab in zip(v["task"], v["annotator"], v["label"]):
                words.setdefault(t, []).append(f"{a}: {lab}")
            self._votes = pd.Series({t: ", ".join(w) for t, w in words.items()}, dtype=object)
        self.sent = pd.DataFrame(columns=["task", "priority", "reasons", "suggested_label", "cluster"])
        self._callbacks: list[Callable] = [on_send] if on_send is not None else []
        self.checkboxes: dict[Any, W.Checkbox] = {}
        self.dropdown = W.Dropdown(options=self._options(), description="cluster")
        self.info = W.HTML()
        self.send_button = W.Button(description="Send to review queue", icon="paper-plane",
                                    button_style="warning", disabled=True)
        self.send_button.on_click(lambda _: self.send_to_review())
        self.grid = W.GridBox(layout=W.Layout(grid_template_columns=f"repeat(auto-fill, {self._thumb + 40}px)",
                                              grid_gap="6px"))
        self.map = W.Image(format="png", layout=W.Layout(max_width="560px"))
        self.children = ([self.map] if self._xy is not None else []) + [
            W.HBox([self.dropdown, self.send_button]), self.info, self.grid]
        traitlets.link((self.dropdown, "value"), (self, "cluster"))
        self.observe(self._render, names="cluster")
        self.cluster = self.dropdown.value
        if self.cluster is not None:
            self._render()

    def _options(self) -> list[tuple[str, Any]]:
        c = self.clusters
        mixed = c["is_mixed_cluster_issue"] if "is_mixed_cluster_issue" in c else pd.Series(False, index=c.index)
        n_issue = c.get("n_minority", pd.Series(0, index=c.index)) + c["n_outliers"]
        purity = c["purity"] if "purity" in c else pd.Series(np.nan, index=c.index)
        order = pd.DataFrame({"m": ~mixed, "i": -n_issue, "p": purity.fillna(1.0)}).sort_values(["m", "i", "p"]).index
        out = []
        for cid in order:
            text = f"{cid} · {int(c.loc[cid, 'size'])} items"
            if "purity" in c and pd.notna(c.loc[cid, "purity"]):
                text += f" · {100 * c.loc[cid, 'purity']:.0f} % {c.loc[cid, 'majority_label']!s}"
            text += f" · {int(n_issue[cid])} flagged" + (" · MIXED" if mixed[cid] else "")
            out.append((text, cid))
        return out

    def _value(self, task):
        if callable(self._content):
            return self._content(task)
        return None if self._content is None else self._content.get(task)

    def _flags(self, row) -> list[str]:
        flags = []
        if row.get("is_cluster_minority_issue", False):
            flags.append("minority")
        if row.get("is_cluster_outlier_issue", False):
            flags.append("outlier" if row["cluster"] >= 0 else "noise")
        return flags

    def shown(self) -> pd.DataFrame:
        """The rows of ``items`` on show for the current cluster, in tile order."""
        sub = self.items[self.items["cluster"] == self.cluster]
        key = sub.get("is_cluster_minority_issue", False) | sub["is_cluster_outlier_issue"]
        order = pd.DataFrame({"k": ~pd.Series(key, index=sub.index).astype(bool),
                              "d": -sub["centroid_distance"]}).sort_values(["k", "d"], kind="stable").index
        return sub.loc[order[: self._max]]

    def _tile(self, task, row) -> W.VBox:
        value = self._value(task)
        if value is None:
            body = W.HTML(f"<b>{html.escape(str(task))}</b>")
        elif isinstance(value, str) and not value.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".bmp")):
            body = W.HTML(f"<div style='font-size:11px;max-height:{self._thumb}px;overflow:hidden'>"
                          f"{html.escape(value[:240])}</div>")
        else:
            try:
                body = W.Image(value=thumbnail_png(value, size=self._thumb), format="png")
            except Exception as exc:  # noqa: BLE001 - one broken image must not break the gallery
                body = W.HTML(f"<i>{html.escape(str(task))}: {html.escape(type(exc).__name__)}</i>")
        flags = self._flags(row)
        cap = f"{html.escape(str(task))}"
        if "label" in row and pd.notna(row["label"]):
            cap += f" · <b>{html.escape(str(row['label']))}</b>"
        if self._votes is not None and task in self._votes.index:
            cap += f"<br><span style='font-size:10px'>{html.escape(self._votes[task])}</span>"
        if flags:
            cap += "<br>" + " ".join(f"<span style='color:#fff;background:#D55E00;padding:0 3px'>{f}</span>"
                                     for f in flags)
        box = W.Checkbox(value=False, description="select", indent=False)
        box.observe(lambda _: self._sync(), names="value")
        self.checkboxes[task] = box
        border = "2px solid #D55E00" if flags else "1px solid #ccc"
        return W.VBox([body, W.HTML(f"<div style='font-size:11px'>{cap}</div>"), box],
                      layout=W.Layout(border=border, padding="3px"))

    def _render(self, _=None) -> None:
        self.checkboxes = {}
        sub = self.shown()
        self.grid.children = [self._tile(t, r) for t, r in sub.iterrows()]
        n_all = int((self.items["cluster"] == self.cluster).sum())
        c = self.clusters.loc[self.cluster] if self.cluster in self.clusters.index else None
        words = f"cluster {self.cluster}: showing {len(sub)} of {n_all} items"
        if c is not None and "label_counts" in c:
            words += " · labels " + ", ".join(f"{html.escape(str(k))} {v}" for k, v in list(c["label_counts"].items())[:6])
        if c is not None and str(c.get("top_dissenters", "")):
            words += f" · most against the majority: {html.escape(c['top_dissenters'])}"
        self.info.value = words
        self._sync()
        if self._xy is not None:
            self.map.value = self._map_png()

    def _map_png(self) -> bytes:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 4))
        on = (self.items["cluster"] == self.cluster).to_numpy()
        ax.scatter(self._xy["x"][~on], self._xy["y"][~on], s=6, color="#bbbbbb")
        ax.scatter(self._xy["x"][on], self._xy["y"][on], s=14, color="#0072B2", label=f"cluster {self.cluster}")
        flag = on & self.items.get("is_cluster_minority_issue", pd.Series(False, index=self.items.index)).to_numpy(bool)
        ax.scatter(self._xy["x"][flag], self._xy["y"][flag], s=60, facecolors="none", edgecolors="#D55E00",
                   label="label minority")
        ax.legend(fontsize="small")
        ax.set_xticks([]), ax.set_yticks([])
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        return buf.getvalue()

    def _sync(self) -> None:
        self.selected = [t for t, b in self.checkboxes.items() if b.value]
        self.send_button.disabled = not self.selected

    def select(self, tasks) -> None:
        """Tick these items of the cluster on show (others are left as they are)."""
        unknown = [t for t in tasks if t not in self.checkboxes]
        if unknown:
            raise KeyError(f"Items {unknown[:5]} are not on show in cluster {self.cluster}.")
        for t in tasks:
            self.checkboxes[t].value = True

    def on_send(self, callback: Callable[[pd.DataFrame], Any]) -> None:
        """Call ``callback(rows)`` whenever items are sent to the review queue."""
        self._callbacks.append(callback)

    def send_to_review(self) -> pd.DataFrame:
        """Append the ticked items to ``sent`` (``task, priority, reasons, suggested_label, cluster``).

        ``priority`` is ``1 - cluster_minority_score`` (1 when unknown); ``reasons`` the
        cluster reasons in words, else "sent from cluster N". Returns the new rows.
        """
        rows = self.items.loc[self.selected]
        score = rows["cluster_minority_score"] if "cluster_minority_score" in rows else pd.Series(np.nan, index=rows.index)
        words = rows["reasons"] if "reasons" in rows else pd.Series("", index=rows.index)
        new = pd.DataFrame({
            "task": rows.index.to_list(),
            "priority": (1.0 - score.fillna(0.0)).to_numpy(),
            "reasons": [w if isinstance(w, str) and w else f"sent from cluster {self.cluster}" for w in words],
            "suggested_label": rows["cluster_majority_label"].to_numpy() if "cluster_majority_label" in rows else None,
            "cluster": rows["cluster"].to_numpy(),
        })
        fresh = new[~new["task"].isin(self.sent["task"])]
        self.sent = pd.concat([self.sent, fresh], ignore_index=True) if len(self.sent) else fresh.reset_index(drop=True)
        for b in self.checkboxes.values():
            b.value = False
        for cb in self._callbacks:
            cb(fresh)
        return fresh
