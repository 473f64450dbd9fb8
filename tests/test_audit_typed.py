"""`qa-toolkit audit` on typed real exports: every section is computed per field, none is
silently dropped, no reason claims more annotators than were assigned."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from qa_toolkit.cli import main

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realworld_exports" / "label_studio" / "json"


@pytest.mark.parametrize("name, fields", [
    ("leoka_team_6__ner_taxonomy_multiannotator_gt.json", {"label", "Category"}),  # spans + taxonomy
    ("evalme_test_bbox__3annotators_predictions.json", {"label"}),  # boxes, 3 annotators
])
def test_typed_audit_has_every_section_per_field(tmp_path, capsys, name, fields):
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared beside the checkout)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["audit", str(path), "--out", str(tmp_path / "out")])
    assert rc == 0
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    titles = re.findall(r"<h2[^>]*>([^<]*)</h2>", page)
    assert {"Overview", "Agreement", "Truth inference", "Triage", "Annotators", "Verdict per field",
            "Label issues", "Review decisions", "Release gate", "Provenance"} <= set(titles)
    assert "This section failed" not in page and "Not computed" not in page
    # a section that does not apply says why instead of disappearing
    assert "Not applicable to this data: a typed table" in page  # label issues (votes) on typed fields
    for f in fields:  # one overview label table and one verdict per field, never one pooled table
        assert (tmp_path / "out" / f"overview__labels__{f}.csv").exists() or len(fields) == 1
        assert (tmp_path / "out" / f"verdict_per_field__pilot__{f}.csv").exists()
    for section in ("agreement__agreement_summary", "truth_inference__consensus", "annotators__annotators"):
        assert {f for f in fields if (tmp_path / "out" / f"{section}__{f}.csv").exists()} == fields
    queue = pd.read_csv(tmp_path / "out" / "triage__review_queue.csv")
    assert (queue["n_given"] <= queue["n_assigned"]).all() and queue["n_assigned"].max() <= 3
    said = queue["reasons"].dropna().str.extract(r"(\d+) of (\d+) annotators").dropna().astype(int)
    assert (said[1] <= 3).all() and (said[0] <= said[1]).all()
