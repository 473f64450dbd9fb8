"""Tests of qa_toolkit.plotting.annotators: axes-level, numbers from the report."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from qa_toolkit.annotators import annotator_report
from qa_toolkit.plotting.annotators import plot_annotator_accuracy, plot_drift


def test_accuracy_plot_draws_on_given_axes(toy_annotations):
    rep = annotator_report(toy_annotations, gold=pd.Series({1: "cat", 2: "dog", 4: "bird"}), dawid_skene=False, min_labels=1)
    fig, ax = plt.subplots()
    out = plot_annotator_accuracy(rep, ax=ax)
    assert out is ax
    ys = [t.get_text() for t in ax.get_yticklabels()]
    assert ys[0] == rep["gold_accuracy"].idxmin()
    assert len(ys) == 5


def test_drift_plot_lines(rng):
    t = pd.date_range("2024-01-01", periods=60, freq="h", tz="UTC")
    df = pd.DataFrame({"task": list(range(60)) * 2, "annotator": ["a"] * 60 + ["b"] * 60,
                       "label": rng.integers(0, 2, 120), "created_at": list(t) * 2})
    ax = plot_drift(df, gold=pd.Series(1, index=range(60)), window=10)
    assert len(ax.get_lines()) == 2 and ax.get_ylabel() == "rolling accuracy"
    a = df[df["annotator"] == "a"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata()[-1], (a["label"].tail(10) == 1).mean())
