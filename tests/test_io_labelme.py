"""LabelMe reader: the real 4-annotator Webtool export and hand-made XML/JSON files.

Expected numbers for the real export come from ../shared/realworld_exports/SOURCE.md §10
(20 objects x 4 annotators, 89 polygons, 9 with <deleted>1</deleted>) and from reading the
files (every annotator keeps exactly one live polygon per object).
"""

from __future__ import annotations

import json
import warnings

import pytest

from qa_toolkit import AnnotationFormatError
from qa_toolkit.io import detect_format, read_annotations, read_labelme
from qa_toolkit.table import AnnotationWarning

REAL = "labelme/shuffler_w55e04_cars_4annotators"


def _xml(filename: str, objects: list[tuple[str, int, list[tuple[int, int]]]], user: str = "u") -> str:
    objs = "".join(
        f"<object><name>{name}</name><deleted>{deleted}</deleted><id>{i}</id><polygon><username>{user}</username>"
        + "".join(f"<pt><x>{x}</x><y>{y}</y></pt>" for x, y in pts)
        + "</polygon></object>"
        for i, (name, deleted, pts) in enumerate(objects)
    )
    return (f"<annotation><filename>{filename}</filename><folder>f</folder>{objs}"
            "<imagesize><nrows>40</nrows><ncols>50</ncols></imagesize></annotation>")


SQUARE = [(1, 1), (9, 1), (9, 9), (1, 9)]


@pytest.fixture
def real_folders(realworld_exports):
    return sorted(str(p) for p in (realworld_exports / REAL).glob("w55-e04-objects*"))


def test_real_four_annotators_deleted_shapes_dropped_and_counted(real_folders):
    with pytest.warns(AnnotationWarning, match=r"9 deleted object\(s\) \(<deleted>1</deleted>\) dropped"):
        df = read_labelme(real_folders)
    # 89 polygons - 9 deleted = 80 = 20 objects x 4 annotators, one live polygon each
    assert len(df) == 80
    assert df["task"].nunique() == 20
    assert sorted(df["annotator"].unique()) == [f"w55-e04-objects{k}" for k in range(1, 5)]
    assert (df.groupby(["task", "annotator"]).size() == 1).all()
    assert set(df["field"]) == {"polygon"} and set(df["kind"]) == {"polygon"}
    assert (df["image_width"] == 64).all() and (df["image_height"] == 64).all()
    assert df["points"].map(len).between(6, 48).all()  # SOURCE.md: 6-48 vertices
    # SOURCE.md labels: car 85, truck 2, mirror 1, typo acar 1 (all files); annotator 3 suffixes ids
    assert "acar_618" in set(df["label"]) and "car_1404" in set(df["label"])
    asg = df.attrs["assignments"]
    assert len(asg) == 80 and set(asg.columns) >= {"task", "annotator", "annotation_id"}
    # objects1/000000925.xml: object id 0 is deleted, id 1 is the live redraw
    row = df[(df["task"] == "000000925.jpg") & (df["annotator"] == "w55-e04-objects1")]
    assert row["region_id"].tolist() == ["1"]
    assert row["points"].iloc[0][0] == (36.0, 25.0)
    assert str(row["created_at"].iloc[0]) == "2018-06-09 03:37:31+00:00"


def test_real_annotator_from_username_matches_the_folders(real_folders):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        by_user = read_labelme(real_folders, annotator_from="username")
        by_folder = read_labelme(real_folders)
    # SOURCE.md: folder objectsK <-> username annotatorK
    mapping = {f"w55-e04-objects{k}": f"annotator{k}" for k in range(1, 5)}
    assert by_user["annotator"].tolist() == by_folder["annotator"].map(mapping).tolist()


def test_real_detection_and_read_annotations(real_folders, realworld_exports):
    assert detect_format(realworld_exports / REAL) == "labelme"
    assert detect_format(real_folders) == "labelme"
    one = next((realworld_exports / REAL / "w55-e04-objects2").glob("*.xml"))
    assert detect_format(one) == "labelme"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        df = read_annotations(real_folders)
    assert len(df) == 80


