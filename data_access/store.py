"""Writing to the store: events exactly once, appeals as the fold of their events, latest presence."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timezone
from functools import cache
from operator import itemgetter

from sqlalchemy import Connection, Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.appeal import (
    DONE_STATUSES, advance, draft_due, draft_from_json, draft_to_json, follows, light_times, start_draft,
)
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
    seen.update(r[0] for r in select_in(session, "SELECT id FROM appeal_events WHERE id", ids))
    new_ids = set(ids) - seen
    bulk_insert(session, AppealEvent.__table__, [rows[i] for i in ids if i in new_ids], "ON CONFLICT (id) DO NOTHING")
    fresh: dict[str, list[Accepted]] = {}
    for it in items:
        if it.event.id in new_ids:
            new_ids.discard(it.event.id)  # a duplicate within the batch counts once
            fresh.setdefault(it.event.appeal, []).append(it)
    return _update_appeals(session, fresh, settings)


def select_in(session: Session, sql: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of `sql` (ending in the key column) for these keys, straight through the driver: the hot path."""
    cur = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    out: list[tuple[Any, ...]] = []
    try:
        if session.get_bind().dialect.name == "postgresql":
            cur.execute(f"{sql} = ANY(%s)", (list(keys),))
            out += cur.fetchall()
        else:
            for part in _chunks(keys):
                cur.execute(f"{sql} IN ({','.join('?' * len(part))})", part)
                out += cur.fetchall()
    finally:
        cur.close()
    return out


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
    known: dict[str, tuple[str | None, Place]] = {}
    sql = "SELECT id, fold_state, grid, community, street, district FROM appeals WHERE id"
    for aid, state, grid, comm, street, district in select_in(session, sql, list(fresh)):
        known[aid] = (state, Place(grid, comm, street, district))
    changes: dict[tuple[str, ...], list[dict[str, object]]] = {}
    full: list[str] = []
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
        before = dict(draft)
        row = appeal_row(advance(draft, events), place, settings)
        changes.setdefault(changed_columns(before, draft), []).append(row)
    for cols, rows in changes.items():
        _update_columns(session, cols, rows)
    in_hand = {it.event.id: it.event for new in fresh.values() for it in new}
    return sum(map(len, changes.values())) + refold(session, full, settings, in_hand)


def refold(
    session: Session, appeal_ids: Sequence[str], settings: Settings, in_hand: dict[str, Event] | None = None
) -> int:
    """Recompute the stored state of these appeals from all their stored events.

    `in_hand` holds events of this batch already parsed, so their stored text is not parsed again."""
    in_hand = in_hand or {}
    history: dict[str, list[tuple[Event, Place | None]]] = {}
    sql = "SELECT id, appeal, payload, type, grid, community, street, district FROM appeal_events WHERE appeal"
    for eid, appeal, payload, type_, grid, comm, street, district in select_in(session, sql, appeal_ids):
        place = Place(grid, comm, street, district) if type_ == "created" else None
        event = in_hand.get(eid) or parse_event(payload, max_text_len=1 << 30)
        history.setdefault(appeal, []).append((event, place))
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


#: Appeal row columns that follow from each key of a fold draft (a key not listed is a column of its own name).
_DEADLINE = ("due_at", "yellow_from", "red_from")
_DRAFT_COLUMNS: dict[str, tuple[str, ...]] = {
    "appeal": (), "community": (),  # the row's place is resolved at ingest, not taken from the draft
    "status": ("status", "is_open"), "category": ("cat1", "cat2", "cat3"), "location": ("lon", "lat"),
    "priority": ("priority",) + _DEADLINE, "clock_start": ("clock_start",) + _DEADLINE,
    "_created_due": _DEADLINE, "_dispatched_due": _DEADLINE, "_extended_due": _DEADLINE,
    "_last": ("last_event_at",),
}
_COLUMN_ORDER = {c.name: i for i, c in enumerate(Appeal.__table__.columns)}


def changed_columns(before: dict[str, object], after: dict[str, object]) -> tuple[str, ...]:
    """The appeal row columns that may differ between two drafts of one appeal (fold state always does).

    Writing only these matters: an UPDATE that names an indexed column rewrites that index entry,
    and most events touch two or three of the appeals table's indexed columns, not all of them."""
    cols = {"fold_state"}
    for key, value in after.items():
        old = before.get(key)
        if old is not value and old != value:
            cols.update(_DRAFT_COLUMNS.get(key, (key,)))
    return tuple(sorted(cols, key=_COLUMN_ORDER.__getitem__))


