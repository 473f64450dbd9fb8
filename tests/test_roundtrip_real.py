"""Real exports (../shared/realworld_exports, see its SOURCE.md) read → adjudicated → written → read.

Issue #13: the table read back equals the table written on task, annotator, field, kind,
label, geometry, spans, ratings and taxonomy paths; the assignments (empty annotations),
task data and predictions survive; Label Studio ``reviews[]`` and ``history`` are read as
tidy tables.
"""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
from test_roundtrip import COMPARED, assert_same_table, pairs

from qa_toolkit import AnnotationFormatError
from qa_toolkit.io import (
    read_coco,
    read_label_studio,
    read_label_studio_predictions,
    to_label_studio_tasks,
    write_coco,
    write_label_studio,
)
from qa_toolkit.table import AnnotationWarning

LS = "label_studio/json/"
#: (file, errors, rows): rows as counted in SOURCE.md / tests/test_io_realworld.py.
LS_FILES = [
    ("leoka_team_6__ner_taxonomy_multiannotator_gt.json", "raise", None),  # NER spans + taxonomy, 3 annotators
    ("evalme_test_bbox__3annotators_predictions.json", "raise", 91),  # 91 rectanglelabels + predictions
    ("lssdk_yolo_data_obb__rotated_bbox.json", "raise", 25),  # rotated boxes
    ("lssdk_yolo_data_polygons__polygon.json", "raise", 1),
    ("lssdk_yolo_data_keypoints__keypoints_relations.json", "raise", 4),  # keypoints + a box (relation kept out)
    ("lssdk_export_coco_data__rect_polygon_keypoint.json", "raise", 4),
    ("lssdk_yolo_data__bbox_2annotators.json", "raise", 6),
    ("lssdk_csv_test__bbox_reviews_prediction.json", "warn", 2),  # one box 3 px outside the image: skipped
    ("lssdk_csv_test_history__choices_history.json", "raise", 1),
    ("lssdk_json_min_data_repeater__bbox_taxonomy_repeater.json", "raise", 2),
    ("lssdk_csv_test2__textarea_json_fields.json", "raise", 1),
    ("lsexamples_multi_turn_chat_labeled_results__choices_perturn.json", "raise", 38),
    ("maxkuklavod_cats_project-1-at-2025-06-19__bbox_ls1.19.json", "raise", 24),
    ("maxkuklavod_news_project-14-at-2025-06-25__ner_russian.json", "raise", 7),
    ("evalme_test_old_format__legacy_completions.json", "raise", 4),
]
COCO = ["cocoapi_instances_val2017_1img_sample__official_coco.json", "cocoapi_stuff_examples__compressed_rle.json",
        "datumaro_coco_instances_val__polygon_rle_attributes.json",
        "lssdk_coco_import_input__coco_annotator_export.json"]


def read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)  # the files' own notes, asserted in test_io_realworld
        return read_label_studio(path, **kw)


@pytest.mark.parametrize(("name", "errors", "rows"), LS_FILES, ids=[f[0].split("__")[0] for f in LS_FILES])
def test_label_studio_export_round_trips(realworld_exports, tmp_path, name, errors, rows):
    src = realworld_exports / LS / name
    table = read(src, errors=errors)
    if rows is not None:
        assert len(table) == rows
    back = read(write_label_studio(table, tmp_path / "out.json", all_tasks=True), errors="raise")
    assert_same_table(table, back, COMPARED + ["annotation_id", "region_id", "result_type", "ground_truth"])
    assert pairs(back.attrs["assignments"]) == pairs(table.attrs["assignments"])
    # text, image URLs; a task without data (legacy completions) gets {"image": task}: Label Studio needs data
    assert {t: back.attrs["task_data"][t] for t in table.attrs["task_data"]} == table.attrs["task_data"]
    assert back.attrs["task_ids"] == table.attrs["task_ids"]
    if "ls_predictions" in table.attrs:
        a = read_label_studio_predictions(src, errors="warn")
        b = read_label_studio_predictions(tmp_path / "out.json")
        cols = ["task", "model", "label", "score", "field", "x_min", "y_min", "x_max", "y_max", "rotation"]
        assert_same_table(a.drop(columns="annotator"), b.drop(columns="annotator"), cols)


