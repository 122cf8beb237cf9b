"""Builders of the wall's live figures and lists (rendered from a snapshot's plain values)."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard import ids
from dashboard.i18n import duration, t
from layouts.attrs import dataset
from layouts.casework import buttons as case_buttons

DASH = "—"


def figure(name: str, label: str, cls: str = "", big: bool = False, value: str = DASH) -> html.Div:
    """A big live number with its label; the number element carries data-metric=name."""
    return html.Div(
        [html.Div(value, id=ids.metric(name), className="v", **dataset(metric=name)), html.Div(label, className="l")],
        className=f"fig {cls} {'big' if big else ''}".strip(),
    )


def cases_figure(lang: str) -> html.A:
    """The live supervision cases of the view, small, beside the red list's heading (a link to the ledger)."""
    return html.A(
        [
            html.Span(DASH, id=ids.metric("cases-open"), className="v", **dataset(metric="cases-open")),
            " ",
            t(lang, "wall_cases_open"),
        ],
        href=f"/supervision?lang={lang}",
        className="h-fig c-amber",
    )


def live_list(name: str, className: str = "") -> html.Div:
    """An empty slot for a live list; the tick fills its children."""
    return html.Div(id=ids.metric(name), className=className, **dataset(metric=name))


def num(v: Any) -> str:
    """A figure as shown: thousands separated; None as a dash."""
    return DASH if v is None else f"{v:,}" if isinstance(v, int) else str(v)


def pct(v: float | None) -> str:
    """A share as a percentage."""
    return DASH if v is None else f"{v * 100:.0f}%"


def computing(lang: str) -> html.Div:
    """A live list's place while its figures are not computed yet (as the drill-down's panels say "loading")."""
    return html.Div(t(lang, "computing"), className="none loading")


def _none(lang: str) -> html.Div:
    return html.Div(t(lang, "none"), className="none")


def red_table(rows: list[dict[str, Any]], lang: str) -> html.Table | html.Div:
    """The red list: unit, place, category, how late; flagged when no one is on the grid."""
    if not rows:
        return _none(lang)
    # Widths in the table's own type (a column's em is the cells', not the smaller headings'): "how late" as wide as
    # its longest text in bold ("365 天 23 时", "12 h 59 min": never cut to "12 h 59 …"), the last column as its
    # button ("督办", "Supervise"); the category gets what the unit and the place leave.
    widths = (
        ("col_unit", "18.5%" if lang == "zh" else "15%"),  # "承办单位", "古林街道" whole at 1366×768
        ("col_place", "16%" if lang == "zh" else "17%"),
        ("col_cat", None),
        ("col_late", "6.6em" if lang == "zh" else "6.2em"),
        ("case_panel", "3.6em" if lang == "zh" else "5.6em"),
    )
    cols = html.Colgroup([html.Col(style={"width": w} if w else None) for _, w in widths])
    head = html.Tr([html.Th(t(lang, k)) for k, _ in widths])
    body = []
    for r in rows:
        place = [r["place"]] + ([html.Span(t(lang, "no_member"), className="flag")] if r["no_member"] else [])
        body.append(
            html.Tr(
                [
                    html.Td(r["unit_name"] or t(lang, "unassigned")),
                    html.Td(place),
                    html.Td(r["category"]),
                    html.Td(duration(lang, r["late_s"]), className="late"),
                    html.Td(case_buttons(r["id"], lang, ("open",))),
                ],
                id=ids.appeal_row(r["id"]),
                className="click",
                n_clicks=0,
                **dataset(appeal=r["id"]),
            )
        )
    return html.Table([cols, html.Thead(head), html.Tbody(body)], className="list")


def soon_table(rows: list[dict[str, Any]], lang: str) -> html.Table | html.Div:
    """Appeals turning red soon: unit, place, time left."""
    if not rows:
        return _none(lang)
    body = []
    for r in rows:
        place = [r["place"]] + ([html.Span(t(lang, "no_member"), className="flag")] if r["no_member"] else [])
        body.append(
            html.Tr(
                [
                    html.Td(r["unit_name"] or t(lang, "unassigned"), style={"width": "30%"}),
                    html.Td(place),
                    html.Td(duration(lang, r["red_in_s"]), className="left", style={"width": "6.6em"}),
                ],
                id=ids.appeal_row(r["id"]),
                className="click",
                n_clicks=0,
                **dataset(appeal=r["id"]),
            )
        )
    return html.Table(html.Tbody(body), className="list")


