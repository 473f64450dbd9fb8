"""The exact ``qa-toolkit audit`` contract (issue #10): exit 0 done and gate passed, 1 gate
failed, 2 bad input with ONE error line on stderr (printed last, naming the file, field or
parameter), 3 internal error; ``--columns``; CSV cells that cannot run as formulas."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pandas as pd
import pytest

from qa_toolkit.cli import main
from qa_toolkit.report.core import neutralise_formulas, write_csv
from qa_toolkit.review import DecisionLog


@pytest.fixture
def files(tmp_path, toy_annotations):
    """A small long table and side files, some of them broken, in ``tmp_path``."""
    ann = toy_annotations.copy()
    (tmp_path / "ann.csv").write_text(ann.to_csv(index=False))
    (tmp_path / "renamed.csv").write_text(ann.rename(columns={"task": "item", "annotator": "worker",
                                                              "label": "answer"}).to_csv(index=False))
    (tmp_path / "invalid_rows.csv").write_text("task,annotator,label\n,,\n,,\n")
    (tmp_path / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "nested_obj.json").write_text('{"annotations": ' * 50_000 + "1" + "}" * 50_000)
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "gold_ok.csv").write_text("task,label\n1,cat\n2,dog\n")
    (tmp_path / "gold_unknown.csv").write_text("task,label\n1,cat\n99,dog\n007,cat\n")
    probs = "task,bird,cat,dog\n" + "".join(f"{t},0.1,0.6,0.3\n" for t in range(1, 6))
    (tmp_path / "probs_ok.csv").write_text(probs)
    (tmp_path / "probs_negative.csv").write_text(probs.replace("2,0.1,0.6,0.3", "2,-0.1,0.8,0.3"))
    (tmp_path / "probs_nan.csv").write_text(probs.replace("3,0.1,0.6,0.3", "3,,0.6,0.3"))
    (tmp_path / "probs_above_one.csv").write_text(probs.replace("4,0.1,0.6,0.3", "4,0.1,1.6,0.3"))
    (tmp_path / "probs_unnormalised.csv").write_text(probs.replace("5,0.1,0.6,0.3", "5,0.1,0.2,0.3"))
    (tmp_path / "deep.yaml").write_text("checks: " + "[" * 20_000 + "]" * 20_000 + "\n")
    (tmp_path / "gate_pass.yaml").write_text("checks:\n  missing_label_rate: {max: 0.0}\n")
    (tmp_path / "gate_fail.yaml").write_text("checks:\n  class_balance: {min: 0.45}\n")
    other = ann.assign(label="cat")
    with DecisionLog(tmp_path / "log_other.jsonl", annotations=other.astype({"task": str})) as log:
        log.append("1", "accept", reviewer="r")
    with DecisionLog(tmp_path / "log_garbage.jsonl", annotations=ann.astype({"task": str})) as log:
        log.append("1", "accept", reviewer="r")
    with open(tmp_path / "log_garbage.jsonl", "a") as f:
        f.write("<<<<<<< HEAD\n")
    with DecisionLog(tmp_path / "log_deep.jsonl", annotations=ann.astype({"task": str})) as log:
        log.append("1", "accept", reviewer="r")
    with open(tmp_path / "log_deep.jsonl", "a") as f:
        f.write('{"seq": 2, "task": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    return tmp_path


# case: (argv after `audit`, text the one error line must contain)
BAD_INPUT = {
    "deeply nested JSON list": (["nested.json"], ["nested.json", "nested too deeply"]),
    "deeply nested JSON object": (["nested_obj.json"], ["nested_obj.json", "nested too deeply"]),
    "--out names an existing file": (["ann.csv", "--out", "a_file"], ["--out", "a_file", "is an existing file"]),
    "table with 0 valid rows": (["invalid_rows.csv"], ["invalid_rows.csv", "no valid annotation rows"]),
    "decision log for other annotations": (["ann.csv", "--decision-log", "log_other.jsonl"],
                                           ["log_other.jsonl", "written for other annotations"]),
    "decision log with garbage lines": (["ann.csv", "--decision-log", "log_garbage.jsonl"],
                                        ["log_garbage.jsonl", "line 3", "not JSON"]),
    "pred-probs with a negative value": (["ann.csv", "--pred-probs", "probs_negative.csv"],
                                         ["--pred-probs", "probs_negative.csv", "negative", "'bird'", "task '2'"]),
    "pred-probs with NaN": (["ann.csv", "--pred-probs", "probs_nan.csv"],
                            ["--pred-probs", "probs_nan.csv", "NaN", "'bird'", "task '3'"]),
    "decision log with a deeply nested line": (["ann.csv", "--decision-log", "log_deep.jsonl"],
                                               ["log_deep.jsonl", "line 3", "nested too deeply"]),
    "deeply nested gate config": (["ann.csv", "--gate", "deep.yaml"], ["--gate", "deep.yaml", "nested too deeply"]),
    "pred-probs above 1": (["ann.csv", "--pred-probs", "probs_above_one.csv"], ["probs_above_one.csv", "above 1"]),
    "pred-probs rows not summing to 1": (["ann.csv", "--pred-probs", "probs_unnormalised.csv"],
                                         ["probs_unnormalised.csv", "do not sum to 1", "task '5'"]),
    "gold tasks not in the annotations": (["ann.csv", "--gold", "gold_unknown.csv"],
                                          ["--gold", "gold_unknown.csv", "field 'task'", "'99'", "'007'"]),
    "missing input file": (["nope.csv"], ["nope.csv", "not found"]),
    "missing --gold file": (["ann.csv", "--gold", "nope.csv"], ["--gold", "nope.csv"]),
    "missing --decision-log file": (["ann.csv", "--decision-log", "nope.jsonl"], ["--decision-log", "nope.jsonl"]),
    "--columns with an unknown key": (["renamed.csv", "--columns", "tsk=item"], ["--columns", "'tsk=item'"]),
    "--columns naming a missing column": (["renamed.csv", "--columns", "task=id,annotator=worker,label=answer"],
                                          ["renamed.csv", "'id'"]),
    "renamed columns without --columns": (["renamed.csv", "--format", "table"],
                                          ["renamed.csv", "--columns task=COL,annotator=COL,label=COL"]),
    "no --out": (["ann.csv"], ["--out", "required"]),
}


def _audit(files, argv, capsys, *, out="out"):
    argv = [str(files / a) if (files / a).exists() or a.startswith(("nope", "a_file")) else a for a in argv]
    if "--out" not in argv:
        argv = [*argv, "--out", str(files / out)]
    rc = main(["audit", *argv])
    cap = capsys.readouterr()
    return rc, cap.err.strip().splitlines(), cap.out


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_exits_2_with_one_error_line_last(case, files, capsys):
    argv, must = BAD_INPUT[case]
    if case == "no --out":
        rc = main(["audit", str(files / "ann.csv")])
        cap = capsys.readouterr()
        err = cap.err.strip().splitlines()
    else:
        rc, err, _ = _audit(files, argv, capsys)
    assert rc == 2, err
    errors = [line for line in err if line.startswith("qa-toolkit: error:")]
    assert len(errors) == 1 and err[-1] == errors[0], err  # one error line, printed last
    for text in must:
        assert text in errors[0], (text, errors[0])
    assert "Traceback" not in "\n".join(err)
    assert not (files / "out" / "index.html").exists()  # nothing was reported as done


def test_out_file_is_refused_before_the_analysis(files, capsys):
    rc, err, _ = _audit(files, ["ann.csv", "--out", "a_file"], capsys)
    assert rc == 2 and err == [f"qa-toolkit: error: --out: {files / 'a_file'} is an existing file, not a folder; "
                               "name a folder for the report"]  # not even the 'reading' progress line
    assert (files / "a_file").read_text() == "not a folder"


def test_console_script_nested_json_one_line(files):
    proc = subprocess.run([sys.executable, "-m", "qa_toolkit.cli", "audit", str(files / "nested.json"),
                           "--out", str(files / "out")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("qa-toolkit: error:") and "nested.json" in last and "Traceback" not in proc.stderr


def test_exit_0_when_done_and_gate_passed_1_when_gate_failed(files, capsys):
    rc, err, out = _audit(files, ["ann.csv", "--gate", "gate_pass.yaml", "--gold", "gold_ok.csv",
                                  "--pred-probs", "probs_ok.csv"], capsys)
    assert rc == 0, err
    assert out.strip().endswith("index.html") and not any("error" in line for line in err)
    rc, err, _ = _audit(files, ["ann.csv", "--gate", "gate_fail.yaml"], capsys, out="out2")
    assert rc == 1, err
    assert (files / "out2" / "index.html").exists()  # the report is still written


def test_columns_option_maps_the_table(files, capsys):
    rc, err, _ = _audit(files, ["renamed.csv", "--columns", "task=item,annotator=worker,label=answer"], capsys)
    assert rc == 0, err
    ann = pd.read_csv(files / "out" / "overview__annotators.csv", index_col=0)
    assert sorted(ann.index) == list("abcde") and ann.loc["a", "n_tasks"] == 5


def test_internal_error_exits_2_never_a_gate_result(files, capsys, monkeypatch):
    import qa_toolkit.report.html as html

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(html, "write_report", boom)
    rc, err, _ = _audit(files, ["ann.csv", "--gate", "gate_fail.yaml"], capsys)
    assert rc == 2 and err[-1].startswith("qa-toolkit: internal error") and "simulated bug" in err[-1]


def test_warnings_are_single_lines_before_the_error(files, capsys):
    # a torn line (crashed writer) warns, on one line, and the run goes on
    from qa_toolkit.io import read_annotations

    ann = read_annotations(files / "ann.csv")  # the table exactly as the CLI reads it
    with DecisionLog(files / "torn.jsonl", annotations=ann) as log:
        log.append("1", "accept", reviewer="r")
    with open(files / "torn.jsonl", "ab") as f:
        f.write(b'{"seq": 2, "timestamp": "2026-1')
    rc, err, _ = _audit(files, ["ann.csv", "--decision-log", "torn.jsonl"], capsys)
    assert rc == 0, err
    assert any(line.startswith("qa-toolkit: warning:") and "torn line" in line for line in err)


# -- spreadsheet formula injection --------------------------------------------------------------
HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]


def test_report_csvs_neutralise_formula_cells(files, capsys):
    rows = [(t, HOSTILE[a], HOSTILE[(a + t) % 2 * 3]) for t in range(1, 7) for a in range(len(HOSTILE))]
    pd.DataFrame(rows, columns=["task", "annotator", "label"]).to_csv(files / "hostile.csv", index=False)
    rc, err, _ = _audit(files, ["hostile.csv"], capsys)
    assert rc == 0, err
    cells = []
    for path in (files / "out").glob("*.csv"):
        with open(path, newline="", encoding="utf-8") as f:
            cells += [(path.name, c) for row in csv.reader(f) for c in row]
    assert any(c.startswith("'=HYPERLINK") for _, c in cells)  # the hostile names did reach the CSVs
    dangerous = [(n, c) for n, c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(c)]
    assert dangerous == []


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_neutralise_keeps_numbers_and_marks_text(tmp_path):
    df = pd.DataFrame({"label": ["=1+1", "-1", "-x", "ok", None], "kappa": [-0.25, 0.5, -1.0, 0.0, 1.0],
                       "n": pd.array([-3, 1, 2, 3, 4], dtype="Int64")},
                      index=pd.Index(["@a", "b", "c", "+d", "e"], name="annotator"))
    out = neutralise_formulas(df)
    assert out["label"].tolist()[:4] == ["'=1+1", "-1", "'-x", "ok"] and pd.isna(out["label"].iloc[4])
    assert out.index.tolist() == ["'@a", "b", "c", "'+d", "e"]
    pd.testing.assert_series_equal(out["kappa"], df["kappa"].set_axis(out.index))
    assert df["label"].iloc[0] == "=1+1"  # the input is not modified
    write_csv(df, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv", index_col=0)
    assert back["kappa"].tolist() == [-0.25, 0.5, -1.0, 0.0, 1.0] and back["n"].tolist() == [-3, 1, 2, 3, 4]
    assert json.dumps(back.index.tolist()) == json.dumps(["'@a", "b", "c", "'+d", "e"])
