"""Reading and checking the audit's side inputs before any analysis (``qa-toolkit audit``).

``--out`` must be a folder, ``--gold`` tasks must be tasks of the annotations, ``--pred-probs``
must be probabilities, a ``--decision-log`` must be intact and written for these annotations.
Every problem raises :class:`BadInput` with one line naming the option and the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BadInput", "one_line", "existing_file", "check_out_dir", "read_side_table", "match_tasks", "read_gold",
           "read_pred_probs", "check_decision_log"]


class BadInput(Exception):
    """Bad input of the command line: the message is the one line printed (exit 2)."""


def one_line(msg: Any) -> str:
    """``str(msg)`` on one line."""
    return re.sub(r"\s*\n\s*", " ", str(msg)).strip()


def existing_file(path: str | None, what: str) -> str | None:
    if path is not None and not Path(path).exists():
        raise BadInput(f"--{what}: file not found: {path}")
    return path


def check_out_dir(out: str) -> Path:
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise BadInput(f"--out: {out} is an existing file, not a folder; name a folder for the report")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInput(f"--out: the folder {out} cannot be created ({err.strerror or err})") from None
    return p


def read_side_table(path: str, what: str) -> pd.DataFrame:
    existing_file(path, what)
    p = Path(path)
    try:
        if p.suffix.lower() == ".parquet":
            df = pd.read_parquet(p)
            if "task" in df.columns:
                df["task"] = df["task"].astype(object)
            return df
        sep = "\t" if p.suffix.lower() in (".tsv", ".tab") else ","
        return pd.read_csv(p, sep=sep, dtype={"task": str, "label": str, "gold": str, "truth": str},
                           keep_default_na=False, na_values=[""])
    except Exception as exc:  # any parser failure is the user's file, reported plainly
        raise BadInput(f"--{what}: {p} could not be read as a table: {exc}") from None


def match_tasks(values: pd.Series, tasks: pd.Index, *, path: str, what: str) -> list:
    """Task ids read from a side file, matched to the annotations' ids exactly or by their text."""
    by_text = {str(t): t for t in tasks}
    known = set(tasks.tolist())
    out, unknown = [], []
    for v in values.tolist():
        t = v if v in known else by_text.get(str(v), v)
        if t not in known:
            unknown.append(v)
        out.append(t)
    if unknown:
        raise BadInput(
            f"--{what}: {path}: {len(unknown)} task id(s) in field 'task' are not tasks of the annotations "
            f"(e.g. {unknown[:3]}; the annotations have e.g. {tasks[:3].tolist()})"
        )
    return out


def read_gold(path: str, annotations: pd.DataFrame) -> pd.Series:
    df = read_side_table(path, "gold")
    if "task" not in df.columns or df.shape[1] < 2:
        raise BadInput(
            f"--gold: {path} must have a 'task' column and a label column (e.g. 'label' or 'gold'); "
            f"got columns {list(df.columns)}"
        )
    col = next((c for c in ("gold", "label", "truth") if c in df.columns), [c for c in df.columns if c != "task"][0])
    tasks = match_tasks(df["task"], pd.Index(pd.unique(annotations["task"])), path=path, what="gold")
    if pd.Index(tasks).duplicated().any():
        dup = pd.Index(tasks)[pd.Index(tasks).duplicated()].tolist()[:3]
        raise BadInput(f"--gold: {path}: task(s) {dup} in field 'task' have more than one gold label")
    by_text = {str(v): v for v in pd.unique(annotations["label"].dropna())}
    labels = [by_text.get(str(v), v) if pd.notna(v) else v for v in df[col].tolist()]
    return pd.Series(labels, index=pd.Index(tasks, name="task"), name="gold")


def read_pred_probs(path: str, annotations: pd.DataFrame) -> pd.DataFrame:
    df = read_side_table(path, "pred-probs")
    if "task" not in df.columns:
        raise BadInput(f"--pred-probs: {path} needs a 'task' column; got {list(df.columns)}")
    tasks = match_tasks(df["task"], pd.Index(pd.unique(annotations["task"])), path=path, what="pred-probs")
    probs = df.drop(columns="task")
    probs.index = pd.Index(tasks, name="task")
    bad = [c for c in probs.columns if not pd.api.types.is_numeric_dtype(probs[c])]
    if bad:
        raise BadInput(f"--pred-probs: {path}: column(s) {bad} are not numeric probabilities")
    values = probs.to_numpy(dtype=float)
    for mask, what in ((np.isnan(values), "NaN"), (values < 0, "negative"), (values > 1, "above 1")):
        if mask.any():
            r, c = np.argwhere(mask)[0]
            raise BadInput(f"--pred-probs: {path}: {int(mask.sum())} {what} value(s), e.g. column "
                            f"{probs.columns[c]!r} of task {probs.index[r]!r}; probabilities must lie in [0, 1]")
    sums = values.sum(axis=1)
    off = np.abs(sums - 1) > 1e-2
    if off.any():
        r = int(np.argmax(off))
        raise BadInput(f"--pred-probs: {path}: {int(off.sum())} row(s) do not sum to 1, e.g. task "
                        f"{probs.index[r]!r} sums to {sums[r]:.4g}")
    probs.columns.name = "label"
    return probs


def check_decision_log(path: str, annotations: pd.DataFrame) -> None:
    """Fail before the analysis when the log is damaged, edited or written for other annotations."""
    from qa_toolkit.review import DecisionLog, apply_decisions

    existing_file(path, "decision-log")
    log = DecisionLog(path, annotations=annotations, read_only=True)
    try:
        apply_decisions(annotations, log.read())
    except (ValueError, TypeError) as exc:
        if path in str(exc):
            raise
        raise BadInput(f"--decision-log: {path} was written for other annotations (or they changed since): "
                        f"{one_line(exc)}") from None
