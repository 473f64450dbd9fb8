"""Dawid-Skene out of core: EM over task buckets spilled to disk (private).

The source is spilled once into task buckets (:mod:`qa_toolkit.engines._spill`); each bucket
is coded with the in-memory coder (:func:`codes_from_triples`, global annotator and label
indexes, bucket-local task codes) and saved as ``.npy`` arrays. Every EM step then loads one
bucket at a time and runs the same per-partition functions as the other engines, so memory
is one bucket plus the (small) M-step sums; the posteriors are written once, in global task
order, into one preallocated array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qa_toolkit._validation import AnnotationFormatError
from qa_toolkit.aggregation._tensors import DSCoded, codes_from_triples
from qa_toolkit.engines._spill import BucketMapper, load_arrays, save_arrays, spilled
from qa_toolkit.io.parquet_dataset import ColumnarSource

__all__: list[str] = []

_NAMES = ("data", "indices", "indptr", "votes", "n_annotations", "tasks", "clamp_idx", "clamp_lab")


def _save(root, i: int, part: DSCoded) -> None:
    m = part.m
    save_arrays(root, i, {"data": m.data, "indices": m.indices, "indptr": m.indptr, "votes": part.votes,
                          "n_annotations": np.asarray(part.n_annotations).astype(np.int64), "tasks": part.tasks.to_numpy(),
                          "clamp_idx": part.clamp_idx, "clamp_lab": part.clamp_lab})


def _loader(root, n_cols: int, dtype: Any):
    def load(i: int) -> DSCoded:
        # votes and n_annotations are read by the first and last steps only: mapped, not loaded
        arr = load_arrays(root, i, _NAMES, mapped=("votes", "n_annotations", "tasks"))
        n_t = len(arr["indptr"]) - 1
        m = sp.csr_matrix((arr["data"].astype(dtype, copy=False), arr["indices"], arr["indptr"]), shape=(n_t, n_cols))
        return DSCoded(pd.Index(arr["tasks"], name="task"), m, arr["votes"], arr["clamp_idx"], arr["clamp_lab"],
                       arr["n_annotations"])
    return load


def spill_ds_fit(src: ColumnarSource, *, classes: Any, gold: pd.Series | None, dtype: Any, func: str,
                 run_em, gold_codes) -> tuple[Any, pd.Index, pd.Index, pd.Index]:
    """Spill ``src`` by task, code every bucket, run ``run_em(mapper, n_tasks, n_annotators, k)``.

    Buckets are coded in float64; ``dtype(n_tasks)`` (the estimator's precision rule, known
    once every bucket is coded) is the type the E-step runs in.

    ``gold_codes(gold, classes, tasks)`` turns the gold Series into class codes indexed by task
    (the estimator's own check). Returns ``(fitted, tasks, annotators, classes)`` as
    ``DawidSkene._fit_engine``.
    """
    with spilled(src, func=func, empty_error=AnnotationFormatError) as spl:
        annotators = spl.annotators
        labels = spl.labels
        cls = labels if classes is None else pd.Index(list(classes))
        cls = cls.rename("label")
        unknown = labels.difference(cls)
        if len(unknown):
            raise AnnotationFormatError(f"{func}: label(s) {sorted(map(str, unknown))[:5]} in data are not in "
                                        f"the 'classes' parameter {list(cls)[:20]}.")
        n_a, k = len(annotators), len(cls)
        if gold is not None:
            gold_codes(gold.iloc[:0] if isinstance(gold, pd.Series) else gold, cls, pd.Index([]))  # type check
            gold = gold.dropna()
        task_parts: list[pd.Index] = []
        for i in range(len(spl.buckets)):
            cols = spl.read(i, func=func)
            order = np.argsort(cols["task"], kind="stable")  # rows grouped by task: the CSR is built in place
            tri = pd.DataFrame({c: v[order] for c, v in cols.items()}, copy=False)
            del cols, order
            tri["n"] = np.ones(len(tri), dtype=np.float64)
            g = None
            if gold is not None:  # only gold tasks present in the data are checked (as in memory)
                gb = gold[gold.index.isin(tri["task"])]
                g = gold_codes(gb, cls, pd.Index(gb.index))
            part = codes_from_triples(tri, annotators=annotators, classes=cls, gold=g, dtype=np.float64)
            del tri
            _save(spl.root, i, part)
            task_parts.append(part.tasks)
            del part
        sizes = np.array([len(p) for p in task_parts])
        tasks = task_parts[0].append(task_parts[1:]) if len(task_parts) > 1 else task_parts[0]
        task_parts.clear()
        order = tasks.argsort()
        inv = np.empty(len(order), dtype=np.int64)
        inv[order] = np.arange(len(order))
        tasks = pd.Index(tasks.take(order), name="task")
        del order
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        for i in range(len(sizes)):
            save_arrays(spl.root, i, {"pos": inv[offsets[i]:offsets[i + 1]]})
        del inv
        mapper = BucketMapper(len(sizes), _loader(spl.root, n_a * k + 1, dtype(len(tasks))),
                              lambda i: load_arrays(spl.root, i, ("pos",))["pos"], tasks)
        fitted = run_em(mapper, len(tasks), n_a, k)
    return fitted, tasks, annotators, cls
