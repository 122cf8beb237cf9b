"""DATABASE_READ_URL against a real streaming replica that the tests start (tests/replica_support.py).

The app starts as in production (`start_services`: the primary migrated and loaded, the replica checked); events
go through real Redis and the ingest worker into the primary; the screens' figures are read from the standby. To
tell the two apart, the standby's replay is held: what the primary holds but the standby has not replayed is
missing from the read API until replay goes on, while sign-in and a case action, which must reach the primary,
work meanwhile."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app import create_app
from dashboard.scopes import Scope
from dashboard.settings import SettingsError, load_settings
from data_access.accounts.users import create_user
from data_access.intake.consumer import IngestWorker
from data_access.ops.health import health
from data_access.ops.services import Services, start_services
from data_access.store.models import Appeal, SupervisionCase
from tests.casework_support import ask_case, confirm, text_of
from tests.conftest import CACHE_DIR, REDIS_URL, _drop_schema, _new_schema, _pg_schema_url, ev, new_prefix, redis_client
from tests.ingest_support import drain, push
from tests.replica_support import Replica, pause_replay, primary_lsn, replica, wait_replayed
from tests.wall_support import created

__all__ = ["replica"]  # the session fixture, used here


@pytest.fixture(scope="module")
def world(replica: Replica, city) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The app over a fresh schema of the primary, reading from the standby's copy of it."""
    schema = _new_schema("rpl")
    prefix = new_prefix()
    settings = load_settings(
        hotline_prefix=prefix,
        var_dir=CACHE_DIR,
        redis_url=REDIS_URL,
        database_url=_pg_schema_url(schema),
        database_read_url=replica.url(schema),
        demo=False,
        ingest_block_ms=100,
    )
    svc: Services | None = None
    try:
        with redis_client(prefix) as rds:
            svc = start_services(settings)
            worker = IngestWorker(settings, rds, svc.sessions, svc.engine, svc.gazetteer)
            worker.ensure_groups()
            yield {"svc": svc, "app": create_app(svc), "worker": worker, "rds": rds, "replica": replica}
    finally:
        if svc is not None:
            svc.close()
        _drop_schema(schema)


def _next_tick(svc: Services) -> None:
    """Wait one refresh period: the screens' figures are shared per tick (`wall:live`), so a change shows from the
    next tick on."""
    time.sleep(svc.settings.refresh_ms / 1000)


def _summary(c: Any) -> dict[str, Any]:
    r = c.get("/api/v1/summary?view=city")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_json()["summary"]


def test_rpl001_screens_read_the_replica_and_writes_reach_the_primary(world, city) -> None:  # type: ignore[no-untyped-def]
    svc, app, rep = world["svc"], world["app"], world["replica"]
    assert svc.replica is not None and svc.reads is not svc.sessions
    with svc.reads() as s:  # the screens' sessions are on the standby
        assert s.scalar(text("SELECT pg_is_in_recovery()")) is True
        assert s.scalar(text("SELECT inet_server_port()")) == rep.port
    report = health(svc, None)[1]
    assert report["replica"]["ok"] is True and report["replica"]["in_recovery"] is True, report

    pause_replay(rep, True)
    try:
        # Sign-in: the account and its session are written to the primary (the standby replays none of it now).
        now = datetime.now(UTC)
        with svc.sessions() as s, s.begin():
            create_user(s, "rplchief", "correct horse battery", Scope("command_center"), now)
        c = app.server.test_client()
        r = c.post("/login", data={"username": "rplchief", "password": "correct horse battery"})
        assert r.status_code == 302 and c.get_cookie("cc_session") is not None
        before = _summary(c)  # the guard found the session on the primary; the figures come from the standby

        # Ingest on the primary: real events through Redis and the ingest worker, folded by the projection.
        comm = city.communities.iloc[0]
        at = datetime.now(UTC) - timedelta(minutes=5)
        push(
            world["rds"],
            svc.settings.stream("events"),
            [created("RPL-1", at, comm["code"]), ev("dispatched", "RPL-1", at, "RPL-1-d", unit=comm["street"])],
        )
        drain(world["worker"])
        with svc.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Appeal).where(Appeal.id == "RPL-1")) == 1
        target = primary_lsn()

        # The standby has not replayed it: the read API and the wall's figure do not show it yet.
        assert c.get("/api/v1/appeals/RPL-1").status_code == 404
        assert _summary(c)["open"] == before["open"]
        lagging = health(svc, None)[1]["replica"]
        assert lagging["ok"] is True and lagging["lag_s"] is not None and lagging["lag_s"] > 0, lagging
        strict = replace(svc, settings=svc.settings.model_copy(update={"replica_max_lag_s": lagging["lag_s"] / 2}))
        ok, report = health(strict, None)
        assert not ok and any(s.startswith("replica: the screens read") for s in report["stalled"]), report
    finally:
        pause_replay(rep, False)

    # After replication the screens show it.
    wait_replayed(rep, target)
    r = c.get("/api/v1/appeals/RPL-1")
    assert r.status_code == 200 and r.get_json()["id"] == "RPL-1", r.get_data(as_text=True)[:300]
    _next_tick(svc)
    after = _summary(c)
    assert after["open"] == before["open"] + 1

    # A case action goes to the primary, with replay held again: the standby learns of it only once it goes on.
    pause_replay(rep, True)
    try:
        asked = ask_case(c, app, "open", "RPL-1")
        done = confirm(c, app, asked["case-pending"]["data"])
        assert "Supervision case" in text_of(done), text_of(done)[:300]
        with svc.sessions() as s:
            assert s.scalar(select(func.count()).select_from(SupervisionCase).where(SupervisionCase.appeal == "RPL-1"))
        with svc.reads() as s:
            assert not s.scalar(
                select(func.count()).select_from(SupervisionCase).where(SupervisionCase.appeal == "RPL-1")
            )
        assert _summary(c)["cases_open"] == after["cases_open"]
        target = primary_lsn()
    finally:
        pause_replay(rep, False)
    wait_replayed(rep, target)
    _next_tick(svc)
    assert _summary(c)["cases_open"] == after["cases_open"] + 1


def test_rpl002_a_wrong_replica_stops_start_up_naming_it(replica: Replica) -> None:
    """A replica URL whose store is not the primary's (another schema) stops start-up naming DATABASE_READ_URL."""
    schema = _new_schema("rpl")
    try:
        settings = load_settings(
            var_dir=CACHE_DIR,
            redis_url=REDIS_URL,
            database_url=_pg_schema_url(schema),
            database_read_url=replica.url("rpl_no_such_schema"),
            demo=False,
        )
        with pytest.raises(SettingsError, match="DATABASE_READ_URL"):
            start_services(settings, load_reference_data=False)
    finally:
        _drop_schema(schema)


def test_rpl003_an_unreachable_replica_stops_start_up_naming_it() -> None:
    """A replica that does not answer stops start-up naming DATABASE_READ_URL (no standby needed for this)."""
    schema = _new_schema("rpl")
    try:
        settings = load_settings(
            var_dir=CACHE_DIR,
            redis_url=REDIS_URL,
            database_url=_pg_schema_url(schema),
            database_read_url="postgresql+psycopg://postgres@127.0.0.1:1/test",
            demo=False,
        )
        with pytest.raises(SettingsError, match="DATABASE_READ_URL: the replica cannot be read"):
            start_services(settings, load_reference_data=False)
    finally:
        _drop_schema(schema)
