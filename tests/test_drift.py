"""Tests of qa_toolkit.drift: CUSUM, rolling quality, drift report, missing timestamps."""

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import AnnotationFormatError
from qa_toolkit.annotators import cusum, drift_report, rolling_quality


def test_cusum_by_hand():
    # S_t = max(0, S_{t-1} + (0.9 - x) - 0.1): x=1 -> 0; x=0 -> +0.8
    s, alarm = cusum([1, 0, 0, 1, 0], target=0.9, k=0.1, h=1.0)
    np.testing.assert_allclose(s, [0, 0.8, 1.6, 1.4, 2.2])
    assert alarm.tolist() == [False, False, True, True, True]


def _stream(rng, n=300, drop_at=150, p_before=0.95, p_after=0.6):
    t = pd.date_range("2024-01-01", periods=n, freq="10min", tz="UTC")
    correct = np.r_[rng.random(drop_at) < p_before, rng.random(n - drop_at) < p_after]
    steady = rng.random(n) < 0.95
    rows = []
    for i in range(n):
        rows.append((i, "drifter", 1 if correct[i] else 0, t[i]))
        rows.append((i, "steady", 1 if steady[i] else 0, t[i]))
    return pd.DataFrame(rows, columns=["task", "annotator", "label", "created_at"]), pd.Series(1, index=range(n))


def test_drift_report_flags_the_drifter_only(rng):
    df, gold = _stream(rng)
    rep = drift_report(df, gold=gold, window=50)
    assert rep.loc["drifter", "is_drift_issue"] and not rep.loc["steady", "is_drift_issue"]
    change = rep.loc["drifter", "change_at"]
    assert pd.Timestamp("2024-01-01 00:00", tz="UTC") + pd.Timedelta(minutes=10 * 150) <= change
    assert change <= pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(minutes=10 * 230)
    assert rep.loc["drifter", "drift_score"] < rep.loc["steady", "drift_score"]


def test_drift_order_follows_created_at_not_rows(rng):
    df, gold = _stream(rng)
    shuffled = df.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(drift_report(df, gold=gold), drift_report(shuffled, gold=gold))


def test_rolling_quality_columns(rng):
    df, gold = _stream(rng, n=120, drop_at=60)
    r = rolling_quality(df, gold=gold, window=20)
    d = r[r["annotator"] == "drifter"]
    assert d["position"].tolist() == list(range(120))
    assert d["rolling_accuracy"].iloc[50] > d["rolling_accuracy"].iloc[-1]
    assert d["created_at"].is_monotonic_increasing


def test_short_histories_not_judged(rng):
    df, gold = _stream(rng, n=60, drop_at=30)
    rep = drift_report(df, gold=gold, window=50)
    assert not rep["is_drift_issue"].any() and rep["baseline"].isna().all()


def test_missing_timestamps_clear_error(toy_annotations):
    with pytest.raises(AnnotationFormatError, match="lack a 'created_at' column"):
        drift_report(toy_annotations)
    df = toy_annotations.assign(created_at=pd.NaT)
    with pytest.raises(AnnotationFormatError, match="missing or unparsable in 24 row"):
        rolling_quality(df)


def test_default_cusum_false_alarms_and_power():
    # 12 steady annotators (accuracy 0.85, 2,000 labels) and 12 that drop to 0.6 halfway
    rng = np.random.default_rng(5)
    t = pd.date_range("2024-01-01", periods=2000, freq="min", tz="UTC")
    rows = []
    for i in range(12):
        steady = rng.random(2000) < 0.85
        dropped = np.r_[rng.random(1000) < 0.85, rng.random(1000) < 0.6]
        rows.append(pd.DataFrame({"task": range(2000), "annotator": f"s{i}", "label": steady.astype(int), "created_at": t}))
        rows.append(pd.DataFrame({"task": range(2000), "annotator": f"d{i}", "label": dropped.astype(int), "created_at": t}))
    rep = drift_report(pd.concat(rows, ignore_index=True), gold=pd.Series(1, index=range(2000)))
    assert rep.loc[rep.index.str.startswith("s"), "is_drift_issue"].sum() <= 1
    assert rep.loc[rep.index.str.startswith("d"), "is_drift_issue"].all()
