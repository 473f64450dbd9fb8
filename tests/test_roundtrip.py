"""Lossless round trip (issue #13): read(write(table)) == table for every kind, Label Studio and COCO.

The property compares the columns the issue names: task, annotator, field, kind, label,
geometry (boxes with rotation, polygons, keypoints, masks), spans (start, end, text),
ratings (value) and taxonomy paths; plus the assignments (empty annotations).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

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

COMPARED = ["task", "annotator", "field", "kind", "label", "x_min", "y_min", "x_max", "y_max", "rotation",
            "points", "more_polygons", "rle", "keypoints", "start", "end", "text", "value", "taxonomy_path",
            "image_width", "image_height"]
DOC = "Officer Smith was injured on September 17 during a pursuit in Tucson, Arizona."
W, H = 640.0, 480.0


def _cell(v, col):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    if col in ("points", "keypoints"):
        return tuple(tuple(round(float(x), 6) for x in p) for p in v)
    if col == "more_polygons":
        return tuple(tuple(tuple(round(float(x), 6) for x in p) for p in poly) for poly in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    if isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)):
        return round(float(v), 6)  # 32 and 32.0 are one size
    if isinstance(v, np.generic):
        return v.item()
    return v


def normalise(df: pd.DataFrame, cols: list[str] | None = None) -> pd.DataFrame:
    """The compared columns, cells rounded to 1e-6 (percent ↔ pixel conversions), rows sorted."""
    cols = [c for c in (cols or COMPARED) if c in df.columns]
    out = pd.DataFrame({c: [_cell(v, c) for v in df[c]] for c in cols}, dtype=object)
    key = out.map(repr).agg("|".join, axis=1)
    return out.assign(_k=key.to_numpy()).sort_values("_k").drop(columns="_k").reset_index(drop=True)


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame, cols: list[str] | None = None) -> None:
    """Same compared columns, same rows (order-free), cell by cell."""
    na, nb = normalise(a, cols), normalise(b, cols)
    assert list(na.columns) == list(nb.columns)
    ra, rb = [r.to_dict() for _, r in na.iterrows()], [r.to_dict() for _, r in nb.iterrows()]
    assert len(na) == len(nb), (f"{len(na)} rows written, {len(nb)} read back; lost {[r for r in ra if r not in rb]}, "
                                f"new {[r for r in rb if r not in ra]}")
    for c in na.columns:
        diff = [(x, y) for x, y in zip(na[c], nb[c]) if repr(x) != repr(y)]
        assert not diff, f"column {c!r} differs: {diff[:3]}"


def pairs(assignments: pd.DataFrame) -> set:
    return {(str(t), str(a)) for t, a in zip(assignments["task"], assignments["annotator"])}


def read_quiet(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)  # notes: empty annotations, ids...
        return read_label_studio(path, **kw)


# --------------------------------------------------------------------------- the property

ANNOTATORS = ["alice@example.org", "17", "bob"]
#: no shrinking: a failing table is printed as is (shrinking these tables takes minutes)
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
coord = st.floats(0, 1, allow_nan=False).map(lambda v: round(v, 3))


@st.composite
def annotation_rows(draw, task: int, who: str) -> list[dict]:
    """One annotator's rows on one task: every kind, each field present or not."""
    rows: list[dict] = []
    base = {"task": task, "annotator": who}
    if draw(st.booleans()):
        rows.append({**base, "field": "sentiment", "kind": "categorical",
                     "label": draw(st.sampled_from(["pos", "neg", "neutral"]))})
    for lab in draw(st.sets(st.sampled_from(["a", "b", "c"]), max_size=3)):
        rows.append({**base, "field": "tags", "kind": "multilabel", "label": lab})
    for path in draw(st.sets(st.sampled_from([("Killed", "Feloniously"), ("Assaulted", "Injured"), ("Other",)]),
                             max_size=2)):
        rows.append({**base, "field": "topic", "kind": "multilabel", "label": "/".join(path), "taxonomy_path": path})
    for s, e in draw(st.sets(st.tuples(st.integers(0, 40), st.integers(1, 30)), max_size=2)):
        rows.append({**base, "field": "ner", "kind": "span", "label": draw(st.sampled_from(["Date", "Loc"])),
                     "start": s, "end": s + e, "text": DOC[s:s + e]})
    for _ in range(draw(st.integers(0, 2))):
        x0, y0, fw, fh = draw(coord), draw(coord), draw(coord), draw(coord)
        x, y = 0.2 * W + 0.4 * W * x0, 0.2 * H + 0.4 * H * y0  # rotated corners stay in the image
        rows.append({**base, "field": "bbox", "kind": "box", "label": draw(st.sampled_from(["Car", "Person"])),
                     "x_min": x, "y_min": y, "x_max": x + 1 + 0.1 * W * fw, "y_max": y + 1 + 0.1 * H * fh,
                     "rotation": draw(st.sampled_from([0.0, 12.5, 328.332])),
                     "image_width": W, "image_height": H})
    if draw(st.booleans()):
        n = draw(st.integers(3, 6))
        pts = tuple((W * draw(coord), H * draw(coord)) for _ in range(n))
        rows.append({**base, "field": "poly", "kind": "polygon", "label": "Roof", "points": pts,
                     "image_width": W, "image_height": H})
    if draw(st.booleans()):
        rows.append({**base, "field": "kp", "kind": "keypoints", "label": draw(st.sampled_from(["nose", "eye"])),
                     "points": ((W * draw(coord), H * draw(coord)),), "image_width": W, "image_height": H})
    if draw(st.booleans()):
        v = float(draw(st.integers(1, 5)))
        rows.append({**base, "field": "stars", "kind": "ordinal", "label": str(int(v)), "value": v})
    if draw(st.booleans()):
        v = draw(st.integers(-20, 20)) / 4
        rows.append({**base, "field": "score", "kind": "interval", "value": v,
                     "label": str(int(v)) if v.is_integer() else repr(v)})
    for t in draw(st.sets(st.sampled_from(["looks fine", "blurry", "ünïcode ✓"]), max_size=2)):
        rows.append({**base, "field": "comment", "kind": "text", "label": t})
    return rows


