"""An append-only, crash-safe, tamper-evident log of review decisions and its replay.

No ipywidgets here: the review panel in ``widgets/`` writes through :class:`DecisionLog`,
and anything else (a script, a CLI, a second notebook) can write and read the same log.

Storage choice: JSON Lines, one decision per line, ``fsync`` after every decision,
appends serialised between processes with a :mod:`filelock` lock file beside the log.
Why not SQLite in WAL mode: a JSONL log is diffable, greppable, readable with any tool
and trivially mergeable; its only failure mode under a crash is a torn *last* line,
which :meth:`DecisionLog.read` detects and reports (``torn_lines`` plus a warning)
instead of dropping silently. SQLite would add a binary file, a WAL and SHM sidecar
that must travel together, and would hide a lost decision just as well.

Guarantees: an append returns only once every byte is on disk (a short write from a
full disk, a quota or ``RLIMIT_FSIZE`` is cut back and raises); each line carries a
sequence number and a SHA-256 chained to the line before, so an edited, deleted,
duplicated or reordered line is reported with its line number
(:class:`DecisionLogError`). The chain is a checksum, not a signature, and a log cut
after its last line still verifies. Logs written before the chain (version 1) are
still read, with a warning, and never extended (:func:`migrate_log` chains a copy).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from qa_toolkit import _decision_log_io as _io
from qa_toolkit._decision_log import _MAGIC, _VERSION, DecisionLog, _now
from qa_toolkit._decision_log_io import (
    DECISIONS,
    DecisionLogError,
    DecisionLogWarning,
    LogMismatchError,
)
from qa_toolkit._decision_log_io import (
    py_scalar as _py,
)
from qa_toolkit._review_tables import annotations_hash, consensus_labels
from qa_toolkit._validation import (
    QAInputError,
    check_columns,
    check_option,
)

__all__ = [
    "DECISIONS",
    "DecisionLog",
    "DecisionLogError",
    "DecisionLogWarning",
    "LogMismatchError",
    "annotations_hash",
    "apply_decisions",
    "consensus_labels",
    "final_decisions",
    "migrate_log",
]


def migrate_log(source: str | os.PathLike, target: str | os.PathLike) -> DecisionLog:
    """Copy a (version-1) decision log into a new hash-chained log at ``target``.

    Timestamps, tasks and every field are kept; ``target`` must not exist yet.
    """
    if Path(target).exists():
        raise QAInputError(f"The 'target' parameter of migrate_log must be a new file; {target} exists.")
    old = DecisionLog(source, read_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DecisionLogWarning)
        recs = old.records()
    header = old._read_header() or {}
    rec = {"format": _MAGIC, "version": _VERSION, "annotations_hash": header.get("annotations_hash"),
           "created_at": header.get("created_at") or _now(), "migrated_from": str(source)}
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        _io.write_all(fd, _io.seal(rec, 0, "")[0], size_before=0)
    finally:
        os.close(fd)
    new = DecisionLog(target)
    for r in recs:
        new._append_record({k: v for k, v in r.items() if k not in ("seq", "hash")})
    return new


_STATUS = {"accept": "accepted", "fix": "fixed", "reject": "rejected"}


def final_decisions(records: list[dict]) -> dict:
    """Replay decisions into the effective one per task (``undo`` pops, ``skip`` never wins)."""
    stacks: dict = {}
    for rec in records:
        stack = stacks.setdefault(rec["task"], [])
        if rec["decision"] == "undo":
            if stack:
                stack.pop()
        else:
            stack.append(rec)
    final = {}
    for task, stack in stacks.items():
        effective = [r for r in stack if r["decision"] != "skip"]
        if effective:
            final[task] = (effective[-1], len(stack))
        elif stack:
            final[task] = (stack[-1], len(stack))
    return final


def apply_decisions(annotations: pd.DataFrame, log: DecisionLog | str | os.PathLike | pd.DataFrame, *,
                    on_mismatch: Literal["raise", "warn"] = "raise") -> pd.DataFrame:
    """Replay a decision log into one final label per task, with provenance.

    Pure: neither argument is modified, and replaying twice gives the same table.

    Parameters
    ----------
    annotations : pandas.DataFrame
        The canonical long table the decisions were taken on.
    log : DecisionLog, path or pandas.DataFrame
        A log, a log file, or the table :meth:`DecisionLog.read` returned.
    on_mismatch : {'raise', 'warn'}, default='raise'
        What to do when decisions carry a different annotation hash.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task`` (every task of ``annotations``): ``label`` (final; NaN for
        rejected tasks and for undecided ties), ``consensus_label``, ``agreement``,
        ``status`` ({'accepted', 'fixed', 'rejected', 'skipped', 'pending'}),
        ``label_source`` ('review', 'consensus' or None), ``reviewer``, ``reason``,
        ``comment``, ``decided_at`` and ``n_decisions``.
    """
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="apply_decisions")
    check_option("on_mismatch", on_mismatch, ["raise", "warn"], func="apply_decisions")
    if isinstance(log, pd.DataFrame):
        check_columns(log, ("task", "decision"), name="log", func="apply_decisions")
        recs = log.to_dict("records")
    elif isinstance(log, DecisionLog):
        recs = log.records()
    elif isinstance(log, (str, os.PathLike)):
        recs = DecisionLog(log, read_only=True).records()
    else:
        raise QAInputError(
            "The 'log' parameter of apply_decisions must be a DecisionLog, a path or a DataFrame. "
            f"Got {type(log).__name__} instead."
        )
    recs = [{**r, "task": _py(r["task"])} for r in recs]
    h = annotations_hash(annotations)
    other = {r.get("annotations_hash") for r in recs} - {None, h}
    if other:
        msg = (f"apply_decisions: the log holds decisions taken on other annotations (hash {sorted(other, key=str)}; "
               f"these annotations hash to {h}).")
        if on_mismatch == "raise":
            raise LogMismatchError(msg)
        warnings.warn(msg, DecisionLogWarning, stacklevel=2)
    out = consensus_labels(annotations)
    final = final_decisions(recs)
    unknown = [t for t in final if t not in out.index]
    if unknown:
        raise QAInputError(f"apply_decisions: the log decides tasks that are not in the annotations: {unknown[:5]}.")
    n = len(out)
    label = out["consensus_label"].astype(object).to_numpy(copy=True)
    status = np.full(n, "pending", dtype=object)
    source = np.array([None if pd.isna(v) else "consensus" for v in label], dtype=object)
    cols = {c: np.full(n, None, dtype=object) for c in ("reviewer", "reason", "comment", "decided_at")}
    n_dec = np.zeros(n, dtype=np.int64)
    pos = {t: i for i, t in enumerate(out.index.tolist())}
    for task, (rec, k) in final.items():
        i = pos[task]
        n_dec[i] = k
        status[i] = _STATUS.get(rec["decision"], "skipped")
        if rec["decision"] in ("accept", "fix"):
            label[i], source[i] = rec.get("label_after"), "review"
        elif rec["decision"] == "reject":
            label[i], source[i] = np.nan, None
        for c in ("reviewer", "reason", "comment"):
            cols[c][i] = _py(rec.get(c))
        cols["decided_at"][i] = rec.get("timestamp")
    res = pd.DataFrame({"label": label, "consensus_label": out["consensus_label"].astype(object).to_numpy(),
                        "agreement": out["agreement"].to_numpy(), "status": status, "label_source": source,
                        **cols, "n_decisions": n_dec}, index=out.index)
    res["decided_at"] = pd.to_datetime(res["decided_at"], utc=True, format="ISO8601")
    return res
