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
import gc
import re
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from qa_toolkit.report.inputs import BadInput as _BadInput
from qa_toolkit.report.inputs import check_decision_log as _check_decision_log
from qa_toolkit.report.inputs import check_out_dir as _check_out
from qa_toolkit.report.inputs import existing_file as _existing
from qa_toolkit.report.inputs import one_line as _one_line
from qa_toolkit.report.inputs import read_gold as _read_gold
from qa_toolkit.report.inputs import read_pred_probs as _read_pred_probs

__all__ = ["main", "build_parser"]

# The contract is 0/1/2 always: an unexpected error is never a pass (0) nor a failed gate (1);
# it exits 2 like bad input, with a one-line message that says it is an internal error.
EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERNAL = EXIT_BAD_INPUT
_CANONICAL = ("task", "annotator", "label")


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
    from qa_toolkit.report.html import TableWriter, build_sections, write_report
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
    loading = _prefetch_plotting()
    t_read = time.perf_counter()
    try:
        df, gold, name, notes = _load_input(args)
    finally:  # from here on nothing runs beside a half-imported module
        loading.join()
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
    # the CSVs are written while the next sections compute; one writer thread keeps up (pyarrow writes outside
    # the GIL) and leaves the sections a core on a two-core machine (issue 14)
    with _no_cyclic_gc(), TableWriter(out, workers=1) as writer:
        with shared_coding():  # every section reads one coding of the table
            sections = build_sections(ctx, debug=args.debug, progress=progress, on_section=writer.submit)
        t_decide = time.perf_counter()
        head, decision = decision_block(ctx)
        ctx.cache["section_seconds"]["(decision: verdict and findings)"] = round(time.perf_counter() - t_decide, 3)
        params = {k: v for k, v in vars(args).items() if k not in ("command", "debug")}
        prov, line = provenance_section(df, source=name, input_path=ctx.options["input_path"], parameters=params,
                                        started=started, seconds=time.perf_counter() - t0,
                                        section_seconds=ctx.cache.get("section_seconds", {}),
                                        fields=ctx.cache.get("fields"))
        page = write_report(sections, out, title=args.title or f"Annotation audit: {name}", subtitle=name,
                            head=line + head, tail=[decision, prov], writer=writer)
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


def _prefetch_plotting() -> threading.Thread:
    """Import the plotting stack in a thread while the input is read (issue 14); join it after the read.

    matplotlib and seaborn (which imports scipy.stats) take about 1.5 s to import, and every
    report draws with them; reading Parquet or CSV mostly runs outside the GIL. The caller
    joins the thread as soon as the input is read, so no other code ever meets a
    half-imported module; the sections then find the modules loaded.
    """
    def load() -> None:
        try:
            import matplotlib.pyplot  # noqa: F401
            import seaborn  # noqa: F401
        except Exception:  # noqa: BLE001 - a broken install fails, with its message, where a section imports it
            pass

    thread = threading.Thread(target=load, name="qa-prefetch-plotting", daemon=True)
    thread.start()
    return thread


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while the sections run; reference counting still frees every table.

    Issue 14: the full collections walk every object of the imported libraries (pandas,
    matplotlib, scipy): about 0.8 s of a 10^6-label audit. The few cycles made meanwhile
    (closed figures) are collected once the collector is back on.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _datasets() -> int:
    from qa_toolkit.datasets import list_datasets

    with pd.option_context("display.max_colwidth", 70, "display.width", 200):
        print(list_datasets()[["bundled", "available", "description"]].to_string())
    return EXIT_OK


def _say(msg: str) -> None:
    print(f"qa-toolkit: {msg}", file=sys.stderr, flush=True)


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
    try:
        return _main(argv, debug=debug, bad_input=bad_input)
    finally:
        if argv is None:  # the console script: the process ends when main returns
            _skip_final_collection()


def _skip_final_collection() -> None:
    """Freeze the objects left so that the interpreter's last garbage collection does not walk them.

    Issue 14: after a 10^6-label audit that collection takes about 0.4 s of the command's
    wall time; the memory is returned to the system at exit all the same. Only for a
    process about to end (never for ``main([...])`` called from Python, whose cyclic
    garbage must stay collectable).
    """
    gc.freeze()


def _main(argv: list[str] | None, *, debug: bool, bad_input: tuple) -> int:
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
