"""Assemble report sections into one self-contained HTML page plus CSV tables.

The page opens with the decision (:mod:`qa_toolkit.report.decision`: verdict per field and
what to fix first), then one section per topic with a block per field, then the provenance
of the run. Every section of :data:`SECTION_MODULES` appears: one that does not apply or
fails says why.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qa_toolkit.report.core import AuditContext, Section, escape, explain, write_csv

__all__ = ["SECTION_MODULES", "TableWriter", "build_sections", "render_html", "write_report", "tqdm_progress"]

#: Report sections in display order; each module has ``build_section(ctx) -> Section``.
SECTION_MODULES = (
    "qa_toolkit.report.overview_section",
    "qa_toolkit.report.agreement_section",
    "qa_toolkit.report.aggregation_section",
    "qa_toolkit.report.label_issues_section",
    "qa_toolkit.report.triage_section",
    "qa_toolkit.report.annotators_section",
    "qa_toolkit.report.pilot_section",
    "qa_toolkit.report.review_section",
    "qa_toolkit.report.gate_section",
)

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.2em auto;max-width:1320px;
padding:0 16px;color:#222;line-height:1.35}
h1{margin:.1em 0 .1em;font-size:1.6em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
h3{margin-bottom:.3em}
.qa-scroll{overflow-x:auto;max-width:100%}
.qa-table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
.qa-table th,.qa-table td{border:1px solid #ddd;padding:3px 7px;text-align:right;vertical-align:top}
.qa-table td.qa-item{text-align:left;min-width:260px;max-width:420px;white-space:normal}
.qa-table td{max-width:420px;overflow-wrap:break-word} mark{background:#ffe58a}
.qa-table th{background:#f4f4f4} .qa-note{color:#666;font-size:.85em}
.qa-warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5em;margin:.5em 0}
.qa-error{background:#fdecea;border-left:4px solid #d93025;padding:.5em;white-space:pre-wrap}
.qa-pass{color:#137333;font-weight:bold} .qa-fail{color:#c5221f;font-weight:bold}
.qa-undecided{color:#a15c00;font-weight:bold}
.qa-decision{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;background:#fafafa}
.qa-decision h2{margin-top:.2em;border:none;font-size:1.25em}
.qa-findings li{margin:.35em 0} .qa-findings .qa-action{color:#0b57d0}
.qa-verdict td,.qa-verdict th{text-align:left}
pre{overflow-x:auto;font-size:.8em;background:#f7f7f7;padding:.4em}
nav{margin:.6em 0;font-size:.9em} nav a{margin-right:1em} img{max-width:100%}
img.qa-thumb{max-width:96px;max-height:72px;display:block}
details summary{cursor:pointer}
"""