@st.composite
def tables(draw):
    rows: list[dict] = []
    assigned = []
    for task in draw(st.lists(st.integers(1, 10_000), min_size=1, max_size=4, unique=True)):
        for who in draw(st.lists(st.sampled_from(ANNOTATORS), min_size=1, max_size=3, unique=True)):
            assigned.append({"task": task, "annotator": who})
            rows += draw(annotation_rows(task, who))
    # a multilabel field is told apart from categorical by a multi-select: make sure one exists
    t0, w0 = assigned[0]["task"], assigned[0]["annotator"]
    rows = [r for r in rows if not (r["field"] == "tags" and r["task"] == t0 and r["annotator"] == w0)]
    rows += [{"task": t0, "annotator": w0, "field": "tags", "kind": "multilabel", "label": lab} for lab in "ab"]
    df = pd.DataFrame(rows)
    df = df[~df.map(repr).duplicated()].reset_index(drop=True)  # readers keep one of exact duplicate regions
    df.attrs["assignments"] = pd.DataFrame(assigned)
    df.attrs["task_data"] = {a["task"]: {"text": DOC, "image": f"https://example.org/{a['task']}.jpg"}
                             for a in assigned}
    return df


@settings(max_examples=40, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables())
def test_label_studio_round_trip_every_kind(tmp_path, table):
    path = write_label_studio(table, tmp_path / "rt.json")
    back = read_quiet(path)
    assert_same_table(table, back)
    assert pairs(back.attrs["assignments"]) == pairs(table.attrs["assignments"])  # empty annotations kept
    assert back.attrs["task_data"] == table.attrs["task_data"]
    # a second trip keeps the ids the first one gave (annotation and region ids)
    again = read_quiet(write_label_studio(back, tmp_path / "rt2.json"))
    assert_same_table(back, again, COMPARED + ["annotation_id", "region_id", "result_type"])


# --------------------------------------------------------------------------- the file written

