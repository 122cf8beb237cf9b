"""Appeals the projection could not fold: left out of their batch so that their partition goes on, recorded with
the reason (`projection_failures`) and marked on their row (`appeals.projection_failed_at`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from data_access.store.bulk import chunks
from data_access.store.models import Appeal, AppealEvent, ProjectionFailure

#: Longest reason kept (an exception's first line, a value quoted in it).
REASON_LEN = 500

_TABLE = ProjectionFailure.__table__


@dataclass(frozen=True)
class Failure:
    """Why an appeal could not be folded: the event (None: its newest) and the reason."""

    event: str | None
    reason: str


def reason(exc: BaseException) -> str:
    """An exception as the short reason recorded: its type and first line (the driver's own, for a store error)."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(orig).strip().splitlines() or [""])[0].replace("\x00", "\\x00")  # no text column takes NUL
    return f"{type(orig).__name__}: {first}"[:REASON_LEN]


def transient(exc: BaseException) -> bool:
    """Whether an error is the store's state, not the batch's (connection lost, server shutting down, locked,
    disk full, serialization): the batch is retried as it is, nothing is isolated."""
    if isinstance(exc, (DisconnectionError, PoolTimeout)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return isinstance(
        orig, (psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError, sqlite3.InterfaceError)
    )


def refused_value(exc: BaseException) -> bool:
    """Whether a failed write is the values' fault: the store refuses some appeal's row (a string too long for its
    column, a NUL in text, a constraint), or the driver cannot convert a value. Not a lost connection, nor an
    error of the store's own (a missing table, no permission) or of the code (a missing key): those hold for
    every appeal alike."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return isinstance(
        orig,
        (
            psycopg.DataError,
            psycopg.IntegrityError,
            sqlite3.DataError,
            sqlite3.IntegrityError,
            ValueError,
            OverflowError,
            TypeError,
        ),
    )


def isolated_appeals(session: Session) -> set[str]:
    """Every appeal the projection left out (a few, if any: read whole each batch)."""
    return set(session.scalars(select(_TABLE.c.appeal)))


def record_failures(session: Session, failed: Mapping[str, Failure], now: datetime) -> None:
    """Record these appeals as failed now (counting the attempts of those failed before) and mark their rows; a
    row's fold state goes, so that the appeal is folded whole from its events next time."""
    if not failed:
        return
    before = {
        r.appeal: r
        for part in chunks(sorted(failed))
        for r in session.scalars(select(ProjectionFailure).where(ProjectionFailure.appeal.in_(part)))
    }
    for appeal, f in sorted(failed.items()):
        ev = (
            session.execute(select(AppealEvent.id, AppealEvent.seq).where(AppealEvent.id == f.event)).first()
            if f.event
            else session.execute(
                select(AppealEvent.id, AppealEvent.seq)
                .where(AppealEvent.appeal == appeal)
                .order_by(AppealEvent.seq.desc())
                .limit(1)
            ).first()
        )
        row = before.get(appeal)
        if row is None:
            row = ProjectionFailure(appeal=appeal, first_failed_at=now, attempts=0)
            session.add(row)
        row.event, row.event_seq = (ev[0], ev[1]) if ev else (f.event, None)
        row.reason, row.last_failed_at = f.reason, now
        row.attempts += 1
    session.flush()
    for appeal in sorted(failed):
        session.execute(update(Appeal).where(Appeal.id == appeal).values(projection_failed_at=now, fold_state=None))


def clear_failures(session: Session, appeals: Collection[str]) -> None:
    """These appeals folded after all: their records go, their rows' marks too."""
    if not appeals:
        return
    for part in chunks(sorted(appeals)):
        session.execute(delete(ProjectionFailure).where(ProjectionFailure.appeal.in_(part)))
        session.execute(update(Appeal).where(Appeal.id.in_(part)).values(projection_failed_at=None))


def failure_of(session: Session, appeal: str) -> ProjectionFailure | None:
    """The projection's record of an appeal it could not fold (None: it folds)."""
    return session.get(ProjectionFailure, appeal)


def failures_summary(session: Session) -> dict[str, Any]:
    """How many appeals are left out, and the newest failure (appeal, event, reason, when)."""
    count = session.scalar(select(func.count()).select_from(_TABLE)) or 0
    newest = session.scalars(
        select(ProjectionFailure).order_by(ProjectionFailure.last_failed_at.desc(), ProjectionFailure.appeal).limit(1)
    ).first()
    return {
        "isolated": count,
        "newest": None
        if newest is None
        else {
            "appeal": newest.appeal,
            "event": newest.event,
            "reason": newest.reason,
            "at": newest.last_failed_at,
        },
    }