def hotspot_list(rows: list[dict[str, Any]], lang: str) -> html.Div:
    """Hotspot communities: place, count in the window and its usual count."""
    if not rows:
        return html.Div(t(lang, "no_hotspot"), className="none")
    return html.Div(
        [
            html.Div(
                [
                    html.Span(r["place"]),
                    html.Span(t(lang, "hotspot_row", n=r["count"], e=f"{r['expected']:.2g}"), className="n"),
                ],
                className="hot-item",
                **dataset(community=r["code"]),
            )
            for r in rows
        ],
        className="hot-list",
    )


def coverage_list(rows: list[dict[str, Any]], lang: str, n: int = 5) -> html.Table | html.Div:
    """The streets with the lowest share of grids covered now."""
    if not rows:
        return _none(lang)
    body = [
        html.Tr(
            [
                html.Td(r["name"]),
                html.Td(f"{r['covered']}/{r['grids']}", className="num"),
                html.Td(html.Span(className="bar", style={"width": f"{max(2, int(r['share'] * 120))}px"})),
                html.Td(pct(r["share"]), className="num"),
            ]
        )
        for r in rows[:n]
    ]
    return html.Table(html.Tbody(body), className="list cov-list")


def sos_alert(rows: list[dict[str, Any]], lang: str) -> list[Any]:
    """The SOS bar's text (the bar shows only when there are rows)."""
    if not rows:
        return []
    names = "、".join(f"{r['name']}（{r['place']}）" for r in rows[:4])
    more = f" +{len(rows) - 4}" if len(rows) > 4 else ""
    return [f"⚠ {t(lang, 'sos_alert')} {names}{more}"]


def _change(c: int | None) -> html.Span:
    if c is None or c == 0:
        return html.Span(DASH if c is None else "0")
    return html.Span(f"↑{c}" if c > 0 else f"↓{-c}", className="up" if c > 0 else "down")


def ranking_table(rows: list[dict[str, Any]], lang: str, n: int = 4, notes: list[str] | None = None) -> html.Div:
    """Best n and worst n ranked units, how many lack call-backs to be ranked, and notes (provisional, behind)."""
    ranked = [r for r in rows if r["rank"]]
    small = sum(1 for r in rows if r["small_sample"])
    pick = ranked if len(ranked) <= 2 * n else ranked[:n] + ranked[-n:]
    # Each figure's column is as wide as its widest value ("343", "100.0", "100%", "↓123") in the table's own type
    # (assets/wall.css, table.rank-list col.rk-*); the name takes what is left, ellipsised, whole in its title.
    cols = (
        ("col_rank", "rank"),
        ("col_name", "name"),
        ("col_score", "score"),
        ("col_resp", "rate"),
        ("col_resol", "rate"),
        ("col_sat", "rate"),
        ("col_change", "change"),
    )
    widths = html.Colgroup([html.Col(className=f"rk-{c}") for _, c in cols])
    head = html.Tr([html.Th(t(lang, k), className=f"rk-{c}") for k, c in cols])
    body = [
        html.Tr(
            [
                html.Td(r["rank"], className="num"),
                html.Td(r["name"], title=r["name"]),
                html.Td(f"{r['composite']:.1f}", className="num"),
                html.Td(pct(r["response"]), className="num"),
                html.Td(pct(r["resolution"]), className="num"),
                html.Td(pct(r["satisfaction"]), className="num"),
                html.Td(_change(r["change"]), className="num"),
            ],
            **dataset(unit=r["code"]),
        )
        for r in pick
    ]
    foot: list[Any] = [html.Div(f"{t(lang, 'small_sample')}: {small}", className="small")] if small else []
    foot += [html.Div(" · ".join(notes), className="small rank-note")] if notes else []
    return html.Div([html.Table([widths, html.Thead(head), html.Tbody(body)], className="list rank-list")] + foot)


def volume_top(rows: list[dict[str, Any]], lang: str) -> html.Div:
    """The top ten by volume; small samples marked, early warnings highlighted."""
    items = []
    for r in rows:
        mark = f" ({t(lang, 'small_sample')})" if r["small_sample"] else ""
        warn = f" ⚠{t(lang, 'early_warning')}" if r["early_warning"] else ""
        items.append(
            html.Span(
                f"{r['volume_rank']}. {r['name']} {r['volume']:,}{mark}{warn}",
                className="w" if r["early_warning"] else "",
                **dataset(unit=r["code"]),
            )
        )
    return html.Div(items or [t(lang, "none")], className="vol-top")
