"""The secondary indexes a bulk load into an (almost) empty store leaves out and builds once at its end.

Each row written to the log or to `appeals` costs an entry in every index of its table (the log has four, `appeals`
twelve): on a large first load most of the store's work. `drop` removes the indexes of `DEFERRED` (every
non-unique index of the two tables but the log's `appeal`, which every batch of an import and every refold of the
projection reads by); `restore` builds whichever of them is missing, from the models' own definitions, each in one
pass over its table. The unique keys (ids of events and appeals) always stay, so a load run again adds nothing
twice, and every reader and writer stays correct meanwhile, only slower where it would have used a missing index.

`migrate` (every start of `python app.py`) and every import call `restore` first: a load killed before its end
leaves no store without its indexes for longer than until the next start or import."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, Index
from sqlalchemy.schema import CreateIndex

from data_access.store.models import Appeal, AppealEvent

log = logging.getLogger(__name__)

#: SQLite: the main schema's page cache while the indexes are built (KiB, negative as `PRAGMA cache_size` takes it;
#: SQLite's default), which sizes the sorter's runs (see `restore`).
SORT_RUN_CACHE = -2000

#: Indexes a bulk load may leave out: non-unique, and not read by the load itself.
KEPT = frozenset({"ix_appeal_events_appeal"})


def deferred() -> list[Index]:
    """The indexes `drop` removes, as the models define them."""
    out = []
    for table in (AppealEvent.__table__, Appeal.__table__):
        out += sorted((i for i in table.indexes if not i.unique and i.name not in KEPT), key=lambda i: str(i.name))
    return out


def _log_schema(conn: Connection) -> str:
    """'log.' where a SQLite store keeps its log in an attached file (data_access.store.engine), else ''."""
    if conn.dialect.name == "sqlite" and any(r[1] == "log" for r in conn.exec_driver_sql("PRAGMA database_list")):
        return "log."
    return ""


def _qualified(conn: Connection, index: Index, schema: str) -> str:
    return (
        f"{schema}{index.name}" if index.table is not None and index.table.name == "appeal_events" else str(index.name)
    )


def missing(engine: Engine) -> list[str]:
    """The names of `deferred` indexes the store lacks."""
    names = {str(i.name) for i in deferred()}
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            schemas = ["main"] + (["log"] if _log_schema(conn) else [])
            have = {
                r[0]
                for s in schemas
                for r in conn.exec_driver_sql(f"SELECT name FROM {s}.sqlite_master WHERE type = 'index'")
            }
        else:
            have = {
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename IN ('appeals', 'appeal_events')"
                )
            }
    return sorted(names - have)


def drop(engine: Engine) -> list[str]:
    """Drop the `deferred` indexes the store has; their names."""
    gone = [str(i.name) for i in deferred() if str(i.name) not in set(missing(engine))]
    with engine.begin() as conn:
        schema = _log_schema(conn)
        for i in deferred():
            if str(i.name) in gone:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_qualified(conn, i, schema)}")
    if gone:
        log.info("bulk load: %d secondary indexes left out until its end", len(gone))
    return gone


def restore(engine: Engine) -> list[str]:
    """Build every `deferred` index the store lacks (each in one pass over its table); their names."""
    lack = set(missing(engine))
    if not lack:
        return []
    t0 = time.monotonic()
    with engine.begin() as conn:
        schema = _log_schema(conn)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        else:
            # SQLite sorts an index's keys in runs as large as the main schema's page cache, then merges them: runs
            # of its default 2 MB, sorted by helper threads side by side, build an index about twice as fast as one
            # run in a writer's 256 MB cache (data_access.store.engine), sorted by one thread
            cache = conn.exec_driver_sql("PRAGMA main.cache_size").scalar()
            conn.exec_driver_sql(f"PRAGMA threads = {os.cpu_count() or 1}")
            conn.exec_driver_sql(f"PRAGMA main.cache_size = {SORT_RUN_CACHE}")
        try:
            for i in deferred():
                if str(i.name) in lack:
                    sql = str(CreateIndex(i, if_not_exists=True).compile(dialect=conn.dialect))
                    conn.exec_driver_sql(sql.replace(f"EXISTS {i.name} ", f"EXISTS {_qualified(conn, i, schema)} ", 1))
        finally:
            if conn.dialect.name == "sqlite":  # the connection goes back to the pool as it came
                conn.exec_driver_sql("PRAGMA threads = 0")
                conn.exec_driver_sql(f"PRAGMA main.cache_size = {cache}")
    log.info("bulk load: %d secondary indexes built in %.1f s", len(lack), time.monotonic() - t0)
    return sorted(lack)


def analyse(engine: Engine) -> None:
    """PostgreSQL: gather the planner's statistics of the two tables a bulk load filled. Without them (autovacuum
    off, or not come round yet) the planner takes the log for a few hundred rows and picks plans that read it
    whole once per row."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE appeal_events, appeals")


@contextmanager
def left_out(engine: Engine, leave_out: bool = True) -> Iterator[None]:
    """A bulk load's span: any index a load killed earlier left out built first; with `leave_out`, the `deferred`
    indexes dropped meanwhile and built at the end (also when the load fails); the statistics gathered last."""
    restore(engine)
    try:
        if not leave_out:
            yield
            return
        drop(engine)
        try:
            yield
        finally:
            restore(engine)
    finally:
        analyse(engine)
