"""The README's ```python blocks run as written (on bundled data, in a scratch folder)."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    blocks = _python_blocks()
    assert len(blocks) >= 2, "README lost its runnable API tour"
    (tmp_path / "examples").symlink_to(REPO / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    # the tour prints the agreement report and the pilot/gate verdicts on the bluebirds
    assert "Agreement report: 108 tasks, 39 annotators" in out
    assert "False False" in out.strip().splitlines()  # α ≈ 0.13: no-go, gate fails
    # the typed-fields block: b drew nothing on task 2, so that object's confidence is 2/3
    assert "f1_location" in out and "0.666667" in out
    adjudicated = namespace["adjudicated"]  # nothing decided yet: the consensus, one row per task
    assert adjudicated["task"].nunique() == 108 and set(adjudicated["annotator"]) == {"adjudicated"}
    assert len(namespace["stale"]) == 0 and set(namespace["status"]["status"]) == {"pending"}
    assert not namespace["changes"]["changed"].any()  # no reviewed gold yet: re-scoring changes nothing
    assert os.path.getsize(tmp_path / "decisions.jsonl") > 0
