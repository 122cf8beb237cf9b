"""Times and periods in the city's time zone."""

from __future__ import annotations

from datetime import datetime

from dashboard.settings import Settings


def iso(t: datetime | None, settings: Settings) -> str | None:
    """A time as RFC 3339 in the city's time zone."""
    return None if t is None else t.astimezone(settings.zone).isoformat()
