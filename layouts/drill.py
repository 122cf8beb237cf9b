"""The drill-down page frame: header with breadcrumb, filter bar, map; pure builders (no I/O).

Citizen text is only ever put in components' children (React renders it as text) or, for the
map's tooltips and popups (which Leaflet renders as HTML), escaped on the server with html.escape.
"""

from __future__ import annotations

from html import escape as html_escape
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashboard import ids_drill
from dashboard.catalogue import leaves
from dashboard.drill import (
    FIGURES,
    KINDS,
    LIGHTS,
    WINDOWS,
    Area,
    Crumb,
    Filters,
    export_href,
)
from dashboard.i18n import t, word
from dashboard.settings import PRIORITIES
from layouts.attrs import dataset

EMPTY = {"type": "FeatureCollection", "features": []}
CHANNELS = ("phone", "wechat", "app", "web", "grid_patrol", "visit", "referral")


def js(name: str) -> dict[str, str]:
    """A function of assets/drill_map.js, as dash-leaflet takes it."""
    return {"variable": f"drill.{name}"}


def breadcrumb(crumbs: list[Crumb]) -> html.Nav:
    """City > district > … : links (dcc.Link, no reload: the back button works) up to the current page."""
    items: list[Any] = []
    for i, c in enumerate(crumbs):
        if i:
            items.append(html.Span("›", className="sep"))
        label = c.label or "—"
        if c.href:
            items.append(
                html.Span(dcc.Link(label, href=c.href, refresh=False, className="crumb"), **dataset(level=c.area.level))
            )
        else:
            items.append(html.Span(label, className="crumb here", **dataset(level=c.area.level)))
    return html.Nav(items, className="drill-crumbs")


def header(crumbs: list[Crumb], user: str, f: Filters, pathname: str) -> html.Div:
    """Breadcrumb, who is signed in, language switch, sign out."""
    lang = f.lang
    other = "en" if lang == "zh" else "zh"
    return html.Div(
        [
            breadcrumb(crumbs),
            html.Div(
                [
                    html.Span(f"{t(lang, 'signed_in_as')}: {user}", className="drill-user"),
                    dcc.Link(
                        t(lang, "lang_switch"),
                        href=pathname + f.query(lang=other),
                        refresh=False,
                        className="drill-lang",
                    ),
                    html.A(t(lang, "sign_out"), href="/logout", className="drill-logout"),
                ],
                className="drill-who",
            ),
        ],
        className="drill-header",
    )


def _opts(values: Any, label: Any) -> list[dict[str, str]]:
    return [{"label": label(v), "value": v} for v in values]


def filter_bar(f: Filters) -> html.Div:
    """The filters (each a dropdown holding its URL parameter) and the map figure."""
    lang = f.lang
    paths = leaves()
    cat1 = list(dict.fromkeys(a for a, _, _ in paths))
    cat2 = list(dict.fromkeys(b for a, b, _ in paths if a == f.cat1)) if f.cat1 else []
    cat3 = [c for a, b, c in paths if a == f.cat1 and b == f.cat2] if f.cat2 else []
    # A value from the URL that the catalogue lacks (another intake's categories) stays selectable.
    for values, v in ((cat1, f.cat1), (cat2, f.cat2), (cat3, f.cat3)):
        if v and v not in values:
            values.append(v)
    controls = [
        ("window", _opts(WINDOWS, lambda v: t(lang, f"drill_win_{v}")), f.window, False),
        ("cat1", _opts(cat1, str), f.cat1, True),
        ("cat2", _opts(cat2, str), f.cat2, True),
        ("cat3", _opts(cat3, str), f.cat3, True),
        (
            "channel",
            _opts(list(dict.fromkeys([*CHANNELS, *([f.channel] if f.channel else [])])), lambda v: word(lang, "ch", v)),
            f.channel,
            True,
        ),
        ("kind", _opts(KINDS, lambda v: t(lang, f"drill_kind_{v}")), f.kind, True),
        ("priority", _opts(PRIORITIES, lambda v: t(lang, f"drill_pri_{v}")), f.priority, True),
        ("light", _opts(LIGHTS, lambda v: t(lang, v)), f.light, True),
        ("fig", _opts(FIGURES, lambda v: t(lang, f"drill_fig_{v}")), f.fig, False),
    ]
    return html.Div(
        [
            html.Label(
                [
                    html.Span(t(lang, f"drill_{name}")),
                    dcc.Dropdown(
                        id=ids_drill.filter_control(name),
                        options=options,
                        value=value,
                        clearable=clearable,
                        placeholder=t(lang, "drill_any"),
                        searchable=False,
                        className="drill-dd",
                        disabled=name in ("cat2", "cat3") and not options,
                    ),
                ],
                className=f"drill-filter f-{name}",
            )
            for name, options, value, clearable in controls
        ],
        className="drill-filters",
    )


