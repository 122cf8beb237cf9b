"""Writing a batch of imported events: into the event log in bulk (each id once: the ids logged already are looked up
and left out; PostgreSQL COPies the rest straight into the log), and their appeals, in the same transaction that
moves the projection's checkpoints past them. An appeal folded column-wise (`dashboard.history_columns`) whose
events are all new and of which the store knows nothing else is written as it is, its events and row straight from
their Arrow tables (PostgreSQL: binary COPY, `data_access.store.pg_binary`; SQLite: INSERTs of many rows bound as
the driver takes them, `data_access.store.sqlite_bulk`; either made ahead by the read-ahead thread); any other
appeal with new events goes through the projection's batch path (`fold_in_hand`), as a projector would fold it.

Live ingest goes on meanwhile. The batch holds the log writers' lock and every partition's projector lock
(PostgreSQL advisory locks; SQLite: the write locks of the log and the store), so the events it logs are
numbered after everything logged before and no projector folds while it does. A partition whose projector has
not folded everything logged before the batch is left to that projector (its checkpoint stays; the batch's
events of that partition are folded when it comes to them); every other partition's appeals are folded here
and its checkpoint moves past the batch. Either way each event is folded exactly once by the same rules."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session, sessionmaker

from dashboard.contract import Event, stored_event
from dashboard.partitions import partition_key
from dashboard.settings import Settings
from data_access.intake.event_log import LOG_LOCK, Accepted, Place
from data_access.projection.checkpoints import checkpoint_or_lay_out, move_checkpoint
from data_access.projection.failures import isolated_appeals, reason, transient
from data_access.projection.fold import PROJECTOR_LOCK, fold_in_hand, write_in_hand
from data_access.store.bulk import (
    pg_time,
    quoted,
    raw_cursor,
    select_in,
    sqlite_time,
)
from data_access.store.locks import lock_key
from data_access.store.pg_binary import copy_body
from data_access.store.sqlite_bulk import Bound, bound, execute_many, insert_table

log = logging.getLogger(__name__)
#: Times a batch is tried again while the store is busy or away (with backoff: 0.5 s, 1 s, 2 s, … up to 10 s).
RETRIES = 8

#: PostgreSQL: an import's transactions commit without waiting for their WAL to reach the disk.
SYNC_COMMIT_OFF = True

#: The event log's columns an import writes, in COPY order (`seq` is the log's own).
COLUMNS = (
    "id",
    "appeal",
    "partition_key",
    "type",
    "at",
    "payload",
    "source",
    "received_at",
    "grid",
    "community",
    "street",
    "district",
)


@dataclass
class Written:
    """What a batch did: events logged (not seen before), appeals written here, events left to the projectors."""

    events: int = 0
    appeals: int = 0
    deferred: int = 0


#: An event as the import logs it: `COLUMNS` without `received_at` (set when written), `at` aware UTC.
LogRow = tuple[str, str, int, str, datetime, str, str, str | None, str | None, str | None, str | None]


@dataclass
class Prepared:
    """A batch ready to store: its events as log rows and the events parsed already (the per-row path's), by id,
    each appeal left to the projection's batch path (`fold_in_hand`); and the appeals folded column-wise
    (`dashboard.history_columns`) as Arrow tables: `events` (the log's `COLUMNS` but `received_at`, `at` aware UTC)
    and `rows` (their `appeals` rows, `ROW_NAMES`), written as they are where every event is new and the store knows
    nothing else of the appeal, else logged and folded as the others."""

    log: list[LogRow] = field(default_factory=list)
    in_hand: dict[str, Event] = field(default_factory=dict)
    events: pa.Table | None = None
    rows: pa.Table | None = None
    #: `events` (in the log's order, with `received_at`) and `rows` as the store takes them, made ahead by
    #: `encode_ahead` (the read-ahead thread): PostgreSQL's binary COPY bodies, SQLite's bound values; used where
    #: the store takes every one of them as it is.
    bodies: dict[str, bytes | Bound] | None = None


def encode_ahead(sessions: sessionmaker[Session], batch: Prepared, now: datetime) -> None:
    """Make a batch's column-wise events and rows into what the store takes (`Prepared.bodies`: PostgreSQL's binary
    COPY bodies, SQLite's bound values) before it is written, in the read-ahead thread while the store takes the
    batch before; `received_at` is `now`."""
    if batch.events is None or batch.rows is None or batch.rows.num_rows == 0:
        return
    bind = sessions.kw.get("bind")
    if bind is None:
        return
    pg = bind.dialect.name == "postgresql"
    batch.events = _received(_log_order(batch.events, pg), now)
    batch.rows = batch.rows.sort_by("id")
    tables = (("appeal_events", batch.events), ("appeals", batch.rows))
    if not pg:
        batch.bodies = {name: bound(t) for name, t in tables}
        return
    if not {"appeal_events", "appeals"} <= _TYPES.keys():
        with sessions() as s:
            cur = raw_cursor(s)
            try:
                for name in ("appeal_events", "appeals"):
                    _types(cur, name)
            finally:
                cur.close()
    batch.bodies = {name: copy_body(t, _TYPES[name]) for name, t in tables}


def _log_order(events: pa.Table, pg: bool) -> pa.Table:
    """PostgreSQL logs in (at, id) order; SQLite by id (an appeal's events together, as the per-row path logs them),
    so that its B-trees of ids and appeals take each batch's keys in order."""
    return events.sort_by([("at", "ascending"), ("id", "ascending")] if pg else "id")


def _received(events: pa.Table, now: datetime) -> pa.Table:
    if "received_at" in events.column_names:
        return events
    return events.add_column(7, "received_at", pa.array([now] * events.num_rows, pa.timestamp("us", tz="UTC")))


def log_rows(events: pa.Table) -> list[LogRow]:
    """Column-wise events as log rows (those the batch path folds)."""
    cols = events.select([c for c in COLUMNS if c != "received_at"]).to_pydict()
    return list(zip(*cols.values()))


def prepared(items: Sequence[Accepted]) -> Prepared:
    """Parsed events (with their places) as a batch to store, each appeal left to the batch fold."""
    out = Prepared()
    for it in items:
        e, p = it.event, it.place
        out.log.append(
            (e.id, e.appeal, partition_key(e.appeal), e.type, e.at, it.raw, it.source,
             p.grid if p else None, p.community if p else None, p.street if p else None, p.district if p else None)
        )  # fmt: skip
        out.in_hand[e.id] = e
    return out


def write_batch(
    sessions: sessionmaker[Session], settings: Settings, items: Sequence[Accepted] | Prepared, now: datetime
) -> Written:
    """Log a batch of imported events (each id once) and fold their appeals; see the module's docstring. If the
    store refuses an appeal's row, the batch is logged again without folding and the projectors, which isolate
    such an appeal, fold it."""
    batch = items if isinstance(items, Prepared) else prepared(items)
    for attempt in range(RETRIES + 1):
        try:
            try:
                return _write(sessions, settings, batch, now, fold=True)
            except Exception as exc:
                if transient(exc):
                    raise
                log.warning(
                    "import: a batch's appeals could not be written here (%s); the projectors fold them", reason(exc)
                )
            return _write(sessions, settings, batch, now, fold=False)
        except Exception as exc:
            if not transient(exc) or attempt == RETRIES:
                raise
            log.warning("import: the store is busy or away (%s); the batch is tried again", reason(exc))
            time.sleep(min(0.5 * 2**attempt, 10.0))
    raise AssertionError("unreachable")


def _write(sessions: sessionmaker[Session], settings: Settings, batch: Prepared, now: datetime, fold: bool) -> Written:
    n = settings.projectors
    with sessions() as s, s.begin():
        conn = s.connection()
        pg = conn.dialect.name == "postgresql"
        if pg:
            if SYNC_COMMIT_OFF:
                # an import's batch need not wait for its commit's WAL flush: a crash of the server may lose the last
                # batches reported written (never half of one); the import run again adds them (README)
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (lock_key(conn, LOG_LOCK),))
            for p in range(n):  # in one order, after the log's: no projector waits for one, so none deadlocks
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (lock_key(conn, PROJECTOR_LOCK + p),))
        else:  # the log's write lock, then the store's, before reading either: what is read is what is written
            # over, and no read of this transaction holds up a WAL checkpoint that another writer waits on
            conn.exec_driver_sql("UPDATE appeal_events SET seq = seq WHERE seq < 0")
            conn.exec_driver_sql('UPDATE projection_checkpoints SET position = position WHERE "partition" < 0')
        marks = {p: checkpoint_or_lay_out(s, p, n) for p in range(n)}
        top = _last_seq(s)
        behind = _behind(s, marks, top, n) if fold else set(range(n))
        logged: dict[str, set[str]] = {}  # appeal -> ids of its events logged before this batch
        appeals = list(dict.fromkeys(r[1] for r in batch.log))
        if batch.rows is not None:
            appeals += batch.rows.column("id").to_pylist()
        for a, i in select_in(s, "SELECT appeal, id FROM appeal_events WHERE appeal", appeals):
            logged.setdefault(a, set()).add(i)
        rows = list(batch.log)
        whole = _whole(s, batch, logged, behind, n, rows, now)
        new = _log(s, rows, now, pg, logged)
        if not new and not whole:
            return Written()
        last = _last_seq(s)
        deferred = 0
        mine: dict[str, list[LogRow]] = {}
        for r in new:
            if (r[2] % n if n > 1 else 0) in behind:
                deferred += 1
            else:
                mine.setdefault(r[1], []).append(r)
        in_hand = batch.in_hand
        fresh = {
            a: [(in_hand.get(r[0]) or stored_event(r[5]), Place(*r[7:]) if r[3] == "created" else None) for r in rs]
            for a, rs in mine.items()
        }
        folded = fold_in_hand(s, settings, top, fresh)
        write_in_hand(s, folded)
        for p, mark in marks.items():
            if p not in behind:
                move_checkpoint(s, p, n, mark, last)
        return Written(len(new) + whole[0], len(folded.drafts) + whole[1], deferred)


def _whole(
    session: Session,
    batch: Prepared,
    logged: dict[str, set[str]],
    behind: set[int],
    n: int,
    rows: list[LogRow],
    now: datetime,
) -> tuple[int, int]:
    """Write the column-wise appeals that stand as they are (none of their events logged before, no row, no
    record of a failed fold, their partition's projector not behind) straight from their Arrow tables: events, then
    rows; add every other one's events to `rows` (for the batch path). Events and appeals written."""
    if batch.events is None or batch.rows is None or batch.rows.num_rows == 0:
        return 0, 0
    cand = batch.rows.column("id")
    names = cand.to_pylist()
    taken = {r[0] for r in select_in(session, "SELECT id FROM appeals WHERE id", names)}
    taken |= isolated_appeals(session)
    taken |= set(logged)
    if behind:
        keys = batch.events.filter(pc.equal(batch.events.column("type"), "created"))
        for a, k in zip(keys.column("appeal").to_pylist(), keys.column("partition_key").to_pylist()):
            if (k % n if n > 1 else 0) in behind:
                taken.add(a)
    events = batch.events
    if taken:
        out = pa.array(sorted(taken))
        rows += log_rows(events.filter(pc.is_in(events.column("appeal"), out)))
        events = events.filter(pc.invert(pc.is_in(events.column("appeal"), out)))
        table = batch.rows.filter(pc.invert(pc.is_in(cand, out)))
    else:
        table = batch.rows
    if table.num_rows == 0:
        return 0, 0
    pg = session.get_bind().dialect.name == "postgresql"
    bodies = batch.bodies if not taken else None  # made for every one of them
    if batch.bodies is None:  # else `encode_ahead` put them in the store's order already (a filter keeps it)
        events, table = _received(_log_order(events, pg), now), table.sort_by("id")
    if not _insert_table(session, "appeal_events", events, bodies):
        rows += log_rows(events)  # an id logged already under another appeal: the batch path sorts it out
        return 0, 0
    _insert_table(session, "appeals", table, bodies)
    return events.num_rows, table.num_rows


def _insert_table(session: Session, name: str, table: pa.Table, bodies: dict[str, bytes | Bound] | None = None) -> bool:
    """Insert an Arrow table's rows (times aware UTC, stored naive) into a table of the store: PostgreSQL COPies the
    columns' binary form (`data_access.store.pg_binary`); SQLite inserts the columns' values
    (`data_access.store.sqlite_bulk`); either from `bodies[name]` where made ahead. False (nothing written) if an
    id is there already."""
    names = table.column_names
    ahead = bodies.get(name) if bodies else None
    if session.get_bind().dialect.name == "postgresql":
        body = ahead if isinstance(ahead, bytes) else None
        if body is None:
            cur = raw_cursor(session)
            try:
                body = copy_body(table, _types(cur, name))
            finally:
                cur.close()
        try:
            with session.begin_nested():
                cur = raw_cursor(session)
                try:
                    with cur.copy(f"COPY {name} ({quoted(names)}) FROM STDIN (FORMAT BINARY)") as cp:
                        cp.write(body)
                finally:
                    cur.close()
        except Exception as exc:
            if transient(exc):
                raise
            return False
        return True
    if name == "appeal_events":
        ids = table.column("id").to_pylist()
        if select_in(session, "SELECT id FROM appeal_events WHERE id", ids):
            return False
    cur = raw_cursor(session)
    try:  # times as sqlite_time writes them (`sqlite_bulk.bound_columns`)
        insert_table(cur, name, ahead if isinstance(ahead, Bound) else table)
    finally:
        cur.close()
    return True


def _last_seq(session: Session) -> int:
    cur = raw_cursor(session)
    try:
        cur.execute("SELECT MAX(seq) FROM appeal_events")
        return int(cur.fetchone()[0] or 0)
    finally:
        cur.close()


def _behind(session: Session, marks: dict[int, int], top: int, n: int) -> set[int]:
    """The partitions with logged events up to `top` their projector has not folded yet."""
    low = min(marks.values())
    if low >= top:
        return set()
    mk = "?" if session.get_bind().dialect.name == "sqlite" else "%s"
    cur = raw_cursor(session)
    try:
        cur.execute(f"SELECT seq, partition_key FROM appeal_events WHERE seq > {mk} AND seq <= {mk}", (low, top))
        rows = cur.fetchall()
    finally:
        cur.close()
    behind: set[int] = set()
    for seq, key in rows:
        if key is None:
            return set(range(n))  # logged before partition keys: whichever partition, leave it to the projectors
        p = key % n if n > 1 else 0
        if seq > marks[p]:
            behind.add(p)
    return behind


def _log(
    session: Session, rows: Sequence[LogRow], now: datetime, pg: bool, logged: dict[str, set[str]]
) -> list[LogRow]:
    """Insert the events not logged yet (`logged`: the ids logged before, by appeal); return those (the log numbers
    them after everything before). No other writer logs meanwhile (the batch holds the log writers' lock), so no
    id can arrive between the look and the insert."""
    by_id = {r[0]: r for r in rows if r[0] not in logged.get(r[1], ())}
    if pg:
        return _copy_events(session, list(by_id.values()), now)
    seen = {r[0] for r in select_in(session, "SELECT id FROM appeal_events WHERE id", list(by_id))}  # any appeal's
    new = [r for i, r in by_id.items() if i not in seen]
    received = sqlite_time(now)
    times: dict[datetime, str | None] = {}
    params = (
        (*r[:4], times.get(r[4]) or times.setdefault(r[4], sqlite_time(r[4])), r[5], r[6], received, *r[7:])
        for r in new
    )
    if new:
        cols = ", ".join(f'"{c}"' for c in COLUMNS)
        cur = raw_cursor(session)
        try:
            execute_many(
                cur,
                f"INSERT INTO appeal_events ({cols}) VALUES ({', '.join('?' * len(COLUMNS))}) "
                "ON CONFLICT (id) DO NOTHING",
                params,
            )
        finally:
            cur.close()
    return new


def _copy_events(session: Session, rows: list[LogRow], now: datetime) -> list[LogRow]:
    """PostgreSQL: COPY rows not logged yet straight into the log, in (at, id) order; those rows. If an id was
    logged already under another appeal (an intake system's own choice of id), the ids logged are looked up and
    left out."""
    try:
        with session.begin_nested():
            return _copy_rows(session, rows, now)
    except Exception as exc:
        if transient(exc):
            raise
    seen = {r[0] for r in select_in(session, "SELECT id FROM appeal_events WHERE id", [r[0] for r in rows])}
    return _copy_rows(session, [r for r in rows if r[0] not in seen], now)


def _copy_rows(session: Session, rows: list[LogRow], now: datetime) -> list[LogRow]:
    cur = raw_cursor(session)
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    received = pg_time(now)
    try:
        new = sorted(rows, key=lambda r: (r[4], r[0]))
        types = _types(cur, "appeal_events")
        with cur.copy(f"COPY appeal_events ({cols}) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types([types[c] for c in COLUMNS])
            for r in new:
                cp.write_row((*r[:4], r[4].replace(tzinfo=None), r[5], r[6], received, *r[7:]))  # naive UTC
        return new
    finally:
        cur.close()


_TYPES: dict[str, dict[str, int]] = {}


def _types(cur: Any, table: str) -> dict[str, int]:
    """The type (oid) of each column of a table of the store (built-in types: the same oids in every database)."""
    if table not in _TYPES:
        cur.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped",
            (table,),
        )
        _TYPES[table] = dict(cur.fetchall())
    return _TYPES[table]
