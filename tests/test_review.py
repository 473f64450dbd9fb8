"""DecisionLog and apply_decisions: round trip, resume, undo, safety (SIGKILL, two writers, torn lines)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import AnnotationFormatError, QAInputError
from qa_toolkit.review import (
    DecisionLog,
    DecisionLogWarning,
    LogMismatchError,
    annotations_hash,
    apply_decisions,
    consensus_labels,
    review_status,
    stale_decisions,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def log_path(tmp_path):
    return tmp_path / "decisions.jsonl"


def test_round_trip_order_and_fields(toy_annotations, log_path):
    log = DecisionLog(log_path, annotations=toy_annotations)
    log.append(3, "fix", reviewer="r1", label="bird", comment="three-way split")
    log.append(1, "accept", reviewer="r1")
    log.append(5, "reject", reviewer="r2", reason="ambiguous", comment="blurry")
    log.append(2, "skip", reviewer="r1")
    df = log.read()
    assert df["task"].tolist() == [3, 1, 5, 2]
    assert df["seq"].tolist() == [1, 2, 3, 4]  # on-disk sequence numbers; the header is 0
    assert df["decision"].tolist() == ["fix", "accept", "reject", "skip"]
    # task 3 has labels cat, dog, bird, cat -> plurality cat; task 1 -> cat
    assert df["label_before"].tolist()[:2] == ["cat", "cat"]
    assert df["label_after"].tolist()[:2] == ["bird", "cat"] and pd.isna(df.loc[2, "label_after"])
    assert df.loc[2, "reason"] == "ambiguous" and df.loc[2, "comment"] == "blurry"
    assert str(df["timestamp"].dt.tz) == "UTC"
    assert (df["annotations_hash"] == annotations_hash(toy_annotations)).all()
    # on disk: header + 4 lines, each valid JSON
    lines = log_path.read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(x) for x in lines)


def test_apply_decisions_provenance_and_idempotent(toy_annotations, log_path):
    before = toy_annotations.copy()
    log = DecisionLog(log_path, annotations=toy_annotations)
    log.append(3, "fix", reviewer="r1", label="bird")
    log.append(5, "reject", reviewer="r2", reason="ambiguous")
    log.append(2, "skip", reviewer="r1")
    final = review_status(toy_annotations, log).set_index("task")
    assert final.index.tolist() == [1, 2, 3, 4, 5] and final["unit"].isna().all()
    assert final.loc[3, "label"] == "bird" and final.loc[3, "status"] == "fixed"
    assert final.loc[3, "label_source"] == "review" and final.loc[3, "reviewer"] == "r1"
    assert pd.isna(final.loc[5, "label"]) and final.loc[5, "status"] == "rejected"
    assert final.loc[2, "status"] == "skipped" and final.loc[2, "label"] == "dog"
    assert final.loc[1, "status"] == "pending" and final.loc[1, "label_source"] == "consensus"
    adjudicated = apply_decisions(toy_annotations, log)
    # the adjudicated table: one row per kept task (5 rejected), the fixed label, provenance
    assert adjudicated["task"].tolist() == [1, 2, 3, 4] and set(adjudicated["annotator"]) == {"adjudicated"}
    assert adjudicated["label"].tolist() == ["cat", "dog", "bird", "bird"]
    assert adjudicated["status"].tolist() == ["pending", "skipped", "fixed", "pending"]
    pd.testing.assert_frame_equal(adjudicated, apply_decisions(toy_annotations, log))
    # from the path and from the read() table: same result
    pd.testing.assert_frame_equal(adjudicated, apply_decisions(toy_annotations, str(log_path)))
    pd.testing.assert_frame_equal(adjudicated, apply_decisions(toy_annotations, log.read()))
    pd.testing.assert_frame_equal(final, review_status(toy_annotations, log.read()).set_index("task"))
    pd.testing.assert_frame_equal(toy_annotations, before)


def test_undo_pops_latest_decision_on_task(toy_annotations, log_path):
    log = DecisionLog(log_path, annotations=toy_annotations)
    log.append(3, "accept", reviewer="r")
    log.append(3, "fix", reviewer="r", label="dog")
    log.append(3, "undo", reviewer="r")
    final = review_status(toy_annotations, log).set_index("task")
    assert final.loc[3, "status"] == "accepted" and final.loc[3, "label"] == "cat"
    log.append(3, "undo", reviewer="r")
    assert review_status(toy_annotations, log).set_index("task").loc[3, "status"] == "pending"


def test_resume_reopen_appends(toy_annotations, log_path):
    with DecisionLog(log_path, annotations=toy_annotations) as log:
        log.append(1, "accept", reviewer="r")
    log2 = DecisionLog(log_path, annotations=toy_annotations)
    log2.append(2, "accept", reviewer="r")
    assert log2.read()["task"].tolist() == [1, 2]
    assert log_path.read_text().count('"format"') == 1  # one header only


def test_consensus_ties_are_nan(toy_annotations):
    c = consensus_labels(toy_annotations)
    assert c.loc[1, "consensus_label"] == "cat" and c.loc[1, "agreement"] == pytest.approx(4 / 5)
    tie = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", "y"]})
    assert pd.isna(consensus_labels(tie).loc[1, "consensus_label"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(task=1, decision="approve", reviewer="r"), "'decision' parameter of DecisionLog.append must be one of"),
        (dict(task=99, decision="accept", reviewer="r"), "must be a task of the annotations. Got 99"),
        (dict(task=1, decision="fix", reviewer="r"), "'fix' needs the corrected 'label'"),
        (dict(task=1, decision="fix", reviewer="r", label="zebra"), "'label' parameter .* Got 'zebra'"),
        (dict(task=1, decision="reject", reviewer="r"), "'reject' needs a 'reason'"),
        (dict(task=1, decision="accept", reviewer=""), "'reviewer' parameter"),
    ],
)
def test_append_bad_input_writes_nothing(toy_annotations, log_path, kwargs, match):
    log = DecisionLog(log_path, annotations=toy_annotations)
    size = log_path.stat().st_size
    with pytest.raises(QAInputError, match=match):
        log.append(kwargs.pop("task"), kwargs.pop("decision"), **kwargs)
    assert log_path.stat().st_size == size


def test_not_a_decision_log(tmp_path):
    p = tmp_path / "other.jsonl"
    p.write_text('{"task": 1, "label": "x"}\n')
    with pytest.raises(AnnotationFormatError, match="is not a qa_toolkit decision log"):
        DecisionLog(p)
    p.write_bytes(b"\x89PNG\r\n")
    with pytest.raises(AnnotationFormatError, match="not a qa_toolkit decision log"):
        DecisionLog(p)


def test_hash_mismatch_detected(toy_annotations, log_path):
    log = DecisionLog(log_path, annotations=toy_annotations)
    log.append(1, "accept", reviewer="r")
    log.append(4, "fix", reviewer="r", label="cat")
    other = toy_annotations.assign(label=toy_annotations["label"].where(toy_annotations["task"] != 1, "dog"))
    # the log is per task (format 3): it opens on the changed table, only task 1's decision is stale
    DecisionLog(log_path, annotations=other).close()
    stale = stale_decisions(other, log_path)
    assert stale["task"].tolist() == [1] and stale["seq"].tolist() == [1]
    assert stale_decisions(toy_annotations, log_path).empty
    with pytest.raises(LogMismatchError, match="other annotations of their task"):
        apply_decisions(other, log_path)
    with pytest.warns(DecisionLogWarning, match="stale_decisions"):
        st = review_status(other, log_path, on_mismatch="warn").set_index("task")
    assert st.loc[1, "status"] == "pending" and st.loc[4, "status"] == "fixed"


def test_an_added_annotation_elsewhere_leaves_decisions_valid(toy_annotations, log_path):
    """Issue #13: one added annotation anywhere made apply_decisions refuse the whole log."""
    log = DecisionLog(log_path, annotations=toy_annotations)
    log.append(3, "fix", reviewer="r", label="bird")
    more = pd.concat([toy_annotations, pd.DataFrame({"task": [2], "annotator": ["f"], "label": ["cat"]})],
                     ignore_index=True)
    assert stale_decisions(more, log).empty
    out = apply_decisions(more, log).set_index("task")
    assert out.loc[3, "label"] == "bird" and out.loc[3, "status"] == "fixed"
    # the same edit on the decided task makes exactly that decision stale
    changed = pd.concat([toy_annotations, pd.DataFrame({"task": [3], "annotator": ["f"], "label": ["cat"]})],
                        ignore_index=True)
    assert stale_decisions(changed, log)["task"].tolist() == [3]


