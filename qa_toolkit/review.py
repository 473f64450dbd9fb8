"""An append-only, crash-safe log of review decisions and its replay into final labels.

No ipywidgets here: the review panel in ``widgets/`` writes through :class:`DecisionLog`,
and anything else (a script, a CLI, a second notebook) can write and read the same log.

Storage choice: JSON Lines, one decision per line, ``fsync`` after every decision,
appends serialised between processes with a :mod:`filelock` lock file beside the log.
Why not SQLite in WAL mode: a JSONL log is diffable, greppable, readable with any tool
and trivially mergeable; its only failure mode under a crash is a torn *last* line,
which :meth:`DecisionLog.read` detects and reports (``torn_lines`` plus a warning)
instead of dropping silently. SQLite would add a binary file, a WAL and SHM sidecar
that must travel together, and would hide a lost decision just as well.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    AnnotationFormatError,
    QAInputError,
    QAWarning,
    check_columns,
    check_option,
)

__all__ = [
    "DECISIONS",
    "DecisionLog",
    "DecisionLogWarning",
    "LogMismatchError",
    "annotations_hash",
    "apply_decisions",
    "consensus_labels",
]

#: The decisions a reviewer can take.
DECISIONS = ("accept", "fix", "reject", "skip", "undo")
_MAGIC = "qa_toolkit.decision_log"
_VERSION = 1
_COLUMNS = [
    "seq", "timestamp", "task", "decision", "reviewer", "label_before", "label_after",
    "reason", "comment", "annotations_hash",
]


class DecisionLogWarning(QAWarning):
    """A decision log had torn (unreadable) lines; they are listed in ``DecisionLog.torn_lines``."""


class LogMismatchError(ValueError):
    """The decision log was written for other annotations (its annotation hash differs)."""


def _py(value: Any) -> Any:
    """Numpy scalars to Python scalars, NaN/NA to None, so json can write them."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def annotations_hash(annotations: pd.DataFrame) -> str:
    """SHA-256 (first 16 hex digits) of the ``task, annotator, label`` triples, order-free.

    Examples
    --------
    >>> a = pd.DataFrame({"task": [1, 2], "annotator": ["x", "x"], "label": ["cat", "dog"]})
    >>> annotations_hash(a) == annotations_hash(a.iloc[::-1])
    True
    >>> annotations_hash(a) == annotations_hash(a.assign(label=["cat", "cat"]))
    False
    """
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="annotations_hash")
    keys = (
        annotations["task"].astype(str) + "\x1f" + annotations["annotator"].astype(str)
        + "\x1f" + annotations["label"].astype(str)
    )
    h = hashlib.sha256("\x1e".join(sorted(keys.tolist())).encode("utf-8"))
    return h.hexdigest()[:16]


def consensus_labels(annotations: pd.DataFrame) -> pd.DataFrame:
    """Per task: the unique plurality label (``consensus_label``, NaN on ties) and its share.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``task``, columns ``consensus_label``, ``agreement`` (share of the
        task's rows giving the plurality label) and ``n_labels``.

    Examples
    --------
    >>> a = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"),
    ...                   "label": ["x", "x", "y", "x", "y"]})
    >>> c = consensus_labels(a)
    >>> c.loc[1, "consensus_label"], round(float(c.loc[1, "agreement"]), 3), c.loc[2, "consensus_label"]
    ('x', 0.667, nan)
    """
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="consensus_labels")
    counts = annotations.groupby(["task", "label"], sort=True).size().rename("n").reset_index()
    counts = counts.sort_values(["task", "n"], ascending=[True, False], kind="stable")
    n_total = counts.groupby("task", sort=True)["n"].sum()
    top = counts.groupby("task", sort=True).head(2)
    first = top.groupby("task", sort=True).nth(0).set_index("task")
    second = top.groupby("task", sort=True).nth(1).set_index("task")["n"].reindex(first.index)
    tie = (second == first["n"]).to_numpy()
    label = first["label"].astype(object).where(~tie, np.nan)
    out = pd.DataFrame({"consensus_label": label, "agreement": first["n"] / n_total.reindex(first.index),
                        "n_labels": n_total.reindex(first.index)})
    out.index.name = "task"
    return out


