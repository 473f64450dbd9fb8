"""agreement_report dispatched by kind (issue 11): multilabel, ratings, regions, several fields."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import qa_toolkit as qa
from qa_toolkit import AnnotationFormatError
from qa_toolkit.agreement import AgreementReport, agreement_report
from qa_toolkit.agreement.fields import FieldReport, MultiFieldReport
from qa_toolkit.agreement.icc import icc
from qa_toolkit.agreement.multilabel import jaccard_distance, masi_distance, set_alpha

ASSIGN_AB = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"]})


def _with(df, assignments):
    df = df.copy()
    df.attrs["assignments"] = assignments
    return df


@pytest.mark.parametrize("kind", ["span", "box"])
def test_b_marked_nothing_on_task_2_lowers_f1(kind):
    """Hand count: a drew 2 regions, b drew 1 matching one; with b's empty task 2 counted F1 = 2*1/(2+1)."""
    if kind == "span":
        df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["PER"] * 3,
                           "start": [0, 0, 5], "end": [4, 4, 9]})
    else:
        df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["car"] * 3,
                           "x_min": [0, 0, 5], "y_min": [0, 0, 5], "x_max": [4, 4, 9], "y_max": [4, 4, 9]})
    counted = agreement_report(_with(df, ASSIGN_AB), n_boot=20, random_state=0)
    skipped = agreement_report(df, n_boot=20, random_state=0)
    assert isinstance(counted, FieldReport) and counted.kind == kind
    assert counted.summary.loc["f1", "value"] == pytest.approx(2 / 3)
    assert counted.summary.loc["recall", "value"] == pytest.approx(0.5)
    assert skipped.summary.loc["f1", "value"] == pytest.approx(1.0)
    assert counted.empties_counted and not skipped.empties_counted
    assert "could not be counted" in str(skipped)


def test_identical_label_sets_give_multilabel_agreement_1():
    df = pd.DataFrame({"task": [1, 1, 1, 1, 2, 2, 3, 3], "annotator": list("aabbabab"),
                       "label": ["A", "B", "A", "B", "C", "C", "A", "A"]})
    rep = agreement_report(df, n_boot=20, random_state=0, kinds={"label": "multilabel"})
    assert rep.kind == "multilabel"
    for m in ("alpha_masi", "alpha_jaccard", "alpha_binary_pooled"):
        assert rep.summary.loc[m, "value"] == pytest.approx(1.0)
    assert rep.pairwise.loc[0, "exact_match"] == 1.0


def test_perfect_multilabel_agreement_is_not_one_third():
    """The issue's symptom: a perfect multi-label agreement on {A, B} came out as 0.333 when rows were votes."""
    df = pd.DataFrame({"task": [1, 1, 1, 1, 2, 2, 2, 2], "annotator": list("aabbaabb"),
                       "label": ["A", "B", "A", "B", "A", "C", "A", "C"]})
    rep = agreement_report(df, n_boot=20, random_state=0, kinds={"label": "multilabel"})
    assert rep.summary.loc["alpha_masi", "value"] == pytest.approx(1.0)
    assert rep.per_label.loc["B", "percent_agreement"] == pytest.approx(1.0)


def test_masi_and_jaccard_match_nltk():
    from nltk.metrics.distance import jaccard_distance as nltk_jaccard
    from nltk.metrics.distance import masi_distance as nltk_masi

    sets = [set(), {"a"}, {"a", "b"}, {"b", "c"}, {"a", "b", "c", "d"}, {"d"}]
    for x in sets:
        for y in sets:
            if x or y:
                assert masi_distance(x, y) == pytest.approx(nltk_masi(x, y))
                assert jaccard_distance(x, y) == pytest.approx(nltk_jaccard(x, y))
    # NLTK's doctest (Passonneau 2006): {1, 2} vs {1, 2, 3, 4} -> J = 1/2, m = 2/3
    assert masi_distance({1, 2}, {1, 2, 3, 4}) == pytest.approx(2 / 3)


