"""Issue #11, importer side: ``field`` and ``kind`` columns, kind overrides and assignments
(docs/DATA_MODEL.md) for Label Studio, CVAT, COCO and flat tables."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from qa_toolkit import AnnotationFormatError, QAInputError
from qa_toolkit.io import read_annotations, read_coco
from qa_toolkit.io._masks import decode_ls_rle, mask_to_coco_rle
from qa_toolkit.io.cvat import centre_to_corner
from qa_toolkit.table import (
    AnnotationWarning,
    AssignmentFrame,
    get_assignments,
    infer_kinds,
    with_kinds,
)


def _ls(tmp_path, tasks, name="export.json"):
    p = tmp_path / name
    p.write_text(json.dumps(tasks))
    return p


def _r(rtype, field, value, rid="r", **extra):
    return {"id": rid, "type": rtype, "from_name": field, "to_name": "obj", "value": value, **extra}


def _img(**v):
    return {"original_width": 200, "original_height": 100, **v}


def _read(p, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        return read_annotations(p, **kw)


# -- Label Studio ---------------------------------------------------------------------------------------
def _ls_all_kinds(tmp_path):
    res_a = [
        _r("choices", "sentiment", {"choices": ["pos"]}, "c1"),
        _r("choices", "topics", {"choices": ["sport", "politics"]}, "c2"),
        _r("taxonomy", "tax", {"taxonomy": [["Animal", "Cat"], ["Plant"]]}, "t1"),
        _r("labels", "ner", {"start": 0, "end": 4, "text": "Jane", "labels": ["PER"]}, "s1"),
        _r("rectanglelabels", "bbox", {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 30,
                                       "rectanglelabels": ["car"]}, "b1", **_img()),
        _r("polygonlabels", "poly", {"points": [[10, 10], [50, 10], [50, 50]], "polygonlabels": ["roof"]},
           "p1", **_img()),
        _r("keypointlabels", "kp", {"x": 50, "y": 50, "width": 1, "keypointlabels": ["nose"]}, "k1", **_img()),
        _r("rating", "stars", {"rating": 4}, "g1"),
        _r("number", "age", {"number": 31.5}, "n1"),
        _r("textarea", "comment", {"text": ["fine"]}, "x1"),
    ]
    res_b = [_r("choices", "sentiment", {"choices": ["neg"]}, "c3"), _r("choices", "topics", {"choices": ["sport"]}, "c4")]
    tasks = [{"id": 1, "data": {"text": "Jane went home"}, "annotations": [
        {"id": 11, "completed_by": 1, "result": res_a},
        {"id": 12, "completed_by": 2, "result": res_b},
        {"id": 13, "completed_by": 3, "result": []},
    ]}]
    return _ls(tmp_path, tasks)


def test_label_studio_kinds(tmp_path):
    df = _read(_ls_all_kinds(tmp_path))
    kinds = df.drop_duplicates("field").set_index("field")["kind"].to_dict()
    assert kinds == {
        "sentiment": "categorical", "topics": "multilabel", "tax": "multilabel", "ner": "span",
        "bbox": "box", "poly": "polygon", "kp": "keypoints", "stars": "ordinal", "age": "interval",
        "comment": "text",
    }
    # several values selected anywhere in the field make the whole field multilabel
    assert (df.loc[df["field"] == "topics", "kind"] == "multilabel").all()
    tax = df[df["field"] == "tax"]
    assert tax["label"].tolist() == ["Animal/Cat", "Plant"]
    assert tax["taxonomy_path"].tolist() == [("Animal", "Cat"), ("Plant",)]
    box = df[df["field"] == "bbox"].iloc[0]
    assert (box["x_min"], box["y_min"], box["x_max"], box["y_max"], box["rotation"]) == (20, 10, 60, 30, 30)
    assert df.loc[df["field"] == "stars", "value"].tolist() == [4.0]
    assert df.loc[df["field"] == "age", "value"].tolist() == [31.5]
    assert infer_kinds(df) == kinds  # the kind column is what infer_kinds reports


def test_label_studio_assignments_keep_empty_results(tmp_path):
    df = _read(_ls_all_kinds(tmp_path))
    a = df.attrs["assignments"]
    assert isinstance(a, AssignmentFrame)
    assert a[["task", "annotator", "annotation_id"]].values.tolist() == [[1, "1", 11], [1, "2", 12], [1, "3", 13]]
    assert "3" not in set(df["annotator"])  # annotator 3 saw the task and marked nothing
    got = get_assignments(df)
    assert got.attrs["empties_counted"] and len(got) == 3
    # attrs survive the pandas operations engines use (a plain DataFrame in attrs breaks pd.concat)
    both = pd.concat([df[df["field"] == "ner"], df[df["field"] == "bbox"]])
    assert both.attrs["assignments"].equals(a)


def test_kind_override_and_misfit(tmp_path):
    p = _ls_all_kinds(tmp_path)
    df = _read(p, kinds={"stars": "interval"})
    assert (df.loc[df["field"] == "stars", "kind"] == "interval").all()
    with pytest.raises(AnnotationFormatError, match=r"Field 'sentiment' cannot be of kind 'interval'.*'pos'.*task 1"):
        _read(p, kinds={"sentiment": "interval"})
    with pytest.raises(AnnotationFormatError, match=r"Field 'sentiment' cannot be of kind 'box'"):
        _read(p, kinds={"sentiment": "box"})
    with pytest.raises(QAInputError, match=r"unknown kind 'stars'"):
        _read(p, kinds={"stars": "stars"})
    with pytest.raises(QAInputError, match=r"field 'nope', which is not in the data"):
        _read(p, kinds={"nope": "text"})


def _ls_brush_encode(values: np.ndarray) -> list[int]:
    """Label Studio's brush RLE (thi.ng rle-pack layout), encoding runs of up to 256 equal bytes."""
    bits = format(len(values), "032b") + format(7, "05b") + "".join(format(s - 1, "04b") for s in (3, 4, 6, 8))
    i = 0
    while i < len(values):
        j = i
        while j < len(values) and values[j] == values[i] and j - i < 256:
            j += 1
        bits += "1" + "11" + format(j - i - 1, "08b") + format(int(values[i]), "08b")
        i = j
    bits += "0" * (-len(bits) % 8)
    return [int(bits[k:k + 8], 2) for k in range(0, len(bits), 8)]


