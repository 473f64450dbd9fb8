"""Property tests: replay is deterministic and a decision followed by its undo changes nothing."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_toolkit.review import apply_decisions, review_status

TASKS = [1, 2, 3, 4, 5]
_decision = st.fixed_dictionaries({
    "task": st.sampled_from(TASKS),
    "decision": st.sampled_from(["accept", "fix", "reject", "skip", "undo"]),
    "label_after": st.sampled_from(["cat", "dog", "bird"]),
    "reason": st.just("ambiguous"),
    "timestamp": st.just("2026-11-23T04:00:00+00:00"),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_decision, max_size=25), extra=_decision)
def test_replay_deterministic_and_undo_cancels(toy_annotations, ops, extra):
    log = pd.DataFrame(ops, columns=["task", "decision", "label_after", "reason", "timestamp"])
    first = apply_decisions(toy_annotations, log)
    pd.testing.assert_frame_equal(first, apply_decisions(toy_annotations, log.copy()))
    if extra["decision"] != "undo":
        undo = dict(extra, decision="undo")
        longer = pd.DataFrame([*ops, extra, undo], columns=log.columns)
        pd.testing.assert_frame_equal(first, apply_decisions(toy_annotations, longer))
    # every task has a status, labels come from review only for accepted/fixed tasks, and the
    # adjudicated table holds exactly the tasks with a label that were not rejected
    status = review_status(toy_annotations, log)
    assert status["task"].tolist() == TASKS
    assert set(status.loc[status["label_source"] == "review", "status"]) <= {"accepted", "fixed"}
    kept = status.loc[(status["status"] != "rejected") & status["label"].notna(), "task"].tolist()
    assert first["task"].tolist() == kept
