"""One appeal as its page and the read API show it: its state, light and events in order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.calendar import iso
from dashboard.settings import Settings
from data_access.store.appeal_rows import columns_of, light_of
from data_access.store.models import Appeal, AppealEvent


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
        "light": light_of(columns_of(a), now),
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