def test_read_only_path(tmp_path, toy_annotations, monkeypatch):
    # root ignores chmod, so the kernel's answer for a read-only file is simulated at
    # os.open: EACCES for a write open of exactly this path
    p = tmp_path / "ro.jsonl"
    DecisionLog(p, annotations=toy_annotations).append(1, "accept", reviewer="r")
    before = p.read_bytes()
    real_open = os.open

    def read_only_open(path, flags, *args, **kwargs):
        if Path(path) == p and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)
    with pytest.raises(QAInputError, match="cannot be written.*Permission denied"):
        DecisionLog(p, annotations=toy_annotations)
    assert p.read_bytes() == before  # nothing half-written


def test_unwritable_path_clear_error(tmp_path, toy_annotations):
    # a path under a regular file cannot be created, even as root
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(QAInputError, match="cannot be written"):
        DecisionLog(blocker / "decisions.jsonl", annotations=toy_annotations)


def test_torn_last_line_reported_and_repaired(toy_annotations, log_path):
    log = DecisionLog(log_path, annotations=toy_annotations)
    log.append(1, "accept", reviewer="r")
    log.append(2, "accept", reviewer="r")
    with open(log_path, "ab") as f:
        # killed mid-write: a prefix of what the writer writes (every line starts with its seq)
        f.write(b'{"seq": 3, "timestamp": "2026-11-23T04:00:00+00:00", "task": 3, "deci')
    with pytest.warns(DecisionLogWarning, match="torn line"):
        df = log.read()
    assert df["task"].tolist() == [1, 2] and log.torn_lines == [4]
    # the next append starts a fresh line: the torn fragment stays reported, nothing else is lost
    log.append(4, "accept", reviewer="r")
    with pytest.warns(DecisionLogWarning):
        df = log.read()
    assert df["task"].tolist() == [1, 2, 4] and log.torn_lines == [4]