def test_set_alpha_matches_nltk_annotation_task(rng):
    from nltk.metrics.agreement import AnnotationTask
    from nltk.metrics.distance import jaccard_distance as nltk_jaccard
    from nltk.metrics.distance import masi_distance as nltk_masi

    labs = list("ABCD")
    rows = []
    for t in range(25):
        base = set(rng.choice(labs, rng.integers(1, 3), replace=False))
        for a in "xyz":
            s = set(base) ^ ({rng.choice(labs)} if rng.random() < 0.4 else set())
            rows.append((a, t, frozenset(s or {"A"})))
    u = pd.DataFrame(rows, columns=["annotator", "unit", "value"])
    for name, f in (("masi", nltk_masi), ("jaccard", nltk_jaccard)):
        ref = AnnotationTask(data=rows, distance=f).alpha()
        assert set_alpha(u, distance=name)["value"].item() == pytest.approx(ref, abs=1e-12)


def test_icc_matches_pingouin_on_shrout_fleiss_wine_data():
    import pingouin as pg

    wine = pg.read_dataset("icc")  # Shrout & Fleiss style: 8 wines x 4 judges
    ref = pg.intraclass_corr(wine, targets="Wine", raters="Judge", ratings="Scores").set_index("Type")
    ours = icc(wine.rename(columns={"Wine": "task", "Judge": "annotator", "Scores": "label"}))
    names = {"ICC1": "ICC(1,1)", "ICC2": "ICC(A,1)", "ICC3": "ICC(C,1)", "ICC1k": "ICC(1,k)",
             "ICC2k": "ICC(A,k)", "ICC3k": "ICC(C,k)"}
    for mine, theirs in names.items():
        for col, rcol in (("icc", "ICC"), ("F", "F"), ("pval", "pval")):
            assert ours.loc[mine, col] == pytest.approx(ref.loc[theirs, rcol], rel=1e-9)
        lo, hi = ref.loc[theirs, "CI95"]  # pingouin rounds to 2 decimals
        assert ours.loc[mine, "ci_low"] == pytest.approx(lo, abs=0.006)
        assert ours.loc[mine, "ci_high"] == pytest.approx(hi, abs=0.006)


def test_ordinal_field_uses_ordinal_alpha_and_icc(rng):
    truth = rng.integers(1, 6, 60)
    rows = [(t, a, int(np.clip(truth[t] + rng.choice([-1, 0, 0, 1]), 1, 5))) for t in range(60) for a in "abc"]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    rep = agreement_report(df, kinds={"label": "ordinal"}, n_boot=50, random_state=0)
    s = rep.summary
    assert rep.kind == "ordinal"
    # near misses count as partial agreement at the ordinal level
    assert s.loc["alpha_ordinal", "value"] > s.loc["alpha_nominal", "value"] + 0.2
    assert {"ICC2", "ICC2k", "ICC3", "ICC3k"} <= set(s.index)
    ref = icc(df)
    assert s.loc["ICC2", "value"] == pytest.approx(ref.loc["ICC2", "icc"])
    assert len(rep.pairwise) == 3 and "bias_vs_median" in rep.per_annotator


def test_categorical_field_with_several_labels_is_refused():
    df = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "a", "b"], "label": ["x", "y", "x"], "field": "mood"})
    with pytest.raises(AnnotationFormatError, match=r"field 'mood' \(kind 'categorical'\)"):
        agreement_report(df, kinds={"mood": "categorical"}, n_boot=20)


def test_plain_categorical_table_keeps_the_classic_report(toy_annotations):
    rep = agreement_report(toy_annotations, n_boot=20, random_state=0)
    assert isinstance(rep, AgreementReport)


def test_several_fields_give_one_report_per_field():
    spans = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["PER"] * 3,
                          "start": [0, 0, 5], "end": [4, 4, 9], "field": "ner"})
    tags = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "label": ["x", "x", "y", "z"],
                         "field": "topic"})
    df = pd.concat([spans, tags], ignore_index=True)
    rep = agreement_report(df, n_boot=20, random_state=0)
    assert isinstance(rep, MultiFieldReport) and set(rep) == {"ner", "topic"}
    assert rep.kinds == {"ner": "span", "topic": "categorical"}
    assert isinstance(rep["topic"], AgreementReport)
    html = rep._repr_html_()
    assert "Field ner (span)" in html and "Field topic (categorical)" in html
    assert ("ner", "f1") in rep.summary.index
    one = agreement_report(df, field="ner", n_boot=20, random_state=0)
    assert one.summary.loc["f1", "value"] == rep["ner"].summary.loc["f1", "value"]