def _update_columns(session: Session, cols: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    """UPDATE existing appeal rows, setting only `cols` (the same for every row)."""
    conn = session.connection()
    sqlite_ = conn.dialect.name == "sqlite"
    mark = "?" if sqlite_ else "%s"
    conv = _sqlite_time if sqlite_ else _pg_time
    times = _time_columns(Appeal.__table__)
    sql = f"UPDATE appeals SET {', '.join(f'{chr(34)}{c}{chr(34)} = {mark}' for c in cols)} WHERE id = {mark}"
    _execute_many(conn, sql, _params(rows, cols + ("id",), times, conv))


def _params(
    rows: Sequence[dict[str, Any]], names: Sequence[str], times: frozenset[str], conv: Callable[[Any], Any]
) -> list[tuple[Any, ...]]:
    """Each row's values in `names` order, times converted for the driver."""
    get = itemgetter(*names)
    at = [i for i, n in enumerate(names) if n in times]
    seen: dict[Any, Any] = {None: None}  # the same times recur (received_at, an event's `at` as last_event_at)
    out = []
    for r in rows:
        v = list(get(r))
        for i in at:
            t = v[i]
            c = seen.get(t, seen)
            v[i] = seen.setdefault(t, conv(t)) if c is seen else c
        out.append(tuple(v))
    return out


def _execute_many(conn: Connection, sql: str, params: list[tuple[Any, ...]]) -> None:
    for i in range(0, len(params), 1000):
        conn.exec_driver_sql(sql, params[i : i + 1000])


def _upsert_appeals(session: Session, rows: list[dict[str, object]]) -> None:
    cols = [c.name for c in Appeal.__table__.columns if c.name != "id"]
    update = ", ".join(f'"{c}" = excluded."{c}"' for c in cols)
    bulk_insert(session, Appeal.__table__, rows, f"ON CONFLICT (id) DO UPDATE SET {update}")


@cache
def _time_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, UTCDateTime))


def _sqlite_time(t: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DateTime stores and reads back (naive UTC); times here are UTC already
    if t is None:
        return None
    if t.utcoffset():
        t = t.astimezone(timezone.utc)
    return t.isoformat(" ", "microseconds")[:26]


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
    times = _time_columns(table)
    conv = _sqlite_time if sqlite_ else _pg_time
    mark = "?" if sqlite_ else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)}) "
        f"VALUES ({', '.join([mark] * len(names))}) {conflict}"
    )
    _execute_many(conn, sql, _params(rows, names, times, conv))


def appeal_row(draft: dict[str, Any], place: Place | None, settings: Settings) -> dict[str, object]:
    """The `appeals` row of a fold's draft (the fields of `finish(draft)`, read straight from the draft)."""
    d = draft
    yellow_from, red_from, due = light_times(d["clock_start"], draft_due(d), d["priority"], settings)
    cat = d["category"]
    loc = d["location"] or {}
    return {
        "id": d["appeal"],
        "status": d["status"],
        "is_open": d["status"] not in DONE_STATUSES,
        "created_at": d["created_at"],
        "channel": d["channel"],
        "kind": d["kind"],
        "cat1": cat[0],
        "cat2": cat[1] if len(cat) > 1 else None,
        "cat3": cat[2] if len(cat) > 2 else None,
        "priority": d["priority"],
        "lon": loc.get("lon"),
        "lat": loc.get("lat"),
        "grid": place.grid if place else None,
        "community": place.community if place else None,
        "street": place.street if place else None,
        "district": place.district if place else None,
        "address": d["address"],
        "summary": d["summary"],
        "unit": d["unit"],
        "member": d["member"],
        "dispatch_count": d["dispatch_count"],
        "return_count": d["return_count"],
        "extension_count": d["extension_count"],
        "reopen_count": d["reopen_count"],
        "clock_start": d["clock_start"],
        "due_at": due,
        "yellow_from": yellow_from,
        "red_from": red_from,
        "first_dispatched_at": d["first_dispatched_at"],
        "resolved_at": d["resolved_at"],
        "closed_at": d["closed_at"],
        "reviewed": d["reviewed"],
        "reviewed_at": d["reviewed_at"],
        "responded": d["responded"],
        "resolved_flag": d["resolved_flag"],
        "satisfaction": d["satisfaction"],
        "last_event_at": d["_last"][0],
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