def test_copied_folder_is_reported(realworld_exports):
    # w55-e04-images1/0000NN.xml are byte-identical copies of w55-e04-objects1 files (checked with cmp)
    with pytest.warns(AnnotationWarning, match=r"20 file\(s\) byte-identical to another file read"):
        df = read_labelme(realworld_exports / REAL)
    assert df["annotator"].nunique() == 5 and len(df) == 100


def test_all_deleted_file_is_an_assignment_without_rows(tmp_path):
    for who, deleted in (("ann", 0), ("bob", 1)):
        (tmp_path / who).mkdir()
        (tmp_path / who / "img.xml").write_text(_xml("img.jpg", [("car", deleted, SQUARE)]))
    with pytest.warns(AnnotationWarning, match="1 deleted"):
        df = read_labelme(tmp_path)
    assert df["annotator"].tolist() == ["ann"]
    asg = df.attrs["assignments"]
    assert sorted(asg["annotator"]) == ["ann", "bob"]  # bob saw the image and drew nothing
    assert df["points"].iloc[0] == ((1.0, 1.0), (9.0, 1.0), (9.0, 9.0), (1.0, 9.0))
    assert df["image_width"].iloc[0] == 50 and df["image_height"].iloc[0] == 40


def test_degenerate_polygon_raises_naming_file_and_object(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.xml").write_text(_xml("x.jpg", [("car", 0, SQUARE), ("car", 0, [(1, 1), (2, 2)])]))
    with pytest.raises(AnnotationFormatError, match=r"x\.xml, <object> #1.*at least 3 <pt>, got 2"):
        read_labelme(tmp_path)
    with pytest.warns(AnnotationWarning, match="skipped 1 invalid polygon"):
        df = read_labelme(tmp_path, errors="warn")
    assert len(df) == 1


def test_json_shapes_rectangle_circle_and_line(tmp_path):
    doc = {"version": "5.2.1", "flags": {}, "imagePath": "../imgs/p.png", "imageData": None,
           "imageHeight": 100, "imageWidth": 120, "shapes": [
               {"label": "box", "points": [[10, 20], [30, 60]], "shape_type": "rectangle", "group_id": None},
               {"label": "ball", "points": [[50, 50], [60, 50]], "shape_type": "circle"},
               {"label": "road", "points": [[0, 0], [5, 5]], "shape_type": "line"},
               {"label": "leaf", "points": [[1, 1], [4, 1], [4, 4]], "shape_type": "polygon", "group_id": 3}]}
    (tmp_path / "p_alice.json").write_text(json.dumps(doc))
    with pytest.warns(AnnotationWarning, match=r"1 'line' shape\(s\) \(no area, not a polygon\) kept out"):
        df = read_labelme(tmp_path / "p_alice.json", annotator_from="file")
    assert df["label"].tolist() == ["box", "ball", "leaf"]
    assert set(df["task"]) == {"p.png"} and set(df["annotator"]) == {"p_alice"}
    assert df["points"].iloc[0] == ((10.0, 20.0), (30.0, 20.0), (30.0, 60.0), (10.0, 60.0))
    circle = df["points"].iloc[1]
    assert len(circle) == 64 and circle[0] == pytest.approx((60.0, 50.0))
    assert df["group_id"].iloc[2] == 3
    assert detect_format(tmp_path / "p_alice.json") == "labelme"
    with pytest.raises(AnnotationFormatError, match="LabelMe JSON files hold no user name"):
        read_labelme(tmp_path / "p_alice.json", annotator_from="username")


def test_annotator_parameter_and_bad_options(tmp_path):
    (tmp_path / "x.xml").write_text(_xml("x.jpg", [("car", 0, SQUARE)]))
    assert read_labelme(tmp_path / "x.xml", annotator="zoe")["annotator"].tolist() == ["zoe"]
    with pytest.raises(Exception, match="annotator_from"):
        read_labelme(tmp_path / "x.xml", annotator_from="owner")
    (tmp_path / "voc.xml").write_text("<annotations><image/></annotations>")
    with pytest.raises(AnnotationFormatError, match="expected root <annotation>"):
        read_labelme(tmp_path / "voc.xml")
