"""Downloads: `/export/<table>.csv|.xlsx?area=/area/…&<filters>`: every drill-down table, within the scope."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from dash import Dash
from flask import Response, jsonify, request
from openpyxl import Workbook

from callbacks.auth import current_identity
from callbacks.drill import checked_place
from dashboard.drill import EXPORT_FORMATS, EXPORT_TABLES, FilterError, parse_export
from data_access.drill.export import table
from data_access.ops.services import Services
from geo.city_index import index_of

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _error(msg: str, status: int) -> Response:
    resp = jsonify({"error": msg})
    resp.status_code = status
    return resp


def safe_cell(v: Any) -> Any:
    """A cell as written: text that a spreadsheet would run as a formula is prefixed with a quote."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return "" if v is None else v


def to_csv(head: list[str], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a BOM, so Excel shows Chinese."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    w.writerows([safe_cell(v) for v in r] for r in rows)
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(name: str, head: list[str], rows: list[list[Any]]) -> bytes:
    """One sheet, write-only (constant memory)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(name[:31])
    ws.append(head)
    for r in rows:
        ws.append([safe_cell(v) for v in r])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def register(app: Dash, svc: Services) -> None:
    """Add the export route."""
    refs = index_of(svc.city)

    @app.server.get("/export/<filename>", endpoint="drill_export")
    def export(filename: str) -> Response:
        ident = current_identity()
        name, _, fmt = filename.partition(".")
        if name not in EXPORT_TABLES or fmt not in EXPORT_FORMATS:
            return _error(f"no export {filename!r}: tables {', '.join(EXPORT_TABLES)}; formats csv, xlsx", 404)
        try:
            area, f = parse_export(request.query_string.decode("utf-8", "replace"))
        except FilterError as exc:
            return _error(str(exc), 400)
        if checked_place(svc, refs, area, "export", f"{filename} {area.path}") is None:
            return _error("not available", 404)
        now = datetime.now(UTC)
        try:
            with svc.reads() as s:
                head, rows = table(s, name, area, f, ident.scope, now, svc.settings, refs)
        except ValueError as exc:
            return _error(str(exc), 400)
        stamp = now.astimezone(svc.settings.zone).strftime("%Y%m%d-%H%M")
        fname = f"{name}-{area.level}-{area.code or 'city'}-{stamp}.{fmt}"
        if fmt == "csv":
            body, mime = to_csv(head, rows), "text/csv; charset=utf-8"
        else:
            body, mime = to_xlsx(name, head, rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        resp = Response(body, mimetype=mime)
        resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(fname)}"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp
