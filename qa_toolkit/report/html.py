"""Assemble report sections into one self-contained HTML page plus CSV tables."""

from __future__ import annotations

import importlib
import importlib.util
import traceback
from datetime import datetime, timezone
from pathlib import Path

from qa_toolkit.report.core import AuditContext, Section, escape, write_csv

__all__ = ["SECTION_MODULES", "build_sections", "render_html", "write_report"]

#: Report sections in display order; each module has ``build_section(ctx)``.
SECTION_MODULES = (
    "qa_toolkit.report.overview_section",
    "qa_toolkit.report.agreement_section",
    "qa_toolkit.report.aggregation_section",
    "qa_toolkit.report.label_issues_section",
    "qa_toolkit.report.triage_section",
    "qa_toolkit.report.annotators_section",
    "qa_toolkit.report.review_section",
    "qa_toolkit.report.gate_section",
)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
.qa-table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
.qa-table th,.qa-table td{border:1px solid #ddd;padding:3px 7px;text-align:right}
.qa-table th{background:#f4f4f4} .qa-note{color:#666;font-size:.85em}
.qa-warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5em}
.qa-error{background:#fdecea;border-left:4px solid #d93025;padding:.5em;white-space:pre-wrap}
.qa-pass{color:#137333;font-weight:bold} .qa-fail{color:#c5221f;font-weight:bold}
nav a{margin-right:1em} img{max-width:100%}
"""


def build_sections(ctx: AuditContext, *, modules=SECTION_MODULES, debug: bool = False) -> list[Section]:
    """Build every available section; a section that fails becomes an error section.

    Parameters
    ----------
    ctx : AuditContext
    modules : sequence of str
        Module names with a ``build_section(ctx)`` function; modules not installed are skipped.
    debug : bool, default=False
        Re-raise a section's exception instead of reporting it in the page.
    """
    sections = []
    for name in modules:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            section = importlib.import_module(name).build_section(ctx)
        except Exception as exc:  # a failing section must not hide the others
            if debug:
                raise
            title = name.rsplit(".", 1)[-1].replace("_section", "").replace("_", " ").title()
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            section = Section(title=title, html=f"<div class='qa-error'>This section failed: {escape(detail)}</div>")
            ctx.cache.setdefault("section_errors", []).append(f"{title}: {detail}")
        if section is not None:
            sections.append(section)
    return sections


def render_html(sections: list[Section], *, title: str = "Annotation audit", subtitle: str = "") -> str:
    """One self-contained HTML page (figures inlined) from ``sections``."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    anchors = [f"s{i}" for i in range(len(sections))]
    nav = " ".join(f"<a href='#{a}'>{escape(s.title)}</a>" for a, s in zip(anchors, sections))
    body = "\n".join(
        f"<section id='{a}'><h2>{escape(s.title)}</h2>\n{s.html}\n</section>" for a, s in zip(anchors, sections)
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class='qa-note'>{escape(subtitle)} — generated {stamp} by qa_toolkit</p>"
        f"<nav>{nav}</nav>{body}</body></html>"
    )


def write_report(sections: list[Section], out_dir, *, title: str = "Annotation audit", subtitle: str = "") -> Path:
    """Write ``index.html`` and every section table as CSV into ``out_dir``; return the HTML path.

    Existing files of the same names are replaced; nothing else in ``out_dir`` is touched.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for s in sections:
        prefix = s.title.lower().replace(" ", "_").replace("/", "_")
        for name, table in s.tables.items():
            write_csv(table, out / f"{prefix}__{name}.csv")  # formula-like text neutralised
    page = out / "index.html"
    tmp = out / ".index.html.tmp"
    tmp.write_text(render_html(sections, title=title, subtitle=subtitle), encoding="utf-8")
    tmp.replace(page)
    return page