def test_leoka_adjudicated_round_trip(realworld_exports, tmp_path):
    """Adjudicate: keep the ground-truth annotation of each task, fix one span's label."""
    table = read(realworld_exports / LS / LS_FILES[0][0])
    gt = table[table["ground_truth"].fillna(False).astype(bool)].copy()
    assert gt["task"].nunique() == 130  # SOURCE.md: exactly one ground-truth annotation per task
    span = gt.index[gt["kind"].eq("span")][0]
    gt.loc[span, "label"] = "Reviewed"
    gt.attrs["assignments"] = gt[["task", "annotator", "annotation_id"]].drop_duplicates()
    p = write_label_studio(gt, tmp_path / "adjudicated.json")
    back = read(p)
    assert_same_table(gt, back)
    assert (back["label"] == "Reviewed").sum() == 1
    assert set(back["kind"]) == {"span", "multilabel"} and back["taxonomy_path"].dropna().map(type).eq(tuple).all()
    raw = json.loads(p.read_text())
    res = raw[0]["annotations"][0]["result"]
    types = {r["type"] for r in res}
    assert types == {"labels", "taxonomy"} and raw[0]["data"]["text"].startswith(table.attrs["task_data"][raw[0]["id"]]["text"][:20])
    span_res = next(r for r in res if r["type"] == "labels")
    assert {"start", "end", "text", "labels"} <= set(span_res["value"]) and span_res["to_name"] == "text"


def test_evalme_adjudicated_round_trip(realworld_exports, tmp_path):
    """Adjudicate boxes: delete one box, relabel another; the others are untouched."""
    table = read(realworld_exports / LS / LS_FILES[1][0])
    edited = table.drop(index=table.index[0]).copy()
    edited.loc[edited.index[0], "label"] = "Fixed"
    back = read(write_label_studio(edited, tmp_path / "adj.json"))
    assert_same_table(edited, back)
    assert len(back) == 90 and (back["label"] == "Fixed").sum() == 1


def test_reviews_and_history_are_tidy_tables(realworld_exports):
    rv = read(realworld_exports / LS / "lssdk_csv_test__bbox_reviews_prediction.json", errors="warn").attrs["reviews"]
    # the file: annotation 7 of task 1 rejected by review@heartex.com (review 28)
    first = rv.set_index("review_id").loc[28]
    assert (first["task"], first["annotation_id"], first["reviewer"], first["accepted"]) == (
        1, 7, "review@heartex.com", False)
    assert list(rv.columns[:6]) == ["task", "annotation_id", "annotator", "review_id", "reviewer", "accepted"]
    h = read(realworld_exports / LS / "lssdk_csv_test_history__choices_history.json").attrs["history"]
    assert h[["task", "annotation_id", "history_id", "action", "created_by", "n_results"]].values.tolist() == [
        [6141, 18047, 18070, "submitted", 14, 1]]
    # attrs survive pandas operations (pd.concat compares attrs)
    t = read(realworld_exports / LS / "lssdk_csv_test_history__choices_history.json")
    assert pd.concat([t, t]).attrs["history"] is h or len(pd.concat([t, t]).attrs["history"]) == 1


def test_escalation_export_from_a_real_export(realworld_exports):
    table = read(realworld_exports / LS / LS_FILES[1][0])
    queue = pd.DataFrame({"task": sorted(table["task"].unique())[:2], "priority": [0.9, 0.5]})
    tasks = to_label_studio_tasks(queue, data=table)
    assert [t["id"] for t in tasks] == queue["task"].tolist()
    assert all(t["data"]["image"] == table.attrs["task_data"][t["id"]]["image"] for t in tasks)


def test_shapes_label_studio_cannot_hold_are_refused(realworld_exports, tmp_path):
    t = read(realworld_exports / "label_studio/frontend_fixtures/lsf_examples_image_ellipses_annotations_1.json")
    with pytest.raises(AnnotationFormatError, match=r"field 'tag'.*'ellipselabels'.*does not keep its geometry"):
        write_label_studio(t, tmp_path / "x.json")


@pytest.mark.parametrize("name", COCO, ids=[n.split("__")[0] for n in COCO])
def test_coco_export_round_trips(realworld_exports, tmp_path, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        table = read_coco(realworld_exports / "coco" / name, errors="warn")
        back = read_coco(write_coco(table, tmp_path / "out.json"), annotator=table["annotator"].iloc[0])
    assert_same_table(table, back, COMPARED + ["image_id", "annotation_id", "category_id", "iscrowd", "area",
                                               "segmentation_type", "n_polygons", "num_keypoints"])
