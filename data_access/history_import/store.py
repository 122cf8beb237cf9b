"""Writing a batch of imported events: into the event log in bulk (PostgreSQL: COPY into a scratch table, then one
INSERT … SELECT … ON CONFLICT DO NOTHING), and their appeals through the projection's batch path, in the same
transaction that moves the projection's checkpoints past them.

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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dashboard.contract import Event
from dashboard.partitions import partition_key
from dashboard.settings import Settings
from data_access.intake.event_log import LOG_LOCK, Accepted, Place
from data_access.projection.checkpoints import checkpoint_or_lay_out, move_checkpoint
from data_access.projection.failures import reason, transient
from data_access.projection.fold import PROJECTOR_LOCK, fold_in_hand, write_in_hand
from data_access.store.bulk import bulk_insert, pg_time, raw_cursor, select_in
from data_access.store.locks import lock_key
from data_access.store.models import AppealEvent

log = logging.getLogger(__name__)
#: Times a batch is tried again while the store is busy or away (with backoff: 0.5 s, 1 s, 2 s, … up to 10 s).
RETRIES = 8

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


def write_batch(
    sessions: sessionmaker[Session], settings: Settings, items: Sequence[Accepted], now: datetime
) -> Written:
    """Log a batch of imported events (each id once) and fold their appeals; see the module's docstring. If the
    store refuses an appeal's row, the batch is logged again without folding and the projectors, which isolate
    such an appeal, fold it."""
    for attempt in range(RETRIES + 1):
        try:
            try:
                return _write(sessions, settings, items, now, fold=True)
            except Exception as exc:
                if transient(exc):
                    raise
                log.warning(
                    "import: a batch's appeals could not be written here (%s); the projectors fold them", reason(exc)
                )
            return _write(sessions, settings, items, now, fold=False)
        except Exception as exc:
            if not transient(exc) or attempt == RETRIES:
                raise
            log.warning("import: the store is busy or away (%s); the batch is tried again", reason(exc))
            time.sleep(min(0.5 * 2**attempt, 10.0))
    raise AssertionError("unreachable")


def _write(
    sessions: sessionmaker[Session], settings: Settings, items: Sequence[Accepted], now: datetime, fold: bool
) -> Written:
    n = settings.projectors
    with sessions() as s, s.begin():
        conn = s.connection()
        pg = conn.dialect.name == "postgresql"
        if pg:
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
        new = _log(s, items, now, pg)
        if not new:
            return Written()
        last = _last_seq(s)
        fresh: dict[str, list[tuple[Event, Place | None]]] = {}
        deferred = 0
        for it in new:
            if (partition_key(it.event.appeal) % n if n > 1 else 0) in behind:
                deferred += 1
                continue
            fresh.setdefault(it.event.appeal, []).append((it.event, it.place if it.event.type == "created" else None))
        folded = fold_in_hand(s, settings, top, fresh)
        write_in_hand(s, folded)
        for p, mark in marks.items():
            if p not in behind:
                move_checkpoint(s, p, n, mark, last)
        return Written(len(new), len(folded.drafts), deferred)


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


def _log(session: Session, items: Sequence[Accepted], now: datetime, pg: bool) -> list[Accepted]:
    """Insert the events not logged yet; return those (the log numbers them after everything before)."""
    by_id = {it.event.id: it for it in items}
    rows = [_row(it, now) for it in by_id.values()]
    if pg:
        inserted = _copy_events(session, rows)
        return [by_id[i] for i in by_id if i in inserted]
    seen = {r[0] for r in select_in(session, "SELECT id FROM appeal_events WHERE id", list(by_id))}
    new = [r for r in rows if r["id"] not in seen]
    bulk_insert(session, AppealEvent.__table__, new, "ON CONFLICT (id) DO NOTHING")
    return [by_id[str(r["id"])] for r in new]


def _row(it: Accepted, now: datetime) -> dict[str, Any]:
    p = it.place
    e = it.event
    return {
        "id": e.id,
        "appeal": e.appeal,
        "partition_key": partition_key(e.appeal),
        "type": e.type,
        "at": e.at,
        "payload": it.raw,
        "source": it.source,
        "received_at": now,
        "grid": p.grid if p else None,
        "community": p.community if p else None,
        "street": p.street if p else None,
        "district": p.district if p else None,
    }


def _copy_events(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """PostgreSQL: COPY the rows into a scratch table, then INSERT those not logged yet; their ids."""
    cur = raw_cursor(session)
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    try:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS import_events ON COMMIT DELETE ROWS AS "
            f"SELECT {cols} FROM appeal_events WITH NO DATA"
        )
        cur.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = 'import_events'::regclass AND attnum > 0 AND NOT attisdropped"
        )
        types = dict(cur.fetchall())
        with cur.copy(f"COPY import_events ({cols}) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types([types[c] for c in COLUMNS])
            for r in rows:
                cp.write_row(
                    tuple(pg_time(r[c]) if c in ("at", "received_at") else r[c] for c in COLUMNS)  # naive UTC
                )
        cur.execute(
            f"INSERT INTO appeal_events ({cols}) SELECT {cols} FROM import_events ORDER BY at, id "
            "ON CONFLICT (id) DO NOTHING RETURNING id"
        )
        return {r[0] for r in cur.fetchall()}
    finally:
        cur.close()
