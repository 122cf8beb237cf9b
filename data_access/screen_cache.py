"""A small time-to-live cache for derived figures (rankings, baselines) shared by all screens of a process."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class TTLCache:
    """Values computed from the store, reused until they expire; bounded, thread-safe.

    It holds only what any caller would compute the same way from the store (keys say what),
    so it is safe across users; a second process simply has its own."""

    def __init__(self, max_entries: int = 512, clock: Callable[[], float] = time.monotonic) -> None:
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._clock = clock

    def get(self, key: Hashable, ttl_s: float, compute: Callable[[], T]) -> T:
        """The cached value of `key` if younger than ttl_s, else compute (outside the lock) and keep it."""
        now = self._clock()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and now - hit[0] < ttl_s:
                self._data.move_to_end(key)
                return hit[1]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._data[key] = (self._clock(), value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)
        return value

    def peek(self, key: Hashable) -> Any:
        """The cached value of `key` whatever its age, or None."""
        with self._lock:
            hit = self._data.get(key)
            return None if hit is None else hit[1]

    def put(self, key: Hashable, value: Any) -> None:
        """Keep a value (e.g. the last snapshot of a view)."""
        with self._lock:
            self._data[key] = (self._clock(), value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
