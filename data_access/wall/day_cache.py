"""Per-day history aggregates, kept until the event log says their day changed.

A day's aggregate (volumes, call-backs, community counts) is a function of the store. It is computed once and
kept, stamped with the log position the store reflected then (`history.folded_seq`: every event up to it
folded). Each refresh reads which days the events folded since the last refresh can have changed
(`history.touched`) and notes, per day, the position that changed it; an aggregate stamped before that is
computed again when next asked for. So a figure made of days equals a recomputation from the store at its
stamp, whatever arrived since start-up and in whatever order, and a tick reads no closed history unless events
changed it. Today is kept by the hour (a period is a day, or an hour of one): live events change the last hour
or two, so a refresh recomputes those, not the whole day. As a safety net against changes the log does not show
(a store restored under a running app), aggregates older than `verify_s` are also re-read, a few per refresh so
that they never all come due in one tick.

Every per-day aggregate of the product lives here, one kind each (`DIRTY_BY`): the wall's volumes, call-backs
and community counts, the problems' category × area and call-back counts, a topic's volume and call-backs.
Periods not kept are read together, whatever their kind, in one way (data_access/wall/history.py, `runs`): one
statement per run of adjacent periods, each row's period found among the run's by a binary search over their
starts (`count_days` for whole days of any query, `history.volumes_by`/`reviews_by` for the rankings' days
and hours), so a cold start reads a month in one statement, not thirty. With a `DayStore`
(data_access/wall/day_store.py), whole days of the kinds given a codec are also kept in the store under the same
rule, so a fresh process reads them there and recomputes only days changed since: it starts noting changes at
the store's position instead of the log's end.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as clock_time
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from data_access.wall import history as hist

if TYPE_CHECKING:
    from data_access.wall.day_store import Codec, DayStore

log = logging.getLogger(__name__)
T = TypeVar("T")
#: A local day with no hour (the whole day), or an hour of it counted from its midnight (0 to 22, 23 or 24).
Period = tuple[date, int | None]

#: What changes an aggregate of each kind: appeals created that day (their number, place, unit, category) or
#: call-backs made that day. A topic's aggregates (`topic_*`) are also changed by the tagger: they are kept
#: with a stamp no later than the topic's tagging position (data_access/topics/monitor.py).
DIRTY_BY = {
    "volume": "created",
    "communities": "created",
    "reviews": "reviewed",
    "categories": "created",
    "category_reviews": "reviewed",
    "topic_volume": "created",
    "topic_reviews": "reviewed",
}
#: Events read per statement while catching up with the log, and how long one refresh catches up at most (the
#: rest waits for the next: meanwhile figures say since when they are behind).
CHUNK = 50_000
BUDGET_S = 2.0
#: Aggregates older than `verify_s` re-read per refresh.
REREADS = 2
#: With a store: its position is moved when events changed a day before today, or after this many events.
ADVANCE_EVERY = 5_000


@dataclass
class _Entry:
    seq: int  # the log position the store reflected when it was computed
    taken: float
    value: Any


class DayCache:
    """Aggregates per (kind, period, variant), each valid until an event folded after its stamp changes its period."""

    def __init__(
        self, max_entries: int = 8192, clock: Callable[[], float] = time.monotonic, store: DayStore | None = None
    ) -> None:
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._changed: dict[tuple[str, Period], int] = {}  # (created|reviewed, period) -> last position that changed it
        self._seen: int | None = None  # events up to here have been read for what they change
        self._origin: int | None = None  # ... and every change after this position (None: no refresh yet)
        self.store = store
        self._store_from = 0  # with a store: the days changed after here, not yet passed to it
        self._pending: dict[str, set[date]] = {}
        self._lock = threading.Lock()  # guards the dictionaries
        self._refreshing = threading.Lock()  # one refresh at a time
        self._rereads = 0
        self._max = max_entries
        self._clock = clock

    @property
    def seen(self) -> int | None:
        """The log position up to which changes have been noted (None before the first refresh)."""
        return self._seen

    def sync(self, session: Session, zone: tzinfo) -> int:
        """Note which days the events folded since the last refresh changed; return the stamp of aggregates
        computed next in this session (every change up to it is noted, and the session sees at least it)."""
        # another thread refreshes: do not wait for it, unless it is the first (kept days are read only once a
        # refresh has noted every change since the store's position)
        if not self._refreshing.acquire(blocking=self._seen is None):
            return min(hist.folded_seq(session), self._seen or 0)
        try:
            mark = hist.folded_seq(session)  # read under the lock: never lower than a mark read before
            if self._seen is None or mark < self._seen:  # the first refresh, or another store under this app
                start = mark if self.store is None else self.store.begin(session, mark, CHUNK)
                with self._lock:
                    self._entries.clear()
                    self._changed.clear()
                    self._pending.clear()
                    self._seen = self._origin = self._store_from = start
                if start == mark:
                    return mark
            deadline = self._clock() + BUDGET_S
            while self._seen < mark and self._clock() < deadline:
                upto = min(mark, self._seen + CHUNK)
                t = hist.touched(session, self._seen, upto)
                with self._lock:
                    for kind, times in (("created", t.created), ("reviewed", t.reviewed)):
                        for day, hour in {period_of(at, zone) for at in times}:
                            self._changed[(kind, (day, None))] = upto
                            self._changed[(kind, (day, hour))] = upto
                            if self.store is not None:
                                self._pending.setdefault(kind, set()).add(day)
                    self._seen = upto
            if self.store is not None:
                self._pass_on(local_day(datetime.now(UTC), zone))
            self._rereads = REREADS
            return self._seen
        finally:
            self._refreshing.release()

    def _pass_on(self, today: date) -> None:
        """Move the store's position over the days changed since it was last moved (under `_refreshing`)."""
        assert self.store is not None and self._seen is not None
        if self._seen <= self._store_from:
            return
        early = any(d < today for days in self._pending.values() for d in days)
        if not early and self._seen - self._store_from < ADVANCE_EVERY:
            return
        changed = {tuple(k for k, by in DIRTY_BY.items() if by == c): days for c, days in self._pending.items()}
        try:
            self.store.advance(self._store_from, self._seen, changed)
        except Exception:  # kept days stay valid at the store's position; tried again next time
            log.warning("day store: could not move the position to %d", self._seen, exc_info=True)
            return
        with self._lock:  # moved, or moved past by another process (or it lies behind: then it is not ours to move)
            self._pending.clear()
            self._store_from = self._seen

    def get(
        self, kind: str, period: Period, variant: Hashable, stamp: int, verify_s: float, compute: Callable[[], T]
    ) -> T:
        """The aggregate of `kind` for a period (and a variant, e.g. a cut-off): kept unless an event noted after
        it was computed changed its period; else computed now and kept with `stamp` (from `sync`)."""
        return self.get_many(kind, [period], variant, stamp, verify_s, lambda _: [compute()])[0]

    def get_many(
        self,
        kind: str,
        periods: list[Period],
        variant: Hashable,
        stamp: int,
        verify_s: float,
        compute: Callable[[list[Period]], list[T]],
        kept: tuple[Session, Codec[T]] | None = None,
    ) -> list[T]:
        """`get` of several periods: those not kept (or due for a re-read) are computed by one call of `compute`
        (the periods in, their aggregates in the same order out), so a cold month is one statement, not one a day.
        With `kept` (the caller's session and the kind's codec) and a store, whole days not kept here are first
        read from the store, and those computed are kept there."""
        out: dict[Period, T] = {}
        reread: set[Period] = set()
        with self._lock:
            for period in periods:
                key = (kind, period, variant)
                hit = self._entries.get(key)
                if hit is not None and self._changed.get((DIRTY_BY[kind], period), -1) <= hit.seq:
                    if self._clock() - hit.taken < verify_s or self._rereads <= 0:
                        self._entries.move_to_end(key)
                        out[period] = hit.value
                        continue
                    self._rereads -= 1
                    reread.add(period)
        missing = [p for p in periods if p not in out]
        store = self.store if kept is not None else None
        if store is not None and kept is not None:
            wanted = [d for d, h in missing if h is None and (d, h) not in reread]
            at, rows = store.load(kept[0], kind, variant, kept[1], wanted) if wanted else (0, {})
            found = {(d, None): v for d, v in rows.items()}
            with self._lock:
                for period, value in found.items():
                    if (
                        self._origin is not None
                        and self._origin <= at
                        and self._changed.get((DIRTY_BY[kind], period), -1) <= at
                    ):
                        out[period] = value
                        self._put((kind, period, variant), at, value)
            missing = [p for p in missing if p not in out]
        if missing:
            values = compute(missing)
            with self._lock:
                for period, value in zip(missing, values, strict=True):
                    out[period] = value
                    self._put((kind, period, variant), stamp, value)
                seen = self._seen or 0
                keep = {
                    d: value
                    for (d, h), value in zip(missing, values, strict=True)
                    if h is None
                    and self._origin is not None
                    and self._origin <= stamp
                    and self._changed.get((DIRTY_BY[kind], (d, h)), -1) <= stamp
                }
            if store is not None and kept is not None and keep:
                store.save(kind, variant, kept[1], keep, stamp, seen)
        return [out[p] for p in periods]

    def _put(self, key: Hashable, stamp: int, value: Any) -> None:
        """Keep a value computed at `stamp` (under `_lock`): a thread that computed from a later stamp keeps its."""
        cur = self._entries.get(key)
        if cur is None or cur.seq <= stamp:
            self._entries[key] = _Entry(stamp, self._clock(), value)
            self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def get_days(
        self,
        kind: str,
        days: Sequence[date],
        variant: Hashable,
        stamp: int,
        verify_s: float,
        compute: Callable[[list[date]], Mapping[date, T]],
        kept: tuple[Session, Codec[T]] | None = None,
    ) -> dict[date, T]:
        """`get_many` of whole days, given and answered by date."""
        periods: list[Period] = [(d, None) for d in days]

        def by_date(ps: list[Period]) -> list[T]:
            got = compute([d for d, _ in ps])
            return [got[d] for d, _ in ps]

        return dict(zip(days, self.get_many(kind, periods, variant, stamp, verify_s, by_date, kept), strict=True))

    def __len__(self) -> int:
        return len(self._entries)