@pytest.fixture
def mixed():
    rows = [
        {"task": 5, "annotator": "3", "field": "ner", "kind": "span", "label": "Date", "start": 29, "end": 41,
         "text": DOC[29:41]},
        {"task": 5, "annotator": "3", "field": "bbox", "kind": "box", "label": "Car", "x_min": 64.0, "y_min": 48.0,
         "x_max": 128.0, "y_max": 96.0, "rotation": 30.0, "image_width": W, "image_height": H},
        {"task": 5, "annotator": "3", "field": "tags", "kind": "multilabel", "label": "a"},
        {"task": 5, "annotator": "3", "field": "tags", "kind": "multilabel", "label": "b"},
        {"task": 5, "annotator": "3", "field": "topic", "kind": "multilabel", "label": "A/B",
         "taxonomy_path": ("A", "B")},
        {"task": 5, "annotator": "3", "field": "stars", "kind": "ordinal", "label": "4", "value": 4.0},
        {"task": 5, "annotator": "3", "field": "score", "kind": "interval", "label": "2.5", "value": 2.5},
        {"task": 5, "annotator": "3", "field": "poly", "kind": "polygon", "label": "Roof",
         "points": ((64.0, 48.0), (128.0, 48.0), (64.0, 96.0)), "image_width": W, "image_height": H},
        {"task": 5, "annotator": "3", "field": "kp", "kind": "keypoints", "label": "nose",
         "points": ((320.0, 240.0),), "image_width": W, "image_height": H},
    ]
    df = pd.DataFrame(rows)
    df.attrs["task_data"] = {5: {"text": DOC, "image": "https://example.org/5.jpg"}}
    df.attrs["assignments"] = pd.DataFrame({"task": [5, 5], "annotator": ["3", "carol@example.org"]})
    return df


def test_written_json_is_what_label_studio_imports(tmp_path, mixed):
    raw = json.loads(write_label_studio(mixed, tmp_path / "ls.json").read_text())
    assert len(raw) == 1 and raw[0]["id"] == 5
    assert raw[0]["data"] == {"text": DOC, "image": "https://example.org/5.jpg"}  # the item, not the task id
    done, empty = raw[0]["annotations"]
    assert done["completed_by"] == 3 and empty["completed_by"] == {"email": "carol@example.org"}
    assert empty["result"] == [] and done["ground_truth"] is False
    res = {r["from_name"]: r for r in done["result"]}
    assert res["ner"]["type"] == "labels" and res["ner"]["to_name"] == "text"
    assert res["ner"]["value"] == {"start": 29, "end": 41, "text": "September 17", "labels": ["Date"]}
    box = res["bbox"]
    assert box["type"] == "rectanglelabels" and box["to_name"] == "image"
    assert (box["original_width"], box["original_height"]) == (W, H)
    assert box["value"] == {"x": 10.0, "y": 10.0, "width": 10.0, "height": 10.0, "rotation": 30.0,
                            "rectanglelabels": ["Car"]}
    assert res["tags"]["value"] == {"choices": ["a", "b"]}  # all values in one result
    assert res["topic"]["type"] == "taxonomy" and res["topic"]["value"] == {"taxonomy": [["A", "B"]]}
    assert res["stars"]["type"] == "rating" and res["stars"]["value"] == {"rating": 4}
    assert res["score"]["type"] == "number" and res["score"]["value"] == {"number": 2.5}
    assert res["poly"]["value"]["points"] == [[10.0, 10.0], [20.0, 10.0], [10.0, 20.0]]
    assert res["kp"]["type"] == "keypointlabels" and (res["kp"]["value"]["x"], res["kp"]["value"]["y"]) == (50.0, 50.0)


