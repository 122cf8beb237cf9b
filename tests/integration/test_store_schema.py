"""The store's schema and files: migrations upgrade a deployed store in place (SQLite and PostgreSQL); SQLite
housekeeping does not hold up the writers."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from dashboard.contract import parse_event
from dashboard.partitions import partition_key, partition_of
from dashboard.settings import Settings
from data_access.intake.event_log import Accepted, Place, store_events
from data_access.intake.reference_data import Gazetteer
from data_access.projection.checkpoints import checkpoints
from data_access.projection.fold import refold_rows
from data_access.projection.projector import Projector, all_folded
from data_access.projection.writes import upsert_appeals
from data_access.store.engine import alembic_config, log_path, make_engine
from data_access.store.models import Appeal, ProjectionCheckpoint, UTCDateTime
from tests.conftest import PG_URL, _pg_schema_url, make_store
from tests.histories import histories
from tests.ingest_support import appeals_table


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
    return {
        "id": f"e-{i}",
        "appeal": f"A-{i % 3}",
        "type": "closed",
        "at": datetime(2026, 11, 22, 9, i),
        "payload": "{}",
        "source": f"{i}-0",
        "received_at": datetime(2026, 11, 22, 10, i),
    }


def test_schema001_event_seq_keeps_queued_events_unfolded(bare_engine: Engine) -> None:
    """0007 -> 0008 (and 0009): events are numbered in the order received, the fold mark stops before the first
    event the queue still held, the queue is gone; and back down, the queue holds what is after the mark again.
    (0010 moves the marks out of `meta`: test_schema003.)"""
    cfg = alembic_config(bare_engine)
    command.upgrade(cfg, "0007")
    cols = "id, appeal, type, at, payload, source, received_at"
    with bare_engine.begin() as conn:
        for i in (4, 1, 3, 0, 2, 5):  # inserted out of order: numbering follows received_at
            conn.execute(
                text(
                    f"INSERT INTO appeal_events ({cols}) VALUES "
                    "(:id, :appeal, :type, :at, :payload, :source, :received_at)"
                ),
                _event(i),
            )
        for i in (3, 5):  # e-0..e-2 folded, e-3 and e-5 still queued (e-4 folded by an earlier batch)
            conn.execute(
                text("INSERT INTO fold_queue (appeal, event) VALUES (:a, :e)"), {"a": f"A-{i % 3}", "e": f"e-{i}"}
            )
    command.upgrade(cfg, "0009")
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
        conn.execute(
            text(
                f"INSERT INTO appeal_events ({cols}) VALUES (:id, :appeal, :type, :at, :payload, :source, :received_at)"
            ),
            _event(6),
        )
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(
                text(
                    f"INSERT INTO appeal_events ({cols}) VALUES "
                    "(:id, :appeal, :type, :at, :payload, :source, :received_at)"
                ),
                _event(6),
            )
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
    insert = text(
        f"INSERT INTO appeal_events ({cols}) VALUES (:id, :appeal, :type, :at, :payload, :source, :received_at)"
    )
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


#: The event log as the ingest worker of revision 0009 wrote it (the partition key still named `fold_key`).
_LOG_0009 = sa.table(
    "appeal_events",
    *(
        sa.column(n)
        for n in ("id", "appeal", "fold_key", "type", "payload", "source", "grid", "community", "street", "district")
    ),
    sa.column("at", UTCDateTime()),
    sa.column("received_at", UTCDateTime()),
)


def _log_0009(engine: Engine, gazetteer: Gazetteer, texts: list[str], first: int, now: datetime) -> int:
    """Log events into a store at revision 0009 as its ingest worker did; return the last `seq`."""
    evs = [parse_event(t) for t in texts]
    places = gazetteer.place_events(evs)
    rows = []
    for i, (e, t, p) in enumerate(zip(evs, texts, places)):
        place = p if isinstance(p, Place) else None
        rows.append(
            {
                "id": e.id,
                "appeal": e.appeal,
                "fold_key": partition_key(e.appeal),
                "type": e.type,
                "at": e.at,
                "payload": t,
                "source": f"0-{first + i}",
                "received_at": now,
                "grid": place.grid if place else None,
                "community": place.community if place else None,
                "street": place.street if place else None,
                "district": place.district if place else None,
            }
        )
    with engine.begin() as conn:
        conn.execute(_LOG_0009.insert(), rows)
        return int(conn.scalar(text("SELECT MAX(seq) FROM appeal_events")))


def _fold_0009(sessions: Any, settings: Settings, appeals: set[str]) -> None:
    """Bring these appeals' rows up to date with every logged event, as a projector of revision 0009 did."""
    with sessions() as s, s.begin():
        upsert_appeals(s, refold_rows(s, sorted(appeals), settings))


