"""The /events page (events meeting 三天三单) for the shell's router, cut to the signed-in scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from callbacks.api_events import MAX_DAYS
from callbacks.auth import current_identity
from dashboard.i18n import lang_of, t
from data_access.ops.services import Services
from data_access.same_event.reads import events
from geo.city_index import index_of
from layouts import events as L

PATH = "/events"


def page_for(svc: Services, pathname: str | None, search: str | None) -> Any:
    """The events page for /events (None for other paths): ?days=N (default 7), ?lang=en."""
    if pathname != PATH:
        return None
    q = parse_qs((search or "").lstrip("?"))
    lang = lang_of((q.get("lang") or [""])[0], svc.settings.default_lang)
    other = "en" if lang == "zh" else "zh"
    days_arg = (q.get("days") or ["7"])[0]
    rule = (svc.settings.burst_appeals, svc.settings.burst_days)
    if not days_arg.isdigit() or not 1 <= int(days_arg) <= MAX_DAYS:
        return L.events_page([], lang, 7, rule, t(lang, "grp_bad_days", max=MAX_DAYS), other)
    days = int(days_arg)
    scope = current_identity().scope
    with svc.reads() as s:
        rows = events(s, scope, svc.settings, datetime.now(UTC) - timedelta(days=days), burst_only=True)
    refs = index_of(svc.city)
    places = {
        e["id"]: " · ".join(
            x for x in (refs.district_name.get(e["district"] or ""), refs.street_name.get(e["street"] or "")) if x
        )
        for e in rows
    }
    return L.events_page(L.event_rows(rows, places, svc.settings.zone), lang, days, rule, None, other)
