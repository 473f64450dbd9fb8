"""Writers: write then read gives the same table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qa_toolkit import AnnotationFormatError, QAInputError
from qa_toolkit.io import (
    read_annotations,
    read_coco,
    read_label_studio,
    read_predictions,
    read_table,
    write_coco,
    write_label_studio,
    write_table,
)
from qa_toolkit.table import AnnotationWarning

BOX = ["x_min", "y_min", "x_max", "y_max"]


@pytest.fixture
def boxes():
    return pd.DataFrame({
        "task": ["a.jpg", "a.jpg", "b.jpg", "a.jpg"],
        "annotator": ["ann1", "ann1", "ann1", "ann2"],
        "label": ["cat", "dog", "cat", "cat"],
        "x_min": [1.5, 10.0, 0.0, 2.0], "y_min": [2.0, 20.0, 0.0, 2.5],
        "x_max": [30.0, 50.0, 64.0, 31.0], "y_max": [40.0, 60.0, 48.0, 41.0],
        "image_width": [64.0, 64.0, 64.0, 64.0], "image_height": [64.0, 64.0, 48.0, 64.0],
    })


def _key(df):
    return df.sort_values(["task", "annotator", "label", "x_min"]).reset_index(drop=True)


def test_label_studio_round_trip_boxes(tmp_path, boxes):
    p = write_label_studio(boxes, tmp_path / "ls.json", from_name="bbox")
    back = read_label_studio(p, task_key="image")
    a, b = _key(boxes), _key(back)
    assert (a[["task", "annotator", "label"]].to_numpy() == b[["task", "annotator", "label"]].to_numpy()).all()
    np.testing.assert_allclose(a[BOX].to_numpy(), b[BOX].to_numpy(), atol=1e-9)
    assert set(back["field"]) == {"bbox"} and set(back["result_type"]) == {"rectanglelabels"}
    raw = json.loads(p.read_text())
    assert raw[0]["annotations"][0]["result"][0]["value"]["x"] == pytest.approx(100 * 1.5 / 64)


def test_label_studio_round_trip_choices_and_predictions(tmp_path):
    agg = pd.Series(["pos", "neg", "pos"], index=pd.Index([3, 1, 2], name="task"), name="agg_label")
    with pytest.warns(AnnotationWarning, match="without 'completed_by'"):
        back = read_label_studio(write_label_studio(agg, tmp_path / "a.json"))
    assert back.set_index("task")["label"].sort_index().to_dict() == {1: "neg", 2: "pos", 3: "pos"}
    preds = pd.DataFrame({"task": [1, 2], "label": ["neg", "pos"], "score": [0.25, 0.75]})
    p = write_label_studio(preds, tmp_path / "p.json", kind="predictions", model_version="m1")
    got = read_predictions(p)
    assert got[["task", "model", "label", "score"]].values.tolist() == [[1, "m1", "neg", 0.25], [2, "m1", "pos", 0.75]]


def test_label_studio_writer_errors(tmp_path, boxes):
    with pytest.raises(QAInputError, match="'kind'"):
        write_label_studio(boxes, tmp_path / "x.json", kind="drafts")
    with pytest.raises(AnnotationFormatError, match="image_width"):
        write_label_studio(boxes.drop(columns="image_width"), tmp_path / "x.json")
    with pytest.raises(QAInputError, match="'labels'"):
        write_label_studio([1, 2], tmp_path / "x.json")


def test_coco_round_trip(tmp_path, boxes):
    one = boxes[boxes["annotator"] == "ann1"].copy()
    one.loc[one.index[0], "points"] = None
    one["points"] = [[(1.5, 2.0), (30.0, 2.0), (30.0, 40.0)], None, None]
    p = write_coco(one, tmp_path / "ann1.json", categories=["dog", "cat"])
    back = read_coco(p)
    a, b = _key(one), _key(back)
    assert (a[["task", "annotator", "label"]].to_numpy() == b[["task", "annotator", "label"]].to_numpy()).all()
    np.testing.assert_allclose(a[BOX].to_numpy(), b[BOX].to_numpy())
    np.testing.assert_allclose(a[["image_width", "image_height"]].to_numpy(), b[["image_width", "image_height"]].to_numpy())
    assert back.loc[back["label"] == "cat", "points"].dropna().iloc[0] == ((1.5, 2.0), (30.0, 2.0), (30.0, 40.0))  # tuples: DATA_MODEL.md
    cats = json.loads(p.read_text())["categories"]
    assert [c["name"] for c in cats] == ["dog", "cat"]


def test_coco_writer_refuses_many_annotators_and_missing_boxes(tmp_path, boxes):
    with pytest.raises(AnnotationFormatError, match="one file per annotator"):
        write_coco(boxes, tmp_path / "x.json")
    with pytest.raises(AnnotationFormatError, match="needs a box"):
        write_coco(boxes.drop(columns="x_min"), tmp_path / "x.json")
    with pytest.raises(AnnotationFormatError, match="not in 'categories'"):
        write_coco(boxes[boxes.annotator == "ann2"], tmp_path / "x.json", categories=["dog"])


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".parquet"])
def test_write_table_round_trip(tmp_path, boxes, ext):
    t = boxes.assign(points=[[(0.0, 1.0), (2.0, 3.0)], None, None, None],
                     created_at=pd.to_datetime(["2024-01-01T00:00:00Z"] * 4, utc=True))
    back = read_table(write_table(t, tmp_path / f"t{ext}"))
    assert list(back.columns[:3]) == ["task", "annotator", "label"]
    pd.testing.assert_frame_equal(
        back[t.columns.drop(["points", "created_at"])].reset_index(drop=True),
        t.drop(columns=["points", "created_at"]), check_dtype=False)
    assert back["points"].iloc[0] == ((0.0, 1.0), (2.0, 3.0))  # tuples: DATA_MODEL.md
    assert (back["created_at"] == t["created_at"]).all()
    assert read_annotations(tmp_path / f"t{ext}")["label"].tolist() == t["label"].tolist()


def test_write_table_rejects_extension(tmp_path, boxes):
    with pytest.raises(QAInputError, match="extension"):
        write_table(boxes, tmp_path / "t.xlsx")
