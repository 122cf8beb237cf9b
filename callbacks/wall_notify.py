"""The wall's notification chip: the channels' state from the outbox, for any signed-in screen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State

from callbacks.auth import current_identity
from dashboard import ids
from dashboard.i18n import lang_of
from data_access.notify.reading import channel_report, failing_channels
from data_access.ops.services import Services
from layouts.notify_chip import chip_state


def register(app: Dash, svc: Services) -> None:
    """Add the chip's callback (it names channels only: no recipient, no area)."""

    @app.callback(
        Output(ids.NOTIFY_CHIP, "children"),
        Output(ids.NOTIFY_CHIP, "className"),
        Input(ids.NOTIFY_TICK, "n_intervals"),
        State(ids.LOCATION, "search"),
    )
    def notify_chip(_n: int, search: str | None) -> Any:
        current_identity()  # a signed-in user or display; the guard refused anyone else
        with svc.reads() as s:
            report = channel_report(s, svc.settings, datetime.now(UTC))
        lang = lang_of(_lang_arg(search), svc.settings.default_lang)
        return chip_state(lang, bool(report["channels"]), failing_channels(report))


def _lang_arg(search: str | None) -> str | None:
    values = parse_qs((search or "").lstrip("?")).get("lang")
    return values[0] if values else None
