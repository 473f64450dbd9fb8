"""The :class:`DecisionLog` itself; import it from :mod:`qa_toolkit.review`.

Kept apart from the replay functions so each module stays readable; the storage
format (hash chain, durable writes) lives in :mod:`qa_toolkit.review.log_io`.

Format version 3 (this one) adds per-unit records: ``field``, ``unit`` (the object number
of a region field, the label of a multi-label field), ``annotation_id`` (the annotation a
decision was made on, or the annotator's version taken), ``geometry`` and ``scope``, and a
``task_hash`` per decision, so a decision goes stale only when its own task changes.
Version-2 logs are still read and appended to (their whole-table hash check stays).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_columns
from qa_toolkit.review import log_io as _io
from qa_toolkit.review.log_io import (
    DecisionLogError,
    DecisionLogWarning,
    LogMismatchError,
)
from qa_toolkit.review.log_io import (
    py_scalar as _py,
)
from qa_toolkit.review.record import build_record
from qa_toolkit.review.record import now as _now

__all__ = ["DecisionLog"]

_MAGIC = "qa_toolkit.decision_log"
_VERSION = 3
#: Versions this qa_toolkit can append to (version 1 has no hash chain: read only).
_WRITABLE = (2, 3)
_COLUMNS = [
    "seq", "timestamp", "task", "decision", "reviewer", "label_before", "label_after",
    "reason", "comment", "annotations_hash",
]
_OPTIONAL = ["field", "unit", "annotation_id", "annotator", "scope", "geometry", "policy", "task_hash"]



class DecisionLog:
    """Append-only, tamper-evident review decisions in a JSON Lines file.

    Line 1 is a header (format, version, annotation hash); each further line is one
    decision with ``seq`` (1, 2, ...), ``timestamp``, ``task``, ``decision``, ``reviewer``,
    ``label_before``, ``label_after``, ``reason``, ``comment``, ``annotations_hash``,
    optional ``field``, ``unit``, ``annotation_id``, ``annotator``, ``scope``, ``geometry``,
    ``task_hash`` (version 3) and last ``hash``, chained to the line before (see
    :mod:`qa_toolkit.review.log_io`). Every append takes the lock file
    ``<path>.lock``, checks the lines other writers added, ends a torn tail left by a
    crashed writer (the fragment stays visible), writes the whole line or nothing (a short
    write is cut back and raises ``OSError``) and ``fsync``s before returning. Creating a
    log, writing its header and checking the annotation hash happen under the lock, and
    the folder is ``fsync``ed after the file is created. Opening an existing log resumes it.

    A version-3 log is not tied to one table: each decision carries the hash of its own
    task (:func:`qa_toolkit.review.tables.task_hashes`), and annotations added to or
    changed on other tasks leave it valid (:func:`qa_toolkit.review.stale_decisions`
    lists the decisions whose task changed). A version-2 log keeps its whole-table check.

    Version-1 logs (written before the hash chain) are still read, with a
    :class:`DecisionLogWarning` that edits to them cannot be detected; they are not
    appended to: :func:`migrate_log` copies one into a new chained log.

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
    DecisionLogError
        If lines were edited, deleted, duplicated, reordered or are garbage (writers only;
        readers get it from :meth:`read`).
    LogMismatchError
        If the log's annotation hash differs from that of ``annotations``.
    QAInputError
        If ``path`` cannot be written (read-only file or folder).

    Examples
    --------
    >>> import tempfile, os
    >>> from qa_toolkit.review import apply_decisions
    >>> ann = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"],
    ...                     "label": ["cat", "cat", "cat", "dog"]})
    >>> path = os.path.join(tempfile.mkdtemp(), "decisions.jsonl")
    >>> log = DecisionLog(path, annotations=ann)
    >>> log.append(2, "fix", reviewer="ann", label="dog")
    >>> log.append(1, "accept", reviewer="ann")
    >>> log.read()[["seq", "task", "decision", "label_before", "label_after"]]
       seq  task decision label_before label_after
    0    1     2      fix          NaN         dog
    1    2     1   accept          cat         cat
    >>> apply_decisions(ann, log)[["task", "annotator", "label", "status"]]
       task    annotator label    status
    0     1  adjudicated   cat  accepted
    1     2  adjudicated   dog     fixed
    >>> log.close()
    """

    def __init__(self, path: str | os.PathLike, *, annotations: pd.DataFrame | None = None,
                 labels: list | None = None, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = bool(read_only)
        self.torn_lines: list[int] = []
        self.version: int | None = None
        self._fd: int | None = None
        self._consensus: dict = {}
        self._tasks: set | None = None
        self._state: _io.ScanResult | None = None
        self._offset = 0
        self.annotations_hash: str | None = None
        self._task_hash: dict = {}
        self._kinds: dict = {}
        self._annotation_ids: dict = {}
        if annotations is not None:
            from qa_toolkit.review.tables import annotations_hash, consensus_labels, task_hashes

            check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="DecisionLog")
            self.annotations_hash = annotations_hash(annotations)
            self._tasks = set(annotations["task"].tolist())
            cons = consensus_labels(annotations)["consensus_label"]
            self._consensus = {_py(k): _py(v) for k, v in cons.items()}
            self._task_hash = {_py(k): v for k, v in task_hashes(annotations).items()}
            if "field" in annotations.columns or "kind" in annotations.columns:
                from qa_toolkit.units import field_kinds

                self._kinds = {_py(k): v for k, v in field_kinds(annotations).items()}
            if "annotation_id" in annotations.columns:
                ids = annotations[["annotation_id", "annotator", "task"]].dropna(subset=["annotation_id"])
                self._annotation_ids = {_py(a): (_py(w), _py(t)) for a, w, t in ids.drop_duplicates(
                    "annotation_id").itertuples(index=False)}
            if labels is None:
                labels = sorted(annotations["label"].dropna().unique().tolist(), key=str)
        self.labels = None if labels is None else [_py(x) for x in labels]
        if self.read_only:
            header = self._read_header()
            if header is None:
                raise QAInputError(f"The decision log {self.path} does not exist (read_only=True).")
            self._check_header(header)
            return
        self._lock = self._make_lock()
        try:
            with self._lock:  # create + header + hash check: atomic for every writer
                created = self._open()
                try:
                    header = self._read_header()
                    if header is None:
                        rec = {"format": _MAGIC, "version": _VERSION, "annotations_hash": self.annotations_hash,
                               "created_at": _now()}
                        data, _ = _io.seal(rec, 0, "")
                        _io.write_all(self._writable_fd(), data, size_before=0)
                        header = self._read_header() or {}
                    self._check_header(header)
                    if self.version not in _WRITABLE:
                        raise QAInputError(
                            f"The decision log {self.path} is a version-{self.version} log without a hash chain; "
                            "it can be read (read_only=True) but not appended to. Copy it into a new log with "
                            "qa_toolkit.review.migrate_log(old_path, new_path)."
                        )
                    self._refresh()
                except BaseException:
                    self.close()
                    raise
        except OSError as err:
            self.close()
            raise QAInputError(
                f"The decision log path {str(self.path)!r} cannot be written ({err.strerror or err}). "
                "Choose a writable location, or pass read_only=True to only read it."
            ) from None
        if created:
            _io.fsync_dir(self.path.parent)

    # -- internals -------------------------------------------------------------------
    def _make_lock(self):
        from filelock import FileLock

        return FileLock(str(self.path) + ".lock", timeout=30)

    def _open(self) -> bool:
        """Open (creating it if needed) the log for appending; True when this call created it."""
        if self.path.is_dir():
            raise QAInputError(f"The decision log path {str(self.path)!r} is a folder, not a file.")
        flags = os.O_RDWR | os.O_APPEND
        try:
            self._fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o644)
            return True
        except FileExistsError:
            self._fd = os.open(self.path, flags)
            return False

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
        self._header_size = len(first)
        return header

    def _check_header(self, header: dict) -> None:
        self.version = header.get("version")
        if self.version not in (1, *_WRITABLE):
            raise AnnotationFormatError(f"{self.path}: decision log version {self.version!r} is not supported "
                                        f"(this qa_toolkit reads versions 1 to {_VERSION}).")
        if self.version in _WRITABLE and (header.get("seq") != 0 or _io.chain_hash("", header) != header.get("hash")):
            raise DecisionLogError(f"{self.path}: line 1 (the header) does not match its hash: it was edited.",
                                   problems=[(1, "the header does not match its hash")])
        logged = header.get("annotations_hash")
        if self.version != _VERSION and self.annotations_hash and logged and logged != self.annotations_hash:
            raise LogMismatchError(
                f"The decision log {self.path} was written for other annotations "
                f"(annotation hash {logged}); the annotations given hash to "
                f"{self.annotations_hash}. Use a new log file for these annotations."
            )

    def _refresh(self) -> _io.ScanResult:
        """Check the complete lines other writers added since the last look (writers, under the lock)."""
        fd = self._writable_fd()
        size = os.fstat(fd).st_size
        if self._state is None or size < self._offset:  # first look, or the file was cut: start over
            header = self._read_header()
            if header is None:
                raise AnnotationFormatError(f"The decision log {self.path} lost its header while open.")
            self._check_header(header)
            self._state = _io.ScanResult(hash=header["hash"])
            self._offset = self._header_size
        state = self._state
        data = os.pread(fd, size - self._offset, self._offset)
        end = data.rfind(b"\n") + 1
        if end:
            _io.scan(data[:end - 1].split(b"\n"), state, chained=True)
            self._offset += end
        self.torn_lines = list(state.torn)
        self._raise_problems(state)
        return state

    def _writable_fd(self) -> int:
        if self._fd is None:
            raise QAInputError(f"The decision log {self.path} is closed or opened read_only; it cannot be appended to.")
        return self._fd

    def _raise_problems(self, state: _io.ScanResult) -> None:
        if state.problems:
            shown = "; ".join(f"line {n} {msg}" for n, msg in state.problems[:5])
            more = f" (and {len(state.problems) - 5} more)" if len(state.problems) > 5 else ""
            raise DecisionLogError(
                f"The decision log {self.path} was edited or damaged: {shown}{more}. "
                "Restore it from a copy; no decision was replayed.", problems=list(state.problems))

    def _label_before(self, task: Any) -> Any:
        return self._consensus.get(task)

    def _append_record(self, record: dict) -> None:
        fd = self._writable_fd()
        with self._lock:
            state = self._refresh()
            size = os.fstat(fd).st_size
            if size > self._offset:  # a crashed writer left a line without its newline: end it, keep it visible
                _io.write_all(fd, b"\n", size_before=size)
                state = self._refresh()
                size = os.fstat(fd).st_size
            data, _ = _io.seal(record, state.seq + 1, state.hash)
            _io.write_all(fd, data, size_before=size)
            self._refresh()

    # -- public API ------------------------------------------------------------------
    def append(self, task: Any, decision: str, *, reviewer: str, unit: Any = None, annotation_id: Any = None,
               label: Any = None, geometry: Mapping | None = None, reason: str | None = None,
               comment: str | None = None, label_before: Any = None, field: Any = None,
               annotator: Any = None, scope: str | None = None, policy: str | None = None) -> None:
        """Append one decision; it is on disk (``fsync``) when this returns, else it raises.

        Parameters
        ----------
        task : str, int or float
            The task decided on: a value JSON gives back unchanged (no tuples, timestamps,
            NaN or booleans), so the decision can be replayed onto the annotations.
        decision : {'accept', 'fix', 'reject', 'skip', 'undo'}
            ``undo`` cancels the latest not yet undone decision on the same
            (task, field, unit, annotation) key.
        reviewer : str
            Who decided.
        unit : str or int, optional
            The unit within (task, field): the object number of a region field (as in
            :func:`qa_toolkit.to_units` ``object``), the label of a multi-label field; None
            for the whole task (categorical and rating fields).
        annotation_id : str or int, optional
            The annotation the decision was made on. With ``scope='annotation'`` the decision
            accepts or rejects that annotator's whole annotation of the task; on a unit,
            ``accept`` with an ``annotation_id`` takes that annotator's version.
        label : optional
            The label after the decision; required for ``fix`` unless ``geometry`` is given
            (ratings: the corrected value). For ``accept`` it defaults to the label before.
        geometry : dict, optional
            Corrected geometry of a region (``{"x_min": .., "y_min": .., "x_max": .., "y_max": ..}``,
            ``{"start": .., "end": ..}``, ``{"points": [[x, y], ...]}``...).
        reason : str, optional
            Reason code; required for ``reject``.
        comment : str, optional
            Free text.
        label_before : optional
            The label before the decision; by default the annotators' consensus of the task.
        field : str, optional
            The field (Label Studio control) decided on.
        annotator : str, optional
            Whose annotation (default: looked up from ``annotation_id`` in the annotations).
        scope : {'unit', 'annotation'}, optional
            Default ``'annotation'`` when ``annotation_id`` is given without ``unit``, ``label``
            and ``geometry``, else ``'unit'``.
        policy : {'requeue', 'remove'}, optional
            What a ``reject`` does (Label Studio's review settings): send the unit back for
            re-annotation (:func:`qa_toolkit.review.requeue_units`) or only remove it.

        Raises
        ------
        QAInputError
            For a bad argument (nothing is written).
        OSError
            When the line could not be written in full (disk full, quota, file size limit);
            the file is cut back to its previous size: the decision was NOT recorded.
        """
        self._writable_fd()
        record = build_record(self, task, decision, reviewer=reviewer, unit=unit, annotation_id=annotation_id,
                              label=label, geometry=geometry, reason=reason, comment=comment,
                              label_before=label_before, field=field, annotator=annotator, scope=scope,
                              policy=policy)
        task = record["task"]
        try:
            self._append_record(record)
        except OSError as err:
            raise OSError(err.errno, f"Could not write the decision on task {task!r} to the decision log "
                          f"{str(self.path)!r} ({err.strerror or err}); it was NOT recorded.") from None

    def verify(self) -> list[tuple[int, str]]:
        """Every problem of the log as ``(line number, message)``; empty when the chain is intact."""
        try:
            self._scan_file()
        except DecisionLogError as err:
            return list(err.problems)
        return []

    def _scan_file(self) -> _io.ScanResult:
        header = self._read_header()
        if header is None:
            return _io.ScanResult()
        self._check_header(header)
        with open(self.path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")[1:]
        if lines and lines[-1] == b"":
            lines.pop()
        chained = self.version in _WRITABLE
        state = _io.scan(lines, _io.ScanResult(hash=header.get("hash") or ""), chained=chained)
        self.torn_lines = list(state.torn)
        self._raise_problems(state)
        return state

    def records(self) -> list[dict]:
        """The decisions as dicts, in file order (``seq`` and ``hash`` included).

        Raises :class:`DecisionLogError` naming every edited, deleted, duplicated, reordered,
        incomplete or garbage line; lines torn by a crashed writer only warn
        (:class:`DecisionLogWarning`, numbers in :attr:`torn_lines`).
        """
        state = self._scan_file()
        if self.version == 1:
            warnings.warn(f"The decision log {self.path} is a version-1 log without a hash chain: edits to it "
                          "cannot be detected. Copy it with migrate_log to chain it from now on.",
                          DecisionLogWarning, stacklevel=2)
        if state.torn:
            warnings.warn(
                f"The decision log {self.path} has {len(state.torn)} torn line(s) (line {state.torn}); a writer was "
                "killed mid-write. Those decisions were never acknowledged; every other line was read.",
                DecisionLogWarning, stacklevel=2,
            )
        recs = [rec for _, rec in state.records]
        if self.version == 1:
            recs = [{"seq": i, **rec} for i, rec in enumerate(recs, start=1)]
        return recs

    def read(self) -> pd.DataFrame:
        """One row per decision, in order, with the columns listed in the class docstring.

        ``seq`` is the decision's sequence number on disk (1, 2, ...). Problems and torn
        lines are handled as in :meth:`records`.
        """
        recs = self.records()
        extra = [k for k in _OPTIONAL if any(k in r for r in recs)]
        df = pd.DataFrame.from_records(recs, columns=_COLUMNS + extra)
        for col in ("label_before", "label_after", "task"):
            df[col] = df[col].astype(object)
        df["seq"] = df["seq"].astype(np.int64)
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
