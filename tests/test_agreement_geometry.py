"""Box, span, numeric and custom-similarity agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_toolkit._validation import AnnotationFormatError, QAInputError
from qa_toolkit.agreement import (
    box_agreement,
    box_alpha,
    box_iou,
    match_boxes,
    match_spans,
    mean_iou_per_label,
    numeric_agreement,
    similarity_agreement,
    span_agreement,
    span_alpha,
    span_iou,
)

pytestmark = pytest.mark.filterwarnings("ignore::qa_toolkit.agreement.AgreementWarning")


def _iou_loop(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            w = max(0, min(p[2], q[2]) - max(p[0], q[0]))
            h = max(0, min(p[3], q[3]) - max(p[1], q[1]))
            inter = w * h
            out[i, j] = inter / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter)
    return out


def test_box_iou_matches_loop(rng):
    xy = rng.uniform(0, 50, (30, 2))
    wh = rng.uniform(1, 30, (30, 2))
    boxes = np.hstack([xy, xy + wh])
    np.testing.assert_allclose(box_iou(boxes[:12], boxes[12:]), _iou_loop(boxes[:12], boxes[12:]), atol=1e-12)
    assert np.allclose(np.diag(box_iou(boxes, boxes)), 1.0)


def _boxes(rows):
    return pd.DataFrame(rows, columns=["task", "annotator", "label", "x_min", "y_min", "x_max", "y_max"])


def test_match_boxes_outcomes_and_optimal_assignment():
    df = _boxes([
        # task 1: two overlapping cars each; the assignment maximises the total IoU
        (1, "a", "car", 0, 0, 10, 10), (1, "a", "car", 4, 0, 14, 10),
        (1, "b", "car", 2, 0, 12, 10), (1, "b", "car", 5, 0, 15, 10),
        # task 2: class error, location error, missing, spurious
        (2, "a", "dog", 0, 0, 10, 10), (2, "b", "cat", 0, 0, 10, 9),
        (2, "a", "dog", 50, 50, 60, 60), (2, "b", "dog", 58, 58, 68, 68),
        (2, "a", "cow", 100, 100, 110, 110),
        (2, "b", "cow", 200, 200, 210, 210),
    ])
    m = match_boxes(df, iou_threshold=0.5)
    t1 = m.loc[m.task == 1]
    assert (t1.outcome == "match").sum() == 2
    # optimum: a0-b0 (IoU 8/12), a1-b1 (IoU 9/11) -> total beats a0-b1 + a1-b0
    assert t1.iou.sum() == pytest.approx(8 / 12 + 9 / 11)
    t2 = m.loc[m.task == 2].set_index("outcome")
    assert sorted(t2.index) == ["class", "location", "missing", "spurious"]
    assert t2.loc["class", "iou"] == pytest.approx(0.9)
    assert t2.loc["location", "severity"] == 3 and t2.loc["missing", "severity"] == 4
    assert t2.loc["spurious", "severity"] == 1 and t2.loc["class", "severity"] == 2
    s = box_agreement(df).iloc[0]
    assert (s.n_a, s.n_b, s.n_matched) == (5, 5, 2)
    assert s.f1 == pytest.approx(2 * 2 / 10)
    per_label = mean_iou_per_label(m)
    assert per_label.loc["dog", "mean_iou"] == pytest.approx(0.9)


def test_box_alpha_perfect_and_bad_boxes():
    df = _boxes([(1, "a", "car", 0, 0, 5, 5), (1, "b", "car", 0, 0, 5, 5), (2, "a", "dog", 0, 0, 5, 5),
                 (2, "b", "dog", 0, 0, 5, 5)])
    assert box_alpha(df) == pytest.approx(1.0)
    bad = _boxes([(1, "a", "car", 0, 0, 0, 5), (1, "b", "car", 0, 0, 5, 5)])
    with pytest.raises(AnnotationFormatError, match="zero or negative size"):
        match_boxes(bad)
    with pytest.raises(AnnotationFormatError, match="lacks the required"):
        match_boxes(df.drop(columns="y_max"))
    with pytest.raises(QAInputError, match="iou_threshold"):
        match_boxes(df, iou_threshold=1.5)


def _spans(rows):
    return pd.DataFrame(rows, columns=["task", "annotator", "label", "start", "end"])


def test_spans_exact_overlap_token():
    df = _spans([(1, "a", "PER", 0, 10), (1, "b", "PER", 0, 8), (1, "a", "LOC", 20, 30), (1, "b", "ORG", 20, 30)])
    np.testing.assert_allclose(span_iou(np.array([[0, 10]]), np.array([[0, 8], [5, 15]])), [[0.8, 5 / 15]])
    assert span_agreement(df, method="exact").iloc[0]["n_matched"] == 0
    over = span_agreement(df, method="overlap").iloc[0]
    assert over.n_matched == 1 and over.f1 == pytest.approx(0.5)
    tok = span_agreement(df, method="token").iloc[0]
    # same-label overlapping chars: 8; lengths 20 + 18
    assert tok.f1 == pytest.approx(2 * 8 / 38)
    assert match_spans(df, method="exact")["outcome"].value_counts()["missing"] == 1
    assert -1 <= span_alpha(df) < 1
    with pytest.raises(QAInputError, match="'method'"):
        span_agreement(df, method="fuzzy")


def test_numeric_and_similarity():
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "annotator": list("abc") * 2, "label": 0,
                       "value": [1.0, 1.2, 3.0, 5.0, 5.5, 5.0]})
    out = numeric_agreement(df, threshold=0.5).set_index(["annotator_a", "annotator_b"])
    assert out.loc[("a", "b"), "agreement"] == 1.0
    assert out.loc[("a", "c"), "agreement"] == 0.5
    assert out.loc[("b", "c"), "n"] == 2
    with pytest.raises(QAInputError, match="threshold"):
        numeric_agreement(df, threshold=-1)
    lab = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"), "label": ["x", "x", "y", "z", "z"]})
    eq = lambda a, b: float(a == b)  # noqa: E731
    pw = similarity_agreement(lab, eq)
    assert pw.loc[1, "agreement"] == pytest.approx(1 / 3) and pw.loc[2, "agreement"] == 1.0
    cons = similarity_agreement(lab, eq, against="consensus")
    assert cons.loc[1, "agreement"] == pytest.approx(2 / 3)
    with pytest.raises(QAInputError, match=r"\[0, 1\]"):
        similarity_agreement(lab, lambda a, b: 2.0)
