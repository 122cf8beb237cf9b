"""A report as an XLSX workbook (openpyxl): a cover sheet, then one sheet per table; numbers stay numbers
(shares with a percent format), days stay dates; text a spreadsheet would run as a formula is quoted."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from dashboard.i18n import t
from dashboard.reports import Column, Report, cell_text, fact_text
from data_access.reports.pdf import title

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {"pct": "0.0%", "num": "0.00", "int": "0", "signed": "+0;-0;0", "date": "yyyy-mm-dd"}


def _value(v: Any, col: Column, lang: str) -> Any:
    if v is None:
        return None
    if col.fmt in ("key", "label"):
        return cell_text(v, col, lang)
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def _cell(ws: WriteOnlyWorksheet, v: Any, col: Column) -> WriteOnlyCell:
    c = WriteOnlyCell(ws, value=v)
    fmt = FORMATS.get(col.fmt)
    if col.fmt == "signed" and isinstance(v, float):
        fmt = "+0.0%;-0.0%;0.0%"
    if fmt and (isinstance(v, (int, float, date))):
        c.number_format = fmt
    return c


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "sheet"
    out, i = base, 2
    while out in used:
        out = f"{base[:28]}-{i}"
        i += 1
    used.add(out)
    return out


def xlsx(r: Report, lang: str = "zh") -> bytes:
    """The report as XLSX bytes (write-only: memory stays flat however long a table is)."""
    wb = Workbook(write_only=True)
    used: set[str] = set()
    cover = wb.create_sheet(_sheet_name(t(lang, "rp_cover"), used))
    cover.append([title(r, lang)])
    cover.append([t(lang, "rp_scope"), r.scope_name, r.scope])
    cover.append([t(lang, "rp_cutoff"), r.cutoff.replace(tzinfo=None)])
    cover.append([t(lang, "rp_made_at"), r.made_at.replace(tzinfo=None)])
    for s in r.sections:
        cover.append([])
        cover.append([t(lang, s.name)])
        if s.unavailable:
            cover.append([t(lang, s.unavailable)])
        for k, v in s.facts:
            cover.append([t(lang, k), v if isinstance(v, (int, float)) else fact_text(v, lang)])
    bold = Font(bold=True)
    for s in r.sections:
        for tb in s.tables:
            ws = wb.create_sheet(_sheet_name(t(lang, tb.name), used))
            heads = []
            for c in tb.columns:
                h = WriteOnlyCell(ws, value=t(lang, c.label))
                h.font = bold
                heads.append(h)
            ws.append(heads)
            for row in tb.rows:
                ws.append([_cell(ws, _value(row.get(c.key), c, lang), c) for c in tb.columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
