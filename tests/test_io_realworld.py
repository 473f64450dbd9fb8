"""Every real export in ../shared/realworld_exports imports with the right counts.

Expected numbers were counted from the files (SOURCE.md gives tasks / annotations /
annotators / result counts; label rows = one per label in each result's label list,
one per taxonomy path) — not from the reader's output.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from qa_toolkit import AnnotationFormatError
from qa_toolkit.io import detect_format, read_annotations, read_predictions
from qa_toolkit.table import AnnotationWarning

LS = "label_studio/json/"
MIN = "label_studio/json_min_csv_by_converter/"
FF = "label_studio/frontend_fixtures/"

# file, format, rows, tasks, annotators, distinct labels, rows dropped under errors='warn'
CASES = [
    # SOURCE.md: 130 tasks, 332 annotations, 3 annotators, 2626 `labels` + 330 `taxonomy`
    # results holding 1571 paths; one span labelled 3x in one annotation -> 2 duplicates.
    (LS + "leoka_team_6__ner_taxonomy_multiannotator_gt.json", "label_studio", 4195, 130, 3, 28, 2),
    # SOURCE.md: 5 tasks x 3 annotators, 91 rectanglelabels (Car/Truck/...)
    (LS + "evalme_test_bbox__3annotators_predictions.json", "label_studio", 91, 5, 3, 3, 0),
    # legacy `completions`, list-of-lists results: Neutral / Evil / Evil+Neutral, one empty task
    (LS + "evalme_test_old_format__legacy_completions.json", "label_studio", 4, 1, 1, 2, 0),
    (LS + "ls_main_previous_export__single_task_dict.json", "label_studio", 1, 1, 1, 1, 0),
    (LS + "lsexamples_modelmonitoring_ls_data__textarea_prediction_ids.json", "label_studio", 4, 4, 1, 4, 0),
    # 36 choices results per turn, two of them with two choices -> 38 labels
    (LS + "lsexamples_multi_turn_chat_labeled_results__choices_perturn.json", "label_studio", 38, 3, 1, 12, 0),
    (LS + "lssdk_csv_test2__textarea_json_fields.json", "label_studio", 1, 1, 1, 1, 0),
    # 3 rectanglelabels, one lies partly outside its image -> dropped under 'warn'
    (LS + "lssdk_csv_test__bbox_reviews_prediction.json", "label_studio", 2, 2, 1, 1, 1),
    (LS + "lssdk_csv_test_history__choices_history.json", "label_studio", 1, 1, 1, 1, 0),
    # rect + polygon + 2 keypoints, no completed_by -> 'unknown'
    (LS + "lssdk_export_coco_data__rect_polygon_keypoint.json", "label_studio", 4, 1, 1, 4, 0),
    (LS + "lssdk_json_min_data_repeater__bbox_taxonomy_repeater.json", "label_studio", 2, 1, 1, 2, 0),
    (LS + "lssdk_yolo_data__bbox_2annotators.json", "label_studio", 6, 2, 2, 2, 0),
    # 3 keypoints + 1 rectangle; 5 relations kept out
    (LS + "lssdk_yolo_data_keypoints__keypoints_relations.json", "label_studio", 4, 1, 1, 4, 0),
    (LS + "lssdk_yolo_data_obb__rotated_bbox.json", "label_studio", 25, 3, 1, 2, 0),
    (LS + "lssdk_yolo_data_polygons__polygon.json", "label_studio", 1, 1, 1, 1, 0),
    (LS + "maxkuklavod_cats_project-1-at-2025-06-19__bbox_ls1.19.json", "label_studio", 24, 14, 1, 2, 0),
    (LS + "maxkuklavod_news_project-14-at-2025-06-25__ner_russian.json", "label_studio", 7, 1, 1, 4, 0),
    # JSON_MIN / CSV derived by the official converter: same labels as the JSON exports
    (MIN + "evalme_test_bbox__3annotators_predictions.json_min.json", "label_studio_min", 91, 5, 3, 3, 0),
    (MIN + "evalme_test_bbox__3annotators_predictions.csv", "label_studio_csv", 91, 5, 3, 3, 0),
    (MIN + "leoka_team_6__ner_taxonomy_multiannotator_gt.json_min.json", "label_studio_min", 4195, 130, 3, 28, 2),
    (MIN + "leoka_team_6__ner_taxonomy_multiannotator_gt.csv", "label_studio_csv", 4195, 130, 3, 28, 2),
    (MIN + "lssdk_yolo_data__bbox_2annotators.json_min.json", "label_studio_min", 6, 2, 2, 2, 0),
    (MIN + "lssdk_yolo_data__bbox_2annotators.csv", "label_studio_csv", 6, 2, 2, 2, 0),
    (MIN + "maxkuklavod_cats_project-1-at-2025-06-19__bbox_ls1.19.json_min.json", "label_studio_min", 24, 14, 1, 2, 0),
    (MIN + "maxkuklavod_cats_project-1-at-2025-06-19__bbox_ls1.19.csv", "label_studio_csv", 24, 14, 1, 2, 0),
    # frontend fixtures (no completed_by -> 'unknown')
    (FF + "lsf_examples_audio_regions_annotations_1.json", "label_studio", 3, 1, 1, 3, 0),
    (FF + "lsf_examples_audio_video_paragraphs_annotations_1.json", "label_studio", 2, 1, 1, 2, 0),
    (FF + "lsf_examples_classification_mixed_annotations_1.json", "label_studio", 6, 1, 1, 6, 0),
    (FF + "lsf_examples_dialogue_analysis_annotations_1.json", "label_studio", 2, 1, 1, 2, 0),
    (FF + "lsf_examples_image_ellipses_annotations_1.json", "label_studio", 2, 1, 1, 2, 0),
    (FF + "lsf_examples_timeseries_annotations_1.json", "label_studio", 2, 1, 1, 2, 0),
    # CVAT: 14 images / 24 boxes, owner copperious
    ("cvat/images/maxkuklavod_cats_cvat_job_annotations.xml", "cvat", 24, 14, 1, 2, 0),
    # 3 subsets x 2 images, each with 2 shapes
    ("cvat/images/datumaro_cvat_project_export_annotations.xml", "cvat", 12, 6, 1, 2, 0),
    # 2 images x 2 shapes, the polyline and polygon have label="" -> skipped under 'warn'
    ("cvat/images/datumaro_cvat_task_export_train.xml", "cvat", 2, 2, 1, 2, 0),
    # 3 tracks, 7 frames of which 4 are outside=1 -> 3 per-frame shapes on frames 10 and 13
    ("cvat/video/datumaro_cvat_video_task_annotations.xml", "cvat", 3, 2, 1, 2, 0),
    # COCO: 1 image, 16 annotations (15 polygons + 1 crowd RLE), labels person/... (3 categories used)
    ("coco/cocoapi_instances_val2017_1img_sample__official_coco.json", "coco", 16, 1, 1, 3, 0),
    ("coco/cocoapi_stuff_examples__compressed_rle.json", "coco", 17, 2, 1, 16, 0),
    ("coco/datumaro_coco_instances_val__polygon_rle_attributes.json", "coco", 2, 1, 1, 2, 0),
    ("coco/lssdk_coco_import_input__coco_annotator_export.json", "coco", 2, 2, 1, 2, 0),
    # doccano: 454 lines, 444 spans on 231 documents (223 have an empty label list), one user
    # (the file stem), 7 entity types
    ("doccano/bsner_bw_admin__doccano_seq_labeling.jsonl", "doccano", 444, 231, 1, 7, 0),
]


@pytest.mark.parametrize("rel,fmt,rows,tasks,annotators,labels,dropped", CASES, ids=[c[0].split("/")[-1][:40] for c in CASES])
def test_real_export_counts(realworld_exports, rel, fmt, rows, tasks, annotators, labels, dropped):
    path = realworld_exports / rel
    assert detect_format(path) == fmt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        df = read_annotations(path, errors="warn")
    assert len(df) == rows
    assert df["task"].nunique() == tasks
    assert df["annotator"].nunique() == annotators
    assert df["label"].nunique() == labels
    assert df[["task", "annotator", "label"]].notna().all().all()
    assert (df["source"] == path.name).all()
    if dropped:  # the default policy raises on the same problem, naming the file
        # (exact duplicate regions are kept once with a counted warning unless duplicates='raise')
        strict = {"duplicates": "raise"} if "leoka" in rel else {}
        with pytest.raises(AnnotationFormatError, match=re.escape(path.name)):
            read_annotations(path, **strict)


def test_leoka_details(realworld_exports):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        df = read_annotations(realworld_exports / CASES[0][0], errors="warn")
    assert df["annotation_id"].nunique() == 332  # SOURCE.md: 332 annotations
    assert (df["result_type"] == "labels").sum() == 2626 - 2  # 2626 spans, 2 duplicate
    assert (df["result_type"] == "taxonomy").sum() == 1571
    assert "Killed/Feloniously Killed" in set(df.loc[df["result_type"] == "taxonomy", "label"])
    gt = df.drop_duplicates("annotation_id")
    assert int(gt["ground_truth"].sum()) == 130  # one GT annotation per task
    assert gt["lead_time"].min() == pytest.approx(41.7, abs=0.05)
    assert str(df["created_at"].dt.tz) == "UTC"
    spans = df[df["result_type"] == "labels"]
    assert (spans["end"] > spans["start"]).all()
    assert set(df["annotator"]) == {f"annotator{i}@example.org" for i in (1, 2, 3)}


def test_evalme_boxes_in_pixels(realworld_exports):
    df = read_annotations(realworld_exports / CASES[1][0])
    assert (df["image_width"] == 320).all() and (df["image_height"] == 240).all()
    assert (df["x_min"] >= 0).all() and (df["x_max"] <= 320 + 1e-9).all()
    assert df.groupby("task")["annotator"].nunique().eq(3).all()
    assert df["annotation_id"].nunique() == 15


def test_evalme_predictions(realworld_exports):
    p = read_predictions(realworld_exports / CASES[1][0])
    assert len(p) == 30 and p["task"].nunique() == 5  # SOURCE.md: 5 predictions, 30 regions
    assert set(p["model"]) == {"1"}  # model_version is the int 1
    assert p["score"].between(0, 1).all()
    assert {"x_min", "y_min", "x_max", "y_max"} <= set(p.columns)


def test_prediction_score_region_over_task(realworld_exports):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        p = read_predictions(realworld_exports / LS / "lssdk_csv_test__bbox_reviews_prediction.json", errors="warn")
    assert len(p) == 2 and p["x_min"].notna().all()  # size taken from the task's annotations


def test_prediction_ids_only_reported(realworld_exports):
    path = realworld_exports / LS / "lsexamples_modelmonitoring_ls_data__textarea_prediction_ids.json"
    with pytest.warns(AnnotationWarning, match="bare ids"), pytest.raises(AnnotationFormatError, match="no annotations"):
        read_predictions(path)


@pytest.mark.parametrize("name", ["lsf_examples_pairwise_annotations_1.json", "lsf_examples_ranker_annotations_1.json",
                                  "lsf_examples_video_bboxes_annotations_1.json"])
def test_frontend_fixtures_without_labels(realworld_exports, name):
    with pytest.warns(AnnotationWarning, match="without a label kept out"), \
            pytest.raises(AnnotationFormatError, match="no annotations found"):
        read_annotations(realworld_exports / FF / name)


def test_chatmessage_without_labels(realworld_exports):
    with pytest.warns(AnnotationWarning, match="'chatmessage'"), pytest.raises(AnnotationFormatError):
        read_annotations(realworld_exports / LS / "lssdk_json_min_chat_data__chatmessage.json")


def test_export_info_is_not_an_export(realworld_exports):
    with pytest.raises(AnnotationFormatError, match="JSON object of no known annotation format"):
        read_annotations(realworld_exports / LS / "maxkuklavod_cats_project-1-at-2025-06-19__export_info.json")


def test_converter_tsv_has_no_label_column(realworld_exports):
    # The converter's expected TSV dropped the only choice (`uri_selection`): nothing to import.
    path = realworld_exports / "label_studio/csv/lssdk_csv_test2_result__converter_tsv_output.tsv"
    assert detect_format(path) == "label_studio_csv"
    with pytest.raises(AnnotationFormatError, match="found no annotation field"):
        read_annotations(path)


def test_textarea_json_min_needs_fields(realworld_exports):
    path = realworld_exports / MIN / "lsexamples_modelmonitoring_ls_data__textarea_prediction_ids.json_min.json"
    with pytest.raises(AnnotationFormatError, match="fields="):
        read_annotations(path)
    df = read_annotations(path, fields=["answer"])
    assert len(df) == 4 and df["task"].nunique() == 4 and set(df["annotator"]) == {"1"}
    csv = read_annotations(path.with_name(path.name.replace(".json_min.json", ".csv")), fields=["answer"])
    assert sorted(csv["label"]) == sorted(df["label"])


def test_json_min_and_csv_match_json(realworld_exports):
    full = read_annotations(realworld_exports / CASES[1][0])
    for rel in (CASES[17][0], CASES[18][0]):
        other = read_annotations(realworld_exports / rel)
        cols = ["task", "annotator", "label", "x_min", "y_min", "x_max", "y_max"]
        a = full[cols].sort_values(cols[:4]).reset_index(drop=True)
        b = other[cols].sort_values(cols[:4]).reset_index(drop=True)
        assert (a[cols[:3]].astype(str) == b[cols[:3]].astype(str)).all().all()
        np.testing.assert_allclose(a[cols[3:]].to_numpy(float), b[cols[3:]].to_numpy(float), atol=1e-6)


def test_cvat_annotator_and_sizes(realworld_exports):
    df = read_annotations(realworld_exports / CASES[31][0])
    assert set(df["annotator"]) == {"copperious"}  # <owner>; <assignee> is empty
    assert (df["shape"] == "box").all() and df["image_width"].notna().all()
    assert set(read_annotations(realworld_exports / CASES[32][0])["annotator"]) == {"tester"}


def test_cvat_video_per_frame(realworld_exports):
    with pytest.warns(AnnotationWarning, match="outside=1"):
        df = read_annotations(realworld_exports / CASES[34][0])
    assert sorted(df["task"].unique()) == ["frame_10", "frame_13"]
    assert set(df["track_id"]) == {"0", "1", "2"}
    assert set(df["annotator"]) == {"max"}


def test_cvat_empty_label_raises_with_line(realworld_exports):
    with pytest.raises(AnnotationFormatError, match=r"datumaro_cvat_task_export_train\.xml: image 'img0\.jpg', <polyline> #1 \(line 50\)"):
        read_annotations(realworld_exports / CASES[33][0])


def test_coco_rle_and_iscrowd(realworld_exports):
    df = read_annotations(realworld_exports / CASES[35][0])
    assert (df["segmentation_type"] == "rle").sum() == 1 and df["iscrowd"].sum() == 1
    assert (df["segmentation_type"] == "polygon").sum() == 15
    assert df.loc[df["segmentation_type"] == "polygon", "points"].map(len).min() >= 3
    stuff = read_annotations(realworld_exports / CASES[36][0])
    assert (stuff["segmentation_type"] == "rle").all()
    annot = read_annotations(realworld_exports / CASES[38][0])  # iscrowd is the string "false"
    assert annot["iscrowd"].eq(False).all()


def test_cross_tool_cats_ls_vs_cvat(realworld_exports):
    """The same 14 photos, boxed in Label Studio (percent) and in CVAT (pixels).

    The boxes were drawn separately in each tool, so they agree in image size, label and
    count exactly but in position only roughly (up to ~200 px on 3-6k px photos): we require
    IoU > 0.8 for every matched pair and a median > 0.9 (a wrong percent→pixel conversion
    gives IoU near 0).
    """
    import json

    ls_path = realworld_exports / CASES[15][0]
    ls = read_annotations(ls_path)
    cv = read_annotations(realworld_exports / CASES[31][0])
    tasks = json.loads(ls_path.read_text())
    name = {t["id"]: re.sub(r"^[0-9a-f]{8}-", "", t["data"]["image"].split("/")[-1]) for t in tasks}
    ls["image"] = ls["task"].map(name)
    assert set(ls["image"]) == set(cv["task"]) and len(ls) == len(cv) == 24
    ious = []
    for img, b in cv.groupby("task"):
        a = ls[ls["image"] == img].sort_values(["label", "x_min"])
        b = b.sort_values(["label", "x_min"])
        assert list(a["label"]) == list(b["label"])
        assert (a["image_width"].to_numpy() == b["image_width"].astype(float).to_numpy()).all()
        p, q = a[["x_min", "y_min", "x_max", "y_max"]].to_numpy(), b[["x_min", "y_min", "x_max", "y_max"]].to_numpy()
        iw = np.clip(np.minimum(p[:, 2], q[:, 2]) - np.maximum(p[:, 0], q[:, 0]), 0, None)
        ih = np.clip(np.minimum(p[:, 3], q[:, 3]) - np.maximum(p[:, 1], q[:, 1]), 0, None)
        inter = iw * ih
        area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
        ious.extend(inter / (area(p) + area(q) - inter))
    assert min(ious) > 0.8, min(ious)  # measured 0.836
    assert np.median(ious) > 0.9, np.median(ious)


def test_doccano_spans(realworld_exports):
    path = realworld_exports / "doccano/bsner_bw_admin__doccano_seq_labeling.jsonl"
    with pytest.warns(AnnotationWarning, match="223 document"):
        df = read_annotations(path, annotator="admin")
    assert set(df["annotator"]) == {"admin"}
    assert (df["end"] > df["start"]).all() and df["text"].str.len().eq(df["end"] - df["start"]).all()
