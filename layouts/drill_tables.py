"""Panels of an area page: figures, tables and the trend (pure builders from plain values)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html

from dashboard.drill import LIGHTS, RATES, Area, Filters
from dashboard.i18n import duration, t
from layouts.attrs import dataset
from layouts.casework import buttons as case_buttons
from layouts.panels import num, pct

DASH = "—"


def when(v: datetime | None, zone: ZoneInfo) -> str:
    """A time in the city's zone, to the minute."""
    return DASH if v is None else v.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def fig(name: str, label: str, value: Any, cls: str = "") -> html.Div:
    """One figure with its label; the number carries data-metric=drill-<name> and its length (--chars), by which
    the stylesheet sizes it to its box: "8" and "8,888,888" both fit (assets/drill.css)."""
    text = num(value)
    return html.Div(
        [
            html.Div(text, className="v", style={"--chars": max(4, len(text))}, **dataset(metric=f"drill-{name}")),
            html.Div(label, className="l"),
        ],
        className=f"fig {cls}".strip(),
    )


def lights(c: dict[str, int], lang: str) -> html.Div:
    """Open appeals by light, and all matching appeals."""
    return html.Div(
        [
            fig("green", t(lang, "green"), c["green"], "c-green"),
            fig("yellow", t(lang, "yellow"), c["yellow"], "c-yellow"),
            fig("red", t(lang, "red"), c["red"], "c-red"),
            fig("open", t(lang, "open"), c["open"], "c-blue"),
            fig("total", t(lang, "drill_total"), c["total"]),
        ],
        className="figs drill-figs",
    )


def member_figs(m: dict[str, Any], lang: str) -> html.Div:
    """Members on duty, busy, offline, SOS."""
    return html.Div(
        [
            fig("m-online", t(lang, "online"), m["online"], "c-green"),
            fig("m-busy", t(lang, "busy"), m["busy"], "c-amber"),
            fig("m-offline", t(lang, "offline"), m["offline"]),
            fig("m-sos", t(lang, "sos"), m["sos"], "c-red"),
        ],
        className="figs drill-figs m4",
    )


def _none(lang: str) -> html.Div:
    return html.Div(t(lang, "none"), className="none")


def _table(head: list[str], rows: list[html.Tr], cls: str = "") -> html.Table:
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)], className=f"list drill-table {cls}".strip()
    )


def appeal_link(appeal_id: str, q: str) -> dcc.Link:
    """A link to an appeal's page (keeping the language)."""
    return dcc.Link(appeal_id, href=Area("appeal", appeal_id).path + q, refresh=False)


def red_table(rows: list[dict[str, Any]], lang: str, q: str) -> html.Table | html.Div:
    """The red list: appeal, unit, place, category, how late, the citizen's words (as text)."""
    if not rows:
        return _none(lang)
    body = [
        html.Tr(
            [
                html.Td(appeal_link(r["id"], q)),
                html.Td(r["unit_name"] or t(lang, "unassigned")),
                html.Td(r["place"]),
                html.Td(r["category_path"]),
                html.Td(duration(lang, r["late_s"]), className="late"),
                html.Td(r["summary"], className="said", title=r["summary"]),
                html.Td(case_buttons(r["id"], lang)),
            ],
            **dataset(appeal=r["id"]),
        )
        for r in rows
    ]
    return _table(
        [
            t(lang, "drill_id"),
            t(lang, "col_unit"),
            t(lang, "col_place"),
            t(lang, "col_cat"),
            t(lang, "col_late"),
            t(lang, "summary"),
            t(lang, "case_panel"),
        ],
        body,
    )


def appeals_table(rows: list[dict[str, Any]], lang: str, q: str, zone: ZoneInfo) -> html.Table | html.Div:
    """Matching appeals, newest first: light, time, category, place, address and words (as text)."""
    if not rows:
        return _none(lang)
    body = []
    for r in rows:
        lit = r["light"] if r["light"] in LIGHTS else "closed"  # on time or late: this table says closed
        light = t(lang, "drill_light_closed") if lit == "closed" else t(lang, lit)
        body.append(
            html.Tr(
                [
                    html.Td(appeal_link(r["id"], q)),
                    html.Td(when(r["created_at"], zone)),
                    html.Td([html.Span("●", className=f"dot l-{lit}"), " ", light]),
                    html.Td(r["category_path"]),
                    html.Td(r["place"]),
                    html.Td(r["address"], title=r["address"]),
                    html.Td(r["summary"], className="said", title=r["summary"]),
                ],
                **dataset(appeal=r["id"]),
            )
        )
    return _table(
        [
            t(lang, "drill_id"),
            t(lang, "drill_created_at"),
            t(lang, "drill_light"),
            t(lang, "col_cat"),
            t(lang, "col_place"),
            t(lang, "drill_address"),
            t(lang, "summary"),
        ],
        body,
    )


