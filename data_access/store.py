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
from sqlalchemy.orm import Session, sessionmaker

from dashboard.appeal import (
    DONE_STATUSES, advance, draft_due, draft_from_json, draft_to_json, follows, light_times, start_draft, touched,
)
from dashboard.contract import Event, Presence, stored_event
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


def store_events(session: Session, items: Sequence[Accepted], now: datetime) -> int:
    """Store events in the log (duplicates ignored) and queue each new one for the folder; return events queued.

    The appeals they touch are brought up to date by `fold_queued`, in another transaction."""
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
    _write_lock(session)
    seen = {r[0] for r in select_in(session, "SELECT id FROM appeal_events WHERE id", list(rows))}
    new = [r for i, r in rows.items() if i not in seen]
    bulk_insert(session, AppealEvent.__table__, new, "ON CONFLICT (id) DO NOTHING")
    _insert_many(session.connection(), "fold_queue", ("appeal", "event"), [(r["appeal"], r["id"]) for r in new], "")
    return len(new)


def fold_queued(sessions: sessionmaker[Session], settings: Settings, limit: int) -> int:
    """Fold queued events into their appeals: the appeals of the first `limit` queued events, each with every
    event queued for it (a backlog folds an appeal once, not once per event); return queue entries taken.

    PostgreSQL: one transaction; several folders may share a store: each takes queue entries no other holds,
    and appeal locks keep two from folding one appeal at once (an event another takes meanwhile is refolded).
    SQLite has one writer at a time: the folder reads and folds under a snapshot, without the write lock the
    ingest worker needs, then writes if no other folder wrote since (else it folds again under the lock)."""
    with sessions() as s:
        if s.get_bind().dialect.name == "postgresql":
            with s.begin():
                taken, folded = _take_and_fold(s, settings, limit, pg=True)
                _write_folded(s, taken, folded)
            return len(taken)
        with s.begin():
            generation = _fold_generation(s)
            taken, folded = _take_and_fold(s, settings, limit, pg=False)
        if not taken:
            return 0
        with s.begin():
            if _next_fold_generation(s) != generation + 1:  # another folder wrote since: fold again
                taken, folded = _take_and_fold(s, settings, limit, pg=False)
            _write_folded(s, taken, folded)
        return len(taken)


@dataclass
class _Folded:
    """What folding a batch writes: changed columns of resumed appeals (by column set), whole rows of refolded ones."""

    updates: dict[tuple[str, ...], list[dict[str, object]]]
    rows: list[dict[str, object]]


def _take_and_fold(session: Session, settings: Settings, limit: int, pg: bool) -> tuple[list[int], _Folded]:
    """Read a batch of the queue and fold it (no writes): (queue entries taken, what to write)."""
    skip = " FOR UPDATE SKIP LOCKED" if pg else ""
    cur = _cursor(session)
    try:
        cur.execute(f"SELECT appeal FROM fold_queue ORDER BY seq LIMIT {'%s' if pg else '?'}{skip}", (limit,))
        appeals = sorted({r[0] for r in cur.fetchall()})
    finally:
        cur.close()
    if not appeals:
        return [], _Folded({}, [])
    lock_appeals(session, appeals)
    queued = select_in(session, "SELECT seq, event FROM fold_queue WHERE appeal", appeals, skip)
    events = select_in(session, "SELECT id, appeal, payload FROM appeal_events WHERE id", [e for _, e in queued])
    fresh: dict[str, list[Event]] = {}
    for _, appeal, payload in events:
        fresh.setdefault(appeal, []).append(stored_event(payload))
    return [q for q, _ in queued], _fold(session, fresh, settings)


def _write_folded(session: Session, taken: list[int], folded: _Folded) -> None:
    for cols, rows in folded.updates.items():
        _update_columns(session, cols, rows)
    _upsert_appeals(session, folded.rows)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DELETE FROM fold_queue WHERE seq = ANY(%s)", (taken,))
    else:
        conn.exec_driver_sql("DELETE FROM fold_queue WHERE seq = ?", [(q,) for q in taken])


def _fold_generation(session: Session) -> int:
    return int(session.scalar(text("SELECT value FROM meta WHERE key = 'fold-generation'")) or 0)


def _next_fold_generation(session: Session) -> int:
    """Count one more fold written (SQLite: this write takes the write lock); the new count."""
    return int(session.scalar(text(
        "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'fold-generation' RETURNING value"
    )) or 0)


def _cursor(session: Session) -> Any:
    return session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _write_lock(session: Session) -> None:
    """SQLite: take the one write lock now (a no-op write), before the transaction reads anything, so its
    reads are of the latest state and its writes cannot fail on a stale snapshot. PostgreSQL: nothing."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(text("UPDATE meta SET value = value WHERE key = 'write-lock'"))


def select_in(session: Session, sql: str, keys: Sequence[str], tail: str = "") -> list[tuple[Any, ...]]:
    """Rows of `sql` (ending in the key column) for these keys, straight through the driver: the hot path.

    `tail` follows the condition (e.g. a locking clause)."""
    cur = _cursor(session)
    out: list[tuple[Any, ...]] = []
    try:
        if session.get_bind().dialect.name == "postgresql":
            cur.execute(f"{sql} = ANY(%s){tail}", (list(keys),))
            out += cur.fetchall()
        else:
            for part in _chunks(keys):
                cur.execute(f"{sql} IN ({','.join('?' * len(part))}){tail}", part)
                out += cur.fetchall()
    finally:
        cur.close()
    return out


def lock_appeals(session: Session, appeal_ids: Sequence[str]) -> None:
    """Serialise folders of the same appeal, so two never fold a history each half-sees.

    SQLite has one writer at a time (`_write_lock`); PostgreSQL takes transaction-scoped advisory
    locks in a fixed order (no deadlock)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(x, 0) AS k "
            "FROM unnest(CAST(:ids AS text[])) AS x ORDER BY k) AS s"
        ),
        {"ids": list(appeal_ids)},
    )


