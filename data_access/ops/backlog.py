"""What waits in the pipeline: the last event received, and entries not yet acknowledged."""

from __future__ import annotations

from datetime import datetime

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data_access.store.models import AppealEvent


def last_event_received(session: Session) -> datetime | None:
    """When the store last took in an appeal event."""
    return session.scalar(select(func.max(AppealEvent.received_at)))


def waiting_entries(client: redis.Redis, key: str, group: str) -> int | None:
    """Entries of a stream the group has not yet acknowledged (pending + not yet delivered)."""
    for g in client.xinfo_groups(key):
        name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
        if name != group:
            continue
        lag = g.get("lag")
        if lag is None:  # Redis < 7 keeps no lag: count what lies after the last delivered id
            last = g["last-delivered-id"]
            last = last.decode() if isinstance(last, bytes) else last
            lag = len(client.xrange(key, min=f"({last}", count=10001) or [])
        return int(g["pending"]) + int(lag)
    return None
