"""The demo intake feed against a real Redis (127.0.0.1:6379) over a tiny hand-built city."""

from __future__ import annotations

import io
import json
import math
import os
import re
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import redirect_stderr
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import redis
from shapely.geometry import Point, box

from dashboard import catalogue
from dashboard.settings import PRIORITIES, Settings, load_settings
from data_access.demo.cli import main
from data_access.demo.feed import DemoFeed
from geo.crs import to_wgs84
from geo.model import City

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 22, 12, 0, 7, tzinfo=CST).timestamp()  # heating season, a Sunday
RATE = 3000
TYPES = {"created", "dispatched", "accepted", "extended", "returned", "resolved", "reviewed", "reopened", "closed"}
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00\Z")
REQUIRED = {
    "created": {"channel", "kind", "category", "priority"},
    "dispatched": {"unit"},
    "accepted": {"unit"},
    "extended": {"due_at"},
    "returned": {"unit"},
    "resolved": {"unit"},
    "reviewed": {"responded", "resolved", "satisfaction"},
    "reopened": set(),
    "closed": set(),
}

# ---- a tiny city ------------------------------------------------------------------------------

STREETS = [
    ("110101001", "东华门街道", "110101"),
    ("110101002", "景山街道", "110101"),
    ("110102001", "西长安街街道", "110102"),
]
UNITS = [
    ("D001", "市城市管理委", "department"),
    ("D002", "市住房城乡建设委", "department"),
    ("D003", "市交通委", "department"),
    ("D004", "市公安局公安交通管理局", "department"),
    ("D005", "市市场监管局", "department"),
    ("D006", "市人力资源社会保障局", "department"),
    ("D007", "市生态环境局", "department"),
    ("D008", "市公安局", "department"),
    ("D009", "市教委", "department"),
    ("D010", "市卫生健康委", "department"),
    ("D011", "市农业农村局", "department"),
    ("C001", "北京热力集团", "company"),
    ("C002", "北京市自来水集团", "company"),
    ("C003", "北京燃气集团", "company"),
    ("C004", "国网北京市电力公司", "company"),
    ("C005", "北京城市排水集团", "company"),
]


def tiny_city() -> City:
    """2 districts, 3 streets, 6 communities (points), 12 grids, 19 units, 30 grid members."""
    crs = "EPSG:4326"
    districts = gpd.GeoDataFrame(
        {"code": ["110101", "110102"], "name": ["东城区", "西城区"]},
        geometry=[box(116.38, 39.88, 116.45, 39.97), box(116.30, 39.88, 116.38, 39.97)],
        crs=crs,
    )
    sboxes = [box(116.38, 39.88, 116.45, 39.92), box(116.38, 39.92, 116.45, 39.97), box(116.30, 39.88, 116.38, 39.97)]
    streets = gpd.GeoDataFrame(
        {"code": [s[0] for s in STREETS], "name": [s[1] for s in STREETS], "district": [s[2] for s in STREETS]},
        geometry=sboxes,
        crs=crs,
    )
    rows, grows, mrows = [], [], []
    for k, (scode, _, dcode) in enumerate(STREETS):
        cx, cy = sboxes[k].centroid.x, sboxes[k].centroid.y
        for j in range(2):
            code, lon, lat = f"{scode}00{j + 1}", cx + (j - 0.5) * 0.02, cy
            rows.append(
                {
                    "code": code,
                    "name": f"社区{k}{j}",
                    "street": scode,
                    "district": dcode,
                    "geometry": Point(lon, lat),
                    "lon": lon,
                    "lat": lat,
                }
            )
            mrows.append(
                {
                    "id": f"M-{code}-L",
                    "name": "张三",
                    "role": "grid_leader",
                    "grid": f"{code}01",
                    "community": code,
                    "street": scode,
                    "district": dcode,
                }
            )
            for g in range(2):
                gcode = f"{code}0{g + 1}"
                grows.append(
                    {
                        "code": gcode,
                        "name": f"第{g + 1}网格",
                        "community": code,
                        "street": scode,
                        "district": dcode,
                        "geometry": box(lon - 0.004 + g * 0.004, lat - 0.003, lon + g * 0.004, lat + 0.003),
                    }
                )
                for role in ("full_time_member", "grid_member"):
                    mrows.append(
                        {
                            "id": f"M-{gcode}-{role[0]}",
                            "name": "李四",
                            "role": role,
                            "grid": gcode,
                            "community": code,
                            "street": scode,
                            "district": dcode,
                        }
                    )
    units = pd.DataFrame(
        [{"code": s[0], "name": s[1], "kind": "street", "district": s[2]} for s in STREETS]
        + [{"code": c, "name": n, "kind": k, "district": None} for c, n, k in UNITS]
    )
    return City(
        name="测试市",
        districts=districts,
        streets=streets,
        communities=gpd.GeoDataFrame(rows, geometry="geometry", crs=crs),
        grids=gpd.GeoDataFrame(grows, geometry="geometry", crs=crs),
        units=units,
        members=pd.DataFrame(mrows),
    )


