"""Real browser, per unit (issue #13): JupyterLab + Debian Chromium + playwright, keyboard only.

Two panels on shared real Label Studio exports (../shared/realworld_exports/SOURCE.md):
one detection image of the evalme 3-annotator box export (its JPEG is not in the share, so a
stand-in JPEG with the export's file name and size is written under ``data_root``: the panel
finds it through the export's ``/data/upload/...`` URL), and one LEOKA NER text. Keys are
pressed after clicking the panel's title, never a text box. The test asserts on the decision
logs the kernel wrote and on the Label Studio JSON written from them afterwards.
Screenshots: ``test-artifacts/review_units_*.png``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat
import pytest
from test_browser_review import (
    ARTIFACTS,
    CHROMIUM,
    REPO,
    _wait_decisions,
    jupyter_lab,
    launch_chromium,
)

pytestmark = pytest.mark.browser

SHARED = REPO.parent / "shared" / "realworld_exports" / "label_studio" / "json"
BOXES = SHARED / "evalme_test_bbox__3annotators_predictions.json"
NER = SHARED / "leoka_team_6__ner_taxonomy_multiannotator_gt.json"
TASK = 188  # 6 matched objects, 3 annotators

CELLS = [
    "import sys, warnings\nsys.path.insert(0, {repo!r})\nwarnings.simplefilter('ignore')",
    "import pandas as pd\n"
    "from qa_toolkit.io import read_label_studio\n"
    "from qa_toolkit.review import DecisionLog\n"
    "from qa_toolkit.widgets import ReviewPanel\n"
    "boxes = read_label_studio({boxes!r})\n"
    "box_panel = ReviewPanel(pd.DataFrame({{'task': [{task}]}}), boxes, DecisionLog({log1!r}, annotations=boxes),\n"
    "                        data_root={root!r}, reviewer='browser', reject_policy='requeue')\n"
    "box_panel.add_class('qa-boxes')\n"
    "box_panel",
    "ner = read_label_studio({ner!r})\n"
    "ner_panel = ReviewPanel(pd.DataFrame({{'task': [{ner_task!r}]}}), ner, DecisionLog({log2!r}, annotations=ner),\n"
    "                        field='label', reviewer='browser')\n"
    "ner_panel.add_class('qa-ner')\n"
    "ner_panel",
]


def _read(path):
    from qa_toolkit.io import read_label_studio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_label_studio(path)


@pytest.fixture
def lab(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian chromium (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    if not BOXES.exists() or not NER.exists():
        pytest.skip("the shared real exports are missing")
    from PIL import Image, ImageDraw

    boxes, ner = _read(BOXES), _read(NER)
    rows = boxes.loc[boxes["task"] == TASK]
    w, h = int(rows["image_width"].iloc[0]), int(rows["image_height"].iloc[0])
    data_root = tmp_path / "images"
    data_root.mkdir()
    img = Image.new("RGB", (w, h), (70, 110, 160))  # a stand-in photo: sky, road, horizon
    d = ImageDraw.Draw(img)
    d.rectangle([0, h // 2, w, h], fill=(90, 90, 90))
    d.line([(w // 2, h), (w // 2, h // 2)], fill=(240, 240, 240), width=3)
    img.save(data_root / Path(boxes.attrs["task_data"][TASK]["image"]).name, quality=90)
    counts = ner.loc[ner["field"] == "label"].groupby("task").size()
    ner_task = counts.index[counts.argmin()].item()
    root = tmp_path / "root"
    root.mkdir()
    logs = tmp_path / "boxes.jsonl", tmp_path / "ner.jsonl"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c.format(repo=str(REPO), boxes=str(BOXES), ner=str(NER), task=TASK,
                                                   root=str(data_root), log1=str(logs[0]), log2=str(logs[1]),
                                                   ner_task=ner_task)) for c in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "units.ipynb")
    with jupyter_lab(root, tmp_path) as base:
        yield base, logs, boxes, ner, ner_task


def _press(page, panel, key, log, n):
    """Click the panel's title (not a text box), press ``key``, wait for decision ``n`` on disk."""
    panel.locator(".qa-task").click()
    page.keyboard.press(key)
    return _wait_decisions(log, n)


