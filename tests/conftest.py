"""Shared fixtures: real Redis (127.0.0.1:6379), real SQLite and PostgreSQL, the demo city."""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis
from alembic import command
from dash.testing.application_runners import BaseDashRunner
from sqlalchemy import Engine, inspect, text

from dashboard.settings import Settings, load_settings
from data_access.intake.reference_data import Gazetteer, load_reference
from data_access.store.engine import (
    alembic_config,
    checkpoint,
    log_path,
    make_engine,
    make_sessionmaker,
    migrate,
)

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# dash_duo serves each app on the next port from 8050: two test runs on one machine (or pytest-xdist workers) would
# reach each other's servers. Each run starts from a random port of its own instead.
BaseDashRunner._next_port = random.randrange(20_000, 40_000, 100)
PG_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent
#: The demo city is built once and cached here across test runs.
CACHE_DIR = ROOT / "var" / "test-cache"
TZ = timezone(timedelta(hours=8))


@functools.cache
def demo_city():  # type: ignore[no-untyped-def]
    """The demo city (seed 12345), read once per run from its cache."""
    from geo.demo_city import load_demo_city

    return load_demo_city(CACHE_DIR, 12345)


@pytest.fixture(scope="session")
def city():  # type: ignore[no-untyped-def]
    return demo_city()


@pytest.fixture(scope="session")
def gazetteer(city) -> Gazetteer:  # type: ignore[no-untyped-def]
    return Gazetteer(city)


def new_prefix() -> str:
    """A key prefix of its own for one test's (or one module's) Redis streams."""
    return f"test-{uuid.uuid4().hex[:10]}"


def settings_for(prefix: str) -> Settings:
    """Settings of a test: its own stream prefix, the real Redis, the cached demo city, no demo feed."""
    return load_settings(
        hotline_prefix=prefix,
        var_dir=CACHE_DIR,
        redis_url=REDIS_URL,
        ingest_block_ms=100,
        demo=False,
        ingest_claim_idle_ms=1000,
    )


@contextmanager
def redis_client(prefix: str) -> Iterator[redis.Redis]:
    """A client of the real Redis; the keys under `prefix` are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    try:
        yield client
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture()
def prefix() -> str:
    return new_prefix()


@pytest.fixture()
def settings(prefix: str) -> Settings:
    return settings_for(prefix)


@pytest.fixture()
def rds(prefix: str) -> Iterator[redis.Redis]:
    with redis_client(prefix) as client:
        yield client


def _pg_schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


#: Per backend, a migrated store with the demo city's reference data (the SQLite file or the PostgreSQL schema),
#: made once per run: loading 120,000 rows of reference data into every test's store took most of the suite's time.
_TEMPLATES: dict[str, str] = {}


def _new_schema(prefix: str) -> str:
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return schema


def _drop_schema(schema: str) -> None:
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def _template(kind: str, city) -> str:  # type: ignore[no-untyped-def]
    """The template store of this kind, built the way the app builds its store (migrate, then load the city)."""
    if kind not in _TEMPLATES:
        if kind == "sqlite":
            where = str(Path(tempfile.mkdtemp(prefix="store-template-")) / "store.sqlite")
            _TEMPLATES["sqlite-dir"] = str(Path(where).parent)
            url = f"sqlite:///{where}"
        else:
            where = _new_schema("tmpl")
            _TEMPLATES[kind] = where  # dropped at the end of the run even if loading fails
            url = _pg_schema_url(where)
        engine = make_engine(url)
        migrate(engine)
        with make_sessionmaker(engine)() as s, s.begin():
            load_reference(s, city)
        checkpoint(engine)
        engine.dispose()
        _TEMPLATES[kind] = where
    return _TEMPLATES[kind]


def _copy_sqlite(template: str, path: Path) -> None:
    """Copy the template's files (store and event log; their WALs are checkpointed and closed)."""
    for src in (template, log_path(template)):
        assert src and not Path(f"{src}-wal").exists(), f"{src} still has a WAL"
    shutil.copyfile(template, path)
    shutil.copyfile(str(log_path(template)), str(log_path(str(path))))


