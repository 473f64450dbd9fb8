"""Readers of the research crowd formats: detection from content and clear errors."""

from __future__ import annotations

import pytest

from qa_toolkit import AnnotationFormatError
from qa_toolkit.io.crowd import detect_crowd_format, read_crowd, read_dawid_skene, read_zheng


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"question,worker,answer\n1,w1,0\n", "zheng"),
        (b"!amt_annotation_ids\t!amt_worker_ids\torig_id\tresponse\tgold\n", "snow"),
        (b"patient;observer;response\n1;1;1\n", "dawid_skene"),
        (b"train_index,clean_label,aggre_label\n0,6,6\n", "cifar10n"),
        (b"w1\timg1\tspam\nw2\timg1\tnotspam\nw1\timg2\tspam\n", "gal"),
        (b'{"1": {"text": "t", "annotators": "1,2", "annotations": "0,1"}}', "lewidi"),
        (b"39: {11573: true, 11574: false,\n  11580: true}\n", "bluebirds"),
        (b"task,annotator,label\n1,a,x\n", None),
    ],
)
def test_detect_crowd_format(head, expected):
    assert detect_crowd_format("f", head) == expected


def test_zheng_missing_column_names_file_and_field(tmp_path):
    p = tmp_path / "answer.csv"
    p.write_text("question,answer\n1,0\n")
    with pytest.raises(AnnotationFormatError, match=r"answer\.csv.*worker"):
        read_zheng(p)


def test_dawid_skene_real_file_counts(shared_datasets):
    """Dawid & Skene 1979, Table 1: 45 patients, observer 1 rated each patient 3 times."""
    df = read_dawid_skene(shared_datasets / "dawid_skene_1979")
    assert df["task"].nunique() == 45
    per = df.groupby("annotator").size()
    assert per.max() == 135 and (per.drop(per.idxmax()) == 45).all()


def test_unknown_crowd_format_lists_known(tmp_path):
    with pytest.raises(ValueError, match=r"format.*zheng"):
        read_crowd(tmp_path / "x.csv", format="nope")


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.csv"):
        read_zheng(tmp_path / "nothing.csv")
