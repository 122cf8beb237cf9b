"""The memos of dashboard/ttl_cache.py: TickMemo (one value per key and tick) and TTLCache (one value per key
while young) computed by one thread however many ask at once; ContentMemo gives back the object built for equal
content."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard.ttl_cache import ContentMemo, TickMemo, TTLCache

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", [TickMemo, TTLCache])
def test_many_threads_one_computation(kind: type[TickMemo] | type[TTLCache]) -> None:
    memo = kind()
    # TickMemo: key and tick; TTLCache: key and seconds to live
    ask_memo = lambda c: memo.get("view", 7, c)  # noqa: E731
    calls: list[int] = []
    start = threading.Barrier(8)

    def compute() -> str:
        calls.append(1)
        time.sleep(0.05)  # long enough for every other thread to arrive while it runs
        return "value"

    got: list[str] = []

    def ask() -> None:
        start.wait()
        got.append(ask_memo(compute))

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


def test_ttl_cache_failed_computation_lets_the_next_caller_compute_and_expiry_computes_again() -> None:
    now = [0.0]
    cache = TTLCache(clock=lambda: now[0])

    def fail() -> str:
        raise RuntimeError("store away")

    with pytest.raises(RuntimeError):
        cache.get("k", 1.0, fail)
    assert cache.get("k", 1.0, lambda: "a") == "a"
    assert cache.get("k", 1.0, lambda: "b") == "a"
    now[0] = 1.5
    assert cache.get("k", 1.0, lambda: "c") == "c"


def test_ttl_cache_keeps_no_value_its_caller_says_is_not_ready() -> None:
    """The wall's coverage read before any heartbeat was in: not kept, so the next call reads again."""
    cache = TTLCache(clock=lambda: 0.0)
    ready = lambda v: v != "not yet"  # noqa: E731
    assert cache.get("k", 60.0, lambda: "not yet", keep=ready) == "not yet"
    assert cache.get("k", 60.0, lambda: "a", keep=ready) == "a"
    assert cache.get("k", 60.0, lambda: "b", keep=ready) == "a"  # a ready value is kept as before


def test_content_memo_same_object_for_equal_content_and_new_for_other() -> None:
    memo = ContentMemo(max_entries=2)
    built: list[list[str]] = []

    def build(rows: list[dict[str, int]]) -> list[str]:
        built.append([f"row {r['n']}" for r in rows])
        return built[-1]

    first = memo.get("red", [{"n": 1}], lambda: build([{"n": 1}]))
    again = memo.get("red", [{"n": 1}], lambda: build([{"n": 1}]))  # equal content, another object
    other = memo.get("red", [{"n": 2}], lambda: build([{"n": 2}]))
    elsewhere = memo.get("soon", [{"n": 1}], lambda: build([{"n": 1}]))  # another name: built apart
    assert again is first and other == ["row 2"] and elsewhere is not first and len(built) == 3
    memo.get("x", 1, lambda: ["x"])  # bounded (two entries): the least recently used are gone
    assert memo.get("red", [{"n": 1}], lambda: build([{"n": 1}])) is not first
    unhashable = object()
    assert memo.get("odd", unhashable, lambda: ["built"]) == ["built"]  # not JSON: built every time
