"""Writing to the store: events exactly once, appeals as the fold of their events, latest presence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.appeal import advance, draft_from_json, draft_to_json, finish, follows, start_draft, thresholds
from dashboard.contract import Event, Presence, parse_event
from dashboard.settings import Settings
from data_access.models import Appeal, AppealEvent, UTCDateTime
from data_access.models import Presence as PresenceRow

#: Bound parameters per statement chunk (SQLite allows 32,766; PostgreSQL 65,535).
CHUNK = 900


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


def _insert(session: Session, table: Table):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _chunks(seq: Sequence[object], n: int = CHUNK) -> Iterable[Sequence[object]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def store_events(session: Session, items: Sequence[Accepted], settings: Settings, now: datetime) -> int:
    """Store events (duplicates ignored) and bring every appeal they touch up to date; return appeals written."""
    if not items:
        return 0
    rows = {}
    for it in items:
        p = it.place
        rows[it.event.id] = {
            "id": it.event.id,
            "appeal": it.event.appeal,
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
    lock_appeals(session, sorted({it.event.appeal for it in items}))
    ids = list(rows)
    seen: set[str] = set()
    c = AppealEvent.__table__.c
    for part in _chunks(ids):
        seen.update(session.scalars(select(c.id).where(c.id.in_(part))))
    new_ids = set(ids) - seen
    bulk_insert(session, AppealEvent.__table__, [rows[i] for i in ids if i in new_ids], "ON CONFLICT (id) DO NOTHING")
    fresh: dict[str, list[Accepted]] = {}
    for it in items:
        if it.event.id in new_ids:
            new_ids.discard(it.event.id)  # a duplicate within the batch counts once
            fresh.setdefault(it.event.appeal, []).append(it)
    return _update_appeals(session, fresh, settings)


def lock_appeals(session: Session, appeal_ids: Sequence[str]) -> None:
    """Serialise writers of the same appeal, so two workers never fold a history each half-sees.

    SQLite takes its one write lock now (a no-op write), before the batch reads anything;
    PostgreSQL takes transaction-scoped advisory locks in a fixed order (no deadlock)."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(text("UPDATE meta SET value = value WHERE key = 'write-lock'"))
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(x, 0) AS k "
            "FROM unnest(CAST(:ids AS text[])) AS x ORDER BY k) AS s"
        ),
        {"ids": list(appeal_ids)},
    )


def _update_appeals(session: Session, fresh: dict[str, list[Accepted]], settings: Settings) -> int:
    """Advance each appeal's stored draft with its new events, or refold it when they came out of order."""
    c = Appeal.__table__.c
    known: dict[str, tuple[str | None, Place]] = {}
    for part in _chunks(list(fresh)):
        q = select(c.id, c.fold_state, c.grid, c.community, c.street, c.district).where(c.id.in_(part))
        for aid, state, grid, comm, street, district in session.execute(q):
            known[aid] = (state, Place(grid, comm, street, district))
    out, full = [], []
    for aid, new in fresh.items():
        events = [it.event for it in new]
        if aid not in known:
            if any(e.type == "created" for e in events):
                full.append(aid)
            continue  # no `created` yet: its events wait in the log
        state, place = known[aid]
        draft = draft_from_json(state) if state else None
        if draft is None or not follows(draft, events):
            full.append(aid)
            continue
        out.append(appeal_row(advance(draft, events), place, settings))
    _upsert_appeals(session, out)
    return len(out) + refold(session, full, settings)


