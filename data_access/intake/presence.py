"""Grid members' presence: the latest heartbeat of each, whatever the arrival order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from dashboard.contract import Presence
from data_access.store.bulk import chunks, dialect_insert
from data_access.store.models import Presence as PresenceRow


def store_presence(session: Session, items: Sequence[Presence], now: datetime) -> None:
    """Keep each member's latest heartbeat by `at`, whatever the arrival order."""
    latest: dict[str, Presence] = {}
    for p in items:
        if p.member not in latest or p.at > latest[p.member].at:
            latest[p.member] = p
    if not latest:
        return
    table = PresenceRow.__table__
    rows = [
        {"member": p.member, "state": p.state, "at": p.at, "lon": p.lon, "lat": p.lat, "received_at": now}
        for p in latest.values()
    ]
    for part in chunks(rows, 1000):
        stmt = dialect_insert(session, table)
        update = {k: stmt.excluded[k] for k in ("state", "at", "lon", "lat", "received_at")}
        session.execute(
            stmt.on_conflict_do_update(index_elements=["member"], set_=update, where=table.c.at < stmt.excluded.at),
            list(part),
        )
