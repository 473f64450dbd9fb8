"""Agreement plots and the audit report section."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from qa_toolkit.agreement import pairwise, per_label  # noqa: E402
from qa_toolkit.plotting.agreement import (  # noqa: E402
    pairwise_matrix,
    plot_confusion,
    plot_pairwise_heatmap,
    plot_per_label,
)
from qa_toolkit.report.agreement_section import build_section  # noqa: E402
from qa_toolkit.report.core import AuditContext, Section  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::qa_toolkit.agreement.AgreementWarning")


def _table(n_tasks=40, n_ann=4, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_tasks)
    lab = np.where(rng.random((n_tasks, n_ann)) < 0.7, truth[:, None], rng.integers(0, 3, (n_tasks, n_ann)))
    t, a = np.meshgrid(np.arange(n_tasks), np.arange(n_ann), indexing="ij")
    return pd.DataFrame({"task": t.ravel(), "annotator": [f"r{x}" for x in a.ravel()], "label": lab.ravel()}), truth


def test_heatmap_draws_the_pairwise_values():
    import matplotlib.pyplot as plt

    df, _ = _table()
    _, ax = plt.subplots()
    out = plot_pairwise_heatmap(df, min_overlap=5, ax=ax)
    assert out is ax
    m = pairwise_matrix(pairwise(df, min_overlap=5))
    img = ax.collections[0].get_array().reshape(m.shape)  # seaborn.heatmap's QuadMesh
    np.testing.assert_allclose(np.ma.filled(img.astype(float), np.nan), m.to_numpy(float), equal_nan=True)
    assert any("n=40" in t.get_text() for t in ax.texts)


def test_per_label_plot_positions():
    df, _ = _table()
    ax = plot_per_label(df, n_boot=30, random_state=0)
    x = np.asarray(ax.lines[0].get_xdata(), dtype=float)
    expected = per_label(df, n_boot=30, random_state=0).sort_values("value")["value"].to_numpy()
    np.testing.assert_allclose(x, expected)


def test_confusion_vs_gold_and_errors():
    df, truth = _table()
    gold = pd.Series(truth, index=np.arange(len(truth)), name="gold")
    ax = plot_confusion(df, "r0", gold=gold)
    counts = [int(t.get_text()) for t in ax.texts]
    assert sum(counts) == 40 and ax.get_xlabel() == "gold"
    with pytest.raises(ValueError, match="exactly one"):
        plot_confusion(df, "r0")


def test_report_section():
    df, _ = _table()
    sec = build_section(AuditContext(annotations=df, options={"n_boot": 50}))
    assert isinstance(sec, Section) and sec.title == "Agreement"
    assert "krippendorff_alpha" in sec.html and "data:image/png;base64" in sec.html
    assert "LowOverlapWarning" not in sec.html  # 40 pairable tasks, 40 shared per pair
    assert set(sec.tables) == {"agreement_summary", "agreement_per_label", "agreement_per_annotator", "agreement_pairwise"}
    single = pd.DataFrame({"task": [1, 2], "annotator": ["a", "b"], "label": ["x", "y"]})
    # the report never omits the section silently: it says why agreement was not computed
    why = build_section(AuditContext(annotations=single))
    assert why.title == "Agreement" and "no task has labels from two annotators" in why.html and not why.tables


def test_confusion_heatmaps_with_15_classes_scale_and_rotate_their_labels():
    from qa_toolkit.aggregation import DawidSkene
    from qa_toolkit.plotting.aggregation import plot_annotator_confusion
    from qa_toolkit.plotting.agreement import plot_confusion

    rng = np.random.default_rng(0)
    names = [f"class_{chr(97 + k)}_long_name" for k in range(15)]
    truth = rng.integers(0, 15, 200)
    df = pd.DataFrame([(t, a, names[truth[t] if rng.random() < 0.8 else rng.integers(0, 15)])
                       for t in range(200) for a in ("a", "b", "c")], columns=["task", "annotator", "label"])
    for ax in (plot_annotator_confusion(DawidSkene().fit(df), "a"), plot_confusion(df, "a", "b")):
        w, h = ax.figure.get_size_inches()
        assert w >= 8 and h >= 8  # grows with the classes (a fixed 4-inch box would cramp 15 names)
        assert len(ax.get_xticklabels()) == 15
        assert {t.get_rotation() for t in ax.get_xticklabels()} == {90.0}
        assert {t.get_rotation() for t in ax.get_yticklabels()} == {0.0}


def test_plot_per_label_draws_a_given_table_without_recomputing(monkeypatch):
    import qa_toolkit.plotting.agreement as pa

    table = pd.DataFrame({"value": [0.2, 0.7], "ci_low": [0.1, 0.6], "ci_high": [0.3, 0.8]},
                         index=pd.Index(["b", "a"], name="label"))
    monkeypatch.setattr(pa, "per_label", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    ax = pa.plot_per_label(pd.DataFrame({"task": [1], "annotator": ["x"], "label": ["a"]}), table=table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]  # sorted by value, as computed
