"""The reports page: the archive within the user's scope, a form to make a report, and one report's HTML view.
Pure builders: every value comes in; Dash escapes every text (citizen text stays text)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from dashboard import ids_reports as ids
from dashboard.i18n import t
from dashboard.reports import KINDS, Figure, Report, Section, Table, cell_text, fact_text

NUMERIC = ("int", "pct", "num", "signed")
BIG = {"fontSize": "18px"}


def page(lang: str, scopes: list[tuple[str, str]], archive_rows: Any, status: Any = "") -> html.Div:
    """The page: title, the form (kinds, a period, the scopes the user may ask for) and the archive."""
    return html.Div(
        [
            html.H1(t(lang, "rp_page_title")),
            html.H2(t(lang, "rp_make")),
            html.Div(
                [
                    html.Label(
                        [
                            t(lang, "rp_kind"),
                            dcc.Dropdown(
                                id=ids.KIND,
                                options=[{"label": t(lang, f"rp_kind_{k}"), "value": k} for k in KINDS],
                                value="daily",
                                clearable=False,
                                style={"width": "220px"},
                            ),
                        ]
                    ),
                    html.Label(
                        [
                            t(lang, "rp_period"),
                            dcc.Input(
                                id=ids.PERIOD,
                                type="text",
                                placeholder=t(lang, "rp_period_hint"),
                                style={"width": "260px", **BIG},
                            ),
                        ]
                    ),
                    html.Label(
                        [
                            t(lang, "rp_scope"),
                            dcc.Dropdown(
                                id=ids.SCOPE,
                                options=[{"label": n, "value": k} for k, n in scopes],
                                value=scopes[0][0] if scopes else None,
                                clearable=False,
                                style={"width": "320px"},
                            ),
                        ]
                    ),
                    html.Button(t(lang, "rp_make_button"), id=ids.MAKE, n_clicks=0, style=BIG),
                ],
                style={"display": "flex", "gap": "16px", "alignItems": "end", "flexWrap": "wrap", **BIG},
            ),
            html.Div(status, id=ids.STATUS, role="status", style={"margin": "12px 0", **BIG}),
            dcc.Store(id=ids.ASKED),
            dcc.Interval(id=ids.WATCH, interval=1000, disabled=True),
            html.H2(t(lang, "rp_archive")),
            html.Div(archive_rows, id=ids.ARCHIVE),
        ],
        id=ids.PAGE,
        className="reports-page",
        style={"padding": "24px", "fontSize": "17px"},
    )


def archive_table(lang: str, rows: list[dict[str, Any]], names: dict[str, str]) -> Any:
    """The archive: one line per report, with its state and its files."""
    if not rows:
        return html.P(t(lang, "rp_empty_archive"))
    head = html.Tr(
        [
            html.Th(t(lang, k))
            for k in ("rp_kind", "rp_period", "rp_scope", "rp_state", "rp_made_at", "rp_attempts", "rp_files")
        ]
    )
    body = []
    for r in rows:
        files: list[Any] = []
        if r["state"] == "made":
            q = f"?lang={lang}"
            files = [
                dcc.Link(t(lang, "rp_view"), href=f"/reports{q}&id={r['id']}"),
                " · ",
                html.A("PDF", href=f"/reports/file/{r['id']}.pdf", target="_blank"),
                " · ",
                html.A("XLSX", href=f"/reports/file/{r['id']}.xlsx"),
            ]
        state = t(lang, f"rp_state_{r['state']}")
        if r["state"] == "failed" and r.get("reason"):
            state = f"{state}: {r['reason'][:120]}"
        body.append(
            html.Tr(
                [
                    html.Td(t(lang, f"rp_kind_{r['kind']}")),
                    html.Td(r["period"]),
                    html.Td(names.get(r["scope"], r["scope"])),
                    html.Td(state),
                    html.Td(r["made_at"] or ""),
                    html.Td(r["attempts"]),
                    html.Td(files),
                ]
            )
        )
    return html.Table(
        [html.Thead(head), html.Tbody(body)],
        className="reports-archive",
        style={"borderCollapse": "collapse", "width": "100%"},
    )


def _table(tb: Table, lang: str) -> list[Any]:
    rows, left_out = tb.printed()
    out: list[Any] = [html.H3(t(lang, tb.name))]
    if not rows:
        out.append(html.P(t(lang, "rp_none")))
    else:
        head = html.Tr([html.Th(t(lang, c.label)) for c in tb.columns])
        body = [
            html.Tr(
                [
                    html.Td(cell_text(r.get(c.key), c, lang), style={"textAlign": "right"} if c.fmt in NUMERIC else {})
                    for c in tb.columns
                ]
            )
            for r in rows
        ]
        out.append(html.Table([html.Thead(head), html.Tbody(body)], className="report-table"))
    if left_out:
        out.append(html.P(t(lang, "rp_quiet", n=left_out)))
    return out


def _figure(f: Figure, lang: str) -> dcc.Graph:
    fig = go.Figure()
    for name, values in f.series:
        label = t(lang, name) if name.startswith("rp_") else name
        if f.kind == "line":
            fig.add_scatter(x=list(f.labels), y=list(values), name=label, mode="lines+markers")
        elif f.kind == "barh":
            fig.add_bar(y=list(f.labels), x=list(values), name=label, orientation="h")
        else:
            fig.add_bar(x=list(f.labels), y=list(values), name=label)
    height = max(320, 22 * len(f.labels) + 80) if f.kind == "barh" else 340
    fig.update_layout(title=t(lang, f.name), height=height, margin={"l": 160, "r": 20, "t": 40, "b": 40})
    if f.kind == "barh":
        fig.update_yaxes(autorange="reversed")
    return dcc.Graph(figure=fig, config={"displayModeBar": False, "responsive": True})


def _section(s: Section, lang: str) -> html.Section:
    parts: list[Any] = [html.H2(t(lang, s.name))]
    if s.unavailable:
        parts.append(
            html.P(
                t(lang, s.unavailable),
                className="report-unavailable",
                style={"color": "#a05000", "border": "1px dashed #a05000", "padding": "8px"},
            )
        )
    if s.facts:
        parts.append(
            html.P(
                [
                    html.Span([f"{t(lang, k)}: ", html.B(fact_text(v, lang))], style={"marginRight": "24px"})
                    for k, v in s.facts
                ]
            )
        )
    parts.extend(_figure(f, lang) for f in s.figures)
    for tb in s.tables:
        parts.extend(_table(tb, lang))
    return html.Section(parts)


def report_view(r: Report, lang: str, rid: int) -> html.Div:
    """One report on the site: the same sections as its PDF, with links to its files."""
    title = t(lang, "rp_title", kind=t(lang, f"rp_kind_{r.kind}"), scope=r.scope_name, period=r.period)
    meta = t(
        lang,
        "rp_meta",
        scope=r.scope_name,
        cutoff=r.cutoff.strftime("%Y-%m-%d %H:%M"),
        made=r.made_at.strftime("%Y-%m-%d %H:%M"),
    )
    return html.Div(
        [
            dcc.Link(f"← {t(lang, 'rp_archive')}", href=f"/reports?lang={lang}"),
            html.H1(title),
            html.P(
                [
                    meta,
                    " · ",
                    html.A("PDF", href=f"/reports/file/{rid}.pdf"),
                    " · ",
                    html.A("XLSX", href=f"/reports/file/{rid}.xlsx"),
                ]
            ),
            *[_section(s, lang) for s in r.sections],
        ],
        id=ids.PAGE,
        className="report-view",
        style={"padding": "24px", "fontSize": "17px", "maxWidth": "1400px"},
    )


def message(text: str, tone: str = "info") -> html.Div:
    """A status line of the page (progress, done, refused)."""
    color = {"info": "#1a4f8b", "ok": "#216e39", "bad": "#a01010"}[tone]
    return html.Div(text, style={"color": color, "fontWeight": "bold"})
