"""The appeal page: its light and due time, where it is, the review answers and the timeline (pure builders)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import dash_leaflet as dl
from dash import html

from dashboard import ids_drill
from dashboard.i18n import t, word
from layouts.attrs import dataset
from layouts.drill import EMPTY, js
from layouts.drill_tables import DASH

TEXT_FIELDS = ("reason", "note")


def _when(iso: str | None, zone: ZoneInfo) -> str:
    return DASH if not iso else datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _yn(v: bool | None, lang: str) -> str:
    return DASH if v is None else t(lang, "drill_yes" if v else "drill_no")


def place_line(names: Mapping[str, str]) -> str:
    """Where an appeal is: its district, street, community and grid names, those known."""
    return " · ".join(names[lv] for lv in ("district", "street", "community", "grid") if names.get(lv))


def facts(d: dict[str, Any], place: str, lang: str, zone: ZoneInfo) -> html.Dl:
    """Light, due time, status, priority, unit, member, place, address and the citizen's words."""
    light = d["light"]
    label = t(lang, light) if light in ("green", "yellow", "red") else light
    rows: list[tuple[str, Any, str]] = [
        ("drill_light", html.Span([html.Span("●", className=f"dot l-{light}"), " ", label]), "light"),
        ("drill_due", _when(d["due_at"], zone), "due"),
        ("drill_status", word(lang, "st", d["status"]), "status"),
        ("drill_priority", word(lang, "drill_pri", d["priority"]), "priority"),
        ("drill_channel", word(lang, "ch", d["channel"]), "channel"),
        ("drill_kind", word(lang, "drill_kind", d.get("kind")), "kind"),
        ("drill_created_at", _when(d["created_at"], zone), "created"),
        ("drill_unit", d["unit_name"] or t(lang, "unassigned"), "unit"),
        ("drill_member", d["member_name"] or DASH, "member"),
        ("col_place", place, "place"),
        ("drill_address", d["address"] or DASH, "address"),
        ("summary", d["summary"] or DASH, "summary"),
    ]
    items: list[Any] = []
    for key, value, field in rows:
        items += [html.Dt(t(lang, key)), html.Dd(value, **dataset(field=field))]
    return html.Dl(items, className="drill-facts")


def review(d: dict[str, Any], lang: str) -> html.Div | html.Dl:
    """The call-back's three answers (or that there was none yet)."""
    r = d["review"]
    if not r:
        return html.Div(t(lang, "drill_not_reviewed"), className="none", **dataset(field="review"))
    sat = r["satisfaction"]
    sat_text = (
        t(lang, f"drill_sat_{sat}") if sat in ("satisfied", "basically_satisfied", "dissatisfied") else (sat or DASH)
    )
    return html.Dl(
        [
            html.Dt(t(lang, "drill_responded")),
            html.Dd(_yn(r["responded"], lang)),
            html.Dt(t(lang, "drill_resolved_q")),
            html.Dd(_yn(r["resolved"], lang)),
            html.Dt(t(lang, "drill_satisfaction")),
            html.Dd(sat_text),
        ],
        className="drill-facts",
        **dataset(field="review"),
    )


def timeline(d: dict[str, Any], lang: str, zone: ZoneInfo) -> html.Table:
    """Every event in order: when, which step, which unit, which member, and its words (as text)."""
    body = []
    for e in d["events"]:
        detail = [str(e[k]) for k in TEXT_FIELDS if e.get(k)]
        if e["type"] == "reviewed":
            detail.append(str(e.get("satisfaction") or ""))
        if e.get("due_at"):
            detail.append(f"{t(lang, 'drill_due')} {_when(e['due_at'], zone)}")
        step = t(lang, f"ev_{e['type']}") if f"ev_{e['type']}" in _EVENT_KEYS else e["type"]
        body.append(
            html.Tr(
                [
                    html.Td(_when(e["at"], zone)),
                    html.Td(step),
                    html.Td(e["unit_name"] or DASH),
                    html.Td(e["member_name"] or DASH),
                    html.Td(" · ".join(x for x in detail if x)),
                ],
                **dataset(event=e["type"]),
            )
        )
    head = html.Tr(
        [html.Th(t(lang, k)) for k in ("drill_when", "drill_event", "drill_unit", "drill_member", "drill_detail")]
    )
    return html.Table([html.Thead(head), html.Tbody(body)], className="list drill-table timeline-table")


_EVENT_KEYS = {
    f"ev_{k}"
    for k in ("created", "dispatched", "accepted", "extended", "returned", "resolved", "reviewed", "reopened", "closed")
}


def appeal_map(d: dict[str, Any], tile_url: str | None) -> dl.Map:
    """The appeal's grid and its point; the tooltip is escaped (Leaflet renders it as HTML)."""
    pt = d["point"]
    data: dict[str, Any] = EMPTY
    if pt:
        words = escape((d["summary"] or "")[:120])
        data = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [pt["lon"], pt["lat"]]},
                    "properties": {
                        "tooltip": f"{escape(d['id'])} · {words}",
                        "popup": f"<b>{escape(d['id'])}</b><br>{escape(d['address'] or '')}<br>{words}",
                    },
                }
            ],
        }
    layers: list[Any] = [dl.TileLayer(url=tile_url)] if tile_url else []
    layers += [
        dl.GeoJSON(id=ids_drill.OUTLINE_LAYER, data=d["outline"], style=js("outline"), interactive=False),
        dl.GeoJSON(id=ids_drill.APPEAL_LAYER, data=data, pointToLayer=js("red")),
    ]
    return dl.Map(
        layers,
        id=ids_drill.MAP,
        bounds=d["bounds"],
        className="drill-map small",
        attributionControl=bool(tile_url),
        trackViewport=False,
    )
