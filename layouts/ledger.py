"""The supervision ledger page (督办台账): counts, filters, cases per unit, the cases grid and actions (pure)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import dash_ag_grid as dag
from dash import dcc, html

from dashboard import ids_cases
from dashboard.i18n import t
from dashboard.supervision import CASE_LEVELS, STATES, LedgerFilters
from layouts.attrs import dataset
from layouts.casework import when
from layouts.drill_grids import look


def header(lang: str, user: str, home: str, f: LedgerFilters) -> html.Div:
    """Title, a way home, who is signed in, language switch, sign out."""
    other = "en" if lang == "zh" else "zh"
    return html.Div(
        [
            html.Div(
                [dcc.Link("↩", href=home, refresh=False, className="drill-home"), html.H1(t(lang, "ledger_title"))],
                className="ledger-title",
            ),
            html.Div(
                [
                    html.Span(f"{t(lang, 'signed_in_as')}: {user}", className="drill-user"),
                    dcc.Link(
                        t(lang, "lang_switch"),
                        href="/supervision" + f.query(lang=other),
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


def figures(c: dict[str, int], lang: str) -> html.Div:
    """Open, overdue, answered and closed cases: big numbers."""
    items = [
        ("open", "ledger_open", ""),
        ("overdue", "ledger_overdue", "red"),
        ("answered", "ledger_answered", ""),
        ("closed", "ledger_closed", ""),
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.Div(f"{c[k]:,}", className="v", **dataset(metric=f"cases-{k}")),
                    html.Div(t(lang, label), className="l"),
                ],
                className=f"fig {cls}".strip(),
            )
            for k, label, cls in items
        ],
        className="ledger-figs",
    )


def filter_bar(f: LedgerFilters, units: list[tuple[str, str]]) -> html.Div:
    """State, level, unit and opening dates; each control holds its URL parameter."""
    lang = f.lang

    def drop(name: str, options: list[dict[str, str]], value: str | None) -> html.Label:
        return html.Label(
            [
                t(lang, f"ledger_{name}"),
                dcc.Dropdown(
                    id=ids_cases.ledger_filter(name),
                    options=options,
                    value=value,
                    placeholder=t(lang, "ledger_all"),
                    clearable=True,
                ),
            ],
            className="ledger-filter",
        )

    def day(name: str, value: Any) -> html.Label:
        return html.Label(
            [
                t(lang, f"ledger_{'from' if name == 'since' else 'to'}"),
                dcc.DatePickerSingle(
                    id=ids_cases.ledger_filter(name),
                    date=value.isoformat() if value else None,
                    display_format="YYYY-MM-DD",
                    clearable=True,
                    placeholder="YYYY-MM-DD",
                ),
            ],
            className="ledger-filter",
        )

    return html.Div(
        [
            drop("state", [{"label": t(lang, f"case_state_{s}"), "value": s} for s in STATES], f.state),
            drop("level", [{"label": t(lang, f"case_level_{x}"), "value": x} for x in CASE_LEVELS], f.level),
            drop("unit", [{"label": name, "value": code} for code, name in units], f.unit),
            day("since", f.since),
            day("until", f.until),
        ],
        className="drill-filters ledger-filters",
    )


def per_unit(rows: list[dict[str, Any]], lang: str) -> html.Table | html.Div:
    """Cases per handling unit: live, overdue, all."""
    if not rows:
        return html.Div(t(lang, "ledger_none"), className="none")
    head = html.Tr(
        [
            html.Th(t(lang, "ledger_unit")),
            html.Th(t(lang, "ledger_open")),
            html.Th(t(lang, "ledger_overdue")),
            html.Th(t(lang, "ledger_all")),
        ]
    )
    body = [
        html.Tr(
            [
                html.Td(r["unit_name"]),
                html.Td(r["live"], className="num"),
                html.Td(r["overdue"], className="num late" if r["overdue"] else "num"),
                html.Td(r["total"], className="num"),
            ],
            **dataset(unit=r["unit"]),
        )
        for r in rows
    ]
    return html.Table([html.Thead(head), html.Tbody(body)], className="list drill-table")


def grid_rows(rows: list[dict[str, Any]], lang: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The cases as the grid's rows (plain text: the grid renders cell values as text)."""
    return [
        {
            "id": r["id"],
            "appeal": r["appeal"],
            "level": t(lang, f"case_level_{r['level']}"),
            "state": t(lang, f"case_state_{r['state']}") + (f" · {t(lang, 'ledger_overdue')}" if r["overdue"] else ""),
            "overdue": r["overdue"],
            "unit": r["unit_name"],
            "opened_at": when(r["opened_at"], zone),
            "due_at": when(r["due_at"], zone),
            "by": r["opened_by"] if r["rule"] is None else f"{t(lang, 'ledger_rule')}: {r['rule']}",
            "reason": r["reason"],
        }
        for r in rows
    ]