def refold(session: Session, appeal_ids: Sequence[str], settings: Settings) -> int:
    """Recompute the stored state of these appeals from all their stored events."""
    history: dict[str, list[tuple[Event, Place | None]]] = {}
    cols = AppealEvent.__table__.c
    for part in _chunks(appeal_ids):
        q = select(cols.appeal, cols.payload, cols.type, cols.grid, cols.community, cols.street, cols.district)
        for appeal, payload, type_, grid, comm, street, district in session.execute(q.where(cols.appeal.in_(part))):
            place = Place(grid, comm, street, district) if type_ == "created" else None
            history.setdefault(appeal, []).append((parse_event(payload, max_text_len=1 << 30), place))
    out = []
    for appeal, evs in history.items():
        draft = start_draft(e for e, _ in evs)
        if draft is None:
            continue  # no `created` yet: its events wait in the log
        created = min((e for e, _ in evs if e.type == "created"), key=lambda e: (e.at, e.id))
        place = next(p for e, p in evs if e.id == created.id)
        out.append(appeal_row(draft, place, settings))
    _upsert_appeals(session, out)
    return len(out)


def _upsert_appeals(session: Session, rows: list[dict[str, object]]) -> None:
    cols = [c.name for c in Appeal.__table__.columns if c.name != "id"]
    update = ", ".join(f'"{c}" = excluded."{c}"' for c in cols)
    bulk_insert(session, Appeal.__table__, rows, f"ON CONFLICT (id) DO UPDATE SET {update}")


def _sqlite_time(t: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DateTime stores and reads back
    return None if t is None else t.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_time(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(timezone.utc).replace(tzinfo=None)


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, object]], conflict: str) -> None:
    """INSERT many rows through the driver's executemany: the hot path, without per-row ORM work.

    Times are stored as UTCDateTime stores them (naive UTC) so ORM reads see the same values."""
    if not rows:
        return
    conn = session.connection()
    sqlite_ = conn.dialect.name == "sqlite"
    names = [c.name for c in table.columns]
    times = {c.name for c in table.columns if isinstance(c.type, UTCDateTime)}
    conv = _sqlite_time if sqlite_ else _pg_time
    mark = "?" if sqlite_ else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)}) "
        f"VALUES ({', '.join([mark] * len(names))}) {conflict}"
    )
    params = [tuple(conv(r[n]) if n in times else r[n] for n in names) for r in rows]  # type: ignore[arg-type]
    for i in range(0, len(params), 1000):
        conn.exec_driver_sql(sql, params[i : i + 1000])


def appeal_row(draft: dict[str, object], place: Place | None, settings: Settings) -> dict[str, object]:
    """The `appeals` row of a fold's draft."""
    state = finish(draft)
    yellow_from, red_from, due = thresholds(state, settings)
    cat = list(state.category) + [None, None, None]
    loc = state.location or {}
    return {
        "id": state.appeal,
        "status": state.status,
        "is_open": state.is_open,
        "created_at": state.created_at,
        "channel": state.channel,
        "kind": state.kind,
        "cat1": cat[0],
        "cat2": cat[1],
        "cat3": cat[2],
        "priority": state.priority,
        "lon": loc.get("lon"),
        "lat": loc.get("lat"),
        "grid": place.grid if place else None,
        "community": place.community if place else None,
        "street": place.street if place else None,
        "district": place.district if place else None,
        "address": state.address,
        "summary": state.summary,
        "unit": state.unit,
        "member": state.member,
        "dispatch_count": state.dispatch_count,
        "return_count": state.return_count,
        "extension_count": state.extension_count,
        "reopen_count": state.reopen_count,
        "clock_start": state.clock_start,
        "due_at": due,
        "yellow_from": yellow_from,
        "red_from": red_from,
        "first_dispatched_at": state.first_dispatched_at,
        "resolved_at": state.resolved_at,
        "closed_at": state.closed_at,
        "reviewed": state.reviewed,
        "reviewed_at": state.reviewed_at,
        "responded": state.responded,
        "resolved_flag": state.resolved_flag,
        "satisfaction": state.satisfaction,
        "last_event_at": state.last_event_at,
        "fold_state": draft_to_json(draft),
    }


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
    for part in _chunks(rows, 1000):
        stmt = _insert(session, table)
        update = {k: stmt.excluded[k] for k in ("state", "at", "lon", "lat", "received_at")}
        session.execute(
            stmt.on_conflict_do_update(index_elements=["member"], set_=update, where=table.c.at < stmt.excluded.at),
            list(part),
        )
