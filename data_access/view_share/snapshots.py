"""A view's snapshot computed once per tick and shared by every viewer and every web worker, through Redis.

A view is named by its caller (the wall: `wall:<view key>`; a drill page may name its area and filters), and
a tick by a version number (`tick_version`: the refresh period `now` falls in). For one name and version:

1. a worker that already holds the decoded value returns it (one decode per worker, per view, per tick);
2. else it reads `<prefix>:view:<name>:<version>` from Redis;
3. else it tries to take the short lock `<prefix>:view-lock:<name>:<version>` (`SET NX PX`): the one that takes
   it computes, stores the value (expiring after a few ticks) and lets go; the others poll for the value, and
   compute it themselves only if the lock's holder vanished without storing it.

Within one worker, only one viewer of a name at a time talks to Redis (a local lock). While it reads or computes
a new tick's value, the worker's other viewers are answered with the value it holds from one of the last
`stale_ticks` ticks instead of waiting (the figures are then a tick older, never blocked behind the store); a
worker holding no recent value waits.
If Redis fails, each worker computes for itself (the screens keep going; the cost is per worker again).
The value is shared before any scope cut: callers cut it per viewer (data_access/wall/scope.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis

log = logging.getLogger(__name__)


def tick_version(now: datetime, period_ms: int) -> int:
    """The number of the refresh period `now` falls in: every viewer ticking within it shares one snapshot."""
    return int(now.timestamp() * 1000) // period_ms


def tick_start(now: datetime, period_ms: int) -> datetime:
    """The start of the refresh period `now` falls in (the time every viewer of that tick is shown)."""
    return datetime.fromtimestamp(tick_version(now, period_ms) * period_ms / 1000, tz=now.tzinfo)


class SharedSnapshots:
    """Snapshots of views shared per tick through Redis (see the module's docstring)."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        period_ms: int,
        *,
        lock_ms: int = 10_000,
        keep_ticks: int = 5,
        poll_s: float = 0.01,
        max_local: int = 64,
        stale_ticks: int = 10,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.period_ms = period_ms
        self.lock_ms = lock_ms
        self.keep_ms = period_ms * keep_ticks
        self.poll_s = poll_s
        self.max_local = max_local
        self.stale_ticks = stale_ticks
        self._local: OrderedDict[str, tuple[int, Any]] = OrderedDict()  # name -> (version, value), newest names last
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.computed = 0  # how many values this worker computed (the benchmark and tests read it)
        self.redis_failed = False
        # let go only of our own lock (it may have expired and been taken by another meanwhile)
        self._release = client.register_script(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
        )

    def key(self, name: str, version: int) -> str:
        """The Redis key of a view's value at a tick."""
        return f"{self.prefix}:view:{name}:{version}"

    def _lock_of(self, name: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(name)
            if lock is None:
                lock = self._locks[name] = threading.Lock()
            return lock

    def _remember(self, name: str, version: int, value: Any) -> None:
        with self._guard:
            held = self._local.get(name)
            if held is not None and held[0] > version:  # a late request of an older tick: keep the newer value
                return
            self._local[name] = (version, value)
            self._local.move_to_end(name)
            while len(self._local) > self.max_local:
                self._local.popitem(last=False)

    def _held(self, name: str) -> tuple[int, Any] | None:
        with self._guard:
            return self._local.get(name)

    def get(self, name: str, now: datetime, compute: Callable[[], Any]) -> Any:
        """The value of view `name` at the tick of `now`: read if any worker computed it, else computed once; while
        another thread of this worker gets it, the value held from a recent tick.

        The value must be JSON-ready. An exception of `compute` is raised to the caller (no value is stored)."""
        version = tick_version(now, self.period_ms)
        held = self._held(name)
        if held is not None and held[0] == version:
            return held[1]
        lock = self._lock_of(name)
        recent = held is not None and 0 < version - held[0] <= self.stale_ticks
        if not lock.acquire(blocking=not recent):
            return held[1]  # type: ignore[index]  # another thread is getting this tick's: the recent one meanwhile
        try:
            held = self._held(name)
            if held is not None and held[0] == version:
                return held[1]
            try:
                value = self._shared(name, version, compute)
                self.redis_failed = False
            except (redis.RedisError, OSError) as exc:
                if not self.redis_failed:
                    log.warning("shared snapshots: Redis unavailable, computing per worker: %s", exc)
                self.redis_failed = True
                value = self._compute(compute)
            self._remember(name, version, value)
            return value
        finally:
            lock.release()

    def _compute(self, compute: Callable[[], Any]) -> Any:
        self.computed += 1
        return compute()

    def _shared(self, name: str, version: int, compute: Callable[[], Any]) -> Any:
        key = self.key(name, version)
        lock_key = f"{self.prefix}:view-lock:{name}:{version}"
        deadline = time.monotonic() + self.lock_ms / 1000 * 2
        while True:
            raw = self.client.get(key)
            if raw is not None:
                return json.loads(raw)
            token = f"{id(self)}-{threading.get_ident()}-{time.monotonic_ns()}"
            if self.client.set(lock_key, token, nx=True, px=self.lock_ms):
                try:
                    value = self._compute(compute)
                    self.client.set(key, json.dumps(value, ensure_ascii=False, separators=(",", ":")), px=self.keep_ms)
                    return value
                finally:
                    self._release(keys=[lock_key], args=[token])
            if time.monotonic() > deadline:  # the holder is stuck: do not leave the viewer without figures
                return self._compute(compute)
            time.sleep(self.poll_s)
