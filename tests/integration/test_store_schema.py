"""The store's schema and files: migrations upgrade a deployed store in place (SQLite and PostgreSQL); SQLite
housekeeping does not hold up the writers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from data_access.store.engine import alembic_config, log_path, make_engine
from tests.conftest import PG_URL, _pg_schema_url


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database of each kind."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
        yield engine
        engine.dispose()
        return
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(_pg_schema_url(schema))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _event(i: int) -> dict[str, Any]:
    return {"id": f"e-{i}", "appeal": f"A-{i % 3}", "type": "closed", "at": datetime(2026, 11, 22, 9, i),
            "payload": "{}", "source": f"{i}-0", "received_at": datetime(2026, 11, 22, 10, i)}


def test_schema001_event_seq_keeps_queued_events_unfolded(bare_engine: Engine) -> None:
    """0007 -> 0008: events are numbered in the order received, the fold mark stops before the first event the
    queue still held, the queue is gone; and back down, the queue holds what is after the mark again."""
    cfg = alembic_config(bare_engine)
    command.upgrade(cfg, "0007")
    cols = "id, appeal, type, at, payload, source, received_at"
    with bare_engine.begin() as conn:
        for i in (4, 1, 3, 0, 2, 5):  # inserted out of order: numbering follows received_at
            conn.execute(text(f"INSERT INTO appeal_events ({cols}) VALUES "
                              "(:id, :appeal, :type, :at, :payload, :source, :received_at)"), _event(i))
        for i in (3, 5):  # e-0..e-2 folded, e-3 and e-5 still queued (e-4 folded by an earlier batch)
            conn.execute(text("INSERT INTO fold_queue (appeal, event) VALUES (:a, :e)"),
                         {"a": f"A-{i % 3}", "e": f"e-{i}"})
    command.upgrade(cfg, "head")
    with bare_engine.connect() as conn:
        order = [r[0] for r in conn.execute(text("SELECT id FROM appeal_events ORDER BY seq"))]
        mark = conn.scalar(text("SELECT value FROM meta WHERE key = 'fold-seq'"))
        seq: dict[str, int] = dict(conn.execute(text("SELECT id, seq FROM appeal_events")).tuples().all())
        gen = conn.scalar(text("SELECT count(*) FROM meta WHERE key = 'fold-generation'"))
    assert order == [f"e-{i}" for i in range(6)]
    assert int(mark) == seq["e-3"] - 1
    assert gen == 0 and "fold_queue" not in inspect(bare_engine).get_table_names()
    if bare_engine.dialect.name == "sqlite":  # the log lives in its own file
        assert "appeal_events" not in inspect(bare_engine).get_table_names()
        assert "appeal_events" in inspect(bare_engine).get_table_names(schema="log")
        log_file = log_path(bare_engine.url.database)
        assert log_file is not None and Path(log_file).is_file()
    with bare_engine.begin() as conn:  # a duplicate id is refused; a new event is numbered after the rest
        conn.execute(text(f"INSERT INTO appeal_events ({cols}) VALUES "
                          "(:id, :appeal, :type, :at, :payload, :source, :received_at)"), _event(6))
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(text(f"INSERT INTO appeal_events ({cols}) VALUES "
                              "(:id, :appeal, :type, :at, :payload, :source, :received_at)"), _event(6))
        assert conn.scalar(text("SELECT seq FROM appeal_events WHERE id = 'e-6'")) > seq["e-5"]
    with bare_engine.begin() as conn:  # folded in two shares since: the lower mark is where the queue starts
        conn.execute(text("UPDATE meta SET key = 'fold-seq 1/2' WHERE key = 'fold-seq'"))
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('fold-seq 0/2', :v)"), {"v": str(seq["e-5"])})
    command.downgrade(cfg, "0007")
    with bare_engine.connect() as conn:
        queued = [r[0] for r in conn.execute(text("SELECT event FROM fold_queue ORDER BY seq"))]
        total = conn.scalar(text("SELECT count(*) FROM appeal_events"))
    assert queued == ["e-3", "e-4", "e-5", "e-6"] and total == 7
    with bare_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM meta WHERE key LIKE 'fold-seq%'")) == 0


def test_schema002_checkpoint_does_not_wait_on_a_long_read(tmp_path: Path) -> None:
    """A reader holding a snapshot keeps a truncating checkpoint from finishing: checkpoint() gives up instead of
    holding up writers, the store's busy timeout is back afterwards, and writes go on."""
    from data_access.store.engine import BUSY_TIMEOUT_MS, checkpoint, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'c.sqlite'}", writer=True)
    migrate(engine)
    reader = make_engine(f"sqlite:///{tmp_path / 'c.sqlite'}")
    cols = "id, appeal, type, at, payload, source, received_at"
    insert = text(f"INSERT INTO appeal_events ({cols}) VALUES (:id, :appeal, :type, :at, :payload, :source, :received_at)")
    with engine.begin() as conn:
        conn.execute(insert, _event(0))
    with reader.connect() as r:
        r.exec_driver_sql("BEGIN")
        assert r.exec_driver_sql("SELECT count(*) FROM appeal_events").scalar() == 1  # a snapshot of the log
        with engine.begin() as conn:
            conn.execute(insert, _event(1))
        checkpoint(engine)  # cannot truncate past the reader's snapshot: returns, does not raise
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
        with engine.begin() as conn:
            conn.execute(insert, _event(2))
        r.exec_driver_sql("COMMIT")
    checkpoint(engine)
    with reader.connect() as r:
        assert r.exec_driver_sql("SELECT count(*) FROM appeal_events").scalar() == 3
    engine.dispose()
    reader.dispose()