def _val(fig_: str, v: Any) -> str:
    return pct(v) if fig_ in RATES else num(v)


def ranking(rows: list[dict[str, Any]], child: str, f: Filters) -> html.Table | html.Div:
    """Sub-areas ranked by the chosen figure; each name opens its page with the same filters."""
    lang = f.lang
    if not rows:
        return _none(lang)
    q = f.query()
    body = [
        html.Tr(
            [
                html.Td(num(r["rank"]), className="num"),
                html.Td(dcc.Link(r["name"], href=Area(child, r["code"]).path + q, refresh=False)),
                html.Td(_val(f.fig, r[f.fig]), className="num key"),
                html.Td(num(r["open"]), className="num"),
                html.Td(num(r["red"]), className="num"),
                html.Td(num(r["volume"]), className="num"),
                html.Td(pct(r["response"]), className="num"),
                html.Td(pct(r["resolution"]), className="num"),
                html.Td(pct(r["satisfaction"]), className="num"),
            ],
            **dataset(area=r["code"]),
        )
        for r in rows
    ]
    return _table(
        [
            "#",
            t(lang, "col_name"),
            t(lang, f"drill_fig_{f.fig}"),
            t(lang, "open"),
            t(lang, "red"),
            t(lang, "drill_fig_volume"),
            t(lang, "col_resp"),
            t(lang, "col_resol"),
            t(lang, "col_sat"),
        ],
        body,
    )


def trend(days: list[dict[str, Any]], lang: str) -> html.Div:
    """Appeals received (bars) and resolved (inner bars) per day, drawn in HTML and CSS: dates and numbers only,
    no citizen text, and no charting library for the browser to load (plotly.js is 4.8 MB)."""
    if not days:
        return _none(lang)
    top = max(max(d["created"], d["resolved"]) for d in days) or 1
    cols = [
        html.Div(
            [
                html.Span(className="b-created", style={"height": f"{d['created'] / top * 100:.1f}%"}),
                html.Span(className="b-resolved", style={"height": f"{d['resolved'] / top * 100:.1f}%"}),
            ],
            className="trend-day",
            title=f"{d['day']}: {t(lang, 'drill_created')} {num(d['created'])} · "
            f"{t(lang, 'drill_resolved')} {num(d['resolved'])}",
            **dataset(day=d["day"], created=d["created"], resolved=d["resolved"]),
        )
        for d in days
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.Span([html.Span(className="k-created"), t(lang, "drill_created")]),
                    html.Span([html.Span(className="k-resolved"), t(lang, "drill_resolved")]),
                    html.Span(f"max {num(top)}", className="trend-top"),
                ],
                className="trend-key",
            ),
            html.Div(cols, className="trend-bars"),
            html.Div([html.Span(days[0]["day"]), html.Span(days[-1]["day"])], className="trend-axis"),
        ],
        className="drill-trend",
    )


def categories(rows: list[dict[str, Any]], lang: str) -> html.Table | html.Div:
    """The most frequent categories with a bar each."""
    if not rows:
        return _none(lang)
    top = max(r["count"] for r in rows) or 1
    body = [
        html.Tr(
            [
                html.Td(" / ".join(c for c in (r["cat1"], r["cat2"], r["cat3"]) if c)),
                html.Td(num(r["count"]), className="num"),
                html.Td(html.Span(className="bar", style={"width": f"{max(2, int(r['count'] / top * 100))}%"})),
            ]
        )
        for r in rows
    ]
    return _table([t(lang, "col_cat"), t(lang, "drill_count"), ""], body, "cats")


def members_table(rows: list[dict[str, Any]], lang: str, zone: ZoneInfo) -> html.Table | html.Div:
    """Members: name, role, grid, state now, last heartbeat."""
    if not rows:
        return _none(lang)
    body = [
        html.Tr(
            [
                html.Td(r["name"]),
                html.Td(r["role"]),
                html.Td(r["grid"]),
                html.Td(t(lang, r["state"]), className=f"st-{r['state']}"),
                html.Td(when(r["seen_at"], zone)),
            ],
            **dataset(member=r["id"]),
        )
        for r in rows
    ]
    return _table(
        [
            t(lang, "drill_member"),
            t(lang, "drill_member_role"),
            t(lang, "drill_grid"),
            t(lang, "drill_state"),
            t(lang, "drill_seen"),
        ],
        body,
    )
