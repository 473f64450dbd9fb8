"""Issue #10, "Importers never guess silently": one test per case named in the issue.

Each test asserts the right behaviour: a clear error naming file and record, a counted
warning naming the record, or the value read.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from qa_toolkit import AnnotationFormatError
from qa_toolkit.io import detect_format, read_annotations, read_coco, read_cvat
from qa_toolkit.io.crowd import read_bluebirds, read_lewidi
from qa_toolkit.table import AnnotationWarning, canonical_frame


def _ls(tmp_path, tasks, name="export.json"):
    p = tmp_path / name
    p.write_text(json.dumps(tasks))
    return p


def _ann(aid=1, who=1, result=None, **kw):
    return {"id": aid, "completed_by": who, "result": [] if result is None else result, **kw}


def _choice(label, rid="r", field="cls"):
    return {"id": rid, "type": "choices", "from_name": field, "to_name": "t", "value": {"choices": [label]}}


def _span(start, end, label="PER", rid="s"):
    return {"id": rid, "type": "labels", "from_name": "ner", "to_name": "text",
            "value": {"start": start, "end": end, "labels": [label]}}


def _text(tmp_path, name, content):
    p = tmp_path / name
    p.write_text(content)
    return p


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        return fn(*a, **kw)


# -- 1. structural detection ----------------------------------------------------------------------
def test_jsonl_with_annotations_key_is_not_label_studio(tmp_path):
    # before: any JSON containing "annotations" was Label Studio and failed as "truncated or corrupted"
    p = _text(tmp_path, "d.jsonl", '{"id": 1, "text": "Jane", "label": [[0, 4, "PER"]], "annotations": []}\n'
                                   '{"id": 2, "text": "Bob", "label": [], "annotations": []}\n')
    assert detect_format(p) == "doccano"
    assert _quiet(read_annotations, p)["label"].tolist() == ["PER"]
    other = _text(tmp_path, "o.jsonl", '{"id": 1, "annotations": "x"}\n{"id": 2, "annotations": "y"}\n')
    with pytest.raises(AnnotationFormatError, match="JSON Lines whose records match no known") as exc:
        detect_format(other)
    assert "truncated" not in str(exc.value)


def test_json_is_label_studio_only_with_result_lists(tmp_path):
    not_ls = _ls(tmp_path, [{"id": 1, "annotations": [{"label": "x"}]}])
    with pytest.raises(AnnotationFormatError, match="no known annotation format"):
        detect_format(not_ls)
    ls = _ls(tmp_path, [{"id": 1, "annotations": [_ann(result=[_choice("x")])]}], "ls.json")
    assert detect_format(ls) == "label_studio"


def test_tsv_with_long_header_is_a_table_not_gal(tmp_path):
    # before: detected as GAL, the header became a data row and tasks/annotators swapped
    p = _text(tmp_path, "labels.txt", "task\tannotator\tlabel\nt1\tann1\tspam\nt1\tann2\tham\nt2\tann1\tspam\n")
    assert detect_format(p) == "table"
    df = read_annotations(p)
    assert len(df) == 3 and set(df["task"]) == {"t1", "t2"} and set(df["annotator"]) == {"ann1", "ann2"}


def test_canonical_header_wins_over_crowd_heuristics(tmp_path):
    # three tab-separated columns on every line look like GAL; the header names canonical columns
    p = _text(tmp_path, "x.tsv", "annotator\ttask\tlabel\nw1\to1\tA\nw2\to1\tB\n")
    assert detect_format(p) == "table"
    assert _quiet(read_annotations, p)[["task", "annotator"]].values.tolist() == [["o1", "w1"], ["o1", "w2"]]


# -- 2. ids and labels are text ---------------------------------------------------------------------
def test_csv_labels_and_ids_are_text(tmp_path):
    p = _text(tmp_path, "t.csv", "task,annotator,label\n007,a,01\n7,a,1\n7,b,1.0\n8,a,NA\n8,b,None\n9,a,null\n9,b,n/a\n")
    df = read_annotations(p)
    assert df["task"].nunique() == 4  # 007 and 7 stay two tasks
    assert set(df["label"]) == {"01", "1", "1.0", "NA", "None", "null", "n/a"}  # class names, not missing
    assert df["label"].notna().all()


def test_na_values_on_request(tmp_path):
    p = _text(tmp_path, "t.csv", "task,annotator,label\n1,a,x\n1,b,NA\n")
    with pytest.raises(AnnotationFormatError, match=r"'label' is missing.*task '1', annotator 'b'"):
        read_annotations(p, na_values=["NA"])


def test_numeric_columns_parsed_and_checked(tmp_path):
    p = _text(tmp_path, "t.csv", "task,annotator,label,value\n1,a,4,4.0\n1,b,5,5\n")
    df = read_annotations(p)
    assert df["value"].tolist() == [4.0, 5.0] and df["label"].tolist() == ["4", "5"]
    bad = _text(tmp_path, "b.csv", "task,annotator,label,value\n1,a,4,four\n")
    with pytest.raises(AnnotationFormatError, match=r"b\.csv.*task '1'.*'value' must be a number.*'four'"):
        read_annotations(bad)


def test_label_studio_csv_ids_are_text(tmp_path):
    rows = "id,annotator,annotation_id,sentiment\n007,a,1,pos\n7,a,2,neg\n"
    df = read_annotations(_text(tmp_path, "ls.csv", rows), fields=["sentiment"])
    assert sorted(map(str, df["task"])) == ["007", "7"]


def test_label_studio_ratings_4_and_4_0_are_one_label(tmp_path):
    def rating(v, rid):
        return {"id": rid, "type": "rating", "from_name": "stars", "to_name": "t", "value": {"rating": v}}
    p = _ls(tmp_path, [{"id": 1, "annotations": [_ann(1, 1, [rating(4, "a")]), _ann(2, 2, [rating(4.0, "b")])]}])
    df = read_annotations(p)
    assert df["label"].tolist() == ["4", "4"] and df["value"].tolist() == [4.0, 4.0]


# -- 3. nothing merged or dropped without a count and the record's id ------------------------------------
def test_duplicate_label_studio_task_ids_warn(tmp_path):
    p = _ls(tmp_path, [{"id": 5, "annotations": [_ann(1, 1, [_choice("a")])]},
                       {"id": 5, "annotations": [_ann(2, 2, [_choice("b")])]}])
    with pytest.warns(AnnotationWarning, match=r"1 task\(s\) whose id repeats.*task #1 repeats task id 5"):
        df = read_annotations(p)
    assert len(df) == 2


def test_task_without_id_is_not_merged_with_task_0(tmp_path):
    p = _ls(tmp_path, [{"id": 0, "annotations": [_ann(1, 1, [_choice("a")])]},
                       {"annotations": [_ann(2, 1, [_choice("b")])]}])
    with pytest.warns(AnnotationWarning, match=r"1 task\(s\) without 'id'.*task #1"):
        df = read_annotations(p)
    assert df["task"].tolist() == [0, "#1"]


def test_duplicate_doccano_ids_warn(tmp_path):
    p = _text(tmp_path, "u.jsonl", '{"id": 3, "text": "ab", "label": [[0, 1, "X"]]}\n'
                                   '{"id": 3, "text": "ab", "label": [[1, 2, "Y"]]}\n')
    with pytest.warns(AnnotationWarning, match=r"1 document\(s\) whose id repeats.*line 2 repeats id 3"):
        assert len(read_annotations(p)) == 2


def _coco(cats, images=None, anns=None):
    return {"images": images or [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
            "categories": cats,
            "annotations": [{"id": 9, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}]
            if anns is None else anns}


def test_duplicate_coco_category_ids(tmp_path):
    p = _ls(tmp_path, _coco([{"id": 1, "name": "cat"}, {"id": 1, "name": "dog"}]), "ann.json")
    with pytest.raises(AnnotationFormatError, match=r"ann\.json: categories\[1\] \(id 1\): category id repeats"):
        read_coco(p)
    with pytest.warns(AnnotationWarning, match=r"skipped 1 repeated category id"):
        df = read_coco(p, errors="warn")
    assert df["label"].tolist() == ["cat"]  # the first wins; before, the last silently changed labels
    same = _ls(tmp_path, _coco([{"id": 1, "name": "cat"}, {"id": 1, "name": "cat"}]), "same.json")
    with pytest.warns(AnnotationWarning, match=r"1 repeated category id\(s\) \(same name\)"):
        read_coco(same)


def test_duplicate_coco_image_ids(tmp_path):
    imgs = [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
            {"id": 1, "file_name": "b.jpg", "width": 100, "height": 100}]
    p = _ls(tmp_path, _coco([{"id": 1, "name": "cat"}], imgs), "ann.json")
    with pytest.raises(AnnotationFormatError, match=r"images\[1\] \(id 1\): image id repeats"):
        read_coco(p)


def test_coco_annotator_file_without_annotations(tmp_path):
    a = _ls(tmp_path, _coco([{"id": 1, "name": "cat"}]), "alice.json")
    b = _ls(tmp_path, _coco([{"id": 1, "name": "cat"}], anns=[]), "bob.json")
    with pytest.warns(AnnotationWarning, match=r"1 file\(s\) without annotations.*bob\.json"):
        df = read_coco([a, b])
    assert set(df["annotator"]) == {"alice"}
    assign = df.attrs["assignments"]
    assert set(zip(assign["task"], assign["annotator"])) == {("a.jpg", "alice"), ("a.jpg", "bob")}


def test_empty_result_is_an_assignment(tmp_path):
    p = _ls(tmp_path, [{"id": 1, "annotations": [_ann(1, 1, [_choice("a")]), _ann(2, 2, [])]}])
    with pytest.warns(AnnotationWarning, match=r"1 annotation\(s\) with an empty result.*annotation id 2"):
        df = read_annotations(p)
    assert len(df) == 1
    assert df.attrs["assignments"][["task", "annotator", "annotation_id"]].values.tolist() == [
        [1, "1", 1], [1, "2", 2]]


# -- 4. duplicate regions and messages naming the record ----------------------------------------------
def test_duplicate_regions_warn_keep_one_and_name_the_record(tmp_path):
    p = _ls(tmp_path, [{"id": 1737, "data": {"text": "Jane Doe"},
                        "annotations": [_ann(55, 1, [_span(0, 4, rid="x"), _span(0, 4, rid="x")])]}])
    with pytest.warns(AnnotationWarning) as rec:
        df = read_annotations(p)
    assert len(df) == 1
    msg = " ".join(str(w.message) for w in rec)
    for part in ("export.json", "task 1737", "annotation id 55", "result #1", "field 'ner'"):
        assert part in msg
    with pytest.raises(AnnotationFormatError, match=r"task 1737.*annotation id 55.*result #1.*exact duplicate"):
        read_annotations(p, duplicates="raise")


def test_box_outside_image_names_task_not_row(tmp_path):
    box = {"id": "b", "type": "rectanglelabels", "from_name": "bbox", "to_name": "img", "original_width": 100,
           "original_height": 100, "value": {"x": 90, "y": 10, "width": 20, "height": 10, "rectanglelabels": ["c"]}}
    p = _ls(tmp_path, [{"id": 1737, "annotations": [_ann(7, 1, [box])]}])
    with pytest.raises(AnnotationFormatError) as exc:
        read_annotations(p)
    msg = str(exc.value)
    assert "task 1737" in msg and "annotation id 7" in msg and "result #0" in msg and "row(s)" not in msg


# -- 5. geometry and spans --------------------------------------------------------------------------
def _poly(points, w=100, h=100):
    return {"id": "p", "type": "polygonlabels", "from_name": "poly", "to_name": "img", "original_width": w,
            "original_height": h, "value": {"points": points, "polygonlabels": ["c"]}}


@pytest.mark.parametrize("points,match", [
    ([[1, 1], [5, 5]], "fewer than 3 points"),
    ([[1, 1], [5, 5], [120, 5]], "Points outside the image"),
])
def test_polygon_checks(tmp_path, points, match):
    p = _ls(tmp_path, [{"id": 3, "annotations": [_ann(1, 1, [_poly(points)])]}])
    with pytest.raises(AnnotationFormatError, match=rf"{match}.*task 3"):
        read_annotations(p)


def test_polygon_nan_points(tmp_path):
    p = _text(tmp_path, "t.csv", 'task,annotator,label,points\n1,a,c,"[[1, 1], [NaN, 2], [3, 3]]"\n')
    with pytest.raises(AnnotationFormatError, match=r"Points with missing \(NaN\).*task '1'"):
        read_annotations(p)


def test_all_nan_box(tmp_path):
    coco = _coco([{"id": 1, "name": "cat"}],
                 anns=[{"id": 4, "image_id": 1, "category_id": 1, "bbox": [float("nan")] * 4}])
    p = tmp_path / "ann.json"
    p.write_text(json.dumps(coco))  # json writes NaN literals, as some exporters do
    with pytest.raises(AnnotationFormatError, match=r"Box with missing \(NaN\).*annotation id 4"):
        read_coco(p)


@pytest.mark.parametrize("start,end,match", [
    (-1, 3, "negative start"), (4, 4, "end <= start"), (5, 2, "end <= start"), (2, 30, "beyond the end of the text"),
])
def test_span_checks(tmp_path, start, end, match):
    p = _ls(tmp_path, [{"id": 8, "data": {"text": "Jane Doe"}, "annotations": [_ann(1, 1, [_span(start, end)])]}])
    with pytest.raises(AnnotationFormatError, match=rf"{match}.*task 8"):
        read_annotations(p)


def test_doccano_span_beyond_text(tmp_path):
    p = _text(tmp_path, "u.jsonl", '{"id": 1, "text": "ab", "label": [[0, 9, "X"]]}\n')
    with pytest.raises(AnnotationFormatError, match=r"beyond the end of the text.*task 1"):
        read_annotations(p)


def test_non_numeric_image_size_is_an_error(tmp_path):
    # before: the size became NaN and silently switched the out-of-image check off
    xml = ('<annotations><image id="0" name="a.jpg" width="wide" height="10">'
           '<box label="cat" xtl="1" ytl="2" xbr="5" ybr="6"/></image></annotations>')
    p = _text(tmp_path, "annotations.xml", xml)
    with pytest.raises(AnnotationFormatError, match=r"annotations\.xml.*'a\.jpg'.*'image_width' must be a number"):
        read_cvat(p, annotator="x")


def test_heuristic_box_checks_are_counted_warnings(tmp_path):
    xml = ('<annotations><image id="0" name="a.jpg" width="500" height="500">'
           '<box label="pole" xtl="10" ytl="10" xbr="15" ybr="300"/>'
           '<box label="dot" xtl="100" ytl="100" xbr="102" ybr="102"/>'
           '<box label="dot" xtl="200" ytl="200" xbr="201" ybr="203"/>'
           '<box label="car" xtl="50" ytl="50" xbr="150" ybr="120"/></image></annotations>')
    with pytest.warns(AnnotationWarning) as rec:
        df = read_cvat(_text(tmp_path, "annotations.xml", xml), annotator="x")
    assert len(df) == 4  # warnings, not errors
    msg = " ".join(str(w.message) for w in rec)
    assert "1 box(es) with an aspect ratio beyond 10:1" in msg
    assert "2 box(es) narrower than 4 pixels" in msg


# -- 6. hashable scalars -------------------------------------------------------------------------------
def test_list_label_is_an_error_naming_file_record_field(tmp_path):
    p = _text(tmp_path, "u.jsonl", '{"id": 1, "text": "ab", "label": [[0, 1, ["X", "Y"]]]}\n')
    with pytest.raises(AnnotationFormatError, match=r"u\.jsonl.*task 1.*field 'label' must be a single"):
        read_annotations(p)


def test_dict_task_id_is_an_error(tmp_path):
    p = _ls(tmp_path, [{"id": {"a": 1}, "annotations": [_ann(1, 1, [_choice("a")])]}])
    with pytest.raises(AnnotationFormatError, match=r"export\.json: task #0: field 'id' must be a number or string"):
        read_annotations(p)


def test_list_category_name_is_an_error(tmp_path):
    p = _ls(tmp_path, _coco([{"id": 1, "name": ["cat"]}]), "ann.json")
    with pytest.raises(AnnotationFormatError, match=r"ann\.json: categories\[0\].*'name'"):
        read_coco(p)


def test_int_and_str_one_in_one_field_warn(tmp_path):
    p = _ls(tmp_path, [{"id": 1, "annotations": [_ann(1, 1, [_choice(1)]), _ann(2, 2, [_choice("1")])]}])
    with pytest.warns(AnnotationWarning, match=r"field 'cls' \(column 'label'\) holds both numbers and strings.*\['1'\]"):
        read_annotations(p)


# -- 7. crowd readers through the same error layer --------------------------------------------------------
@pytest.mark.parametrize("value", ['"false"', "maybe", ""])
def test_bluebirds_non_boolean_values_are_errors(tmp_path, value):
    p = _text(tmp_path, "labels.yaml", f"39:\n  11573: true\n  11574: {value}\n")
    with pytest.raises(AnnotationFormatError, match=r"labels\.yaml, worker 39, image 11574: expected true or false"):
        read_bluebirds(p)


def test_bluebirds_booleans_read(tmp_path):
    df = read_bluebirds(_text(tmp_path, "labels.yaml", "39:\n  11573: true\n  11574: false\n"))
    assert df["label"].tolist() == [1, 0]


def test_lewidi_json_lists(tmp_path):
    doc = {"1": {"text": "t", "annotators": ["Ann1", "Ann2"], "annotations": [0, 1], "split": "dev"},
           "2": {"text": "u", "annotators": "Ann1,Ann2", "annotations": "[1, 1]", "split": "dev"}}
    df = read_lewidi(_ls(tmp_path, doc, "x_dev.json"))
    assert df["label"].tolist() == ["0", "1", "1", "1"]  # before: labels "[0" and "1]"
    assert df["annotator"].tolist() == ["Ann1", "Ann2", "Ann1", "Ann2"]


def test_crowd_stray_errors_become_format_errors(tmp_path):
    p = _ls(tmp_path, {"1": {"annotations": [[0]], "annotators": "a"}}, "x_dev.json")
    with pytest.raises(AnnotationFormatError, match=r"x_dev\.json"):
        read_lewidi(p)
    deep = _text(tmp_path, "labels.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(AnnotationFormatError, match=r"labels\.yaml"):
        read_bluebirds(deep)


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-16"])
def test_xml_read_per_declared_encoding(tmp_path, encoding):
    xml = (f'<?xml version="1.0" encoding="{encoding}"?><annotations><image id="0" name="caf\u00e9.jpg" '
           'width="10" height="10"><tag label="\u00e9t\u00e9"/></image></annotations>')
    p = tmp_path / "annotations.xml"
    p.write_bytes(xml.encode("latin-1" if encoding.startswith("ISO") else "utf-16"))
    assert detect_format(p) == "cvat"
    df = read_annotations(p, annotator="a")
    assert df[["task", "label"]].values.tolist() == [["caf\u00e9.jpg", "\u00e9t\u00e9"]]


# -- 8. created_at ---------------------------------------------------------------------------------------
def test_unparseable_created_at_is_an_error_or_counted(tmp_path):
    p = _ls(tmp_path, [{"id": 1, "annotations": [_ann(1, 1, [_choice("a")], created_at="yesterday"),
                                                  _ann(2, 2, [_choice("b")], created_at="2024-01-02T03:04:05Z")]}])
    with pytest.raises(AnnotationFormatError, match=r"task 1.*annotation id 1.*'created_at'.*'yesterday'"):
        read_annotations(p)
    with pytest.warns(AnnotationWarning, match=r"skipped 1 record\(s\) with an unparseable 'created_at'"):
        df = read_annotations(p, errors="warn")
    assert df["created_at"].notna().all() and len(df) == 1


def test_canonical_frame_never_silent_nat():
    with pytest.warns(AnnotationWarning, match=r"1 unparseable 'created_at'.*'soon'.*task 2"):
        df = canonical_frame(pd.DataFrame({"task": [1, 2], "annotator": ["a", "b"], "label": ["x", "y"],
                                           "created_at": ["2024-01-01", "soon"]}))
    assert df["created_at"].isna().tolist() == [False, True]


# -- 9. the io boundary is typed ------------------------------------------------------------------------
def test_io_boundary_fully_annotated():
    import inspect

    import qa_toolkit.io as io

    for name in io.__all__:
        fn = getattr(io, name)
        if not callable(fn):
            continue
        sig = inspect.signature(fn)
        missing = [p for p, v in sig.parameters.items() if v.annotation is inspect.Parameter.empty]
        assert not missing, f"{name}: parameters without annotations {missing}"
        assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return annotation"


def test_rotated_box_outside_check_uses_the_rotated_corners(tmp_path):
    # a 40x10 box at (50, 5) turned 90 degrees about its top-left corner reaches y = 45, inside a 100 px image;
    # turned -90 degrees it would reach y = -35: outside
    def box(rot):
        return {"id": "b", "type": "rectanglelabels", "from_name": "bbox", "to_name": "img", "original_width": 100,
                "original_height": 100, "value": {"x": 50, "y": 5, "width": 40, "height": 10, "rotation": rot,
                                                  "rectanglelabels": ["c"]}}
    ok = read_annotations(_ls(tmp_path, [{"id": 1, "annotations": [_ann(1, 1, [box(90)])]}]))
    assert ok["rotation"].tolist() == [90.0]
    with pytest.raises(AnnotationFormatError, match="outside the image"):
        read_annotations(_ls(tmp_path, [{"id": 1, "annotations": [_ann(1, 1, [box(-90)])]}], "b.json"))
    assert np.isfinite(ok[["x_min", "y_min", "x_max", "y_max"]].to_numpy(float)).all()


def test_io_package_passes_mypy_strict_defs():
    """Issue #10: the io boundary is fully annotated (mypy --disallow-untyped-defs on qa_toolkit/io)."""
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("mypy")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "mypy", "qa_toolkit/io", "--ignore-missing-imports",
                          "--disallow-untyped-defs", "--no-incremental"],
                         cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:]


def test_validate_annotations_rejects_list_labels_naming_the_record():
    from qa_toolkit.table import validate_annotations

    df = pd.DataFrame({"task": [1, 2], "annotator": ["a", "b"], "label": ["x", ["y", "z"]]})
    with pytest.raises(AnnotationFormatError, match=r"'label' must hold single values.*task 2, annotator 'b'.*f\.parquet"):
        validate_annotations(df, source="f.parquet")
