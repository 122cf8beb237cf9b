"""A PostgreSQL read replica of the store (DATABASE_READ_URL): opening it at start-up, and its state for /healthz.

The replica is a streaming (physical) standby of the primary: the same schema and rows, a little behind. The
screens and the read API read from it; everything that writes stays on the primary (see `Services.reads`)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dashboard.settings import SettingsError
from data_access.store.engine import make_engine

#: Seconds to wait for a connection to the replica, unless its URL says (libpq's `connect_timeout`).
CONNECT_TIMEOUT_S = 10
#: How long start-up waits for the replica to replay a migration the primary has just run, seconds.
CATCH_UP_S = 30.0

#: Lag behind the primary: none when everything received is replayed (an idle primary sends nothing, so the age of
#: the last replayed transaction would grow for nothing), else the age of the last transaction replayed.
_STATE = text(
    """
    SELECT pg_is_in_recovery(),
           CASE WHEN NOT pg_is_in_recovery() THEN NULL
                WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0.0
                ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp()))::float8 END,
           pg_last_xact_replay_timestamp()
    """
)


@dataclass(frozen=True)
class ReplicaState:
    """What /healthz says of the replica."""

    ok: bool
    in_recovery: bool | None = None
    lag_s: float | None = None
    last_replayed: str | None = None
    error: str | None = None

    def report(self) -> dict[str, Any]:
        """The state as /healthz shows it."""
        return asdict(self)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def open_replica(url: str, primary: Engine) -> Engine:
    """An engine on the replica, checked: it answers and holds the primary's schema (a replica of another store,
    or one that has not replayed the primary's migrations within CATCH_UP_S, stops start-up naming
    DATABASE_READ_URL)."""
    u = make_url(url)
    if "connect_timeout" not in u.query:  # a replica gone from the network answers /healthz in seconds, not minutes
        u = u.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
    engine = make_engine(u.render_as_string(hide_password=False))
    try:
        want = _revision(primary)
        deadline = time.monotonic() + CATCH_UP_S
        while (got := _revision(engine)) != want and time.monotonic() < deadline:
            time.sleep(0.2)
    except SQLAlchemyError as exc:
        engine.dispose()
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise SettingsError(f"DATABASE_READ_URL: the replica cannot be read: {first}") from None
    if got != want:
        engine.dispose()
        raise SettingsError(
            f"DATABASE_READ_URL: the replica's store is at schema {got}, the primary's at {want}: "
            "is it a replica of DATABASE_URL (same database and search_path)?"
        )
    return engine


def replica_state(engine: Engine) -> ReplicaState:
    """Whether the replica answers, whether it is in recovery (a standby) and how far it replays behind."""
    try:
        with engine.connect() as conn:
            recovering, lag, last = conn.execute(_STATE).one()
    except SQLAlchemyError as exc:
        return ReplicaState(ok=False, error=str(exc).strip().splitlines()[0][:200])
    return ReplicaState(
        ok=True,
        in_recovery=bool(recovering),
        lag_s=None if lag is None else round(float(lag), 3),
        last_replayed=last.isoformat() if last is not None else None,
    )
