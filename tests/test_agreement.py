"""Validity of the agreement coefficients: published values, peer libraries, invariances."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import AnnotationFormatError, QAInputError
from qa_toolkit.agreement import (
    PrevalenceParadoxWarning,
    SingleLabelWarning,
    UndefinedAgreementWarning,
    brennan_prediger,
    cohen_kappa,
    confidence_interval,
    conger_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
    scott_pi,
)

pytestmark = pytest.mark.filterwarnings("ignore::qa_toolkit.agreement.LowOverlapWarning")


def _long_from_rows_are_annotators(path):
    w = pd.read_csv(path, index_col=0)
    s = w.stack().dropna()
    return pd.DataFrame({"annotator": s.index.get_level_values(0), "task": s.index.get_level_values(1),
                         "label": s.to_numpy()})


def _long_from_rows_are_tasks(path):
    w = pd.read_csv(path, index_col=0)
    s = w.stack().dropna()
    return pd.DataFrame({"task": s.index.get_level_values(0), "annotator": s.index.get_level_values(1),
                         "label": s.to_numpy()})


def _long_from_table(table: pd.DataFrame) -> pd.DataFrame:
    """Expand a two-rater contingency table (rows: rater 1, columns: rater 2) into tasks."""
    rows, t = [], 0
    for i in range(len(table.index)):
        for j in range(len(table.columns)):
            for _ in range(int(table.iloc[i, j])):
                rows += [(t, "r1", i), (t, "r2", j)]
                t += 1
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


@pytest.fixture
def classics(shared_datasets):
    return shared_datasets / "agreement_classics"


# --------------------------------------------------------------------------- published values
@pytest.mark.parametrize("level, published", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_krippendorff_2011_example_c(classics, level, published):
    # Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", p. 8, example C
    # (published to 3 decimals); krippendorff 0.9 doctest gives the same to 3 decimals.
    import krippendorff

    df = _long_from_rows_are_annotators(classics / "krippendorff2011_exampleC_4obs_x_12units.csv")
    a = krippendorff_alpha(df, level=level)
    assert round(a, 3) == published
    w = pd.read_csv(classics / "krippendorff2011_exampleC_4obs_x_12units.csv", index_col=0)
    assert a == pytest.approx(krippendorff.alpha(reliability_data=w.to_numpy(float), level_of_measurement=level), abs=1e-10)


def test_krippendorff_wikipedia_example(classics):
    # Wikipedia "Krippendorff's alpha", computational example: nominal 0.691358, interval 0.810845
    df = _long_from_rows_are_annotators(classics / "wikipedia_krippendorff_example_3coders_x_15units.csv")
    assert krippendorff_alpha(df) == pytest.approx(0.691358, abs=5e-7)
    assert krippendorff_alpha(df, level="interval") == pytest.approx(0.810845, abs=5e-7)


def test_fleiss_1971_diagnoses(classics):
    # R: irr::kappam.fleiss(diagnoses) -> Kappa = 0.43 (0.4302445; statsmodels test_inter_rater.py)
    df = _long_from_rows_are_tasks(classics / "fleiss1971_diagnoses_30patients_x_6raters_codes.csv")
    assert fleiss_kappa(df) == pytest.approx(0.4302445, abs=5e-8)


def test_fleiss_wikipedia_counts(classics):
    # Wikipedia "Fleiss' kappa" worked example: kappa = 0.210 (statsmodels table1: 0.2099307)
    counts = pd.read_csv(classics / "fleiss_wikipedia_10subjects_14raters_counts.csv", index_col=0)
    rows = [(s, f"{s}-{c}-{i}", c) for s in counts.index for c in counts.columns for i in range(counts.loc[s, c])]
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    # annotators are anonymous per subject; Fleiss' kappa only needs the counts
    assert fleiss_kappa(df) == pytest.approx(0.2099307, abs=5e-8)
    assert round(fleiss_kappa(df), 3) == 0.210


def test_gwet_raw_4raters(classics):
    # Gwet (2014) Handbook of Inter-Rater Reliability 4th ed., raw_4raters example (irrCAC):
    # Fleiss 0.761, AC1 0.775, Conger 0.763, Brennan-Prediger 0.773, alpha 0.743; pa 0.818.
    df = _long_from_rows_are_tasks(classics / "irrCAC_gwet_datasets/raw_4raters.csv")
    assert round(fleiss_kappa(df), 3) == 0.761
    assert round(gwet_ac1(df), 3) == 0.775
    assert round(conger_kappa(df), 3) == 0.763
    assert round(brennan_prediger(df), 3) == 0.773
    assert round(krippendorff_alpha(df), 3) == 0.743
    assert percent_agreement(df) == pytest.approx(9 / 11, abs=1e-12)  # 0.8182


def test_cohen_sas_example(classics):
    # SAS PROC FREQ kappa example (statsmodels test_inter_rater.py table10):
    # kappa 0.4842, ASE 0.1380; linear weights (0,1,2): 0.4701
    table = pd.read_csv(classics / "cohen_sas_example_3x3_table.csv", index_col=0)
    df = _long_from_table(table)
    assert cohen_kappa(df, "r1", "r2", categories=[0, 1, 2]) == pytest.approx(0.4842, abs=5e-5)
    assert cohen_kappa(df, "r1", "r2", weights="linear", categories=[0, 1, 2]) == pytest.approx(0.4701, abs=5e-5)
    ci = confidence_interval(df, "cohen_kappa", method="analytic", annotator_a="r1", annotator_b="r2", categories=[0, 1, 2])
    assert ci["se"].iloc[0] == pytest.approx(0.1380, abs=5e-5)


def test_cohen_abstractors(classics):
    # Gwet (2014) table_cont3x3abstractors: Cohen 0.796, linear 0.843, quadratic 0.892
    table = pd.read_csv(classics / "irrCAC_gwet_datasets/table_cont3x3abstractors.csv", index_col=0)
    df = _long_from_table(table)
    cats = [0, 1, 2]
    assert round(cohen_kappa(df, "r1", "r2", categories=cats), 3) == 0.796
    assert round(cohen_kappa(df, "r1", "r2", weights="linear", categories=cats), 3) == 0.843
    assert round(cohen_kappa(df, "r1", "r2", weights="quadratic", categories=cats), 3) == 0.892


# --------------------------------------------------------------------------- peers on random tables
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _random_complete(seed, n_tasks, n_ann, n_lab):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_lab, n_tasks)
    lab = np.where(rng.random((n_tasks, n_ann)) < 0.6, truth[:, None], rng.integers(0, n_lab, (n_tasks, n_ann)))
    t, a = np.meshgrid(np.arange(n_tasks), np.arange(n_ann), indexing="ij")
    return pd.DataFrame({"task": t.ravel(), "annotator": a.ravel(), "label": lab.ravel()}), lab


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(5, 40), st.integers(2, 6), st.integers(2, 5))
def test_fleiss_matches_statsmodels(seed, n_tasks, n_ann, n_lab):
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    df, lab = _random_complete(seed, n_tasks, n_ann, n_lab)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = fleiss_kappa(df)
        theirs = sm_fleiss(aggregate_raters(lab)[0])
    assert ours == pytest.approx(theirs, abs=1e-10, nan_ok=True)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(5, 40), st.integers(2, 5), st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_matches_sklearn(seed, n_tasks, n_lab, weights):
    from sklearn.metrics import cohen_kappa_score

    df, lab = _random_complete(seed, n_tasks, 2, n_lab)
    # Numeric labels are weighted by their values (R irrCAC linear.weights, SAS PROC FREQ
    # default scores; issue 10), sklearn by positions in `labels`: they agree when `labels`
    # is the whole integer scale min..max, also when a value in between was never used.
    cats = list(range(lab.min(), lab.max() + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = cohen_kappa(df, 0, 1, weights=weights)
        theirs = cohen_kappa_score(lab[:, 0], lab[:, 1], weights=weights, labels=cats)
        # two raters, complete data: Conger = Cohen, Fleiss = Scott
        assert conger_kappa(df, weights=weights) == pytest.approx(ours, abs=1e-10, nan_ok=True)
        assert fleiss_kappa(df) == pytest.approx(scott_pi(df), abs=1e-10, nan_ok=True)
    assert ours == pytest.approx(theirs, abs=1e-10, nan_ok=True)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(3, 40), st.integers(2, 6), st.integers(2, 6),
       st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_alpha_matches_krippendorff_with_missing(seed, n_tasks, n_ann, n_lab, level):
    import krippendorff

    df, lab = _random_complete(seed, n_tasks, n_ann, n_lab)
    rng = np.random.default_rng(seed + 1)
    df = df.loc[rng.random(len(df)) < 0.7]
    if df.groupby("task").size().max() < 2 or df["annotator"].nunique() < 2:
        return
    df = df.assign(label=df["label"] + 1)  # ratio needs positive values
    wide = df.pivot(index="annotator", columns="task", values="label").to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = krippendorff_alpha(df, level=level)
        try:
            theirs = krippendorff.alpha(reliability_data=wide, level_of_measurement=level)
        except ValueError:  # krippendorff refuses a single value in the domain
            return
    assert ours == pytest.approx(theirs, abs=1e-9, nan_ok=True)


def test_alpha_custom_distance_matches_interval():
    df, _ = _random_complete(3, 30, 4, 4)
    assert krippendorff_alpha(df, level=lambda a, b: (a - b) ** 2) == pytest.approx(
        krippendorff_alpha(df, level="interval"), abs=1e-12)


# --------------------------------------------------------------------------- invariances
MULTI = [percent_agreement, fleiss_kappa, conger_kappa, gwet_ac1, brennan_prediger, krippendorff_alpha]


@pytest.mark.parametrize("metric", MULTI, ids=lambda f: f.__name__)
def test_invariance_relabel_reorder_and_string_labels(metric):
    df, _ = _random_complete(7, 40, 5, 3)
    df = df.loc[np.random.default_rng(0).random(len(df)) < 0.8]
    base = metric(df)
    relabelled = df.assign(annotator=df["annotator"].map(lambda a: f"rater_{(a * 7) % 5}"))
    shuffled = df.sample(frac=1.0, random_state=1)
    strings = df.assign(label=df["label"].map({0: "cat", 1: "dog", 2: "fox"}),
                        task=df["task"].map(lambda t: f"task{t:03d}"))
    assert metric(relabelled) == pytest.approx(base, abs=1e-12)
    assert metric(shuffled) == pytest.approx(base, abs=1e-12)
    assert metric(strings) == pytest.approx(base, abs=1e-12)


@pytest.mark.parametrize("metric", [cohen_kappa, scott_pi], ids=lambda f: f.__name__)
def test_two_rater_symmetry(metric):
    df, _ = _random_complete(11, 50, 3, 4)
    for w in (None, "linear", "quadratic"):
        assert metric(df, 0, 2, weights=w) == pytest.approx(metric(df, 2, 0, weights=w), abs=1e-12)


# --------------------------------------------------------------------------- policies and bad input
def test_single_label_is_undefined_with_warning():
    df = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "label": ["x"] * 4})
    with pytest.warns(UndefinedAgreementWarning), pytest.warns(SingleLabelWarning):
        assert np.isnan(fleiss_kappa(df))
    with pytest.warns(UndefinedAgreementWarning):
        assert cohen_kappa(df, "a", "b", replace_undefined_by=1.0) == 1.0
    with pytest.warns(UndefinedAgreementWarning), pytest.warns(SingleLabelWarning):
        assert np.isnan(krippendorff_alpha(df))
    assert percent_agreement(df) == 1.0


def test_prevalence_paradox_warns():
    # 48 agreeing 'neg', 1 each way disagreeing: raw agreement 0.96, kappa < 0 (prevalence paradox)
    a = ["neg"] * 49 + ["pos"]
    b = ["neg"] * 48 + ["pos", "neg"]
    df = pd.DataFrame({"task": list(range(50)) * 2, "annotator": ["a"] * 50 + ["b"] * 50, "label": a + b})
    with pytest.warns(PrevalenceParadoxWarning, match="prevalence"):
        k = cohen_kappa(df, "a", "b")
    assert k < 0.1
    assert gwet_ac1(df) > 0.9


@pytest.mark.parametrize(
    "df, kwargs, exc, match",
    [
        (pd.DataFrame({"task": [1, 2], "annotator": ["a", "a"], "label": [1, 2]}), {}, QAInputError, "at least 2 annotators"),
        (pd.DataFrame({"task": [1, 2], "annotator": ["a", "b"], "label": [1, 2]}), {}, QAInputError, "no task has two"),
        (pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": [1, np.nan]}), {}, AnnotationFormatError, "'label' is missing"),
        (pd.DataFrame({"task": [1, 1], "annotator": ["a", "a"], "label": [1, 2]}), {}, QAInputError, "at least 2 annotators"),
        (pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "a", "b"], "label": [1, 2, 1]}), {}, AnnotationFormatError, "one label per"),
        (pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": [1, 2]}), {"level": "nomimal"}, QAInputError, "'nominal', 'ordinal'"),
        (pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["lo", "hi"]}), {"level": "ordinal"}, QAInputError, "needs an order"),
        (pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["lo", "hi"]}), {"level": "interval"}, QAInputError, "numeric labels"),
        (pd.DataFrame({"job": [1, 1], "annotator": ["a", "b"], "label": [1, 2]}), {}, AnnotationFormatError, "lacks the required"),
        ([1, 2, 3], {}, AnnotationFormatError, "must be a pandas DataFrame"),
    ],
)
def test_bad_input_messages(df, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        krippendorff_alpha(df, **kwargs)


def test_ordinal_with_explicit_order():
    df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "annotator": list("ababab"), "label": ["lo", "mid", "hi", "hi", "lo", "lo"]})
    coded = df.assign(label=df["label"].map({"lo": 0, "mid": 1, "hi": 2}))
    assert krippendorff_alpha(df, level="ordinal", categories=["lo", "mid", "hi"]) == pytest.approx(
        krippendorff_alpha(coded, level="ordinal"), abs=1e-12)


def test_cohen_errors():
    df, _ = _random_complete(1, 10, 3, 2)
    with pytest.raises(QAInputError, match="annotator_b"):
        cohen_kappa(df, 0, 9)
    with pytest.raises(QAInputError, match="must differ"):
        cohen_kappa(df, 0, 0)
    with pytest.raises(QAInputError, match="'weights'"):
        cohen_kappa(df, 0, 1, weights="cubic")


# --------------------------------------------------------------------------- analytic intervals vs irrCAC
# Reference values: the unit tests of the irrCAC Python port (afergadis/irrCAC,
# test/unit/irrCAC/raw/test_fleiss.py and test_gwet.py), which reproduce R irrCAC
# fleiss.kappa.raw / gwet.ac1.raw on Gwet (2014)'s datasets, 3 decimals:
# (file, metric, weights) -> (coefficient, se, ci_low, ci_high); se None where not asserted there.
IRRCAC = [
    ("raw_4raters", "fleiss_kappa", None, (0.761, None, 0.424, 1.0)),
    ("raw_4raters", "fleiss_kappa", "linear", (0.818, 0.149, 0.491, 1.0)),
    ("raw_4raters", "fleiss_kappa", "quadratic", (0.865, 0.146, 0.544, 1.0)),
    ("raw_5observers", "fleiss_kappa", None, (0.458, 0.120, 0.199, 0.716)),
    ("raw_g1g2", "fleiss_kappa", None, (0.657, 0.150, 0.333, 0.981)),
    ("raw_gender", "fleiss_kappa", None, (0.129, 0.141, -0.172, 0.430)),
    ("raw_ben_gerry", "fleiss_kappa", None, (0.649, 0.191, 0.228, 1.0)),
    ("raw_4raters", "gwet_ac1", None, (0.775, 0.143, 0.461, 1.0)),
    ("raw_4raters", "gwet_ac1", "linear", (0.859, 0.117, 0.600, 1.0)),
    ("raw_4raters", "gwet_ac1", "quadratic", (0.914, 0.104, 0.685, 1.0)),
    ("raw_5observers", "gwet_ac1", None, (0.497, 0.122, 0.235, 0.758)),
    ("raw_g1g2", "gwet_ac1", None, (0.685, 0.134, 0.396, 0.973)),
    ("raw_gender", "gwet_ac1", None, (0.208, 0.091, 0.014, 0.403)),
    ("raw_ben_gerry", "gwet_ac1", None, (0.661, 0.184, 0.257, 1.0)),
]


@pytest.mark.parametrize("name, metric, weights, expected", IRRCAC, ids=[f"{a}-{b}-{c}" for a, b, c, _ in IRRCAC])
def test_analytic_interval_matches_irrcac(classics, name, metric, weights, expected):
    w = pd.read_csv(classics / "irrCAC_gwet_datasets" / f"{name}.csv").drop(columns=["Group"], errors="ignore")
    w = w.set_index("Units")
    s = w.stack().dropna()
    df = pd.DataFrame({"task": s.index.get_level_values(0), "annotator": s.index.get_level_values(1), "label": s.to_numpy()})
    # irrCAC's categories are the distinct values in use; its linear/quadratic weights use the
    # category values, which are equally spaced here, so positions give the same weights.
    ci = confidence_interval(df, metric, method="analytic", weights=weights).iloc[0]
    value, se, low, high = expected
    assert round(ci.value, 3) == value
    if se is not None:
        assert round(ci.se, 3) == se
    assert round(ci.ci_low, 3) == low
    assert round(ci.ci_high, 3) == high


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_ase_matches_statsmodels(seed, weights):
    from statsmodels.stats.inter_rater import cohens_kappa

    df, lab = _random_complete(seed, 60, 2, 4)
    cats = [0, 1, 2, 3]
    table = pd.crosstab(pd.Categorical(lab[:, 0], cats), pd.Categorical(lab[:, 1], cats), dropna=False).to_numpy()
    wt = {None: None, "linear": "linear", "quadratic": "quadratic"}[weights]
    ref = cohens_kappa(table, wt=wt)
    ci = confidence_interval(df, "cohen_kappa", method="analytic", annotator_a=0, annotator_b=1,
                             weights=weights, categories=cats).iloc[0]
    assert ci.value == pytest.approx(ref.kappa, abs=1e-10)
    assert ci.se == pytest.approx(ref.std_kappa, abs=1e-10)


def test_sparse_and_negative_integer_ids_give_same_values():
    # integer columns with a compact range take a fast coding path; wide-range ids take pandas'
    df, _ = _random_complete(5, 30, 4, 3)
    wide_ids = df.assign(task=df["task"] * 10**12 + 7, annotator=-df["annotator"] * 10**9, label=df["label"] - 1)
    for f in MULTI:
        assert f(wide_ids) == pytest.approx(f(df), abs=1e-12)
    assert per_task_labels(wide_ids) == per_task_labels(df.assign(label=df["label"] - 1))


def per_task_labels(df):
    from qa_toolkit.agreement import per_task

    return per_task(df)["majority_label"].tolist()
