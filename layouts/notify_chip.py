"""The wall's small status chip of the notification channels: off, OK, or which are failing."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.i18n import t
from layouts.attrs import dataset

#: How often the chip is refreshed, milliseconds (channel state changes slowly; the wall's tick stays lean).
CHIP_REFRESH_MS = 15000


def chip_state(lang: str, channels_on: bool, failing: list[str]) -> tuple[str, str]:
    """(text, className) of the chip."""
    if not channels_on:
        return t(lang, "notify_chip_off"), "notify-chip off"
    if failing:
        return t(lang, "notify_chip_failing", channels=", ".join(failing)), "notify-chip failing"
    return t(lang, "notify_chip_ok"), "notify-chip ok"


def chip(lang: str) -> html.Div:
    """The chip (filled by its callback) and its timer."""
    return html.Div(
        [
            dcc.Interval(id=ids.NOTIFY_TICK, interval=CHIP_REFRESH_MS, n_intervals=0),
            html.Span("…", id=ids.NOTIFY_CHIP, className="notify-chip", **dataset(metric="notify")),
        ],
        className="notify-chip-box",
    )
