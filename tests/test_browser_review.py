"""Real browser: JupyterLab on 127.0.0.1, Debian Chromium driven by playwright, clicks on the ReviewPanel.

Asserts on the decision log the kernel wrote. Screenshot: ``test-artifacts/review_panel.png``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.browser

NOTEBOOK_CELLS = [
    "import sys\nsys.path.insert(0, {repo!r})",
    "import pandas as pd\n"
    "from qa_toolkit.datasets import load_dataset\n"
    "from qa_toolkit.review import DecisionLog\n"
    "from qa_toolkit.widgets import ReviewPanel\n"
    "ds = load_dataset('dawid_skene_1979')\n"
    "queue = pd.DataFrame({{'task': sorted(ds.annotations['task'].unique())[:6]}})\n"
    "queue['reasons'] = 'browser test'\n"
    "log = DecisionLog({log!r}, annotations=ds.annotations)\n"
    "panel = ReviewPanel(queue, ds.annotations, log, reviewer='browser')\n"
    "panel",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float, logfile: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = logfile.read_text(errors="replace")[-3000:]
            raise AssertionError(f"jupyter lab exited early with code {proc.returncode}; its log ends:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"jupyter lab did not answer {url} within {timeout:.0f} s")


def _log_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines()[1:] if x.strip()]


def _wait_decisions(path: Path, n: int, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = _log_lines(path)
        if len(lines) >= n:
            return lines
        time.sleep(0.25)
    raise AssertionError(f"expected {n} decision(s) in {path} within {timeout:.0f} s; found {_log_lines(path)}")


@contextmanager
def jupyter_lab(root: Path, tmp_path: Path) -> Iterator[str]:
    """A JupyterLab server on 127.0.0.1 serving ``root`` (no token, isolated config); yields its URL."""
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"), "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
           f"--ServerApp.root_dir={root}", "--ServerApp.disable_check_xsrf=True",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:  # containers and CI images often run as root
        cmd.append("--allow-root")
    out = open(tmp_path / "jupyter.log", "wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status", proc, timeout=180, logfile=tmp_path / "jupyter.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=20)
        out.close()


def launch_chromium(playwright):
    """Debian Chromium, headless, without background network traffic."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )


@pytest.fixture
def lab_server(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian chromium (apt-get install chromium; `make chromium`)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    root = tmp_path / "root"
    root.mkdir()
    log_path = tmp_path / "decisions.jsonl"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c.format(repo=str(REPO), log=str(log_path))) for c in NOTEBOOK_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "review.ipynb")
    with jupyter_lab(root, tmp_path) as base:
        yield base, log_path


def test_review_panel_in_jupyterlab_chromium(lab_server, tmp_path):
    from playwright.sync_api import sync_playwright

    base, log_path = lab_server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        try:
            page.goto(f"{base}/lab/tree/review.ipynb", wait_until="domcontentloaded")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible")
            # the kernel must be up before "Run All Cells", else the request can be lost
            page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(state="visible", timeout=180_000)
            panel = page.locator(".qa-review-panel")
            for attempt in range(3):
                page.locator(".jp-Notebook .jp-Cell").first.click()
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
                try:
                    panel.wait_for(state="visible", timeout=90_000)
                    break
                except Exception as err:
                    page.keyboard.press("Escape")
                    if attempt == 2:
                        page.screenshot(path=str(ARTIFACTS / "review_panel_failure.png"), full_page=True)
                        raise AssertionError(
                            "the ReviewPanel never rendered in JupyterLab after 3 'Run All Cells' (widget manager "
                            f"missing or kernel failed); see {ARTIFACTS / 'review_panel_failure.png'}") from err
            first_task = int(panel.locator(".qa-task").inner_text())
            assert panel.locator(".qa-progress").inner_text() == "0/6"

            panel.get_by_role("button", name="Accept", exact=True).click()
            lines = _wait_decisions(log_path, 1)
            assert lines[0]["decision"] == "accept" and lines[0]["task"] == first_task
            assert lines[0]["reviewer"] == "browser" and lines[0]["label_after"] == lines[0]["label_before"]

            panel.locator(".qa-progress", has_text="1/6").wait_for()
            second_task = int(panel.locator(".qa-task").inner_text())
            panel.locator(".qa-fix-label select").select_option(label="3")
            panel.get_by_role("button", name="Fix & Accept", exact=True).click()
            lines = _wait_decisions(log_path, 2)
            assert lines[1]["decision"] == "fix" and lines[1]["task"] == second_task and lines[1]["label_after"] == 3

            panel.locator(".qa-progress", has_text="2/6").wait_for()
            third_task = int(panel.locator(".qa-task").inner_text())
            panel.locator(".qa-reject-reason select").select_option("bad_item")
            comment = panel.locator(".qa-reject-comment input")
            comment.fill("blurry scan")
            comment.press("Tab")
            page.wait_for_timeout(500)
            panel.get_by_role("button", name="Reject", exact=True).click()
            lines = _wait_decisions(log_path, 3)
            assert lines[2]["decision"] == "reject" and lines[2]["task"] == third_task
            assert lines[2]["reason"] == "bad_item" and lines[2]["comment"] == "blurry scan"
            panel.locator(".qa-progress", has_text="3/6").wait_for()
            assert len({first_task, second_task, third_task}) == 3
            page.screenshot(path=str(ARTIFACTS / "review_panel.png"), full_page=True)
        finally:
            browser.close()