def exports(table: str, area: Area, f: Filters) -> html.Span:
    """CSV and XLSX download links of a table, for the page's area and filters."""
    return html.Span(
        [
            t(f.lang, "drill_export"),
            " ",
            html.A("CSV", href=export_href(table, "csv", area, f), className="exp", **dataset(export=f"{table}.csv")),
            " · ",
            html.A(
                "XLSX", href=export_href(table, "xlsx", area, f), className="exp", **dataset(export=f"{table}.xlsx")
            ),
        ],
        className="drill-exports",
    )


def panel(
    title: Any, body: Any, table: str | None = None, area: Area | None = None, f: Filters | None = None, cls: str = ""
) -> html.Section:
    """A titled panel, with export links when it shows a table."""
    head: list[Any] = [html.H2(title)]
    if table and area is not None and f is not None:
        head.append(exports(table, area, f))
    extra: dict[str, Any] = {"id": ids_drill.table(table)} if table else {}
    parts = [html.Div(head, className="drill-panel-head")] + (list(body) if isinstance(body, list) else [body])
    return html.Section(parts, className=f"drill-panel {cls}".strip(), **extra)


def area_map(
    bounds: list[list[float]],
    tile_url: str | None,
    outline: dict[str, Any],
    sub_layer: dict[str, Any],
    hideout: dict[str, Any],
    points: dict[str, Any],
    points_are_subs: bool,
    groups: dict[str, Any] | None = None,
) -> dl.Map:
    """The area zoomed to its bounds: its outline, its sub-areas coloured by the figure, red appeals, and
    same-event groups as one marker each with its count."""
    layers: list[Any] = [dl.TileLayer(url=tile_url)] if tile_url else []
    layers += [dl.GeoJSON(id=ids_drill.OUTLINE_LAYER, data=outline, style=js("outline"), interactive=False)]
    if points_are_subs:
        layers.append(dl.GeoJSON(id=ids_drill.SUB_LAYER, data=sub_layer, pointToLayer=js("point"), hideout=hideout))
    else:
        layers.append(dl.GeoJSON(id=ids_drill.SUB_LAYER, data=sub_layer, style=js("area"), hideout=hideout))
    layers.append(dl.GeoJSON(id=ids_drill.RED_LAYER, data=points, pointToLayer=js("red")))
    if groups is not None:
        layers.append(dl.GeoJSON(id=ids_drill.GROUP_LAYER, data=groups, pointToLayer=js("group")))
    return dl.Map(
        layers,
        id=ids_drill.MAP,
        bounds=bounds,
        className="drill-map",
        attributionControl=bool(tile_url),
        zoomSnap=0.25,
        trackViewport=False,
    )


def red_points(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Red appeals as map points; tooltip and popup escaped (Leaflet renders them as HTML)."""
    feats = []
    for r in rows:
        if not r.get("lonlat"):
            continue
        words = html_escape(r["summary"][:120])
        feats.append(
            {
                "type": "Feature",
                "id": r["id"],
                "geometry": {"type": "Point", "coordinates": [round(r["lonlat"][0], 6), round(r["lonlat"][1], 6)]},
                "properties": {
                    "id": r["id"],
                    "tooltip": f"{html_escape(r['id'])} · {words}",
                    "popup": f"<b>{html_escape(r['id'])}</b><br>{html_escape(r['category_path'])}"
                    f"<br>{html_escape(r['address'])}<br>{words}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def legend(fig: str, top: float | None, lang: str) -> html.Div:
    """What the colours mean: the figure, from 0 to its highest value."""
    rate = fig in ("red_share", "response", "resolution", "satisfaction")
    hi = "—" if top is None else (f"{top * 100:.0f}%" if rate else f"{top:,.0f}")
    return html.Div(
        [
            html.Span(t(lang, f"drill_fig_{fig}")),
            html.Span("0" if not rate else "0%"),
            html.Span(className="ramp"),
            html.Span(hi),
        ],
        className="drill-legend",
        **dataset(figure=fig),
    )


def page(head: html.Div, bar: html.Div | None, body: list[Any], lang: str, error: str | None = None) -> html.Div:
    """The whole page."""
    parts: list[Any] = [head]
    if bar is not None:
        parts.append(bar)
    if error:
        parts.append(html.Div(error, id=ids_drill.ERROR, className="drill-error"))
    parts.append(html.Div(body, className="drill-body"))
    return html.Div(parts, id=ids_drill.PAGE, className="drill-screen", lang=lang)


def unavailable(lang: str, home: str) -> html.Div:
    """The same answer for an unknown place and one outside the user's scope: nothing of it."""
    return html.Div(
        [
            html.Div(t(lang, "drill_not_available"), id=ids_drill.ERROR, className="drill-error"),
            dcc.Link("↩", href=home, refresh=False, className="drill-home"),
        ],
        id=ids_drill.PAGE,
        className="drill-screen",
        lang=lang,
    )