def test_units_reviewed_with_keyboard_in_jupyterlab(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    from qa_toolkit.io import write_label_studio
    from qa_toolkit.review import apply_decisions

    base, (log1, log2), boxes, ner, ner_task = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.set_default_timeout(120_000)
        try:
            page.goto(f"{base}/lab/tree/units.ipynb", wait_until="domcontentloaded")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible")
            page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(state="visible", timeout=180_000)
            bp, np_ = page.locator(".qa-review-panel.qa-boxes"), page.locator(".qa-review-panel.qa-ner")
            for attempt in range(3):
                page.locator(".jp-Notebook .jp-Cell").first.click()
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
                try:
                    np_.wait_for(state="visible", timeout=120_000)
                    break
                except Exception as err:
                    page.keyboard.press("Escape")
                    if attempt == 2:
                        page.screenshot(path=str(ARTIFACTS / "review_units_failure.png"), full_page=True)
                        raise AssertionError("the panels never rendered in JupyterLab") from err
            assert bp.locator(".qa-progress").inner_text() == "0/6"
            assert bp.get_attribute("tabindex") == "0" and bp.get_attribute("data-lm-suppress-shortcuts") == "true"
            bp.scroll_into_view_if_needed()
            bp.screenshot(path=str(ARTIFACTS / "review_units_boxes.png"))
            n_cells = page.locator(".jp-Notebook .jp-Cell").count()
            # object 0: key 2 picks the 2nd label (Car, Obstacle, Road), f fixes
            bp.locator(".qa-task").click()
            page.keyboard.press("2")
            page.wait_for_timeout(500)
            lines = _press(page, bp, "f", log1, 1)
            assert (lines[0]["decision"], lines[0]["unit"], lines[0]["label_after"]) == ("fix", 0, "Obstacle")
            bp.locator(".qa-progress", has_text="1/6").wait_for()
            lines = _press(page, bp, "r", log1, 2)  # object 1: reject (default reason)
            assert (lines[1]["decision"], lines[1]["unit"], lines[1]["reason"]) == ("reject", 1, "ambiguous")
            for k in range(2, 6):  # accept the rest
                bp.locator(".qa-progress", has_text=f"{k}/6").wait_for()
                lines = _press(page, bp, "a", log1, k + 1)
                assert (lines[k]["decision"], lines[k]["unit"]) == ("accept", k)
            bp.locator(".qa-progress", has_text="6/6").wait_for()
            assert page.locator(".jp-Notebook .jp-Cell").count() == n_cells  # 'a' never reached JupyterLab
            assert all(r["reviewer"] == "browser" and r["field"] == "label" for r in lines)

            np_.scroll_into_view_if_needed()
            np_.screenshot(path=str(ARTIFACTS / "review_units_ner.png"))
            before = np_.locator(".qa-labels").inner_text()
            labels = np_.locator(".qa-fix-label select option").all_inner_texts()
            current = np_.locator(".qa-fix-label select option:checked").inner_text()  # the consensus
            span_labels = set(ner.loc[ner["field"] == "label", "label"])
            new = next(lab for lab in labels if lab != current and lab in span_labels)
            np_.locator(".qa-fix-label select").select_option(label=new)  # a dropdown, not a text box
            page.wait_for_timeout(500)
            lines2 = _press(page, np_, "f", log2, 1)
            assert lines2[0]["decision"] == "fix" and lines2[0]["unit"] == 0 and lines2[0]["label_after"] == new
            total = int(np_.locator(".qa-progress").inner_text().split("/")[1])
            for k in range(1, total):
                np_.locator(".qa-progress", has_text=f"{k}/{total}").wait_for()
                _press(page, np_, "a", log2, k + 1)
            np_.locator(".qa-progress", has_text=f"{total}/{total}").wait_for()
            assert before
            page.screenshot(path=str(ARTIFACTS / "review_units_done.png"), full_page=True)
        finally:
            browser.close()
    # the Label Studio JSON written from what the browser decided
    out = write_label_studio(apply_decisions(boxes, log1), tmp_path / "boxes_adjudicated.json")
    task = next(t for t in json.loads(out.read_text()) if t.get("id") == TASK)
    res = task["annotations"][0]["result"]
    assert len(res) == 5 and sorted(r["value"]["rectanglelabels"][0] for r in res).count("Obstacle") >= 1
    assert task["data"]["image"].endswith(".jpg")
    out = write_label_studio(apply_decisions(ner, log2), tmp_path / "ner_adjudicated.json")
    task = next(t for t in json.loads(out.read_text()) if t.get("id") == ner_task)
    spans = sorted((r for r in task["annotations"][0]["result"] if r["type"] == "labels"),
                   key=lambda r: r["value"]["start"])
    assert len(spans) == total and new in [s["value"]["labels"][0] for s in spans]
    text = task["data"]["text"]
    assert all(text[s["value"]["start"]:s["value"]["end"]] == s["value"]["text"] for s in spans)
