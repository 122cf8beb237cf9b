"""Supervision buttons on appeals (督办, 催办), their confirmation and result, and an appeal's cases (pure builders)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html

from dashboard import ids_cases
from dashboard.i18n import t
from layouts.attrs import dataset

DASH = "—"
#: Screen readers read the result line out when it changes (typed Any: see layouts/attrs.py).
_LIVE: dict[str, Any] = {"aria-live": "polite"}


def when(v: datetime | None, zone: ZoneInfo) -> str:
    """A time in the city's zone, to the minute."""
    return DASH if v is None else v.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def shell_parts() -> list[Any]:
    """The confirmation dialog, what it confirms, the result line and the count of actions done (on every page)."""
    return [
        dcc.ConfirmDialog(id=ids_cases.CONFIRM),
        dcc.Store(id=ids_cases.PENDING),
        dcc.Store(id=ids_cases.DONE, data=0),
        html.Div(id=ids_cases.RESULT, className="case-result", role="status", **_LIVE),
    ]


def buttons(appeal: str, lang: str, actions: tuple[str, ...] = ("open", "chase")) -> html.Span:
    """The 督办 and 催办 buttons of one appeal (the server decides, on click, whether the user may)."""
    return html.Span(
        [
            html.Button(
                t(lang, f"case_{a}"),
                id=ids_cases.button(a, appeal),
                n_clicks=0,
                className=f"case-btn case-{a}",
                **dataset(**{"case-action": a, "appeal": appeal}),
            )
            for a in actions
        ],
        className="case-btns",
    )


def result(text: str, ok: bool) -> html.Div:
    """The result of an action, as a clear line."""
    return html.Div(
        text, className=f"case-msg {'ok' if ok else 'refused'}", **dataset(**{"case-result": "ok" if ok else "refused"})
    )


def appeal_cases(rows: list[dict[str, Any]], appeal: str, lang: str, zone: ZoneInfo) -> list[Any]:
    """The appeal page's supervision panel: its buttons and its cases (level, state, due, who opened)."""
    parts: list[Any] = [buttons(appeal, lang)]
    if not rows:
        parts.append(html.Div(t(lang, "case_none_yet"), className="none", **dataset(field="cases")))
        return parts
    head = html.Tr(
        [
            html.Th(t(lang, k))
            for k in ("ledger_case", "ledger_level", "ledger_state", "ledger_due_at", "ledger_opened_by")
        ]
    )
    body = [
        html.Tr(
            [
                html.Td(str(r["id"])),
                html.Td(t(lang, f"case_level_{r['level']}")),
                html.Td(
                    t(lang, f"case_state_{r['state']}") + (f" · {t(lang, 'ledger_overdue')}" if r["overdue"] else "")
                ),
                html.Td(when(r["due_at"], zone)),
                html.Td(r["opened_by"] if r["rule"] is None else f"{t(lang, 'ledger_rule')}: {r['rule']}"),
            ],
            **dataset(case=str(r["id"]), state=r["state"]),
        )
        for r in rows
    ]
    parts.append(
        html.Table([html.Thead(head), html.Tbody(body)], className="list drill-table", **dataset(field="cases"))
    )
    return parts
