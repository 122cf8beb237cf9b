"""The demo intake feed: plays the hotline's intake side, writing contract events to Redis streams.

It writes only `<prefix>:events` and `<prefix>:presence` (never the dead-letter streams, never the
SQL store). As the intake side it owns the streams' retention: a live run trims them to
DEMO_RETENTION_H hours, never past an entry a consumer group has not acknowledged.

What it writes is a function of (city, seed, rate, simulated time): each simulated minute has
its own random stream, so two runs covering the same minutes write the same appeals with the
same event ids, and an overlap after a restart only yields duplicates the command center drops.
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import math
import random
import sys
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import redis
import shapely

from dashboard import catalogue
from dashboard.settings import PRIORITIES, Settings, get_settings
from geo.crs import gcj02_to_bd09, wgs84_to_gcj02
from geo.model import City

log = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PIPELINE = 1000  # XADDs per round trip
_XADD = b"*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$5\r\nevent\r\n$%d\r\n%s\r\n"
LOCATION_RADIUS_M = 200.0  # appeals with a location are placed within this of their community point
TRIM_EVERY_S = 60.0  # how often a live run applies the retention
MAX_BEATS_PER_S = 3000  # cap on wall-clock heartbeat rate: the beat period stretches at high speed-ups

#: Relative appeal volume by local hour: low at night, peaks around 10:00 and 15:00.
HOURLY = (0.30, 0.18, 0.12, 0.10, 0.10, 0.18, 0.45, 0.95, 1.65, 2.15, 2.35, 2.05,
          1.45, 1.65, 2.10, 2.25, 1.95, 1.65, 1.30, 1.20, 1.10, 0.90, 0.65, 0.45)
WEEKDAY = (1.05, 1.05, 1.05, 1.05, 1.05, 0.90, 0.85)  # Monday first; averages 1
CHANNELS = (("phone", 0.62), ("wechat", 0.12), ("app", 0.09), ("web", 0.08), ("grid_patrol", 0.06),
            ("visit", 0.015), ("referral", 0.015))
KINDS = (("request", 0.38), ("complaint", 0.33), ("consult", 0.14), ("report", 0.08), ("suggestion", 0.05),
         ("praise", 0.02))
#: Share of wgs84 / gcj02 (Amap, Tencent, WeChat) / bd09 (Baidu) coordinates per channel.
CRS_BY_CHANNEL = {"wechat": (0.2, 0.8, 0.0), "app": (0.5, 0.5, 0.0), "web": (0.4, 0.0, 0.6)}
RETURN_P, EXTEND_P, OVERDUE_P, REOPEN_IF_BAD_P = 0.03, 0.03, 0.04, 0.14

_WHO = ("市民", "来电人", "居民", "网友", "张女士", "李先生", "王女士", "刘先生", "陈女士", "赵先生")
_SINCE = ("已持续一周", "已有三四天", "多次反映未果", "从今天早上开始", "已经半个多月", "昨晚开始", "两天了")
_ASK = ("希望尽快处理", "要求相关部门核实处理", "请尽快派人查看", "希望给予答复", "请督促解决", "希望彻底解决")
_ROADS = ("建设路", "光明街", "和平里大街", "育新路", "安定路", "朝阳北路", "东四环中路", "学院路", "西山大道")
_TRICKY = ('（原话："<b>再不管我就去上访</b>"）', "，A&B两座楼都这样", "，温度<10℃，孩子冻得>_<",
           "，物业说'不归我们管' & 让找街道", '<script>alert("12345")</script>', "，楼号写的是\"3#\"")
_RETURN = ("非本单位职权范围", "地址不在本辖区", "应由产权单位处理", "派单分类有误")
_EXTEND = ("需协调多部门联合处置", "涉及施工审批，需延长办理时限", "等待维修物资到位", "需等待供暖季结束后施工")
_NOTE = ("已联系来电人，现场处置完毕", "已督促物业整改到位", "已向来电人解释相关政策", "已安排专人维修",
         "已协调相关部门联合处置", "已约谈相关责任单位")
_REOPEN = ("回访不满意，重新办理", "来电人反映问题未解决", "督办要求重新处置")
_SPENT = (0, "", "")
_HANDLERS = ("grid_member", "full_time_member", "grid_leader")


class _Rng(random.Random):
    """random.Random with a cheaper randint and pick (the generator's hot path); seeded alike."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def pick(self, seq: Sequence[_T]) -> _T:
        return seq[int(self.random() * len(seq))]

    def share(self, a: float, b: float) -> float:
        """A Kumaraswamy(a, b) draw in (0, 1): beta-like, by inverse CDF (one uniform, no gammas)."""
        return (1.0 - (1.0 - self.random()) ** (1.0 / b)) ** (1.0 / a)


def _frag(fields: dict[str, Any]) -> str:
    """A JSON object's members as a fragment to splice after the common fields (',"k":v,…')."""
    return "," + json.dumps(fields, ensure_ascii=False, separators=(",", ":"))[1:-1] if fields else ""


def _cum(weights: npt.ArrayLike) -> list[float]:
    """Cumulative weights normalised to end at 1 (for bisect)."""
    acc = np.cumsum(np.asarray(weights, dtype=float))
    return list(acc / acc[-1])


def _pick(cum: list[float], u: float) -> int:
    """Index of the bucket of u in [0, 1) under cumulative weights."""
    return min(bisect_right(cum, u), len(cum) - 1)


@dataclass
class _Day:
    """What one local day needs: its start, per-minute appeal counts and numbering, category weights."""

    midnight: int
    ymd: str
    counts: list[int]
    first: list[int]  # appeal number before each minute's first appeal
    leaf_cum: list[float]
    sos: dict[int, list[int]]  # epoch minute -> member indices in distress


class _Places:
    """City-derived lookups: community points and weights, handlers, roster, shifts (all seeded)."""

    def __init__(self, city: City, seed: int) -> None:
        c = city.communities.reset_index(drop=True)
        if len(c) == 0:
            raise ValueError("the city has no communities: nowhere for appeals to happen")
        if {"lon", "lat"} <= set(c.columns):
            lon, lat = c["lon"].to_numpy(float), c["lat"].to_numpy(float)
        else:
            lon, lat = c.geometry.x.to_numpy(), c.geometry.y.to_numpy()
        self.code = [str(x) for x in c["code"]]
        self.name = [str(x) for x in c["name"]]
        self.street = [str(x) for x in c["street"]]
        self.district = [str(x) for x in c["district"]]
        self.lon, self.lat = [float(x) for x in lon], [float(x) for x in lat]
        # How far from its community point an appeal may be placed: up to 200 m, less near the city's
        # edge, so that no generated location falls outside the city (the ingest would refuse it).
        edge = shapely.union_all(city.districts.geometry.to_numpy()).boundary
        to_edge = shapely.distance(shapely.points(lon, lat), edge)  # degrees; a degree of longitude is the shorter
        self.radius = [min(LOCATION_RADIUS_M, 0.8 * d * 111_320.0 * math.cos(math.radians(la)))
                       for d, la in zip(to_edge, self.lat)]
        index = {code: i for i, code in enumerate(self.code)}
        street_names = dict(zip(city.streets["code"].astype(str), city.streets["name"].astype(str)))
        district_names = dict(zip(city.districts["code"].astype(str), city.districts["name"].astype(str)))
        self.place = [district_names.get(d, "") + street_names.get(s, "") for d, s in zip(self.district, self.street)]
        rng = np.random.default_rng([seed % 2**32, 1])
        grids = city.grids["community"].astype(str).value_counts()
        base = np.array([1.0 + grids.get(code, 0) for code in self.code]) * rng.lognormal(0.0, 0.5, len(c))
        n_hot = max(1, round(0.04 * len(c)))
        hot = rng.choice(len(c), size=n_hot, replace=False)
        base[hot] *= rng.uniform(3.0, 8.0, n_hot)
        self.cum = _cum(base)
        self.leaves = catalogue.leaves()
        leaf_w = [catalogue.leaf(p).weight for p in self.leaves]
        favs = rng.choice(len(self.leaves), size=n_hot, p=np.asarray(leaf_w) / sum(leaf_w))
        self.favourite = {int(h): int(f) for h, f in zip(hot, favs)}  # hotspot -> its problem of the month
        self._units(city)
        self._roster(city, index, rng)

    def _units(self, city: City) -> None:
        u = city.units
        self.others = [(str(code), str(name), str(kind), d if isinstance(d, str) and d else "")
                       for code, name, kind, d in zip(u["code"], u["name"], u["kind"], u["district"])
                       if kind != "street"]
        by_district: dict[str, list[str]] = {}
        for s, d in zip(city.streets["code"].astype(str), city.streets["district"].astype(str)):
            by_district.setdefault(d, []).append(s)
        #: Another street of the same district: where a wrongly placed appeal goes after a return.
        self.neighbour = {s: ss[(k + 1) % len(ss)] for ss in by_district.values() if len(ss) > 1
                          for k, s in enumerate(ss)}
        self._match: dict[tuple[tuple[str, ...], str, str], str | None] = {}

    def unit_for(self, hints: tuple[str, ...], kind: str, district: str) -> str | None:
        """A department/company whose name has one of `hints`: same district first, then city-level."""
        key = (hints, kind, district)
        if key not in self._match:
            ranked = []
            for code, name, k, d in self.others:
                rank = next((i for i, h in enumerate(hints) if h in name), None)
                if rank is not None:  # own district, then city-level; right kind; earlier hint; shorter name
                    ranked.append(((d != district, d != "", k != kind, rank, len(name), code), code))
            self._match[key] = min(ranked)[1] if ranked else None
        return self._match[key]

    def _roster(self, city: City, index: dict[str, int], rng: np.random.Generator) -> None:
        m = city.members.reset_index(drop=True)
        self.handlers: dict[int, list[str]] = {}
        fallback: dict[int, list[str]] = {}
        ids, home, ci_of = [], [], []
        for mid, role, comm in zip(m["id"].astype(str), m["role"].astype(str), m["community"]):
            ci = index.get(str(comm))
            ids.append(mid)
            ci_of.append(ci)
            home.append((self.lon[ci], self.lat[ci]) if ci is not None else None)
            if ci is not None:
                (self.handlers if role in _HANDLERS else fallback).setdefault(ci, []).append(mid)
        for ci, mids in fallback.items():
            self.handlers.setdefault(ci, mids)
        self.member_ids = ids
        self.member_json = [json.dumps(x, ensure_ascii=False) for x in ids]
        self.member_home = home
        n = len(ids)
        shift = rng.choice(3, size=n, p=[0.85, 0.11, 0.04])  # day, evening, night
        start = np.where(shift == 0, rng.integers(450, 541, n), np.where(shift == 1, rng.integers(870, 961, n),
                                                                       rng.integers(1290, 1351, n)))
        length = np.where(shift == 0, rng.integers(540, 601, n), rng.integers(480, 541, n))
        self.shift_start = [int(x) for x in start]
        self.shift_len = [int(x) for x in length]


def _entry_id(value: bytes | str) -> tuple[int, int]:
    ms, _, seq = (value.decode() if isinstance(value, bytes) else value).partition("-")
    return int(ms), int(seq or 0)


def _unacknowledged_floor(client: redis.Redis, key: str) -> tuple[int, int] | None:
    """The oldest entry id of `key` some consumer group still needs (pending, or not yet delivered);
    None if the stream has no group, so that nothing may be trimmed."""
    groups = client.xinfo_groups(key) if client.exists(key) else []
    if not groups:
        return None
    floor: tuple[int, int] | None = None
    for g in groups:
        name = g["name"]
        ms, seq = _entry_id(g["last-delivered-id"])
        need = (ms, seq + 1)  # everything after the last delivered entry is still to come
        oldest = client.xpending(key, name)["min"] if g["pending"] else None
        if oldest is not None:  # None: acknowledged in the meantime
            need = min(need, _entry_id(oldest))
        floor = need if floor is None else min(floor, need)
    return floor


class DemoFeed:
    """Generates appeals over a City and writes their lifecycle events and member heartbeats to Redis."""

    def __init__(self, city: City, client: redis.Redis, settings: Settings, seed: int | None = None, *,
                 per_day: float | None = None, speedup: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.seed = settings.city_seed if seed is None else int(seed)
        self.per_day = float(settings.demo_per_day if per_day is None else per_day)
        self.speedup = float(settings.demo_speedup if speedup is None else speedup)
        if self.per_day <= 0 or self.speedup <= 0:
            raise ValueError("per_day and speedup must be positive")
        self.client = client
        self.events_key, self.presence_key = settings.stream("events"), settings.stream("presence")
        self.written = {"events": 0, "presence": 0}
        self._clock = clock
        self._zone = settings.zone
        self._limits = {p: int(settings.limit(p).total_seconds()) for p in PRIORITIES}
        self._p = _Places(city, self.seed)
        self._leaf_info = [self._leaf_plan(path) for path in self._p.leaves]
        hours = np.arange(-1, 25) + 0.5  # HOURLY[h] holds at h:30; linear in between
        minute_w = np.interp(np.arange(1440) / 60.0, hours, (HOURLY[-1],) + HOURLY + (HOURLY[0],))
        self._minute_w = minute_w / minute_w.sum()
        self._channel_cum = _cum([w for _, w in CHANNELS])
        self._kind_cum = _cum([w for _, w in KINDS])
        self._days: dict[int, _Day] = {}
        self._offsets: dict[int, tuple[int, str]] = {}
        self._quoted: dict[str, str] = {}
        self._dept: dict[tuple[int, str], str | None] = {}
        self._heap: list[tuple[int, int, Any, Any]] = []
        self._seq = 0
        self._busy: dict[str, list[tuple[int, int]]] = {}
        self._next_minute: int | None = None  # next epoch minute whose appeals are to be generated
        self._next_beat: int | None = None  # next epoch minute whose heartbeats are to be generated
        self._not_before = 0
        self._sim_now = 0.0
        self._ev_b, self._pr_b = self.events_key.encode(), self.presence_key.encode()
        self._review_frags = {(a, b, s): _frag({"responded": a, "resolved": b, "satisfaction": s})
                              for a in (True, False) for b in (True, False)
                              for s in ("satisfied", "basically_satisfied", "dissatisfied")}
        self._beat_period = max(3, math.ceil(len(self._p.member_ids) * self.speedup / (60 * MAX_BEATS_PER_S)))

    # ---- public API -------------------------------------------------------------------------

    def backfill(self, days: float, progress: Callable[[int, int], None] | None = None, *,
                 now: float | None = None) -> int:
        """Write `days` days of history ending now, as fast as possible; return the appeal events written.

        Events after `now` (appeals still open) are kept for a later `run()`, not written.
        `progress(done, total)` is called about every simulated hour with minutes of history written.
        """
        if self._next_minute is not None:
            raise RuntimeError("backfill() must come before run() and only once")
        end = int(self._clock() if now is None else now)
        start = end - int(days * 86400)
        self._not_before = start
        self._next_minute = start // 60
        self._next_beat = end // 60 - self._beat_period  # enough for every member on shift to be online
        before = self.written["events"]
        batch: list[tuple[bytes, str]] = []
        first, last = start // 60, end // 60
        for m in range(first, last + 1):
            self._advance(min(m * 60 + 59, end), batch)
            if len(batch) >= PIPELINE:
                self._flush(batch)
            if progress is not None and (m - first) % 60 == 59:
                progress(m - first + 1, last - first + 1)
        self._flush(batch)
        self._sim_now = end
        if progress is not None:
            progress(last - first + 1, last - first + 1)
        return self.written["events"] - before

    def run(self, stop: threading.Event, tick_s: float = 0.2) -> None:
        """Write events live until `stop` is set; simulated time runs `speedup` times wall time."""
        wall0 = self._clock()
        sim0 = max(wall0, self._sim_now)
        if self._next_minute is None:
            self._not_before = int(sim0)
            self._next_minute = self._next_beat = int(sim0) // 60
        batch: list[tuple[bytes, str]] = []
        next_trim = 0.0
        try:
            while not stop.is_set():
                self._sim_now = sim0 + (self._clock() - wall0) * self.speedup
                self._advance(int(self._sim_now), batch)
                try:
                    self._flush(batch)
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
                self._flush(batch)
            except redis.RedisError as exc:
                log.warning("demo feed: %d entries not written at stop (%s)", len(batch), exc)

    def trim(self) -> int:
        """Drop entries older than DEMO_RETENTION_H, keeping every entry some consumer group has not acknowledged
        (nor, with no group yet, anything at all); return the entries removed."""
        keep_s = self.settings.demo_retention_h * 3600
        if keep_s <= 0:
            return 0
        cutoff = (int(self._clock() * 1000) - int(keep_s * 1000), 0)
        removed = 0
        for key in (self.events_key, self.presence_key):
            floor = _unacknowledged_floor(self.client, key)
            if floor is not None:
                removed += self.client.xtrim(key, minid="%d-%d" % min(cutoff, floor), approximate=False)
        return removed

    def _trim_safely(self) -> None:
        try:
            self.trim()
        except Exception:  # noqa: BLE001 -- retention is housekeeping: it must never stop the feed
            log.exception("demo feed: trimming the streams failed; writing on")

    def appeals_between(self, start: float, end: float) -> dict[str, list[str]]:
        """Appeal id -> the JSON of its whole lifecycle (future steps included), for the appeals created
        in the simulated minutes of [start, end]; nothing is written and the feed's state is unchanged."""
        saved, self._busy = self._busy, {}
        try:
            return {aid: [self._payload(aid, x, step) for x, step in enumerate(steps)]
                    for m in range(int(start) // 60, int(end) // 60 + 1) for aid, steps in self._appeals(m, 0)}
        finally:
            self._busy = saved

    def presence_between(self, start: float, end: float) -> list[tuple[int, str]]:
        """The heartbeats (time, JSON) of the simulated minutes in [start, end], without writing them."""
        out: list[tuple[int, str]] = []
        for m in range(int(start) // 60, int(end) // 60 + 1):
            out.extend(self._beats(m))
        return out

    def sos_minutes(self, day: date) -> dict[int, list[str]]:
        """The scheduled SOS incidents of a local day: epoch minute -> member ids (deterministic per seed)."""
        midnight = int(datetime.combine(day, datetime.min.time(), self._zone).timestamp())
        d = self._day(midnight)
        return {m: [self._p.member_ids[i] for i in idx] for m, idx in d.sos.items()}

    # ---- the clock and the heap ---------------------------------------------------------------

    def _advance(self, until: int, batch: list[tuple[bytes, str]]) -> None:
        """Generate what starts by `until`, then move every due entry (time <= until) to `batch`."""
        heap, push = self._heap, heapq.heappush
        assert self._next_minute is not None and self._next_beat is not None
        while self._next_minute * 60 <= until:
            for aid, steps in self._appeals(self._next_minute, self._not_before):
                self._seq += 1
                push(heap, (steps[0][0], self._seq, (aid, steps), 0))
            self._next_minute += 1
            if self._next_minute % 1440 == 0:
                self._prune_busy(min(self._next_minute, self._next_beat) * 60)
        while self._next_beat * 60 <= until:
            for t, payload in self._beats(self._next_beat):
                self._seq += 1
                push(heap, (t, self._seq, None, payload))
            self._next_beat += 1
        pop, ev, pr = heapq.heappop, self._ev_b, self._pr_b
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

    def _payload(self, aid: str, x: int, step: tuple[int, str, str]) -> str:
        """The JSON of step x of appeal aid."""
        t, typ, frag = step
        return (f'{{"v":1,"id":"demo-{self.seed}-{aid}-{x + 1}","type":"{typ}","appeal":"{aid}",'
                f'"at":"{self._fmt(t)}"{frag}}}')

    def _flush(self, batch: list[tuple[bytes, str]]) -> None:
        """XADD the batch, PIPELINE entries per round trip; entries leave the batch once acknowledged."""
        while batch:
            chunk = batch[:PIPELINE]
            self._send(chunk)
            n_ev = sum(1 for key, _ in chunk if key is self._ev_b)
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

    def _offset(self, t: int) -> tuple[int, str]:
        """UTC offset (seconds, '+08:00') of the city at epoch second t, cached per hour."""
        h = t // 3600
        got = self._offsets.get(h)
        if got is None:
            off = datetime.fromtimestamp(h * 3600, self._zone).utcoffset() or timedelta(0)
            s = int(off.total_seconds())
            got = (s, f"{'+' if s >= 0 else '-'}{abs(s) // 3600:02d}:{abs(s) % 3600 // 60:02d}")
            self._offsets[h] = got
        return got

    def _q(self, text: str) -> str:
        """`text` as a JSON string literal (memoised: codes, ids and stock phrases repeat)."""
        got = self._quoted.get(text)
        if got is None:
            got = self._quoted[text] = json.dumps(text, ensure_ascii=False)
        return got

    def _fmt(self, t: int) -> str:
        """RFC 3339 local time with offset, e.g. 2026-11-22T09:15:00+08:00."""
        s, text = self._offset(t)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + s)) + text

    def _day(self, t: int) -> _Day:
        """The local day holding epoch second t (cached)."""
        s, _ = self._offset(t)
        ordinal = (t + s) // 86400 + date(1970, 1, 1).toordinal()
        d = self._days.get(ordinal)
        if d is None:
            if len(self._days) > 4:
                self._days.pop(next(iter(self._days)))
            d = self._days[ordinal] = self._make_day(date.fromordinal(ordinal))
        return d

    def _make_day(self, day: date) -> _Day:
        zone = self._zone
        midnight = int(datetime.combine(day, datetime.min.time(), zone).timestamp())
        nxt = int(datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).timestamp())
        minutes = (nxt - midnight) // 60
        lam = self.per_day * WEEKDAY[day.weekday()] * self._minute_w[np.arange(minutes) % 1440]
        counts = np.random.default_rng([self.seed % 2**32, day.toordinal(), 7]).poisson(lam)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        leaf_cum = _cum([catalogue.seasonal_weight(p, day.month) for p in self._p.leaves])
        return _Day(midnight, day.strftime("%Y%m%d"), [int(x) for x in counts], [int(x) for x in first], leaf_cum,
                    self._sos_plan(day, midnight))

    # ---- appeals ------------------------------------------------------------------------------

    @staticmethod
    def _leaf_plan(path: tuple[str, str, str]) -> tuple[list[str], catalogue.Leaf, list[float]]:
        """(category array, Leaf, cumulative priority mix) of a catalogue path."""
        return list(path), catalogue.leaf(path), _cum(catalogue.CLASSES[path[0]].mix)

    def _handlers(self, li: int, ci: int) -> tuple[str, str | None]:
        """(first unit, unit it goes to after a return or None) for leaf li at community ci."""
        p, (path, leaf, _) = self._p, self._leaf_info[li]
        street, district = p.street[ci], p.district[ci]
        key = (li, district)
        if key in self._dept:
            dept = self._dept[key]
        else:
            hints = leaf.hints or catalogue.CLASSES[path[0]].hints
            dept = self._dept[key] = p.unit_for(hints, leaf.kind if leaf.kind != "street" else "department", district)
        if leaf.kind != "street" and dept is not None:
            return dept, street
        return street, dept or p.neighbour.get(street)

    def _appeals(self, minute: int, not_before: int) -> list[tuple[str, list[tuple[int, str, str]]]]:
        """The appeals created in one epoch minute, each as (id, [(time, type, fragment), …])."""
        t_min = minute * 60
        day = self._day(t_min)
        mm = (t_min - day.midnight) // 60
        n = day.counts[mm]
        if not n:
            return []
        r = _Rng(f"{self.seed}/a/{minute}")
        offsets = sorted(int(60 * r.random()) for _ in range(n))
        p, rnd = self._p, r.random
        out, created, convert = [], [], []
        for j in range(n):
            t0 = t_min + offsets[j]
            aid = f"A{day.ymd}-{day.first[mm] + j + 1:06d}"
            ci = _pick(p.cum, rnd())
            fav = p.favourite.get(ci)
            li = fav if fav is not None and rnd() < 0.35 else _pick(day.leaf_cum, rnd())
            path, leaf, mix = self._leaf_info[li]
            priority = PRIORITIES[_pick(mix, rnd())]
            channel = CHANNELS[_pick(self._channel_cum, rnd())][0]
            kind = KINDS[_pick(self._kind_cum, rnd())][0]
            fields: dict[str, Any] = {"channel": channel, "kind": kind, "category": path, "priority": priority}
            u = rnd()
            if channel == "grid_patrol" or 0.60 <= u < 0.88:
                mode = "both"
            else:
                mode = "location" if u < 0.60 else "community"
            if mode != "community":
                dist, ang = p.radius[ci] * math.sqrt(rnd()), 2 * math.pi * rnd()
                lat = p.lat[ci] + dist * math.cos(ang) / 111_320.0
                lon = p.lon[ci] + dist * math.sin(ang) / (111_320.0 * math.cos(math.radians(p.lat[ci])))
                shares = CRS_BY_CHANNEL.get(channel, (1.0, 0.0, 0.0))
                v = rnd()
                crs = "wgs84" if v < shares[0] else "gcj02" if v < shares[0] + shares[1] else "bd09"
                fields["location"] = {"lon": round(lon, 6), "lat": round(lat, 6)}
                if crs != "wgs84":
                    convert.append((fields, crs, lon, lat))
                elif rnd() < 0.5:
                    fields["location"]["crs"] = "wgs84"
            if mode != "location":
                fields["community"] = p.code[ci]
            if rnd() < 0.85:
                fields["address"] = self._address(r, ci)
            if rnd() < 0.97:
                fields["summary"] = self._summary(r, ci, kind, leaf.problem)
            if rnd() < 0.03:
                fields["due_at"] = self._fmt(t0 + self._limits[priority])
            steps = self._lifecycle(r, t0, priority, li, ci)
            if t0 >= not_before:
                out.append((aid, steps))
                created.append((steps, fields))
        if convert:
            self._convert(convert)
        for steps, fields in created:
            steps[0] = (steps[0][0], "created", _frag(fields))
        return out

    @staticmethod
    def _convert(items: list[tuple[dict[str, Any], str, float, float]]) -> None:
        """Replace WGS-84 locations by their GCJ-02 or BD-09 coordinates, in one vectorised pass."""
        gx, gy = wgs84_to_gcj02([x[2] for x in items], [x[3] for x in items])
        bx, by = gcj02_to_bd09(gx, gy)
        for k, (fields, crs, _, _) in enumerate(items):
            x, y = (gx[k], gy[k]) if crs == "gcj02" else (bx[k], by[k])
            fields["location"] = {"lon": round(float(x), 6), "lat": round(float(y), 6), "crs": crs}

    def _address(self, r: _Rng, ci: int) -> str:
        p = self._p
        u = r.random()
        if u < 0.6:
            return f"{p.place[ci]}{p.name[ci]}{r.randint(1, 30)}号楼{r.randint(1, 6)}单元"
        if u < 0.85:
            return f"{p.place[ci]}{p.name[ci]}附近"
        a, b = r.sample(_ROADS, 2)
        return f"{p.place[ci]}{a}与{b}交叉口"

    def _summary(self, r: _Rng, ci: int, kind: str, problem: str) -> str:
        who, where = r.pick(_WHO), self._p.name[ci]
        if kind == "praise":
            text = f"{who}来电表扬社区工作人员，此前反映的“{problem}”问题已及时解决。"
        elif kind == "consult" or problem.startswith("咨询"):
            text = f"{who}{problem}。" if problem.startswith("咨询") else f"{who}咨询：{where}{problem}，该找哪里解决。"
        elif r.random() < 0.5:
            text = f"{who}反映：{where}{r.randint(1, 30)}号楼{problem}，{r.pick(_SINCE)}，{r.pick(_ASK)}。"
        else:
            text = f"来电人称{where}附近{problem}，{r.pick(_ASK)}。"
        if r.random() < 0.03:  # citizen text is untrusted: markup, ampersands and quotes do occur
            text = text[:-1] + r.pick(_TRICKY) + "。"
        return text

    def _lifecycle(self, r: _Rng, t0: int, priority: str, li: int, ci: int) -> list[tuple[int, str, str]]:
        """Every later event of one appeal: dispatch, accept, maybe return/extend, resolve, review, close."""
        rnd, fmt, q = r.random, self._fmt, self._q
        limit, fast = self._limits[priority], priority == "emergency"
        steps: list[tuple[int, str, str]] = [(t0, "created", "")]  # the fragment is filled in by the caller
        unit, alt = self._handlers(li, ci)
        t = t0 + (r.randint(60, 300) if fast else 60 + int(r.lognormvariate(6.8, 0.8)))  # median ~15 min
        if alt is not None and rnd() < RETURN_P:
            steps.append((t, "dispatched", f',"unit":{q(unit)}'))
            t += r.randint(1800, 6 * 3600)
            steps.append((t, "returned", f',"unit":{q(unit)},"reason":{q(r.pick(_RETURN))}'))
            t += r.randint(300, 3600)
            unit = alt
        member = None
        if unit == self._p.street[ci]:
            mids = self._p.handlers.get(ci)
            member = r.pick(mids) if mids else None
        clock = t
        t, due = self._dispatch(r, steps, t, unit, member, limit, fast)
        if rnd() < EXTEND_P:
            t = max(t + 600, clock + int((due - clock) * r.uniform(0.3, 0.8)))
            due += int(limit * r.uniform(0.5, 1.0))
            steps.append((t, "extended", f',"due_at":"{fmt(due)}","reason":{q(r.pick(_EXTEND))}'))
        t, late = self._resolve(r, steps, t, clock, due, unit, member, fast, rnd() < OVERDUE_P)
        t, bad = self._review(r, steps, t, fast, late, again=False)
        if bad and rnd() < REOPEN_IF_BAD_P:
            t += r.randint(1800, 86400)
            steps.append((t, "reopened", f',"reason":{q(r.pick(_REOPEN))}'))
            t += r.randint(300, 3600)
            clock = t
            t, due = self._dispatch(r, steps, t, unit, member, limit, fast)
            t, late = self._resolve(r, steps, t, clock, due, unit, member, fast, False, share=0.6)
            t, _ = self._review(r, steps, t, fast, late, again=True)
        steps.append((t + r.randint(600, 8 * 3600), "closed", ""))
        return steps

    def _dispatch(self, r: _Rng, steps: list[tuple[int, str, str]], t: int, unit: str,
                  member: str | None, limit: int, fast: bool) -> tuple[int, int]:
        """Append dispatched (sometimes with due_at) and accepted; return (time, due)."""
        due, unit_q = t + limit, f',"unit":{self._q(unit)}'
        if r.random() < 0.15:
            if r.random() < 0.3:
                due = t + limit // 2
            steps.append((t, "dispatched", f'{unit_q},"due_at":"{self._fmt(due)}"'))
        else:
            steps.append((t, "dispatched", unit_q))
        t += r.randint(30, 480) if fast else 60 + int(r.lognormvariate(7.2, 0.9))  # median ~25 min
        steps.append((t, "accepted", f'{unit_q},"member":{self._q(member)}' if member else unit_q))
        return t, due

    def _resolve(self, r: _Rng, steps: list[tuple[int, str, str]], t: int, clock: int, due: int,
                 unit: str, member: str | None, fast: bool, overdue: bool, share: float = 1.0) -> tuple[int, bool]:
        """Append resolved at a share of the time budget (past it when overdue); return (time, late)."""
        budget = due - clock
        if overdue:
            t_res = due + int(budget * r.uniform(0.02, 0.6))
        else:
            t_res = clock + int(budget * min(0.97, share * r.share(1.4, 3.4)))
        t = max(t + (600 if fast else 1800), t_res)
        if member is not None:
            self._busy.setdefault(member, []).append((t - r.randint(1200, 5400), t))
        steps.append((t, "resolved", f',"unit":{self._q(unit)},"note":{self._q(r.pick(_NOTE))}'))
        return t, t > due

    def _review(self, r: _Rng, steps: list[tuple[int, str, str]], t: int, fast: bool, late: bool,
                again: bool) -> tuple[int, bool]:
        """Append the call-back (in daytime hours); return (time, whether it went badly)."""
        t += r.randint(1800, 4 * 3600) if fast else r.randint(2 * 3600, 30 * 3600)
        s, _ = self._offset(t)
        sec = (t + s) % 86400
        if sec < 9 * 3600:
            t += 9 * 3600 - sec + r.randint(0, 3 * 3600)
        elif sec >= 20 * 3600 + 1800:
            t += 86400 - sec + 9 * 3600 + r.randint(0, 3 * 3600)
        responded = r.random() < 0.97
        resolved = r.random() < (0.95 if again else (0.905 if responded else 0.2) - (0.05 if late else 0.0))
        u = r.random() + (0.08 if late else 0.0)
        if resolved:
            sat = "satisfied" if u < 0.88 else "basically_satisfied" if u < 0.97 else "dissatisfied"
        else:
            sat = "satisfied" if u < 0.25 else "basically_satisfied" if u < 0.55 else "dissatisfied"
        steps.append((t, "reviewed", self._review_frags[(responded, resolved, sat)]))
        return t, not resolved or sat == "dissatisfied"

    # ---- presence -----------------------------------------------------------------------------

    def _sos_plan(self, day: date, midnight: int) -> dict[int, list[int]]:
        """Two to four SOS incidents a day, each a member on shift in distress for 3–10 minutes."""
        p = self._p
        if not p.member_ids:
            return {}
        r = random.Random(f"{self.seed}/sos/{day.toordinal()}")
        plan: dict[int, list[int]] = {}
        for _ in range(r.randint(2, 4)):
            mm = r.randrange(510, 1200)
            i = r.randrange(len(p.member_ids))
            for _ in range(50):
                if self._on_shift(i, mm) and p.member_home[i] is not None:
                    break
                i = r.randrange(len(p.member_ids))
            for k in range(r.randint(3, 10)):
                plan.setdefault(midnight // 60 + mm + k, []).append(i)
        return plan

    def _on_shift(self, i: int, mm: int) -> bool:
        return (mm - self._p.shift_start[i]) % 1440 < self._p.shift_len[i]

    def _beats(self, minute: int) -> list[tuple[int, str]]:
        """Heartbeats of one epoch minute: a rotating 1/period of the roster, plus any SOS."""
        p, period = self._p, self._beat_period
        n = len(p.member_ids)
        if not n:
            return []
        t_min = minute * 60
        day = self._day(t_min)
        mm = (t_min - day.midnight) // 60
        r = random.Random(f"{self.seed}/p/{minute}")
        sos = day.sos.get(minute, [])
        stamps = [self._fmt(t_min + k) for k in range(60)]
        busy, ids, start, length = self._busy, p.member_ids, p.shift_start, p.shift_len
        out = []
        rotation = range((-minute) % period, n, period)
        for i in sorted(set(rotation) | set(sos)) if sos else rotation:
            if sos and i in sos:
                state = "sos"
            elif (mm - start[i]) % 1440 < length[i]:
                state = "on_duty"
            elif (mm - start[i] - length[i]) % 1440 < period:
                state = "off_duty"  # signs off once after the shift, then stays silent
            else:
                continue
            sec = int(60 * r.random())
            t = t_min + sec
            spells = busy.get(ids[i])
            if spells and state == "on_duty" and any(s <= t < e for s, e in spells):
                state = "busy"
            home = p.member_home[i]
            if home is None:
                out.append((t, f'{{"v":1,"member":{p.member_json[i]},"at":"{stamps[sec]}","state":"{state}"}}'))
                continue
            dist, ang = 400.0 * math.sqrt(r.random()), 2 * math.pi * r.random()
            lat = home[1] + dist * math.cos(ang) / 111_320.0
            lon = home[0] + dist * math.sin(ang) / (111_320.0 * math.cos(math.radians(home[1])))
            out.append((t, f'{{"v":1,"member":{p.member_json[i]},"at":"{stamps[sec]}","state":"{state}",'
                            f'"lon":{lon:.6f},"lat":{lat:.6f}}}'))
        return out

    def _prune_busy(self, t: int) -> None:
        """Forget busy spells that ended before t (once a simulated day)."""
        for mid in list(self._busy):
            kept = [iv for iv in self._busy[mid] if iv[1] > t]
            if kept:
                self._busy[mid] = kept
            else:
                del self._busy[mid]


def main(argv: Sequence[str] | None = None, *, redis_url: str | None = None, city: City | None = None,
         settings: Settings | None = None, stop: threading.Event | None = None) -> int:
    """`simulate`: run the demo intake feed (optionally after writing history) until interrupted."""
    ap = argparse.ArgumentParser(prog="simulate", description="Demo intake feed: writes appeal events and "
                                 "grid-member heartbeats to the Redis streams of the intake contract.")
    ap.add_argument("--rate", type=float, help="appeals per simulated day (default: DEMO_PER_DAY)")
    ap.add_argument("--speedup", type=float, help="simulated seconds per wall second (default: DEMO_SPEEDUP)")
    ap.add_argument("--redis-url", help="Redis to write to (default: REDIS_URL, else " + DEFAULT_REDIS_URL + ")")
    ap.add_argument("--backfill", type=float, metavar="DAYS", help="first write this many days of history")
    ap.add_argument("--seed", type=int, help="random seed (default: CITY_SEED)")
    ap.add_argument("--no-live", action="store_true", help="stop after the backfill")
    args = ap.parse_args(argv)
    if (args.rate is not None and args.rate <= 0) or (args.speedup is not None and args.speedup <= 0):
        ap.error("--rate and --speedup must be positive")
    settings = settings or get_settings()
    url = args.redis_url or redis_url or settings.redis_url or DEFAULT_REDIS_URL
    if city is None:
        from geo.loader import load_city

        city = load_city(settings)
    client = redis.Redis.from_url(url, socket_timeout=30)
    feed = DemoFeed(city, client, settings, args.seed, per_day=args.rate, speedup=args.speedup)
    try:
        if args.backfill:
            began = time.perf_counter()

            def show(done: int, total: int) -> None:
                n = feed.written["events"]
                rate = n / max(time.perf_counter() - began, 1e-9)
                print(f"\rbackfill {100 * done // total:3d}%  {n:,} events  {rate:,.0f} events/s   ",
                      end="", file=sys.stderr, flush=True)

            n = feed.backfill(args.backfill, show)
            print(f"\rbackfill done: {n:,} events in {time.perf_counter() - began:.1f} s" + " " * 20,
                  file=sys.stderr, flush=True)
        if args.no_live:
            return 0
        print(f"demo feed: {feed.per_day:,.0f} appeals/day x{feed.speedup:g} -> {feed.events_key} on {url} "
              "(Ctrl-C stops)", file=sys.stderr, flush=True)
        feed.run(stop or threading.Event())
    except KeyboardInterrupt:
        print(file=sys.stderr)
    except redis.RedisError as exc:
        print(f"\nsimulate: Redis at {url}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