def test_brush_rle_kept_as_coco_rle(tmp_path):
    h, w = 6, 5
    mask = np.zeros((h, w), dtype=bool)
    mask[1:4, 2:5] = True  # 9 pixels
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[mask] = 255
    rle = _ls_brush_encode(rgba.ravel())
    assert (decode_ls_rle(rle, h * w * 4) == rgba.ravel()).all()
    res = [_r("brushlabels", "mask", {"format": "rle", "rle": rle, "brushlabels": ["cell"]}, "m1",
              original_width=w, original_height=h)]
    df = _read(_ls(tmp_path, [{"id": 1, "annotations": [{"id": 1, "completed_by": 1, "result": res}]}]))
    row = df.iloc[0]
    assert row["kind"] == "polygon" and row["rle"]["size"] == [h, w]
    from pycocotools import mask as mask_utils  # the reference decoder of COCO RLE

    coco = mask_utils.frPyObjects(row["rle"], h, w)
    assert (mask_utils.decode(coco).astype(bool) == mask).all()
    assert mask_to_coco_rle(mask)["counts"][0] == 2 * h + 1  # column-major: two empty columns, then one pixel


def test_brush_rle_undecodable_names_the_record(tmp_path):
    res = [_r("brushlabels", "mask", {"format": "rle", "rle": [0, 0, 0, 9, 1], "brushlabels": ["cell"]}, "m1",
              original_width=5, original_height=6)]
    p = _ls(tmp_path, [{"id": 4, "annotations": [{"id": 2, "completed_by": 1, "result": res}]}])
    with pytest.raises(AnnotationFormatError, match=r"export\.json: task id 4, annotation id 2, result #0.*rle"):
        read_annotations(p)


