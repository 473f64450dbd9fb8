"""Issue 14, fourth pass: the audit's faster paths give the outputs of the direct computations.

- majority votes read from the audit's shared coding equal ``majority_vote`` (values, index,
  name, tie draws), for text, categorical and integer labels, with ties and every tie policy;
- CSV text cells are neutralised the same way when an Arrow scan finds no formula trigger;
- the review queue is in ``rank_for_review`` order of its own priorities (exploration too);
- the pairwise heatmap names only as many annotators as fit, every k-th in order;
- the report written by ``qa-toolkit audit`` holds exactly the per-function results.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from qa_toolkit.aggregation import majority_vote  # noqa: E402
from qa_toolkit.agreement import agreement_report, pairwise  # noqa: E402
from qa_toolkit.cli import main  # noqa: E402
from qa_toolkit.engines.coding import shared_coding  # noqa: E402
from qa_toolkit.io import read_annotations  # noqa: E402
from qa_toolkit.report.core import neutralise_formulas, write_csv  # noqa: E402
from qa_toolkit.report.votes import audit_majority_vote, codes_as_majority_vote  # noqa: E402
from qa_toolkit.triage import rank_for_review, review_queue  # noqa: E402


def _crowd(n_tasks: int, *, seed: int = 0, k: int = 3, n_ann: int = 8, per_task: int = 4) -> pd.DataFrame:
    """Few labels and few annotators per task: many ties."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_tasks)
    rows = []
    for t in range(n_tasks):
        for a in rng.choice(n_ann, per_task, replace=False):
            lab = truth[t] if rng.random() < 0.6 else rng.integers(0, k)
            rows.append((t * 3 + 7, f"w{a:02d}", f"c{lab}"))
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


