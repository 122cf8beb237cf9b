"""One appeal as its page and the read API show it: its state, light and events in order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.calendar import iso
from dashboard.settings import Settings
from data_access.projection.failures import failure_of
from data_access.store.appeal_rows import columns_of, light_of
from data_access.store.models import Appeal, AppealEvent


def appeal_detail(session: Session, appeal_id: str, now: datetime, settings: Settings) -> dict[str, Any] | None:
    """An appeal's state, light and events in order; None if unknown (or not yet created)."""
    a = session.get(Appeal, appeal_id)
    if a is None:
        return None
    events = _events(session, appeal_id, settings)
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


def _events(session: Session, appeal_id: str, settings: Settings) -> list[dict[str, Any]]:
    """An appeal's logged events in order, each with its own fields."""
    evs = session.execute(
        select(AppealEvent.id, AppealEvent.type, AppealEvent.at, AppealEvent.payload)
        .where(AppealEvent.appeal == appeal_id)
        .order_by(AppealEvent.at, AppealEvent.id)
    ).all()
    events = []
    for eid, type_, at, payload in evs:
        try:
            body = json.loads(payload)
        except ValueError:  # stored by an older ingest, unreadable: the projection has left its appeal out
            body = None
        if not isinstance(body, dict):
            body = {}
        extra = {k: v for k, v in body.items() if k not in ("v", "id", "type", "appeal", "at")}
        events.append({"id": eid, "type": type_, "at": iso(at, settings), **extra})
    return events


def with_projection_failure(
    session: Session, appeal_id: str, body: dict[str, Any] | None, settings: Settings
) -> dict[str, Any] | None:
    """The read API's body of an appeal with `projection_failure`: why the projection could not fold it (None:
    it folds, and the body is as it was). An appeal left out before it had a row gets a body of its own: the
    place its events were logged with, its events and the failure (else None: unknown)."""
    failure = failure_of(session, appeal_id)
    if failure is None:
        return None if body is None else {**body, "projection_failure": None}
    why = {
        "reason": failure.reason,
        "event": failure.event,
        "first_failed_at": iso(failure.first_failed_at, settings),
        "last_failed_at": iso(failure.last_failed_at, settings),
        "attempts": failure.attempts,
    }
    if body is not None:
        return {**body, "projection_failure": why}
    place = session.execute(
        select(AppealEvent.grid, AppealEvent.community, AppealEvent.street, AppealEvent.district)
        .where(AppealEvent.appeal == appeal_id, AppealEvent.type == "created")
        .order_by(AppealEvent.seq)
        .limit(1)
    ).first()
    grid, community, street, district = place or (None, None, None, None)
    return {
        "id": appeal_id,
        "status": None,
        "grid": grid,
        "community": community,
        "street": street,
        "district": district,
        "events": _events(session, appeal_id, settings),
        "projection_failure": why,
    }
