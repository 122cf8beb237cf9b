"""Engine, sessions and schema migrations of the store (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from dashboard.settings import Settings

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> str:
    """The store's URL: DATABASE_URL, or SQLite under var/."""
    if settings.database_url:
        return settings.database_url
    path = (settings.var_dir / "store.sqlite").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_size_limit=67108864")
    cur.close()


def _sqlite_writer_pragmas(dbapi_conn: object, _record: object) -> None:
    # The ingest writer rewrites index pages all over the file: a 64 MB page cache keeps them in memory, and
    # checkpointing every 40 MB of WAL instead of every 4 MB writes a page rewritten by many batches once.
    # The worker still checkpoints (TRUNCATE) every CHECKPOINT_EVERY_S, so the WAL stays bounded.
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.close()


def make_engine(url: str, writer: bool = False) -> Engine:
    """An engine with the settings each backend needs (WAL and busy timeout on SQLite).

    `writer`: the ingest worker's own engine (on SQLite a larger page cache and rarer automatic checkpoints)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        if writer:
            event.listen(engine, "connect", _sqlite_writer_pragmas)
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
    """Bring the schema to the newest version, in place."""
    command.upgrade(alembic_config(engine), "head")


def checkpoint(engine: Engine) -> None:
    """Fold SQLite's WAL back into the database so it cannot grow without bound; no-op elsewhere."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def ping(engine: Engine) -> None:
    """Raise if the store cannot answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
