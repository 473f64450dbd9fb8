"""Low-level storage of the review decision log: hash chain, line checks, durable writes.

Storage helpers of :mod:`qa_toolkit.review`. A version-2 or -3 log is JSON Lines; every line
(the header is line 1, sequence number 0) carries ``seq`` and ``hash``::

    hash_i = sha256(hash_{i-1} + canonical_json(line_i without "hash"))    (hash_0: "" before it)

``canonical_json`` sorts keys and uses compact separators, so any tool that re-serialises
the record the same way can verify a log. The chain makes hand edits evident: an altered,
deleted, duplicated or reordered line breaks it at that line number. It is a checksum,
not a signature: someone who rewrites every later hash on purpose is not detected, and a
log cut after its last line (the tail removed) still verifies; keep a copy for audits.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAWarning

#: The decisions a reviewer can take.
DECISIONS = ("accept", "fix", "reject", "skip", "undo")
#: Fields every decision line must carry (optional extras: ``field``, ``unit``, ``annotation_id``...).
REQUIRED_FIELDS = ("seq", "hash", "timestamp", "task", "decision", "reviewer", "label_before",
                   "label_after", "reason", "comment", "annotations_hash")
_TORN_PREFIX = b'{"seq": '


class DecisionLogWarning(QAWarning):
    """A decision log had torn (unreadable) lines; they are listed in ``DecisionLog.torn_lines``."""


class DecisionLogError(AnnotationFormatError):
    """Lines of a decision log were edited, deleted, duplicated, reordered or are not records.

    ``problems`` lists ``(line number, message)`` for each one.
    """

    def __init__(self, message: str, *, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class LogMismatchError(ValueError):
    """The decision log was written for other annotations (its annotation hash differs)."""


def py_scalar(value: Any) -> Any:
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


def canonical(record: dict) -> bytes:
    """The bytes hashed for ``record`` (its ``hash`` key left out)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def chain_hash(prev_hash: str, record: dict) -> str:
    """SHA-256 hex digest chaining ``record`` to the line before it."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(record)).hexdigest()


def seal(record: dict, seq: int, prev_hash: str) -> tuple[bytes, str]:
    """The line to write for ``record`` (``seq`` first, ``hash`` last) and its hash."""
    body = {"seq": seq, **{k: v for k, v in record.items() if k not in ("seq", "hash")}}
    h = chain_hash(prev_hash, body)
    line = json.dumps({**body, "hash": h}, ensure_ascii=False, allow_nan=False) + "\n"
    return line.encode("utf-8"), h


def parse_timestamp(value: Any) -> _dt.datetime | None:
    """An ISO-8601 timestamp with a UTC offset, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    try:
        ts = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def replayable(value: Any, *, allow_bool: bool) -> bool:
    """True for values that come back from JSON equal and hashable (str, int, finite float)."""
    if isinstance(value, bool):
        return allow_bool
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int))


@dataclass
class ScanResult:
    """What a scan of log lines found."""

    records: list = field(default_factory=list)  # (line number, record) of valid decisions
    torn: list = field(default_factory=list)  # line numbers of lines cut short by a crash
    problems: list = field(default_factory=list)  # (line number, message)
    seq: int = 0
    hash: str = ""
    lineno: int = 1


def scan(lines: list[bytes], state: ScanResult, *, chained: bool) -> ScanResult:
    """Check complete lines (without their newline) after ``state``; return the updated state.

    Every problem is recorded with its 1-based line number, then the scan resynchronises on
    the line's own ``seq``/``hash`` so that one hand edit is reported once, where it is.
    """
    for raw in lines:
        state.lineno += 1
        n = state.lineno
        if not raw.strip():
            state.problems.append((n, "is blank"))
            continue
        try:
            rec = json.loads(raw)
        except RecursionError:
            state.problems.append((n, "is not a decision record (JSON nested too deeply)"))
            continue
        except (ValueError, UnicodeDecodeError):
            if chained and (raw.startswith(_TORN_PREFIX) or _TORN_PREFIX.startswith(raw)) and b"\n" not in raw:
                state.torn.append(n)  # a writer was killed mid-line; the chain skips it
            elif not chained and raw.lstrip().startswith(b"{"):
                state.torn.append(n)
            else:
                state.problems.append((n, f"is not a decision record (not JSON): {raw[:60]!r}"))
            continue
        if not isinstance(rec, dict):
            state.problems.append((n, f"is not a decision record (a JSON {type(rec).__name__}, not an object)"))
            continue
        required = REQUIRED_FIELDS if chained else REQUIRED_FIELDS[2:]
        missing = [f for f in required if f not in rec]
        if missing:
            state.problems.append((n, f"lacks the field(s) {missing}"))
            continue
        if parse_timestamp(rec["timestamp"]) is None:
            state.problems.append((n, f"has a bad timestamp {rec['timestamp']!r} (expected ISO 8601 with a UTC offset)"))
            continue
        if rec["decision"] not in DECISIONS:
            state.problems.append((n, f"has the unknown decision {rec['decision']!r} (one of {list(DECISIONS)})"))
            continue
        if isinstance(rec["task"], (list, dict)) or rec["task"] is None:
            state.problems.append((n, f"has a task id that cannot be replayed: {rec['task']!r}"))
            continue
        if chained and not _check_chain(rec, n, state):
            continue
        state.records.append((n, rec))
    return state


def _check_chain(rec: dict, n: int, state: ScanResult) -> bool:
    seq, stored = rec["seq"], rec["hash"]
    if type(seq) is not int or not isinstance(stored, str):
        state.problems.append((n, f"has a malformed 'seq' {seq!r} or 'hash' {stored!r}"))
        return False
    expected = state.seq + 1
    if seq != expected:
        if seq <= state.seq:
            state.problems.append((n, f"has sequence number {seq} after {state.seq}: a line was duplicated or moved"))
        else:
            state.problems.append((n, f"has sequence number {seq} where {expected} was expected: "
                                      f"{seq - expected} line(s) before it were deleted or moved"))
        if seq > state.seq:  # resynchronise after a gap; a repeated number changes nothing
            state.seq, state.hash = seq, stored
        return False
    ok = chain_hash(state.hash, rec) == stored
    if not ok:
        state.problems.append((n, "does not match its hash: it (or the line before it) was altered"))
    state.seq, state.hash = seq, stored
    return ok


def write_all(fd: int, data: bytes, *, size_before: int) -> None:
    """Write every byte of ``data`` at the end of ``fd`` and sync, or truncate back and raise.

    A short write (full disk, quota, ``RLIMIT_FSIZE``) is retried until the kernel refuses;
    then the file is cut back to ``size_before`` so no partial line stays behind, and the
    ``OSError`` propagates: the caller must never acknowledge the record.
    """
    view = memoryview(data)
    try:
        while view:
            n = os.write(fd, view)
            if n <= 0:
                raise OSError(errno.EIO, "the write made no progress")
            view = view[n:]
        _sync(fd)
    except BaseException:
        try:
            os.ftruncate(fd, size_before)
            _sync(fd)
        except OSError:  # pragma: no cover - cannot even truncate: the reader reports a torn line
            pass
        raise


def fsync_dir(path: os.PathLike | str) -> None:
    """``fsync`` a folder so a newly created entry in it survives a power loss."""
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on folders
        pass
    finally:
        os.close(fd)


# fdatasync flushes the data and the metadata needed to read it back (the new file size),
# which is all an append needs; fsync elsewhere.
_sync = getattr(os, "fdatasync", os.fsync)
