"""Bulk writes through the driver: many rows per statement, times stored as the models store them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from data_access.store.models import UTCDateTime

T = TypeVar("T")

#: Bound parameters per statement chunk (SQLite allows 32,766; PostgreSQL 65,535).
CHUNK = 900
#: Rows per executemany of `write_rows` on SQLite.
WRITE_CHUNK = 50_000


def dialect_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def chunks(seq: Sequence[T], n: int = CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def quoted(names: Iterable[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{n}"' for n in names)


def raw_cursor(session: Session) -> Any:
    return session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # None only after close


def select_in(session: Session, sql: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of `sql` (ending in the key column) for these keys, straight through the driver: the hot path."""
    cur = raw_cursor(session)
    out: list[tuple[Any, ...]] = []
    try:
        if session.get_bind().dialect.name == "postgresql":
            cur.execute(f"{sql} = ANY(%s)", (list(keys),))
            out += cur.fetchall()
        else:
            for part in chunks(keys):
                cur.execute(f"{sql} IN ({','.join('?' * len(part))})", part)
                out += cur.fetchall()
    finally:
        cur.close()
    return out


def driver_params(
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


@cache
def time_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, UTCDateTime))


def sqlite_time(t: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DateTime stores and reads back (naive UTC); times here are UTC already
    if t is None:
        return None
    if t.utcoffset():
        t = t.astimezone(UTC)
    return t.isoformat(" ", "microseconds")[:26]


def pg_time(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(UTC).replace(tzinfo=None)


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, object]], conflict: str) -> None:
    """INSERT many rows through the driver's executemany: the hot path, without per-row ORM work.

    Times are stored as UTCDateTime stores them (naive UTC) so ORM reads see the same values."""
    if not rows:
        return
    conn = session.connection()
    sqlite_ = conn.dialect.name == "sqlite"
    names = [c.name for c in table.columns if c.name in rows[0]]  # not a key the store numbers
    times = time_columns(table)
    conv = sqlite_time if sqlite_ else pg_time
    _insert_many(conn, table.name, names, driver_params(rows, names, times, conv), conflict)


def write_rows(session: Session, table: Table, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write many rows (values in `names` order, times aware) into an empty or conflict-free table in one go:
    PostgreSQL's COPY; SQLite: executemany in chunks of `WRITE_CHUNK`. Times are stored as UTCDateTime stores them."""
    conn = session.connection()
    at = [i for i, n in enumerate(names) if n in time_columns(table)]
    sqlite_ = conn.dialect.name == "sqlite"
    conv = sqlite_time if sqlite_ else pg_time

    def stored(r: Sequence[Any]) -> tuple[Any, ...]:
        v = list(r)
        for i in at:
            v[i] = conv(v[i])
        return tuple(v)

    if sqlite_:
        it = map(stored, rows)
        while part := list(islice(it, WRITE_CHUNK)):
            _insert_many(conn, table.name, names, part, "")
        return
    cur = raw_cursor(session)
    try:
        with cur.copy(f"COPY {table.name} ({quoted(names)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(stored(r))
    finally:
        cur.close()
