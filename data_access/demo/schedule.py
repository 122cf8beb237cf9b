"""When the demo's appeals arrive: the hour-of-day and weekday curves, per-minute counts of each local
day, the city's local time, and the pace of simulated time against the wall clock.

The second within its minute at which each appeal arrives is drawn with the rest of the appeal
(appeals.py), from that minute's own random stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import numpy as np

from dashboard import catalogue
from data_access.demo.draws import cum

#: Relative appeal volume by local hour: low at night, peaks around 10:00 and 15:00.
HOURLY = (
    0.30,
    0.18,
    0.12,
    0.10,
    0.10,
    0.18,
    0.45,
    0.95,
    1.65,
    2.15,
    2.35,
    2.05,
    1.45,
    1.65,
    2.10,
    2.25,
    1.95,
    1.65,
    1.30,
    1.20,
    1.10,
    0.90,
    0.65,
    0.45,
)
WEEKDAY = (1.05, 1.05, 1.05, 1.05, 1.05, 0.90, 0.85)  # Monday first; averages 1
DAYS_KEPT = 5  # local days held in the cache (a lifecycle looks a day or two ahead)


class LocalTime:
    """The city's local time of epoch seconds: UTC offsets and RFC 3339 stamps, cached per hour."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._offsets: dict[int, tuple[int, str]] = {}

    def offset(self, t: int) -> tuple[int, str]:
        """UTC offset (seconds, '+08:00') of the city at epoch second t, cached per hour."""
        h = t // 3600
        got = self._offsets.get(h)
        if got is None:
            off = datetime.fromtimestamp(h * 3600, self.zone).utcoffset() or timedelta(0)
            s = int(off.total_seconds())
            got = (s, f"{'+' if s >= 0 else '-'}{abs(s) // 3600:02d}:{abs(s) % 3600 // 60:02d}")
            self._offsets[h] = got
        return got

    def stamp(self, t: int) -> str:
        """RFC 3339 local time with offset, e.g. 2026-11-22T09:15:00+08:00."""
        s, text = self.offset(t)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + s)) + text

    def midnight(self, day: date) -> int:
        """Epoch second at which the local `day` begins."""
        return int(datetime.combine(day, datetime.min.time(), self.zone).timestamp())


@dataclass
class Day:
    """What one local day needs: its start, per-minute appeal counts and numbering, category weights."""

    midnight: int
    ymd: str
    counts: list[int]
    first: list[int]  # appeal number before each minute's first appeal
    leaf_cum: list[float]
    sos: dict[int, list[int]]  # epoch minute -> member indices in distress


class Calendar:
    """The local days of the feed, made on demand from the curves and the seed (a few kept at a time)."""

    def __init__(
        self,
        seed: int,
        per_day: float,
        local: LocalTime,
        leaves: list[tuple[str, str, str]],
        sos_plan: Callable[[date, int], dict[int, list[int]]],
    ) -> None:
        self.seed, self.per_day, self.local = seed, per_day, local
        self._leaves, self._sos_plan = leaves, sos_plan
        hours = np.arange(-1, 25) + 0.5  # HOURLY[h] holds at h:30; linear in between
        minute_w = np.interp(np.arange(1440) / 60.0, hours, (HOURLY[-1],) + HOURLY + (HOURLY[0],))
        self._minute_w = minute_w / minute_w.sum()
        self._days: dict[int, Day] = {}

    def day(self, t: int) -> Day:
        """The local day holding epoch second t (cached)."""
        s, _ = self.local.offset(t)
        ordinal = (t + s) // 86400 + date(1970, 1, 1).toordinal()
        d = self._days.get(ordinal)
        if d is None:
            if len(self._days) >= DAYS_KEPT:
                self._days.pop(next(iter(self._days)))
            d = self._days[ordinal] = self._make_day(date.fromordinal(ordinal))
        return d

    def _make_day(self, day: date) -> Day:
        midnight = self.local.midnight(day)
        nxt = self.local.midnight(day + timedelta(days=1))
        minutes = (nxt - midnight) // 60
        lam = self.per_day * WEEKDAY[day.weekday()] * self._minute_w[np.arange(minutes) % 1440]
        counts = np.random.default_rng([self.seed % 2**32, day.toordinal(), 7]).poisson(lam)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        leaf_cum = cum([catalogue.seasonal_weight(p, day.month) for p in self._leaves])
        return Day(
            midnight,
            day.strftime("%Y%m%d"),
            [int(x) for x in counts],
            [int(x) for x in first],
            leaf_cum,
            self._sos_plan(day, midnight),
        )


@dataclass(frozen=True)
class Pace:
    """Simulated time that runs `speedup` times the wall clock, being `sim0` at wall time `wall0`."""

    wall0: float
    sim0: float
    speedup: float

    def sim(self, wall: float) -> float:
        """The simulated epoch second at wall-clock second `wall`."""
        return self.sim0 + (wall - self.wall0) * self.speedup