# -- CVAT -----------------------------------------------------------------------------------------------
CVAT = """<annotations><version>1.1</version>
<image id="0" name="a.jpg" width="100" height="100">
  <box label="car" xtl="10" ytl="20" xbr="50" ybr="40" rotation="90"/>
  <polygon label="roof" points="1,1;20,1;20,20"/>
  <points label="nose" points="5,5;6,6"/>
  <tag label="day"/><tag label="sunny"/>
</image>
<image id="1" name="b.jpg" width="100" height="100"></image>
</annotations>"""


def test_cvat_kinds_and_assignments(tmp_path):
    p = tmp_path / "annotations.xml"
    p.write_text(CVAT)
    df = _read(p, annotator="ann")
    assert df.drop_duplicates("field").set_index("field")["kind"].to_dict() == {
        "box": "box", "polygon": "polygon", "points": "keypoints", "tag": "multilabel"}
    a = df.attrs["assignments"]
    assert a[["task", "annotator"]].values.tolist() == [["a.jpg", "ann"], ["b.jpg", "ann"]]  # b.jpg: no shapes


def test_cvat_rotation_converted_to_top_left_convention(tmp_path):
    p = tmp_path / "annotations.xml"
    p.write_text(CVAT)
    box = _read(p, annotator="ann").query("field == 'box'").iloc[0]
    # CVAT: 40x20 box centred at (30, 30) turned 90 degrees clockwise about the centre covers
    # x 20..40, y 10..50. The same shape turned about its top-left corner starts at (40, 10).
    assert (box["x_min"], box["y_min"], box["x_max"], box["y_max"], box["rotation"]) == pytest.approx(
        (40, 10, 80, 30, 90))
    c, s = math.cos(math.radians(90)), math.sin(math.radians(90))
    corners = [(box["x_min"] + u * c - v * s, box["y_min"] + u * s + v * c) for u, v in ((0, 0), (40, 0), (40, 20), (0, 20))]
    xs, ys = zip(*corners)
    assert (min(xs), max(xs), min(ys), max(ys)) == pytest.approx((20, 40, 10, 50))
    assert centre_to_corner(0, 0, 4, 2, 0) == (0, 0, 4, 2)


# -- COCO -----------------------------------------------------------------------------------------------
def test_coco_kinds_and_assignments(tmp_path):
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
                   {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}, {"id": 3, "name": "blob"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 2, "bbox": [1, 1, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [20, 20, 10, 10],
             "segmentation": [[20, 20, 30, 20, 30, 30]]},
            {"id": 3, "image_id": 1, "category_id": 3, "bbox": [0, 0, 2, 2], "iscrowd": 1,
             "segmentation": {"size": [100, 100], "counts": [0, 2, 98, 2, 9898]}},
            {"id": 4, "image_id": 1, "category_id": 1, "bbox": [40, 40, 20, 40], "num_keypoints": 2,
             "keypoints": [45, 45, 2, 50, 45, 1, 0, 0, 0]},
        ],
    }
    p = tmp_path / "alice.json"
    p.write_text(json.dumps(coco))
    df = _read(p)
    assert df[["field", "kind"]].values.tolist() == [
        ["bbox", "box"], ["segmentation", "polygon"], ["segmentation", "polygon"], ["keypoints", "keypoints"]]
    assert df.loc[1, "points"] == ((20.0, 20.0), (30.0, 20.0), (30.0, 30.0))
    assert df.loc[2, "rle"]["size"] == [100, 100] and df.loc[2, "segmentation_type"] == "rle"
    assert df.loc[3, "keypoints"] == ((45.0, 45.0, 2.0), (50.0, 45.0, 1.0), (0.0, 0.0, 0.0))
    a = df.attrs["assignments"]
    assert a[["task", "annotator"]].values.tolist() == [["a.jpg", "alice"], ["b.jpg", "alice"]]


def test_coco_bad_keypoints_name_the_annotation(tmp_path):
    coco = {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "p"}],
            "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "keypoints": [1, 2]}]}
    p = tmp_path / "ann.json"
    p.write_text(json.dumps(coco))
    with pytest.raises(AnnotationFormatError, match=r"ann\.json: annotations\[0\] \(id 7\): field 'keypoints'"):
        read_coco(p)