def _copy_pg(template: str, schema: str, engine: Engine) -> None:
    """Fill a migrated schema with the template's rows (no foreign keys; what migrations wrote is kept)."""
    tables = [t for t in inspect(engine).get_table_names(schema=template) if t != "alembic_version"]
    with engine.begin() as conn:
        for t in tables:
            conn.execute(text(f"INSERT INTO {schema}.{t} SELECT * FROM {template}.{t} ON CONFLICT DO NOTHING"))
        counts = {
            t: conn.scalar(text(f"SELECT (SELECT count(*) FROM {schema}.{t}) - (SELECT count(*) FROM {template}.{t})"))
            for t in tables
        }
    assert set(counts.values()) == {0}, f"the copy differs from its template: {counts}"


def pytest_sessionfinish() -> None:
    """Drop the templates."""
    if "postgresql" in _TEMPLATES:
        _drop_schema(_TEMPLATES.pop("postgresql"))
    if "sqlite-dir" in _TEMPLATES:
        shutil.rmtree(_TEMPLATES.pop("sqlite-dir"), ignore_errors=True)


@contextmanager
def make_store(kind: str, tmp_path: Path, city, revision: str = "head") -> Iterator[tuple[Any, Any, str]]:  # type: ignore[no-untyped-def]
    """A store of this kind migrated to `revision` with the reference data: (engine, sessions, url).

    At head, a copy of the run's template store for the demo city; any other store is built in full."""
    template = _template(kind, city) if city is demo_city() and revision == "head" else None
    schema = None
    if kind == "sqlite":
        path = tmp_path / f"store-{uuid.uuid4().hex[:6]}.sqlite"
        if template:
            _copy_sqlite(template, path)
        url = f"sqlite:///{path}"
    else:
        schema = _new_schema("t")
        url = _pg_schema_url(schema)
    engine = make_engine(url)
    try:
        if kind != "sqlite" or not template:
            command.upgrade(alembic_config(engine), revision)
        if schema and template:
            _copy_pg(template, schema, engine)
        elif not template:
            with make_sessionmaker(engine)() as s, s.begin():
                load_reference(s, city)
        yield engine, make_sessionmaker(engine), url
    finally:
        engine.dispose()
        if schema:
            _drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, city) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A migrated store with the reference data, on SQLite and on PostgreSQL: (engine, sessions, url)."""
    with make_store(request.param, tmp_path, city) as st:
        yield st


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, city) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Like `store`, one per module and backend: for tests that only read it (or whose writes are refused)."""
    with make_store(request.param, tmp_path_factory.mktemp("store"), city) as st:
        yield st


def ev(type_: str, appeal: str, at: datetime, eid: str | None = None, **fields: Any) -> str:
    """A contract event as the JSON text an intake system would write."""
    body = {
        "v": 1,
        "id": eid or f"{appeal}-{type_}-{at.timestamp()}",
        "type": type_,
        "appeal": appeal,
        "at": at.astimezone(TZ).isoformat(),
        **fields,
    }
    return json.dumps(body, ensure_ascii=False)


@contextmanager
def acting_as(scope: Any, services: Any = None) -> Iterator[None]:
    """Run callbacks called directly as if inside a request of this scope (as the guard would set it)."""
    import flask

    from data_access.accounts.sessions import Identity

    with flask.Flask("test").test_request_context():
        flask.g.identity = Identity("test", scope, "user")
        flask.g.services = services
        yield


def display_token(sessions: Any, scope: Any = None) -> str:
    """A display token of this scope (the command center by default) issued in the store."""
    from dashboard.scopes import Scope
    from data_access.accounts.sessions import issue_display_token

    with sessions() as s, s.begin():
        return issue_display_token(s, "test wall", scope or Scope("command_center"), datetime.now(UTC))[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its tier's folder: `pytest -m unit` is the inner loop (no services, no browser)."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in ("unit", "integration", "browser"):
            item.add_marker(getattr(pytest.mark, tier))
