"""The day cache's per-day aggregates kept in the store, so that a fresh process reads the closed days instead of
recomputing them from the appeals (1.3 million appeals took ~9 s), and recomputes only the days events changed.

The rule is the day cache's (data_access/wall/day_cache.py: an aggregate stands until an event folded after it
was computed changes its day, as `history.touched` reads the log), carried across processes by one log position
P (`day_aggregates_mark`): every row of `day_aggregates` equals a recomputation from the store at P.
- P moves from a to b (`advance`) only with the days the events in (a, b] can have changed, read by the process
  that moves it (a ≤ P < b); the rows of those days are deleted in the same transaction.
- A row computed at stamp S is written (`save`) only by a process that has noted every change after S up to its
  position `seen`, none of them on the row's day, and only while P ≤ seen.
- A row read (`load`) counts as computed at P: a process uses it once it has noted the changes after P (its
  day cache started at or before P) and none on its day.
PostgreSQL: writers of rows hold a shared advisory lock, `advance` an exclusive one, so no row is written
between a move's deletion and its commit. SQLite: one writer at a time. A starting process that finds P further
behind the log than its first refresh reads (one chunk of the log, day_cache.CHUNK) empties the table instead, so
that its first figures never rest on a kept day whose change it has not read yet.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Date, LargeBinary, String, and_, bindparam, delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from data_access.store.bulk import chunks
from data_access.store.locks import lock_key
from data_access.store.models import DayAggregate, DayAggregateMark

log = logging.getLogger(__name__)
T = TypeVar("T")
MARK = 1  # the mark's one row
DAY_STORE_LOCK = 0x6170_64617973  # "apdays"


@dataclass(frozen=True)
class Codec(Generic[T]):
    """An aggregate to bytes and back (the value read back equals the one written, its dicts in the same order).
    `name` is part of the stored key: another encoding, another name, and rows of the old one are not read."""

    name: str
    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


def json_codec(name: str, to: Callable[[T], Any], back: Callable[[Any], T]) -> Codec[T]:
    """A codec through JSON: `to` makes the aggregate JSON-able, `back` undoes it."""
    return Codec(
        name,
        lambda v: json.dumps(to(v), ensure_ascii=False, separators=(",", ":")).encode(),
        lambda b: back(json.loads(b)),
    )


def counts_to_rows(counts: Mapping[tuple[Any, ...], int]) -> list[list[Any]]:
    return [[*k, n] for k, n in counts.items()]


def rows_to_counts(rows: list[list[Any]]) -> dict[tuple[Any, ...], int]:
    return {tuple(r[:-1]): r[-1] for r in rows}


#: Counts per key tuple (count_days' answer for one day), and per plain string.
COUNTS: Codec[dict[tuple[Any, ...], int]] = json_codec("rows1", counts_to_rows, rows_to_counts)
BY_NAME: Codec[dict[str, int]] = json_codec("map1", dict, dict)


def variant_key(variant: Hashable, codec: Codec[Any]) -> str:
    """A day cache variant, and the encoding of its values, as the store's key."""
    return f"{codec.name}:{json.dumps(variant, default=str, ensure_ascii=False, separators=(',', ':'))}"


