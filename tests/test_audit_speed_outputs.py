"""Issue 14, the audit end to end: faster paths that must give the outputs of the slow ones.

- the verdict reads the Agreement section's estimate: one alpha and one interval per field
  in the whole report (before, the verdict bootstrapped its own: CIFAR-10N [.644, .690] on
  the first screen against [.65, .68] in the Agreement section);
- the categorical annotator report on integer codes equals the row-wise computation, ties
  and column types included.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_toolkit.annotators import categorical as C
from qa_toolkit.annotators._coded import usable
from qa_toolkit.cli import main
from qa_toolkit.release import pilot_report

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realworld_exports" / "label_studio" / "json"


def _crowd(n_tasks: int, *, seed: int = 0, k: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_tasks)
    rows = []
    for t in range(n_tasks):
        for a in rng.choice(12, 4, replace=False):
            lab = truth[t] if rng.random() < 0.75 else rng.integers(0, k)
            rows.append((t, f"w{a:02d}", f"c{lab}"))
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


def _audit(tmp_path: Path, src: str) -> Path:
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["audit", src, "--out", str(out), "--n-boot", "50"]) == 0
    return out


def test_verdict_and_agreement_section_show_one_interval(tmp_path):
    src = tmp_path / "crowd.parquet"
    _crowd(300).to_parquet(src, index=False)
    out = _audit(tmp_path, str(src))
    summary = pd.read_csv(out / "agreement__agreement_summary.csv", index_col=0)
    pilot = pd.read_csv(out / "verdict_per_field__pilot.csv", index_col=0).set_index("check")
    alpha = summary.loc["krippendorff_alpha", ["value", "ci_low", "ci_high"]].to_numpy(float)
    verdict = pilot.loc["agreement_alpha", ["value", "ci_low", "ci_high"]].to_numpy(float)
    np.testing.assert_allclose(verdict, alpha, rtol=0, atol=1e-12)
    lo, hi = (f"{v:.3f}" for v in alpha[1:])
    assert pilot.loc["agreement_alpha", "why"].startswith(f"alpha {alpha[0]:.3f} [{lo}, {hi}]")
    page = (out / "index.html").read_text(encoding="utf-8")
    first_screen = page.split("<nav>", 1)[0]
    quoted = {m for m in re.findall(r"alpha \.\d+ \[(\.\d+), (\.\d+)\]", first_screen)}
    assert quoted == {(f"{alpha[1]:.2f}".lstrip("0"), f"{alpha[2]:.2f}".lstrip("0"))}, quoted
    assert "those of the Agreement section" in page


def test_typed_verdict_reads_the_agreement_sections_estimate(tmp_path):
    path = SHARED / "leoka_team_6__ner_taxonomy_multiannotator_gt.json"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared beside the checkout)")
    out = _audit(tmp_path, str(path))
    summary = pd.read_csv(out / "agreement__agreement_summary__Category.csv", index_col=0)
    pilot = pd.read_csv(out / "verdict_per_field__pilot__Category.csv", index_col=0).set_index("check")
    np.testing.assert_allclose(pilot.loc["agreement_alpha_masi", ["value", "ci_low", "ci_high"]].to_numpy(float),
                               summary.loc["alpha_masi", ["value", "ci_low", "ci_high"]].to_numpy(float), atol=1e-12)


def test_pilot_report_reads_a_given_agreement_report():
    from qa_toolkit.agreement import agreement_report

    df = _crowd(120, seed=3)
    rep = agreement_report(df, n_boot=30, random_state=1)
    given = pilot_report(df, agreement=rep, per_label=False, n_boot=30, random_state=0)
    row = given.table.set_index("check").loc["agreement_alpha"]
    assert (row["value"], row["ci_low"], row["ci_high"]) == tuple(
        rep.summary.loc["krippendorff_alpha", ["value", "ci_low", "ci_high"]].astype(float))
    assert len(given.labels) == 0 and list(given.labels.columns) == ["agreement", "ci_low", "ci_high", "n_labels"]
    own = pilot_report(df, n_boot=30, random_state=0)  # without a report: its own bootstrap, same point estimate
    own_row = own.table.set_index("check").loc["agreement_alpha"]
    assert own_row["value"] == pytest.approx(row["value"], abs=1e-12)
    assert (own_row["ci_low"], own_row["ci_high"]) != (row["ci_low"], row["ci_high"])
    assert len(own.labels) > 0


def _both(d: pd.DataFrame, monkeypatch, **kw) -> pd.DataFrame:
    assert usable(d[["task", "annotator", "label"]])
    fast = C.categorical_annotator_report(d, dawid_skene=False, **kw)
    with monkeypatch.context() as m:
        m.setattr(C, "usable", lambda _d: False)
        slow = C.categorical_annotator_report(d, dawid_skene=False, **kw)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    return fast


@pytest.mark.parametrize("variant", ["text", "categorical_unsorted", "integer_labels", "text_tasks"])
def test_coded_annotator_report_equals_the_rowwise_one(variant, monkeypatch):
    rng = np.random.default_rng(7)
    n = 2500  # few tasks per label value: many ties in the plurality, the top label and the worst label
    d = pd.DataFrame({"task": rng.integers(0, 500, n), "annotator": rng.choice(["z1", "a2", "m3", "b4", "q5"], n),
                      "label": rng.choice(["x", "y", "w", "1", "10"], n, p=[.4, .2, .2, .1, .1])})
    d = d.drop_duplicates(["task", "annotator"]).reset_index(drop=True)
    if variant == "categorical_unsorted":  # a Parquet dictionary lists values in order of appearance
        for col in ("label", "annotator"):
            d[col] = pd.Categorical(d[col], categories=list(pd.unique(d[col])))
    elif variant == "integer_labels":
        d["label"] = d["label"].map({"x": 3, "y": 1, "w": 2, "1": 7, "10": 5})
    elif variant == "text_tasks":
        d["task"] = "t" + d["task"].astype(str)
    out = _both(d, monkeypatch, min_labels=5)
    assert out["most_confused"].notna().all() and out["worst_label"].notna().all()


def test_coded_annotator_report_is_used_only_where_it_is_exact():
    d = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": list("abab"), "label": ["x", "y", "x", None]})
    assert not usable(d)  # a missing label: the row-wise rules decide
    d["label"] = ["x", "y", 1, "1"]
    assert not usable(d)  # labels of several kinds ('1' and 1 are one label for same_label)
    d["label"] = ["x", "y", "x", "x"]
    assert usable(d)


@pytest.mark.parametrize("labels", ["text", "categorical"])
def test_escalation_reads_the_vote_numbers_of_the_queue(labels):
    from qa_toolkit.triage import escalate_low_agreement, review_queue

    d = _crowd(200, seed=5)
    if labels == "categorical":
        d["label"] = pd.Categorical(d["label"], categories=list(pd.unique(d["label"])))
    queue = review_queue(d, random_state=0)  # ranked order, not task order
    given = escalate_low_agreement(d, votes=queue[["task", "n_labels", "agreement", "majority_label"]])
    pd.testing.assert_frame_equal(given, escalate_low_agreement(d), check_exact=True)
    assert given["escalate"].any() and not given["escalate"].all()


def test_heatmap_draws_a_given_pairwise_table_without_recomputing(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from qa_toolkit.agreement import pairwise
    from qa_toolkit.plotting import agreement as P

    d = _crowd(120, seed=2)
    pairs = pairwise(d, min_overlap=10)
    monkeypatch.setattr(P, "pairwise", lambda *a, **k: pytest.fail("pairwise computed again"))
    ax = P.plot_pairwise_heatmap(d, pairs=pairs)
    m = P.pairwise_matrix(pairs)
    img = ax.collections[0].get_array().reshape(m.shape)
    np.testing.assert_allclose(np.ma.filled(img.astype(float), np.nan), m.to_numpy(float), equal_nan=True)


def test_table_writer_keeps_the_last_table_of_a_file_and_reports_failures(tmp_path):
    from qa_toolkit.report.core import Section
    from qa_toolkit.report.html import TableWriter

    with TableWriter(tmp_path) as w:
        w.submit(Section("Overview", "", {"t": pd.DataFrame({"x": [1]})}))
        w.submit(Section("Overview", "", {"t": pd.DataFrame({"x": [2, 3]})}))  # same file: the later one lands
    assert pd.read_csv(tmp_path / "overview__t.csv", index_col=0)["x"].tolist() == [2, 3]
    w = TableWriter(tmp_path / "blocked")
    (tmp_path / "blocked" / "overview__t.csv").mkdir()  # a folder where the file goes: the write fails
    w.submit(Section("Overview", "", {"t": pd.DataFrame({"x": [1]})}))
    with pytest.raises(OSError):
        w.close()
