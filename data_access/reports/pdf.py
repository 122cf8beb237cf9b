"""A report as a print-ready A4 PDF in Chinese: WeasyPrint lays out HTML and CSS (Pango shapes the text).

Every citizen's text goes in escaped (`html.escape`): it stays text. The font is embedded from the Noto CJK file
(@font-face, subset by WeasyPrint); charts are PNG images from charts.py. Tables break across pages with their
heading row repeated (`thead` is a table-header-group); the scope and the data's cut-off head every page, and the
page number with the count of pages foots it."""

from __future__ import annotations

import base64
import logging
from html import escape

from dashboard.i18n import t
from dashboard.reports import Report, Section, Table, cell_text, fact_text
from data_access.reports.charts import png
from data_access.reports.fonts import cjk_font

CSS = """
@font-face { font-family: "ReportCJK"; src: url("%(font)s"); }
@page {
  size: A4; margin: 22mm 14mm 18mm 14mm;
  @top-center { content: element(head); }
  @bottom-center { content: "%(page)s " counter(page) " / " counter(pages); font-size: 8pt; color: #444; }
}
html { font-family: "ReportCJK", sans-serif; font-size: 9.5pt; color: #111; }
.head { position: running(head); font-size: 8pt; color: #444; border-bottom: 0.5pt solid #999; width: 100%%; }
h1 { font-size: 17pt; margin: 0 0 2mm 0; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm 0; border-left: 3pt solid #2b6cb0; padding-left: 2mm; }
h3 { font-size: 10pt; margin: 3mm 0 1mm 0; }
.meta { color: #333; margin-bottom: 3mm; }
.facts span { display: inline-block; margin: 0 6mm 1mm 0; }
.facts b { font-size: 11pt; }
table { border-collapse: separate; border-spacing: 0; width: 100%%; table-layout: fixed; margin: 1mm 0 3mm 0; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th { background: #e8eef6; font-weight: bold; }
th, td { border-bottom: 0.4pt solid #999; padding: 0.8mm 1.2mm; text-align: left; vertical-align: top; }
th { border-top: 0.6pt solid #666; }
td.n { text-align: right; white-space: nowrap; }
.unavailable { color: #a05000; border: 0.6pt dashed #a05000; padding: 2mm; }
img { width: 100%%; max-height: 120mm; object-fit: contain; }
.empty { color: #666; }
"""

NUMERIC = ("int", "pct", "num", "signed")
#: Share of a table's width per column, by format: tables are laid out `fixed` (from these widths, not from
#: measuring every cell: with rules under rows instead of collapsed cell borders, a tenth of the PDF's time).
WEIGHT = {"text": 3.0, "label": 3.0, "key": 1.6, "date": 1.6}


def title(r: Report, lang: str) -> str:
    """The report's title: kind, scope and period."""
    return t(lang, "rp_title", kind=t(lang, f"rp_kind_{r.kind}"), scope=r.scope_name, period=r.period)


def _table(tb: Table, lang: str) -> str:
    weights = [WEIGHT.get(c.fmt, 1.2) for c in tb.columns]
    cols = "".join(f"<col style='width:{100 * w / sum(weights):.1f}%'>" for w in weights)
    head = "".join(f"<th>{escape(t(lang, c.label))}</th>" for c in tb.columns)
    rows, left_out = tb.printed()
    note = f"<p class='empty'>{escape(t(lang, 'rp_quiet', n=left_out))}</p>" if left_out else ""
    if not rows:
        return f"<h3>{escape(t(lang, tb.name))}</h3><p class='empty'>{escape(t(lang, 'rp_none'))}</p>{note}"
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if c.fmt in NUMERIC else ''}>{escape(cell_text(row.get(c.key), c, lang))}</td>"
            for c in tb.columns
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<h3>{escape(t(lang, tb.name))}</h3><table><colgroup>{cols}</colgroup>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    )


def _section(s: Section, lang: str) -> str:
    out = [f"<h2>{escape(t(lang, s.name))}</h2>"]
    if s.unavailable:
        out.append(f"<p class='unavailable'>{escape(t(lang, s.unavailable))}</p>")
    if s.facts:
        facts = "".join(f"<span>{escape(t(lang, k))}: <b>{escape(fact_text(v, lang))}</b></span>" for k, v in s.facts)
        out.append(f"<div class='facts'>{facts}</div>")
    for f in s.figures:
        data = base64.b64encode(png(f, lang)).decode("ascii")
        out.append(f"<img alt='{escape(t(lang, f.name))}' src='data:image/png;base64,{data}'>")
    out.extend(_table(tb, lang) for tb in s.tables)
    return "".join(out)


def html(r: Report, lang: str = "zh") -> str:
    """The report as one HTML document laid out for A4."""
    font = cjk_font().as_uri()
    css = CSS % {"font": font, "page": t(lang, "rp_page")}
    cutoff = r.cutoff.strftime("%Y-%m-%d %H:%M")
    made = r.made_at.strftime("%Y-%m-%d %H:%M")
    head = escape(t(lang, "rp_running_head", scope=r.scope_name, period=r.period, cutoff=cutoff))
    meta = escape(t(lang, "rp_meta", scope=r.scope_name, cutoff=cutoff, made=made))
    body = "".join(_section(s, lang) for s in r.sections)
    return (
        f"<!doctype html><html lang='{'en' if lang == 'en' else 'zh-CN'}'><head><meta charset='utf-8'>"
        f"<title>{escape(title(r, lang))}</title><style>{css}</style></head><body>"
        f"<div class='head'>{head}</div><h1>{escape(title(r, lang))}</h1><p class='meta'>{meta}</p>{body}</body></html>"
    )


def pdf(r: Report, lang: str = "zh") -> bytes:
    """The report as PDF bytes."""
    # Its steps, page by page, flood the log; set before the import, which parses its own style sheets.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    from weasyprint import HTML

    return bytes(HTML(string=html(r, lang)).write_pdf())