def test_control_names_come_from_what_was_read(tmp_path):
    task = {"id": 9, "data": {"txt": "hello world"}, "annotations": [{"id": 4, "completed_by": 1, "result": [
        {"id": "r1", "type": "labels", "from_name": "ents", "to_name": "doc",
         "value": {"start": 0, "end": 5, "text": "hello", "labels": ["X"]}}]}]}
    src = tmp_path / "src.json"
    src.write_text(json.dumps([task]))
    t = read_label_studio(src)
    edited = t.assign(label="Y")  # an adjudicated fix
    out = json.loads(write_label_studio(edited, tmp_path / "out.json").read_text())[0]
    r = out["annotations"][0]["result"][0]
    assert (r["from_name"], r["to_name"], r["type"], r["id"]) == ("ents", "doc", "labels", "r1")
    assert out["data"] == {"txt": "hello world"} and out["annotations"][0]["id"] == 4
    assert read_label_studio(tmp_path / "out.json")["label"].tolist() == ["Y"]


def test_predictions_written_with_annotations(tmp_path):
    task = {"id": 2, "data": {"image": "x.jpg"},
            "annotations": [{"id": 1, "completed_by": 1, "result": [
                {"type": "choices", "from_name": "c", "to_name": "image", "value": {"choices": ["cat"]}}]}],
            "predictions": [{"model_version": "m1", "score": 0.8, "result": [
                {"type": "choices", "from_name": "c", "to_name": "image", "value": {"choices": ["dog"]}}]}]}
    (tmp_path / "src.json").write_text(json.dumps([task]))
    t = read_label_studio(tmp_path / "src.json")
    p = write_label_studio(t, tmp_path / "out.json")
    got = read_label_studio_predictions(p)
    assert got[["task", "model", "label", "score"]].values.tolist() == [[2, "m1", "dog", 0.8]]
    # a predictions table replaces them
    preds = pd.DataFrame({"task": [2], "model": ["m2"], "label": ["cat"], "score": [0.6], "field": ["c"]})
    got = read_label_studio_predictions(write_label_studio(t, tmp_path / "o2.json", predictions=preds))
    assert got[["model", "label", "score"]].values.tolist() == [["m2", "cat", 0.6]]


def test_writer_refuses_rows_it_cannot_write(tmp_path, mixed):
    mask = pd.DataFrame({"task": [1], "annotator": ["a"], "label": ["cat"], "field": ["segmentation"],
                         "kind": ["polygon"], "rle": [{"size": [2, 2], "counts": [1, 2, 1]}]})
    with pytest.raises(AnnotationFormatError, match=r"field 'segmentation'.*kind 'polygon'.*write_coco"):
        write_label_studio(mask, tmp_path / "x.json")
    no_size = mixed[mixed["field"] == "poly"].drop(columns=["image_width", "image_height"])
    with pytest.raises(AnnotationFormatError, match=r"image_width.*task 5, annotator '3'.*field 'poly'"):
        write_label_studio(no_size, tmp_path / "x.json")


# --------------------------------------------------------------------------- COCO

def test_coco_round_trip_polygon_rle_keypoints(tmp_path):
    t = pd.DataFrame({
        "task": ["a.jpg", "a.jpg", "b.jpg"], "annotator": ["ann"] * 3, "label": ["cat", "cat", "person"],
        "points": [((1.0, 1.0), (9.0, 1.0), (9.0, 7.0)), None, None],
        "more_polygons": [(((20.0, 20.0), (30.0, 20.0), (30.0, 30.0)),), None, None],
        "rle": [None, {"size": [4, 3], "counts": [5, 3, 4]}, None],
        "keypoints": [None, None, ((10.0, 12.0, 2.0), (0.0, 0.0, 0.0), (14.0, 15.0, 1.0))],
        "image_width": [32.0, 32.0, 64.0], "image_height": [32.0, 32.0, 48.0]})
    p = write_coco(t, tmp_path / "ann.json", keypoint_names={"person": ["nose", "l_eye", "r_eye"]})
    raw = json.loads(p.read_text())
    a0, a1, a2 = raw["annotations"]
    assert a0["segmentation"] == [[1.0, 1.0, 9.0, 1.0, 9.0, 7.0], [20.0, 20.0, 30.0, 20.0, 30.0, 30.0]]
    assert a0["bbox"] == [1.0, 1.0, 8.0, 6.0]  # from the polygon
    assert a1["segmentation"] == {"size": [4, 3], "counts": [5, 3, 4]} and a1["iscrowd"] == 1
    assert a1["bbox"] == [1.0, 1.0, 1.0, 3.0]  # runs are column-major: pixels 5..7 = column 1, rows 1..3
    assert a2["num_keypoints"] == 2 and a2["keypoints"] == [10, 12, 2, 0, 0, 0, 14, 15, 1]
    cat = {c["name"]: c for c in raw["categories"]}
    assert cat["person"]["keypoints"] == ["nose", "l_eye", "r_eye"]
    back = read_coco(p)
    assert_same_table(t, back, ["task", "annotator", "label", "points", "more_polygons", "rle", "keypoints",
                                "image_width", "image_height"])
    assert back["field"].tolist() == ["segmentation", "segmentation", "keypoints"]
    # a second trip keeps the COCO ids
    again = read_coco(write_coco(back, tmp_path / "ann2.json"), annotator="ann")
    assert_same_table(back, again, COMPARED + ["image_id", "annotation_id", "category_id", "iscrowd", "area"])


