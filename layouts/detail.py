"""The map's detail drawer: a community's open appeals, and one appeal's timeline (citizen text as text)."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard import ids
from dashboard.i18n import duration, t
from layouts.attrs import dataset


def community(name: str, rows: list[dict[str, Any]], lang: str) -> list[Any]:
    """A community's open appeals (screen rows): light, category, unit, due, the citizen's words (clickable)."""
    body = []
    for r in rows:
        left = -r["late_s"]
        when = duration(lang, -left) if left < 0 else duration(lang, left)
        body.append(
            html.Tr(
                [
                    html.Td("●", style={"color": f"var(--{r['light']})", "width": "6%"}),
                    html.Td(r["category"], style={"width": "20%"}),
                    html.Td(r.get("unit_name") or t(lang, "unassigned"), style={"width": "22%"}),
                    html.Td(when, className="late" if left < 0 else "left", style={"width": "18%"}),
                    html.Td(r["summary"] or ""),  # citizen text: Dash renders it as text, never as HTML
                ],
                id=ids.appeal_row(r["id"]),
                className="click",
                n_clicks=0,
                **dataset(appeal=r["id"]),
            )
        )
    return [
        html.H3(t(lang, "community_open", name=name, n=len(rows))),
        html.Table(html.Tbody(body), className="list") if body else html.Div(t(lang, "none"), className="none"),
    ]


def timeline(detail: dict[str, Any], names: dict[str, str], lang: str) -> list[Any]:
    """One appeal: its words and its events in order."""
    items = []
    for e in detail["events"]:
        extra = [names.get(e.get("unit") or "", e.get("unit") or "")]
        for k in ("reason", "note", "satisfaction"):
            if e.get(k):
                extra.append(str(e[k]))
        items.append(
            html.Li(
                [
                    html.Span((e["at"] or "")[5:16].replace("T", " "), className="when"),
                    html.B(t(lang, f"ev_{e['type']}")),
                    " ",
                    " · ".join(x for x in extra if x),
                ]
            )
        )
    return [
        html.H3(f"{detail['id']} · {' / '.join(detail['category'])}"),
        html.Div(t(lang, "summary"), className="small"),
        html.Div(detail.get("summary") or "", className="summary-text", **dataset(field="summary")),
        html.H3(t(lang, "timeline")),
        html.Ul(items, className="timeline"),
    ]
