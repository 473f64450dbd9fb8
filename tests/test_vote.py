"""Tests of qa_toolkit.vote, the one vote kernel, and of the callers that now use it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import QAInputError
from qa_toolkit.aggregation import majority_vote
from qa_toolkit.datasets import load_dataset
from qa_toolkit.triage import review_queue, vote_scores
from qa_toolkit.vote import TIE_POLICIES, plurality, plurality_index, vote_counts

# task 1: b wins 2-1; task 2: a/b tie, b given first; task 3: one vote
VOTES = pd.DataFrame({"task": [1, 1, 1, 2, 2, 3], "annotator": list("abcabc"),
                      "label": ["b", "a", "b", "b", "a", "c"]})


def test_counts_are_dense_and_sorted():
    vc = vote_counts(VOTES)
    assert vc.tasks.tolist() == [1, 2, 3] and vc.labels.tolist() == ["a", "b", "c"]
    assert vc.counts.tolist() == [[1, 2, 0], [1, 1, 0], [0, 0, 1]]
    assert vc.long().values.tolist() == [[1, "b", 2], [1, "a", 1], [2, "a", 1], [2, "b", 1], [3, "c", 1]]


@pytest.mark.parametrize("ties,expected", [
    ("lowest", ["b", "a", "c"]),
    ("first", ["b", "b", "c"]),  # on task 2, 'b' is the tied label given first
    ("none", ["b", None, "c"]),
])
def test_tie_policies(ties, expected):
    out = plurality(VOTES, ties=ties)
    got = [None if pd.isna(x) else x for x in out["label"]]
    assert got == expected
    assert out["is_tie"].tolist() == [False, True, False] and out["n_tied"].tolist() == [1, 2, 1]
    assert out["count"].tolist() == [2, 1, 1] and out["n_votes"].tolist() == [3, 2, 1]


def test_all_keeps_every_tied_label():
    out = plurality(VOTES, ties="all")
    assert list(zip(out.index, out["label"])) == [(1, "b"), (2, "a"), (2, "b"), (3, "c")]
    assert out.loc[2, "is_tie"].all()


def test_random_is_seeded_and_reaches_both_tied_labels():
    picks = {plurality(VOTES, ties="random", random_state=s).loc[2, "label"] for s in range(40)}
    assert picks == {"a", "b"}
    a = plurality(VOTES, ties="random", random_state=3)
    assert a.equals(plurality(VOTES, ties="random", random_state=3))
    # untied tasks never move
    assert (plurality(VOTES, ties="random", random_state=5).loc[[1, 3], "label"] == ["b", "c"]).all()


def test_first_policy_follows_row_order_not_label_order():
    shuffled = VOTES.iloc[[0, 1, 2, 4, 3, 5]]  # now 'a' is given first on task 2
    assert plurality(shuffled, ties="first").loc[2, "label"] == "a"


def test_nan_labels_are_not_votes_and_bad_policy_is_refused():
    d = pd.concat([VOTES, pd.DataFrame({"task": [3, 3], "annotator": ["x", "y"], "label": [None, None]})])
    assert plurality(d).loc[3, "n_votes"] == 1
    with pytest.raises(QAInputError, match="'ties' parameter of plurality must be one of"):
        plurality(VOTES, ties="coin")
    with pytest.raises(QAInputError, match="needs the row order"):
        plurality_index(np.ones((1, 2)), ties="first")
    assert set(TIE_POLICIES) == {"all", "lowest", "first", "random", "none"}


@pytest.mark.parametrize("name", ["welinder2010_bluebirds", "dawid_skene_1979"])
def test_majority_vote_is_the_kernel_on_bundled_data(name):
    """majority_vote delegates to the kernel: same winners, same seeded tie breaks."""
    data = load_dataset(name).annotations
    assert majority_vote(data, tie_policy="first").tolist() == plurality(data, ties="lowest")["label"].tolist()
    for seed in (0, 1, 7):
        mv = majority_vote(data, random_state=seed)
        assert mv.tolist() == plurality(data, ties="random", random_state=seed)["label"].tolist()
    missing = majority_vote(data, tie_policy="missing")
    pl = plurality(data, ties="none")
    assert missing.isna().tolist() == pl["is_tie"].tolist()


def test_bluebirds_majority_accuracy_unchanged():
    # Welinder et al. 2010 bluebirds, 108 images: the bundled data's SOURCE.md gives majority
    # vote accuracy 0.7593 (cited in tests/test_aggregation_real.py).
    d = load_dataset("welinder2010_bluebirds")
    mv = plurality(d.annotations, ties="lowest")["label"]
    acc = float((mv == d.gold.reindex(mv.index)).mean())
    assert acc == pytest.approx(0.7593, abs=1e-3)


def test_queue_and_vote_scores_state_ties():
    q = review_queue(VOTES).set_index("task")
    assert "tie between 'a' and 'b'" in q.loc[2, "reasons"] and bool(q.loc[2, "tie"])
    assert not bool(q.loc[1, "tie"]) and "tie" not in q.loc[1, "reasons"]
    assert vote_scores(VOTES)["majority_label"].tolist() == ["b", "a", "c"]
