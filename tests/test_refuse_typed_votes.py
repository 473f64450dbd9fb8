"""Engines written for one label per (task, annotator) refuse regions, sets and several fields
(STYLE rule 17): they name the field, its kind and the function that handles it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import qa_toolkit as qa

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realworld_exports"
EVALME = SHARED / "label_studio" / "json" / "evalme_test_bbox__3annotators_predictions.json"
LEOKA = SHARED / "label_studio" / "json" / "leoka_team_6__ner_taxonomy_multiannotator_gt.json"


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared beside the checkout)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return qa.read_annotations(path)


@pytest.mark.parametrize("engine", ["majority_vote", "DawidSkene"])
def test_boxes_are_not_votes(engine):
    boxes = _read(EVALME)  # 91 boxes from 3 annotators on 5 images
    call = {"majority_vote": lambda: qa.majority_vote(boxes), "DawidSkene": lambda: qa.DawidSkene().fit(boxes)}
    with pytest.raises(qa.AnnotationFormatError, match=r"field 'label' has kind 'box'.*consensus_regions"):
        call[engine]()


def test_several_fields_are_refused_by_dawid_skene():
    leoka = _read(LEOKA)  # spans ('label') and taxonomy ('Category')
    with pytest.raises(qa.AnnotationFormatError, match=r"2 fields .*'label': 'span'.*'Category': 'multilabel'"):
        qa.DawidSkene().fit(leoka)
    with pytest.raises(qa.AnnotationFormatError, match=r"kind 'multilabel'.*multilabel_dawid_skene"):
        qa.majority_vote(leoka[leoka["field"] == "Category"])


def test_categorical_repeats_still_count_as_repeated_votes():
    # Dawid & Skene (1979) model repeated responses of one observer: a categorical field passes
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": ["a", "a", "b", "a", "b"],
                       "label": ["x", "x", "y", "y", "y"], "field": "f", "kind": "categorical"})
    assert qa.majority_vote(df, tie_policy="first").tolist() == ["x", "y"]
