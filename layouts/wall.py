"""The wall screen: header, banner, lights / map and hotspots / members and rankings; `/wall` is kiosk-clean."""

from __future__ import annotations

from dataclasses import dataclass

import dash_leaflet as dl
from dash import dcc, html

from dashboard import ids, ids_topics
from dashboard.i18n import t
from dashboard.wall import WallState
from layouts import notify_chip
from layouts.attrs import dataset
from layouts.drill import js as drill_js
from layouts.panels import cases_figure, figure, live_list

EMPTY = {"type": "FeatureCollection", "features": []}
#: How often the wall's topic panel is refreshed (its half-month figures move slowly), ms.
TOPICS_MS = 60_000


def js(name: str) -> dict[str, str]:
    """A function of assets/wall_map.js, as dash-leaflet takes it."""
    return {"variable": f"wall.{name}"}


def _center(bounds: list[list[float]]) -> list[float]:
    (s, w), (n, e) = bounds
    return [round((s + n) / 2, 5), round((w + e) / 2, 5)]


@dataclass(frozen=True)
class PageStatic:
    """What the page needs besides the URL state: fixed per city and settings."""

    city_name: str
    refresh_ms: int
    tile_url: str | None
    bounds: list[list[float]]
    view_label: str
    view_options: list[dict[str, str]]
    turning_red_h: float
    districts_url: str
    streets_url: str
    communities_url: str
    selected: str | None = None


def header(state: WallState, st: PageStatic) -> html.Div:
    """City, title, the view shown, the city's time and the data's freshness (+ controls off the kiosk)."""
    lang = state.lang
    parts = [
        html.Div(st.city_name, className="wall-city"),
        html.Div(t(lang, "title"), className="wall-title"),
        html.Div(st.view_label, id=ids.VIEW_LABEL, className="wall-view", **dataset(metric="view")),
    ]
    if not state.kiosk:
        other = "en" if lang == "zh" else "zh"
        parts.append(
            html.Div(
                [
                    dcc.Dropdown(
                        id=ids.VIEW_PICK,
                        options=st.view_options,
                        value=state.view.key,
                        clearable=False,
                        className="wall-pick",
                    ),
                    dcc.Link(t(lang, "lang_switch"), href=state.query(lang=other), id=ids.LANG_LINK),
                    dcc.Link(t(lang, "tour_on"), href="/wall" + state.query(tour_s=1)),
                ],
                className="wall-controls",
            )
        )
    parts += [
        notify_chip.chip(lang),
        html.Div("--:--:--", id=ids.metric("clock"), className="wall-clock", **dataset(metric="clock")),
        html.Div(
            [t(lang, "updated"), " ", html.Span("—", id=ids.metric("freshness"), **dataset(metric="freshness"))],
            className="wall-fresh",
        ),
    ]
    return html.Div(parts, className="wall-header")


def lights_panel(lang: str, st: PageStatic) -> html.Div:
    """Open appeals by light, turning red soon, today, and the red and turning-red lists."""
    return html.Div(
        [
            html.H2(t(lang, "lights")),
            html.Div(
                [
                    figure("open-green", t(lang, "green"), "c-green", True),
                    figure("open-yellow", t(lang, "yellow"), "c-yellow", True),
                    figure("open-red", t(lang, "red"), "c-red", True),
                ],
                className="figs figs-3",
            ),
            html.Div(
                [
                    figure("open-total", t(lang, "open"), "c-blue"),
                    figure("turning-red", t(lang, "turning_red", h=f"{st.turning_red_h:g}"), "c-amber"),
                    figure("today-volume", t(lang, "today")),
                    figure("red-uncovered", t(lang, "red_uncovered"), "c-red"),
                ],
                className="figs figs-4",
                style={"marginTop": "8px"},
            ),
            html.H3([t(lang, "red_list"), cases_figure(lang)], className="with-fig"),
            live_list("red-list"),
            html.H3(t(lang, "soon_list")),
            live_list("soon-list"),
        ],
        className="panel",
        style={"flex": "1"},
    )


