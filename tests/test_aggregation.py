"""Unit tests of qa_toolkit.aggregation on hand-made and synthetic data (fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit import AnnotationFormatError, QAInputError
from qa_toolkit.aggregation import DawidSkene, majority_vote, numeric_aggregate


def _synthetic(rng, *, n_tasks=400, n_annotators=12, k=3, per_task=5):
    """Tasks with known truth; annotators of varied skill, one adversary (always label 0)."""
    truth = rng.integers(0, k, n_tasks)
    acc = np.linspace(0.45, 0.95, n_annotators)
    rows = []
    for i in range(n_tasks):
        for a in rng.choice(n_annotators, per_task, replace=False):
            if a == 0:
                lab = 0
            elif rng.random() < acc[a]:
                lab = truth[i]
            else:
                lab = rng.choice([c for c in range(k) if c != truth[i]])
            rows.append((f"t{i:04d}", f"w{a:02d}", int(lab)))
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    gold = pd.Series(truth, index=[f"t{i:04d}" for i in range(n_tasks)], name="gold")
    return df, gold, acc


# --- majority vote ------------------------------------------------------------------


def test_majority_vote_toy(toy_annotations):
    mv = majority_vote(toy_annotations, tie_policy="first")
    assert mv.name == "agg_label" and mv.index.name == "task"
    # task 3: cat 2 votes, dog 1, bird 1 -> cat; every other task has a clear winner
    assert mv.to_dict() == {1: "cat", 2: "dog", 3: "cat", 4: "bird", 5: "dog"}


def test_majority_vote_tie_policies():
    df = pd.DataFrame({"task": [1, 1, 2, 2, 2], "annotator": list("ababc"), "label": ["y", "x", "x", "x", "y"]})
    assert majority_vote(df, tie_policy="first").tolist() == ["x", "x"]
    missing = majority_vote(df, tie_policy="missing")
    assert pd.isna(missing.loc[1]) and missing.loc[2] == "x"
    picks = {majority_vote(df, random_state=s).loc[1] for s in range(30)}
    assert picks == {"x", "y"}  # random ties really pick both
    assert majority_vote(df, random_state=7).equals(majority_vote(df, random_state=7))


def test_majority_vote_task_order_and_int_labels(toy_annotations, rng):
    shuffled = toy_annotations.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_series_equal(
        majority_vote(toy_annotations, tie_policy="first"), majority_vote(shuffled, tie_policy="first")
    )
    codes = toy_annotations.assign(label=toy_annotations["label"].map({"bird": 0, "cat": 1, "dog": 2}))
    assert majority_vote(codes, tie_policy="first").tolist() == [1, 2, 1, 0, 2]


def test_majority_vote_bad_input(toy_annotations):
    with pytest.raises(QAInputError, match="'tie_policy' parameter of majority_vote must be one of"):
        majority_vote(toy_annotations, tie_policy="coin")
    with pytest.raises(AnnotationFormatError, match="lacks the required column"):
        majority_vote(toy_annotations.rename(columns={"label": "answer"}))
    with pytest.raises(AnnotationFormatError, match="empty"):
        majority_vote(toy_annotations.iloc[:0])
    bad = toy_annotations.copy()
    bad.loc[2, "label"] = None
    with pytest.raises(AnnotationFormatError, match="'label' is missing"):
        majority_vote(bad)
    with pytest.raises(AnnotationFormatError, match="must be a pandas DataFrame"):
        majority_vote([(1, "a", "x")])


def test_numeric_aggregate():
    df = pd.DataFrame({"task": [2, 2, 2, 1, 1], "annotator": list("abcab"), "label": [0, 10, 50, 3, 5]})
    assert numeric_aggregate(df).to_dict() == {1: 4.0, 2: 20.0}
    assert numeric_aggregate(df, method="median").to_dict() == {1: 4.0, 2: 10.0}
    with pytest.raises(AnnotationFormatError, match="numeric labels"):
        numeric_aggregate(df.assign(label=["a", "b", "c", "d", "e"]))
    with pytest.raises(QAInputError, match="'method'"):
        numeric_aggregate(df, method="mode")


# --- Dawid-Skene ---------------------------------------------------------------------


def test_ds_attributes_shapes(toy_annotations):
    ds = DawidSkene().fit(toy_annotations)
    k, n_a = 3, 5
    assert list(ds.classes_) == ["bird", "cat", "dog"]
    assert ds.posteriors_.shape == (5, k)
    np.testing.assert_allclose(ds.posteriors_.sum(axis=1), 1.0)
    assert ds.confusion_.shape == (n_a * k, k)
    assert ds.confusion_.index.names == ["annotator", "true_label"]
    np.testing.assert_allclose(ds.confusion_.sum(axis=1), 1.0)
    assert ds.confusion_.loc["a"].shape == (k, k)
    assert ds.priors_.sum() == pytest.approx(1.0)
    assert ds.annotator_accuracy_.index.name == "annotator"
    assert ((ds.annotator_accuracy_ >= 0) & (ds.annotator_accuracy_ <= 1)).all()
    assert ds.n_iter_ == len(ds.history_) >= 1
    assert ds.labels_.name == "agg_label" and ds.labels_.index.name == "task"
    table = ds.label_table()
    assert list(table.columns) == ["label", "confidence", "n_annotations", "is_gold"]
    assert table["n_annotations"].tolist() == [5, 5, 4, 5, 5]
    assert (table["confidence"] >= 1 / k - 1e-12).all()
    pd.testing.assert_series_equal(DawidSkene().fit_predict(toy_annotations), ds.labels_)


def test_ds_log_likelihood_monotone(rng):
    df, _, _ = _synthetic(rng, n_tasks=200)
    h = np.array(DawidSkene(max_iter=50, tol=0, smoothing=0.0).fit(df).history_)
    assert len(h) == 50
    # maximum-likelihood EM never decreases the likelihood (with smoothing > 0 EM climbs the
    # posterior, likelihood + log Dirichlet prior, and the likelihood alone may dip)
    assert (np.diff(h) >= -1e-8 * np.abs(h[1:])).all()


def test_ds_recovers_truth_and_annotator_skill(rng):
    df, truth, acc = _synthetic(rng)
    ds = DawidSkene().fit(df)
    mv = majority_vote(df, random_state=0)
    ds_acc = (ds.labels_ == truth.loc[ds.labels_.index]).mean()
    mv_acc = (mv == truth.loc[mv.index]).mean()
    assert ds_acc > mv_acc + 0.03, (ds_acc, mv_acc)
    assert ds_acc > 0.93
    # the adversary (w00 always says 0) gets low accuracy, the best annotator a high one
    est = ds.annotator_accuracy_
    assert est["w00"] < 0.45 and est["w11"] > 0.85
    assert np.corrcoef(est.iloc[1:], acc[1:])[0, 1] > 0.9
    # the adversary's confusion: observed 0 whatever the truth
    assert (ds.confusion_.loc["w00"][0] > 0.95).all()


def test_ds_vectorised_matches_per_task_loop(toy_annotations):
    """The sparse E-step equals a direct per-task product over the fitted parameters."""
    ds = DawidSkene(max_iter=7, tol=0).fit(toy_annotations)
    # rerun one E-step by hand from the returned parameters of a 6-iteration fit
    ds6 = DawidSkene(max_iter=6, tol=0).fit(toy_annotations)
    for task, grp in toy_annotations.groupby("task"):
        logp = np.log(ds6.priors_.to_numpy()).copy()
        for _, r in grp.iterrows():
            logp += np.log(np.maximum(ds6.confusion_.loc[r["annotator"]][r["label"]].to_numpy(), 1e-300))
        p = np.exp(logp - logp.max())
        np.testing.assert_allclose(ds.posteriors_.loc[task].to_numpy(), p / p.sum(), atol=1e-9)


def test_ds_invariances(toy_annotations):
    base = DawidSkene().fit(toy_annotations)
    shuffled = toy_annotations.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(DawidSkene().fit(shuffled).posteriors_, base.posteriors_)
    renamed = toy_annotations.assign(annotator=toy_annotations["annotator"].map(lambda a: "zz" + a))
    np.testing.assert_allclose(DawidSkene().fit(renamed).posteriors_.to_numpy(), base.posteriors_.to_numpy())


def test_ds_gold_clamping(rng):
    df, truth, _ = _synthetic(rng, n_tasks=300)
    gold = truth.iloc[:100]
    ds = DawidSkene().fit(df, gold=gold)
    assert (ds.labels_.loc[gold.index] == gold).all()
    np.testing.assert_allclose(ds.posteriors_.loc[gold.index].max(axis=1), 1.0)
    assert ds.label_table()["is_gold"].sum() == 100
    assert ds.gold_.shape == (100,)
    rest = truth.index[100:]
    acc_gold = (ds.labels_.loc[rest] == truth.loc[rest]).mean()
    acc_plain = (DawidSkene().fit_predict(df).loc[rest] == truth.loc[rest]).mean()
    assert acc_gold >= acc_plain - 0.01
    # gold on tasks absent from data is ignored; labels outside the classes raise
    ds2 = DawidSkene().fit(df, gold=pd.concat([gold, pd.Series({"nope": 1})]))
    assert len(ds2.gold_) == 100
    with pytest.raises(AnnotationFormatError, match="gold label"):
        DawidSkene().fit(df, gold=gold.astype(str))
    with pytest.raises(QAInputError, match="'gold'"):
        DawidSkene().fit(df, gold=gold.to_dict())


def test_one_coin(rng):
    df, truth, acc = _synthetic(rng)
    oc = DawidSkene(model="one_coin").fit(df)
    conf = oc.confusion_.loc["w05"].to_numpy()
    off = conf[~np.eye(3, dtype=bool)]
    np.testing.assert_allclose(off, off[0])  # one parameter per annotator
    np.testing.assert_allclose(np.diag(conf), oc.annotator_accuracy_["w05"])
    assert (oc.labels_ == truth.loc[oc.labels_.index]).mean() > 0.85
    uni = DawidSkene(model="one_coin", class_priors="uniform").fit(df)
    np.testing.assert_allclose(uni.priors_, 1 / 3)


def test_ds_classes_parameter(toy_annotations):
    ds = DawidSkene(classes=["dog", "cat", "bird", "fish"]).fit(toy_annotations)
    assert list(ds.posteriors_.columns) == ["dog", "cat", "bird", "fish"]
    with pytest.raises(AnnotationFormatError, match="not in the 'classes' parameter"):
        DawidSkene(classes=["dog", "cat"]).fit(toy_annotations)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"model": "two_coin"}, "'model' parameter of DawidSkene"),
        ({"init": "random"}, "'init' parameter"),
        ({"max_iter": 0}, "'max_iter'"),
        ({"tol": -1.0}, "'tol'"),
        ({"smoothing": "a"}, "'smoothing'"),
        ({"class_priors": "flat"}, "'class_priors'"),
    ],
)
def test_ds_bad_params(toy_annotations, params, match):
    with pytest.raises(QAInputError, match=match):
        DawidSkene(**params).fit(toy_annotations)


def test_ds_not_fitted():
    with pytest.raises(QAInputError, match="not fitted"):
        DawidSkene().label_table()


def test_plots(toy_annotations):
    from qa_toolkit.plotting.aggregation import plot_annotator_confusion, plot_ds_accuracy

    ds = DawidSkene().fit(toy_annotations)
    ax = plot_annotator_confusion(ds, "d")
    assert len(ax.texts) == 9 and ax.get_xlabel() == "label given"
    assert len(plot_ds_accuracy(ds).patches) == 5
    assert len(plot_ds_accuracy(ds, top=2).patches) == 2
    with pytest.raises(QAInputError, match="'annotator' parameter"):
        plot_annotator_confusion(ds, "nobody")
    with pytest.raises(QAInputError, match="fitted DawidSkene"):
        plot_ds_accuracy(DawidSkene())


def test_report_section(toy_annotations):
    from qa_toolkit.report.aggregation_section import build_section
    from qa_toolkit.report.core import AuditContext

    gold = pd.Series({1: "cat", 2: "dog", 3: "cat", 4: "bird", 5: "dog"})
    ctx = AuditContext(annotations=toy_annotations, gold=gold)
    sec = build_section(ctx)
    assert sec.title.startswith("Truth inference")
    assert "Dawid-Skene accuracy on gold" in sec.html and "<img" in sec.html
    assert list(sec.tables["truth_inference"].index) == [1, 2, 3, 4, 5]
    assert set(sec.tables["annotator_ds_accuracy"].index) == set("abcde")
    assert isinstance(ctx.cache["dawid_skene"], DawidSkene)
    single = toy_annotations[toy_annotations["annotator"] == "a"]
    assert build_section(AuditContext(annotations=single)) is None


# --- properties ------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def _tables(draw):
    n = draw(st.integers(1, 40))
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, 7), st.sampled_from(list("abcdef")), st.sampled_from(["x", "y", "z"])),
            min_size=n, max_size=n,
        )
    )
    return pd.DataFrame(rows, columns=["task", "annotator", "label"]).drop_duplicates(["task", "annotator"])


@settings(max_examples=40, deadline=None)
@given(_tables(), st.sampled_from(["full", "one_coin"]))
def test_ds_properties(df, model):
    ds = DawidSkene(model=model, max_iter=30).fit(df)
    post = ds.posteriors_.to_numpy()
    assert np.isfinite(post).all() and np.allclose(post.sum(axis=1), 1.0)
    assert set(ds.labels_) <= set(df["label"])
    assert list(ds.posteriors_.index) == sorted(df["task"].unique())
    np.testing.assert_allclose(ds.confusion_.sum(axis=1), 1.0)
    assert ((ds.annotator_accuracy_ >= -1e-12) & (ds.annotator_accuracy_ <= 1 + 1e-12)).all()
    # (no unanimity property here: with annotators who each used one label only, DS is
    # not identifiable and may legitimately relabel a unanimous task; see the next test)


@pytest.mark.parametrize("model", ["full", "one_coin"])
def test_ds_unanimous_complete_design(model):
    labels = ["x", "y", "z", "x", "y", "z"]
    df = pd.DataFrame(
        [(t, a, lab) for t, lab in enumerate(labels) for a in "abc"], columns=["task", "annotator", "label"]
    )
    assert DawidSkene(model=model).fit_predict(df).tolist() == labels


@settings(max_examples=40, deadline=None)
@given(_tables(), st.integers(0, 2**16))
def test_majority_vote_properties(df, seed):
    mv = majority_vote(df, random_state=seed)
    counts = pd.crosstab(df["task"], df["label"])
    # the chosen label always has the top count
    chosen = counts.to_numpy()[np.arange(len(mv)), counts.columns.get_indexer(mv.to_numpy())]
    assert (chosen == counts.max(axis=1).to_numpy()).all()
    perm = df.sample(frac=1.0, random_state=seed % 1000)
    pd.testing.assert_series_equal(
        majority_vote(perm, tie_policy="first"), majority_vote(df, tie_policy="first")
    )


def test_label_dtypes():
    base = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"), "label": [True, True, False, False, False, True]})
    assert DawidSkene().fit_predict(base).tolist() == [True, False]
    cat = base.assign(label=pd.Categorical(["p", "p", "n", "n", "n", "p"]))
    assert DawidSkene().fit_predict(cat).tolist() == ["p", "n"]
    assert majority_vote(cat).tolist() == ["p", "n"]
    single = base.assign(label="only")
    ds = DawidSkene().fit(single)
    assert ds.labels_.tolist() == ["only", "only"] and ds.posteriors_.shape == (2, 1)


# --- smoothing (issue 12) -------------------------------------------------------------


def _one_class_annotator():
    """Annotators a-d label 60 tasks (truth alternates cat/dog, a-c always right, d mostly);
    'x' only ever sees cat tasks and labels them all 'cat'."""
    rows = []
    for i in range(60):
        truth = "cat" if i % 2 == 0 else "dog"
        for a in "abc":
            rows.append((i, a, truth))
        rows.append((i, "d", truth if i % 5 else ("dog" if truth == "cat" else "cat")))
        if truth == "cat":
            rows.append((i, "x", "cat"))
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


def test_ds_default_smoothing_keeps_unseen_class_rows_non_degenerate():
    df = _one_class_annotator()
    plain = DawidSkene(smoothing=0.0).fit(df).confusion_.loc[("x", "dog")]
    smooth = DawidSkene().fit(df).confusion_.loc[("x", "dog")]
    # x never saw a dog: without smoothing the row is whatever a ~1e-10 posterior mass made it
    # (degenerate: one cell ~1); with the default it is close to uniform
    assert plain.max() > 0.99
    assert smooth.min() > 0.4
    # the row x has evidence for barely moves (30 cat labels + 0.01 pseudo-counts)
    cat_row = DawidSkene().fit(df).confusion_.loc[("x", "cat")]
    assert cat_row["cat"] == pytest.approx(30.01 / 30.02, abs=1e-6)


def test_ds_prior_smoothing_and_validation(toy_annotations):
    classes = ["dog", "cat", "bird", "fish"]  # nobody says fish
    assert DawidSkene(classes=classes, smoothing=0.0).fit(toy_annotations).priors_["fish"] < 1e-290
    pri = DawidSkene(classes=classes).fit(toy_annotations).priors_
    n = toy_annotations["task"].nunique()
    # (posterior mass + s) / (n + K s); the posterior mass on fish is ~2.5e-4 here
    floor = 0.01 / (n + 4 * 0.01)
    assert floor <= pri["fish"] <= 1.05 * floor
    assert DawidSkene(classes=classes, prior_smoothing=0.0).fit(toy_annotations).priors_["fish"] < 1e-4
    with pytest.raises(QAInputError, match="'prior_smoothing'"):
        DawidSkene(prior_smoothing=-1).fit(toy_annotations)


def test_ds_smoothing_zero_equals_crowdkit():
    ck = pytest.importorskip("crowdkit.aggregation")  # dev dependency (pyproject [dev])
    rng = np.random.default_rng(3)
    df, _, _ = _synthetic(rng, n_tasks=300)
    ours = DawidSkene(smoothing=0.0, max_iter=30, tol=0.0).fit(df)
    theirs = ck.DawidSkene(n_iter=30, tol=0.0).fit(df.rename(columns={"annotator": "worker"}))
    p = theirs.probas_.loc[ours.posteriors_.index, ours.posteriors_.columns]
    # crowd-kit clips error probabilities at 1e-10 (its _EPS); no cell is that small here
    np.testing.assert_allclose(ours.posteriors_.to_numpy(), p.to_numpy(), atol=1e-8)
    np.testing.assert_allclose(ours.priors_.to_numpy(), theirs.priors_.loc[ours.priors_.index].to_numpy(), atol=1e-10)
