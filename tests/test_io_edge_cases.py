"""Hand-made edge cases (tests/data/io), bad input, detection and dispatch."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from qa_toolkit import AnnotationFormatError, QAInputError
from qa_toolkit.io import (
    KNOWN_FORMATS,
    detect_format,
    read_annotations,
    read_coco,
    read_cvat,
    read_label_studio,
    read_predictions,
    read_table,
)
from qa_toolkit.table import AnnotationWarning

DATA = Path(__file__).parent / "data" / "io"


def _ls(tmp_path, tasks, name="export.json"):
    p = tmp_path / name
    p.write_text(json.dumps(tasks))
    return p


def _choice(label="A", **ann):
    return {"id": 1, "completed_by": 1, "result": [
        {"id": "r", "type": "choices", "from_name": "cls", "to_name": "t", "value": {"choices": [label]}}], **ann}


# -- Label Studio: result types and policies --------------------------------------------------
def test_ls_edge_cases_every_result_type():
    with pytest.warns(AnnotationWarning) as rec:
        df = read_label_studio(DATA / "ls_edge_cases.json")
    msg = " ".join(str(w.message) for w in rec)
    assert "1 cancelled (skipped) annotation(s)" in msg
    assert "1 annotation(s) without 'completed_by'" in msg
    by = {(r.field, r.label): r for r in df.itertuples()}
    car = by[("box", "Car")]  # 10%,20% + 50%x30% of 200x100
    assert (car.x_min, car.y_min, car.x_max, car.y_max) == (20.0, 20.0, 120.0, 50.0)
    assert car.annotator == "ann@example.org" and car.ground_truth and car.lead_time == 12.5
    assert car.created_at == pd.Timestamp("2024-01-02T03:04:05Z")
    assert by[("poly", "Road")].points == ((0.0, 0.0), (100.0, 0.0), (100.0, 50.0))  # tuples: DATA_MODEL.md
    assert by[("quality", "4")].value == 4.0
    assert {("tax", "Animal/Cat"), ("tax", "Animal")} <= set(by)
    assert {("cls", "A"), ("cls", "B")} <= set(by)  # list-of-lists result, two choices
    assert by[("cls", "A")].annotator == "8"  # int completed_by
    span = by[("ner", "GREETING")]
    assert (span.start, span.end, span.text, span.annotator) == (0, 5, "hello", "unknown")
    assert by[("count", "2.5")].value == 2.5
    assert {("note", "first"), ("note", "second")} <= set(by)
    assert len(df) == 11 and set(df["task"]) == {1, 2}
    assert "7" not in set(df["annotator"])  # cancelled annotation kept out


def test_ls_annotator_override_and_unknown_name():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        df = read_label_studio(DATA / "ls_edge_cases.json", annotator="me")
        df2 = read_label_studio(DATA / "ls_edge_cases.json", unknown_annotator="anon")
    assert set(df["annotator"]) == {"me"}
    assert "anon" in set(df2["annotator"])


def test_ls_predictions_table():
    with pytest.warns(AnnotationWarning, match="bare ids"):
        p = read_predictions(DATA / "ls_edge_cases.json")
    assert p[["task", "model", "label", "score"]].values.tolist() == [[1, "v2", "A", 0.9]]


def test_ls_single_task_and_completions(tmp_path):
    p = _ls(tmp_path, {"id": 5, "completions": [_choice("x")]})
    assert read_annotations(p)[["task", "label"]].values.tolist() == [[5, "x"]]


@pytest.mark.parametrize("mutate,where,field", [
    (lambda t: t[0]["annotations"][0]["result"][0]["value"].pop("choices"), "task id 1, annotation id 1, result #0", "choices"),
    (lambda t: t[0]["annotations"][0]["result"][0].pop("type"), "result #0", "'type'"),
    (lambda t: t[0]["annotations"][0].update(result="oops"), "annotation #0", "'result'"),
    (lambda t: t[0]["annotations"][0]["result"][0]["value"].update(choices=[None]), "result #0", "empty label"),
    (lambda t: t[0]["annotations"][0].update(lead_time="slow"), "annotation #0", "lead_time"),
    (lambda t: t.append(3), "task #2", "task object"),
])
def test_ls_bad_records_name_file_record_field(tmp_path, mutate, where, field):
    tasks = [{"id": 1, "annotations": [_choice()]}, ]
    tasks.append({"id": 2, "annotations": [_choice("B")]})
    mutate(tasks)
    p = _ls(tmp_path, tasks)
    with pytest.raises(AnnotationFormatError) as exc:
        read_label_studio(p)
    assert "export.json" in str(exc.value) and where in str(exc.value) and field in str(exc.value)
    with pytest.warns(AnnotationWarning, match="skipped 1"):
        df = read_label_studio(p, errors="warn")
    assert "B" in set(df["label"])


def test_ls_box_outside_and_zero_area(tmp_path):
    def box(x, w):
        return {"id": 1, "annotations": [{"id": 1, "completed_by": 1, "result": [
            {"type": "rectanglelabels", "from_name": "b", "to_name": "i", "original_width": 100,
             "original_height": 100, "value": {"x": x, "y": 0, "width": w, "height": 10, "rectanglelabels": ["c"]}}]}]}
    with pytest.raises(AnnotationFormatError, match="outside the image"):
        read_label_studio(_ls(tmp_path, [box(95, 10)]))
    with pytest.raises(AnnotationFormatError, match="zero or negative area"):
        read_label_studio(_ls(tmp_path, [box(5, 0)]))
    t = box(5, 10)
    t["annotations"][0]["result"][0].pop("original_width")
    with pytest.raises(AnnotationFormatError, match="original_width"):
        read_label_studio(_ls(tmp_path, [t]))


def test_ls_duplicates_raise_then_counted(tmp_path):
    ann = _choice("A")
    ann["result"] = ann["result"] * 2
    p = _ls(tmp_path, [{"id": 1, "annotations": [ann]}])
    # issue #10: exact duplicate regions are kept once with a counted warning by default
    with pytest.raises(AnnotationFormatError, match="duplicate"):
        read_label_studio(p, duplicates="raise")
    with pytest.warns(AnnotationWarning, match="1 exact duplicate region"):
        assert len(read_label_studio(p)) == 1


def test_ls_wrong_schema(tmp_path):
    with pytest.raises(AnnotationFormatError, match="list of tasks"):
        read_label_studio(_ls(tmp_path, {"foo": 1}))
    with pytest.raises(AnnotationFormatError, match="no annotations found"):
        read_label_studio(_ls(tmp_path, [{"id": 1, "annotations": []}]))


# -- file-level problems --------------------------------------------------------------------------
@pytest.mark.parametrize("content,match", [
    (b"", "empty"), (b"  \n", "empty"), (b'[{"id": 1, "annotations": [', "not valid JSON.*line 1"),
    (b"\xff\xfe[1]", "not UTF-8"),
])
def test_json_file_problems(tmp_path, content, match):
    p = tmp_path / "x.json"
    p.write_bytes(content)
    with pytest.raises(AnnotationFormatError, match=match):
        read_label_studio(p)
    with pytest.raises(AnnotationFormatError):
        read_annotations(p)


def test_xml_file_problems(tmp_path):
    p = tmp_path / "a.xml"
    p.write_text('<annotations><image name="a" width="5" height="5"><box label="c" xtl="1"')
    with pytest.raises(AnnotationFormatError, match="not valid XML.*line 1"):
        read_cvat(p)
    p.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><annotations>&e;</annotations>')
    with pytest.raises(AnnotationFormatError):
        read_cvat(p)
    p.write_text("<foo/>")
    with pytest.raises(AnnotationFormatError, match="<annotations>"):
        read_cvat(p)


def test_non_utf8_csv():
    with pytest.raises(AnnotationFormatError, match="not UTF-8.*byte"):
        read_annotations(DATA / "latin1.csv")


def test_unknown_format_lists_known(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(AnnotationFormatError, match="Known formats: 'label_studio'"):
        read_annotations(p)
    with pytest.raises(QAInputError, match="'format' parameter of read_annotations must be one of"):
        read_annotations(p, format="yolo")
    with pytest.raises(QAInputError, match="'errors'"):
        read_annotations(p, format="table", errors="ignore")


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        read_annotations("/nonexistent/file.json")


# -- CVAT ----------------------------------------------------------------------------------------
def test_cvat_edge_cases():
    df = read_cvat(DATA / "cvat_edge_cases.xml")
    assert set(df["annotator"]) == {"worker7"}  # assignee wins over owner
    assert df.groupby("task")["label"].apply(sorted).to_dict() == {
        "street.jpg": ["car", "daytime", "road"], "night.jpg": ["light", "night"]}
    car = df[df["label"] == "car"].iloc[0]
    assert (car.x_min, car.y_min, car.x_max, car.y_max) == (10, 5, 40, 25)
    assert df.loc[df["label"] == "road", "points"].iloc[0][1] == (100.0, 40.0)
    assert set(df["shape"]) == {"box", "polygon", "tag", "points"}
    assert set(read_cvat(DATA / "cvat_edge_cases.xml", annotator="x")["annotator"]) == {"x"}


def test_cvat_bad_coordinates(tmp_path):
    p = tmp_path / "a.xml"
    p.write_text('<annotations><image name="i.jpg" width="5" height="5">'
                 '<box label="c" xtl="one" ytl="0" xbr="2" ybr="2"/><tag label="ok"/></image></annotations>')
    with pytest.raises(AnnotationFormatError, match=r"a\.xml: image 'i\.jpg', <box> #0 \(line 1\).*'xtl'"):
        read_cvat(p)
    with pytest.warns(AnnotationWarning, match="skipped 1"):
        assert read_cvat(p, errors="warn")["label"].tolist() == ["ok"]
    p.write_text('<annotations><image name="i.jpg" width="5" height="5">'
                 '<box label="c" xtl="0" ytl="0" xbr="9" ybr="2"/></image></annotations>')
    with pytest.raises(AnnotationFormatError, match="outside the image"):
        read_cvat(p, annotator="a")
    with pytest.warns(AnnotationWarning, match="labelled 'unknown'"), pytest.raises(AnnotationFormatError):
        read_cvat(p)  # no job/assignee/owner in the file: 'unknown', reported


# -- COCO ----------------------------------------------------------------------------------------
def _coco(boxes, **extra):
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
            "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
            "annotations": [{"id": i + 1, "image_id": 1, "category_id": c, "bbox": b, **extra}
                            for i, (c, b) in enumerate(boxes)]}


def test_coco_one_file_per_annotator(tmp_path):
    (tmp_path / "alice.json").write_text(json.dumps(_coco([(1, [0, 0, 10, 10])])))
    (tmp_path / "bob.json").write_text(json.dumps(_coco([(2, [5, 5, 10, 10]), (1, [0, 0, 5, 5])])))
    files = [tmp_path / "alice.json", tmp_path / "bob.json"]
    df = read_annotations(files, annotator=["A", "B"])
    assert df[["annotator", "label"]].values.tolist() == [["A", "cat"], ["B", "dog"], ["B", "cat"]]
    assert detect_format(tmp_path) == "coco"
    assert sorted(read_annotations(tmp_path)["annotator"].unique()) == ["alice", "bob"]
    with pytest.raises(AnnotationFormatError, match="one name per file"):
        read_coco(files, annotator=["A"])


def test_coco_bad_records(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps(_coco([(3, [0, 0, 1, 1]), (1, [0, 0, 1])])))
    with pytest.raises(AnnotationFormatError, match=r"annotations\[0\] \(id 1\).*'category_id' 3"):
        read_coco(p)
    with pytest.warns(AnnotationWarning, match="skipped 2"), pytest.raises(AnnotationFormatError, match="no annotations"):
        read_coco(p, errors="warn")
    p.write_text(json.dumps(_coco([(1, [0, 0, 1, 1])], iscrowd="maybe")))
    with pytest.raises(AnnotationFormatError, match="iscrowd"):
        read_coco(p)
    p.write_text(json.dumps({"images": []}))
    with pytest.raises(AnnotationFormatError, match="not a COCO instances file"):
        read_coco(p)


def test_coco_results_as_predictions(tmp_path):
    p = tmp_path / "dets.json"
    p.write_text(json.dumps([{"image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4], "score": 0.7}]))
    pred = read_predictions(p, format="coco")
    assert pred[["model", "label", "score", "x_max"]].values.tolist() == [["dets", "2", 0.7, 4.0]]


# -- generic tables and crowd dispatch ----------------------------------------------------------
def test_table_mapping_and_errors(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("item\tworker\tanswer\n1\tw1\tx\n1\tw2\t\n")
    m = {"item": "task", "worker": "annotator", "answer": "label"}
    with pytest.raises(AnnotationFormatError, match="'label' is missing"):
        read_table(p, columns=m)
    with pytest.warns(AnnotationWarning):
        assert len(read_table(p, columns=m, errors="warn")) == 1
    with pytest.raises(AnnotationFormatError, match=r"required column\(s\) \['task', 'annotator', 'label'\]"):
        read_table(p)
    with pytest.raises(AnnotationFormatError, match="not in the file"):
        read_table(p, columns={"nope": "task"})


def test_crowd_formats_routed(shared_datasets):
    from qa_toolkit.datasets import dataset_path

    folder = dataset_path("zheng2017_d_product")
    path = folder / "D_Product" / "answer.csv"
    assert detect_format(path) == "zheng"
    df = read_annotations(path)
    assert {"task", "annotator", "label"} <= set(df.columns) and len(df) > 0


def test_known_formats_listed():
    assert {"label_studio", "cvat", "coco", "table", "zheng", "bluebirds"} <= set(KNOWN_FORMATS)


# -- Label Studio flat exports -------------------------------------------------------------------
def test_ls_csv_and_json_min_edge_cases(tmp_path):
    region = json.dumps([{"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["Car"],
                          "original_width": 100, "original_height": 50}])
    p = tmp_path / "export.csv"
    pd.DataFrame({"id": [1, 2, 3], "annotator": ["a@x.org", "b@x.org", ""], "annotation_id": [7, 8, 9],
                  "lead_time": [1.5, 2.0, 3.0], "sentiment": ["pos", "neg", "pos"],
                  "label": [region, region[:-5], region]}).to_csv(p, index=False)
    assert detect_format(p) == "label_studio_csv"
    with pytest.raises(AnnotationFormatError, match=r"record #1 \(task id 2\), field 'label'.*does not parse"):
        read_annotations(p)
    with pytest.warns(AnnotationWarning) as rec:
        df = read_annotations(p, errors="warn", fields=["label", "sentiment"])
    assert "without 'annotator'" in " ".join(str(w.message) for w in rec)
    assert sorted(df["annotator"].unique()) == ["a@x.org", "b@x.org", "unknown"]
    car = df[df["label"] == "Car"].iloc[0]
    assert (car.x_min, car.y_min, car.x_max, car.y_max) == (10.0, 5.0, 30.0, 15.0)
    assert set(df["label"]) == {"Car", "pos", "neg"} and df["task"].tolist()[0] == 1
    m = tmp_path / "export_min.json"
    m.write_text(json.dumps([{"id": 1, "annotator": 3, "tags": ["x", "y"], "ner": [
        {"start": 0, "end": 4, "text": "Jane", "labels": ["PER"]}]}]))
    assert detect_format(m) == "label_studio_min"
    got = read_annotations(m, fields=["tags", "ner"])
    assert got[["label", "annotator", "field"]].values.tolist() == [["x", "3", "tags"], ["y", "3", "tags"], ["PER", "3", "ner"]]
    assert got["start"].dropna().tolist() == [0]
