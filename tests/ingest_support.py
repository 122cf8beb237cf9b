"""Helpers of the ingest tests: push contract events to a stream, drain a worker, read the store back."""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy import func, select

from data_access.intake.consumer import IngestWorker
from data_access.projection.projector import Projector
from data_access.store.models import Appeal, AppealEvent


def drain(worker: IngestWorker) -> None:
    """Step until both streams have nothing waiting, then fold every queued event into its appeal."""
    log_all(worker)
    Projector(worker.s, worker.sessions).drain()


def log_all(worker: IngestWorker) -> None:
    """Step until both streams have nothing waiting (every event logged, none folded)."""
    idle = 0
    while idle < 2:
        idle = idle + 1 if worker.step() == 0 else 0


def push(rds: redis.Redis, key: str, texts: list[str]) -> None:
    """Append contract event texts to a stream, as an intake system would."""
    pipe = rds.pipeline(transaction=False)
    for t in texts:
        pipe.xadd(key, {"event": t})
    pipe.execute()


def appeals_table(store) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every stored appeal row, by id."""
    _, sessions, _ = store
    with sessions() as s:
        rows = s.execute(select(Appeal.__table__)).mappings().all()
    return {r["id"]: dict(r) for r in rows}


def counts(store) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(logged events, appeals) in the store."""
    _, sessions, _ = store
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(AppealEvent)), s.scalar(
            select(func.count()).select_from(Appeal)
        )
