"""The topic pages (/topics, /topics/<id>) and the wall's topic panel: pure builders (no I/O).

Citizen text (appeal summaries of hotspot members) is only put in components' children, which React renders as
text; map tooltips, which Leaflet renders as HTML, carry only place names escaped on the server."""

from __future__ import annotations

from html import escape
from typing import Any

import dash_leaflet as dl
import plotly.graph_objects as go
from dash import dcc, html

from dashboard import ids_topics as ids
from dashboard.i18n import t


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _signed(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:+.1f}%"


def _table(head: list[str], rows: list[list[Any]], cls: str = "") -> html.Table:
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])],
        className=f"drill-table {cls}".strip(),
    )


def _none(text: str) -> html.Div:
    return html.Div(text, className="drill-none")


def panel(title: str, body: Any, cls: str = "") -> html.Section:
    """A titled panel."""
    return html.Section([html.Div(html.H2(title), className="drill-panel-head"), body], className=f"drill-panel {cls}")


def header(lang: str, user: str, path: str, crumbs: list[Any]) -> html.Div:
    """Where we are, who is signed in, language switch, sign out."""
    other = "en" if lang == "zh" else "zh"
    return html.Div(
        [
            html.Nav(
                [dcc.Link(t(lang, "topic_to_wall"), href=f"/?lang={lang}", className="crumb"), *crumbs],
                className="drill-crumbs",
            ),
            html.Div(
                [
                    html.Span(f"{t(lang, 'signed_in_as')}: {user}", className="drill-user"),
                    dcc.Link(
                        t(lang, "lang_switch"), href=f"{path}?lang={other}", refresh=False, className="drill-lang"
                    ),
                    html.A(t(lang, "sign_out"), href="/logout", className="drill-logout"),
                ],
                className="drill-who",
            ),
        ],
        className="drill-header",
    )


def page(head: html.Div, body: list[Any], lang: str) -> html.Div:
    """The whole page."""
    return html.Div(
        [head, html.Div(body, className="drill-body topics-body")], id=ids.PAGE, className="drill-screen", lang=lang
    )


def topic_list(rows: list[dict[str, Any]], lang: str) -> html.Table | html.Div:
    """Every topic with its last two half-months."""
    if not rows:
        return _none(t(lang, "topics_none"))
    head = [
        t(lang, k)
        for k in (
            "topic_col_name",
            "topic_col_cats",
            "topic_col_lead",
            "topic_col_start",
            "topic_col_this",
            "topic_col_last",
        )
    ]
    body = [
        [
            dcc.Link(r["name"], href=f"/topics/{r['id']}?lang={lang}"),
            "、".join(r["categories"]),
            r["lead_unit_name"],
            r["start"],
            f"{r['this_half']:,}",
            f"{r['last_half']:,}",
        ]
        for r in rows
    ]
    return _table(head, body, "topics")


def form(
    lang: str, categories: list[str], areas: list[tuple[str, str]], units: list[tuple[str, str]], today: str
) -> html.Div:
    """The form a command-center user defines a topic with."""

    def field(label: str, control: Any) -> html.Label:
        return html.Label([html.Span(t(lang, label)), control], className="topic-field")

    return html.Div(
        [
            field("topic_f_name", dcc.Input(id=ids.FORM_NAME, type="text", maxLength=64, debounce=False)),
            field(
                "topic_f_cats",
                dcc.Dropdown(id=ids.FORM_CATS, options=[{"label": c, "value": c} for c in categories], multi=True),
            ),
            field(
                "topic_f_areas",
                dcc.Dropdown(id=ids.FORM_AREAS, options=[{"label": n, "value": c} for c, n in areas], multi=True),
            ),
            field("topic_f_keywords", dcc.Input(id=ids.FORM_KEYWORDS, type="text", maxLength=200)),
            field("topic_f_lead", dcc.Dropdown(id=ids.FORM_LEAD, options=[{"label": n, "value": c} for c, n in units])),
            field("topic_f_start", dcc.Input(id=ids.FORM_START, type="text", value=today, maxLength=10)),
            html.Button(t(lang, "topic_f_submit"), id=ids.FORM_SUBMIT, n_clicks=0, className="topic-submit"),
            html.Div(id=ids.FORM_MESSAGE, className="topic-message", role="status"),
        ],
        className="topic-form",
    )


def candidates(rows: list[dict[str, Any]] | None, lang: str) -> html.Table | html.Div:
    """每月一题 candidates with their evidence."""
    if not rows:
        return _none(t(lang, "cand_none"))
    head = [
        t(lang, "col_cat"),
        t(lang, "cand_volume"),
        t(lang, "cand_streets"),
        t(lang, "cand_units"),
        t(lang, "topic_res"),
        t(lang, "topic_sat"),
        t(lang, "cand_trend"),
    ]
    body = [
        [
            r["category"],
            f"{r['volume']:,}",
            r["streets"],
            r["units"],
            _pct(r["resolution"]),
            _pct(r["satisfaction"]),
            _signed(r["trend"]),
        ]
        for r in rows
    ]
    return _table(head, body, "candidates")


def problems(rows: list[dict[str, Any]], lang: str, n: int = 12) -> html.Table | html.Div:
    """High-frequency problems: category, area, 7-day volume against expected."""
    if not rows:
        return _none(t(lang, "problems_none"))
    head = [t(lang, "col_cat"), t(lang, "problems_area"), t(lang, "problems_week"), t(lang, "problems_expected")]
    body = [[r["category"], r["area_name"], f"{r['week']:,}", f"{r['expected_week']:.1f}"] for r in rows[:n]]
    return _table(head, body, "problems")


