"""The ``qa-toolkit`` command line.

``qa-toolkit audit INPUT --out DIR`` reads annotations (any format
:func:`qa_toolkit.read_annotations` knows, or ``dataset:NAME`` for a bundled/shared
dataset) and writes an HTML report with CSV tables. With ``--gate gate.yaml`` it also
evaluates the release gate.

Exit codes, always: 0 = done (and the gate passed), 1 = the gate failed, 2 = bad input
(one line on stderr, printed last, naming the file, field or parameter), 3 = internal
error (a bug: rerun with ``--debug`` for the traceback and report it). Every input is
checked before the analysis starts: ``--out`` must be a folder, ``--gold`` tasks must be
tasks of the annotations, ``--pred-probs`` must be probabilities, a ``--decision-log``
must be intact and written for these annotations.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

__all__ = ["main", "build_parser"]

# The contract is 0/1/2 always: an unexpected error is never a pass (0) nor a failed gate (1);
# it exits 2 like bad input, with a one-line message that says it is an internal error.
EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERNAL = EXIT_BAD_INPUT
_CANONICAL = ("task", "annotator", "label")


class _BadInput(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2) instead of usage + message."""

    def error(self, message: str) -> NoReturn:
        raise _BadInput(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    """Every command and option of ``qa-toolkit`` (the one place arguments are declared)."""
    parser = _Parser(prog="qa-toolkit", description="Annotation quality assurance: audit reports and release gates.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    audit = sub.add_parser(
        "audit",
        help="write an HTML + CSV audit of an annotation export",
        description="Read annotations and write an HTML audit report with CSV tables. "
        "Exit 0 when done (and the gate passed), 1 when the gate failed, 2 on bad input (and on an internal error, which says so).",
    )
    audit.add_argument("input", help="annotation file or folder, or dataset:NAME (see `qa-toolkit datasets`)")
    audit.add_argument(
        "--format", default=None, help=f"input format, one of {', '.join(_known_formats())} (default: detected from content)"
    )
    audit.add_argument(
        "--columns", default=None, type=_columns_option, metavar="task=COL,annotator=COL,label=COL",
        help="the input table's columns holding the task id, the annotator and the label (implies --format table)",
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
    audit.add_argument(
        "--engine", default="auto", choices=["auto", "pandas", "duckdb", "dask"],
        help="where agreement counts and Dawid-Skene statistics are computed: in memory (pandas), out of core "
        "(duckdb) or on a Dask cluster (dask); auto picks by size (default; see docs/SCALE.md)",
    )
    audit.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="Dask scheduler address for --engine dask (e.g. tcp://host:8786; default: a local cluster)",
    )
    audit.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bars per section on stderr (default: when stderr is a terminal); stdout stays clean",
    )
    audit.add_argument(
        "--data-root", default=None, metavar="DIR",
        help="folder where the items' image paths resolve, for thumbnails in the queues (default: the input's folder)",
    )
    audit.add_argument("--n-boot", type=int, default=200, metavar="N",
                       help="bootstrap resamples for agreement intervals (default 200)")
    audit.add_argument("--title", default=None, help="report title")
    audit.add_argument("--random-state", type=int, default=0, help="seed for every random step (default 0)")
    audit.add_argument("--debug", action="store_true", help="show tracebacks")
    ds = sub.add_parser("datasets", help="list the bundled and shared datasets")
    ds.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return parser


