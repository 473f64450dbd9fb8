"""The ``reasons`` column of the fused issue table: which signals flag an item, in words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fused_reasons"]


def _issue_text(name: str, row: pd.Series) -> str:
    """Words for one flagged task of a contract issue table."""
    if row["reasons"]:
        return f"{name}: {row['reasons']}"
    if row["unit_word"]:
        return (f"{name}: {int(row['n_flagged'])} of {int(row['n_rows'])} {row['unit_word']}s flagged, "
                f"lowest score {_fmt(float(row['score']))}")
    return f"{name}: flagged, score {_fmt(float(row['score']))}"


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "<0.001" if 0 < v < 1e-3 else f"{v:.2g}"
    return str(v)


def _is(v: Any) -> str:
    """``'= 0.42'`` or ``'< 0.001'``: a value after a name, never ``'= <0.001'``."""
    text = _fmt(v)
    return f"< {text[1:]}" if text.startswith("<") else f"= {text}"


def fused_reasons(out: pd.DataFrame, flags: pd.DataFrame, q: pd.DataFrame,
                  extra: Mapping[str, pd.DataFrame] | None = None) -> list[str]:
    """One sentence per item naming the signals that flag it (vectorised per signal).

    ``out`` is the fused table so far, ``flags`` / ``q`` the per-signal flags and
    qualities (columns = signals), ``extra`` the reduced contract tables of
    :func:`qa_toolkit.errors.fusion_signals.issue_signals` (aligned with ``out``).
    """
    n = len(out)
    parts: list[list[str]] = [[] for _ in range(n)]

    def add(signal: str, make) -> None:
        if signal not in flags:
            return
        rows = np.flatnonzero(flags[signal].to_numpy())
        sub = out.iloc[rows]
        for i, text in zip(rows, make(sub)):
            parts[i].append(text)

    def human(sub):
        k = np.rint(sub["vote_share"].to_numpy() * sub["n_votes"].to_numpy()).astype(int)
        texts = [f"humans: {a} of {b} votes for '{g}', " + (f"most chose '{h}'" if h != g else "the most votes")
                 for a, b, g, h in zip(k, sub["n_votes"], sub["given_label"], sub["human_label"])]
        if "ds_posterior" in sub:
            texts = [t if pd.isna(p) else f"{t} (Dawid-Skene: P {_is(p)}, prefers '{d}')"
                     for t, p, d in zip(texts, sub["ds_posterior"], sub["ds_label"])]
        return texts

    add("human", human)
    add("model", lambda sub: [f"model: label quality {_fmt(q_)}, suggests '{m}'"
                              for q_, m in zip(sub["label_quality"], sub["model_label"])])
    add("neighbours", lambda sub: [
        f"neighbours: only {_fmt(s_)} of nearest neighbours share the label, they suggest '{m}'"
        for s_, m in zip(sub["neighbour_score"], sub["neighbour_label"])])
    add("duplicates", lambda sub: [f"duplicates: {c} near-duplicate(s) labelled differently (e.g. task {d!r})"
                                   for c, d in zip(sub["n_duplicate_conflicts"], sub["duplicate_of"])])
    add("clusters", lambda sub: [f"clusters: {r}" for r in sub["cluster_reason"]])
    for name, sig in (extra or {}).items():
        add(name, lambda sub, name=name, sig=sig: [_issue_text(name, sig.loc[t]) for t in sub.index])
    pct = q.rank(pct=True)
    has = pct.notna().any(axis=1).to_numpy()
    weakest = pct.fillna(2.0).idxmin(axis=1).to_numpy()
    return [
        "; ".join(p) if p else ("not flagged" + (f"; weakest signal: {w}" if h else "; no signal covers it"))
        for p, w, h in zip(parts, weakest, has)
    ]