def tqdm_progress(*, enabled: bool, file: Any = None) -> Callable[[Iterable, str], Iterable] | None:
    """A ``progress(iterable, desc)`` wrapper writing tqdm bars to stderr; None when disabled."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    out = sys.stderr if file is None else file

    def progress(iterable: Iterable, desc: str) -> Iterable:
        return tqdm(iterable, desc=desc, file=out, leave=False, dynamic_ncols=True)

    return progress


def _title_of(name: str) -> str:
    mod = importlib.import_module(name)
    return str(getattr(mod, "TITLE", name.rsplit(".", 1)[-1].replace("_section", "").replace("_", " ").title()))


def build_sections(ctx: AuditContext, *, modules: Iterable[str] = SECTION_MODULES, debug: bool = False,
                   progress: bool = False, on_section: Callable[[Section], Any] | None = None) -> list[Section]:
    """Build every section; one that fails or does not apply says why in its place.

    Parameters
    ----------
    ctx : AuditContext
    modules : sequence of str
        Module names with a ``build_section(ctx)`` function (and ``TITLE``; a module whose
        section can be None has ``not_applicable(ctx) -> str`` saying why).
    debug : bool, default=False
        Re-raise a section's exception instead of reporting it in the page.
    progress : bool, default=False
        Show one progress bar over the sections on stderr (tqdm), naming the section
        being computed, plus the bars of the sections' own loops.
    on_section : callable, optional
        Called with each section as soon as it is built (e.g. :meth:`TableWriter.submit`).

    Notes
    -----
    The time each section took is left in ``ctx.cache['section_seconds']``.
    """
    from tqdm.auto import tqdm

    modules = list(modules)
    if progress and ctx.progress is None:
        ctx.progress = tqdm_progress(enabled=True)
    sections: list[Section] = []
    seconds: dict[str, float] = ctx.cache.setdefault("section_seconds", {})
    bar = tqdm(total=len(modules), desc="audit", file=sys.stderr, disable=not progress, dynamic_ncols=True,
               bar_format="{desc}: {n}/{total} sections |{bar}| {elapsed} {postfix}")
    try:
        for name in modules:
            title = _title_of(name)
            bar.set_postfix_str(title)
            t0 = time.perf_counter()
            module = importlib.import_module(name)
            try:
                section = module.build_section(ctx)
            except Exception as exc:  # a failing section must not hide the others
                if debug:
                    raise
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                section = Section(title=title, html=f"<div class='qa-error'>This section failed: {escape(detail)}</div>")
                ctx.cache.setdefault("section_errors", []).append(f"{title}: {detail}")
            if section is None:  # a module that has nothing to say still says why
                why = getattr(module, "not_applicable", None)
                section = explain(title, why(ctx) if why is not None else "it does not apply to this data.")
            seconds[section.title] = round(time.perf_counter() - t0, 3)
            sections.append(section)
            if on_section is not None:
                on_section(section)
            bar.update(1)
            if progress:
                bar.write(f"qa-toolkit: section {section.title} done ({seconds[section.title]:.1f} s)", file=sys.stderr)
    finally:
        bar.close()
    return sections


def render_html(sections: list[Section], *, title: str = "Annotation audit", subtitle: str = "",
                head: str = "", tail: list[Section] | None = None) -> str:
    """One self-contained HTML page (figures inlined).

    Parameters
    ----------
    sections : list of Section
        The report's sections, in order.
    title, subtitle : str
        Page heading and the line under it.
    head : str
        HTML shown first, before the navigation (the decision block).
    tail : list of Section, optional
        Sections after the others (provenance).
    """
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    every = list(sections) + list(tail or [])
    anchors = [f"s{i}" for i in range(len(every))]
    nav = " ".join(f"<a href='#{a}'>{escape(s.title)}</a>" for a, s in zip(anchors, every))
    body = "\n".join(
        f"<section id='{a}'><h2>{escape(s.title)}</h2>\n{s.html}\n</section>" for a, s in zip(anchors, every)
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class='qa-note'>{escape(subtitle)} — generated {stamp} by qa_toolkit</p>"
        f"{head}<nav>{nav}</nav>{body}</body></html>"
    )


def _csv_paths(section: Section, out: Path) -> dict[Path, Any]:
    prefix = section.title.lower().replace(" ", "_").replace("/", "_")
    prefix = prefix.split("_(", 1)[0]  # "Truth inference (Dawid-Skene)" -> "truth_inference"
    return {out / f"{prefix}__{name}.csv": table for name, table in section.tables.items()}


class TableWriter:
    """Writes section tables as CSV in the background while the next sections compute.

    The large CSVs go through pyarrow, which releases the GIL, so on a machine with a free
    core they cost the audit little wall time. A file name written twice keeps the last
    table, as when the tables are written in turn. Use as a context manager, or call
    :meth:`close` (which re-raises a failed write).
    """

    def __init__(self, out_dir: Any, *, workers: int = 2) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qa-csv")
        self._jobs: dict[Path, Any] = {}

    def submit(self, section: Section) -> None:
        """Schedule every table of ``section``."""
        for path, table in _csv_paths(section, self.out).items():
            before = self._jobs.get(path)
            if before is not None:
                before.result()  # the later table must land last
            self._jobs[path] = self._pool.submit(write_csv, table, path)  # formulas neutralised

    def close(self) -> None:
        """Wait for every write; re-raise the first failure."""
        try:
            for job in list(self._jobs.values()):
                job.result()
        finally:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)


def write_report(sections: list[Section], out_dir: Any, *, title: str = "Annotation audit", subtitle: str = "",
                 head: str = "", tail: list[Section] | None = None, writer: TableWriter | None = None) -> Path:
    """Write ``index.html`` and every section table as CSV into ``out_dir``; return the HTML path.

    Existing files of the same names are replaced; nothing else in ``out_dir`` is touched.
    ``writer``: the :class:`TableWriter` that already received ``sections`` (their tables
    were written while the audit went on); only ``tail`` is submitted here, and the page
    is written once every table is.
    """
    out = Path(out_dir)
    own = writer is None
    w = TableWriter(out) if writer is None else writer
    try:
        for s in (list(sections) if own else []) + list(tail or []):
            w.submit(s)
        html = render_html(sections, title=title, subtitle=subtitle, head=head, tail=tail)  # while CSVs are written
    except BaseException:
        if own:
            w.__exit__(RuntimeError, None, None)
        raise
    w.close()  # re-raises a failed write here
    page = out / "index.html"
    tmp = out / ".index.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(page)
    return page