# -- flat tables and the helpers ---------------------------------------------------------------------------
def test_flat_table_default_field_and_override(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("task,annotator,label\n1,a,4\n1,b,5\n2,a,4\n")
    df = read_annotations(p)
    assert set(df["field"]) == {"label"} and set(df["kind"]) == {"categorical"}
    assert "assignments" not in df.attrs and not get_assignments(df).attrs["empties_counted"]
    assert set(read_annotations(p, kinds={"label": "ordinal"})["kind"]) == {"ordinal"}
    q = tmp_path / "s.csv"
    q.write_text("task,annotator,label\n1,a,pos\n1,b,neg\n")
    with pytest.raises(AnnotationFormatError, match=r"Field 'label' cannot be of kind 'interval'.*'pos'"):
        read_annotations(q, kinds={"label": "interval"})


def test_flat_table_assignments_parameter():
    df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", "y"]})
    got = get_assignments(df, pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "c", "a"]}))
    assert got[["task", "annotator"]].values.tolist() == [[1, "a"], [1, "c"], [2, "a"], [1, "b"]]
    assert got.attrs["empties_counted"]
    with pytest.raises(QAInputError, match=r"\(task, annotator\) pairs"):
        get_assignments(df, [(1, "a", "extra")])


def test_infer_kinds_rules():
    base = {"task": [1, 1, 2], "annotator": ["a", "a", "b"], "label": ["x", "y", "x"]}
    # repeats are not guessed to be multi-label (they may be test-retest): categorical unless told
    assert infer_kinds(pd.DataFrame(base)) == {"label": "categorical"}
    assert infer_kinds(pd.DataFrame(base), {"label": "multilabel"}) == {"label": "multilabel"}
    boxes = pd.DataFrame({**base, "x_min": [0, 1, 2], "y_min": [0, 0, 0], "x_max": [1, 2, 3], "y_max": [1, 1, 1]})
    assert infer_kinds(boxes) == {"label": "box"}
    spans = pd.DataFrame({**base, "start": [0, 3, 0], "end": [2, 5, 1]})
    assert infer_kinds(spans) == {"label": "span"}
    poly = pd.DataFrame({**base, "points": [[(0, 0), (1, 0), (1, 1)]] * 3})
    assert infer_kinds(poly) == {"label": "polygon"}
    fields = pd.DataFrame({**base, "field": ["f", "g", "f"]})
    assert infer_kinds(fields) == {"f": "categorical", "g": "categorical"}
    mixed = fields.assign(kind=["box", "span", "text"])
    with pytest.raises(AnnotationFormatError, match=r"field 'f' has several kinds"):
        infer_kinds(mixed)
    out = with_kinds(pd.DataFrame(base), {"label": "multilabel"})
    assert out["field"].tolist() == ["label"] * 3 and out["kind"].tolist() == ["multilabel"] * 3


# -- real exports (../shared/realworld_exports; SOURCE.md counts) ------------------------------------------
def test_leoka_fields_kinds_assignments(realworld_exports):
    df = _read(realworld_exports / "label_studio/json/leoka_team_6__ner_taxonomy_multiannotator_gt.json")
    assert infer_kinds(df) == {"label": "span", "Category": "multilabel"}
    assert len(df.attrs["assignments"]) == 332  # SOURCE.md: 332 annotations
    tax = df[df["field"] == "Category"]
    assert (tax["label"] == tax["taxonomy_path"].map("/".join)).all()


def test_cvat_cats_assignments(realworld_exports):
    df = _read(realworld_exports / "cvat/images/maxkuklavod_cats_cvat_job_annotations.xml")
    assert infer_kinds(df) == {"box": "box"}
    assert len(df.attrs["assignments"]) == 14  # 14 images, one job


def test_doccano_empty_documents_are_assignments(realworld_exports):
    df = _read(realworld_exports / "doccano/bsner_bw_admin__doccano_seq_labeling.jsonl")
    a = df.attrs["assignments"]
    assert len(a) == 454 and a["task"].nunique() == 454  # 454 lines, 223 without spans
    assert len(set(a["task"]) - set(df["task"])) == 223
