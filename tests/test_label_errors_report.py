"""The audit report's label-issues section and the label-error plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import QAInputError
from qa_toolkit.errors.fusion import fused_issue_table
from qa_toolkit.plotting.label_errors import plot_issue_signals, plot_precision_at_k
from qa_toolkit.report.core import AuditContext, Section
from qa_toolkit.report.label_issues_section import build_section


def _probs(tasks, classes, rng):
    p = rng.dirichlet(np.ones(len(classes)), len(tasks))
    return pd.DataFrame(p, index=pd.Index(tasks, name="task"), columns=classes)


def test_section_human_only(toy_annotations):
    sec = build_section(AuditContext(annotations=toy_annotations))
    assert isinstance(sec, Section) and sec.title == "Label issues"
    t = sec.tables["label_issues"]
    assert len(t) == 5 and "ds_posterior" in t.columns and "crowdlab_annotators" not in sec.tables
    assert "Review queue" in sec.html


def test_section_with_model_and_embeddings(toy_annotations, rng):
    probs = _probs([1, 2, 3, 4, 5], ["bird", "cat", "dog"], rng)
    emb = rng.normal(size=(5, 4))
    sec = build_section(AuditContext(annotations=toy_annotations, pred_probs=probs, embeddings=emb))
    t = sec.tables["label_issues"]
    assert {"label_quality", "neighbour_score"} <= set(t.columns)
    assert set(sec.tables["crowdlab_annotators"].index) == set("abcde")
    assert "data:image/png;base64" in sec.html


def test_section_skips_single_annotator_and_regions(toy_annotations):
    one = toy_annotations[toy_annotations["annotator"] == "a"]
    assert build_section(AuditContext(annotations=one)) is None
    regions = pd.concat([toy_annotations, toy_annotations.iloc[:2]])
    assert build_section(AuditContext(annotations=regions)) is None


def test_plots(rng):
    labels = pd.Series(["a", "b", "a", "b"] * 5, index=pd.Index(range(20), name="task"))
    votes = pd.DataFrame({"a": rng.integers(0, 5, 20), "b": rng.integers(0, 5, 20)}, index=labels.index)
    votes.iloc[0] = [1, 1]
    fused = fused_issue_table(labels, vote_counts=votes, pred_probs=_probs(range(20), ["a", "b"], rng))
    ax = plot_issue_signals(fused)
    n_points = sum(len(c.get_offsets()) for c in ax.collections)
    assert n_points == 20 and ax.get_ylabel() == "label_quality"
    with pytest.raises(QAInputError, match="'x' parameter of plot_issue_signals"):
        plot_issue_signals(fused, x="nope")
    y = np.array([True, False, True, False])
    ax = plot_precision_at_k(y, {"perfect": [4, 1, 3, 2], "worst": [1, 4, 2, 3]}, k_max=4)
    perfect, worst = ax.get_lines()[0].get_ydata(), ax.get_lines()[1].get_ydata()
    np.testing.assert_allclose(perfect, [1, 1, 2 / 3, 0.5])
    np.testing.assert_allclose(worst, [0, 0, 1 / 3, 0.5])


def test_section_aligns_csv_read_probabilities(toy_annotations, rng):
    """Probabilities read from CSV name classes and tasks as text; the section matches them."""
    codes = {"bird": 0, "cat": 1, "dog": 2}
    df = toy_annotations.assign(label=toy_annotations["label"].map(codes))
    probs = _probs(["1", "2", "3", "4", "5"], ["0", "1", "2"], rng)
    sec = build_section(AuditContext(annotations=df, pred_probs=probs))
    assert "label_quality" in sec.tables["label_issues"].columns
    assert set(sec.tables["crowdlab_tasks"]["consensus_label"]) <= {0, 1, 2}
    unrelated = _probs([1, 2, 3, 4, 5], ["x", "y", "z"], rng)
    sec = build_section(AuditContext(annotations=df, pred_probs=unrelated))
    assert "label_quality" not in sec.tables["label_issues"].columns
    assert "do not name the labels" in sec.html
