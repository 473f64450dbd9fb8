"""First-look overview tables, the HTML audit report and the ``qa-toolkit`` console script."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from qa_toolkit.cli import main
from qa_toolkit.datasets import load_dataset
from qa_toolkit.overview import (
    annotator_overview,
    data_issues,
    label_overview,
    summary,
    task_overview,
)


def test_summary_counts(toy_annotations):
    s = summary(toy_annotations)
    assert (s["n_rows"], s["n_tasks"], s["n_annotators"], s["n_labels"]) == (24, 5, 5, 3)
    assert s["mean_annotators_per_task"] == pytest.approx(24 / 5)
    assert s["share_tasks_multi_annotated"] == 1.0


def test_task_and_annotator_overview(toy_annotations):
    t = task_overview(toy_annotations)
    assert t.loc[2, "unanimous"] and not t.loc[1, "unanimous"]
    assert t.loc[3, "n_annotators"] == 4
    a = annotator_overview(toy_annotations)
    assert a.loc["e", "n_tasks"] == 4 and a.loc["a", "share_of_tasks"] == 1.0
    assert label_overview(toy_annotations)["n_rows"].sum() == 24


def test_data_issues_finds_missing_duplicates_and_singletons():
    df = pd.DataFrame(
        {"task": [1, 1, 1, 2, 3, 3], "annotator": ["a", "a", "b", "a", "a", "b"], "label": ["x", "x", None, "y", "x", "x"]}
    )
    issues = data_issues(df)
    assert sorted(issues["issue"]) == ["duplicate_row", "missing_label", "single_annotator_task"]
    assert issues.set_index("issue").loc["single_annotator_task", "task"] == 2


def test_overview_rejects_wrong_columns():
    with pytest.raises(ValueError, match="annotator"):
        summary(pd.DataFrame({"task": [1], "label": ["x"]}))


def test_audit_on_bundled_dataset_writes_html_and_csv(tmp_path, capsys):
    rc = main(["audit", "dataset:welinder2010_bluebirds", "--out", str(tmp_path)])
    assert rc == 0
    html = (tmp_path / "index.html").read_text()
    assert "Overview" in html and "<img" in html
    ann = pd.read_csv(tmp_path / "overview__annotators.csv", index_col=0)
    assert len(ann) == 39 and (ann["n_tasks"] == 108).all()
    summary_csv = pd.read_csv(tmp_path / "overview__summary.csv", index_col=0)["value"]
    assert int(summary_csv["n_tasks"]) == 108
    assert str(tmp_path / "index.html") in capsys.readouterr().out


def test_audit_keeps_unrelated_files(tmp_path):
    keep = tmp_path / "my_notes.txt"
    keep.write_text("mine")
    assert main(["audit", "dataset:dawid_skene_1979", "--out", str(tmp_path)]) == 0
    assert keep.read_text() == "mine"


def test_audit_bad_input_exit_code_and_message(tmp_path, capsys):
    assert main(["audit", "dataset:nope", "--out", str(tmp_path)]) == 2
    assert "Unknown dataset 'nope'" in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "missing.json"), "--out", str(tmp_path)]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_audit_reads_a_csv_file(tmp_path):
    src = tmp_path / "labels.csv"
    load_dataset("fleiss1971_diagnoses").annotations[["task", "annotator", "label"]].to_csv(src, index=False)
    assert main(["audit", str(src), "--out", str(tmp_path / "out")]) == 0
    ann = pd.read_csv(tmp_path / "out" / "overview__annotators.csv", index_col=0)
    assert len(ann) == 6


def test_console_script_is_installed():
    out = subprocess.run(
        [sys.executable, "-m", "qa_toolkit.cli", "datasets"], capture_output=True, text=True, check=True
    ).stdout
    assert "welinder2010_bluebirds" in out
