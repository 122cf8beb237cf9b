"""Shared fixtures: real Redis (127.0.0.1:6379), real SQLite and PostgreSQL, the demo city."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis
from alembic import command
from sqlalchemy import text

from dashboard.settings import Settings, load_settings
from data_access.intake.reference_data import Gazetteer, load_reference
from data_access.store.engine import alembic_config, make_engine, make_sessionmaker

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent
#: The demo city is built once and cached here across test runs.
CACHE_DIR = ROOT / "var" / "test-cache"
TZ = timezone(timedelta(hours=8))


@pytest.fixture(scope="session")
def city():  # type: ignore[no-untyped-def]
    from geo.demo_city import load_demo_city

    return load_demo_city(CACHE_DIR, 12345)


@pytest.fixture(scope="session")
def gazetteer(city) -> Gazetteer:  # type: ignore[no-untyped-def]
    return Gazetteer(city)


@pytest.fixture()
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def settings(prefix: str, tmp_path: Path) -> Settings:
    return load_settings(
        hotline_prefix=prefix, var_dir=CACHE_DIR, redis_url=REDIS_URL, ingest_block_ms=100, demo=False,
        ingest_claim_idle_ms=1000,
    )


@pytest.fixture()
def rds(prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    yield client
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _pg_schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@contextmanager
def make_store(kind: str, tmp_path: Path, city, revision: str = "head") -> Iterator[tuple[Any, Any, str]]:  # type: ignore[no-untyped-def]
    """A store of this kind migrated to `revision` with the reference data: (engine, sessions, url)."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / f'store-{uuid.uuid4().hex[:6]}.sqlite'}"
        schema = None
    else:
        schema = f"t_{uuid.uuid4().hex[:10]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        url = _pg_schema_url(schema)
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), revision)
    sessions = make_sessionmaker(engine)
    with sessions() as s, s.begin():
        load_reference(s, city)
    try:
        yield engine, sessions, url
    finally:
        engine.dispose()
        if schema:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, city) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A migrated store with the reference data, on SQLite and on PostgreSQL: (engine, sessions, url)."""
    with make_store(request.param, tmp_path, city) as st:
        yield st


def ev(type_: str, appeal: str, at: datetime, eid: str | None = None, **fields: Any) -> str:
    """A contract event as the JSON text an intake system would write."""
    body = {"v": 1, "id": eid or f"{appeal}-{type_}-{at.timestamp()}", "type": type_, "appeal": appeal,
            "at": at.astimezone(TZ).isoformat(), **fields}
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
        return issue_display_token(s, "test wall", scope or Scope("command_center"), datetime.now(timezone.utc))[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its tier's folder: `pytest -m unit` is the inner loop (no services, no browser)."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in ("unit", "integration", "browser"):
            item.add_marker(getattr(pytest.mark, tier))
