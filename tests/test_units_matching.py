"""Cross-annotator matching and geometry (issue 11), checked against shapely, scipy and pycocotools."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from qa_toolkit import AnnotationFormatError
from qa_toolkit.units import match_objects, to_units
from qa_toolkit.units.geometry import (
    COCO_SIGMAS,
    box_iou_pairs,
    oks,
    prepare_geometry,
    rotated_box_polygons,
)


def boxes(rows):
    return pd.DataFrame(rows, columns=["task", "annotator", "label", "x_min", "y_min", "x_max", "y_max"])


def test_three_annotators_one_object_and_a_lone_box():
    df = boxes([(1, "a", "car", 0, 0, 10, 10), (1, "b", "car", 1, 0, 10, 10), (1, "c", "car", 0, 1, 10, 10),
                (1, "a", "car", 50, 50, 60, 60)])
    obj, pairs = match_objects(df, "box")
    assert obj.tolist() == [0, 0, 0, 1]
    assert len(pairs) == 3 and pairs["iou"].round(4).tolist() == [0.9, 0.9, 0.8182]  # 81 / 99


def test_one_region_per_annotator_per_object():
    # a drew two near-duplicates of b's box: only the better one joins b's object
    df = boxes([(1, "b", "car", 0, 0, 10, 10), (1, "a", "car", 0, 0, 10, 9), (1, "a", "car", 0, 0, 10, 8)])
    obj, _ = match_objects(df, "box")
    assert obj[0] == obj[1] and obj[2] != obj[0]


def test_complete_linkage_breaks_chains():
    # a~b and b~c clear 0.5 but a~c does not: not one object
    df = boxes([(1, "a", "x", 0, 0, 10, 10), (1, "b", "x", 2, 0, 12, 10), (1, "c", "x", 4, 0, 14, 10)])
    iou = box_iou_pairs(df.iloc[[0, 1, 0]][["x_min", "y_min", "x_max", "y_max"]].to_numpy(float),
                        df.iloc[[1, 2, 2]][["x_min", "y_min", "x_max", "y_max"]].to_numpy(float))
    assert iou[0] >= 0.5 and iou[1] >= 0.5 and iou[2] < 0.5
    obj, _ = match_objects(df, "box")
    assert len(set(obj.tolist())) == 2


def test_label_aware_matching():
    df = boxes([(1, "a", "car", 0, 0, 10, 10), (1, "b", "bus", 0, 0, 10, 10)])
    assert len(set(match_objects(df, "box")[0].tolist())) == 1
    assert len(set(match_objects(df, "box", label_aware=True)[0].tolist())) == 2


def test_rotated_box_turned_90_degrees_is_no_longer_iou_1():
    df = boxes([(1, "a", "x", 0, 0, 10, 4), (1, "b", "x", 0, 0, 10, 4)]).assign(rotation=[0.0, 90.0])
    g = prepare_geometry(df, "box", field="f", func="test")
    t = np.zeros(2, dtype=int)
    assert g.similarity(np.array([0]), np.array([1]), t)[0] == pytest.approx(0.0)
    assert len(set(match_objects(df, "box")[0].tolist())) == 2
    same = df.assign(rotation=[0.0, 360.0])
    g = prepare_geometry(same, "box", field="f", func="test")
    assert g.similarity(np.array([0]), np.array([1]), t)[0] == pytest.approx(1.0)


def test_rotated_iou_matches_shapely_affinity():
    import shapely
    from shapely import affinity

    df = boxes([(1, "a", "x", 10, 10, 50, 30), (1, "b", "x", 10, 10, 50, 30)]).assign(rotation=[0.0, 30.0])
    g = prepare_geometry(df, "box", field="f", func="test")
    got = g.similarity(np.array([0]), np.array([1]), np.zeros(2, dtype=int))[0]
    a = shapely.box(10, 10, 50, 30)
    b = affinity.rotate(a, 30, origin=(10, 10))  # y down: positive angle = clockwise on screen
    ref = a.intersection(b).area / a.union(b).area
    assert got == pytest.approx(ref, rel=1e-9)
    mine = rotated_box_polygons(np.array([[10.0, 10, 50, 30]]), np.array([30.0]))[0]
    assert mine.symmetric_difference(b).area < 1e-9


def test_two_annotators_equal_hungarian_matching(rng):
    """With separated objects, matching equals scipy's linear_sum_assignment at IoU >= 0.5."""
    n_obj = 60
    xy = np.stack(np.meshgrid(np.arange(10) * 100, np.arange(6) * 100), -1).reshape(-1, 2)[:n_obj].astype(float)
    rows = []
    for a in ("a", "b"):
        keep = rng.random(n_obj) < 0.8
        j = rng.normal(0, 6, (n_obj, 4))
        for k in np.flatnonzero(keep):
            rows.append((k // 20, a, "x", xy[k, 0] + j[k, 0], xy[k, 1] + j[k, 1], xy[k, 0] + 50 + j[k, 2],
                         xy[k, 1] + 50 + j[k, 3]))
    df = boxes(rows)
    obj, pairs = match_objects(df, "box")
    ours = {(int(r.row_a), int(r.row_b)) for r in pairs.itertuples()}
    ref = set()
    c = df[["x_min", "y_min", "x_max", "y_max"]].to_numpy(float)
    for _, idx in df.groupby("task").indices.items():
        ia = idx[df["annotator"].to_numpy()[idx] == "a"]
        ib = idx[df["annotator"].to_numpy()[idx] == "b"]
        m = np.array([[box_iou_pairs(c[[i]], c[[j]])[0] for j in ib] for i in ia])
        r, k = linear_sum_assignment(-m)
        ref |= {tuple(sorted((int(ia[x]), int(ib[y])))) for x, y in zip(r, k) if m[x, y] >= 0.5}
    assert {tuple(sorted(p)) for p in ours} == ref and len(ref) > 20