def _columns_option(text: str) -> dict[str, str]:
    """``task=COL,annotator=COL,label=COL`` -> the reader's ``{COL: canonical}`` mapping."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        key, sep, col = part.partition("=")
        key, col = key.strip(), col.strip()
        if not sep or key not in _CANONICAL or not col:
            raise argparse.ArgumentTypeError(
                f"expected task=COL,annotator=COL,label=COL (keys {', '.join(_CANONICAL)}); got {part.strip()!r}"
            )
        if key in mapping.values():
            raise argparse.ArgumentTypeError(f"{key!r} is given twice")
        mapping[col] = key
    return mapping


def _known_formats() -> list[str]:
    from qa_toolkit.io import KNOWN_FORMATS

    return list(KNOWN_FORMATS)


def _version() -> str:
    from qa_toolkit import __version__

    return f"qa-toolkit {__version__}"


# -- reading and checking the inputs ------------------------------------------------------------
def _existing(path: str | None, what: str) -> str | None:
    if path is not None and not Path(path).exists():
        raise _BadInput(f"--{what}: file not found: {path}")
    return path


def _check_out(out: str) -> Path:
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise _BadInput(f"--out: {out} is an existing file, not a folder; name a folder for the report")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _BadInput(f"--out: the folder {out} cannot be created ({err.strerror or err})") from None
    return p


def _read_table(path: str, what: str) -> pd.DataFrame:
    _existing(path, what)
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
        raise _BadInput(f"--{what}: {p} could not be read as a table: {exc}") from None


def _match_tasks(values: pd.Series, tasks: pd.Index, *, path: str, what: str) -> list:
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
        raise _BadInput(
            f"--{what}: {path}: {len(unknown)} task id(s) in field 'task' are not tasks of the annotations "
            f"(e.g. {unknown[:3]}; the annotations have e.g. {tasks[:3].tolist()})"
        )
    return out


def _read_gold(path: str, annotations: pd.DataFrame) -> pd.Series:
    df = _read_table(path, "gold")
    if "task" not in df.columns or df.shape[1] < 2:
        raise _BadInput(
            f"--gold: {path} must have a 'task' column and a label column (e.g. 'label' or 'gold'); "
            f"got columns {list(df.columns)}"
        )
    col = next((c for c in ("gold", "label", "truth") if c in df.columns), [c for c in df.columns if c != "task"][0])
    tasks = _match_tasks(df["task"], pd.Index(pd.unique(annotations["task"])), path=path, what="gold")
    if pd.Index(tasks).duplicated().any():
        dup = pd.Index(tasks)[pd.Index(tasks).duplicated()].tolist()[:3]
        raise _BadInput(f"--gold: {path}: task(s) {dup} in field 'task' have more than one gold label")
    by_text = {str(v): v for v in pd.unique(annotations["label"].dropna())}
    labels = [by_text.get(str(v), v) if pd.notna(v) else v for v in df[col].tolist()]
    return pd.Series(labels, index=pd.Index(tasks, name="task"), name="gold")


def _read_pred_probs(path: str, annotations: pd.DataFrame) -> pd.DataFrame:
    df = _read_table(path, "pred-probs")
    if "task" not in df.columns:
        raise _BadInput(f"--pred-probs: {path} needs a 'task' column; got {list(df.columns)}")
    tasks = _match_tasks(df["task"], pd.Index(pd.unique(annotations["task"])), path=path, what="pred-probs")
    probs = df.drop(columns="task")
    probs.index = pd.Index(tasks, name="task")
    bad = [c for c in probs.columns if not pd.api.types.is_numeric_dtype(probs[c])]
    if bad:
        raise _BadInput(f"--pred-probs: {path}: column(s) {bad} are not numeric probabilities")
    values = probs.to_numpy(dtype=float)
    for mask, what in ((np.isnan(values), "NaN"), (values < 0, "negative"), (values > 1, "above 1")):
        if mask.any():
            r, c = np.argwhere(mask)[0]
            raise _BadInput(f"--pred-probs: {path}: {int(mask.sum())} {what} value(s), e.g. column "
                            f"{probs.columns[c]!r} of task {probs.index[r]!r}; probabilities must lie in [0, 1]")
    sums = values.sum(axis=1)
    off = np.abs(sums - 1) > 1e-2
    if off.any():
        r = int(np.argmax(off))
        raise _BadInput(f"--pred-probs: {path}: {int(off.sum())} row(s) do not sum to 1, e.g. task "
                        f"{probs.index[r]!r} sums to {sums[r]:.4g}")
    probs.columns.name = "label"
    return probs


def _check_decision_log(path: str, annotations: pd.DataFrame) -> None:
    """Fail before the analysis when the log is damaged, edited or written for other annotations."""
    from qa_toolkit.review import DecisionLog, apply_decisions

    _existing(path, "decision-log")
    log = DecisionLog(path, annotations=annotations, read_only=True)
    try:
        apply_decisions(annotations, log.read())
    except (ValueError, TypeError) as exc:
        if path in str(exc):
            raise
        raise _BadInput(f"--decision-log: {path} was written for other annotations (or they changed since): "
                        f"{_one_line(exc)}") from None


def _load_input(args) -> tuple[pd.DataFrame, pd.Series | None, str, dict]:
    from qa_toolkit.table import AnnotationWarning

    if args.input.startswith("dataset:"):
        from qa_toolkit.datasets import load_dataset

        ds = load_dataset(args.input.split(":", 1)[1])
        return ds.annotations, ds.gold, ds.name, dict(ds.notes)
    from qa_toolkit.io import read_annotations

    if not Path(args.input).exists():
        raise _BadInput(f"input: file not found: {args.input}")
    fmt = args.format or ("table" if args.columns else None)
    kwargs: dict[str, Any] = {"columns": args.columns} if args.columns else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnnotationWarning)
        try:
            df = read_annotations(args.input, format=fmt, errors="warn", **kwargs)
        except RecursionError:
            raise _BadInput(f"{args.input}: nested too deeply to read (deeper than {sys.getrecursionlimit()} "
                            "levels); no annotation export nests like this") from None
    skipped = "; ".join(str(w.message) for w in caught if issubclass(w.category, AnnotationWarning))
    for w in caught:
        if not issubclass(w.category, AnnotationWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if len(df) == 0:
        raise _BadInput(f"{args.input}: no valid annotation rows" + (f" ({skipped})" if skipped else ""))
    return df, None, Path(args.input).name, {"skipped_rows": skipped} if skipped else {}


# -- commands -----------------------------------------------------------------------------------
def _audit(args) -> int:
    from datetime import datetime, timezone

    from qa_toolkit.report.core import AuditContext
    from qa_toolkit.report.decision import decision_block
    from qa_toolkit.report.html import build_sections, write_report
    from qa_toolkit.report.provenance import provenance_section

    t0 = time.perf_counter()
    started = datetime.now(timezone.utc)
    if args.n_boot < 1:
        raise _BadInput(f"--n-boot must be a positive number of resamples; got {args.n_boot}")
    out = _check_out(args.out)
    for path, what in ((args.gold, "gold"), (args.pred_probs, "pred-probs"), (args.gate, "gate"),
                       (args.decision_log, "decision-log")):
        _existing(path, what)
    _say(f"reading {args.input} ...")
    t_read = time.perf_counter()
    df, gold, name, notes = _load_input(args)
    read_seconds = round(time.perf_counter() - t_read, 3)
    if args.gold:
        gold = _read_gold(args.gold, df)
    probs = _read_pred_probs(args.pred_probs, df) if args.pred_probs else None
    gate_config = None
    if args.gate:
        from qa_toolkit.release import load_gate_config

        try:
            gate_config = load_gate_config(args.gate)
        except RecursionError:
            raise _BadInput(f"--gate: {args.gate} is nested too deeply to be a gate config") from None
    if args.decision_log:
        _check_decision_log(args.decision_log, df)
    _say(f"{len(df):,} labels, {df['task'].nunique():,} tasks, {df['annotator'].nunique():,} annotators")
    ctx = AuditContext(
        annotations=df,
        gold=gold,
        pred_probs=probs,
        options={"source": name, "random_state": args.random_state, "gate_config": gate_config,
                 "engine": args.engine, "scheduler": args.scheduler, "n_boot": args.n_boot,
                 "decision_log": args.decision_log, "data_root": args.data_root,
                 "input_path": None if args.input.startswith("dataset:") else args.input, **notes},
    )
    from qa_toolkit.engines.coding import shared_coding

    if args.scheduler and args.engine != "dask":
        raise _BadInput("--scheduler is only used with --engine dask")
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    ctx.cache["section_seconds"] = {"(reading the input)": read_seconds}
    with shared_coding():  # every section reads one coding of the table
        sections = build_sections(ctx, debug=args.debug, progress=progress)
    t_decide = time.perf_counter()
    head, decision = decision_block(ctx)
    ctx.cache["section_seconds"]["(decision: verdict and findings)"] = round(time.perf_counter() - t_decide, 3)
    params = {k: v for k, v in vars(args).items() if k not in ("command", "debug")}
    prov, line = provenance_section(df, source=name, input_path=ctx.options["input_path"], parameters=params,
                                    started=started, seconds=time.perf_counter() - t0,
                                    section_seconds=ctx.cache.get("section_seconds", {}),
                                    fields=ctx.cache.get("fields"))
    page = write_report(sections, out, title=args.title or f"Annotation audit: {name}", subtitle=name,
                        head=line + head, tail=[decision, prov])
    for err in ctx.cache.get("section_errors", []):
        _say(f"warning: section failed: {_one_line(err)}")
    _say(f"report written to {page.resolve()} ({time.perf_counter() - t0:.1f} s)")
    print(page.resolve())
    if gate_config is not None:
        result = ctx.cache.get("gate_result")
        if result is None:
            from qa_toolkit.release import evaluate_gate

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


def _one_line(msg: Any) -> str:
    return re.sub(r"\s*\n\s*", " ", str(msg)).strip()


def _cli_hint(msg: str) -> str:
    """Python-only advice in a library message, said the command line's way."""
    msg = re.sub(r"columns=\{[^}]*\}", "--columns task=COL,annotator=COL,label=COL", msg)
    return re.sub(r"format=['\"](\w+)['\"]", r"--format \1", msg)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    _say(f"warning: {_one_line(message)}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qa-toolkit`` console script; returns the exit code."""
    from qa_toolkit._validation import AnnotationFormatError, QAInputError

    bad_input = (_BadInput, AnnotationFormatError, QAInputError, OSError, ValueError, RecursionError)
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning  # one line each, before the final result or error
        try:
            args = build_parser().parse_args(argv)
            return _datasets() if args.command == "datasets" else _audit(args)
        except bad_input as exc:
            if debug:
                raise
            sys.stderr.flush()
            print(f"qa-toolkit: error: {_cli_hint(_one_line(exc))}", file=sys.stderr, flush=True)
            return EXIT_BAD_INPUT
        except Exception as exc:  # a bug, never reported as a gate result or as bad input
            if debug:
                raise
            print(f"qa-toolkit: internal error (a bug; rerun with --debug and report it): "
                  f"{type(exc).__name__}: {_one_line(exc)}", file=sys.stderr, flush=True)
            return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
