"""The ``qa-toolkit`` command line.

``qa-toolkit audit INPUT --out DIR`` reads annotations (any format
:func:`qa_toolkit.read_annotations` knows, or ``dataset:NAME`` for a bundled/shared
dataset) and writes an HTML report with CSV tables. With ``--gate gate.yaml`` it also
evaluates the release gate. Exit codes: 0 = done (gate passed), 1 = gate failed,
2 = bad input (message on stderr; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _BadInput(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa-toolkit", description="Annotation quality assurance: audit reports and release gates."
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)
    audit = sub.add_parser(
        "audit",
        help="write an HTML + CSV audit of an annotation export",
        description="Read annotations and write an HTML audit report with CSV tables. "
        "Exit 0 when done (and the gate passed), 1 when the gate failed, 2 on bad input.",
    )
    audit.add_argument("input", help="annotation file or folder, or dataset:NAME (see `qa-toolkit datasets`)")
    audit.add_argument(
        "--format", default=None, help=f"input format, one of {', '.join(_known_formats())} (default: detected from content)"
    )
    audit.add_argument("--out", required=True, help="output folder (created; only the report's files are replaced)")
    audit.add_argument("--gold", default=None, help="gold labels: CSV/TSV/Parquet with columns task,label")
    audit.add_argument(
        "--pred-probs", default=None, help="model probabilities: CSV/Parquet, a 'task' column + one column per label"
    )
    audit.add_argument("--gate", default=None, help="release-gate config (YAML)")
    audit.add_argument(
        "--decision-log", default=None, help="review decision log (JSONL written by the review panel or DecisionLog)"
    )
    audit.add_argument("--title", default=None, help="report title")
    audit.add_argument("--random-state", type=int, default=0, help="seed for every random step (default 0)")
    audit.add_argument("--debug", action="store_true", help="show tracebacks")
    ds = sub.add_parser("datasets", help="list the bundled and shared datasets")
    ds.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return parser


def _known_formats() -> list[str]:
    from qa_toolkit.io import KNOWN_FORMATS

    return list(KNOWN_FORMATS)


def _version() -> str:
    from qa_toolkit import __version__

    return f"qa-toolkit {__version__}"


def _read_table(path: str, what: str) -> pd.DataFrame:
    p = Path(_existing(path, what))
    try:
        if p.suffix.lower() == ".parquet":
            return pd.read_parquet(p)
        sep = "\t" if p.suffix.lower() in (".tsv", ".tab") else ","
        return pd.read_csv(p, sep=sep)
    except Exception as exc:  # any parser failure is the user's file, reported plainly
        raise _BadInput(f"--{what}: {p} could not be read as a table: {exc}") from None


def _existing(path: str | None, what: str) -> str | None:
    if path is not None and not Path(path).exists():
        raise _BadInput(f"--{what}: file not found: {path}")
    return path


def _read_gold(path: str) -> pd.Series:
    df = _read_table(path, "gold")
    if "task" not in df.columns or df.shape[1] < 2:
        raise _BadInput(
            f"--gold: {path} must have a 'task' column and a label column (e.g. 'label' or 'gold'); "
            f"got columns {list(df.columns)}"
        )
    col = next((c for c in ("gold", "label", "truth") if c in df.columns), [c for c in df.columns if c != "task"][0])
    return df.set_index("task")[col].rename("gold")


def _read_pred_probs(path: str) -> pd.DataFrame:
    df = _read_table(path, "pred-probs")
    if "task" not in df.columns:
        raise _BadInput(f"--pred-probs: {path} needs a 'task' column; got {list(df.columns)}")
    probs = df.set_index("task")
    bad = [c for c in probs.columns if not pd.api.types.is_numeric_dtype(probs[c])]
    if bad:
        raise _BadInput(f"--pred-probs: columns {bad} are not numeric probabilities")
    probs.columns.name = "label"
    return probs


def _load_input(args) -> tuple[pd.DataFrame, pd.Series | None, str, dict]:
    from qa_toolkit.table import AnnotationWarning

    if args.input.startswith("dataset:"):
        from qa_toolkit.datasets import load_dataset

        ds = load_dataset(args.input.split(":", 1)[1])
        return ds.annotations, ds.gold, ds.name, dict(ds.notes)
    from qa_toolkit.io import read_annotations

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnnotationWarning)
        df = read_annotations(args.input, format=args.format, errors="warn")
    skipped = "; ".join(str(w.message) for w in caught if issubclass(w.category, AnnotationWarning))
    return df, None, Path(args.input).name, {"skipped_rows": skipped} if skipped else {}


def _audit(args) -> int:
    from qa_toolkit.report.core import AuditContext
    from qa_toolkit.report.html import build_sections, write_report

    t0 = time.perf_counter()
    _say(f"reading {args.input} ...")
    df, gold, name, notes = _load_input(args)
    if args.gold:
        gold = _read_gold(args.gold)
    probs = _read_pred_probs(args.pred_probs) if args.pred_probs else None
    gate_config = None
    if args.gate:
        from qa_toolkit.gate import load_gate_config

        gate_config = load_gate_config(args.gate)
    _say(f"{len(df):,} labels, {df['task'].nunique():,} tasks, {df['annotator'].nunique():,} annotators")
    ctx = AuditContext(
        annotations=df,
        gold=gold,
        pred_probs=probs,
        options={
            "source": name,
            "random_state": args.random_state,
            "gate_config": gate_config,
            "decision_log": _existing(args.decision_log, "decision-log"),
            **notes,
        },
    )
    sections = build_sections(ctx, debug=args.debug)
    page = write_report(sections, args.out, title=args.title or f"Annotation audit: {name}", subtitle=name)
    for err in ctx.cache.get("section_errors", []):
        _say(f"warning: section failed: {err}")
    _say(f"report written to {page.resolve()} ({time.perf_counter() - t0:.1f} s)")
    print(page.resolve())
    if gate_config is not None:
        result = ctx.cache.get("gate_result")
        if result is None:
            from qa_toolkit.gate import evaluate_gate

            result = evaluate_gate(df, gate_config, gold=gold, pred_probs=probs)
        _say(str(result))
        return EXIT_OK if result.passed else EXIT_GATE_FAILED
    return EXIT_OK


def _datasets() -> int:
    from qa_toolkit.datasets import list_datasets

    with pd.option_context("display.max_colwidth", 70, "display.width", 200):
        print(list_datasets()[["bundled", "available", "description"]].to_string())
    return EXIT_OK


def _say(msg: str) -> None:
    print(f"qa-toolkit: {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qa-toolkit`` console script; returns the exit code."""
    from qa_toolkit._validation import AnnotationFormatError, QAInputError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "datasets":
            return _datasets()
        return _audit(args)
    except (_BadInput, AnnotationFormatError, QAInputError, FileNotFoundError, ValueError) as exc:
        if getattr(args, "debug", False):
            raise
        print(f"qa-toolkit: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
