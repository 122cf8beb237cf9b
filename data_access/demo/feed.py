"""The demo intake feed: plays the hotline's intake side, writing contract events to Redis streams.

It writes only `<prefix>:events` and `<prefix>:presence` (never the dead-letter streams, never the
SQL store). As the intake side it owns the streams' retention: a live run trims them to
DEMO_RETENTION_H hours, never past an entry a consumer group has not acknowledged.

What it writes is a function of (city, seed, rate, simulated time): each simulated minute has
its own random stream, so two runs covering the same minutes write the same appeals with the
same event ids, and an overlap after a restart only yields duplicates the command center drops.

DemoFeed only composes the parts (see the package's docstring) and keeps every event not yet due
in one heap ordered by time.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import redis

from dashboard.settings import PRIORITIES, Settings
from data_access.demo.appeals import Appeals
from data_access.demo.export import DemoHistory
from data_access.demo.heartbeats import Heartbeats, beat_period
from data_access.demo.lifecycles import Lifecycles, Step
from data_access.demo.payloads import appeal_event, quoter
from data_access.demo.places import Places
from data_access.demo.schedule import Calendar, LocalTime, Pace
from data_access.demo.streams import PIPELINE, StreamWriter
from geo.model import City

log = logging.getLogger(__name__)

TRIM_EVERY_S = 60.0  # how often a live run applies the retention
SINK_BATCH = 5_000  # events per batch handed to a backfill's sink (one import transaction)
_SPENT: Step = (0, "", "")


class DemoFeed:
    """Generates appeals over a City and writes their lifecycle events and member heartbeats to Redis."""

    def __init__(
        self,
        city: City,
        client: redis.Redis,
        settings: Settings,
        seed: int | None = None,
        *,
        per_day: float | None = None,
        speedup: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.seed = settings.city_seed if seed is None else int(seed)
        self.per_day = float(settings.demo_per_day if per_day is None else per_day)
        self.speedup = float(settings.demo_speedup if speedup is None else speedup)
        if self.per_day <= 0 or self.speedup <= 0:
            raise ValueError("per_day and speedup must be positive")
        self.client = client
        self.events_key, self.presence_key = settings.stream("events"), settings.stream("presence")
        self._out = StreamWriter(client, self.events_key, self.presence_key)
        self.written = self._out.written
        self._clock = clock
        self._local = local = LocalTime(settings.zone)
        limits = {p: int(settings.limit(p).total_seconds()) for p in PRIORITIES}
        self._p = places = Places(city, self.seed)
        self._life = Lifecycles(places, limits, local, quoter())
        self._hb = Heartbeats(self.seed, places, local, beat_period(len(places.member_ids), self.speedup))
        self._cal = Calendar(self.seed, self.per_day, local, places.leaves, self._hb.sos_plan)
        self._appeals = Appeals(self.seed, places, self._life, limits, local)
        self._heap: list[tuple[int, int, Any, Any]] = []
        self._seq = 0
        self._next_minute: int | None = None  # next epoch minute whose appeals are to be generated
        self._next_beat: int | None = None  # next epoch minute whose heartbeats are to be generated
        self._not_before = 0
        self._sim_now = 0.0
        self._taken_over: deque[tuple[str, list[Step], int]] = deque()  # appeals of a history, to go on with

    # ---- public API -------------------------------------------------------------------------

    def backfill(
        self,
        days: float,
        progress: Callable[[int, int], None] | None = None,
        *,
        now: float | None = None,
        sink: Callable[[list[str]], None] | None = None,
    ) -> int:
        """Write `days` days of history ending now, as fast as possible; return the appeal events written.

        Events after `now` (appeals still open) are kept for a later `run()`, not written.
        `progress(done, total)` is called about every simulated hour with minutes of history written.
        `sink`: the appeal events (JSON texts, in time order) go to it in batches instead of the stream (the history
        import's store path); heartbeats still go to the stream.
        """
        if self._next_minute is not None:
            raise RuntimeError("backfill() must come before run() and only once")
        end = int(self._clock() if now is None else now)
        start = end - int(days * 86400)
        self._not_before = start
        self._next_minute = start // 60
        self._next_beat = end // 60 - self._hb.period  # enough for every member on shift to be online
        before = self.written["events"]
        batch: list[tuple[bytes, str]] = []
        first, last = start // 60, end // 60
        flush = self._out.flush if sink is None else self._sink(sink)
        for m in range(first, last + 1):
            self._advance(min(m * 60 + 59, end), batch)
            if len(batch) >= (PIPELINE if sink is None else SINK_BATCH):
                flush(batch)
            if progress is not None and (m - first) % 60 == 59:
                progress(m - first + 1, last - first + 1)
        flush(batch)
        self._sim_now = end
        if progress is not None:
            progress(last - first + 1, last - first + 1)
        return self.written["events"] - before

    def now(self) -> float:
        """The feed's clock (epoch seconds)."""
        return self._clock()

    def history(self) -> DemoHistory:
        """The export of this feed's past days (the same seed, rate, city and time limits)."""
        limits = {p: int(self.settings.limit(p).total_seconds()) for p in PRIORITIES}
        calendar = Calendar(self.seed, self.per_day, self._local, self._p.leaves, lambda _d, _m: {})  # its own cache
        return DemoHistory(self._p, calendar, self._local, limits, self.seed)

    def resume(self, end: int) -> None:
        """Go on from `end` (an epoch second on a whole minute), after a history of the appeals created before it
        was loaded by other means (data_access/demo/export.py): appeals are created from `end` on, with the
        numbers that follow the history's that day, and members are online at once. Before `run()`, once."""
        if self._next_minute is not None or end % 60:
            raise RuntimeError("resume() must come before run(), once, at a whole minute")
        self._not_before = end
        self._next_minute = end // 60
        self._next_beat = end // 60 - self._hb.period
        self._sim_now = end

    def take_over(self, pending: Iterable[tuple[str, list[Step], int]]) -> None:
        """Write the later steps of appeals of a loaded history as they fall due: (appeal id, its steps as
        `Lifecycles.plan` gives them, index of the first step to write). Safe from another thread while `run()`
        goes on; a step already due is written at once."""
        self._taken_over.extend(pending)

    def _sink(self, sink: Callable[[list[str]], None]) -> Callable[[list[tuple[bytes, str]]], None]:
        """A flush that hands appeal events to `sink` (counted as written) and heartbeats to the stream."""

        def flush(batch: list[tuple[bytes, str]]) -> None:
            events = [x for key, x in batch if key == self._out.events]
            beats = [(key, x) for key, x in batch if key != self._out.events]
            if events:
                sink(events)
                self.written["events"] += len(events)
            self._out.flush(beats)
            batch.clear()

        return flush

    def run(self, stop: threading.Event, tick_s: float = 0.2) -> None:
        """Write events live until `stop` is set; simulated time runs `speedup` times wall time."""
        wall0 = self._clock()
        pace = Pace(wall0, max(wall0, self._sim_now), self.speedup)
        if self._next_minute is None:
            self._not_before = int(pace.sim0)
            self._next_minute = self._next_beat = int(pace.sim0) // 60
        batch: list[tuple[bytes, str]] = []
        next_trim = 0.0
        try:
            while not stop.is_set():
                self._sim_now = pace.sim(self._clock())
                self._advance(int(self._sim_now), batch)
                try:
                    self._out.flush(batch)
                    if time.monotonic() >= next_trim:
                        next_trim = time.monotonic() + TRIM_EVERY_S
                        self._trim_safely()
                except redis.RedisError as exc:  # keep the batch; duplicates are harmless (same ids)
                    log.warning("demo feed: Redis write failed (%s); retrying", exc)
                    stop.wait(1.0)
                    continue
                stop.wait(tick_s)
        finally:
            try:
                self._out.flush(batch)
            except redis.RedisError as exc:
                log.warning("demo feed: %d entries not written at stop (%s)", len(batch), exc)

    def trim(self) -> int:
        """Drop entries older than DEMO_RETENTION_H, keeping every entry some consumer group has not acknowledged
        (nor, with no group yet, anything at all); return the entries removed."""
        keep_s = self.settings.demo_retention_h * 3600
        if keep_s <= 0:
            return 0
        return self._out.trim(int(self._clock() * 1000) - int(keep_s * 1000))

    def _trim_safely(self) -> None:
        try:
            self.trim()
        except Exception:  # retention is housekeeping: it must never stop the feed
            log.exception("demo feed: trimming the streams failed; writing on")

    def appeals_between(self, start: float, end: float) -> dict[str, list[str]]:
        """Appeal id -> the JSON of its whole lifecycle (future steps included), for the appeals created
        in the simulated minutes of [start, end]; nothing is written and the feed's state is unchanged."""
        saved, self._life.busy = self._life.busy, {}
        try:
            return {
                aid: [self._payload(aid, x, step) for x, step in enumerate(steps)]
                for m in range(int(start) // 60, int(end) // 60 + 1)
                for aid, steps in self._appeals_of(m, 0)
            }
        finally:
            self._life.busy = saved

    def presence_between(self, start: float, end: float) -> list[tuple[int, str]]:
        """The heartbeats (time, JSON) of the simulated minutes in [start, end], without writing them."""
        out: list[tuple[int, str]] = []
        for m in range(int(start) // 60, int(end) // 60 + 1):
            out.extend(self._beats_of(m))
        return out

    def sos_minutes(self, day: date) -> dict[int, list[str]]:
        """The scheduled SOS incidents of a local day: epoch minute -> member ids (deterministic per seed)."""
        d = self._cal.day(self._local.midnight(day))
        return {m: [self._p.member_ids[i] for i in idx] for m, idx in d.sos.items()}

    # ---- the heap -----------------------------------------------------------------------------

    def _appeals_of(self, minute: int, not_before: int) -> list[tuple[str, list[Step]]]:
        return self._appeals.of_minute(minute, self._cal.day(minute * 60), not_before)

    def _beats_of(self, minute: int) -> list[tuple[int, str]]:
        return self._hb.of_minute(minute, self._cal.day(minute * 60), self._life.busy)

    def _advance(self, until: int, batch: list[tuple[bytes, str]]) -> None:
        """Generate what starts by `until`, then move every due entry (time <= until) to `batch`."""
        heap, push = self._heap, heapq.heappush
        assert self._next_minute is not None and self._next_beat is not None
        taken = self._taken_over
        while taken:
            aid, steps, x = taken.popleft()
            self._seq += 1
            push(heap, (steps[x][0], self._seq, (aid, steps), x))
        while self._next_minute * 60 <= until:
            for aid, steps in self._appeals_of(self._next_minute, self._not_before):
                self._seq += 1
                push(heap, (steps[0][0], self._seq, (aid, steps), 0))
            self._next_minute += 1
            if self._next_minute % 1440 == 0:
                self._life.prune_busy(min(self._next_minute, self._next_beat) * 60)
        while self._next_beat * 60 <= until:
            for t, payload in self._beats_of(self._next_beat):
                self._seq += 1
                push(heap, (t, self._seq, None, payload))
            self._next_beat += 1
        pop, ev, pr = heapq.heappop, self._out.events, self._out.presence
        while heap and heap[0][0] <= until:
            t, _, ref, x = pop(heap)
            if ref is None:
                batch.append((pr, x))
                continue
            aid, steps = ref
            batch.append((ev, self._payload(aid, x, steps[x])))
            steps[x] = _SPENT  # let the text of written steps go while the appeal stays open
            if x + 1 < len(steps):
                self._seq += 1
                push(heap, (steps[x + 1][0], self._seq, ref, x + 1))

    def _payload(self, aid: str, x: int, step: Step) -> str:
        """The JSON of step x of appeal aid."""
        t, typ, fields = step
        return appeal_event(self.seed, aid, x, typ, self._local.stamp(t), fields)
