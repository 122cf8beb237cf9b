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
from typing import Any

import redis
from redis.client import NEVER_DECODE
from sqlalchemy import Engine
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from dashboard.contract import (
    ContractError,
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

Fields = list[tuple[bytes, bytes]]  # an entry's field/value pairs exactly as Redis holds them, in order
Entry = tuple[str, Fields]
Dead = tuple[str, Fields, str]  # (entry id, fields as received, reason)
CHECKPOINT_EVERY_S = 30.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0  # an outage of any length is retried at least this often: the worker resumes soon after
EVENT = b"event"
#: Redis errors that say the server cannot serve right now (loading, a replica, out of memory, a lost group
#: after a restart without persistence): held and retried like a lost connection.
REDIS_UNAVAILABLE = ("LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "OOM", "NOGROUP", "BUSY")


@dataclass
class IngestStatus:
    """What the worker last saw; read by /healthz when the worker runs in the same process."""

    ok: bool = True
    problem: str = ""
    stored: int = 0
    dead: int = 0
    last_batch_at: datetime | None = None
    since: float = field(default_factory=time.monotonic)
    beat: float = field(default_factory=time.monotonic)  # time.monotonic() of the loop's last turn
    held: int = 0  # entries read and kept while the store or Redis is away (not acknowledged, not given up)
    restarts: int = 0  # times the supervisor started the loop again after it ended


def _decode(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _raw_reply(response: Any, **_options: Any) -> Any:
    """A reply as Redis sent it: an entry's field/value pairs in order, bytes undecoded."""
    return response


def outage(exc: BaseException) -> str | None:
    """'Redis' or 'store' when an error says that one cannot be reached or written right now, so nothing about the
    entries at hand; None for anything else."""
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        return "Redis"
    if isinstance(exc, redis.ResponseError):
        return "Redis" if str(exc).startswith(REDIS_UNAVAILABLE) else None
    if isinstance(exc, (DisconnectionError, PoolTimeout)):
        return "store"
    if isinstance(exc, DBAPIError):
        # Values the store refuses are the entry's fault (DataError, IntegrityError); every other error of the
        # database (lost connection, locked, read-only, disk full, permission denied, no such table) is the store's.
        return None if isinstance(exc, (DataError, IntegrityError)) and not exc.connection_invalidated else "store"
    if isinstance(exc, OSError):
        return "Redis"  # redis-py wraps most socket errors; some reach us bare
    return None


@dataclass
class _Batch:
    """Entries read from one stream, kept until they are stored (or dead-lettered) and acknowledged."""

    key: str
    entries: list[Entry]
    checked: tuple[list[Any], list[Dead]] | None = None  # (valid items, dead letters), kept across retries
    dead: list[Dead] = field(default_factory=list)
    stored: bool = False
    wrote: int = 0


class IngestWorker:
    """One loop with one job: read pending then new entries, store, then acknowledge.

    An outage of the store or of Redis, however long, costs no entry: the batch read is held, retried with
    backoff, and acknowledged once stored. An entry is dead-lettered only for what it is: it breaks the contract,
    or it fails on its own where the others of its batch go through (see `_isolate`); never for its delivery count
    alone (see `_suspects_alone`)."""

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
        # Our own client over the caller's connections: XREADGROUP's reply read raw (bytes, pairs in order), so an
        # entry is dead-lettered byte for byte even if the caller's client decodes responses.
        self.r = redis.Redis(connection_pool=client.connection_pool)
        self.r.set_response_callback("XREADGROUP", _raw_reply)
        self.r.set_response_callback("XAUTOCLAIM", _raw_reply)
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
        self._held: _Batch | None = None  # the batch an outage interrupted: finished before anything is read
        self._groups_ready = False
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
        self._groups_ready = True

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Ingest until `stop` is set. Nothing ends the loop but `stop`: an outage is waited out with backoff
        (the batch at hand held), anything unexpected is logged, shown in the status, and retried the same way."""
        settle_gc()
        backoff = BACKOFF_FIRST_S
        while not stop.is_set():
            try:
                if not self._groups_ready:
                    self.ensure_groups()
                self.step()
            except Exception as exc:  # noqa: BLE001  the loop must outlive whatever happens in it
                self._trouble(exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            if not self.status.ok:
                log.info("ingest recovered")
            self.status.ok, self.status.problem = True, ""
            backoff = BACKOFF_FIRST_S

    def _trouble(self, exc: Exception, backoff: float) -> None:
        """Record why the loop cannot go on now, and make the next turn start where it is safe."""
        what = outage(exc)
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if what is None:
            self.status.problem = f"ingest failed: {type(exc).__name__}: {first}"
            log.exception("ingest: unexpected error; retrying in %.1f s", backoff)
        else:
            self.status.problem = f"{what} unavailable: {first}"
            log.warning("ingest: %s; retrying in %.1f s", self.status.problem, backoff)
        self.status.ok = False
        self.status.held = len(self._held.entries) if self._held else 0
        # Entries read but not finished (a reply lost on the way, the other stream's batch) wait in our pending
        # list: read it again once the held batch is done.
        self.cursor = dict.fromkeys(self.cursor, "0")
        if what != "store":
            self._groups_ready = False  # Redis may have restarted without our groups

    def step(self) -> int:
        """Finish the batch an outage interrupted, or read one batch from both streams, store it, acknowledge it;
        return entries handled."""
        self.status.beat = time.monotonic()
        if self._held is not None:
            return self._finish(self._held)
        self._maybe_claim()
        block = None if any(c == "0" for c in self.cursor.values()) else self.s.ingest_block_ms
        got = self._read(block)
        for key in self.cursor:
            if self.cursor[key] == "0" and not got.get(key):
                self.cursor[key] = ">"  # our pending list is drained: read new entries
        handled = 0
        for key, entries in got.items():
            if entries and self.cursor[key] == "0":
                entries, handled_alone = self._suspects_alone(key, entries)
                handled += handled_alone
            if entries:
                handled += self._finish(_Batch(key, entries))
        self._maybe_checkpoint()
        return handled

    def _read(self, block: int | None) -> dict[str, list[Entry]]:
        """XREADGROUP of both streams; entries with their fields as Redis holds them (bytes, pairs in order)."""
        args: list[Any] = ["XREADGROUP", "GROUP", self.s.consumer_group, self.consumer, "COUNT", self.s.ingest_batch]
        if block is not None:
            args += ["BLOCK", block]
        args += ["STREAMS", *self.cursor, *self.cursor.values()]
        reply = self.r.execute_command(*args, **{NEVER_DECODE: []})
        streams = reply.items() if isinstance(reply, dict) else (reply or [])
        got: dict[str, list[Entry]] = {}
        for key, entries in streams:
            got[_decode(key)] = [(_decode(i), _pairs(flat)) for i, flat in entries]
        return got

    # -- one batch ------------------------------------------------------------------------
    def _finish(self, batch: _Batch) -> int:
        """Store a batch (held across outages: tried again as it is, not read again), then dead-letter and
        acknowledge it in one transaction."""
        self._held = batch
        if not batch.stored:
            try:
                self._store(batch)
            except Exception as exc:
                if outage(exc):
                    raise
                self._isolate(batch, exc)
            batch.stored = True
            if batch.wrote and batch.key == self.events_key:
                self.stored()
        self._settle(batch.key, [i for i, _ in batch.entries], batch.dead)
        self._held = None
        self.status.held = 0
        self.status.stored += len(batch.entries) - len(batch.dead)
        self.status.dead += len(batch.dead)
        self.status.last_batch_at = self.clock()
        return len(batch.entries)

    def _store(self, batch: _Batch) -> None:
        """Check a batch against the contract and the city (once), then write what is valid in one transaction."""
        if batch.checked is None:
            batch.checked = self._check(batch.key, batch.entries)
        good, dead = batch.checked
        batch.wrote = self._write(batch.key, good)
        batch.dead = list(dead)

    def _isolate(self, batch: _Batch, first: Exception) -> None:
        """A batch failed, not for an outage: check and store its entries one by one. An entry that fails on its
        own is poison and is dead-lettered with the reason, unless the fault cannot be the entries': every entry
        of the batch fails its check, or writes fail for no reason of their values and none goes through (then
        the batch is held and retried: the error propagates)."""
        log.warning(
            "ingest: a batch of %d entries of %s failed (%s: %s); storing them one by one",
            len(batch.entries),
            batch.key,
            type(first).__name__,
            _first_line(first),
        )
        dead: list[Dead] = []
        failed: list[tuple[Entry, Exception]] = []
        unexplained = False  # a write failed, and not for its values
        wrote = 0
        for entry in batch.entries:
            try:
                good, refused = self._check(batch.key, [entry])
            except Exception as exc:  # noqa: BLE001  a defect its value triggers: told apart below
                failed.append((entry, exc))
                continue
            try:
                wrote += self._write(batch.key, good)
            except Exception as exc:
                if outage(exc):
                    raise
                failed.append((entry, exc))
                unexplained = unexplained or not _entry_fault(exc)
                continue
            dead += refused
        batch.wrote += wrote
        if (unexplained and not wrote) or (len(failed) == len(batch.entries) > 1):
            raise failed[0][1]
        for (entry_id, fields), err in failed:
            reason = f"could not be stored: {type(err).__name__}: {_first_line(err)}"[:300]
            log.error("ingest: entry %s of %s fails on its own: %s", entry_id, batch.key, reason)
            dead.append((entry_id, fields, reason))
        batch.dead = dead

    def _check(self, key: str, entries: list[Entry]) -> tuple[list[Any], list[Dead]]:
        """The valid items of some entries, and dead letters for the others."""
        if key == self.events_key:
            return self._check_events(entries)
        return self._check_presence(entries)

    def _write(self, key: str, good: list[Any]) -> int:
        """Write valid items in one transaction; return how many."""
        if not good:
            return 0
        with self.sessions() as s, s.begin():
            if key == self.events_key:
                store_events(s, good, self.clock())
            else:
                store_presence(s, good, self.clock())
        return len(good)

    def _check_events(self, entries: list[Entry]) -> tuple[list[Accepted], list[Dead]]:
        dead: list[Dead] = []
        parsed = []
        for entry_id, fields in entries:
            raw = _event_field(fields)
            if isinstance(raw, str):
                dead.append((entry_id, fields, raw))
                continue
            try:
                parsed.append((entry_id, fields, raw, parse_event(raw, max_text_len=self.s.max_text_len)))
            except ContractError as exc:
                dead.append((entry_id, fields, str(exc)))
        places = self.gaz.place_events([e for *_, e in parsed])
        good = []
        for (entry_id, fields, raw, ev), place in zip(parsed, places):
            if isinstance(place, str):
                dead.append((entry_id, fields, place))
            else:  # valid JSON, so valid UTF-8: the text stored is the entry's, byte for byte
                good.append(Accepted(ev, raw.decode(), entry_id, place if isinstance(place, Place) else None))
        return good, dead

    def _check_presence(self, entries: list[Entry]) -> tuple[list[Presence], list[Dead]]:
        out: list[Presence] = []
        dead: list[Dead] = []
        for entry_id, fields in entries:
            raw = _event_field(fields)
            try:
                if isinstance(raw, str):
                    raise ContractError(raw)
                p = parse_presence(raw)
                if not self.gaz.known_member(p.member):
                    raise ContractError(f"unknown member {p.member!r}")
                out.append(p)
            except ContractError as exc:
                dead.append((entry_id, fields, str(exc)))
        return out, dead

    def _settle(self, key: str, ids: list[str], dead: list[Dead]) -> None:
        """Dead-letter and acknowledge in one MULTI, so a retry after a lost reply adds no second dead letter. A
        dead letter holds the entry's fields as received, in order, then `error` and `source` (a reader that
        folds the pairs into a dict sees these two even if the entry had fields of the same names)."""
        if not dead:
            if ids:
                self.r.xack(key, self.s.consumer_group, *ids)
            return
        pipe = self.r.pipeline(transaction=True)
        for entry_id, fields, reason in dead:
            flat = [x for pair in fields for x in pair]
            pipe.execute_command("XADD", f"{key}:dead", "*", *flat, b"error", reason.encode(), b"source", entry_id)
            log.info("dead-lettered %s from %s: %s", entry_id, key, reason)
        if ids:
            pipe.xack(key, self.s.consumer_group, *ids)
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
            while True:  # read raw: a decoding client would choke on an entry that is not UTF-8
                nxt, claimed, *_ = self.r.execute_command(
                    "XAUTOCLAIM",
                    key,
                    self.s.consumer_group,
                    self.consumer,
                    self.s.ingest_claim_idle_ms,
                    start,
                    "COUNT",
                    500,
                    **{NEVER_DECODE: []},
                )
                if claimed:
                    self.cursor[key] = "0"
                    log.info("reclaimed %d pending entries of %s", len(claimed), key)
                start = _decode(nxt)
                if start == "0-0":
                    break

    def _suspects_alone(self, key: str, entries: list[Entry]) -> tuple[list[Entry], int]:
        """Entries of our pending list delivered more than `max_deliveries` times are handled one at a time.

        A high delivery count is no evidence against an entry (outages and restarts raise it), so none is
        dead-lettered for it. What it may hide is an entry that ends the process whenever it is handled (no
        exception to catch): each is handled alone behind a tally in Redis (`<stream>:tries`) that only a
        process ending mid-way leaves raised; past `max_deliveries` such endings it is dead-lettered. Returns
        the other entries and how many were handled alone."""
        ids = [i for i, _ in entries]
        info: list[dict[str, Any]] = self.r.xpending_range(
            key, self.s.consumer_group, ids[0], ids[-1], len(ids) * 2, self.consumer
        )
        counts = {_decode(p["message_id"]): int(p["times_delivered"]) for p in info}
        suspects = [e for e in entries if counts.get(e[0], 0) > self.s.max_deliveries]
        if not suspects:
            return entries, 0
        tries = f"{key}:tries"
        for entry_id, fields in suspects:
            ended = int(self.r.hget(tries, entry_id) or 0)
            if ended >= self.s.max_deliveries:
                reason = f"the worker ended {ended} times while handling this entry alone"
                self._settle(key, [entry_id], [(entry_id, fields, reason)])
                self.status.dead += 1
            else:
                self.r.hincrby(tries, entry_id, 1)
                try:
                    self._finish(_Batch(key, [(entry_id, fields)]))
                except BaseException:
                    self._untally(tries, entry_id)  # the process did not end: this try does not count
                    raise
            self.r.hdel(tries, entry_id)
        alone = {i for i, _ in suspects}
        return [e for e in entries if e[0] not in alone], len(suspects)

    def _untally(self, tries: str, entry_id: str) -> None:
        try:
            if self.r.hincrby(tries, entry_id, -1) <= 0:
                self.r.hdel(tries, entry_id)
        except redis.RedisError:
            pass  # Redis is away: the tally stays one too high, which one more try absorbs

    def _maybe_checkpoint(self) -> None:
        if time.monotonic() - self._last_checkpoint >= CHECKPOINT_EVERY_S:
            self._last_checkpoint = time.monotonic()
            checkpoint(self.engine)


def supervise(worker: IngestWorker, stop: threading.Event, pause_s: float = 5.0) -> None:
    """Run the worker's loop until `stop`, starting it again if it ever ends otherwise (it should not: this is
    the last line); each restart is logged and counted in the status /healthz reports."""
    while not stop.is_set():
        try:
            worker.run(stop)
        except BaseException as exc:  # even SystemExit raised in a callee must not end the ingest
            worker.status.ok = False
            worker.status.problem = f"ingest loop ended: {type(exc).__name__}: {_first_line(exc)}"[:300]
            log.critical(
                "ingest loop ended (%s); starting it again in %.0f s", worker.status.problem, pause_s, exc_info=True
            )
        else:
            if stop.is_set():
                return
            log.critical("ingest loop returned without being stopped; starting it again in %.0f s", pause_s)
        worker.status.restarts += 1
        stop.wait(pause_s)


def _pairs(flat: list[bytes] | dict[bytes, bytes] | None) -> Fields:
    """An entry's fields from a reply: a flat list (RESP2), a map (RESP3), or nothing (deleted from the stream)."""
    if not flat:
        return []
    if isinstance(flat, dict):
        return list(flat.items())
    return list(zip(flat[::2], flat[1::2]))


def _event_field(fields: Fields) -> bytes | str:
    """The `event` value of an entry's fields, or (a str) why there is none to read."""
    if len(fields) == 1 and fields[0][0] == EVENT:  # the contract's entry: one field, `event`
        return fields[0][1]
    values = [v for k, v in fields if k == EVENT]
    if len(values) == 1:
        return values[0]
    if not fields:
        return "entry removed from the stream before it was stored"
    if not values:
        return "entry has no `event` field"
    return f"entry has {len(values)} `event` fields"


def _entry_fault(exc: Exception) -> bool:
    """Whether an error is about the values of the entry at hand (the store refused them)."""
    return isinstance(exc, (DataError, IntegrityError)) or (
        isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)
    )


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__
