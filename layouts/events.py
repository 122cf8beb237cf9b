"""The /events page: events meeting 三天三单 in a virtualised grid; the appeal page's same-event panel; group
markers for the drill-down map (pure builders)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import dash_ag_grid as dag
from dash import dcc, html

from dashboard import ids_drill
from dashboard.i18n import t
from layouts.attrs import dataset
from layouts.drill_grids import look
from layouts.drill_tables import DASH

_COLUMNS = ("day", "cat", "size", "first", "last", "place", "words", "id")


def _when(iso: str | None, zone: ZoneInfo) -> str:
    return DASH if not iso else datetime.fromisoformat(iso).astimezone(zone).strftime("%m-%d %H:%M")


def event_rows(events: list[dict[str, Any]], places: dict[str, str], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Grid rows of events: plain values (the grid shows them as text, never as HTML)."""
    return [
        {
            "day": e["three_in_three_days"] or DASH,
            "cat": e["category"],
            "size": e["size"],
            "first": _when(e["first_at"], zone),
            "last": _when(e["last_at"], zone),
            "place": places.get(e["id"], DASH),
            "words": (e.get("summary") or DASH)[:200],
            "id": e["id"],
        }
        for e in events
    ]


def events_page(
    rows: list[dict[str, Any]], lang: str, days: int, rule: tuple[int, int], error: str | None, other_lang: str
) -> html.Div:
    """Title, the rule in words, the grid (or a clear message when there is nothing or the query is wrong)."""
    n, d = rule
    head = html.Div(
        [
            html.H1(t(lang, "grp_title"), className="drill-title"),
            html.Div(
                [
                    dcc.Link("↩", href=f"/area?lang={lang}", refresh=False, className="drill-home"),
                    " ",
                    dcc.Link(t(lang, "lang_switch"), href=f"/events?days={days}&lang={other_lang}", refresh=False),
                ],
                className="drill-user",
            ),
        ],
        className="drill-header",
    )
    body: list[Any] = [html.P(t(lang, "grp_intro", n=n, d=d, days=days), className="events-intro")]
    if error:
        body.append(html.Div(error, id=ids_drill.ERROR, className="drill-error"))
    elif not rows:
        body.append(html.Div(t(lang, "grp_none", days=days), className="none", **dataset(field="events")))
    else:
        widths = {"day": 150, "size": 120, "first": 130, "last": 130, "cat": 150, "place": 220, "id": 170}
        cols = [
            {
                "field": c,
                "headerName": t(lang, f"grp_col_{c}"),
                **({"width": widths[c]} if c in widths else {"flex": 1}),
            }
            for c in _COLUMNS
        ]
        body.append(
            dag.AgGrid(
                id=ids_drill.EVENTS_GRID,
                columnDefs=cols,
                rowData=rows,
                defaultColDef={"sortable": True, "resizable": True, "filter": True},
                className="events-grid",
                style={"height": "70vh", "width": "100%"},
                dashGridOptions={
                    **look(lang),
                    "animateRows": False,
                },
            )
        )
    return html.Div(
        [head, html.Div(body, className="drill-body")], id=ids_drill.EVENTS_PAGE, className="drill-screen", lang=lang
    )


def same_event(group: dict[str, Any] | None, appeal_id: str, lang: str, zone: ZoneInfo) -> html.Div:
    """The appeal page's panel: 'one of N appeals about this event', the 三天三单 day, the other members (as
    text, each a link to its page)."""
    if group is None:
        return html.Div(t(lang, "grp_not_grouped"), className="none", id=ids_drill.APPEAL_GROUP)
    if group["size"] < 2:
        return html.Div(t(lang, "grp_alone"), className="none", id=ids_drill.APPEAL_GROUP)
    parts: list[Any] = [html.Div(t(lang, "grp_of", n=group["size"]), className="group-count", **dataset(field="group"))]
    if group["three_in_three_days"]:
        parts.append(html.Div(t(lang, "grp_burst", day=group["three_in_three_days"]), className="group-burst"))
    rows = [
        html.Tr(
            [
                html.Td(
                    dcc.Link(m["id"], href=f"/area/a/{m['id']}?lang={lang}", refresh=False)
                    if m["id"] != appeal_id
                    else m["id"]
                ),
                html.Td(_when(m["created_at"], zone)),
                html.Td(m["status"] or DASH),
                html.Td((m["summary"] or DASH)[:120]),
            ],
            className="self" if m["id"] == appeal_id else "",
        )
        for m in group["members"]
    ]
    head = html.Tr([html.Th(t(lang, k)) for k in ("drill_id", "drill_created_at", "drill_status", "summary")])
    parts.append(html.Table([html.Thead(head), html.Tbody(rows)], className="list drill-table group-table"))
    return html.Div(parts, id=ids_drill.APPEAL_GROUP)


def group_points(groups: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """One map marker per group with its count; tooltips escaped (Leaflet renders them as HTML)."""
    feats = []
    for g in groups:
        words = escape((g.get("summary") or "")[:80])
        tip = escape(t(lang, "grp_marker", n=g["size"], cat=g["cat_key"]))
        feats.append(
            {
                "type": "Feature",
                "id": g["id"],
                "geometry": {"type": "Point", "coordinates": [round(g["lon"], 6), round(g["lat"], 6)]},
                "properties": {
                    "count": int(g["size"]),
                    "burst": g["burst_day"] is not None,
                    "tooltip": f"{tip}<br>{words}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}