class DayStore:
    """The kept aggregates of one store: read through the caller's session (where screens read), written
    through `sessions` (the primary). A failed write is logged and changes nothing the caller sees."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self.read_days = 0  # aggregates read and written since start, and the time writing took (benchmarks, tests)
        self.written_days = 0
        self.write_s = 0.0

    @staticmethod
    def position(session: Session) -> int | None:
        """P, or None before anything was kept."""
        return session.scalar(select(DayAggregateMark.position).where(DayAggregateMark.id == MARK))

    def begin(self, session: Session, mark: int, within: int) -> int:
        """Where a process starting at log position `mark` notes changes from: P when it lies at most `within`
        events behind (min(P, mark)), else `mark`, after emptying the store."""
        p = self.position(session)
        if p is not None and p >= mark - within:
            return min(p, mark)
        try:
            with self._sessions() as s, s.begin():
                self._lock(s, shared=False)
                if self.position(s) == p:  # nobody moved it meanwhile
                    s.execute(delete(DayAggregate))
                    s.execute(delete(DayAggregateMark))
                    s.add(DayAggregateMark(id=MARK, position=mark))
        except Exception:  # the figures are computed all the same
            log.warning("day store: could not start the kept aggregates at %d", mark, exc_info=True)
        return mark

    def advance(self, after: int, upto: int, changed: Mapping[tuple[str, ...], set[date]]) -> bool:
        """Move P to `upto` when after ≤ P < upto, deleting the rows of `changed` (kinds -> days the events in
        (after, upto] can have changed); False when P lies elsewhere."""
        with self._sessions() as s, s.begin():
            self._lock(s, shared=False)
            p = self.position(s)
            if p is None or not after <= p < upto:
                return False
            for kinds, days in changed.items():
                for part in chunks(sorted(days)):
                    s.execute(delete(DayAggregate).where(DayAggregate.kind.in_(kinds), DayAggregate.day.in_(part)))
            s.execute(text("UPDATE day_aggregates_mark SET position = :p WHERE id = :id"), {"p": upto, "id": MARK})
        return True

    def load(
        self, session: Session, kind: str, variant: Hashable, codec: Codec[T], days: Sequence[date]
    ) -> tuple[int, dict[date, T]]:
        """(P, the kept aggregates of those days), read in one statement (one snapshot); a row that does not decode
        is left out (computed again and written over)."""
        if not days:
            return 0, {}
        q = (
            select(DayAggregateMark.position, DayAggregate.day, DayAggregate.value)
            .join_from(
                DayAggregateMark,
                DayAggregate,
                and_(
                    DayAggregate.kind == kind,
                    DayAggregate.variant == variant_key(variant, codec),
                    DayAggregate.day >= min(days),
                    DayAggregate.day <= max(days),
                ),
            )
            .where(DayAggregateMark.id == MARK)
        )
        rows = session.execute(q).all()
        wanted = set(days)
        out: dict[date, T] = {}
        for _, day, value in rows:
            if day in wanted:
                try:
                    out[day] = codec.decode(zlib.decompress(value))
                except Exception:  # written by another version: computed again
                    log.warning("day store: %s of %s does not decode", kind, day, exc_info=True)
        self.read_days += len(out)
        return (rows[0][0] if rows else 0), out

    def save(
        self, kind: str, variant: Hashable, codec: Codec[T], values: Mapping[date, T], stamp: int, seen: int
    ) -> None:
        """Keep aggregates computed at `stamp` by a process that has noted every change up
        to `seen` and none of their days after `stamp`: written while P ≤ seen, else left out."""
        if not values:
            return
        sql = text(
            "INSERT INTO day_aggregates (kind, variant, day, stamp, value) "
            "SELECT :kind, :variant, :day, :stamp, :value FROM day_aggregates_mark "
            "WHERE id = :id AND position <= :seen "
            "ON CONFLICT (kind, variant, day) DO UPDATE SET stamp = excluded.stamp, value = excluded.value"
        ).bindparams(
            bindparam("kind", type_=String),
            bindparam("variant", type_=String),
            bindparam("day", type_=Date),
            bindparam("stamp", type_=BigInteger),
            bindparam("value", type_=LargeBinary),
            bindparam("seen", type_=BigInteger),
        )
        v = variant_key(variant, codec)
        t = time.perf_counter()
        rows = [
            {
                "kind": kind,
                "variant": v,
                "day": d,
                "stamp": stamp,
                "value": zlib.compress(codec.encode(x), 1),
                "id": MARK,
                "seen": seen,
            }
            for d, x in values.items()
        ]
        try:
            with self._sessions() as s, s.begin():
                self._lock(s, shared=True)
                s.execute(sql, rows)
            self.written_days += len(rows)
            self.write_s += time.perf_counter() - t
        except Exception:  # kept in memory all the same
            log.warning("day store: could not keep %d days of %s", len(rows), kind, exc_info=True)

    @staticmethod
    def _lock(s: Session, shared: bool) -> None:
        if s.get_bind().dialect.name == "postgresql":
            conn = s.connection()
            fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
            conn.exec_driver_sql(f"SELECT {fn}(%s)", (lock_key(conn, DAY_STORE_LOCK),))
