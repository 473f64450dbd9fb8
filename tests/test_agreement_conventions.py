"""Issue 10, "No convention traps in the coefficients": one test per case named there."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import AnnotationFormatError, QAInputError
from qa_toolkit.agreement import (
    SpanOverlapWarning,
    agreement_report,
    brennan_prediger,
    cohen_kappa,
    confidence_interval,
    conger_kappa,
    fleiss_kappa,
    gwet_ac1,
    intra_annotator_agreement,
    krippendorff_alpha,
    percent_agreement,
    scott_pi,
    span_agreement,
)

pytestmark = pytest.mark.filterwarnings("ignore::qa_toolkit.agreement.LowOverlapWarning")


def _gapped_scale(seed: int = 0, n_tasks: int = 60, n_ann: int = 4) -> pd.DataFrame:
    """Ratings on a 1-5 scale where nobody used 3 (the issue's trap)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice([1, 2, 4, 5], n_tasks)
    noise = rng.choice([1, 2, 4, 5], (n_tasks, n_ann))
    lab = np.where(rng.random((n_tasks, n_ann)) < 0.6, truth[:, None], noise)
    t, a = np.meshgrid(np.arange(n_tasks), np.arange(n_ann), indexing="ij")
    return pd.DataFrame({"task": t.ravel(), "annotator": a.ravel(), "label": lab.ravel()})


def _irrcac_weights(values, kind):
    # R irrCAC 1.0 R/weights.gen.r linear.weights / quadratic.weights on numeric categ:
    # 1 - |x_k - x_l| / (x_max - x_min), 1 - (x_k - x_l)^2 / (x_max - x_min)^2
    v = np.asarray(values, dtype=float)
    d = np.abs(v[:, None] - v[None, :]) / (v.max() - v.min())
    return 1 - d if kind == "linear" else 1 - d**2


def _positions_weights(k, kind):
    i = np.arange(k)
    d = np.abs(i[:, None] - i[None, :]) / (k - 1)
    return 1 - d if kind == "linear" else 1 - d**2


def _long_from_table(table: pd.DataFrame) -> pd.DataFrame:
    rows, t = [], 0
    for i in range(len(table.index)):
        for j in range(len(table.columns)):
            for _ in range(int(table.iloc[i, j])):
                rows += [(t, "r1", i), (t, "r2", j)]
                t += 1
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


@pytest.fixture
def irrcac(shared_datasets):
    return shared_datasets / "agreement_classics" / "irrCAC_gwet_datasets"


def _raw(path):
    w = pd.read_csv(path).set_index("Units")
    s = w.stack().dropna()
    return pd.DataFrame({"task": s.index.get_level_values(0), "annotator": s.index.get_level_values(1),
                         "label": s.to_numpy()})


# ============================================================== 1. weights follow label values
MULTI_WEIGHTED = [fleiss_kappa, conger_kappa, percent_agreement]


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
@pytest.mark.parametrize("metric", MULTI_WEIGHTED, ids=lambda f: f.__name__)
def test_unused_scale_point_does_not_move_weighted_coefficient(metric, weights):
    df = _gapped_scale()
    assert sorted(df["label"].unique()) == [1, 2, 4, 5]
    used = metric(df, weights=weights)
    full = metric(df, weights=weights, categories=[1, 2, 3, 4, 5])
    assert used == pytest.approx(full, abs=1e-12)
    # ... and it is irrCAC's convention (weights from the values 1, 2, 4, 5)
    assert used == pytest.approx(metric(df, weights=_irrcac_weights([1, 2, 4, 5], weights)), abs=1e-12)
    # the old positional weights (0, 1, 2, 3) give another value: the trap
    if metric is not percent_agreement or weights == "linear":
        assert abs(metric(df, weights=_positions_weights(4, weights)) - used) > 1e-3


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_cohen_weighted_on_gapped_scale(weights):
    df = _gapped_scale(n_ann=2)
    used = cohen_kappa(df, 0, 1, weights=weights)
    assert used == pytest.approx(cohen_kappa(df, 0, 1, weights=weights, categories=[1, 2, 3, 4, 5]), abs=1e-12)
    # SAS PROC FREQ default scores = the values; sklearn agrees given the whole scale 1..5
    from sklearn.metrics import cohen_kappa_score

    wide = df.pivot(index="task", columns="annotator", values="label")
    ref = cohen_kappa_score(wide[0], wide[1], weights=weights, labels=[1, 2, 3, 4, 5])
    assert used == pytest.approx(ref, abs=1e-12)
    assert abs(cohen_kappa_score(wide[0], wide[1], weights=weights) - used) > 1e-3  # positions of 1,2,4,5
    assert scott_pi(df, 0, 1, weights=weights) == pytest.approx(
        scott_pi(df, 0, 1, weights=weights, categories=[1, 2, 3, 4, 5]), abs=1e-12)


def test_pairwise_weighted_matches_cohen_on_gapped_scale():
    from qa_toolkit.agreement import pairwise

    df = _gapped_scale(4, n_ann=3)
    p = pairwise(df, weights="quadratic", min_overlap=1).set_index(["annotator_a", "annotator_b"])
    for (a, b), row in p.iterrows():
        assert row["value"] == pytest.approx(cohen_kappa(df, a, b, weights="quadratic",
                                                         categories=[1, 2, 3, 4, 5]), abs=1e-12)


@pytest.mark.parametrize("metric", [gwet_ac1, brennan_prediger], ids=lambda f: f.__name__)
def test_gwet_and_bp_weights_use_values_and_q_of_categories(metric):
    # irrCAC gwet.ac1.raw / bp.coeff.raw: weights from the values, q = number of categories
    # (the labels in use, or categ.labels): AC2 and BP do depend on q, unlike kappa.
    df = _gapped_scale(1)
    for w in ("linear", "quadratic"):
        assert metric(df, weights=w) == pytest.approx(metric(df, weights=_irrcac_weights([1, 2, 4, 5], w)), abs=1e-12)
        assert metric(df, weights=w, categories=[1, 2, 3, 4, 5]) == pytest.approx(
            metric(df, weights=_irrcac_weights([1, 2, 3, 4, 5], w), categories=[1, 2, 3, 4, 5]), abs=1e-12)


def test_numeric_strings_are_scored_by_value():
    df = _gapped_scale(2)
    as_text = df.assign(label=df["label"].astype(str))
    for f in (fleiss_kappa, conger_kappa, gwet_ac1):
        assert f(as_text, weights="quadratic") == pytest.approx(f(df, weights="quadratic"), abs=1e-12)
    # "10" sorts between "1" and "2" as text; the value 10 is still the far end of the scale
    ten = df.assign(label=df["label"].replace({5: 10}))
    assert fleiss_kappa(ten.assign(label=ten["label"].astype(str)), weights="linear") == pytest.approx(
        fleiss_kappa(ten, weights="linear"), abs=1e-12)


def test_non_numeric_labels_use_positions_in_given_order():
    df = _gapped_scale(3)
    names = {1: "poor", 2: "fair", 4: "good", 5: "great"}
    text = df.assign(label=df["label"].map(names))
    order = ["poor", "fair", "good", "great"]
    positional = fleiss_kappa(df, weights=_positions_weights(4, "linear"))
    assert fleiss_kappa(text, weights="linear", categories=order) == pytest.approx(positional, abs=1e-12)
    # another order is another scale
    assert abs(fleiss_kappa(text, weights="linear", categories=["fair", "poor", "good", "great"]) - positional) > 1e-3


# ============================================================== 2. Cohen's analytic CI clipped
def test_cohen_analytic_interval_is_clipped_to_one():
    # 12 tasks, one disagreement: kappa 0.83, ASE 0.16 -> the unclipped upper bound is 1.15
    a = ["x"] * 6 + ["y"] * 6
    b = ["x"] * 6 + ["y"] * 5 + ["x"]
    df = pd.DataFrame({"task": list(range(12)) * 2, "annotator": ["a"] * 12 + ["b"] * 12, "label": a + b})
    ci = confidence_interval(df, "cohen_kappa", method="analytic", annotator_a="a", annotator_b="b").iloc[0]
    assert ci.value + 1.96 * ci.se > 1.0  # the bound that used to be reported
    assert ci.ci_high == 1.0
    assert -1.0 <= ci.ci_low < ci.value


# ============================================================== 3. token span F1 <= 1
def _spans(rows):
    return pd.DataFrame(rows, columns=["task", "annotator", "label", "start", "end"])


def test_token_f1_merges_overlapping_spans_of_one_annotator():
    # a's two PER spans overlap on 5..10: counted twice this gave F1 = 2*20/(20+15) = 1.143
    df = _spans([(7, "a", "PER", 0, 10), (7, "a", "PER", 5, 15), (7, "b", "PER", 0, 15)])
    with pytest.warns(SpanOverlapWarning, match=r"task 7, annotator 'a', label 'PER'"):
        out = span_agreement(df, method="token")
    assert out["f1"].iloc[0] == pytest.approx(1.0, abs=1e-12)
    assert out["n_overlap_chars"].iloc[0] == 15


def test_token_f1_overlap_error_names_task_and_annotator():
    df = _spans([(7, "a", "PER", 0, 10), (7, "a", "PER", 5, 15), (7, "b", "PER", 0, 15)])
    with pytest.raises(AnnotationFormatError, match=r"task 7, annotator 'a'.*overlaps='merge'"):
        span_agreement(df, method="token", overlaps="error")
    with pytest.raises(QAInputError, match="'overlaps'"):
        span_agreement(df, method="token", overlaps="drop")


def test_token_f1_touching_and_other_label_spans_are_not_merged():
    df = _spans([(1, "a", "PER", 0, 5), (1, "a", "PER", 5, 10), (1, "a", "LOC", 2, 8),
                 (1, "b", "PER", 0, 10), (1, "b", "LOC", 2, 8)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpanOverlapWarning)
        out = span_agreement(df, method="token")
    assert out["f1"].iloc[0] == pytest.approx(1.0, abs=1e-12)


def test_token_f1_never_exceeds_one_on_random_overlaps():
    rng = np.random.default_rng(0)
    rows = []
    for t in range(30):
        for ann in "abc":
            for _ in range(rng.integers(1, 5)):
                s = int(rng.integers(0, 50))
                rows.append((t, ann, rng.choice(["PER", "LOC"]), s, s + int(rng.integers(1, 20))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpanOverlapWarning)
        out = span_agreement(_spans(rows), method="token")
    assert (out["f1"] <= 1.0 + 1e-12).all() and len(out) == 3


# ============================================================== 4. analytic SEs vs irrCAC
# R irrCAC 1.0 README (github.com/kgwet/irrCAC README.md, "Computing agreement coefficients from
# raw ratings"), cac.raw4raters = raw_4raters.csv: coeff.val, coeff.se (5 decimals), conf.int (3).
RAW4 = [
    ("krippendorff_alpha", 0.74342, 0.14557, 0.419, 1.0),
    ("conger_kappa", 0.76282, 0.14917, 0.435, 1.0),
    ("fleiss_kappa", 0.76117, 0.15302, 0.424, 1.0),
    ("gwet_ac1", 0.77544, 0.14295, 0.461, 1.0),
    ("brennan_prediger", 0.77273, 0.14472, 0.454, 1.0),
    ("percent_agreement", 0.8181818, 0.12561, 0.542, 1.0),
]


@pytest.mark.parametrize("metric, value, se, low, high", RAW4, ids=[r[0] for r in RAW4])
def test_analytic_matches_irrcac_readme_raw4raters(irrcac, metric, value, se, low, high):
    ci = confidence_interval(_raw(irrcac / "raw_4raters.csv"), metric, method="analytic").iloc[0]
    assert ci.value == pytest.approx(value, abs=5e-6 if metric != "percent_agreement" else 5e-8)
    assert ci.se == pytest.approx(se, abs=5e-6)
    assert round(ci.ci_low, 3) == low and round(ci.ci_high, 3) == high
    assert ci.method == "analytic"


# afergadis/irrCAC (Python port of irrCAC 1.0) test/unit/irrCAC/raw/test_krippendorff.py, 3 decimals:
# (file, level, irrCAC weights) -> (alpha, se, ci_low, ci_high). irrCAC's quadratic / ratio weights
# are 1 - d / max d for Krippendorff's interval / ratio distance d, which leaves alpha unchanged.
ALPHA_PORT = [
    ("raw_4raters", "nominal", (0.743, 0.146, 0.419, 1.0)),
    ("raw_4raters", "interval", (0.849, 0.129, 0.561, 1.0)),  # weights="quadratic"
    ("raw_4raters", "ratio", (0.797, 0.140, 0.484, 1.0)),  # weights="ratio"
    ("raw_5observers", "nominal", (0.481, 0.114, 0.237, 0.724)),
    ("raw_g1g2", "nominal", (0.632, 0.150, 0.306, 0.958)),
    ("raw_gender", "nominal", (0.143, 0.141, -0.158, 0.445)),
    ("raw_ben_gerry", "nominal", (0.665, 0.180, 0.264, 1.0)),
]


@pytest.mark.parametrize("name, level, expected", ALPHA_PORT, ids=[f"{a}-{b}" for a, b, _ in ALPHA_PORT])
def test_alpha_analytic_matches_irrcac_port(irrcac, name, level, expected):
    df = _raw(irrcac / f"{name}.csv")
    if name != "raw_4raters":
        df = pd.read_csv(irrcac / f"{name}.csv").drop(columns=["Group"], errors="ignore").set_index("Units")
        s = df.stack().dropna()
        df = pd.DataFrame({"task": s.index.get_level_values(0), "annotator": s.index.get_level_values(1),
                           "label": s.to_numpy()})
    ci = confidence_interval(df, "krippendorff_alpha", method="analytic", level=level).iloc[0]
    assert (round(ci.value, 3), round(ci.se, 3), round(ci.ci_low, 3), round(ci.ci_high, 3)) == expected


def test_scott_analytic_matches_irrcac_scott2_table(shared_datasets):
    # irrCAC README: scott2.table(cont3x3abstractors) -> 0.7962397, se 0.05905473, (0.679, 0.913)
    table = pd.read_csv(shared_datasets / "agreement_classics/irrCAC_gwet_datasets/table_cont3x3abstractors.csv",
                        index_col=0)
    df = _long_from_table(table)
    ci = confidence_interval(df, "scott_pi", method="analytic", annotator_a="r1", annotator_b="r2").iloc[0]
    assert ci.value == pytest.approx(0.7962397, abs=5e-8)
    assert ci.se == pytest.approx(0.05905473, abs=5e-9)
    assert (round(ci.ci_low, 3), round(ci.ci_high, 3)) == (0.679, 0.913)


def _conger_se_loop(wide: np.ndarray, W: np.ndarray) -> tuple[float, float]:
    """Direct transcription of R irrCAC conger.kappa.raw (n x r ratings, NaN missing; categories 0..q-1)."""
    n, r = wide.shape
    q = W.shape[0]
    agree = np.stack([(wide == k).sum(axis=1) for k in range(q)], axis=1).astype(float)
    classif = np.stack([(wide == k).sum(axis=0) for k in range(q)], axis=1).astype(float)
    ri = agree.sum(axis=1)
    sum_q = (agree * (agree @ W.T - 1)).sum(axis=1)
    n2 = (ri >= 2).sum()
    pa = (sum_q[ri >= 2] / (ri * (ri - 1))[ri >= 2]).sum() / n2
    ng = classif.sum(axis=1)
    pgk = classif / ng[:, None]
    pmean = pgk.mean(axis=0)
    s2 = (pgk.T @ pgk - r * np.outer(pmean, pmean)) / (r - 1)
    pe = (W * (np.outer(pmean, pmean) - s2 / r)).sum()
    kappa = (pa - pe) / (1 - pe)
    eps = (~np.isnan(wide)).astype(float)
    lam = np.zeros((n, r))
    for k in range(q):
        lk = np.zeros((n, r))
        for l in range(q):  # noqa: E741
            delta = (wide == l).astype(float)
            lk += W[k, l] * (delta - (eps - ng[None, :] / n) * pgk[:, l][None, :])
        lk *= (n / ng)[None, :]
        lam += lk * (r * pgk[:, k].mean() - pgk[:, k][None, :])
    pe_i = lam.sum(axis=1) / (r * (r - 1))
    den = ri * (ri - 1)
    den = den - (den == 0)
    pa_i = sum_q / den
    k_i = (n / n2) * (pa_i - pe * (ri >= 2)) / (1 - pe)
    x_i = k_i - 2 * (1 - kappa) * (pe_i - pe) / (1 - pe)
    return kappa, float(np.sqrt(((x_i - kappa) ** 2).sum() / (n * (n - 1))))


@pytest.mark.parametrize("seed, weights", [(0, None), (1, "linear"), (2, "quadratic"), (3, None)])
def test_conger_se_equals_irrcac_loop_with_missing_labels(seed, weights):
    rng = np.random.default_rng(seed)
    n, r, q = 40, 5, 4
    truth = rng.integers(0, q, n)
    wide = np.where(rng.random((n, r)) < 0.6, truth[:, None], rng.integers(0, q, (n, r))).astype(float)
    wide[rng.random((n, r)) < 0.25] = np.nan
    wide[:, 0][np.isnan(wide[:, 0])] = 0  # every category and rater present
    t, a = np.nonzero(~np.isnan(wide))
    df = pd.DataFrame({"task": t, "annotator": a, "label": wide[t, a].astype(int)})
    W = np.eye(q) if weights is None else _irrcac_weights(np.arange(q), weights)
    kappa, se = _conger_se_loop(wide, W)
    ci = confidence_interval(df, "conger_kappa", method="analytic", weights=weights,
                             categories=list(range(q))).iloc[0]
    assert ci.value == pytest.approx(kappa, abs=1e-12)
    assert ci.se == pytest.approx(se, abs=1e-12)


@pytest.mark.parametrize("level", ["interval", "ratio"])
def test_alpha_analytic_for_fixed_distances(irrcac, level):
    from qa_toolkit.agreement.analytic import _alpha_weights, alpha_se
    from qa_toolkit.engines.coding import code_annotations

    df = _raw(irrcac / "raw_5observers.csv")
    coded = code_annotations(df, func="test")
    # irrCAC's alpha with weights 1 - d / max d is Krippendorff's alpha with distance d
    assert alpha_se(coded.counts, _alpha_weights(level, coded))[0] == pytest.approx(
        krippendorff_alpha(df, level=level), abs=1e-12)
    ci = confidence_interval(df, "krippendorff_alpha", method="analytic", level=level).iloc[0]
    assert 0 < ci.se < 1 and ci.ci_low < ci.value < ci.ci_high <= 1.0


def test_alpha_analytic_refuses_ordinal(irrcac):
    with pytest.raises(QAInputError, match="Use method='bootstrap' for level='ordinal'"):
        confidence_interval(_raw(irrcac / "raw_4raters.csv"), "krippendorff_alpha", method="analytic", level="ordinal")


def test_agreement_report_analytic_intervals(irrcac):
    rep = agreement_report(_raw(irrcac / "raw_4raters.csv"), ci="analytic")
    s = rep.summary
    assert (s["method"] == "analytic").all()
    for metric, _, se, low, high in RAW4:
        assert s.loc[metric, "se"] == pytest.approx(se, abs=5e-6)
        assert (round(s.loc[metric, "ci_low"], 3), round(s.loc[metric, "ci_high"], 3)) == (low, high)
    with pytest.raises(QAInputError, match="'ci' parameter of agreement_report"):
        agreement_report(_raw(irrcac / "raw_4raters.csv"), ci="exact")


# ============================================================== 5. test-retest repeats
REPEAT = pd.DataFrame({"task": [1, 1, 1, 2, 2, 3, 3, 1, 2, 3],
                       "annotator": ["a", "b", "a", "a", "b", "a", "b", "c", "c", "c"],
                       "label": ["x", "x", "y", "y", "y", "x", "y", "x", "y", "x"]})


def test_repeat_error_says_test_retest_not_regions():
    with pytest.raises(AnnotationFormatError) as err:
        fleiss_kappa(REPEAT)
    msg = str(err.value)
    assert "fleiss_kappa" in msg and "annotator 'a' gave task 1 2 labels" in msg
    assert "test-retest" in msg and "duplicates='first'" in msg and "intra_annotator_agreement" in msg
    assert "region" not in msg.lower()


@pytest.mark.parametrize("extra, needle", [
    ({"x_min": 0.0, "y_min": 0.0, "x_max": 5.0, "y_max": 5.0}, "kind 'box'"),
    ({"start": 0, "end": 4}, "match_spans"),
    ({"kind": "polygon"}, "kind 'polygon'"),
])
def test_region_rows_get_the_match_regions_hint(extra, needle):
    df = REPEAT.assign(**extra)
    with pytest.raises(AnnotationFormatError, match="Match regions first") as err:
        krippendorff_alpha(df)
    assert needle in str(err.value) and "test-retest" not in str(err.value)
    with pytest.raises(AnnotationFormatError, match="Match regions first"):  # no policy drops regions
        krippendorff_alpha(df, duplicates="first")


def test_duplicates_first_and_last_policies():
    first = REPEAT.drop(index=[2])
    last = REPEAT.drop(index=[0])
    for f in (percent_agreement, fleiss_kappa, krippendorff_alpha, gwet_ac1, conger_kappa, brennan_prediger):
        assert f(REPEAT, duplicates="first") == pytest.approx(f(first), abs=1e-12)
        assert f(REPEAT, duplicates="last") == pytest.approx(f(last), abs=1e-12)
    assert cohen_kappa(REPEAT, "a", "b", duplicates="last") == pytest.approx(cohen_kappa(last, "a", "b"), abs=1e-12)
    # created_at decides which label came first
    timed = REPEAT.assign(created_at=pd.to_datetime("2026-01-01") + pd.to_timedelta(range(10)[::-1], "h"))
    assert percent_agreement(timed, duplicates="first") == pytest.approx(percent_agreement(last), abs=1e-12)
    with pytest.raises(QAInputError, match="'duplicates' parameter of fleiss_kappa"):
        fleiss_kappa(REPEAT, duplicates="mean")


def test_agreement_report_duplicates_policy_and_error_name():
    big = pd.concat([REPEAT.assign(task=REPEAT["task"] + 10 * i) for i in range(5)], ignore_index=True)
    # declared single-choice (kind 'categorical'): repeats are test-retest, named by the function called.
    # (Without a kind column the typed dispatch of issue 11 infers 'multilabel' from the repeats.)
    with pytest.raises(AnnotationFormatError, match="^agreement_report needs one label per.*test-retest"):
        agreement_report(big.assign(kind="categorical"), n_boot=20, random_state=0)
    rep = agreement_report(big, n_boot=20, random_state=0, duplicates="first")
    dedup = big.loc[~big.duplicated(["task", "annotator"])]
    assert rep.summary.loc["fleiss_kappa", "value"] == pytest.approx(fleiss_kappa(dedup), abs=1e-12)
    ci = confidence_interval(big, "fleiss_kappa", method="analytic", duplicates="last").iloc[0]
    assert ci.value == pytest.approx(fleiss_kappa(big, duplicates="last"), abs=1e-12)


def test_intra_annotator_agreement_toy():
    # a: task 1 x then y (disagree); b, c: no repeats
    df = pd.concat([REPEAT, pd.DataFrame({"task": [2, 3, 3], "annotator": ["b", "b", "a"], "label": ["y", "y", "x"]})],
                   ignore_index=True)
    out = intra_annotator_agreement(df)
    per = out.loc[out["scope"] == "annotator"].set_index("annotator")
    assert per.loc["a", "n"] == 2 and per.loc["a", "percent_agreement"] == 0.5  # (x, y) and (x, x)
    assert per.loc["b", "n"] == 2 and per.loc["b", "percent_agreement"] == 1.0  # (y, y), (y, y)
    overall = out.iloc[-1]
    assert overall["scope"] == "overall" and overall["n"] == 4 and overall["n_repeat_rows"] == 4
    # first labels x, y, x, y vs seconds y, y, x, y: pa 3/4, pe = (2*1 + 2*3)/16 = 1/2, kappa 1/2
    assert overall["percent_agreement"] == 0.75 and overall["cohen_kappa"] == pytest.approx(0.5, abs=1e-12)


def test_intra_annotator_agreement_uses_created_at_and_fields():
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": ["a"] * 5, "label": ["x", "y", "z", "x", "x"],
                       "created_at": ["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-01", "2026-01-02"]})
    # task 1 in time order: y, z, x -> the first pair is (y, z): disagree; task 2: (x, x)
    out = intra_annotator_agreement(df).iloc[-1]
    assert (out["n"], out["n_repeat_rows"], out["percent_agreement"]) == (2, 3, 0.5)
    two = pd.concat([df.assign(field="f1"), df.assign(field="f2", label="x")], ignore_index=True)
    with pytest.raises(QAInputError, match="'field' parameter of intra_annotator_agreement"):
        intra_annotator_agreement(two)
    assert intra_annotator_agreement(two, field="f2").iloc[-1]["percent_agreement"] == 1.0


def test_intra_annotator_agreement_lazy_export_and_no_repeats():
    import qa_toolkit as qa

    out = qa.intra_annotator_agreement(REPEAT.drop(index=[2]))
    assert out["scope"].tolist() == ["overall"] and out["n"].iloc[0] == 0
    with pytest.raises(AnnotationFormatError, match="Match regions first"):
        qa.intra_annotator_agreement(REPEAT.assign(start=0, end=3))


def test_intra_annotator_agreement_zheng2017_s_rel(shared_datasets):
    import qa_toolkit as qa
    from qa_toolkit.io import crowd

    ds = qa.load_dataset("zheng2017_s_rel")
    # the count: 281 repeated rows (on 277 (task, worker) pairs) after the loader's
    # exact-duplicate drop (1,289 identical repeats removed, notes['exact_duplicate_rows_dropped'])
    out = qa.intra_annotator_agreement(ds.annotations).iloc[-1]
    assert (out["n"], out["n_repeat_rows"]) == (277, 281)
    assert ds.notes["exact_duplicate_rows_dropped"] == 1289
    assert out["percent_agreement"] == 0.0  # every agreeing repeat was dropped by the loader
    # the raw answer.csv keeps them: 1,570 repeated rows on 1,489 pairs, first vs second label
    raw = crowd.read_zheng(shared_datasets / "zheng2017_truth_inference" / "S_Rel")
    full = qa.intra_annotator_agreement(raw)
    o = full.iloc[-1]
    assert (o["n"], o["n_repeat_rows"]) == (1489, 1570)
    assert round(o["percent_agreement"], 4) == 0.8146 and round(o["cohen_kappa"], 4) == 0.7279
    assert (full["scope"] == "annotator").sum() == 151


# ============================================================== 6. errors name the called function
def test_nearest_neighbours_errors_name_itself():
    from qa_toolkit.neighbours import nearest_neighbours, neighbour_inconsistency

    X = np.eye(3)
    with pytest.raises(QAInputError, match="'k' parameter of nearest_neighbours") as err:
        nearest_neighbours(X, k=5)
    assert "neighbour_inconsistency" not in str(err.value)
    with pytest.raises(QAInputError, match="'backend' parameter of nearest_neighbours"):
        nearest_neighbours(X, k=1, backend="annoy")
    with pytest.raises(QAInputError, match="'k' parameter of neighbour_inconsistency"):
        neighbour_inconsistency(X, ["a", "b", "a"], k=5)


def test_errors_found_inside_name_the_entry_point():
    # agreement_report -> confidence_interval -> percent_agreement -> code_annotations: the
    # error names the function the user called (qa_toolkit/agreement/_entry.py)
    one = pd.DataFrame({"task": [1, 2], "annotator": ["a", "a"], "label": ["x", "y"]})
    with pytest.raises(QAInputError, match="^agreement_report needs at least 2 annotators"):
        agreement_report(one)
    with pytest.raises(QAInputError, match="^confidence_interval needs at least 2 annotators"):
        confidence_interval(one, "fleiss_kappa")
    with pytest.raises(QAInputError, match="^fleiss_kappa needs at least 2 annotators"):
        fleiss_kappa(one)
    # the entry point does not leak into later calls
    with pytest.raises(QAInputError, match="^gwet_ac1 needs"):
        gwet_ac1(one)