def _variants(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "text": df,
        "categorical": df.assign(label=df["label"].astype("category"), annotator=df["annotator"].astype("category")),
        "integer": df.assign(label=df["label"].str[1:].astype(int), task=df["task"] // 3 - 2),
        "shuffled": df.sample(frac=1.0, random_state=3),
        "file_order": df.assign(label=pd.Categorical(df["label"], categories=["c2", "c0", "c1"])),  # as read_annotations
    }


@pytest.mark.parametrize("variant", ["text", "categorical", "integer", "shuffled", "file_order"])
@pytest.mark.parametrize("policy", ["random", "first", "missing"])
def test_audit_majority_vote_equals_majority_vote(variant, policy):
    df = _variants(_crowd(300, per_task=2))[variant]  # two labels per task: a third of the tasks tie
    assert codes_as_majority_vote(df)
    with shared_coding():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            agreement_report(df, n_boot=5, random_state=0)  # the Agreement section codes the table first
        for seed in (0, 1, 12):
            got = audit_majority_vote(df, tie_policy=policy, random_state=seed)
            pd.testing.assert_series_equal(got, majority_vote(df, tie_policy=policy, random_state=seed))
    # outside the audit's block the table is coded on the spot: the same Series
    pd.testing.assert_series_equal(audit_majority_vote(df, tie_policy=policy, random_state=5),
                                   majority_vote(df, tie_policy=policy, random_state=5))


def test_audit_majority_vote_hands_other_tables_to_majority_vote():
    df = _crowd(50)
    repeated = pd.concat([df, df.iloc[:3]], ignore_index=True)  # a (task, annotator) pair twice: still votes
    ordered = df.assign(label=pd.Categorical(df["label"], categories=["c2", "c1", "c0", "unused"], ordered=True))
    for table in (repeated, ordered):
        assert not codes_as_majority_vote(table)
        pd.testing.assert_series_equal(audit_majority_vote(table, random_state=1), majority_vote(table, random_state=1))
    missing = df.assign(label=df["label"].where(df.index != 4))
    assert not codes_as_majority_vote(missing)
    with pytest.raises(ValueError, match="missing"):
        audit_majority_vote(missing)  # majority_vote's own error
    with pytest.raises(ValueError, match="tie_policy"):
        audit_majority_vote(df, tie_policy="coin")


def test_neutralise_reads_arrow_text_once_and_changes_only_triggers(tmp_path):
    n = 60_000  # above FAST_CSV_ROWS: the pyarrow writer
    clean = pd.DataFrame({"reasons": pd.array(["split 2/1", "only 1 label", ""] * (n // 3), dtype="str"),
                          "x": np.arange(n, dtype=float)})
    out = neutralise_formulas(clean)
    pd.testing.assert_frame_equal(out, clean, check_column_type=False)  # the column names become object
    risky = clean.copy()
    risky.loc[[5, 7], "reasons"] = ["=HYPERLINK(1)", "-2.5"]  # a formula and a number
    got = neutralise_formulas(risky)
    assert got.loc[5, "reasons"] == "'=HYPERLINK(1)" and got.loc[7, "reasons"] == "-2.5"
    assert (got["reasons"].drop([5]) == risky["reasons"].drop([5])).all()
    # the bytes written are those of the object-dtype table, cell by cell neutralised
    as_object = risky.astype({"reasons": object})
    as_object["reasons"] = [("'" + v) if v.startswith("=") else v for v in as_object["reasons"]]
    write_csv(risky, tmp_path / "a.csv")
    write_csv(as_object, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


@pytest.mark.parametrize("explore", [0.0, 0.3])
def test_review_queue_is_in_rank_order_of_its_priorities(explore):
    df = _crowd(400, seed=2)
    q = review_queue(df, explore=explore, random_state=4)
    ranked = rank_for_review(q.set_index("task")["priority"].sort_index(), explore=explore, random_state=4)
    assert q["task"].tolist() == ranked["task"].tolist()
    assert q["rank"].tolist() == list(range(1, len(q) + 1))
    assert q["explored"].tolist() == ranked["explored"].tolist()
    assert list(q.columns[:4]) == ["task", "rank", "priority", "reasons"] and q.columns[-1] == "explored"
    assert isinstance(q.index, pd.RangeIndex)


def test_heatmap_names_every_kth_annotator_when_they_would_overlap():
    import matplotlib.pyplot as plt

    from qa_toolkit.plotting.agreement import plot_pairwise_heatmap

    df = _crowd(2000, n_ann=50, per_task=5, seed=1)
    pairs = pairwise(df, min_overlap=10)
    fig, (ax_small, ax_big) = plt.subplots(1, 2, figsize=(12, 6))
    plot_pairwise_heatmap(df, ax=ax_small, pairs=pairs, annotate=False)
    names = sorted(set(pairs["annotator_a"]) | set(pairs["annotator_b"]))
    shown = [t.get_text() for t in ax_small.get_yticklabels()]
    assert 1 < len(shown) < len(names)  # 50 names do not fit a 6-inch panel: every k-th
    step = names.index(shown[1])
    assert shown == names[::step] and np.allclose(ax_small.get_yticks(), np.arange(0, len(names), step) + 0.5)
    assert [t.get_text() for t in ax_small.get_xticklabels()] == shown
    plt.close(fig)
    few = _crowd(200, n_ann=6)
    ax = plot_pairwise_heatmap(few, min_overlap=1)
    assert [t.get_text() for t in ax.get_yticklabels()] == sorted(few["annotator"].unique())  # all when they fit
    plt.close(ax.figure)


def test_audit_tables_equal_the_functions(tmp_path):
    """The CSVs of a whole audit hold the per-function results (votes, queue)."""
    df = _crowd(600, seed=5)
    src = tmp_path / "crowd.parquet"
    df.to_parquet(src, index=False)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["audit", str(src), "--out", str(out), "--n-boot", "20"]) == 0
    back = read_annotations(src)  # the audit's table (categoricals in the file's order)
    truth = pd.read_csv(out / "truth_inference__truth_inference.csv", index_col=0)
    mv = majority_vote(back, random_state=0)
    tied = majority_vote(back, tie_policy="missing").isna()
    assert truth["majority_vote"].tolist() == mv.reindex(truth.index).tolist()
    assert truth["majority_tie"].tolist() == tied.reindex(truth.index).tolist()
    issues = pd.read_csv(out / "label_issues__label_issues.csv")
    given = majority_vote(back, tie_policy="first").rename("given_label")
    assert issues.set_index("task")["given_label"].sort_index().tolist() == given.sort_index().tolist()
    queue = pd.read_csv(out / "triage__review_queue.csv")
    assert queue["rank"].tolist() == list(range(1, len(queue) + 1))
    assert queue["priority"].is_monotonic_decreasing
    assert set(queue["task"]) == set(back["task"])
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64") >= 4
    assert Path(out / "agreement__agreement_pairwise.csv").exists()


@pytest.mark.parametrize("variant", ["text", "categorical", "integer", "shuffled", "file_order", "missing"])
def test_overview_counts_equal_pandas_groupbys(variant):
    from qa_toolkit.overview import (
        annotator_overview,
        data_issues,
        label_overview,
        summary,
        task_overview,
    )

    df = _variants(_crowd(300, n_ann=10))["text" if variant == "missing" else variant]
    if variant == "missing":  # missing annotators and labels, text task ids
        df = df.assign(task=df["task"].astype(str), annotator=df["annotator"].where(df.index % 17 != 3),
                       label=df["label"].where(df.index % 13 != 5))
    s = summary(df)
    assert s["n_tasks"] == df["task"].nunique() and s["n_annotators"] == df["annotator"].nunique()
    per_task = df.groupby("task")["annotator"].nunique()
    assert s["share_tasks_multi_annotated"] == pytest.approx((per_task >= 2).mean())
    tasks = task_overview(df)
    assert tasks.index.tolist() == sorted(df["task"].unique())
    assert tasks["n_annotators"].tolist() == per_task.reindex(tasks.index).tolist()
    assert tasks["n_distinct_labels"].tolist() == df.groupby("task")["label"].nunique().reindex(tasks.index).tolist()
    ann = annotator_overview(df)
    g = df.dropna(subset=["annotator"]).groupby("annotator", observed=True)
    assert ann["n_tasks"].to_dict() == g["task"].nunique().to_dict()
    assert ann["share_of_tasks"].to_dict() == pytest.approx((g["task"].nunique() / df["task"].nunique()).to_dict())
    labels = label_overview(df)
    gl = df.dropna(subset=["label"]).groupby("label", observed=True)
    assert labels["n_tasks"].to_dict() == gl["task"].nunique().to_dict()
    assert labels["n_annotators"].to_dict() == gl["annotator"].nunique().to_dict()
    issues = data_issues(df)
    single = issues[issues["issue"] == "single_annotator_task"]
    first_rows = df.reset_index(drop=True).groupby("task", sort=False).head(1)
    expected = first_rows[first_rows["task"].map(per_task) < 2].index.tolist() if (per_task >= 2).any() else []
    assert single["row"].tolist() == expected


def _reference_vote_table(data: pd.DataFrame) -> pd.DataFrame:
    """vote_table as written before issue 14's fourth pass (through the tidy counts)."""
    from qa_toolkit.vote import plurality_index, vote_counts

    vc = vote_counts(data)
    c = vc.counts.astype(float)
    idx, n_tied = plurality_index(vc.counts, ties="lowest")
    n = c.sum(axis=1)
    out = pd.DataFrame({"n_labels": vc.counts.sum(axis=1)}, index=vc.tasks)
    out["majority_label"] = vc.labels.take(np.maximum(idx, 0))
    out["majority_count"] = vc.counts.max(axis=1)
    out["n_tied"] = n_tied
    out["is_tie"] = n_tied > 1
    counts = vc.long()
    second = counts[counts.groupby("task", sort=False).cumcount().to_numpy() == 1].set_index("task")
    out["runner_up"] = second["label"].astype(object).reindex(out.index)
    out["runner_up_count"] = second["n"].reindex(out.index).fillna(0).astype(int)
    out["n_distinct"] = (vc.counts > 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["agreement"] = np.where(n > 1, (c * (c - 1)).sum(axis=1) / (n * (n - 1)), np.nan)
        share = c / n[:, None]
        out["vote_entropy"] = -np.where(c > 0, share * np.log(np.where(c > 0, share, 1.0)), 0.0).sum(axis=1) \
            / np.log(max(2, len(vc.labels)))
    labels, split = [], []
    for _, g in counts.groupby("task", sort=True):
        labels.append(", ".join(f"{lab}:{k}" for lab, k in zip(g["label"].astype(str), g["n"])))
        split.append("/".join(str(k) for k in g["n"]))
    out["labels"], out["split"] = np.array(labels, dtype=object), np.array(split, dtype=object)
    return out


@pytest.mark.parametrize("variant", ["text", "categorical", "integer", "shuffled", "file_order", "one_label",
                                     "unused_category", "missing_label", "many_labels"])
def test_vote_table_equals_the_tidy_count_computation(variant):
    from qa_toolkit.triage.scores import vote_table

    base = _crowd(250, seed=7)
    if variant == "one_label":
        df = base.assign(label="same")
    elif variant == "unused_category":
        df = base.assign(label=pd.Categorical(base["label"], categories=["c1", "zz", "c0", "c2"]))
    elif variant == "missing_label":
        df = base.assign(label=base["label"].where(base.index % 7 != 2))
    elif variant == "many_labels":
        df = _crowd(250, seed=8, k=12, n_ann=12, per_task=7)
    else:
        df = _variants(base)[variant]
    pd.testing.assert_frame_equal(vote_table(df), _reference_vote_table(df))


def test_figure_to_html_lays_out_once_and_keeps_a_figures_own_engine():
    import base64
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from qa_toolkit.report.core import figure_to_html

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_ylabel("a long label that a default layout would cut " * 2)
    html = figure_to_html(fig)
    png = base64.b64decode(html.split("base64,", 1)[1].rstrip("'/>"))
    assert Image.open(io.BytesIO(png)).size == (400, 300)  # the figure's size: no second, cropping draw
    assert fig.subplotpars.left > 0.125  # tight layout made room for the label
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    fig.colorbar(ax.pcolormesh(np.arange(4.0).reshape(2, 2)), ax=ax)  # constrained + colorbar: no engine switch
    assert figure_to_html(fig).startswith("<img")
    assert not plt.get_fignums() or fig.number not in plt.get_fignums()  # closed


def test_audit_majority_vote_refuses_regions_as_majority_vote_does():
    """One box per (task, annotator) has no repeated pairs, so the shared-coding path would
    take it: the vote still refuses a region field, naming its kind, as majority_vote does."""
    from qa_toolkit import AnnotationFormatError
    from qa_toolkit.aggregation import majority_vote
    from qa_toolkit.report.votes import audit_majority_vote

    boxes = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "label": ["car"] * 4,
                          "x_min": [0, 1, 0, 1], "y_min": [0, 1, 0, 1], "x_max": [4, 5, 4, 5], "y_max": [4, 5, 4, 5]})
    for fn in (majority_vote, audit_majority_vote):
        with pytest.raises(AnnotationFormatError, match="kind 'box'"):
            fn(boxes)
