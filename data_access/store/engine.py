"""Engine, sessions and schema migrations of the store (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from dashboard.settings import Settings
from data_access.store.deferred_indexes import restore

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_WAIT_MS = 200


def database_url(settings: Settings) -> str:
    """The store's URL: DATABASE_URL, or SQLite under var/."""
    if settings.database_url:
        return settings.database_url
    path = (settings.var_dir / "store.sqlite").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def log_path(database: str | None) -> str | None:
    """Where a SQLite store keeps its event log: a file of its own beside the store's (None for a store in
    memory or given as a URI: its log stays in the store).

    The ingest worker appends to the log while the projectors rewrite appeals; in one file they would take turns
    at SQLite's one write lock (and each writer's commits would empty the other's page cache)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    stem, dot, ext = database.rpartition(".")
    return f"{stem}-log.{ext}" if dot else f"{database}-log"


def _sqlite_connect(database: str | None, writer: bool) -> Callable[[Any, object], None]:
    """Per connection: attach the event log (unless the store is in memory), WAL and a busy timeout for both files;
    for the writers also larger page caches (256 MB for the appeals the projectors rewrite all over, 64 MB for the
    log, where new entries go) and checkpoints every 40 MB of WAL instead of every 4 MB
    (a page rewritten by many batches is written back once). The ingest worker still checkpoints (TRUNCATE)
    every CHECKPOINT_EVERY_S, so the WAL stays bounded."""
    log_file = log_path(database)

    def connect(dbapi_conn: Any, _record: object) -> None:
        cur = dbapi_conn.cursor()
        if log_file:
            cur.execute("ATTACH DATABASE ? AS log", (log_file,))
        for schema in ("main", "log") if log_file else ("main",):
            cur.execute(f"PRAGMA {schema}.journal_mode=WAL")
            cur.execute(f"PRAGMA {schema}.synchronous=NORMAL")
            cur.execute(f"PRAGMA {schema}.journal_size_limit=67108864")
            if writer:
                cur.execute(f"PRAGMA {schema}.cache_size={-262144 if schema == 'main' else -65536}")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        if writer:
            cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.close()

    return connect


#: SQLite errors after which a connection must not be used again: one opened while its file could not be written
#: stays read-only for good, even once the file can be written again.
SQLITE_FILE_LOST = ("attempt to write a readonly database", "disk I/O error", "unable to open database file")


def _sqlite_file_lost(ctx: Any) -> None:
    """Count a connection whose file could not be written as lost, so the pool opens a new one next time."""
    if str(ctx.original_exception).startswith(SQLITE_FILE_LOST):
        ctx.is_disconnect = True


def make_engine(url: str, writer: bool = False) -> Engine:
    """An engine with the settings each backend needs (WAL, busy timeout and the attached log on SQLite).

    `writer`: the ingest worker's and projectors' own engines (on SQLite larger page caches, rarer checkpoints)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_connect(u.database, writer))
        event.listen(engine, "handle_error", _sqlite_file_lost)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """The one session factory; callers own `with factory() as s, s.begin():`."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration bound to an engine (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest version, in place, with every index (those a bulk load killed before its end
    left out built again: data_access.store.deferred_indexes)."""
    command.upgrade(alembic_config(engine), "head")
    restore(engine)


def checkpoint(engine: Engine) -> None:
    """Fold SQLite's WALs (store and log) back into their files so they cannot grow without bound; no-op elsewhere.

    A truncating checkpoint waits for readers and holds up writers meanwhile: it waits CHECKPOINT_WAIT_MS at
    most (a long read of the folder or a screen) and leaves it to the next one (automatic checkpoints still
    copy pages back in between)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
        try:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def ping(engine: Engine) -> None:
    """Raise if the store cannot answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
