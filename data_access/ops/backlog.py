"""What waits in the Redis streams: entries not yet read or acknowledged, with their ages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _group(client: redis.Redis, key: str, group: str) -> dict[str, Any] | None:
    groups: list[dict[str, Any]] = client.xinfo_groups(key)
    for g in groups:
        if _text(g["name"]) == group:
            return g
    return None


def waiting_entries(client: redis.Redis, key: str, group: str) -> int | None:
    """Entries of a stream the group has not yet acknowledged (pending + not yet delivered)."""
    g = _group(client, key, group)
    if g is None:
        return None
    lag = g.get("lag")
    if lag is None:  # Redis < 7 keeps no lag: count what lies after the last delivered id
        last = _text(g["last-delivered-id"])
        lag = len(client.xrange(key, min=f"({last}", count=10001) or [])
    return int(g["pending"]) + int(lag)


@dataclass(frozen=True)
class StreamWait:
    """How long the oldest entries of a stream have waited for the group (seconds; None: none waits)."""

    oldest_s: float | None  # the oldest entry not yet acknowledged, since it was written (the time in its id)
    unacked_s: float | None  # the oldest delivered but unacknowledged entry, since its last delivery
    unread_s: float | None  # the oldest entry not yet delivered, since it was written


def stream_wait(client: redis.Redis, key: str, group: str) -> StreamWait | None:
    """Ages of what waits in a stream for a consumer group, by Redis's clock (None: no such group)."""
    g = _group(client, key, group)
    if g is None:
        return None
    secs, micros = client.time()
    now_ms = secs * 1000 + micros // 1000
    unacked_s = written_pending = None
    if int(g["pending"]):
        first: list[dict[str, Any]] = client.xpending_range(key, group, "-", "+", 1)
        if first:
            unacked_s = first[0]["time_since_delivered"] / 1000
            written_pending = _id_ms(first[0]["message_id"])
    unread: list[Any] = client.xrange(key, min=f"({_text(g['last-delivered-id'])}", count=1) or []
    written_unread = _id_ms(unread[0][0]) if unread else None
    times = [t for t in (written_pending, written_unread) if t is not None]
    return StreamWait(
        oldest_s=_age(now_ms, min(times)) if times else None,
        unacked_s=unacked_s,
        unread_s=_age(now_ms, written_unread) if written_unread is not None else None,
    )


def _id_ms(entry_id: Any) -> int:
    """The time in a stream entry id (milliseconds; ids the producer chose may hold anything)."""
    return int(_text(entry_id).partition("-")[0])


def _age(now_ms: int, then_ms: int) -> float:
    return round(max(0, now_ms - then_ms) / 1000, 1)
