"""Checkpoints of the projection: the last logged event each partition has folded."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def mark_key(part: int, parts: int) -> str:
    """The `meta` key of a share's fold mark ('fold-seq' when one folder folds everything)."""
    return "fold-seq" if parts == 1 else f"fold-seq {part}/{parts}"


def fold_marks(session: Session) -> dict[str, int]:
    """Every share's fold mark: the `seq` of the last event it folded (each of its events up to it is folded)."""
    rows = session.execute(text("SELECT key, value FROM meta WHERE key LIKE 'fold-seq%'"))
    return {k: int(v) for k, v in rows}


def fold_mark(session: Session) -> int:
    """The lowest fold mark: every event up to it is folded, whichever share it belongs to."""
    return min(fold_marks(session).values(), default=0)


def mark_or_lay_out(session: Session, key: str, parts: int) -> int:
    """The mark under `key`; first, if the store was folded in another number of shares, a mark for each share
    at the lowest of the old ones (events after it that some share had folded already fold again, harmlessly)."""
    marks = fold_marks(session)
    if key in marks:
        return marks[key]
    low = min(marks.values(), default=0)
    conn = session.connection()
    mk = "?" if conn.dialect.name == "sqlite" else "%s"
    keys = [mark_key(k, parts) for k in range(parts)]
    conn.exec_driver_sql(f"INSERT INTO meta (key, value) VALUES ({mk}, {mk}) ON CONFLICT (key) DO NOTHING",
                         [(k, str(low)) for k in keys])
    for old in sorted(set(marks) - set(keys)):  # in one order: folders laying out at once wait, not deadlock
        conn.exec_driver_sql(f"DELETE FROM meta WHERE key = {mk}", (old,))
    return fold_marks(session)[key]


def move_mark(session: Session, key: str, mark: int, last: int) -> bool:
    """Move the fold mark from `mark` to `last`; False if it is not at `mark` (SQLite: takes the write lock)."""
    conn = session.connection()
    mk = "?" if conn.dialect.name == "sqlite" else "%s"
    moved = conn.exec_driver_sql(f"UPDATE meta SET value = {mk} WHERE key = {mk} AND value = {mk}",
                                 (str(last), key, str(mark)))
    return moved.rowcount == 1
