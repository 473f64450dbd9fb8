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
