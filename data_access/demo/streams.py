"""Writing the demo's entries to Redis: pipelined XADDs packed by hand, and the intake side's retention,
which never trims past an entry some consumer group has not acknowledged."""

from __future__ import annotations

import redis

PIPELINE = 1000  # XADDs per round trip
_XADD = b"*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$5\r\nevent\r\n$%d\r\n%s\r\n"


class StreamWriter:
    """Appends `event` entries to the events and presence streams and counts what each has been sent."""

    def __init__(self, client: redis.Redis, events_key: str, presence_key: str) -> None:
        self.client = client
        self.events_key, self.presence_key = events_key, presence_key
        #: The keys as a batch names them (compared by identity when counting).
        self.events, self.presence = events_key.encode(), presence_key.encode()
        self.written = {"events": 0, "presence": 0}

    def flush(self, batch: list[tuple[bytes, str]]) -> None:
        """XADD the batch, PIPELINE entries per round trip; entries leave the batch once acknowledged."""
        while batch:
            chunk = batch[:PIPELINE]
            self._send(chunk)
            n_ev = sum(1 for key, _ in chunk if key is self.events)
            self.written["events"] += n_ev
            self.written["presence"] += len(chunk) - n_ev
            del batch[:PIPELINE]

    def _send(self, chunk: list[tuple[bytes, str]]) -> None:
        """One pipelined round trip of `XADD key * event payload` commands, packed here: redis-py's
        generic packing costs more than everything else the backfill does."""
        buf = b"".join([_XADD % (len(k), k, len(v), v) for k, v in ((k, p.encode()) for k, p in chunk)])
        pool = self.client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command([buf])
            for _ in chunk:
                conn.read_response()  # raises on an error reply
        except BaseException:
            conn.disconnect()  # replies may be left unread: never reuse this connection
            raise
        finally:
            pool.release(conn)

    def trim(self, cutoff_ms: int) -> int:
        """Drop entries older than epoch millisecond `cutoff_ms` from both streams, keeping every entry some
        consumer group has not acknowledged (nor, with no group yet, anything at all); return the entries removed."""
        cutoff = (cutoff_ms, 0)
        removed = 0
        for key in (self.events_key, self.presence_key):
            floor = unacknowledged_floor(self.client, key)
            if floor is not None:
                ms, seq = min(cutoff, floor)
                removed += self.client.xtrim(key, minid=f"{ms}-{seq}", approximate=False)
        return removed


def entry_id(value: bytes | str) -> tuple[int, int]:
    """A stream entry id ('1700000000000-3') as (milliseconds, sequence)."""
    ms, _, seq = (value.decode() if isinstance(value, bytes) else value).partition("-")
    return int(ms), int(seq or 0)


def unacknowledged_floor(client: redis.Redis, key: str) -> tuple[int, int] | None:
    """The oldest entry id of `key` some consumer group still needs (pending, or not yet delivered);
    None if the stream has no group, so that nothing may be trimmed."""
    groups = client.xinfo_groups(key) if client.exists(key) else []
    if not groups:
        return None
    floor: tuple[int, int] | None = None
    for g in groups:
        name = g["name"]
        ms, seq = entry_id(g["last-delivered-id"])
        need = (ms, seq + 1)  # everything after the last delivered entry is still to come
        oldest = client.xpending(key, name)["min"] if g["pending"] else None
        if oldest is not None:  # None: acknowledged in the meantime
            need = min(need, entry_id(oldest))
        floor = need if floor is None else min(floor, need)
    return floor
