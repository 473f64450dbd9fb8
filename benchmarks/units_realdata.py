"""Real multi-annotator data of every region / multi-label kind through units and agreement.

Run:  nice .venv/bin/python benchmarks/units_realdata.py [--shared ../shared]

Reads (see each SOURCE.md): LEOKA team 6 (Label Studio NER spans + taxonomy, 3
annotators); evalme (Label Studio boxes, 3 annotators); the 14 cat photos in Label
Studio and in CVAT (one annotator each: the two tools as two "annotators"); LabelMe
cars (polygons, 4 annotators + the image set's own); histology landmarks (keypoints,
JB vs PS, index correspondence); XSum hallucination spans (3 raters, raters who marked
nothing); SQuALITY ratings (0-100, 3 of 4 reviewers per item); BU-BIL Dataset 1 (10 expert masks per image; SOURCE.md
measures a mean pairwise expert IoU of 0.758 on object = black pixels).
Prints one block per data set.
"""

from __future__ import annotations

import argparse
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import qa_toolkit as qa
from qa_toolkit.agreement import agreement_report
from qa_toolkit.units.reduce import region_units


def cats(shared: Path) -> pd.DataFrame:
    r = shared / "realworld_exports"
    ls_path = r / "label_studio/json/maxkuklavod_cats_project-1-at-2025-06-19__bbox_ls1.19.json"
    ls = qa.read_annotations(ls_path)
    names = {t["id"]: re.sub(r"^[0-9a-f]{8}-", "", t["data"]["image"].rsplit("/", 1)[-1])
             for t in json.loads(ls_path.read_text())}
    ls = ls.assign(task=ls["task"].map(names), annotator="label_studio")
    cv = qa.read_annotations(r / "cvat/images/maxkuklavod_cats_cvat_job_annotations.xml").assign(annotator="cvat")
    cols = ["task", "annotator", "label", "x_min", "y_min", "x_max", "y_max", "rotation"]
    out = pd.concat([ls[cols], cv[cols]], ignore_index=True).assign(field="box", kind="box")
    tasks = sorted(set(ls["task"]) | set(cv["task"]))
    out.attrs["assignments"] = pd.DataFrame([(t, a) for t in tasks for a in ("label_studio", "cvat")],
                                            columns=["task", "annotator"])
    return out


def histology(shared: Path) -> pd.DataFrame:
    root = shared / "datasets/histology_landmarks_borovec/annotations"
    rows = []
    for f in sorted(root.glob("*/user-*/*.csv")):
        user = f.parent.name.split("_")[0].replace("user-", "")
        scale = f.parent.name.split("scale-")[1]
        tab = pd.read_csv(f)
        xy = tab[["X", "Y"]].to_numpy(float)
        for i, (x, y) in enumerate(xy):
            rows.append({"task": f"{f.parent.parent.name}/{scale}/{f.stem}", "annotator": user, "label": i + 1,
                         "points": ((x, y),)})
    df = pd.DataFrame(rows)
    both = df.groupby("task")["annotator"].nunique()
    df = df.loc[df["task"].isin(both.index[both == 2])].reset_index(drop=True)
    # object scale: the area of the landmarks' bounding box of the image (no image size in the CSVs)
    ext = df.assign(x=[p[0][0] for p in df["points"]], y=[p[0][1] for p in df["points"]]).groupby("task")
    area = (ext["x"].max() - ext["x"].min()) * (ext["y"].max() - ext["y"].min())
    return df.assign(area=df["task"].map(area).to_numpy(), field="landmark", kind="keypoints")


def bubil(shared: Path) -> pd.DataFrame:
    from PIL import Image
    from pycocotools import mask as mask_utils

    root = shared / "datasets/bubil_gurari2015_cell_masks/BU-BIL_Dataset1/ExpertsAnnotations"
    rows = []
    for d in sorted(root.iterdir()):
        for f in sorted(d.glob("*.png")):
            m = np.asarray(Image.open(f).convert("L")) < 128  # object = black (SOURCE.md: polarity)
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            rows.append({"task": f.stem.lower().replace("seg_", ""), "annotator": d.name, "label": "cell", "rle": rle})
    return pd.DataFrame(rows).assign(field="mask", kind="polygon")


