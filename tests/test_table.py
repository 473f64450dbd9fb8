"""The canonical table: validation messages, converters and their round trip."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_toolkit import (
    AnnotationFormatError,
    AnnotationWarning,
    to_counts,
    to_wide,
    validate_annotations,
)
from qa_toolkit.table import from_wide


def test_valid_table_passes_unchanged(toy_annotations):
    out = validate_annotations(toy_annotations)
    assert out is toy_annotations


def test_missing_column_names_expected_and_received():
    df = pd.DataFrame({"task": [1], "worker": ["a"], "label": ["x"]})
    with pytest.raises(AnnotationFormatError, match=r"\['annotator'\].*got columns \['task', 'worker', 'label'\]"):
        validate_annotations(df, source="export.json")


def test_messages_name_the_source_file():
    df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "a"], "label": ["x", "x"]})
    with pytest.raises(AnnotationFormatError, match=r"duplicate.*export\.json"):
        validate_annotations(df, source="export.json")


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        ({"x_min": [0, 5], "y_min": [0, 0], "x_max": [10, 5], "y_max": [10, 10]}, "zero or negative area"),
        (
            {"x_min": [0, 0], "y_min": [0, 0], "x_max": [10, 120], "y_max": [10, 10],
             "image_width": [100, 100], "image_height": [100, 100]},
            "outside the image",
        ),
        ({"start": [0, 7], "end": [5, 3]}, "end <= start"),
        ({"lead_time": [1.0, -2.0]}, "Negative 'lead_time'"),
    ],
)
def test_geometry_span_and_time_checks(extra, pattern):
    df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", "y"], **extra})
    with pytest.raises(AnnotationFormatError, match=pattern):
        validate_annotations(df)
    with pytest.warns(AnnotationWarning, match=r"Dropped 1 of 2"):
        kept = validate_annotations(df, errors="warn")
    assert kept["annotator"].tolist() == ["a"]


def test_errors_option_is_validated(toy_annotations):
    with pytest.raises(ValueError, match=r"errors.*'raise'.*'warn'.*'ignore'"):
        validate_annotations(toy_annotations, errors="ignore")


def test_not_a_dataframe():
    with pytest.raises(AnnotationFormatError, match="must be a pandas DataFrame.*list"):
        validate_annotations([("t", "a", "x")])


def test_to_wide_shape_and_missing(toy_annotations):
    wide = to_wide(toy_annotations)
    assert wide.shape == (5, 5)
    assert list(wide.columns) == ["a", "b", "c", "d", "e"]
    assert pd.isna(wide.loc[3, "e"])
    assert wide.loc[3, "c"] == "bird"


def test_to_wide_refuses_regions():
    df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "a"], "label": ["x", "y"]})
    with pytest.raises(AnnotationFormatError, match="one label per \\(task, annotator\\)"):
        to_wide(df)


def test_to_counts_rows_sum_to_annotators(toy_annotations):
    counts = to_counts(toy_annotations)
    assert list(counts.columns) == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(counts.sum(axis=1).to_numpy(), [5, 5, 4, 5, 5])
    assert counts.loc[3].tolist() == [1, 2, 1]


def test_to_counts_label_order_and_unknown(toy_annotations):
    counts = to_counts(toy_annotations, labels=["dog", "cat", "bird", "fish"])
    assert list(counts.columns) == ["dog", "cat", "bird", "fish"]
    assert (counts["fish"] == 0).all()
    with pytest.raises(AnnotationFormatError, match="not in the 'labels' parameter"):
        to_counts(toy_annotations, labels=["dog", "cat"])


labels = st.sampled_from(["a", "b", "c", 1, 2])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 6), st.sampled_from(["x", "y", "z"])),
        min_size=1,
        max_size=120,
        unique_by=lambda r: (r[0], r[1]),
    )
)
def test_wide_round_trip_and_counts_agree(rows):
    df = pd.DataFrame(rows, columns=["task", "annotator", "label"])
    df["annotator"] = "w" + df["annotator"].astype(str)
    back = from_wide(to_wide(df))
    expected = df.sort_values(["task", "annotator"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back.astype(str), expected.astype(str), check_dtype=False)
    counts = to_counts(df)
    assert counts.to_numpy().sum() == len(df)
    per_task = df.groupby("task").size().sort_index()
    np.testing.assert_array_equal(counts.sum(axis=1).to_numpy(), per_task.to_numpy())


def test_warn_mode_reports_every_problem_in_one_warning():
    df = pd.DataFrame({"task": [1, 1, 2, None], "annotator": ["a", "a", "b", "c"], "label": ["x", "x", None, "y"]})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = validate_annotations(df, errors="warn")
    assert len(out) == 1
    assert len(w) == 1 and "Dropped 3 of 4" in str(w[0].message)
