"""Hypothesis fuzzing of the JSON and XML readers: only AnnotationFormatError escapes.

Inputs: arbitrary bytes, arbitrary JSON documents, and real export files mutated at
the byte level and at the JSON-node / XML-attribute level.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_toolkit import AnnotationFormatError
from qa_toolkit.io import (
    read_annotations,
    read_coco,
    read_cvat,
    read_label_studio,
    read_predictions,
)

DATA = Path(__file__).parent / "data" / "io"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
JSON_READERS = [read_label_studio, read_coco, read_predictions, read_annotations]
JSON_SEEDS = [DATA / "ls_edge_cases.json"]
XML_SEED = (DATA / "cvat_edge_cases.xml").read_bytes()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "annotations", "result", "type", "value", "choices", "x", "y", "width",
                         "height", "original_width", "original_height", "completed_by", "images",
                         "categories", "bbox", "image_id", "category_id", "name", "file_name",
                         "taxonomy", "points", "labels", "start", "end", "lead_time", "created_at",
                         "predictions", "score", "model_version", "rectanglelabels", "segmentation",
                         "iscrowd", "was_cancelled", "completions", "rating", "text"]) | st.text(max_size=5),
        kids, max_size=6),
    max_leaves=30,
)


def _only_format_errors(fn, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(path, errors="warn") if fn is not read_annotations else fn(path)
            fn(path)
        except AnnotationFormatError:
            pass


@SETTINGS
@given(st.binary(max_size=300))
def test_json_readers_arbitrary_bytes(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("fz") / "f.json"
    p.write_bytes(data)
    for fn in JSON_READERS:
        _only_format_errors(fn, p)


@SETTINGS
@given(json_values)
def test_json_readers_arbitrary_documents(tmp_path_factory, doc):
    p = tmp_path_factory.mktemp("fz") / "f.json"
    p.write_text(json.dumps(doc))
    for fn in JSON_READERS:
        _only_format_errors(fn, p)


def _mutate_node(doc, path_choices, new):
    """Replace one node (chosen by successive indices) of a JSON document with ``new``."""
    node, parent, key = doc, None, None
    for c in path_choices:
        if isinstance(node, dict) and node:
            key = sorted(node)[c % len(node)]
        elif isinstance(node, list) and node:
            key = c % len(node)
        else:
            break
        parent, node = node, node[key]
    if parent is None:
        return new
    parent[key] = new
    return doc


@SETTINGS
@given(st.lists(st.integers(0, 50), min_size=1, max_size=8), json_values, st.sampled_from([0, 1]))
def test_json_readers_mutated_real_files(tmp_path_factory, choices, new, which):
    import os

    shared = Path(os.environ.get("QA_TOOLKIT_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    seeds = JSON_SEEDS + [shared / "realworld_exports/coco/datumaro_coco_instances_val__polygon_rle_attributes.json"]
    seed = seeds[which] if seeds[which].exists() else seeds[0]
    doc = _mutate_node(json.loads(seed.read_text()), choices, new)
    p = tmp_path_factory.mktemp("fz") / "f.json"
    p.write_text(json.dumps(doc))
    for fn in JSON_READERS:
        _only_format_errors(fn, p)


@SETTINGS
@given(st.integers(0, len(XML_SEED) - 1), st.integers(0, 40), st.binary(max_size=12))
def test_xml_reader_mutated_bytes(tmp_path_factory, at, cut, insert):
    data = XML_SEED[:at] + insert + XML_SEED[at + cut:]
    p = tmp_path_factory.mktemp("fz") / "a.xml"
    p.write_bytes(data)
    _only_format_errors(read_cvat, p)
    _only_format_errors(read_annotations, p)


@SETTINGS
@given(st.sampled_from(["label", "xtl", "ytl", "xbr", "ybr", "points", "name", "width", "height", "id"]),
       st.text(max_size=10), st.integers(0, 6))
def test_xml_reader_mutated_attributes(tmp_path_factory, attr, value, nth):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(XML_SEED)
    els = [e for e in root.iter() if attr in e.attrib]
    if els:
        els[nth % len(els)].set(attr, value)
    p = tmp_path_factory.mktemp("fz") / "a.xml"
    p.write_bytes(ET.tostring(root))
    _only_format_errors(read_cvat, p)


@SETTINGS
@given(st.binary(max_size=200))
def test_xml_reader_arbitrary_bytes(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("fz") / "a.xml"
    p.write_bytes(b"<annotations>" + data)
    _only_format_errors(read_cvat, p)


# -- crowd readers (issue #10): same error layer, no RecursionError/IndexError/TypeError escapes --------
def _crowd_only_format_errors(fn, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(path)
        except AnnotationFormatError:
            pass


def _crowd_readers():
    from qa_toolkit.io import crowd

    return crowd.CROWD_FORMATS


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from(["zheng", "snow", "gal", "lewidi", "dawid_skene", "bluebirds"]))
def test_crowd_readers_arbitrary_bytes(tmp_path_factory, data, fmt):
    p = tmp_path_factory.mktemp("fz") / "f.txt"
    p.write_bytes(data or b"x")
    _crowd_only_format_errors(_crowd_readers()[fmt], p)


@SETTINGS
@given(json_values)
def test_crowd_json_and_yaml_arbitrary_documents(tmp_path_factory, doc):
    import yaml

    d = tmp_path_factory.mktemp("fz")
    p = d / "x_dev.json"
    p.write_text(json.dumps(doc))
    _crowd_only_format_errors(_crowd_readers()["lewidi"], p)
    q = d / "labels.yaml"
    q.write_text(yaml.safe_dump(doc) if doc is not None else "~")
    _crowd_only_format_errors(_crowd_readers()["bluebirds"], q)


@SETTINGS
@given(st.lists(st.lists(st.text(alphabet="ab,;\t\"\n0123-", max_size=6), min_size=1, max_size=4), min_size=1,
                max_size=6), st.sampled_from(["zheng", "snow", "gal", "dawid_skene"]))
def test_crowd_tables_mutated_rows(tmp_path_factory, rows, fmt):
    header = {"zheng": "question,worker,answer", "snow": "!amt_annotation_ids\t!amt_worker_ids\torig_id\tresponse",
              "gal": "", "dawid_skene": "patient;observer;response"}[fmt]
    sep = {"zheng": ",", "snow": "\t", "gal": "\t", "dawid_skene": ";"}[fmt]
    body = "\n".join(sep.join(r) for r in rows)
    p = tmp_path_factory.mktemp("fz") / "f.txt"
    p.write_text((header + "\n" if header else "") + body + "\n")
    _crowd_only_format_errors(_crowd_readers()[fmt], p)