def _fold(session: Session, fresh: dict[str, list[Event]], settings: Settings) -> _Folded:
    """Advance each appeal's stored draft with its new events, or refold it when they came out of order."""
    known: dict[str, str | None] = dict(select_in(session, "SELECT id, fold_state FROM appeals WHERE id", list(fresh)))
    changes: dict[tuple[str, ...], list[dict[str, object]]] = {}
    full: list[str] = []
    for aid, events in fresh.items():
        if aid not in known:
            if any(e.type == "created" for e in events):
                full.append(aid)
            continue  # no `created` yet: its events wait in the log
        state = known[aid]
        draft = draft_from_json(state, aid) if state else None
        if draft is None or not follows(draft, events):
            full.append(aid)
            continue
        before = {k: draft[k] for k in touched(events)}
        row = state_columns(advance(draft, events), settings)
        row["id"] = aid
        changes.setdefault(changed_columns(before, draft), []).append(row)
    in_hand = {e.id: e for events in fresh.values() for e in events}
    return _Folded(changes, refold_rows(session, full, settings, in_hand))


def refold_rows(
    session: Session, appeal_ids: Sequence[str], settings: Settings, in_hand: dict[str, Event] | None = None
) -> list[dict[str, object]]:
    """The rows of these appeals folded from all their stored events (none for an appeal without `created`).

    `in_hand` holds events already parsed, so their stored text is not parsed again."""
    in_hand = in_hand or {}
    history: dict[str, list[tuple[Event, Place | None]]] = {}
    sql = "SELECT id, appeal, payload, type, grid, community, street, district FROM appeal_events WHERE appeal"
    for eid, appeal, payload, type_, grid, comm, street, district in select_in(session, sql, appeal_ids):
        place = Place(grid, comm, street, district) if type_ == "created" else None
        event = in_hand.get(eid) or stored_event(payload)
        history.setdefault(appeal, []).append((event, place))
    out = []
    for appeal, evs in history.items():
        draft = start_draft(e for e, _ in evs)
        if draft is None:
            continue  # no `created` yet: its events wait in the log
        created = min((e for e, _ in evs if e.type == "created"), key=lambda e: (e.at, e.id))
        place = next(p for e, p in evs if e.id == created.id)
        out.append(appeal_row(draft, place, settings))
    return out


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

    `before` holds the keys that may have changed (`touched` by the events applied), as they were.

    Writing only these matters: an UPDATE that names an indexed column rewrites that index entry,
    and most events touch two or three of the appeals table's indexed columns, not all of them."""
    cols = {"fold_state"}
    for key, old in before.items():
        value = after[key]
        if old is not value and old != value:
            cols.update(_DRAFT_COLUMNS.get(key, (key,)))
    return _in_table_order(frozenset(cols))


@cache
def _in_table_order(cols: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(cols, key=_COLUMN_ORDER.__getitem__))


def _update_columns(session: Session, cols: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    """UPDATE existing appeal rows, setting only `cols` (the same for every row)."""
    conn = session.connection()
    sqlite_ = conn.dialect.name == "sqlite"
    mark = "?" if sqlite_ else "%s"
    sql = f"UPDATE appeals SET {', '.join(f'{chr(34)}{c}{chr(34)} = {mark}' for c in cols)} WHERE id = {mark}"
    params = _params(rows, cols + ("id",), _time_columns(Appeal.__table__), _sqlite_time if sqlite_ else _pg_time)
    conn.exec_driver_sql(sql, params)


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


def _insert_many(conn: Connection, table: str, names: Sequence[str], params: list[tuple[Any, ...]], tail: str) -> None:
    """INSERT rows of values in `names` order through the driver's executemany (SQLite: a loop in C;
    psycopg: pipelined, one prepared statement)."""
    if params:
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        cols = ", ".join(f'"{n}"' for n in names)
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({', '.join([mark] * len(names))}) {tail}", params)


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
    _insert_many(conn, table.name, names, _params(rows, names, times, conv), conflict)


def appeal_row(draft: dict[str, Any], place: Place | None, settings: Settings) -> dict[str, object]:
    """The `appeals` row of a whole fold's draft (the fields of `finish(draft)`, read straight from the draft)."""
    d = draft
    cat = d["category"]
    loc = d["location"] or {}
    return {
        "id": d["appeal"],
        "created_at": d["created_at"],
        "channel": d["channel"],
        "kind": d["kind"],
        "cat1": cat[0],
        "cat2": cat[1] if len(cat) > 1 else None,
        "cat3": cat[2] if len(cat) > 2 else None,
        "lon": loc.get("lon"),
        "lat": loc.get("lat"),
        "grid": place.grid if place else None,
        "community": place.community if place else None,
        "street": place.street if place else None,
        "district": place.district if place else None,
        "address": d["address"],
        "summary": d["summary"],
        **state_columns(draft, settings),
    }


def state_columns(draft: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The columns of an appeal's row that events after `created` can change, from a draft (whole or resumed)."""
    d = draft
    yellow_from, red_from, due = light_times(d["clock_start"], draft_due(d), d["priority"], settings)
    return {
        "status": d["status"],
        "is_open": d["status"] not in DONE_STATUSES,
        "priority": d["priority"],
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