def map_panel(lang: str, st: PageStatic, kiosk: bool) -> html.Div:
    """Boundaries as vector layers (no tiles unless set), clustered community points, red appeals, same-event
    groups (one marker each with its count)."""
    layers = [dl.TileLayer(url=st.tile_url)] if st.tile_url else []
    sel = {"sel": st.selected}
    layers += [
        dl.GeoJSON(id=ids.DISTRICT_LAYER, url=st.districts_url, style=js("district"), hideout=sel, interactive=False),
        dl.GeoJSON(id=ids.STREET_LAYER, url=st.streets_url, style=js("street"), hideout=sel, interactive=False),
        dl.GeoJSON(
            id=ids.COMMUNITY_LAYER,
            url=st.communities_url,
            cluster=True,
            zoomToBoundsOnClick=True,
            pointToLayer=js("point"),
            clusterToLayer=js("cluster"),
            hideout={"pts": {}},
            superClusterOptions={"radius": 70, "maxZoom": 14},
        ),
        dl.GeoJSON(id=ids.RED_LAYER, data=EMPTY, pointToLayer=js("red")),
        dl.GeoJSON(id=ids.GROUP_LAYER, data=EMPTY, pointToLayer=drill_js("group")),  # as the drill map draws them
    ]
    return html.Div(
        [
            dl.Map(
                layers,
                id=ids.MAP,
                bounds=st.bounds,
                center=_center(st.bounds),
                zoom=9,
                className="wall-map",
                zoomControl=not kiosk,
                attributionControl=bool(st.tile_url),
                minZoom=7,
                maxZoom=17,
                zoomSnap=0.25,
                trackViewport=False,
                viewport={"bounds": st.bounds, "transition": "fitBounds"},
            ),
            html.Div(
                id=ids.DETAIL,
                className="detail",
                children=[html.Button(t(lang, "close"), id=ids.DETAIL_CLOSE, n_clicks=0), html.Div(id=ids.DETAIL_BODY)],
            ),
        ],
        className="panel map-panel",
    )


def members_panel(lang: str) -> html.Div:
    """Grid members by state, coverage now, the streets with the lowest coverage."""
    return html.Div(
        [
            html.H2(t(lang, "members")),
            html.Div(
                [
                    figure("members-online", t(lang, "online"), "c-green"),
                    figure("members-busy", t(lang, "busy"), "c-amber"),
                    figure("members-offline", t(lang, "offline")),
                    figure("members-sos", t(lang, "sos"), "c-red"),
                ],
                className="figs figs-4",
            ),
            html.Div([figure("coverage", t(lang, "coverage"), "c-blue")], className="figs", style={"marginTop": "8px"}),
            html.H3(t(lang, "coverage_low")),
            live_list("coverage-list"),
        ],
        className="panel",
    )


def rankings_panel(lang: str) -> html.Div:
    """This month's classes, best and worst streets, and the top ten by volume."""
    return html.Div(
        [
            html.H2(t(lang, "rankings")),
            html.Div(
                [
                    figure("rank-advanced", t(lang, "advanced"), "c-green"),
                    figure("rank-improving", t(lang, "improving"), "c-blue"),
                    figure("rank-rectification", t(lang, "rectification"), "c-amber"),
                    figure("rank-governance", t(lang, "governance"), "c-red"),
                ],
                className="figs figs-4",
            ),
            live_list("ranking-table"),
            html.Div([html.H3(t(lang, "volume_top")), live_list("volume-top")], className="vol-box"),
        ],
        className="panel rank-panel",
        style={"flex": "1"},
    )


def wall_page(state: WallState, st: PageStatic) -> html.Div:
    """The whole screen for a URL state."""
    lang = state.lang
    return html.Div(
        [
            dcc.Interval(id=ids.TICK, interval=st.refresh_ms, n_intervals=0),
            dcc.Interval(id=ids_topics.WALL_TICK, interval=TOPICS_MS, n_intervals=0),
            dcc.Interval(id=ids.GROUP_TICK, interval=TOPICS_MS, n_intervals=0),
            dcc.Store(id=ids.SHOWN, data=None),
            dcc.Store(id=ids.VIEW, data=state.view.key),
            html.Div(
                t(lang, "server_down"),
                id=ids.WATCHDOG,
                className="wall-watchdog",
                **dataset(refresh=str(st.refresh_ms)),
            ),
            header(state, st),
            html.Div(id=ids.BANNER, className="wall-banner", **dataset(metric="banner")),
            html.Div(
                [
                    html.Div([lights_panel(lang, st)], className="wall-col"),
                    html.Div(
                        [
                            map_panel(lang, st, state.kiosk),
                            html.Div(
                                [html.H2(t(lang, "hotspots")), live_list("hotspot-list")], className="panel hot-panel"
                            ),
                            html.Div(id=ids_topics.WALL_PANEL, className="panel topics-panel"),
                        ],
                        className="wall-col wall-mid",
                    ),
                    html.Div([members_panel(lang), rankings_panel(lang)], className="wall-col"),
                ],
                id=ids.BODY,
                className="wall-body",
                **dataset(state="loading"),
            ),
            live_list("sos-alert", "sos-alert"),
        ],
        id=ids.SCREEN,
        className="wall-screen" + (" wall-kiosk" if state.kiosk else ""),
        lang=lang,
    )
