"""Wiring of the I/O parts a process needs: store, Redis, city model; started once per process."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import redis
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from dashboard.settings import Settings, SettingsError
from data_access.intake.reference_data import Gazetteer, load_reference, stored_index
from data_access.ops.embedded_redis import EmbeddedRedis, connect, redis_url
from data_access.store.engine import (
    database_url,
    log_path,
    make_engine,
    make_sessionmaker,
    migrate,
)
from data_access.store.replica import open_replica
from geo.city_index import CityIndex, index_of
from geo.contacts import FixedRoster, RosterFile
from geo.loader import CityDataError, load_city, load_roster
from geo.model import City

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The store, Redis and the city model of one process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis_url: str
    redis: redis.Redis
    city: City
    embedded_redis: EmbeddedRedis | None = None
    replica: Engine | None = None  # DATABASE_READ_URL's engine, checked at start-up (None: one store)

    @cached_property
    def gazetteer(self) -> Gazetteer:
        """The city's lookups for checking events (built on first use)."""
        return Gazetteer(self.city, self.settings.snap_distance_m)

    @cached_property
    def roster(self) -> RosterFile | FixedRoster:
        """The contacts roster (who answers for each unit, district, street and grid), read on first use and again
        when its file changes; a bad roster is a wrong setting: it stops start-up naming CONTACTS_FILE."""
        try:
            return load_roster(self.settings, self.city)
        except CityDataError as exc:
            raise SettingsError(f"CONTACTS_FILE: the contacts roster is wrong: {exc}") from None

    @cached_property
    def reads(self) -> sessionmaker[Session]:
        """Sessions of the screens and the read API: on the replica when DATABASE_READ_URL is set, else the store's.

        Only for reads that may be a moment behind: whatever writes (ingest, projection, outbox, escalation, case
        actions, sign-in, tokens, audit, report builds) or reads what it is about to write uses `sessions`."""
        return make_sessionmaker(self.replica) if self.replica is not None else self.sessions

    @property
    def url(self) -> str:
        """The store's URL, password included (for another process of this installation)."""
        return self.engine.url.render_as_string(hide_password=False)

    @cached_property
    def writer(self) -> tuple[Engine, sessionmaker[Session]]:
        """The ingest worker's own engine and sessions (tuned for writing; see `make_engine`)."""
        engine = make_engine(self.url, writer=True)
        return engine, make_sessionmaker(engine)

    def describe(self) -> str:
        """Where the store and Redis are, for the start-up banner."""
        url = make_url(str(self.engine.url))
        db = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite" and (log_file := log_path(url.database)):
            db += f"  (event log: {log_file})"
        if self.replica is not None:
            db += f"\nscreens read from replica: {self.replica.url.render_as_string(hide_password=True)}"
        kind = "embedded" if self.embedded_redis else "external"
        streams = f"{self.settings.stream('events')}, {self.settings.stream('presence')}"
        return f"store: {db}\nredis ({kind}): {self.redis_url}  streams: {streams}"

    def close(self) -> None:
        """Release connections and stop the embedded Redis if this process started it."""
        self.redis.close()
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()
        if "writer" in self.__dict__:
            self.writer[0].dispose()
        if self.embedded_redis:
            self.embedded_redis.stop()


@contextmanager
def _start_lock(settings: Settings) -> Iterator[None]:
    """Processes of one installation (web workers, ingest, report builds) start one at a time, under a lock file in
    VAR_DIR: two must not migrate the store, load its reference data or start the embedded Redis at once."""
    import fcntl

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.var_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def start_services(settings: Settings, load_reference_data: bool = True) -> Services:
    """Open the store (migrated), Redis (embedded if no URL) and the city model, under the start lock."""
    with _start_lock(settings):
        return _start_services(settings, load_reference_data)


def start_store(settings: Settings) -> tuple[Engine, sessionmaker[Session], CityIndex]:
    """The store (migrated) and the city's index, for a process that draws no map and needs no Redis (`python app.py
    report`). The index is the city as the store holds it, read from its reference tables (`stored_index`: names,
    parents, children, points, units, members), so the process never loads the city model and its boundaries
    (~170 MB). A store that holds no city yet gets the configured one first, as `start_services` loads it."""
    with _start_lock(settings):
        engine = make_engine(database_url(settings))
        migrate(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            refs = stored_index(s)
        if refs is None:
            city = load_city(settings)
            with sessions() as s, s.begin():
                load_reference(s, city)
            refs = index_of(city)
    return engine, sessions, refs


def _start_services(settings: Settings, load_reference_data: bool) -> Services:
    engine = make_engine(database_url(settings))
    migrate(engine)
    sessions = make_sessionmaker(engine)
    city = load_city(settings)
    if load_reference_data:
        with sessions() as s, s.begin():
            if load_reference(s, city):
                log.info("reference data of %s loaded into the store", city.name)
    replica = open_replica(settings.database_read_url, engine) if settings.database_read_url else None
    url, embedded = redis_url(settings)
    client = connect(url, settings.ingest_block_ms)
    return Services(settings, engine, sessions, url, client, city, embedded, replica)