def hotspots(rows: list[dict[str, Any]], lang: str, n: int = 8) -> html.Div:
    """Space-time hotspots with their communities, categories and newest member appeals (as text)."""
    if not rows:
        return _none(t(lang, "scan_none"))
    items = []
    for r in rows[:n]:
        cats = "、".join(f"{c['category']} {c['count']}" for c in r["categories"][:3])
        items.append(
            html.Details(
                [
                    html.Summary(
                        [
                            html.B("、".join(r["names"])),
                            html.Span(
                                t(lang, "scan_row", n=r["count"], e=f"{r['expected']:.1f}", days=r["days"]),
                                className="n",
                            ),
                            html.Span(cats, className="cats"),
                        ]
                    ),
                    html.Ul(
                        [
                            html.Li(f"{m['id']} · {m['category'] or ''} · {m['summary'] or ''}")
                            for m in r["members"][:10]
                        ]
                    ),
                ],
                className="scan-hotspot",
            )
        )
    return html.Div(items, className="scan-list")


def series_chart(body: dict[str, Any], lang: str) -> dcc.Graph:
    """Half-monthly volume since the start, a year before, and the mean half-month before the start."""
    x = [r["half"] for r in body["halves"]]
    traces: list[Any] = [
        go.Bar(x=x, y=[r["volume"] for r in body["halves"]], name=t(lang, "topic_this"), marker_color="#4da3ff")
    ]
    if any(r["last_year"] is not None for r in body["halves"]):
        traces.append(
            go.Scatter(
                x=x,
                y=[r["last_year"] for r in body["halves"]],
                name=t(lang, "topic_last_year"),
                mode="lines+markers",
                line={"color": "#f5a623"},
            )
        )
    if body["before_mean"] is not None:
        traces.append(
            go.Scatter(
                x=x,
                y=[body["before_mean"]] * len(x),
                name=t(lang, "topic_before"),
                mode="lines",
                line={"color": "#e74c3c", "dash": "dash"},
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        height=320,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": "#c9d6ea", "size": 15},
        legend={"orientation": "h", "y": 1.15},
        xaxis={"type": "category", "gridcolor": "#1e2f4a"},
        yaxis={"gridcolor": "#1e2f4a", "rangemode": "tozero"},
    )
    return dcc.Graph(id=ids.SERIES, figure=fig, config={"displayModeBar": False}, className="drill-trend")


def figures(body: dict[str, Any], lang: str) -> html.Div:
    """The topic's headline figures, large."""
    before = body["before_mean"]
    change = _signed(body["change"]) if before is not None else t(lang, "topic_no_before")

    def fig(label: str, value: str) -> html.Div:
        return html.Div([html.Div(value, className="v"), html.Div(t(lang, label), className="l")], className="fig")

    return html.Div(
        [
            fig("topic_since", f"{body['since_start']:,}"),
            fig("topic_before_mean", "—" if before is None else f"{before:,.1f}"),
            fig("topic_change", change),
        ],
        className="drill-figs topic-figs",
    )


def rates(body: dict[str, Any], lang: str) -> html.Table:
    """Call-back rates since the start against the same span before it."""
    head = ["", t(lang, "topic_reviewed"), t(lang, "topic_resp"), t(lang, "topic_res"), t(lang, "topic_sat")]
    rows = [
        [t(lang, label), f"{r['reviewed']:,}", _pct(r["response"]), _pct(r["resolution"]), _pct(r["satisfaction"])]
        for label, r in (
            ("topic_rates_since", body["rates"]["since_start"]),
            ("topic_rates_before", body["rates"]["before"]),
        )
    ]
    return _table(head, rows, "rates")


def worst(rows: list[dict[str, Any]], lang: str) -> html.Table | html.Div:
    """The streets with most of the topic's appeals, with their rates."""
    if not rows:
        return _none(t(lang, "no_data"))
    head = [t(lang, "col_place"), t(lang, "cand_volume"), t(lang, "topic_res"), t(lang, "topic_sat")]
    return _table(
        head, [[r["name"], f"{r['volume']:,}", _pct(r["resolution"]), _pct(r["satisfaction"])] for r in rows], "worst"
    )


def topic_map(
    bounds: list[list[float]],
    districts: dict[str, Any],
    points: list[tuple[str, float, float, int]],
    tile_url: str | None,
) -> dl.Map:
    """The city's districts and a circle per community sized by its appeals (names escaped for Leaflet)."""
    top = max((n for *_, n in points), default=1) or 1
    layers: list[Any] = [dl.TileLayer(url=tile_url)] if tile_url else []
    layers.append(
        dl.GeoJSON(data=districts, style={"color": "#3a5a8a", "weight": 1, "fillOpacity": 0.05}, interactive=False)
    )
    for name, lon, lat, n in points:
        layers.append(
            dl.CircleMarker(
                center=[lat, lon],
                radius=4 + 14 * (n / top) ** 0.5,
                color="#ff6b4a",
                fillOpacity=0.6,
                weight=1,
                children=dl.Tooltip(f"{escape(name)}: {n}"),
            )
        )
    return dl.Map(layers, id=ids.MAP, bounds=bounds, className="drill-map topic-map", attributionControl=bool(tile_url))


def wall_panel(rows: list[dict[str, Any]], lang: str, n: int = 4) -> list[Any]:
    """The wall's small topic panel: the newest topics with this and last half-month."""
    if not rows:
        return [html.H3(t(lang, "wall_topics")), _none(t(lang, "topics_none"))]
    items = [
        html.Li(
            [
                html.Span(r["name"], className="name"),
                html.Span(t(lang, "wall_topics_row", a=r["this_half"], b=r["last_half"]), className="n"),
            ]
        )
        for r in rows[:n]
    ]
    return [html.H3(t(lang, "wall_topics")), html.Ul(items, className="wall-topics-list")]