def _meta_checkpoints(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT key, value FROM meta WHERE key LIKE 'fold-seq%'")).all())


def _log_columns(engine: Engine) -> set[str]:
    schema = "log" if engine.dialect.name == "sqlite" else None  # a SQLite store on disk keeps its log apart
    return {c["name"] for c in inspect(engine).get_columns("appeal_events", schema=schema)}


def _appeals_at_0009(store) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """`appeals_table` of the columns a 0009 store has (0012 adds `projection_failed_at`)."""
    cols = [c for c in Appeal.__table__.c if c.name != "projection_failed_at"]
    with store[1]() as s:
        return {r["id"]: dict(r) for r in s.execute(select(*cols)).mappings()}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_schema003_checkpoints_move_out_of_meta_in_place(  # type: ignore[no-untyped-def]
    kind, settings, gazetteer, city, tmp_path
):
    """0009 -> 0010 on a store in use, projected in two partitions with one behind the other: the checkpoints move
    from `meta` to `projection_checkpoints` and projecting goes on from them, reading each event after them once
    (none folded again, none passed over), to the appeals a clean replay gives; back down to 0009 they are in
    `meta` again, and a store projected in one partition ('fold-seq') comes up as partition 0 of 1."""
    texts = [t for h in histories(city, 120, seed=21).values() for t in h]
    random.Random(21).shuffle(texts)
    a, b = len(texts) // 3, 2 * len(texts) // 3
    now = datetime.now(UTC)
    with make_store(kind, tmp_path, city, revision="0009") as store:
        engine, sessions, _ = store
        cfg = alembic_config(engine)
        top_a = _log_0009(engine, gazetteer, texts[:a], 0, now)
        _fold_0009(sessions, settings, {parse_event(t).appeal for t in texts[:a]})
        top_b = _log_0009(engine, gazetteer, texts[a:b], a, now)  # partition 0 folds them, partition 1 not yet
        _fold_0009(sessions, settings, {x for t in texts[a:b] if partition_of(x := parse_event(t).appeal, 2) == 0})
        with engine.begin() as conn:  # as a 0009 projector laid out two partitions and moved their marks
            conn.execute(text("DELETE FROM meta WHERE key = 'fold-seq'"))
            conn.execute(
                text("INSERT INTO meta (key, value) VALUES ('fold-seq 0/2', :b), ('fold-seq 1/2', :a)"),
                {"a": str(top_a), "b": str(top_b)},
            )
        top = _log_0009(engine, gazetteer, texts[b:], b, now)  # logged, not yet folded
        before = _appeals_at_0009(store)
        assert "fold_key" in _log_columns(engine)

        command.upgrade(cfg, "head")
        with sessions() as s:
            assert checkpoints(s) == {(0, 2): top_b, (1, 2): top_a}
            assert (
                s.scalar(
                    select(func.count())
                    .select_from(ProjectionCheckpoint)
                    .where(ProjectionCheckpoint.updated_at.is_(None))
                )
                == 0
            )
        assert _meta_checkpoints(engine) == {}
        assert "partition_key" in _log_columns(engine) and "fold_key" not in _log_columns(engine)
        assert _appeals_at_0009(store) == before
        waiting = sum(
            1 for i, t in enumerate(texts) if i >= b or (i >= a and partition_of(parse_event(t).appeal, 2) == 1)
        )
        assert Projector(settings, sessions).drain() == waiting  # each event after its checkpoint, read once
        with sessions() as s:
            assert checkpoints(s) == {(0, 2): top, (1, 2): top} and all_folded(s)
        with make_store(kind, tmp_path, city) as clean:
            evs = [parse_event(t) for t in texts]
            items = [
                Accepted(e, t, f"0-{i}", p if isinstance(p, Place) else None)
                for i, (e, t, p) in enumerate(zip(evs, texts, gazetteer.place_events(evs)))
            ]
            with clean[1]() as s, s.begin():
                store_events(s, items, now)
            Projector(settings, clean[1]).drain()
            assert appeals_table(clean) == appeals_table(store)
            assert len(appeals_table(store)) == 120

        command.downgrade(cfg, "0009")
        assert _meta_checkpoints(engine) == {"fold-seq 0/2": str(top), "fold-seq 1/2": str(top)}
        assert "projection_checkpoints" not in inspect(engine).get_table_names()
        assert "fold_key" in _log_columns(engine) and "partition_key" not in _log_columns(engine)

        with engine.begin() as conn:  # as a 0009 store projected in one partition
            conn.execute(text("DELETE FROM meta WHERE key LIKE 'fold-seq%'"))
            conn.execute(text("INSERT INTO meta (key, value) VALUES ('fold-seq', :v)"), {"v": str(top)})
        command.upgrade(cfg, "head")
        with sessions() as s:
            assert checkpoints(s) == {(0, 1): top}
        assert Projector(settings, sessions).drain() == 0  # laid out again in two partitions, at the same place
        with sessions() as s:
            assert checkpoints(s) == {(0, 2): top, (1, 2): top}
