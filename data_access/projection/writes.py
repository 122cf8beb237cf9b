"""Per-database write paths of a folded batch: column-set UPDATEs on SQLite, COPY and one statement on PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from data_access.projection.checkpoints import move_checkpoint
from data_access.projection.failures import Failure, reason, refused_value, transient
from data_access.projection.rows import ROW_NAMES, UPDATE_NAMES, UPSERT
from data_access.store.bulk import (
    bulk_insert,
    driver_params,
    pg_time,
    quoted,
    raw_cursor,
    sqlite_time,
    time_columns,
)
from data_access.store.models import Appeal


@dataclass
class FoldedBatch:
    """What folding a batch writes: changed columns of resumed appeals (by column set), whole rows of refolded ones."""

    updates: dict[tuple[str, ...], list[dict[str, object]]]
    rows: list[dict[str, object]]
    drafts: dict[str, dict[str, Any]]  # every appeal written, as `Drafts` keeps them
    failed: dict[str, Failure] = field(default_factory=dict)  # appeals left out: they could not be folded
    isolated: set[str] = field(default_factory=set)  # appeals of the batch recorded as failed before

    def only(self, appeals: Collection[str]) -> FoldedBatch:
        """What to write of these appeals alone."""
        updates = {
            cols: kept for cols, rows in self.updates.items() if (kept := [r for r in rows if r["id"] in appeals])
        }
        return FoldedBatch(
            updates,
            [r for r in self.rows if r["id"] in appeals],
            {a: d for a, d in self.drafts.items() if a in appeals},
        )


def write_folded(
    session: Session, partition: int, partitions: int, checkpoint: int, last: int, folded: FoldedBatch
) -> None:
    """Write what a batch folded and move the partition's checkpoint past it (on SQLite the caller moved it
    already)."""
    if session.get_bind().dialect.name == "postgresql":
        copy_folded(session, folded)
        move_checkpoint(session, partition, partitions, checkpoint, last)
        return
    write_rows(session, folded)


def write_isolating(
    session: Session, partition: int, partitions: int, checkpoint: int, last: int, folded: FoldedBatch
) -> None:
    """`write_folded` for a batch the store refused: write its appeals in halves, each in a savepoint, halving
    again what is refused, until the appeals whose rows the store refuses are known. Those go to `folded.failed`
    (and out of `folded.drafts`); the rest is written. An error of the store's own is raised, as is."""
    if session.get_bind().dialect.name == "postgresql":
        move_checkpoint(session, partition, partitions, checkpoint, last)
    _write_halves(session, folded, sorted(folded.drafts))


def _write_halves(session: Session, folded: FoldedBatch, appeals: list[str]) -> None:
    try:
        with session.begin_nested():
            write_rows(session, folded.only(frozenset(appeals)))
    except Exception as exc:
        if transient(exc) or not refused_value(exc):
            raise
        if len(appeals) == 1:
            folded.failed[appeals[0]] = Failure(None, reason(exc))
            del folded.drafts[appeals[0]]
            return
        half = len(appeals) // 2
        _write_halves(session, folded, appeals[:half])
        _write_halves(session, folded, appeals[half:])


def write_rows(session: Session, folded: FoldedBatch) -> None:
    """Write what a batch folded with a statement per column set and one for whole rows (SQLite's way; on
    PostgreSQL the way that tells which appeal's values it refuses)."""
    for cols, rows in folded.updates.items():
        update_columns(session, cols, rows)
    upsert_appeals(session, folded.rows)


def copy_folded(session: Session, folded: FoldedBatch) -> None:
    """PostgreSQL: COPY what a batch folded into scratch tables, then write it with one UPDATE and one INSERT. A
    statement per batch instead of one per appeal costs the server a fifth less per row and the projector a seventh
    as much (docs/benchmarks.md). Updates set every state column: an indexed value written unchanged still leaves
    the update heap-only (PostgreSQL compares the values, not the columns named)."""
    times = time_columns(Appeal.__table__)
    updates = [r for rows in folded.updates.values() for r in rows]
    cur = raw_cursor(session)
    try:
        if updates:
            _copy(cur, "fold_updates", UPDATE_NAMES, driver_params(updates, UPDATE_NAMES, times, pg_time))
            state = UPDATE_NAMES[1:]
            cur.execute(
                f"UPDATE appeals a SET ({quoted(state)}) = ({quoted(state, 't.')}) "
                "FROM fold_updates t WHERE a.id = t.id"
            )
        if folded.rows:
            _copy(cur, "fold_rows", ROW_NAMES, driver_params(folded.rows, ROW_NAMES, times, pg_time))
            cur.execute(f"INSERT INTO appeals ({quoted(ROW_NAMES)}) SELECT {quoted(ROW_NAMES)} FROM fold_rows {UPSERT}")
    finally:
        cur.close()


def _copy(cur: Any, table: str, names: Sequence[str], params: Iterable[Sequence[Any]]) -> None:
    """COPY rows into a scratch table of these columns of `appeals` (made once per connection, emptied at each
    commit), in binary: formatting them as text took an eighth of the projector's time."""
    types = _appeal_types(cur)
    cur.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {table} ON COMMIT DELETE ROWS AS "
        f"SELECT {quoted(names)} FROM appeals WITH NO DATA"
    )
    with cur.copy(f"COPY {table} ({quoted(names)}) FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types([types[n] for n in names])
        for p in params:
            cp.write_row(p)


_APPEAL_TYPES: dict[str, int] = {}


def _appeal_types(cur: Any) -> dict[str, int]:
    """The type (oid) of each column of `appeals`: built-in types, whose oids are the same in every database."""
    if not _APPEAL_TYPES:
        cur.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = 'appeals'::regclass "
            "AND attnum > 0 AND NOT attisdropped"
        )
        _APPEAL_TYPES.update(cur.fetchall())
    return _APPEAL_TYPES


def update_columns(session: Session, cols: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    """UPDATE existing appeal rows, setting only `cols` (the same for every row)."""
    conn = session.connection()
    sqlite_ = conn.dialect.name == "sqlite"
    mark = "?" if sqlite_ else "%s"
    sql = f"UPDATE appeals SET {', '.join(f'{chr(34)}{c}{chr(34)} = {mark}' for c in cols)} WHERE id = {mark}"
    params = driver_params(rows, cols + ("id",), time_columns(Appeal.__table__), sqlite_time if sqlite_ else pg_time)
    conn.exec_driver_sql(sql, params)


def upsert_appeals(session: Session, rows: list[dict[str, object]]) -> None:
    bulk_insert(session, Appeal.__table__, rows, UPSERT)