def test_span_matching_and_absent():
    df = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "b", "a"], "label": ["PER", "PER", "LOC"],
                       "start": [0, 0, 20], "end": [10, 8, 25]})
    u = to_units(df)
    assert u["unit"].nunique() == 2
    lone = u.loc[u["object"] == 1].set_index("annotator")["value"]
    assert lone.to_dict() == {"a": "LOC", "b": "<absent>"}


def test_degenerate_polygon_raises_naming_field_and_record():
    df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", "x"], "field": "seg",
                       "kind": "polygon", "annotation_id": [11, 12],
                       "points": [((0, 0), (10, 0), (10, 10)), ((0, 0), (5, 5), (10, 10))]})
    with pytest.raises(AnnotationFormatError, match=r"field 'seg', task 1, annotator 'b', annotation 12.*degenerate"):
        to_units(df)


def test_keypoints_without_visibility_raise():
    df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["p", "p"], "kind": "keypoints",
                       "keypoints": [((0, 0), (1, 1)), ((0, 0), (1, 1))]})
    with pytest.raises(AnnotationFormatError, match="visibility"):
        to_units(df)


def test_oks_matches_pycocotools_computeoks(rng):
    """Our OKS against pycocotools COCOeval.computeOks on 17-keypoint persons."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gts, dts = [], []
    for i in range(6):
        base = rng.uniform(50, 300, (17, 2))
        v = rng.choice([0, 1, 2], 17, p=[0.2, 0.2, 0.6])
        kp = np.column_stack([base, v]).ravel().tolist()
        gts.append({"id": i + 1, "image_id": 1, "category_id": 1, "keypoints": kp, "num_keypoints": int((v > 0).sum()),
                    "area": float(rng.uniform(5000, 20000)), "bbox": [50, 50, 250, 250], "iscrowd": 0})
        d = base + rng.normal(0, 8, (17, 2))
        dts.append({"id": i + 1, "image_id": 1, "category_id": 1, "score": 1.0,
                    "keypoints": np.column_stack([d, np.full(17, 2)]).ravel().tolist()})
    coco = COCO()
    coco.dataset = {"images": [{"id": 1, "width": 400, "height": 400}], "categories": [{"id": 1, "name": "person"}],
                    "annotations": gts}
    coco.createIndex()
    cdt = coco.loadRes(dts)
    ev = COCOeval(coco, cdt, iouType="keypoints")
    ev.params.imgIds = [1]
    ev._prepare()
    ref = np.asarray(ev.computeOks(1, 1))  # (n_dt, n_gt), dts sorted by score (all 1.0: stable order)
    ours = np.array([[oks(np.reshape(g["keypoints"], (17, 3)), np.reshape(d["keypoints"], (17, 3)), area=g["area"])
                      for g in gts] for d in dts])
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    assert COCO_SIGMAS.shape == (17,)


def test_polygon_iou_agrees_with_pycocotools_mask_iou_on_real_coco(realworld_exports):
    """shapely polygon IoU vs pycocotools RLE IoU: each real COCO polygon against itself shifted by 4 px."""
    from pycocotools import mask as mask_utils

    path = realworld_exports / "coco/cocoapi_instances_val2017_1img_sample__official_coco.json"
    coco = json.loads(path.read_text())
    img = coco["images"][0]
    h, w = img["height"], img["width"]
    anns = [a for a in coco["annotations"] if isinstance(a["segmentation"], list) and a["area"] > 500]
    assert len(anns) >= 3
    rows = []
    for k, a in enumerate(anns):
        pts = np.reshape(a["segmentation"][0], (-1, 2))
        for who, shift in (("a", 0.0), ("b", 4.0)):
            rows.append({"task": k, "annotator": who, "label": "x", "image_height": h, "image_width": w,
                         "points": tuple(map(tuple, pts + shift))})
    df = pd.DataFrame(rows)
    i, j = np.arange(0, len(df), 2), np.arange(1, len(df), 2)
    t = df["task"].to_numpy()
    ours = prepare_geometry(df, "polygon", field="f", func="test").similarity(i, j, t)
    rles = [mask_utils.merge(mask_utils.frPyObjects([list(np.ravel(p))], h, w)) for p in df["points"]]
    ref = np.array([np.asarray(mask_utils.iou([rles[x]], [rles[y]], [0])).item() for x, y in zip(i, j)])
    assert (ref > 0.3).all()
    np.testing.assert_allclose(ours, ref, atol=0.03)  # exact area vs rasterised pixels
    # an 'rle' column makes the field a mask field: IoU is pycocotools' own
    masks = prepare_geometry(df.assign(rle=rles), "polygon", field="f", func="test")
    np.testing.assert_allclose(masks.similarity(i, j, t), ref, atol=1e-12)


def test_real_masks_bubil_mean_pairwise_iou(shared_datasets):
    """BU-BIL Dataset 1: 10 expert masks per image; SOURCE.md measured mean pairwise IoU 0.758, min 0.362."""
    from PIL import Image
    from pycocotools import mask as mask_utils

    from qa_toolkit.units.reduce import region_units

    root = shared_datasets / "bubil_gurari2015_cell_masks/BU-BIL_Dataset1/ExpertsAnnotations"
    rows = []
    for d in sorted(root.iterdir()):
        for f in sorted(d.glob("*.png")):
            if f.stem.lower() not in {f"seg_b0{k}" for k in range(1, 7)}:  # 6 images keep the test short
                continue
            m = np.asarray(Image.open(f).convert("L")) < 128  # object = black
            rows.append({"task": f.stem.lower(), "annotator": d.name, "label": "cell",
                         "rle": mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))})
    df = pd.DataFrame(rows).assign(kind="polygon")
    u, pairs = region_units(df, iou_threshold=0.3)
    assert u["unit"].nunique() == df["task"].nunique()  # all 10 experts matched into one object per image
    assert len(pairs) == 45 * df["task"].nunique()
    assert 0.6 < pairs["iou"].mean() < 0.9 and pairs["iou"].min() >= 0.3
