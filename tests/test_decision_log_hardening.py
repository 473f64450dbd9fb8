"""Decision log hardening (issue #10): short writes, race-free creation, tamper evidence,
replayable task ids, directory fsync, version-1 logs."""

from __future__ import annotations

import errno
import json
import multiprocessing as mp
import os
import stat
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import AnnotationFormatError, QAInputError
from qa_toolkit.review import (
    DecisionLog,
    DecisionLogError,
    DecisionLogWarning,
    LogMismatchError,
    apply_decisions,
    migrate_log,
)
from qa_toolkit.review import log_io as _io

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def log_path(tmp_path):
    return tmp_path / "decisions.jsonl"


def _five(path, ann):
    log = DecisionLog(path, annotations=ann)
    for task, dec, kw in [(1, "accept", {}), (2, "fix", {"label": "cat"}), (3, "reject", {"reason": "blurry"}),
                          (4, "skip", {}), (5, "accept", {})]:
        log.append(task, dec, reviewer="r", **kw)
    log.close()
    return path.read_bytes().split(b"\n")[:-1]  # header + 5 decision lines


# -- short writes ------------------------------------------------------------------------------
_FSIZE = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    sys.path.insert(0, {repo!r})
    import pandas as pd
    from qa_toolkit.review import DecisionLog
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the kernel then answers EFBIG instead of killing
    path = sys.argv[1]
    ann = pd.DataFrame({{"task": [1, 1, 2, 2], "annotator": list("abab"), "label": ["x", "x", "y", "y"]}})
    log = DecisionLog(path, annotations=ann)
    log.append(1, "accept", reviewer="r")
    before = os.path.getsize(path)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (before + 81, hard))  # room for 81 of ~800 bytes
    out = {{"before": before}}
    try:
        log.append(2, "fix", reviewer="r", label="y", comment="c" * 600)
        out["returned"] = True
    except OSError as err:
        out["error"] = str(err)
    out["after"] = os.path.getsize(path)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    log.append(2, "accept", reviewer="r")  # the log is still usable once there is room again
    out["tasks"] = DecisionLog(path, read_only=True).read()["task"].tolist()
    print(json.dumps(out))
    """
)


def test_rlimit_fsize_short_write_raises_and_cuts_back(tmp_path, log_path):
    script = tmp_path / "fsize.py"
    script.write_text(_FSIZE.format(repo=REPO))
    proc = subprocess.run([sys.executable, str(script), str(log_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "returned" not in out, "a decision that did not fit was acknowledged"
    assert "NOT recorded" in out["error"] and str(log_path) in out["error"]
    assert out["after"] == out["before"], "the partial line was not cut back"
    assert out["tasks"] == [1, 2]  # the failed decision is absent; the next one chained fine


def test_partial_writes_are_completed(monkeypatch, toy_annotations, log_path):
    log = DecisionLog(log_path, annotations=toy_annotations)
    real_write = os.write

    def dribble(fd, data):  # the kernel may accept fewer bytes than asked (signals, pipes, NFS)
        return real_write(fd, bytes(data[:7]))

    monkeypatch.setattr(os, "write", dribble)
    log.append(3, "fix", reviewer="r", label="bird", comment="x" * 300)
    monkeypatch.undo()
    df = log.read()
    assert df["task"].tolist() == [3] and df.loc[0, "comment"] == "x" * 300


def test_disk_full_mid_line_raises_and_leaves_no_fragment(monkeypatch, toy_annotations, log_path):
    log = DecisionLog(log_path, annotations=toy_annotations)
    log.append(1, "accept", reviewer="r")
    size = log_path.stat().st_size
    real_write = os.write
    calls = []

    def full_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:50]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space left on device.*NOT recorded"):
        log.append(2, "accept", reviewer="r")
    monkeypatch.undo()
    assert log_path.stat().st_size == size
    with warnings.catch_warnings():
        warnings.simplefilter("error", DecisionLogWarning)
        assert log.read()["task"].tolist() == [1]


# -- race-free creation -------------------------------------------------------------------------
def _create(path, label, barrier, results):
    ann = pd.DataFrame({"task": [1, 2], "annotator": ["a", "a"], "label": [label, label]})
    barrier.wait()
    try:
        DecisionLog(path, annotations=ann).append(1, "accept", reviewer=label)
        results.put((label, "ok"))
    except LogMismatchError:
        results.put((label, "mismatch"))
    except Exception as exc:  # pragma: no cover - reported by the assertion below
        results.put((label, f"{type(exc).__name__}: {exc}"))


def test_two_creators_for_different_annotations_write_one_header_and_per_task_hashes(tmp_path):
    # format 3 hashes each decision's own task, so two creators on different annotations both
    # succeed; the race must still leave one header, both decisions, and each decision stale
    # only against the other writer's annotations
    from qa_toolkit.review import stale_decisions

    ctx = mp.get_context("fork")
    for race in range(10):
        path = tmp_path / f"race{race}.jsonl"
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_create, args=(path, lab, barrier, results)) for lab in ("x", "y")]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        got = dict(results.get(timeout=10) for _ in procs)
        assert sorted(got.values()) == ["ok", "ok"], f"race {race}: {got}"
        assert path.read_text().count('"format"') == 1
        df = DecisionLog(path, read_only=True).read()
        assert sorted(df["reviewer"].tolist()) == ["x", "y"] and df["seq"].tolist() == [1, 2]
        for lab in ("x", "y"):
            ann = pd.DataFrame({"task": [1, 2], "annotator": ["a", "a"], "label": [lab, lab]})
            assert stale_decisions(ann, path)["reviewer"].tolist() == [{"x": "y", "y": "x"}[lab]]


# -- tamper evidence ----------------------------------------------------------------------------
def _rehash(line: bytes, prev: bytes, **changes) -> bytes:
    """Edit a line and recompute its own hash (a careful hand edit)."""
    rec = {**json.loads(line), **changes}
    rec["hash"] = _io.chain_hash(json.loads(prev)["hash"], rec)
    return json.dumps(rec).encode()


def _alter(lines, i, **changes):
    rec = {**json.loads(lines[i]), **changes}
    return lines[:i] + [json.dumps(rec).encode()] + lines[i + 1:]


def _drop_field(lines, i, name):
    rec = json.loads(lines[i])
    del rec[name]
    return lines[:i] + [json.dumps(rec).encode()] + lines[i + 1:]


# each edit of the 6-line log (header = line 1, decisions = lines 2..6) and the line it must name
EDITS = {
    "delete a middle line": (lambda ls: ls[:3] + ls[4:], 4, "deleted or moved"),
    "delete the first decision": (lambda ls: ls[:1] + ls[2:], 2, "deleted or moved"),
    "alter a label": (lambda ls: _alter(ls, 2, label_after="dog"), 3, "does not match its hash"),
    "alter a task": (lambda ls: _alter(ls, 4, task=2), 5, "does not match its hash"),
    "alter and rehash": (lambda ls: ls[:2] + [_rehash(ls[2], ls[1], label_after="dog")] + ls[3:], 4,
                         "does not match its hash"),
    "swap two lines": (lambda ls: ls[:2] + [ls[3], ls[2]] + ls[4:], 3, "deleted or moved"),
    "duplicate a line": (lambda ls: ls[:3] + [ls[2]] + ls[3:], 4, "duplicated or moved"),
    "duplicate the last line": (lambda ls: ls + [ls[-1]], 7, "duplicated or moved"),
    "garbage line": (lambda ls: ls[:3] + [b"hello world"] + ls[3:], 4, "not JSON"),
    "JSON that is no record": (lambda ls: ls[:3] + [b"[1, 2]"] + ls[3:], 4, "not a decision record"),
    "blank line": (lambda ls: ls[:3] + [b""] + ls[3:], 4, "is blank"),
    "missing field": (lambda ls: _drop_field(ls, 3, "reviewer"), 4, "lacks the field(s) ['reviewer']"),
    "missing hash": (lambda ls: _drop_field(ls, 3, "hash"), 4, "lacks the field(s) ['hash']"),
    "bad timestamp": (lambda ls: _alter(ls, 3, timestamp="yesterday"), 4, "bad timestamp 'yesterday'"),
    "naive timestamp": (lambda ls: _alter(ls, 3, timestamp="2026-11-23T04:00:00"), 4, "bad timestamp"),
    "unknown decision": (lambda ls: _alter(ls, 3, decision="approve"), 4, "unknown decision 'approve'"),
    "renumbered seq": (lambda ls: _alter(ls, 3, seq=9), 4, "sequence number 9 where 3 was expected"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_hand_edit_reported_with_line_number(edit, toy_annotations, log_path):
    lines = _five(log_path, toy_annotations)
    change, lineno, what = EDITS[edit]
    log_path.write_bytes(b"\n".join(change(lines)) + b"\n")
    with pytest.raises(DecisionLogError, match=f"line {lineno} .*{_re(what)}") as info:
        DecisionLog(log_path, read_only=True).read()
    assert str(log_path) in str(info.value)
    assert info.value.problems[0][0] == lineno
    assert "\n" not in str(info.value)
    # a writer refuses to extend a damaged log, and apply_decisions refuses to replay it
    with pytest.raises(DecisionLogError):
        DecisionLog(log_path, annotations=toy_annotations)
    with pytest.raises(DecisionLogError):
        apply_decisions(toy_annotations, log_path)


def _re(text):
    import re

    return re.escape(text)


def test_header_edit_detected(toy_annotations, log_path):
    lines = _five(log_path, toy_annotations)
    header = {**json.loads(lines[0]), "annotations_hash": "0000000000000000"}  # forcing the log on other data
    log_path.write_bytes(b"\n".join([json.dumps(header).encode(), *lines[1:]]) + b"\n")
    with pytest.raises(DecisionLogError, match="line 1 \\(the header\\)"):
        DecisionLog(log_path, read_only=True).read()


def test_intact_log_verifies_and_lines_written_by_other_writers_are_checked(toy_annotations, log_path):
    _five(log_path, toy_annotations)
    log = DecisionLog(log_path, annotations=toy_annotations)
    assert log.verify() == []
    with open(log_path, "ab") as f:  # another process (or a person) appends a line by hand
        f.write(b'{"seq": 6, "task": 1, "decision": "accept"}\n')
    assert [n for n, _ in log.verify()] == [7]
    with pytest.raises(DecisionLogError, match="line 7 lacks the field"):
        log.append(1, "accept", reviewer="r")


def test_optional_unit_fields_round_trip(toy_annotations, log_path):
    log = DecisionLog(log_path, annotations=toy_annotations)
    log.append(3, "fix", reviewer="r", label="dog", field="species", unit="3/species", annotation_id=17)
    log.append(1, "accept", reviewer="r")
    df = log.read()
    assert df.loc[0, ["field", "unit", "annotation_id"]].tolist() == ["species", "3/species", 17]
    assert pd.isna(df.loc[1, "field"])
    assert "field" not in json.loads(log_path.read_text().splitlines()[2])  # written only when given


# -- replayable task ids ------------------------------------------------------------------------
@pytest.mark.parametrize("task", [(1, 2), pd.Timestamp("2026-01-01"), float("nan"), True, [1], {"id": 1}],
                         ids=["tuple", "timestamp", "nan", "bool", "list", "dict"])
def test_unreplayable_task_ids_refused_at_append(task, log_path):
    log = DecisionLog(log_path)
    size = log_path.stat().st_size
    with pytest.raises(QAInputError, match="'task' parameter of DecisionLog.append .*could not be replayed"):
        log.append(task, "accept", reviewer="r")
    assert log_path.stat().st_size == size


def test_replayable_task_ids_round_trip(log_path):
    log = DecisionLog(log_path)
    for task in ["007", 7, np.int64(8), 2.5]:
        log.append(task, "accept", reviewer="r", label="x")
    assert log.read()["task"].tolist() == ["007", 7, 8, 2.5]
    with pytest.raises(QAInputError, match="'label' parameter .*could not be replayed"):
        log.append(7, "fix", reviewer="r", label=("a", "b"))


# -- durability of a new log --------------------------------------------------------------------
def test_folder_fsynced_after_creating_the_log(monkeypatch, toy_annotations, log_path):
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    DecisionLog(log_path, annotations=toy_annotations).close()
    assert True in synced, "the folder holding the new log was not fsynced"
    synced.clear()
    DecisionLog(log_path, annotations=toy_annotations).close()  # reopening creates nothing
    assert True not in synced


# -- version-1 logs -----------------------------------------------------------------------------
def _v1_log(path, ann_hash):
    lines = [{"format": "qa_toolkit.decision_log", "version": 1, "annotations_hash": ann_hash,
              "created_at": "2026-11-20T10:00:00+00:00"}]
    for i, (task, dec, after) in enumerate([(1, "accept", "cat"), (3, "fix", "bird")]):
        lines.append({"timestamp": f"2026-11-20T10:0{i + 1}:00+00:00", "task": task, "decision": dec,
                      "reviewer": "old", "label_before": "cat", "label_after": after, "reason": None,
                      "comment": None, "annotations_hash": ann_hash})
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))


def test_version_1_log_read_with_warning_not_extended_and_migrated(tmp_path, toy_annotations):
    from qa_toolkit.review import annotations_hash

    old = tmp_path / "old.jsonl"
    _v1_log(old, annotations_hash(toy_annotations))
    with pytest.warns(DecisionLogWarning, match="version-1 log without a hash chain"):
        final = apply_decisions(toy_annotations, old).set_index("task")
    assert final.loc[3, "label"] == "bird" and final.loc[1, "status"] == "accepted"
    with pytest.raises(QAInputError, match="not appended to.*migrate_log"):
        DecisionLog(old, annotations=toy_annotations)
    new = migrate_log(old, tmp_path / "new.jsonl")
    new.append(5, "reject", reviewer="r", reason="blurry")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DecisionLogWarning)
        df = DecisionLog(tmp_path / "new.jsonl", annotations=toy_annotations).read()
    assert df["task"].tolist() == [1, 3, 5] and df["seq"].tolist() == [1, 2, 3]
    assert df.loc[0, "timestamp"] == pd.Timestamp("2026-11-20T10:01:00+00:00")
    with pytest.raises(AnnotationFormatError, match="decision log version 7"):
        _v1_log(old, None)
        old.write_text(old.read_text().replace('"version": 1', '"version": 7'))
        DecisionLog(old, read_only=True).read()