def test_coco_keeps_category_ids_and_renumbers_a_fixed_label(tmp_path):
    t = pd.DataFrame({"task": ["a.jpg", "a.jpg"], "annotator": ["x", "x"], "label": ["cat", "dog"],
                      "category_id": [7, 7], "x_min": [0.0, 2.0], "y_min": [0.0, 2.0],
                      "x_max": [1.0, 3.0], "y_max": [1.0, 3.0]})  # "dog" was "cat" (id 7) before review
    raw = json.loads(write_coco(t, tmp_path / "x.json").read_text())
    ids = {c["name"]: c["id"] for c in raw["categories"]}
    assert ids["cat"] == 7 and ids["dog"] == 8
    assert read_coco(tmp_path / "x.json")["label"].tolist() == ["cat", "dog"]


# --------------------------------------------------------------------------- escalation export

def test_escalation_export_carries_task_data_and_id(tmp_path, mixed):
    p = write_label_studio(mixed, tmp_path / "ls.json")
    data = read_quiet(p)
    queue = pd.DataFrame({"task": [5], "priority": [0.9], "reasons": ["split 2/1"], "escalate": [True]})
    (task,) = to_label_studio_tasks(queue, data=data, only="escalate")
    assert task["id"] == 5 and task["data"]["text"] == DOC and task["data"]["image"].endswith("5.jpg")
    assert task["meta"] == {"priority": 0.9, "reasons": "split 2/1", "task": 5}
    json.dumps(task)
    from qa_toolkit import triage

    with pytest.warns(DeprecationWarning, match="qa_toolkit.io.to_label_studio_tasks"):
        old = triage.to_label_studio_tasks(queue, data={5: {"text": DOC}})
    assert old[0]["data"]["text"] == DOC and old[0]["id"] == 5


def test_task_key_and_unannotated_tasks_round_trip(tmp_path):
    tasks = [{"id": 11, "data": {"image": "s3://b/1.jpg"}, "annotations": [{"id": 1, "completed_by": 2, "result": [
                {"type": "choices", "from_name": "c", "to_name": "image", "value": {"choices": ["cat"]}}]}]},
             {"id": 12, "data": {"image": "s3://b/2.jpg"}, "annotations": []}]
    (tmp_path / "src.json").write_text(json.dumps(tasks))
    t = read_label_studio(tmp_path / "src.json", task_key="image")
    assert t["task"].tolist() == ["s3://b/1.jpg"]
    out = json.loads(write_label_studio(t, tmp_path / "o.json").read_text())
    assert [(x["id"], x["data"]) for x in out] == [(11, {"image": "s3://b/1.jpg"})]  # original id kept
    out = json.loads(write_label_studio(t, tmp_path / "o.json", all_tasks=True).read_text())
    assert [(x["id"], x["annotations"]) for x in out][1] == (12, [])  # nobody annotated it: kept on request
    back = read_label_studio(tmp_path / "o.json", task_key="image")
    assert_same_table(t, back, COMPARED + ["annotation_id"])
