"""The issue-table contract on the detector side (qa_toolkit.errors).

Every detector runs on one small SYNTHETIC fixture with known errors (flipped labels,
near-duplicates labelled apart, items placed between clusters, corrupted multi-label and
span annotations, a missed box). Each output must carry ``task`` (index or column; with
``field`` where it is finer than a task), and for each issue ``is_<name>_issue`` (bool)
and ``<name>_score`` (finite, lower = worse): every flagged row scores below the median
of the unflagged rows. Then ``fused_issue_table`` must take any table that follows the
contract, whatever its issue name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qa_toolkit as qa
from qa_toolkit import QAInputError
from qa_toolkit.errors import (
    ISSUE_NAMES,
    LEGACY_COLUMNS,
    box_label_issues,
    crowdlab,
    duplicate_groups,
    embedding_clusters,
    find_label_issues,
    fused_issue_table,
    multilabel_label_issues,
    neighbour_inconsistency,
    per_task_issue,
    token_label_issues,
    whitespace_tokens,
)
from qa_toolkit.issue_tables import check_issue_table, issue_columns

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # cleanlab's few-examples notes

CLASSES = ["bird", "cat", "dog"]


@pytest.fixture(scope="module")
def crowd():
    """120 tasks in 3 embedding clusters; 10 given labels flipped; 4 near-duplicate pairs
    labelled apart; 3 items placed between clusters; 4 annotators per task, three of whom
    agree on a wrong label on 6 tasks."""
    rng = np.random.default_rng(7)
    n = 120
    truth = np.arange(n) % 3
    centres = rng.normal(size=(3, 16)) * 4
    emb = centres[truth] + rng.normal(size=(n, 16))
    for i, j in ((10, 11), (40, 41), (70, 71), (100, 101)):  # near-duplicates (same class)
        truth[j] = truth[i]
        emb[j] = emb[i] + rng.normal(scale=1e-3, size=16)
    for i in (5, 6, 7):  # far from every centre: cluster outliers
        emb[i] = 0.5 * (centres[0] + centres[1]) + rng.normal(scale=0.1, size=16) + 6 * rng.normal(size=16)
    given = truth.copy()
    flipped = np.array([3, 11, 22, 33, 41, 55, 66, 77, 88, 99])
    given[flipped] = (truth[flipped] + 1) % 3
    tasks = pd.Index([f"t{i:03d}" for i in range(n)], name="task")
    labels = pd.Series(np.array(CLASSES, dtype=object)[given], index=tasks, name="label")
    logits = 3.0 * np.eye(3)[truth] + rng.normal(scale=0.7, size=(n, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs = pd.DataFrame(p, index=tasks, columns=CLASSES)
    crowd_wrong = (12, 24, 36, 48, 60, 72)
    rows = []
    for i, t in enumerate(tasks):
        for a in ("a1", "a2", "a3", "a4"):
            lab = truth[i] if rng.random() > 0.15 else rng.integers(3)
            if a == "a1" and i in flipped:
                lab = given[i]
            if a != "a4" and i in crowd_wrong:  # three of four agree on a wrong label
                lab = (truth[i] + 2) % 3
            rows.append((t, a, CLASSES[lab]))
    long = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    emb_frame = pd.DataFrame(emb, index=tasks)
    return {"labels": labels, "probs": probs, "long": long, "emb": emb_frame, "flipped": tasks[flipped]}


def _multilabel():
    rng = np.random.default_rng(3)
    rows, probs = [], {}
    for t in range(1, 41):
        true = {"x", "y"} if t % 2 else {"z"}
        probs[t] = [0.95 if c in true else 0.05 for c in ("x", "y", "z")]
        for a in ("a", "b", "c"):
            labs = {"y", "z"} if (a == "b" and t % 8 == 0) else true  # b is wrong on 5 tasks
            rows += [(t, a, lab) for lab in sorted(labs)]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"]).assign(field="tags", kind="multilabel")
    p = pd.DataFrame.from_dict(probs, orient="index", columns=["x", "y", "z"])
    p += rng.uniform(-0.02, 0.02, size=p.shape)
    return df, p


def _tokens():
    toks = whitespace_tokens("Ann met Bob in Rome today")
    classes = ["O", "PER", "LOC"]
    gold = [1, 0, 1, 0, 2, 0]
    probs = np.full((6, 3), 0.025)
    probs[np.arange(6), gold] = 0.95
    rows = []
    for t in range(1, 9):  # annotator b misses 'Bob' on task 3
        for who in ("a", "b"):
            for s, e, lab in ((0, 3, "PER"), (8, 11, "PER"), (15, 19, "LOC")):
                if not (t == 3 and who == "b" and s == 8):
                    rows.append((t, who, lab, s, e))
    df = pd.DataFrame(rows, columns=["task", "annotator", "label", "start", "end"])
    df = df.assign(field="ner", kind="span")
    return df, {t: probs for t in range(1, 9)}, {t: toks for t in range(1, 9)}, classes


def _boxes():
    rows = [(t, w, "cat", 10, 10, 50, 50) for t in range(1, 7) for w in ("a", "b") if (t, w) != (2, "b")]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label", "x_min", "y_min", "x_max", "y_max"])
    df = df.assign(field="objects", kind="box")
    df.attrs["assignments"] = pd.DataFrame([(t, w) for t in range(1, 7) for w in ("a", "b")],
                                           columns=["task", "annotator"])
    pred = pd.DataFrame([(t, "cat", 0.97, 11, 10, 50, 49) for t in range(1, 7)],
                        columns=["task", "label", "score", "x_min", "y_min", "x_max", "y_max"])
    return df, pred


def assert_contract(table: pd.DataFrame, names: tuple[str, ...]) -> None:
    """The contract, as the tests of every detector state it."""
    assert sorted(issue_columns(table)) == sorted(names)
    finer = "task" in table.columns
    assert finer or table.index.name == "task"
    assert check_issue_table(table, func="assert_contract")["task"].notna().all()
    if finer and ("unit" in table.columns or "annotator" in table.columns):
        assert "field" in table.columns and table["field"].notna().all()
    for name in names:
        flag, score = table[f"is_{name}_issue"], table[f"{name}_score"]
        assert flag.dtype == bool, (name, flag.dtype)
        s = score.to_numpy(dtype=float)
        assert np.isfinite(s).all() and ((s >= 0) & (s <= 1)).all(), name
        f = flag.to_numpy()
        assert 0 < f.sum() < len(f), (name, f.sum())  # the fixture has errors and clean rows
        # lower = worse: every flagged row scores below the median of the unflagged rows
        assert s[f].max() < np.median(s[~f]), (name, s[f].max(), np.median(s[~f]))
        reduced = per_task_issue(table, name)
        assert reduced.index.name == "task" and reduced[f"is_{name}_issue"].sum() >= 1


def test_confident_learning_and_crowdlab(crowd):
    out = find_label_issues(crowd["labels"], crowd["probs"])
    assert_contract(out, ISSUE_NAMES["find_label_issues"])
    assert len(set(crowd["flipped"]) & set(out.index[out["is_label_issue"]])) >= 8  # of 10 flipped
    # majority-vote consensus: the 6 tasks where three of four annotators agree on a wrong
    # label get a wrong consensus, which the model contradicts
    res = crowdlab(crowd["long"], crowd["probs"], consensus_method="majority_vote")
    assert_contract(res.label_quality, ISSUE_NAMES["crowdlab"])
    assert res.label_quality["is_label_issue"].sum() >= 4


def test_typed_finders():
    df, p = _multilabel()
    ml = multilabel_label_issues(df, p)
    assert_contract(ml, ISSUE_NAMES["multilabel_label_issues"])
    bad = ml["task"].isin([8, 16, 24, 32, 40]) & (ml["annotator"] == "b")
    assert ml.loc[ml["is_label_issue"]].index.isin(ml.index[bad]).all() and ml["field"].eq("tags").all()
    assert ml.loc[bad, "label_score"].max() < ml.loc[~bad, "label_score"].min()
    df, probs, toks, classes = _tokens()
    tok = token_label_issues(df, probs, tokens=toks, classes=classes)
    assert_contract(tok, ISSUE_NAMES["token_label_issues"])
    assert tok.loc[tok["is_label_issue"], ["task", "annotator", "unit"]].values.tolist() == [[3, "b", 2]]
    df, pred = _boxes()
    box = box_label_issues(df, pred)
    assert_contract(box, ISSUE_NAMES["box_label_issues"])
    assert box.loc[box["is_label_issue"], ["task", "annotator"]].values.tolist() == [[2, "b"]]


def test_embedding_detectors(crowd):
    emb, labels = crowd["emb"], crowd["labels"]
    nb = neighbour_inconsistency(emb, labels, k=8)
    assert_contract(nb, ISSUE_NAMES["neighbour_inconsistency"])
    assert nb["is_neighbour_issue"].sum() >= 6
    dup = duplicate_groups(emb, labels=labels, threshold=0.99)
    assert_contract(dup, ISSUE_NAMES["duplicate_groups"])
    assert set(dup.index[dup["is_duplicate_issue"]]) == {"t010", "t011", "t040", "t041"}
    cl = embedding_clusters(emb, labels, n_clusters=3, random_state=0)
    assert_contract(cl.items, ISSUE_NAMES["embedding_clusters"])
    assert {"t005", "t006", "t007"} <= set(cl.items.index[cl.items["is_cluster_outlier_issue"]])


def test_fused_table_follows_the_contract(crowd):
    fused = fused_issue_table(crowd["labels"], annotations=crowd["long"], pred_probs=crowd["probs"],
                              embeddings=crowd["emb"], duplicate_threshold=0.99)
    assert_contract(fused, ISSUE_NAMES["fused_issue_table"])
    # the signal columns inside the fused table do not pose as issues of their own
    assert issue_columns(fused) == ["fused"]
    assert set(crowd["flipped"]) <= set(fused.index[fused["is_fused_issue"]])


def test_legacy_columns_repeat_the_contract_columns(crowd):
    out = find_label_issues(crowd["labels"], crowd["probs"])
    dup = duplicate_groups(crowd["emb"], labels=crowd["labels"], threshold=0.99)
    for table in (out, dup):
        for old, new in LEGACY_COLUMNS.items():
            if old in table.columns:
                assert table[old].equals(table[new])


def test_fused_issue_table_consumes_any_contract_table(crowd):
    labels = crowd["labels"]
    # a user's own check with a name no detector uses, per annotation (finer than a task)
    own = pd.DataFrame({"task": np.repeat(labels.index[:20], 2), "annotator": ["a1", "a2"] * 20,
                        "field": "label"})
    own["speed_score"] = 0.9
    own["is_speed_issue"] = False
    own.loc[[0, 3], ["speed_score", "is_speed_issue"]] = [[0.01, True], [0.02, True]]
    # a per-task table with a made-up name, indexed by task
    spam = pd.DataFrame({"spam_score": 0.8, "is_spam_issue": False}, index=labels.index[:50])
    spam.loc["t045", ["spam_score", "is_spam_issue"]] = [0.0, True]
    fused = fused_issue_table(labels, vote_counts=qa.to_counts(crowd["long"]), issues=[own, spam])
    assert {"speed_score", "spam_score"} <= set(fused.columns)
    flagged = set(fused.index[fused["is_fused_issue"]])
    assert {"t000", "t001", "t045"} <= flagged
    assert fused.loc["t000", "speed_score"] == 0.01 and pd.isna(fused.loc["t060", "speed_score"])
    assert "speed: 1 of 2 annotations flagged, lowest score 0.01" in fused.loc["t000", "reasons"]
    assert "spam: flagged, score 0" in fused.loc["t045", "reasons"]
    # without labels: the items are the tasks of the tables; typed per-annotation tables fuse
    df, p = _multilabel()
    ml = multilabel_label_issues(df, p)
    only = fused_issue_table(issues={"tags": ml})
    assert only.index.name == "task" and len(only) == 40 and "given_label" not in only.columns
    assert set(only.index[only["is_fused_issue"]]) == set(ml.loc[ml["is_label_issue"], "task"])
    assert only["fused_score"].loc[[8, 16, 24, 32, 40]].max() < only["fused_score"].median()
    assert only["tags_score"].loc[8] == ml.loc[ml["task"] == 8, "label_score"].min()
    # a detector table is read by its issue name like any other
    cl = find_label_issues(labels, crowd["probs"])
    both = fused_issue_table(labels, issues=cl)
    assert both["is_fused_issue"].equals(both["label_score"].index.to_series().map(cl["is_label_issue"]))


def test_fused_issue_table_refuses_what_it_cannot_read(crowd):
    labels = crowd["labels"]
    no_pair = pd.DataFrame({"x_score": [0.1]}, index=pd.Index(["t000"], name="task"))
    with pytest.raises(QAInputError, match=r"fused_issue_table does not follow the issue contract.*no complete pair"):
        fused_issue_table(labels, issues=no_pair)
    no_task = pd.DataFrame({"x_score": [0.1], "is_x_issue": [True]}, index=pd.Index(["t000"], name="item"))
    with pytest.raises(QAInputError, match=r"no 'task' column or index"):
        fused_issue_table(labels, issues=no_task)
    fused = fused_issue_table(labels, issues=no_task.rename_axis("task"))
    with pytest.raises(QAInputError, match=r"signal name 'fused' .* is the fused table's own"):
        fused_issue_table(labels, issues=fused)
    again = fused_issue_table(labels, issues={"previous": fused})  # a fused table is read by its pair
    assert "previous_score" in again.columns and bool(again.loc["t000", "is_fused_issue"])
    nan_score = pd.DataFrame({"x_score": [np.nan], "is_x_issue": [True]}, index=pd.Index(["t000"], name="task"))
    with pytest.raises(QAInputError, match=r"'x_score' .* must be finite"):
        fused_issue_table(labels, issues=nan_score)
    nb = neighbour_inconsistency(crowd["emb"], labels, k=5)
    with pytest.raises(QAInputError, match=r"signal 'neighbour' reaches fused_issue_table twice"):
        fused_issue_table(labels, embeddings=crowd["emb"], issues=nb)
    cl = find_label_issues(labels, crowd["probs"])
    with pytest.raises(QAInputError, match=r"both carry the signal 'label'"):
        fused_issue_table(labels, issues=[cl, cl])
    other_ids = pd.DataFrame({"x_score": [0.1], "is_x_issue": [True]}, index=pd.Index([0], name="task"))
    with pytest.raises(QAInputError, match=r"signal 'x' given to fused_issue_table names no task of 'labels'"):
        fused_issue_table(labels, issues=other_ids)
    with pytest.raises(QAInputError, match=r"'labels' parameter of fused_issue_table is needed"):
        fused_issue_table(pred_probs=crowd["probs"], issues=cl)
