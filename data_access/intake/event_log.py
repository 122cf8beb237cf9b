"""The event log: each valid event stored once, with where it happened, numbered in commit order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.contract import Event
from dashboard.partitions import partition_key
from data_access.store.bulk import bulk_insert
from data_access.store.locks import lock_key
from data_access.store.models import AppealEvent


@dataclass(frozen=True)
class Place:
    """Where an event happened, resolved against the city model at ingest."""

    grid: str | None
    community: str | None
    street: str | None
    district: str | None


@dataclass(frozen=True)
class Accepted:
    """A valid event ready to store: the parsed event, its raw text, entry id and place."""

    event: Event
    raw: str
    source: str
    place: Place | None = None


#: PostgreSQL advisory lock keys: log writers commit one at a time (so `seq` order is commit order and the
#: projectors never pass an event committed later with a smaller number); one projector folds each partition at
#: a time (PROJECTOR_LOCK + the partition, data_access.projection.fold). Each store takes them through `lock_key`,
#: so that stores in other schemas of the database do not share them.
LOG_LOCK = 0x6170_6C6F67  # "aplog"


def store_events(session: Session, items: Sequence[Accepted], now: datetime) -> None:
    """Store events in the log, each once (an id already stored is ignored); the projectors fold them behind."""
    if not items:
        return
    rows = {}
    for it in items:
        p = it.place
        rows[it.event.id] = {
            "id": it.event.id,
            "appeal": it.event.appeal,
            "partition_key": partition_key(it.event.appeal),
            "type": it.event.type,
            "at": it.event.at,
            "payload": it.raw,
            "source": it.source,
            "received_at": now,
            "grid": p.grid if p else None,
            "community": p.community if p else None,
            "street": p.street if p else None,
            "district": p.district if p else None,
        }
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (lock_key(conn, LOG_LOCK),))
    bulk_insert(session, AppealEvent.__table__, list(rows.values()), "ON CONFLICT (id) DO NOTHING")


def last_received(session: Session) -> datetime | None:
    """When the store last took in an appeal event: the time the last event logged was received (the log's key
    `seq` numbers events in commit order; no index on `received_at` is kept for this alone)."""
    return session.scalar(select(AppealEvent.received_at).order_by(AppealEvent.seq.desc()).limit(1))
