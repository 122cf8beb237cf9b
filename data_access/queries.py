"""Reads behind the read API: one appeal with its events, and the health of the pipeline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.appeal import light_from_times
from dashboard.settings import Settings
from data_access.models import Appeal, AppealEvent


def iso(t: datetime | None, settings: Settings) -> str | None:
    """A time as RFC 3339 in the city's time zone."""
    return None if t is None else t.astimezone(settings.zone).isoformat()


def appeal_detail(session: Session, appeal_id: str, now: datetime, settings: Settings) -> dict[str, Any] | None:
    """An appeal's state, light and events in order; None if unknown (or not yet created)."""
    a = session.get(Appeal, appeal_id)
    if a is None:
        return None
    evs = session.execute(
        select(AppealEvent.id, AppealEvent.type, AppealEvent.at, AppealEvent.payload)
        .where(AppealEvent.appeal == appeal_id)
        .order_by(AppealEvent.at, AppealEvent.id)
    ).all()
    events = []
    for eid, type_, at, payload in evs:
        body = json.loads(payload)
        extra = {k: v for k, v in body.items() if k not in ("v", "id", "type", "appeal", "at")}
        events.append({"id": eid, "type": type_, "at": iso(at, settings), **extra})
    return {
        "id": a.id,
        "status": a.status,
        "open": a.is_open,
        "light": light_from_times(a.is_open, a.yellow_from, a.red_from, a.due_at, a.resolved_at or a.closed_at, now),
        "clock_start": iso(a.clock_start, settings),
        "due_at": iso(a.due_at, settings),
        "created_at": iso(a.created_at, settings),
        "priority": a.priority,
        "channel": a.channel,
        "kind": a.kind,
        "category": [c for c in (a.cat1, a.cat2, a.cat3) if c],
        "unit": a.unit,
        "member": a.member,
        "grid": a.grid,
        "community": a.community,
        "street": a.street,
        "district": a.district,
        "location": None if a.lon is None else {"lon": a.lon, "lat": a.lat},
        "address": a.address,
        "summary": a.summary,
        "review": None
        if not a.reviewed
        else {"responded": a.responded, "resolved": a.resolved_flag, "satisfaction": a.satisfaction},
        "events": events,
    }


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
            lag = len(client.xrange(key, min=f"({last}", count=10001))
        return int(g["pending"]) + int(lag)
    return None