class DecisionLog:
    """Append-only review decisions in a JSON Lines file (see the module docstring for why).

    The first line is a header (format, version, annotation hash); each further line is
    one decision with ``timestamp``, ``task``, ``decision``, ``reviewer``, ``label_before``,
    ``label_after``, ``reason``, ``comment`` and ``annotations_hash``. Every append takes
    the lock file ``<path>.lock``, repairs a torn tail left by a crashed writer (by
    starting a new line, so the torn fragment stays visible), writes the line in one
    ``write`` call and ``fsync``s. Opening an existing log resumes it.

    Parameters
    ----------
    path : str or os.PathLike
        The log file; created (with its header) when missing.
    annotations : pandas.DataFrame, optional
        The annotations decided on. When given, tasks and labels are checked, the
        label before each decision is filled in, and a log written for other
        annotations raises :class:`LogMismatchError`.
    labels : list, optional
        Allowed labels for ``fix``; default: the labels present in ``annotations``.
    read_only : bool, default=False
        Only read the log (no lock, no header written).

    Raises
    ------
    AnnotationFormatError
        If ``path`` exists but is not a decision log.
    LogMismatchError
        If the log's annotation hash differs from that of ``annotations``.
    QAInputError
        If ``path`` cannot be written (read-only file or folder).

    Examples
    --------
    >>> import tempfile, os
    >>> ann = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"],
    ...                     "label": ["cat", "cat", "cat", "dog"]})
    >>> path = os.path.join(tempfile.mkdtemp(), "decisions.jsonl")
    >>> log = DecisionLog(path, annotations=ann)
    >>> log.append(2, "fix", reviewer="ann", label="dog")
    >>> log.append(1, "accept", reviewer="ann")
    >>> log.read()[["task", "decision", "label_before", "label_after"]]
       task decision label_before label_after
    0     2      fix          NaN         dog
    1     1   accept          cat         cat
    >>> apply_decisions(ann, log)[["label", "status"]]
         label    status
    task
    1      cat  accepted
    2      dog     fixed
    >>> log.close()
    """

    def __init__(self, path: str | os.PathLike, *, annotations: pd.DataFrame | None = None,
                 labels: list | None = None, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = bool(read_only)
        self.torn_lines: list[int] = []
        self._fd: int | None = None
        self._consensus: dict = {}
        self._tasks: set | None = None
        self.annotations_hash: str | None = None
        if annotations is not None:
            check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="DecisionLog")
            self.annotations_hash = annotations_hash(annotations)
            self._tasks = set(annotations["task"].tolist())
            cons = consensus_labels(annotations)["consensus_label"]
            self._consensus = {_py(k): _py(v) for k, v in cons.items()}
            if labels is None:
                labels = sorted(annotations["label"].dropna().unique().tolist(), key=str)
        self.labels = None if labels is None else [_py(x) for x in labels]
        header = self._read_header()
        if header is not None:
            logged = header.get("annotations_hash")
            if self.annotations_hash and logged and logged != self.annotations_hash:
                raise LogMismatchError(
                    f"The decision log {self.path} was written for other annotations "
                    f"(annotation hash {logged}); the annotations given hash to "
                    f"{self.annotations_hash}. Use a new log file for these annotations."
                )
        if self.read_only:
            if header is None:
                raise QAInputError(f"The decision log {self.path} does not exist (read_only=True).")
            return
        self._lock = self._make_lock()
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as err:
            raise QAInputError(
                f"The decision log path {str(self.path)!r} cannot be written ({err.strerror}). "
                "Choose a writable location, or pass read_only=True to only read it."
            ) from None
        if header is None:
            with self._lock:
                if self._read_header() is None:
                    rec = {"format": _MAGIC, "version": _VERSION, "annotations_hash": self.annotations_hash,
                           "created_at": _now()}
                    self._write_line(rec)

    # -- internals -------------------------------------------------------------------
    def _make_lock(self):
        from filelock import FileLock

        lock_path = str(self.path) + ".lock"
        try:
            return FileLock(lock_path, timeout=30)
        except OSError as err:  # pragma: no cover - depends on filelock version
            raise QAInputError(f"Cannot create the lock file {lock_path!r}: {err}") from None

    def _read_header(self) -> dict | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        if self.path.is_dir():
            raise QAInputError(f"The decision log path {str(self.path)!r} is a folder, not a file.")
        with open(self.path, "rb") as f:
            first = f.readline()
        try:
            header = json.loads(first)
        except (json.JSONDecodeError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or header.get("format") != _MAGIC:
            raise AnnotationFormatError(
                f"{self.path} is not a qa_toolkit decision log: its first line should be a JSON header "
                f'with "format": "{_MAGIC}"; it starts with {first[:60]!r}.'
            )
        return header

    def _write_line(self, record: dict) -> None:
        data = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # a crashed writer left a torn line: end it, keep it visible
        os.write(self._fd, data)
        _sync(self._fd)

    def _label_before(self, task: Any) -> Any:
        return self._consensus.get(task)

    # -- public API ------------------------------------------------------------------
    def append(self, task: Any, decision: str, *, reviewer: str, label: Any = None, reason: str | None = None,
               comment: str | None = None, label_before: Any = None) -> None:
        """Append one decision and ``fsync`` it before returning.

        Parameters
        ----------
        task : hashable
            The task decided on.
        decision : {'accept', 'fix', 'reject', 'skip', 'undo'}
            ``undo`` cancels the latest not yet undone decision on ``task``.
        reviewer : str
            Who decided.
        label : optional
            The label after the decision; required for ``fix``. For ``accept`` it defaults
            to the label before (the annotators' consensus).
        reason : str, optional
            Reason code; required for ``reject``.
        comment : str, optional
            Free text.
        label_before : optional
            The label before the decision; by default the annotators' consensus.
        """
        if self._fd is None:
            raise QAInputError(f"The decision log {self.path} is closed or opened read_only; it cannot be appended to.")
        check_option("decision", decision, DECISIONS, func="DecisionLog.append")
        if not isinstance(reviewer, str) or not reviewer.strip():
            raise QAInputError(f"The 'reviewer' parameter of DecisionLog.append must be a non-empty string. Got {reviewer!r}.")
        task = _py(task)
        if self._tasks is not None and task not in self._tasks:
            raise QAInputError(f"The 'task' parameter of DecisionLog.append must be a task of the annotations. Got {task!r}.")
        label = _py(label)
        if decision == "fix" and label is None:
            raise QAInputError("DecisionLog.append: decision 'fix' needs the corrected 'label'. Got None.")
        if label is not None and self.labels is not None and label not in self.labels:
            check_option("label", label, self.labels, func="DecisionLog.append")
        if decision == "reject" and not (isinstance(reason, str) and reason.strip()):
            raise QAInputError(f"DecisionLog.append: decision 'reject' needs a 'reason'. Got {reason!r}.")
        before = _py(label_before) if label_before is not None else self._label_before(task)
        if decision == "accept" and label is None:
            label = before
        if decision in ("reject", "skip", "undo"):
            label = None
        record = {"timestamp": _now(), "task": task, "decision": decision, "reviewer": reviewer,
                  "label_before": before, "label_after": label, "reason": reason, "comment": comment,
                  "annotations_hash": self.annotations_hash}
        try:
            with self._lock:
                self._write_line(record)
        except OSError as err:
            raise OSError(err.errno, f"Could not write the decision on task {task!r} to the decision log "
                          f"{str(self.path)!r} ({err.strerror}); it was NOT recorded.") from None

    def records(self) -> list[dict]:
        """The decisions as dicts, in file order; torn lines are reported, not returned."""
        self._read_header()
        torn: list[int] = []
        out: list[dict] = []
        if not self.path.exists():
            return out
        with open(self.path, "rb") as f:
            lines = f.read().split(b"\n")
        for lineno, raw in enumerate(lines[1:], start=2):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
                if not isinstance(rec, dict) or "decision" not in rec:
                    raise ValueError
            except (ValueError, UnicodeDecodeError):
                torn.append(lineno)
                continue
            out.append(rec)
        self.torn_lines = torn
        if torn:
            warnings.warn(
                f"The decision log {self.path} has {len(torn)} torn line(s) (line {torn}); a writer was "
                "probably killed mid-write. Those decisions are lost; every other line was read.",
                DecisionLogWarning, stacklevel=2,
            )
        return out

    def read(self) -> pd.DataFrame:
        """One row per decision, in order, with the columns listed in the class docstring.

        Torn lines (a writer killed mid-write) raise a :class:`DecisionLogWarning` and are
        listed (1-based line numbers) in :attr:`torn_lines`.
        """
        recs = self.records()
        df = pd.DataFrame.from_records(recs, columns=[c for c in _COLUMNS if c != "seq"])
        for col in ("label_before", "label_after", "task"):
            df[col] = df[col].astype(object)
        df.insert(0, "seq", np.arange(len(df), dtype=np.int64))
        df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
        return df

    def close(self) -> None:
        """Close the file descriptor (appends are already on disk)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"DecisionLog({str(self.path)!r}, annotations_hash={self.annotations_hash!r})"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


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
        msg = (f"apply_decisions: the log holds decisions taken on other annotations (hash {sorted(other)}; "
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
    source = np.where(pd.isna(label), None, "consensus").astype(object)
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


# fdatasync flushes the data and the metadata needed to read it back (the new file size),
# which is all an append needs; fsync elsewhere.
_sync = getattr(os, "fdatasync", os.fsync)
