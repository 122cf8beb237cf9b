"""A view's snapshot is computed once per tick for every viewer and web worker, and cut to each viewer's scope."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import redis

from callbacks.wall import TICK_KEYS, make_tick
from dashboard.scopes import Scope
from dashboard.wall import View
from data_access.view_share.snapshots import SharedSnapshots, tick_version
from data_access.wall.snapshot import WallContext, take_snapshot
from geo.city_index import index_of
from tests.conftest import acting_as
from tests.wall_support import created, put_events, put_presence, scenario


def _worker(settings, city, prefix: str, client: redis.Redis) -> WallContext:  # type: ignore[no-untyped-def]
    """What one web worker holds: its own caches, and snapshots shared through Redis under the test's prefix."""
    return WallContext(settings, index_of(city), shared=SharedSnapshots(client, f"{prefix}:screens", 1000))


@pytest.fixture()
def filled(store, city, settings, gazetteer):  # type: ignore[no-untyped-def]
    """The wall scenario in one street, plus an appeal in another district (the command center's to see)."""
    now = datetime.now(UTC).replace(microsecond=0)
    sc = scenario(city, now)
    _, sessions, _ = store
    comms = city.communities
    district = comms[comms["code"] == sc["c1"]].iloc[0]["district"]
    elsewhere = comms[comms["district"] != district].iloc[0]["code"]
    put_events(sessions, [*sc["texts"], created("X1", now - timedelta(hours=30), elsewhere)], settings, gazetteer)
    put_presence(sessions, sc["beats"], now)
    return sessions, now, district, elsewhere, sc


def test_two_workers_compute_a_view_once_per_tick(filled, settings, city, prefix, rds) -> None:  # type: ignore[no-untyped-def]
    sessions, now, district, _, _ = filled
    a, b = _worker(settings, city, prefix, rds), _worker(settings, city, prefix, rds)
    view = View("district", district)
    first = take_snapshot(sessions, lambda: True, now, view, a)
    second = take_snapshot(sessions, lambda: True, now + timedelta(milliseconds=1), view, b)
    assert tick_version(now, 1000) == tick_version(now + timedelta(milliseconds=1), 1000)
    # the city's live figures (`wall:live`) computed once; each worker takes the view from them
    assert a.shared and b.shared and (a.shared.computed, b.shared.computed) == (1, 0)
    assert second["data"] == first["data"] and first["data"]["summary"]["red"] == 2
    assert rds.exists(a.shared.key("wall:live", tick_version(now, 1000)))
    # the next tick is computed again, by whichever worker asks first; another view costs no computation
    take_snapshot(sessions, lambda: True, now + timedelta(seconds=1), view, b)
    take_snapshot(sessions, lambda: True, now + timedelta(seconds=1), View(), b)
    take_snapshot(sessions, lambda: True, now + timedelta(seconds=1), View(), a)
    assert (a.shared.computed, b.shared.computed) == (1, 1)


