"""A small time-to-live cache for derived figures (rankings, baselines) shared by all screens of a process."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


class TTLCache:
    """Values computed from the store, reused until they expire; bounded, thread-safe.

    It holds only what any caller would compute the same way from the store (keys say what),
    so it is safe across users; a second process simply has its own. When full, entries past
    their time to live go first (a per-view figure nobody asked for since), then the least
    recently used: so views visited once (a tour, a picker) cannot push out the long-lived
    history aggregates."""

    def __init__(self, max_entries: int = 512, clock: Callable[[], float] = time.monotonic) -> None:
        self._data: OrderedDict[Hashable, tuple[float, float, Any]] = OrderedDict()  # key -> (taken, ttl, value)
        self._lock = threading.Lock()
        self._max = max_entries
        self._clock = clock
        self._gates: dict[Hashable, threading.RLock] = {}  # keys being computed (a compute may ask again)

    def get(
        self, key: Hashable, ttl_s: float, compute: Callable[[], T], keep: Callable[[T], bool] = lambda _v: True
    ) -> T:
        """The cached value of `key` if younger than ttl_s, else compute (outside the lock) and keep it, unless
        `keep(value)` says not to (a value that is not ready: the next call computes again). One thread computes a
        key at a time; the others asking for it meanwhile wait for its value (many screens of one worker ask for the
        same key in the same moment)."""
        hit = self._fresh(key, ttl_s)
        if hit is not None:
            return hit[0]  # type: ignore[no-any-return]
        with self._lock:
            gate = self._gates.setdefault(key, threading.RLock())
        with gate:  # an exception leaves the gate open: the next waiter computes
            hit = self._fresh(key, ttl_s)
            if hit is not None:
                return hit[0]  # type: ignore[no-any-return]
            try:
                value = compute()
                if keep(value):
                    self._keep(key, value, ttl_s)
            finally:
                with self._lock:
                    if self._gates.get(key) is gate:
                        del self._gates[key]
        return value

    def _fresh(self, key: Hashable, ttl_s: float) -> tuple[Any] | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and self._clock() - hit[0] < ttl_s:
                self._data.move_to_end(key)
                return (hit[2],)
        return None

    def peek(self, key: Hashable) -> Any:
        """The cached value of `key` whatever its age, or None."""
        with self._lock:
            hit = self._data.get(key)
            return None if hit is None else hit[2]

    def put(self, key: Hashable, value: Any, ttl_s: float = math.inf) -> None:
        """Keep a value (e.g. the last snapshot of a view); without ttl_s it only leaves as least recently used."""
        self._keep(key, value, ttl_s)

    def _keep(self, key: Hashable, value: Any, ttl_s: float) -> None:
        with self._lock:
            now = self._clock()
            self._data[key] = (now, ttl_s, value)
            self._data.move_to_end(key)
            if len(self._data) > self._max:
                for k in [k for k, (t, ttl, _) in self._data.items() if now - t >= ttl]:
                    del self._data[k]
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class TickMemo:
    """Values of the current tick only, by key: the first value of a newer tick drops every older one.

    For what every viewer of one refresh period shares inside a process (a view's snapshot, its rendering):
    memory holds one tick's values whatever the number of views, and nothing of past ticks. A value is computed
    once: threads asking for a key that another thread is computing wait for it (at a tick's start every
    thread of a worker asks for the same few views at once)."""

    def __init__(self) -> None:
        self._version = -1
        self._values: dict[Hashable, Any] = {}
        self._gates: dict[tuple[int, Hashable], threading.Lock] = {}  # (version, key) being computed
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: int, compute: Callable[[], T]) -> T:
        """The value of `key` at tick `version`, computed (outside the lock, by one thread) if this tick has none
        yet; a tick older than the newest seen is computed for the caller alone."""
        with self._lock:
            if version == self._version and key in self._values:
                return self._values[key]  # type: ignore[no-any-return]
            if version < self._version:
                gate = None
            else:
                gate = self._gates.setdefault((version, key), threading.Lock())
        if gate is None:
            return compute()
        with gate:  # an exception leaves the gate open: the next waiter computes
            with self._lock:
                if version == self._version and key in self._values:
                    return self._values[key]  # type: ignore[no-any-return]
            value = compute()
            with self._lock:
                if version > self._version:
                    self._version, self._values = version, {}
                    self._gates = {k: g for k, g in self._gates.items() if k[0] >= version}
                self._gates.pop((version, key), None)
                if version == self._version:
                    self._values.setdefault(key, value)
                    return self._values[key]  # type: ignore[no-any-return]
            return value


class ContentMemo:
    """Values built from JSON-like inputs, by the inputs' content: the same input (by value) gives back the very
    object built for it before, bounded (least recently used out), thread-safe.

    For what every tick rebuilds from figures that mostly did not change (a screen's tables): building them again,
    and fingerprinting them again downstream (which knows an object it has seen), costs more than hashing the input."""

    def __init__(self, max_entries: int = 512) -> None:
        self._data: OrderedDict[tuple[Hashable, bytes], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, name: Hashable, data: Any, build: Callable[[], T]) -> T:
        """`build()`'s value for `data` under `name`, built once while kept."""
        try:
            digest = hashlib.blake2b(orjson.dumps(data), digest_size=16).digest()
        except TypeError:  # not JSON-like: built every time
            return build()
        key = (name, digest)
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]  # type: ignore[no-any-return]
        value = build()
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._max:
                self._data.popitem(last=False)
        return value
