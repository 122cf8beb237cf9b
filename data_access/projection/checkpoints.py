"""Checkpoints of the projection: the last logged event each partition has folded (`projection_checkpoints`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, select, update
from sqlalchemy.orm import Session

from data_access.store.bulk import dialect_insert
from data_access.store.models import ProjectionCheckpoint

_TABLE = ProjectionCheckpoint.__table__
_C = _TABLE.c


def checkpoints(session: Session) -> dict[tuple[int, int], int]:
    """Every partition's checkpoint by (partition, partitions): the `seq` of the last event it folded (each of
    its events up to it is folded)."""
    rows = session.execute(select(_C.partition, _C.partitions, _C.position))
    return {(p, n): int(pos) for p, n, pos in rows}


def lowest_checkpoint(session: Session) -> int:
    """The lowest checkpoint: every event up to it is folded, whichever partition it belongs to."""
    return min(checkpoints(session).values(), default=0)


def checkpoint_or_lay_out(session: Session, partition: int, partitions: int) -> int:
    """The checkpoint of `partition` of `partitions`; first, if the store was projected in another number of
    partitions, a checkpoint for each partition at the lowest of the old ones (events after it that some
    partition had folded already fold again, harmlessly)."""
    known = checkpoints(session)
    if (partition, partitions) in known:
        return known[(partition, partitions)]
    low = min(known.values(), default=0)
    now = datetime.now(UTC)
    keys = [(p, partitions) for p in range(partitions)]
    session.execute(
        dialect_insert(session, _TABLE).on_conflict_do_nothing(),
        [{"partition": p, "partitions": n, "position": low, "updated_at": now} for p, n in keys],
    )
    for p, n in sorted(set(known) - set(keys)):  # in one order: projectors laying out at once wait, not deadlock
        session.execute(delete(_TABLE).where(and_(_C.partition == p, _C.partitions == n)))
    return checkpoints(session)[(partition, partitions)]


def move_checkpoint(session: Session, partition: int, partitions: int, position: int, last: int) -> bool:
    """Move the checkpoint of `partition` from `position` to `last`; False if it is not at `position` (SQLite:
    takes the write lock)."""
    moved = session.execute(
        update(_TABLE)
        .where(and_(_C.partition == partition, _C.partitions == partitions, _C.position == position))
        .values(position=last, updated_at=datetime.now(UTC))
    )
    return cast("CursorResult[Any]", moved).rowcount == 1  # an UPDATE's result has a row count
