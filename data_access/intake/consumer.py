"""The ingest worker: Redis streams in a consumer group -> the store, keeping every promise of the contract."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict, cast

import redis
from redis.typing import KeyT, StreamIdT
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.contract import (
    ContractError,
    Event,
    Presence,
    parse_event,
    parse_presence,
)
from dashboard.settings import Settings
from data_access.intake.event_log import Accepted, Place, store_events
from data_access.intake.presence import store_presence
from data_access.intake.reference_data import Gazetteer
from data_access.ops.gc_tuning import settle_gc
from data_access.store.engine import checkpoint

log = logging.getLogger(__name__)

Entry = tuple[str, dict[bytes, bytes]]
CHECKPOINT_EVERY_S = 30.0
# Replies as this worker's client gets them (RESP2, bytes); redis-py types each reply as the union over
# protocols and decode settings.
_ReadReply = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes] | None]]]]


class _Pending(TypedDict):
    message_id: bytes
    consumer: bytes
    time_since_delivered: int
    times_delivered: int


@dataclass
class IngestStatus:
    """What the worker last saw; read by /healthz when the worker runs in the same process."""

    ok: bool = True
    problem: str = ""
    stored: int = 0
    dead: int = 0
    last_batch_at: datetime | None = None
    since: float = field(default_factory=time.monotonic)


def _decode(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


class IngestWorker:
    """One loop with one job: read pending then new entries, store, then acknowledge."""

    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        sessions: sessionmaker[Session],
        engine: Engine,
        gazetteer: Gazetteer,
        consumer: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stored: Callable[[], None] = lambda: None,
    ) -> None:
        self.s = settings
        self.r = client
        self.sessions = sessions
        self.engine = engine
        self.gaz = gazetteer
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.clock = clock
        self.stored = stored  # called after a commit that logged events for the projectors
        self.events_key = settings.stream("events")
        self.presence_key = settings.stream("presence")
        self.cursor = {self.events_key: "0", self.presence_key: "0"}  # "0": our pending first
        self.status = IngestStatus()
        self._last_claim = 0.0
        self._last_checkpoint = time.monotonic()

    # -- set-up ---------------------------------------------------------------------------
    def ensure_groups(self) -> None:
        """Create the consumer groups (and streams) if missing; BUSYGROUP is the only benign error."""
        for key in (self.events_key, self.presence_key):
            try:
                self.r.xgroup_create(key, self.s.consumer_group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Ingest until `stop` is set, reconnecting with backoff when Redis or the store goes away."""
        settle_gc()
        backoff = 0.5
        groups_ready = False
        while not stop.is_set():
            try:
                if not groups_ready:
                    self.ensure_groups()
                    groups_ready = True
                self.step()
                if not self.status.ok:
                    log.info("ingest recovered")
                self.status.ok, self.status.problem = True, ""
                backoff = 0.5
            except (redis.ConnectionError, redis.TimeoutError, OperationalError, DBAPIError, OSError) as exc:
                what = "Redis" if isinstance(exc, (redis.RedisError, OSError)) else "store"
                self.status.ok, self.status.problem = False, f"{what} unavailable: {str(exc).splitlines()[0][:200]}"
                log.warning("ingest: %s; retrying in %.1f s", self.status.problem, backoff)
                groups_ready = False
                self.cursor = dict.fromkeys(self.cursor, "0")
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def step(self) -> int:
        """Read one batch from both streams, store it, acknowledge it; return entries handled."""
        self._maybe_claim()
        block = None if any(c == "0" for c in self.cursor.values()) else self.s.ingest_block_ms
        streams = cast("dict[KeyT, StreamIdT]", self.cursor)  # only read: dict's invariance does not matter
        reply = cast("_ReadReply | None", self.r.xreadgroup(
            self.s.consumer_group, self.consumer, streams, count=self.s.ingest_batch, block=block
        ))
        got = {_decode(k): [(_decode(i), f or {}) for i, f in entries] for k, entries in (reply or [])}
        for key in self.cursor:
            if self.cursor[key] == "0" and not got.get(key):
                self.cursor[key] = ">"  # our pending list is drained: read new entries
        handled = 0
        for key, entries in got.items():
            if entries:
                if self.cursor[key] == "0":
                    entries = self._drop_poison(key, entries)
                handled += self._handle(key, entries)
        self._maybe_checkpoint()
        return handled

    # -- one batch ------------------------------------------------------------------------
    def _handle(self, key: str, entries: list[Entry]) -> int:
        dead: list[tuple[str, str, str]] = []  # (entry id, raw, reason)
        if key == self.events_key:
            good = self._check_events(entries, dead)
            self._commit_events(good, dead)
        else:
            pres = self._check_presence(entries, dead)
            with self.sessions() as s, s.begin():
                store_presence(s, pres, self.clock())
        self._dead_letter(key, dead)
        self.r.xack(key, self.s.consumer_group, *[i for i, _ in entries])
        self.status.stored += len(entries) - len(dead)
        self.status.dead += len(dead)
        self.status.last_batch_at = self.clock()
        return len(entries)

    def _check_events(self, entries: list[Entry], dead: list[tuple[str, str, str]]) -> list[Accepted]:
        parsed: list[tuple[str, str, Event]] = []
        for entry_id, fields in entries:
            raw = fields.get(b"event")
            text = raw.decode("utf-8", "replace") if raw is not None else ""
            if raw is None:
                dead.append((entry_id, text, "entry has no `event` field"))
                continue
            try:
                parsed.append((entry_id, text, parse_event(raw, max_text_len=self.s.max_text_len)))
            except ContractError as exc:
                dead.append((entry_id, text, str(exc)))
        places = self.gaz.place_events([e for _, _, e in parsed])
        good = []
        for (entry_id, text, ev), place in zip(parsed, places):
            if isinstance(place, str):
                dead.append((entry_id, text, place))
            else:
                good.append(Accepted(ev, text, entry_id, place if isinstance(place, Place) else None))
        return good

    def _check_presence(self, entries: list[Entry], dead: list[tuple[str, str, str]]) -> list[Presence]:
        out = []
        for entry_id, fields in entries:
            raw = fields.get(b"event")
            text = raw.decode("utf-8", "replace") if raw is not None else ""
            try:
                if raw is None:
                    raise ContractError("entry has no `event` field")
                p = parse_presence(raw)
                if not self.gaz.known_member(p.member):
                    raise ContractError(f"unknown member {p.member!r}")
                out.append(p)
            except ContractError as exc:
                dead.append((entry_id, text, str(exc)))
        return out

    def _commit_events(self, good: list[Accepted], dead: list[tuple[str, str, str]]) -> None:
        if not good:
            return
        try:
            with self.sessions() as s, s.begin():
                store_events(s, good, self.clock())
        except (OperationalError, DBAPIError) as exc:
            if _is_disconnect(exc):
                raise
            # One entry the store refuses must not hold up the rest: store one by one.
            for item in good:
                try:
                    with self.sessions() as s, s.begin():
                        store_events(s, [item], self.clock())
                except (OperationalError, DBAPIError) as one:
                    if _is_disconnect(one):
                        raise
                    dead.append((item.source, item.raw, f"store refused it: {str(one.orig)[:200]}"))
        self.stored()

    def _dead_letter(self, key: str, dead: list[tuple[str, str, str]]) -> None:
        if not dead:
            return
        pipe = self.r.pipeline(transaction=False)
        for entry_id, raw, reason in dead:
            pipe.xadd(f"{key}:dead", {"event": raw, "error": reason, "source": entry_id})
            log.info("dead-lettered %s from %s: %s", entry_id, key, reason)
        pipe.execute()

    # -- crash recovery -------------------------------------------------------------------
    def _maybe_claim(self) -> None:
        """Take over entries a dead consumer left pending (XAUTOCLAIM), then read them as ours."""
        now = time.monotonic()
        if now - self._last_claim < self.s.ingest_claim_idle_ms / 2000:
            return
        self._last_claim = now
        for key in self.cursor:
            start = "0-0"
            while True:
                nxt, claimed, *_ = self.r.xautoclaim(
                    key, self.s.consumer_group, self.consumer, self.s.ingest_claim_idle_ms, start, count=500
                )
                if claimed:
                    self.cursor[key] = "0"
                    log.info("reclaimed %d pending entries of %s", len(claimed), key)
                start = _decode(nxt)
                if start == "0-0":
                    break

    def _drop_poison(self, key: str, entries: list[Entry]) -> list[Entry]:
        """Dead-letter entries delivered too often: they crash whoever reads them."""
        ids = [i for i, _ in entries]
        info = cast("list[_Pending]", self.r.xpending_range(
            key, self.s.consumer_group, ids[0], ids[-1], len(ids) * 2, self.consumer))
        counts = {_decode(p["message_id"]): p["times_delivered"] for p in info}
        poison = [(i, f) for i, f in entries if counts.get(i, 0) > self.s.max_deliveries]
        if not poison:
            return entries
        dead = [
            (i, (f.get(b"event") or b"").decode("utf-8", "replace"),
             f"delivered {counts[i]} times without being stored")
            for i, f in poison
        ]
        self._dead_letter(key, dead)
        self.r.xack(key, self.s.consumer_group, *[i for i, _ in poison])
        bad = {i for i, _ in poison}
        return [(i, f) for i, f in entries if i not in bad]

    def _maybe_checkpoint(self) -> None:
        if time.monotonic() - self._last_checkpoint >= CHECKPOINT_EVERY_S:
            self._last_checkpoint = time.monotonic()
            checkpoint(self.engine)


def _is_disconnect(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)