def xsum(shared: Path) -> pd.DataFrame:
    """XSum hallucination spans; raters who marked nothing (offsets -1) become assignments only."""
    h = pd.read_csv(shared / "datasets/xsum_hallucination_maynez2020/hallucination_annotations_xsum_summaries.csv")
    h["task"] = h["system"] + "/" + h["bbcid"].astype(str)
    asg = h[["task", "worker_id"]].drop_duplicates().rename(columns={"worker_id": "annotator"})
    spans = h.loc[h["hallucinated_span_start"] >= 0]
    df = pd.DataFrame({"task": spans["task"], "annotator": spans["worker_id"], "label": spans["hallucination_type"],
                       "start": spans["hallucinated_span_start"].astype(float),
                       "end": spans["hallucinated_span_end"].astype(float)})
    df = df.loc[df["end"] > df["start"]].reset_index(drop=True)
    df.attrs["assignments"] = asg.reset_index(drop=True)
    return df


def squality(shared: Path) -> pd.DataFrame:
    """SQuALITY overall ratings 0-100: 300 items, 3 of 4 reviewers each."""
    rows = []
    for line in (shared / "datasets/squality_human_eval/all-responses.jsonl").read_text().splitlines():
        r = json.loads(line)
        for q, systems in r["questions"].items():
            for name, v in systems.items():
                rows += [{"task": f"{r['passage-id']}/{q}/{name}", "annotator": rev["worker_id"], "field": "overall",
                          "label": rev["overall-rating"]} for rev in v["reviews"]]
    return pd.DataFrame(rows)


def show(name: str, rep) -> None:
    print(f"\n### {name}")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 4):
        print(rep.summary if not hasattr(rep, "kinds") else rep.summary)
        for f, r in (rep.items() if hasattr(rep, "kinds") else [(None, rep)]):
            if len(r.pairwise):
                print(f"pairwise ({f}):\n{r.pairwise}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    args = p.parse_args()
    sh = args.shared
    warnings.simplefilter("ignore")
    r = sh / "realworld_exports"
    leoka = qa.read_annotations(r / "label_studio/json/leoka_team_6__ner_taxonomy_multiannotator_gt.json")
    print(qa.describe_fields(leoka)[["kind", "n_labels", "n_tasks", "n_annotators", "annotators_per_task"]])
    show("LEOKA team 6 (spans + taxonomy)", agreement_report(leoka, n_boot=200, random_state=0))
    ev = qa.read_annotations(r / "label_studio/json/evalme_test_bbox__3annotators_predictions.json")
    show("evalme boxes (3 annotators)", agreement_report(ev, n_boot=200, random_state=0))
    show("cats: Label Studio vs CVAT (14 photos)", agreement_report(cats(sh), n_boot=200, random_state=0))
    lm = qa.read_annotations(r / "labelme/shuffler_w55e04_cars_4annotators", format="labelme")
    show("LabelMe cars (polygons)", agreement_report(lm, n_boot=200, random_state=0))
    hist = histology(sh)
    show("histology landmarks JB vs PS (OKS, label-aware)",
         agreement_report(hist, label_aware=True, n_boot=200, random_state=0))
    xs = xsum(sh)
    show("XSum hallucination spans, raters who marked nothing counted", agreement_report(xs, n_boot=200, random_state=0))
    plain = xs.copy()
    plain.attrs = {}
    show("XSum hallucination spans, empties NOT counted (no assignments)",
         agreement_report(plain, n_boot=200, random_state=0))
    sq = squality(sh)
    show("SQuALITY overall rating (interval)", agreement_report(sq, kinds={"overall": "interval"}, n_boot=200,
                                                                random_state=0))
    print(qa.rating_consensus(sq, kinds={"overall": "interval"}).annotators.round(3))
    masks = bubil(sh)
    u, pairs = region_units(masks, iou_threshold=0.3)
    print("\n### BU-BIL Dataset 1, 10 expert masks per image (mask IoU, pycocotools)")
    print(f"objects: {u['unit'].nunique()} for {masks['task'].nunique()} images; "
          f"pairs: {len(pairs)}; mean pairwise IoU {pairs['iou'].mean():.4f} (SOURCE.md: 0.758), "
          f"min {pairs['iou'].min():.3f} (SOURCE.md: 0.362)")


if __name__ == "__main__":
    main()