def grid(rows: list[dict[str, Any]], lang: str) -> dag.AgGrid:
    """The cases, one selectable row each (virtualised: thousands of rows stay light in the browser)."""
    cols = [
        ("id", "ledger_case", 90),
        ("appeal", "drill_id", 170),
        ("level", "ledger_level", 90),
        ("state", "ledger_state", 150),
        ("unit", "ledger_unit", 180),
        ("opened_at", "ledger_opened_at", 175),
        ("due_at", "ledger_due_at", 175),
        ("by", "ledger_opened_by", 130),
        ("reason", "drill_detail", 260),
    ]
    return dag.AgGrid(
        id=ids_cases.GRID,
        rowData=rows,
        columnDefs=[{"field": f, "headerName": t(lang, k), "width": w} for f, k, w in cols],
        defaultColDef={"sortable": True, "resizable": True, "filter": True},
        dashGridOptions={
            **look(lang),
            "rowSelection": {"mode": "singleRow", "enableClickSelection": True},
        },
        getRowId="params.data.id",
        getRowStyle={"styleConditions": [{"condition": "params.data.overdue", "style": {"color": "#ff6b6b"}}]},
        className="ledger-grid",
        style={"height": "420px", "width": "100%"},
    )


def actions(lang: str) -> html.Div:
    """The note box and the answer, close and note buttons, acting on the selected case."""
    return html.Div(
        [
            html.Div(t(lang, "ledger_pick"), className="dim"),
            dcc.Textarea(
                id=ids_cases.NOTE, placeholder=t(lang, "ledger_note_ph"), maxLength=500, className="ledger-note"
            ),
            html.Div(
                [
                    html.Button(
                        t(lang, f"case_{a}"),
                        id=ids_cases.act(a),
                        n_clicks=0,
                        className=f"case-btn case-{a}",
                        **dataset(**{"case-action": a}),
                    )
                    for a in ("answer", "close", "note")
                ],
                className="case-btns",
            ),
            html.Div(id=ids_cases.HISTORY, className="ledger-history"),
        ],
        className="ledger-actions",
    )


def history(rows: list[dict[str, Any]], lang: str, zone: ZoneInfo) -> html.Table | html.Div:
    """What was done to the selected case, in order (notes as text)."""
    if not rows:
        return html.Div(t(lang, "ledger_pick"), className="none")
    body = [
        html.Tr(
            [
                html.Td(when(r["at"], zone)),
                html.Td(t(lang, f"case_{r['action']}")),
                html.Td(r["by"]),
                html.Td(r["note"] or "—"),
            ]
        )
        for r in rows
    ]
    head = html.Tr([html.Th(t(lang, k)) for k in ("drill_when", "drill_event", "ledger_opened_by", "drill_detail")])
    return html.Table([html.Thead(head), html.Tbody(body)], className="list drill-table", **dataset(field="history"))


def exports(f: LedgerFilters) -> html.Span:
    """CSV and XLSX of the cases under the filters."""
    q = f.query()
    return html.Span(
        [
            t(f.lang, "drill_export"),
            " ",
            html.A("CSV", href=f"/supervision/export.csv{q}", className="exp", **dataset(export="supervision.csv")),
            " · ",
            html.A("XLSX", href=f"/supervision/export.xlsx{q}", className="exp", **dataset(export="supervision.xlsx")),
        ],
        className="drill-exports",
    )


def section(title: str, body: Any, extra: Any = None, cls: str = "") -> html.Section:
    """A titled panel."""
    head = [html.H2(title)] + ([extra] if extra is not None else [])
    return html.Section([html.Div(head, className="drill-panel-head"), body], className=f"drill-panel {cls}".strip())


def page(
    head: html.Div,
    f: LedgerFilters,
    counts: dict[str, int],
    units: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    zone: ZoneInfo,
    error: str | None = None,
) -> html.Div:
    """The whole ledger page."""
    lang = f.lang
    parts: list[Any] = [head]
    if error:
        parts.append(html.Div(error, className="drill-error"))
    parts += [
        figures(counts, lang),
        filter_bar(f, [(u["unit"], u["unit_name"]) for u in units if u["unit"]]),
        html.Div(
            [
                section(
                    t(lang, "ledger_cases", n=len(rows)),
                    grid(grid_rows(rows, lang, zone), lang),
                    exports(f),
                    cls="ledger-main",
                ),
                html.Div(
                    [
                        section(t(lang, "ledger_actions"), actions(lang)),
                        section(t(lang, "ledger_by_unit"), per_unit(units, lang)),
                    ],
                    className="ledger-side",
                ),
            ],
            className="ledger-row",
        ),
    ]
    return html.Div(parts, id=ids_cases.LEDGER, className="drill-screen ledger-screen", lang=lang)