def test_region_per_label_and_alpha():
    df = pd.DataFrame({"task": [1, 1, 1, 1], "annotator": ["a", "b", "a", "b"], "label": ["car", "car", "dog", "cat"],
                       "x_min": [0, 0, 50, 50], "y_min": [0, 0, 50, 50], "x_max": [10, 10, 60, 60],
                       "y_max": [10, 10, 60, 60]})
    rep = agreement_report(df, n_boot=20, random_state=0)
    assert rep.summary.loc["f1_location", "value"] == 1.0
    assert rep.summary.loc["f1", "value"] == pytest.approx(0.5)  # the second object's labels differ
    assert rep.per_label.loc["car", "f1"] == 1.0 and rep.per_label.loc["dog", "f1"] == 0.0
    label_aware = agreement_report(df, label_aware=True, n_boot=20, random_state=0)
    assert label_aware.summary.loc["f1_location", "value"] == pytest.approx(0.5)


def test_leoka_spans_and_taxonomy(realworld_exports):
    """LEOKA team 6 (SOURCE.md: 130 tasks, 3 annotators, apt {2: 60, 3: 70})."""
    warnings.simplefilter("ignore")
    df = qa.read_annotations(realworld_exports / "label_studio/json/leoka_team_6__ner_taxonomy_multiannotator_gt.json")
    kinds = qa.describe_fields(df)["kind"].to_dict()
    assert kinds == {"label": "span", "Category": "multilabel"}
    rep = agreement_report(df, n_boot=20, random_state=0)
    pw = rep["label"].pairwise.set_index(["annotator_a", "annotator_b"])
    assert sorted(pw["n_tasks"].astype(int).tolist()) == [70, 70, 130, 130]  # the (all) row counts 130 tasks
    f1 = rep["label"].summary.loc["f1", "value"]
    assert 0.5 < f1 < 0.9 and rep["label"].summary.loc["f1_location", "value"] >= f1
    tax = rep["Category"]
    assert tax.summary.loc["alpha_masi", "value"] < tax.summary.loc["alpha_jaccard", "value"]  # MASI is stricter
    assert tax.per_label["n_units"].max() == 130


def test_evalme_boxes_units_keep_every_region(realworld_exports):
    """evalme: 5 tasks x 3 annotators, 91 rectanglelabels (SOURCE.md)."""
    warnings.simplefilter("ignore")
    df = qa.read_annotations(realworld_exports / "label_studio/json/evalme_test_bbox__3annotators_predictions.json")
    u = qa.to_units(df)
    assert int((u["value"] != "<absent>").sum()) == 91 == len(df)
    assert u.groupby("unit")["annotator"].nunique().eq(3).all()  # every object has all 3 assigned annotators


def test_one_way_icc_for_crowd_designs_matches_pingouin(rng):
    """Different raters per task (Snow et al. 2008 style): only ICC1 / ICC1k, equal to pingouin on rating slots."""
    import pingouin as pg

    rows = [(t, f"w{rng.integers(0, 40)}_{t}_{s}", float(rng.normal(t % 7, 1.5))) for t in range(30) for s in range(4)]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    ours = icc(df)
    assert np.isnan(ours.loc["ICC2", "icc"]) and np.isfinite(ours.loc["ICC1", "icc"])
    slots = df.assign(slot=df.groupby("task").cumcount(), label=df.groupby("task")["label"].transform(np.sort))
    ref = pg.intraclass_corr(slots, targets="task", raters="slot", ratings="label").set_index("Type")
    assert ours.loc["ICC1", "icc"] == pytest.approx(ref.loc["ICC(1,1)", "ICC"], rel=1e-9)
    assert ours.loc["ICC1k", "icc"] == pytest.approx(ref.loc["ICC(1,k)", "ICC"], rel=1e-9)