def test_many_viewers_at_once_one_computation(filled, settings, city, prefix, rds) -> None:  # type: ignore[no-untyped-def]
    sessions, now, district, _, _ = filled
    workers = [_worker(settings, city, prefix, rds) for _ in range(2)]
    results: list[Any] = []
    start = threading.Barrier(12)

    def viewer(ctx: WallContext) -> None:
        start.wait()
        results.append(take_snapshot(sessions, lambda: True, now, View("district", district), ctx)["data"])

    threads = [threading.Thread(target=viewer, args=(workers[i % 2],)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(w.shared.computed for w in workers if w.shared) == 1
    assert len(results) == 12 and all(r == results[0] for r in results)


def test_a_shared_snapshot_never_crosses_scopes(filled, settings, city, prefix, rds) -> None:  # type: ignore[no-untyped-def]
    sessions, now, district, elsewhere, sc = filled
    ctx = _worker(settings, city, prefix, rds)
    svc: Any = SimpleNamespace(settings=settings, sessions=sessions, reads=sessions)
    path, search = "/wall", f"?view=d:{district}"

    tick = make_tick(svc, ctx, lambda: now)  # one process: its tick renders a view once per scope cut and tick

    def tick_as(scope: Scope) -> dict[str, Any]:
        with acting_as(scope):
            return dict(zip(TICK_KEYS + ["shown", "view"], tick(1, path, search, None, None)))

    center = tick_as(Scope("command_center"))
    leader = tick_as(Scope("district_leader", district=district))
    assert ctx.shared and ctx.shared.computed == 1  # one computation for both
    assert set(center["pts"]["pts"]) == {sc["c1"], sc["c2"], elsewhere}
    assert set(leader["pts"]["pts"]) == {sc["c1"], sc["c2"]}  # the other district's community is cut away
    # the view's own figures are the same for both: the district's
    assert center["fig:open-red"] == leader["fig:open-red"] == "2"
    # a street leader of another district asking for this view gets its own street, never this district's data
    comms = city.communities
    other_street = comms[comms["code"] == elsewhere].iloc[0]["street"]
    with acting_as(Scope("street_leader", street=other_street), svc):
        out = dict(zip(TICK_KEYS + ["shown", "view"], tick(1, path, search, None, None)))
    assert out["view"] == f"s:{other_street}" and set(out["pts"]["pts"]) == {elsewhere}
    # the command center again in the same tick: the whole map, not a cut one shown since
    again = tick_as(Scope("command_center"))
    assert set(again["pts"]["pts"]) == {sc["c1"], sc["c2"], elsewhere}
    assert tick_as(Scope("district_leader", district=district))["shown"] == leader["shown"] != center["shown"]


def test_redis_gone_each_worker_computes(filled, settings, city) -> None:  # type: ignore[no-untyped-def]
    sessions, now, district, _, _ = filled
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)
    ctx = WallContext(settings, index_of(city), shared=SharedSnapshots(dead, "gone", 1000))
    got = take_snapshot(sessions, lambda: True, now, View("district", district), ctx)
    assert got["status"]["store"] and got["data"]["summary"]["red"] == 2
    assert ctx.shared and ctx.shared.computed == 1 and ctx.shared.redis_failed


def test_a_failed_computation_stores_nothing(settings, prefix, rds) -> None:  # type: ignore[no-untyped-def]
    shared = SharedSnapshots(rds, f"{prefix}:screens", 1000)
    now = datetime.now(UTC)

    def broken() -> dict[str, Any]:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError):
        shared.get("wall:city", now, broken)
    assert not list(rds.scan_iter(f"{prefix}:screens:*"))  # neither a value nor a lock left behind
    assert shared.get("wall:city", now, lambda: {"n": 1}) == {"n": 1}


def test_a_new_tick_waits_on_no_one_who_holds_a_recent_value(settings, prefix, rds) -> None:  # type: ignore[no-untyped-def]
    """While one thread gets a new tick's value (here: computes it slowly), the worker's other viewers get the
    value of the tick before at once; a worker with no recent value waits for the new one."""
    shared = SharedSnapshots(rds, f"{prefix}:screens", 1000)
    now = datetime.now(UTC)
    later = now + timedelta(seconds=1)
    assert shared.get("wall:live", now, lambda: {"tick": "old"}) == {"tick": "old"}
    computing, release = threading.Event(), threading.Event()

    def slow() -> dict[str, Any]:
        computing.set()
        release.wait(30)
        return {"tick": "new"}

    first: list[Any] = []
    t = threading.Thread(target=lambda: first.append(shared.get("wall:live", later, slow)))
    t.start()
    assert computing.wait(30)
    assert shared.get("wall:live", later, lambda: {"tick": "never"}) == {"tick": "old"}  # answered, not blocked
    release.set()
    t.join(30)
    assert first == [{"tick": "new"}] and shared.get("wall:live", later, lambda: {"tick": "never"}) == {"tick": "new"}
    far = later + timedelta(seconds=10)  # too old to show: the next viewer gets this tick's value
    assert shared.get("wall:live", far, lambda: {"tick": "far"}) == {"tick": "far"}


def test_a_scopes_map_is_cut_once_per_city_map(city) -> None:  # type: ignore[no-untyped-def]
    """Every view of a tick shows the same city map: a scope's cut of it is made once and is the same object for
    every view (so its points are hashed once); a new city map is cut anew."""
    from data_access.wall.scope import restrict_snapshot

    refs = index_of(city)
    comms = {c: [1, 0] for c in city.communities["code"]}
    district = city.communities["district"].iloc[0]
    scope = Scope("district_leader", district=district)
    snap = {"communities": comms, "tour": [], "rankings": {"level": "street", "rows": [], "volume_top": []}}
    a = restrict_snapshot({**snap, "view": "city"}, scope, refs)
    b = restrict_snapshot({**snap, "view": f"d:{district}"}, scope, refs)
    assert a is not None and b is not None and a["communities"] is b["communities"]
    inside = set(city.communities.loc[city.communities["district"] == district, "code"])
    assert set(a["communities"]) == inside
    c = restrict_snapshot({**snap, "communities": dict(comms)}, scope, refs)
    assert c is not None and c["communities"] is not a["communities"] and c["communities"] == a["communities"]