def local_day(at: datetime, zone: tzinfo) -> date:
    """The city's calendar day of a time."""
    return at.astimezone(zone).date()


def day_start(day: date, zone: tzinfo) -> datetime:
    """The UTC time of a local day's midnight."""
    return datetime.combine(day, clock_time(), zone).astimezone(UTC)


def period_of(at: datetime, zone: tzinfo) -> tuple[date, int]:
    """The local day of a time and its hour counted from that day's midnight (a day with a clock change too)."""
    day = local_day(at, zone)
    return day, int((at - day_start(day, zone)) // timedelta(hours=1))


def hours(start: datetime, end: datetime) -> list[tuple[datetime, datetime, int]]:
    """A day [start, end) in hours counted from its start: (from, to, hour)."""
    out, k = [], 0
    while start + timedelta(hours=k) < end:
        out.append((start + timedelta(hours=k), min(start + timedelta(hours=k + 1), end), k))
        k += 1
    return out


def count_days(
    session: Session,
    days: Sequence[date],
    zone: tzinfo,
    query: Callable[[Sequence[Any]], Select[Any]],
    at: Any,
) -> dict[date, dict[tuple[Any, ...], int]]:
    """Rows counted per local day and key, for each of `days`: `history.count_spans` of the days' spans from
    midnight to midnight (`query` and `at` as there), so one statement per run of consecutive days."""
    days = sorted(set(days))
    spans = [(day_start(d, zone), day_start(d + timedelta(days=1), zone)) for d in days]
    return dict(zip(days, hist.count_spans(session, spans, query, at), strict=True))