def test_region_f1_interval_brackets_the_value(rng):
    rows = []
    for t in range(40):
        for k in range(3):
            x = 100 * k
            rows.append((t, "a", "car", x, 0, x + 50, 50))
            if rng.random() < 0.7:
                rows.append((t, "b", "car", x + 2, 0, x + 52, 50))
    df = pd.DataFrame(rows, columns=["task", "annotator", "label", "x_min", "y_min", "x_max", "y_max"])
    df.attrs["assignments"] = pd.DataFrame([(t, a) for t in range(40) for a in "ab"], columns=["task", "annotator"])
    s = agreement_report(df, n_boot=200, random_state=0).summary
    assert s.loc["f1", "ci_low"] < s.loc["f1", "value"] < s.loc["f1", "ci_high"]
    n_b = int((df["annotator"] == "b").sum())
    assert s.loc["f1", "value"] == pytest.approx(2 * n_b / (120 + n_b))  # hand count: every b box matches


def test_presto_per_label_cohen_kappa_matches_published(realworld_exports):
    """PRESTO types, 131 common items (SOURCE.md sec. 9): the authors' per-label Cohen's kappa per pair,
    reproduced to 4 d.p. from binary multilabel units (accept lists of all 393 records, as the authors)."""
    import json

    from qa_toolkit.agreement.multilabel import pairwise_per_label

    path = realworld_exports / "prodigy/presto_nlp/types_de_los_coincidentes__3ann_multilabel_131_common.jsonl"
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    df = pd.DataFrame([(r["_input_hash"], r["_annotator_id"].split("-")[-1], lab) for r in recs for lab in r["accept"]],
                      columns=["task", "annotator", "label"])
    asg = pd.DataFrame([(r["_input_hash"], r["_annotator_id"].split("-")[-1]) for r in recs],
                       columns=["task", "annotator"])
    units = qa.to_units(df, kinds={"label": "multilabel"}, assignments=asg)
    k = pairwise_per_label(units).set_index(["annotator_a", "annotator_b", "label"])["kappa"]
    published = {  # SOURCE.md table "Types (131 common items)"
        ("annotator1", "annotator3"): {"sobregeneralización": 0.4679, "leer la mente": 0.6238, "imperativos": 1.0,
                                       "etiquetado": 0.7614, "personalización": 0.3719},
        ("annotator2", "annotator3"): {"sobregeneralización": 0.1278, "pensamiento absolutista": 0.1378,
                                       "abstracción selectiva": 0.3563, "razonamiento emocional": 0.5731},
        ("annotator1", "annotator2"): {"abstracción selectiva": 0.0087, "adivinación": 0.6384, "catastrofismo": 0.5522,
                                       "etiquetado": 0.8015, "personalización": 0.6026},
    }
    for (a, b), vals in published.items():
        for lab, ref in vals.items():
            assert round(k.loc[(a, b, lab)], 4) == pytest.approx(ref, abs=1e-4), (a, b, lab)
    means = k.groupby(level=[0, 1]).mean().round(4)
    assert means.loc[("annotator1", "annotator3")] == pytest.approx(0.6405, abs=1e-4)  # "mean of 10"
    assert means.loc[("annotator2", "annotator3")] == pytest.approx(0.4154, abs=1e-4)
    assert means.loc[("annotator1", "annotator2")] == pytest.approx(0.4717, abs=1e-4)


def test_squality_ratings_interval_alpha_and_one_way_icc(shared_datasets):
    """SQuALITY (SOURCE.md: 300 items, each reviewed by exactly 3 of 4 reviewers, ratings 0-100)."""
    import json

    rows = []
    path = shared_datasets / "squality_human_eval/all-responses.jsonl"
    for line in path.read_text().splitlines():
        r = json.loads(line)
        for q, systems in r["questions"].items():
            for name, v in systems.items():
                rows += [(f"{r['passage-id']}/{q}/{name}", rev["worker_id"], rev["overall-rating"]) for rev in v["reviews"]]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    rep = agreement_report(df, kinds={"label": "interval"}, n_boot=50, random_state=0)
    s = rep.summary
    # 0-100 ratings heaped at multiples of 5: nominal alpha is near 0, interval alpha high
    assert s.loc["alpha_interval", "value"] > 0.7 > 0.1 > s.loc["alpha_nominal", "value"]
    ic = rep.details["icc"]
    assert ic.loc["ICC1", "n_tasks"] == 300 and ic.loc["ICC1", "n_annotators"] == 3
    assert np.isnan(ic.loc["ICC2", "icc"])  # 4 reviewers, no item rated by all: two-way ICC undefined
