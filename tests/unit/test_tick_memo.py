"""TickMemo: one value per key and tick, computed by one thread however many ask at once."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard.ttl_cache import TickMemo

pytestmark = pytest.mark.unit


def test_many_threads_one_computation() -> None:
    memo = TickMemo()
    calls: list[int] = []
    start = threading.Barrier(8)

    def compute() -> str:
        calls.append(1)
        time.sleep(0.05)  # long enough for every other thread to arrive while it runs
        return "value"

    got: list[str] = []

    def ask() -> None:
        start.wait()
        got.append(memo.get("view", 7, compute))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == ["value"] * 8 and len(calls) == 1


def test_newer_tick_drops_older_values_and_older_tick_is_not_kept() -> None:
    memo = TickMemo()
    assert memo.get("k", 1, lambda: "one") == "one"
    assert memo.get("k", 1, lambda: "again") == "one"
    assert memo.get("k", 2, lambda: "two") == "two"
    assert memo.get("k", 1, lambda: "late") == "late"  # a late caller of an old tick gets its own value
    assert memo.get("k", 2, lambda: "other") == "two"


def test_a_failed_computation_lets_the_next_caller_compute() -> None:
    memo = TickMemo()

    def fail() -> str:
        raise RuntimeError("store away")

    with pytest.raises(RuntimeError):
        memo.get("k", 3, fail)
    assert memo.get("k", 3, lambda: "ok") == "ok"
