"""The drill-down pages' long tables as virtualised grids (dash-ag-grid, infinite row model): pure builders.

A grid is drawn empty: its rows come a block at a time from the server (callbacks/drill_rows.py), sorted and
filtered in SQL, so the page's first answer holds no rows at all. Cells are text (ag-grid escapes values); the
only custom cells are the appeal link, the light's dot and the red list's 督办/催办 buttons (assets/drill_grid.js).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash_ag_grid as dag
from dash import html

from dashboard import ids_drill
from dashboard.drill import LIGHTS, Area
from dashboard.i18n import duration, t, word

DASH = "—"
BLOCK = 50
#: The grids' look: the wall's palette (assets/wall.css), big enough to read across a room.
THEME = (
    "themeQuartz.withParams({backgroundColor: '#0f1a2b', foregroundColor: '#dbe6f5', headerBackgroundColor: '#13233a',"
    " borderColor: '#1e2f4a', accentColor: '#4da3ff', fontSize: 15, headerFontSize: 14, spacing: 6,"
    " oddRowBackgroundColor: '#112036'})"
)


def look(lang: str) -> dict[str, Any]:
    """Grid options every grid of the screens shares: the dark theme and ag-grid's own words in the page's language."""
    return {
        "theme": {"function": THEME},
        "localeText": {"loadingOoo": t(lang, "grid_loading"), "noRowsToShow": t(lang, "grid_no_rows")},
    }


#: Column id -> (text key of its header, sortable, text-filterable, min width px).
COLUMNS: dict[str, list[tuple[str, str, bool, bool, int]]] = {
    "red": [
        ("id", "drill_id", True, True, 130),
        ("unit", "col_unit", True, False, 130),
        ("place", "col_place", True, False, 140),
        ("category", "col_cat", True, True, 180),
        ("late", "col_late", True, False, 130),
        ("summary", "summary", False, True, 220),
        ("case", "case_panel", False, False, 150),
    ],
    "appeals": [
        ("id", "drill_id", True, True, 130),
        ("created", "drill_created_at", True, False, 150),
        ("light", "drill_light", False, False, 100),
        ("status", "drill_status", True, False, 100),
        ("category", "col_cat", True, True, 180),
        ("place", "col_place", True, False, 140),
        ("address", "drill_address", False, True, 160),
        ("summary", "summary", False, True, 220),
    ],
    "members": [
        ("name", "drill_member", True, True, 110),
        ("role", "drill_member_role", True, False, 120),
        ("grid", "drill_grid", True, True, 140),
        ("state", "drill_state", False, False, 90),
        ("seen", "drill_seen", False, False, 150),
    ],
}
RENDERERS = {"id": "DrillLink", "light": "DrillLight", "case": "CaseButtons"}
FLEX = {"summary": 3, "address": 2, "category": 2, "place": 1}


def when(v: datetime | None, zone: ZoneInfo) -> str:
    """A time in the city's zone, to the minute."""
    return DASH if v is None else v.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _col(table: str, col: str, key: str, sortable: bool, filterable: bool, width: int, lang: str) -> dict[str, Any]:
    c: dict[str, Any] = {
        "field": col,
        "colId": col,
        "headerName": t(lang, key),
        "sortable": sortable,
        "minWidth": width,
        "flex": FLEX.get(col, 1),
        "tooltipField": col if col in ("summary", "address", "category") else None,
    }
    if filterable:
        c["filter"] = "agTextColumnFilter"
        c["filterParams"] = {"filterOptions": ["contains", "equals", "startsWith"], "maxNumConditions": 1}
    if col in RENDERERS:
        c["cellRenderer"] = RENDERERS[col]
    if col == "late":
        c["cellClass"] = "late"
    if col == "case":  # 督办 and 催办: the grid reports a click as cellRendererData (callbacks/casework.py)
        c["cellRendererParams"] = {"labels": {a: t(lang, f"case_{a}") for a in ("open", "chase")}}
    if col == "state":
        c["cellClass"] = {"function": "'st-' + (data ? data.st : '')"}
    return {k: v for k, v in c.items() if v is not None}


def grid(table: str, lang: str, height: int = 420) -> dag.AgGrid:
    """An empty grid whose rows the server sends a block at a time."""
    return dag.AgGrid(
        id=ids_drill.grid(table),
        rowModelType="infinite",
        columnDefs=[_col(table, *c, lang) for c in COLUMNS[table]],
        defaultColDef={"resizable": True, "suppressHeaderMenuButton": False},
        getRowId="params.data.key",
        dashGridOptions={
            **look(lang),
            "cacheBlockSize": BLOCK,
            "maxBlocksInCache": 20,
            "infiniteInitialRowCount": 1,
            "rowBuffer": 10,
            "tooltipShowDelay": 300,
        },
        className="drill-grid",
        style={"height": f"{height}px", "width": "100%"},
    )


HEIGHTS = {"red": 360, "members": 360, "appeals": 480}


def slot(table: str, lang: str) -> html.Div:
    """Where a grid goes once the page is drawn (its script and rows load after the figures and the map)."""
    return html.Div(
        html.Div(t(lang, "grid_loading"), className="none loading"),
        id=ids_drill.grid_slot(table),
        className="drill-grid-slot",
        style={"minHeight": f"{HEIGHTS[table]}px"},
    )


def red_rows(rows: list[dict[str, Any]], lang: str, q: str) -> list[dict[str, Any]]:
    """Red list rows as the grid shows them (words as text)."""
    return [
        {
            "key": r["id"],
            "id": r["id"],
            "href": Area("appeal", r["id"]).path + q,
            "unit": r["unit_name"] or t(lang, "unassigned"),
            "place": r["place"],
            "category": r["category_path"],
            "late": duration(lang, r["late_s"]),
            "summary": r["summary"],
        }
        for r in rows
    ]


def appeal_rows(rows: list[dict[str, Any]], lang: str, q: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Matching appeals as the grid shows them: light and status in the page's language."""
    out = []
    for r in rows:
        lit = r["light"] if r["light"] in LIGHTS else "closed"  # on time or late: this table says closed
        out.append(
            {
                "key": r["id"],
                "id": r["id"],
                "href": Area("appeal", r["id"]).path + q,
                "created": when(r["created_at"], zone),
                "lit": lit,
                "light": t(lang, "drill_light_closed") if lit == "closed" else t(lang, lit),
                "status": word(lang, "st", r.get("status")),
                "category": r["category_path"],
                "place": r["place"],
                "address": r["address"],
                "summary": r["summary"],
            }
        )
    return out


def member_rows(rows: list[dict[str, Any]], lang: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Members: name, role, grid, state now, last heartbeat."""
    return [
        {
            "key": r["id"],
            "name": r["name"],
            "role": word(lang, "role", r["role"]),
            "grid": r["grid"],
            "st": r["state"],
            "state": t(lang, r["state"]),
            "seen": when(r["seen_at"], zone),
        }
        for r in rows
    ]