_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {repo!r})
    from qa_toolkit.review import DecisionLog
    log = DecisionLog(sys.argv[1])
    who, n = sys.argv[2], int(sys.argv[3])
    for i in range(n):
        log.append(i, "fix", reviewer=who, label="x" * 200, comment=f"{{who}}-{{i}}")
        if i == 5:
            print("started", flush=True)
    """
)


def _writer(tmp_path, path, who, n):
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(repo=REPO))
    return subprocess.Popen([sys.executable, str(script), str(path), who, str(n)],
                            stdout=subprocess.PIPE, text=True)


def test_sigkill_mid_loop_loses_at_most_one(tmp_path, log_path):
    proc = _writer(tmp_path, log_path, "w", 10**7)
    try:
        assert proc.stdout.readline().strip() == "started", "writer subprocess did not start"
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log = DecisionLog(log_path, read_only=True)
        df = log.read()
    assert len(df) > 5
    # every decision read is intact and in order: 0, 1, 2, ... without gaps
    assert df["task"].tolist() == list(range(len(df)))
    assert (df["comment"] == [f"w-{i}" for i in range(len(df))]).all()
    # at most the one decision in flight is lost, and it is reported when torn
    assert len(log.torn_lines) <= 1
    assert bool(log.torn_lines) == any(issubclass(w.category, DecisionLogWarning) for w in caught)


def test_two_writers_do_not_corrupt(tmp_path, log_path):
    DecisionLog(log_path).close()
    n = 150
    procs = [_writer(tmp_path, log_path, who, n) for who in ("p1", "p2")]
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", DecisionLogWarning)
        df = DecisionLog(log_path, read_only=True).read()
    assert len(df) == 2 * n
    for who in ("p1", "p2"):
        sub = df.loc[df["reviewer"] == who]
        assert sub["task"].tolist() == list(range(n)), f"{who}'s decisions out of order or lost"
    assert log_path.read_text().count('"format"') == 1


def test_apply_decisions_bad_input(toy_annotations, log_path):
    with pytest.raises(QAInputError, match="'log' parameter of apply_decisions"):
        apply_decisions(toy_annotations, 42)
    with pytest.raises(QAInputError, match="'on_mismatch' parameter"):
        apply_decisions(toy_annotations, pd.DataFrame({"task": [], "decision": []}), on_mismatch="bogus")
    with pytest.raises(AnnotationFormatError, match="'annotations' table of apply_decisions lacks"):
        apply_decisions(toy_annotations.drop(columns="label"), log_path)
    with pytest.raises(QAInputError, match="tasks that are not in the annotations"):
        apply_decisions(toy_annotations, pd.DataFrame({"task": [77], "decision": ["accept"], "label_after": ["x"]}))


def test_integer_labels_round_trip(log_path):
    ann = pd.DataFrame({"task": np.array([10, 10, 11], dtype=np.int64), "annotator": [1, 2, 1],
                        "label": np.array([0, 1, 1], dtype=np.int64)})
    log = DecisionLog(log_path, annotations=ann)
    log.append(np.int64(10), "fix", reviewer="r", label=np.int64(1))
    final = review_status(ann, log).set_index("task")
    assert final.loc[10, "label"] == 1 and final.loc[11, "status"] == "pending"
    assert apply_decisions(ann, log).set_index("task").loc[10, "label"] == 1