CITY = tiny_city()


def make_settings(prefix: str, **kw: Any) -> Settings:
    return load_settings(hotline_prefix=prefix, redis_url=REDIS_URL, demo=False, **kw)


@pytest.fixture(scope="module")
def client() -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    yield c
    c.close()


def _drop(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def _ids(client: redis.Redis, key: str) -> list[str]:
    """Every entry's id, in stream order."""
    entries: Any = client.xrange(key)
    return [i.decode() for i, _ in entries]


def _read(client: redis.Redis, key: str) -> list[str]:
    """Every entry's `event` value, in stream order (asserting each entry has that one field only)."""
    out = []
    entries: Any = client.xrange(key)
    for _, fields in entries:
        assert list(fields) == [b"event"]
        out.append(fields[b"event"].decode("utf-8"))
    return out


def _backfill(client: redis.Redis, days: float, seed: int = 7, rate: int = RATE) -> dict[str, Any]:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(prefix)
    feed = DemoFeed(CITY, client, settings, seed, per_day=rate)
    calls: list[tuple[int, int]] = []
    try:
        n = feed.backfill(days, lambda done, total: calls.append((done, total)), now=NOW)
        raw = _read(client, settings.stream("events"))
        presence = _read(client, settings.stream("presence"))
        keys = sorted(k.decode() for k in client.scan_iter(f"{prefix}:*"))
    finally:
        _drop(client, prefix)
    return {
        "n": n,
        "raw": raw,
        "events": [json.loads(x) for x in raw],
        "presence": [json.loads(x) for x in presence],
        "keys": keys,
        "prefix": prefix,
        "feed": feed,
        "calls": calls,
    }


@pytest.fixture(scope="module")
def history(client: redis.Redis) -> dict[str, Any]:
    """Three days of history at 3,000 appeals a day, written once for the module."""
    return _backfill(client, 3)


def ts(value: str) -> float:
    assert STAMP.match(value), value
    return datetime.fromisoformat(value).timestamp()


def check_event(e: dict[str, Any]) -> None:
    """The contract, checked by hand: common fields, the type's own fields, enums, timestamps."""
    assert e["v"] == 1 and type(e["v"]) is int
    assert isinstance(e["id"], str) and 1 <= len(e["id"]) <= 64
    assert isinstance(e["appeal"], str) and 1 <= len(e["appeal"]) <= 64
    assert e["type"] in TYPES
    assert ts(e["at"]) <= NOW
    assert REQUIRED[e["type"]] <= set(e), e
    if e["type"] == "created":
        assert e["kind"] in ("consult", "request", "complaint", "report", "suggestion", "praise")
        assert e["priority"] in PRIORITIES
        assert isinstance(e["category"], list) and 1 <= len(e["category"]) <= 3
        assert tuple(e["category"]) in set(catalogue.leaves())
        assert "location" in e or "community" in e
        if "location" in e:
            loc = e["location"]
            assert set(loc) <= {"lon", "lat", "crs"} and loc.get("crs", "wgs84") in ("wgs84", "gcj02", "bd09")
            assert -180 <= loc["lon"] <= 180 and -90 <= loc["lat"] <= 90
        for opt in ("address", "summary", "community", "channel"):
            assert opt not in e or isinstance(e[opt], str)
    if e["type"] == "reviewed":
        assert isinstance(e["responded"], bool) and isinstance(e["resolved"], bool)
        assert e["satisfaction"] in ("satisfied", "basically_satisfied", "dissatisfied")
    if "due_at" in e:
        ts(e["due_at"])
    for name in ("unit", "member", "reason", "note"):
        assert name not in e or (isinstance(e[name], str) and e[name])


# ---- contract -----------------------------------------------------------------------------------


def test_simulator001_backfill_events_follow_the_contract(history: dict[str, Any]) -> None:
    assert history["n"] == len(history["events"]) > 10_000
    for e in history["events"]:
        check_event(e)
    for p in history["presence"]:
        assert p["v"] == 1 and isinstance(p["member"], str) and p["state"] in ("on_duty", "busy", "off_duty", "sos")
        assert ts(p["at"]) <= NOW and -180 <= p["lon"] <= 180 and -90 <= p["lat"] <= 90
    ids = [e["id"] for e in history["events"]]
    assert len(ids) == len(set(ids))
    # Only the two intake streams: never a dead-letter stream.
    assert history["keys"] == sorted([f"{history['prefix']}:events", f"{history['prefix']}:presence"])


def test_simulator002_events_pass_contract_parse_event(history: dict[str, Any]) -> None:
    contract = pytest.importorskip("dashboard.contract")
    for raw in history["raw"]:
        contract.parse_event(raw)
    for p in history["presence"]:
        contract.parse_presence(json.dumps(p))


def test_simulator003_ids_and_appeal_numbers(history: dict[str, Any]) -> None:
    for e in history["events"]:
        assert re.fullmatch(r"demo-7-A\d{8}-\d{6}-\d+", e["id"]) and e["id"].startswith(f"demo-7-{e['appeal']}-")
        if e["type"] == "created":  # the date in the id is the local creation date
            assert e["appeal"][1:9] == e["at"][:10].replace("-", "")


def test_simulator004_same_seed_same_events(client: redis.Redis, history: dict[str, Any]) -> None:
    again = _backfill(client, 3)
    assert again["raw"] == history["raw"]
    other = _backfill(client, 3, seed=8)
    assert other["raw"] != history["raw"]


def test_simulator005_progress_reports_minutes(history: dict[str, Any]) -> None:
    calls = history["calls"]
    assert calls[-1][0] == calls[-1][1] == 3 * 1440 + 1
    assert all(a[0] <= b[0] for a, b in pairwise(calls))


# ---- lifecycle ----------------------------------------------------------------------------------


def _paths(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    paths: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        paths[e["appeal"]].append(e)
    return paths


def test_simulator006_every_lifecycle_path_occurs(history: dict[str, Any]) -> None:
    events = history["events"]
    types = Counter(e["type"] for e in events)
    assert set(types) == TYPES
    sats = Counter(e["satisfaction"] for e in events if e["type"] == "reviewed")
    assert set(sats) == {"satisfied", "basically_satisfied", "dissatisfied"}
    paths = _paths(events)
    seq = {a: [e["type"] for e in p] for a, p in paths.items()}
    assert any("returned" in s and s.count("dispatched") == 2 for s in seq.values())
    assert any("extended" in s for s in seq.values())
    assert any("reopened" in s and s.count("resolved") == 2 and s[-1] == "closed" for s in seq.values())
    assert any(s[-1] == "closed" and s[0] == "created" for s in seq.values())
    assert any(s == ["created"] for s in seq.values())  # just in, not yet dispatched
    assert any(e["type"] == "dispatched" and "due_at" in e for e in events)
    assert any(e["type"] == "created" and "due_at" in e for e in events)


def test_simulator007_per_appeal_order_and_timing(history: dict[str, Any]) -> None:
    for appeal, path in _paths(history["events"]).items():
        times = [ts(e["at"]) for e in path]
        assert times == sorted(times), appeal
        assert [int(e["id"].rsplit("-", 1)[1]) for e in path] == list(range(1, len(path) + 1))
        assert path[0]["type"] == "created"
        kinds = [e["type"] for e in path]
        if "accepted" in kinds:
            assert kinds.index("dispatched") < kinds.index("accepted")
        if "closed" in kinds:
            assert kinds[-1] == "closed" and "reviewed" in kinds
        if "reviewed" in kinds:
            assert kinds.index("resolved") < kinds.index("reviewed")


def _deadline_walk(path: list[dict[str, Any]], limit: float) -> tuple[float | None, float | None, list[float]]:
    """(clock start, due, [resolution delays past due…]) walking the contract's deadline rules."""
    start = due = None
    late = []
    for e in path:
        if e["type"] == "dispatched":
            start = ts(e["at"])
            due = ts(e["due_at"]) if "due_at" in e else start + limit
        elif e["type"] == "extended":
            due = ts(e["due_at"])
        elif e["type"] == "resolved" and due is not None:
            late.append(ts(e["at"]) - due)
    return start, due, late


def test_simulator008_deadlines_overdue_and_open_lights(client: redis.Redis, history: dict[str, Any]) -> None:
    settings = make_settings("x")
    feed = DemoFeed(CITY, client, settings, 7, per_day=RATE)
    whole = feed.appeals_between(NOW - 86400, NOW)  # full lifecycles, nothing cut at now
    assert 2000 < len(whole) < 4000
    overdue = done = 0
    for events in whole.values():
        path = [json.loads(x) for x in events]
        assert path[-1]["type"] == "closed"
        _, _, late = _deadline_walk(path, settings.limit(path[0]["priority"]).total_seconds())
        done += len(late)
        overdue += sum(d > 0 for d in late)
    assert 0.02 < overdue / done < 0.08  # a few per cent finish after the deadline
    # At `now`, some open appeals have used over half their time (yellow), some are overdue (red).
    yellow = red = 0
    for path in _paths(history["events"]).values():
        kinds = [e["type"] for e in path]
        if kinds[-1] != "dispatched" and kinds[-1] not in ("accepted", "extended"):
            continue
        start, due, _ = _deadline_walk(path, settings.limit(path[0]["priority"]).total_seconds())
        assert start is not None and due is not None
        used = (NOW - start) / (due - start)
        yellow += 0.5 <= used < 1
        red += used >= 1
    assert yellow >= 5 and red > 0
    emergency = [
        (ts(p[-1]["at"]) - ts(p[0]["at"])) / 3600
        for p in ([json.loads(x) for x in ev] for ev in whole.values())
        if p[0]["priority"] == "emergency"
        for p in [[e for e in p if e["type"] in ("created", "resolved")][:2]]
    ]
    assert emergency and sorted(emergency)[len(emergency) // 2] < 2


def test_simulator009_profile_shares(history: dict[str, Any]) -> None:
    created = [e for e in history["events"] if e["type"] == "created"]
    n = len(created)
    assert n > 6000
    pri = Counter(e["priority"] for e in created)
    assert 0.002 < pri["emergency"] / n < 0.04 and 0.06 < pri["urgent"] / n < 0.2
    assert 0.55 < pri["normal"] / n < 0.8 and 0.1 < pri["routine"] / n < 0.3
    channels = Counter(e["channel"] for e in created)
    assert channels.most_common(1)[0][0] == "phone" and {"web", "wechat", "app", "grid_patrol"} <= set(channels)
    crs = Counter(e["location"].get("crs", "wgs84") for e in created if "location" in e)
    assert crs["wgs84"] > 0.6 * sum(crs.values()) and crs["gcj02"] > 0 and crs["bd09"] > 0
    placed = Counter(("location" in e, "community" in e) for e in created)
    assert placed[(True, False)] and placed[(False, True)] and placed[(True, True)]
    assert any(ch in e.get("summary", "") for e in created for ch in "<>&")
    assert any(e["category"][0] == "供暖" for e in created)
    reviews = [e for e in history["events"] if e["type"] == "reviewed"]
    m = len(reviews)
    assert 0.93 < sum(e["responded"] for e in reviews) / m <= 1
    assert 0.8 < sum(e["resolved"] for e in reviews) / m < 0.95
    sat = Counter(e["satisfaction"] for e in reviews)
    assert 0.7 < sat["satisfied"] / m < 0.9 and 0.03 < sat["dissatisfied"] / m < 0.15
    unresolved = [e for e in reviews if not e["resolved"]]
    dis = lambda rs: sum(e["satisfaction"] == "dissatisfied" for e in rs) / len(rs)  # noqa: E731
    assert dis(unresolved) > 3 * dis(reviews)


def test_simulator010_daily_curve_and_hotspots(history: dict[str, Any]) -> None:
    created = [e for e in history["events"] if e["type"] == "created"]
    hours = Counter(int(e["at"][11:13]) for e in created)
    assert hours[10] > 5 * hours[3] and hours[15] > 5 * hours[3]
    assert hours[10] > hours[12] and hours[15] > hours[12]
    # Places: each community's share is stable, and the busiest clearly above the mean.
    comm = Counter(_community_of(e) for e in created)
    assert max(comm.values()) > 1.4 * (len(created) / len(CITY.communities))


def _community_of(e: dict[str, Any]) -> str:
    if "community" in e:
        return e["community"]
    lon, lat = to_wgs84([e["location"]["lon"]], [e["location"]["lat"]], e["location"].get("crs", "wgs84"))
    d = (CITY.communities["lon"] - lon[0]) ** 2 + (CITY.communities["lat"] - lat[0]) ** 2
    return str(CITY.communities["code"].iloc[int(d.argmin())])


def test_simulator011_locations_near_their_community(history: dict[str, Any]) -> None:
    pts = CITY.communities.set_index("code")
    for e in history["events"]:
        if e["type"] != "created" or "location" not in e or "community" not in e:
            continue
        loc = e["location"]
        lon, lat = to_wgs84([loc["lon"]], [loc["lat"]], loc.get("crs", "wgs84"))
        c = pts.loc[e["community"]]
        metres = math.hypot(
            (lon[0] - c["lon"]) * 111_320 * math.cos(math.radians(c["lat"])), (lat[0] - c["lat"]) * 111_320
        )
        assert metres < 210, (e, metres)


def test_simulator012_handlers_and_members(history: dict[str, Any]) -> None:
    units = set(CITY.units["code"])
    members = CITY.members.set_index("id")
    place = {}
    for e in history["events"]:
        if e["type"] == "created":
            place[e["appeal"]] = _community_of(e)
        if e["type"] in ("dispatched", "accepted", "returned", "resolved"):
            assert e["unit"] in units
        if e["type"] == "accepted" and "member" in e:
            assert members.loc[e["member"], "community"] == place[e["appeal"]]
            assert members.loc[e["member"], "street"] == e["unit"]
    first_unit: dict[str, str] = {}
    for e in history["events"]:
        if e["type"] == "dispatched":
            first_unit.setdefault(e["appeal"], e["unit"])
    heating = [
        first_unit[e["appeal"]]
        for e in history["events"]
        if e["type"] == "created" and e["category"][0] == "供暖" and e["appeal"] in first_unit
    ]
    assert Counter(heating).most_common(1)[0][0] == "C001"  # 北京热力集团
    kinds = Counter(CITY.units.set_index("code").loc[u, "kind"] for u in first_unit.values())
    assert kinds["street"] > kinds["department"] + kinds["company"]  # most go to the street


# ---- presence -----------------------------------------------------------------------------------


def test_simulator013_presence_over_a_day_has_sos_and_night(client: redis.Redis) -> None:
    feed = DemoFeed(CITY, client, make_settings("unused"), 7, per_day=RATE)
    day = datetime(2026, 11, 22, tzinfo=CST)
    beats = feed.presence_between(day.timestamp(), day.timestamp() + 86399)
    states = Counter(json.loads(b)["state"] for _, b in beats)
    assert states["sos"] >= 1 and states["on_duty"] > 1000 and states["off_duty"] > 0
    sos_members = {m for ms in feed.sos_minutes(day.date()).values() for m in ms}
    assert sos_members and sos_members <= set(CITY.members["id"])
    at_3am = [b for t, b in beats if datetime.fromtimestamp(t, CST).hour == 3]
    at_10am = [b for t, b in beats if datetime.fromtimestamp(t, CST).hour == 10]
    assert len(at_3am) < len(at_10am) / 5  # off duty at night


def test_simulator014_busy_members_after_backfill(history: dict[str, Any]) -> None:
    feed = history["feed"]  # busy spells come from the appeals it generated
    beats = feed.presence_between(NOW - 6 * 3600, NOW)
    assert any(json.loads(b)["state"] == "busy" for _, b in beats)
    near = {m: (lon, lat) for m, lon, lat in zip(CITY.members["id"], *_member_home())}
    for _, b in beats:
        p = json.loads(b)
        hx, hy = near[p["member"]]
        assert abs(p["lon"] - hx) < 0.006 and abs(p["lat"] - hy) < 0.005


def _member_home() -> tuple[list[float], list[float]]:
    pts = CITY.communities.set_index("code")
    return (
        [float(pts.loc[c, "lon"]) for c in CITY.members["community"]],
        [float(pts.loc[c, "lat"]) for c in CITY.members["community"]],
    )


# ---- live mode ----------------------------------------------------------------------------------


def test_simulator015_live_run_writes_both_streams_and_stops(client: redis.Redis) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(prefix)
    feed = DemoFeed(CITY, client, settings, 11, per_day=20_000, speedup=1800)
    stop = threading.Event()
    thread = threading.Thread(target=feed.run, args=(stop,), kwargs={"tick_s": 0.05}, daemon=True)
    try:
        began = time.time()
        thread.start()
        time.sleep(2.0)
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive()
        sim_end = began + (time.time() - began) * 1800 + 5
        events = [json.loads(x) for x in _read(client, settings.stream("events"))]
        presence = [json.loads(x) for x in _read(client, settings.stream("presence"))]
        assert len(events) > 100 and len(presence) > 10
        assert feed.written == {"events": len(events), "presence": len(presence)}
        for e in events:
            assert ts(e["at"]) <= min(sim_end, feed._sim_now + 1)  # never ahead of the simulated clock
            assert ts(e["at"]) >= began - 1
        for path in _paths(events).values():
            times = [ts(e["at"]) for e in path]
            assert times == sorted(times) and path[0]["type"] == "created"
        assert sorted(k.decode() for k in client.scan_iter(f"{prefix}:*")) == [f"{prefix}:events", f"{prefix}:presence"]
    finally:
        stop.set()
        thread.join(timeout=5)
        _drop(client, prefix)


def test_simulator016_run_after_backfill_writes_the_held_back_events(client: redis.Redis) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(prefix)
    clock = [NOW]
    feed = DemoFeed(CITY, client, settings, 5, per_day=RATE, speedup=600, clock=lambda: clock[0])
    try:
        n = feed.backfill(1)
        assert n == client.xlen(settings.stream("events"))
        stop = threading.Event()

        def advance() -> None:  # a fake wall clock: 30 wall seconds, i.e. 5 simulated hours
            for _ in range(30):
                clock[0] += 1
                time.sleep(0.01)
            stop.set()

        ticker = threading.Thread(target=advance)
        ticker.start()
        feed.run(stop, tick_s=0.005)
        ticker.join()
        events = [json.loads(x) for x in _read(client, settings.stream("events"))]
        ids = [e["id"] for e in events]
        assert len(ids) == len(set(ids))
        later = events[n:]
        assert later and all(ts(e["at"]) > NOW for e in later)
        # Appeals from the backfill get their later events in the live run.
        old = {e["appeal"] for e in events[:n]}
        assert any(e["appeal"] in old and e["type"] != "created" for e in later)
        for path in _paths(events).values():
            times = [ts(e["at"]) for e in path]
            assert times == sorted(times)
    finally:
        _drop(client, prefix)


# ---- command line and catalogue ----------------------------------------------------------------


def test_simulator017_main_backfill_prints_one_progress_line(client: redis.Redis) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(prefix)
    err = io.StringIO()
    try:
        with redirect_stderr(err):
            rc = main(
                ["--backfill", "0.5", "--no-live", "--rate", "2000", "--seed", "3"],
                redis_url=REDIS_URL,
                city=CITY,
                settings=settings,
            )
        assert rc == 0
        assert client.xlen(settings.stream("events")) > 500
        text = err.getvalue()
        assert "\r" in text and "events/s" in text and "backfill done" in text
    finally:
        _drop(client, prefix)


def test_simulator018_main_live_stops_on_event(client: redis.Redis) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(prefix)
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    try:
        timer.start()
        with redirect_stderr(io.StringIO()):
            rc = main(
                ["--speedup", "3600", "--rate", "5000"], redis_url=REDIS_URL, city=CITY, settings=settings, stop=stop
            )
        assert rc == 0 and client.xlen(settings.stream("events")) > 0
    finally:
        timer.cancel()
        _drop(client, prefix)


def test_simulator019_catalogue_shape() -> None:
    assert 12 <= len(catalogue.CATALOGUE) <= 16 and set(catalogue.CATALOGUE) == set(catalogue.CLASSES)
    for top, seconds in catalogue.CATALOGUE.items():
        assert 2 <= len(seconds) <= 5, top
        for sec, thirds in seconds.items():
            assert 2 <= len(thirds) <= 4, (top, sec)
            for leaf in thirds.values():
                assert leaf.weight > 0 and leaf.problem and leaf.kind in ("street", "department", "company")
        info = catalogue.CLASSES[top]
        assert abs(sum(info.mix) - 1) < 1e-9 and len(info.season) == 12
    paths = catalogue.leaves()
    assert len(paths) == len(set(paths)) and all(len(p) == 3 for p in paths)
    heat = ("供暖", "供热质量", "室温不达标")
    assert catalogue.seasonal_weight(heat, 12) > 10 * catalogue.seasonal_weight(heat, 7)
    assert catalogue.leaf(heat).kind == "company"
    streets = sum(catalogue.leaf(p).weight for p in paths if catalogue.leaf(p).kind == "street")
    assert streets > 0.4 * sum(catalogue.leaf(p).weight for p in paths)


def test_simulator021_trim_keeps_what_a_consumer_group_still_needs(client: redis.Redis) -> None:
    """The feed owns retention like an intake system, but never drops an entry the command center has not stored."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(prefix, demo_retention_h=1.0)
    key = settings.stream("events")
    clock = [time.time() + 7200]  # two hours on: everything written now is past the retention
    feed = DemoFeed(CITY, client, settings, 5, per_day=RATE, clock=lambda: clock[0])
    try:
        for i in range(300):
            client.xadd(key, {"event": f"e{i}"})
        ids = _ids(client, key)
        assert feed.trim() == 0 and client.xlen(key) == 300  # no consumer group yet: nothing may go
        client.xgroup_create(key, "cc", id="0")
        client.xreadgroup("cc", "c1", {key: ">"}, count=200)  # 200 delivered ...
        client.xack(key, "cc", *ids[:120])  # ... of which 120 stored and acknowledged
        feed.trim()
        left = _ids(client, key)
        assert left == ids[120:]  # pending (80) and undelivered (100) entries all kept
        client.xack(key, "cc", *ids[120:200])
        client.xgroup_create(key, "other", id=ids[150])  # a second group that has read less
        feed.trim()
        assert _ids(client, key) == ids[151:]
        clock[0] = time.time() - 7200  # entries younger than the retention are kept whatever the groups did
        client.xreadgroup("other", "o1", {key: ">"})
        client.xack(key, "other", *ids[151:])
        client.xreadgroup("cc", "c1", {key: ">"})
        client.xack(key, "cc", *ids[200:])
        assert feed.trim() == 0 and client.xlen(key) == 149
        assert DemoFeed(CITY, client, make_settings(prefix, demo_retention_h=0), 5, per_day=RATE).trim() == 0
    finally:
        _drop(client, prefix)


def test_simulator022_demo_locations_are_all_inside_the_city(client: redis.Redis, city: City) -> None:
    """Every location the demo invents is accepted by the ingest: none falls across the city's edge."""
    from dashboard.contract import parse_event
    from data_access.intake.reference_data import Gazetteer

    settings = make_settings(f"test-{uuid.uuid4().hex[:10]}")
    feed = DemoFeed(city, client, settings, 11, per_day=200_000)
    paths = feed.appeals_between(NOW, NOW + 86400)  # the first event of each path is its `created`
    created = [parse_event(path[0]) for path in paths.values()]
    assert len(created) > 100_000 and {e.type for e in created} == {"created"}
    located = [e for e in created if e.data["location"] is not None]
    refused = [p for p in Gazetteer(city).place_events(located) if isinstance(p, str)]
    assert refused == []


def test_simulator023_trim_survives_entries_acknowledged_while_it_looks(client: redis.Redis) -> None:
    """XINFO said some were pending, XPENDING (a moment later) finds none: trim goes on, the feed never dies."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(prefix, demo_retention_h=1.0)
    key = settings.stream("events")

    class AckedMeanwhile(redis.Redis):  # the real server; XPENDING answers as after a concurrent XACK
        def xpending(self, name, groupname):  # type: ignore[no-untyped-def]
            client.xack(name, groupname, *_ids(client, name))
            return super().xpending(name, groupname)

    racing = AckedMeanwhile.from_url(REDIS_URL)
    feed = DemoFeed(CITY, racing, settings, 5, per_day=RATE, clock=lambda: time.time() + 7200)
    try:
        for i in range(50):
            client.xadd(key, {"event": f"e{i}"})
        client.xgroup_create(key, "cc", id="0")
        client.xreadgroup("cc", "c1", {key: ">"}, count=50)
        assert feed.trim() == 50 and client.xlen(key) == 0
    finally:
        racing.close()
        _drop(client, prefix)
