"""The wall's queries on real SQLite and PostgreSQL: lights, lists, members, coverage, hotspots, rankings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.wall import View
from data_access.wall import live_panels as live
from data_access.wall import snapshot as screen
from data_access.wall.snapshot import WallContext, take_snapshot
from geo.city_index import index_of
from tests.conftest import ev
from tests.wall_support import XSS, created, put_events, put_presence, scenario


@pytest.fixture()
def filled(store, city, settings, gazetteer):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).replace(microsecond=0)
    sc = scenario(city, now)
    _, sessions, _ = store
    put_events(sessions, sc["texts"], settings, gazetteer)
    put_presence(sessions, sc["beats"], now)
    ctx = WallContext(settings, index_of(city))
    return sessions, ctx, now, sc


def test_wall_light_counts(filled) -> None:  # type: ignore[no-untyped-def]
    sessions, ctx, now, _sc = filled
    with sessions() as s:
        got = screen.summary(s, now, View(), ctx)
    assert got == {
        "open": 5,
        "green": 1,
        "yellow": 2,
        "red": 2,
        "turning_red": 1,
        "today": got["today"],
        "red_uncovered": 1,
        "cases_open": 0,  # no supervision case in this store
    }


def test_wall_views_narrow_counts(filled) -> None:  # type: ignore[no-untyped-def]
    sessions, ctx, now, sc = filled
    with sessions() as s:
        street = screen.summary(s, now, View("street", sc["street"]), ctx)
        other = screen.summary(s, now, View("district", "000000"), ctx)
    assert street["open"] == 5 and street["red"] == 2
    assert other["open"] == 0 and other["red"] == 0


def test_wall_views_from_the_city_figures_equal_their_own_counts(filled) -> None:  # type: ignore[no-untyped-def]
    """Every view's lights are sums of the city's figures grouped by place: the same as counting the view alone."""
    sessions, ctx, now, sc = filled
    soon = timedelta(hours=ctx.settings.turning_red_h)
    with sessions() as s:
        state = screen.live_state(s, now, ctx)
        for view in (View(), View("district", sc["district"]), View("street", sc["street"]), View("district", "0")):
            got = screen.view_summary(state, view)
            assert {k: got[k] for k in ("open", "green", "yellow", "red", "turning_red")} == live.light_counts(
                s, now, view, soon
            )


def test_wall_red_list_order_and_flags(filled) -> None:  # type: ignore[no-untyped-def]
    sessions, ctx, now, sc = filled
    with sessions() as s:
        al = screen.alerts(s, now, View(), ctx)
    assert [r["id"] for r in al["red"]] == ["A", "B"]  # most overdue first
    a, b = al["red"]
    assert a["late_s"] == 6 * 3600 and b["late_s"] == 2 * 3600
    assert a["no_member"] is False and b["no_member"] is True  # someone on duty in c1 only
    assert b["summary"] == XSS  # the data is kept as given; screens escape or render it as text
    assert a["unit_name"] == ctx.refs.unit_name[sc["unit"]]
    assert [r["id"] for r in al["soon"]] == ["D"] and al["soon"][0]["red_in_s"] == 3600


def test_wall_members(filled) -> None:  # type: ignore[no-untyped-def]
    sessions, ctx, now, sc = filled
    with sessions() as s:
        m = screen.members(s, now, View(), ctx)
    assert (m["online"], m["busy"], m["sos"]) == (1, 1, 1)  # the stale heartbeat counts as offline
    assert m["offline"] == m["roster"] - 3
    assert [r["id"] for r in m["sos_list"]] == [sc["sos_member"]]
    assert m["grids_covered"] == 3 and m["coverage"] == pytest.approx(3 / m["grids"], abs=1e-4)
    assert m["streets"][0]["share"] <= m["streets"][-1]["share"]


def test_wall_coverage_not_known_before_the_first_heartbeats(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """Right after a start no heartbeat is in the store yet: the coverage is not known (not 0), no red appeal is said
    to have no one on its grid, and what was read then is not kept: the first heartbeats show at the next read,
    not slow_panel_s later (the warm-up used to keep a 0 % for a minute)."""
    now = datetime.now(UTC).replace(microsecond=0)
    sc = scenario(city, now)
    _, sessions, _ = store
    put_events(sessions, sc["texts"], settings, gazetteer)
    ctx = WallContext(settings, index_of(city))
    with sessions() as s:
        m = screen.members(s, now, View(), ctx)
        state = screen.live_state(s, now, ctx)
        red = screen.alerts(s, now, View(), ctx)["red"]
    assert m["coverage_known"] is False and m["coverage"] is None and m["online"] == 0
    assert state["red_uncovered"] is None and screen.view_summary(state, View())["red_uncovered"] is None
    assert [r["no_member"] for r in red] == [False, False]
    put_presence(sessions, sc["beats"], now)
    with sessions() as s:
        m = screen.members(s, now, View(), ctx)
        state = screen.live_state(s, now, ctx)
    assert m["coverage_known"] is True and m["grids_covered"] == 3
    assert m["coverage"] == pytest.approx(3 / m["grids"], abs=1e-4)
    assert screen.view_summary(state, View())["red_uncovered"] == 1
    # More heartbeats come in (a start's first minutes): the coverage follows the members present, not a minute later
    grids = city.members.drop_duplicates("grid")
    more = grids[~grids["grid"].isin(set(city.members[city.members["community"] == sc["c2"]]["grid"]))].iloc[10:20]
    beats = [{"member": m, "at": sc["beats"][0]["at"], "state": "on_duty"} for m in more["id"]]
    put_presence(sessions, beats, now)
    with sessions() as s:
        m = screen.members(s, now, View(), ctx)
    assert m["online"] == 11 and m["grids_covered"] == 13


def test_wall_coverage_is_zero_when_no_heartbeat_came_in_a_whole_window(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """A process that has read for a presence window and found no heartbeat is not still waiting for the first: no
    one is on duty (a feed down, a night without grid members), so the coverage is 0 and every red appeal is said
    to have no one on its grid, not "computing" for ever."""
    now = datetime.now(UTC).replace(microsecond=0)
    sc = scenario(city, now)
    _, sessions, _ = store
    put_events(sessions, sc["texts"], settings, gazetteer)
    ctx = WallContext(settings, index_of(city))
    ctx.started -= settings.presence_window_s
    with sessions() as s:
        m = screen.members(s, now, View(), ctx)
        state = screen.live_state(s, now, ctx)
        red = screen.alerts(s, now, View(), ctx)["red"]
    assert m["coverage_known"] is True and m["coverage"] == 0 and m["online"] == 0 and m["grids_covered"] == 0
    assert screen.view_summary(state, View())["red_uncovered"] == 2
    assert [r["no_member"] for r in red] == [True, True]
    put_presence(sessions, sc["beats"], now)  # the first heartbeats: read at once, not slow_panel_s later
    with sessions() as s:
        m = screen.members(s, now, View(), ctx)
    assert m["grids_covered"] == 3


def test_wall_community_map(filled) -> None:  # type: ignore[no-untyped-def]
    sessions, ctx, now, sc = filled
    with sessions() as s:
        pts = screen.community_map(s, now, ctx)
    assert pts == {sc["c1"]: [3, 2], sc["c2"]: [2, 2]}


def test_wall_snapshot_status(filled) -> None:  # type: ignore[no-untyped-def]
    sessions, ctx, now, _sc = filled
    res = take_snapshot(sessions, lambda: True, now, View(), ctx)
    assert res["status"]["fresh"] and res["data"]["summary"]["red"] == 2
    res = take_snapshot(sessions, lambda: False, now, View(), ctx)
    assert not res["status"]["fresh"] and not res["status"]["redis"]
    later = now + timedelta(seconds=ctx.settings.feed_stale_s + 5)
    res = take_snapshot(sessions, lambda: True, later, View(), ctx)
    assert res["status"]["stale"] and not res["status"]["fresh"]


def test_wall_hotspots(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """A community with 8 appeals today and a quiet month before is a hotspot; a steady busy one is not."""
    now = datetime.now(UTC).replace(microsecond=0)
    comms = city.communities["code"].tolist()
    hot, busy = comms[10], comms[11]
    texts = [created(f"H{i}", now - timedelta(hours=1, minutes=i), hot) for i in range(8)]
    texts += [created(f"Q{d}", now - timedelta(days=d, hours=12), hot) for d in (3, 10)]
    texts += [created(f"B{d}-{k}", now - timedelta(days=d, hours=12 - k), busy) for d in range(1, 28) for k in range(8)]
    texts += [created(f"T{k}", now - timedelta(hours=2, minutes=k), busy) for k in range(9)]
    _, sessions, _ = store
    put_events(sessions, texts, settings, gazetteer)
    ctx = WallContext(settings, index_of(city))
    with sessions() as s:
        got = screen.hotspots(s, now, View(), ctx)
    assert [h["code"] for h in got] == [hot]
    # too little own history (2 appeals): the city's rate over its 27 days of history, one community's share
    city_rate = (len(texts) - 8 - 9 + 0.5) / len(comms) / 27
    assert got[0]["count"] == 8 and got[0]["expected"] == pytest.approx(city_rate, rel=0.35)


def test_wall_rankings_month(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """Rates come from call-backs in the month; a unit with few call-backs is marked, not ranked."""
    now = datetime.now(UTC).replace(microsecond=0)
    month_start = screen.month_range(None, now, settings)[1]
    base = max(month_start + timedelta(minutes=5), now - timedelta(days=3))
    streets = city.streets["code"].tolist()
    comm = {s: city.communities[city.communities["street"] == s].iloc[0]["code"] for s in streets[:2]}
    n = 25  # >= min_reviewed
    texts = []
    for si, st in enumerate(streets[:2]):
        count = n if si == 0 else 3
        for k in range(count):
            a = f"R{si}-{k}"
            t0 = base + timedelta(minutes=k)
            texts += [
                created(a, t0, comm[st]),
                ev("dispatched", a, t0, f"{a}-d", unit=st),
                ev("resolved", a, t0 + timedelta(minutes=30), f"{a}-r", unit=st),
                ev(
                    "reviewed",
                    a,
                    t0 + timedelta(minutes=40),
                    f"{a}-v",
                    responded=True,
                    resolved=k % 5 != 0,
                    satisfaction="dissatisfied" if k % 5 == 0 else "satisfied",
                ),
            ]
    _, sessions, _ = store
    put_events(sessions, texts, settings, gazetteer)
    ctx = WallContext(settings, index_of(city))
    with sessions() as s:
        r = screen.rankings(s, now, ctx, "street")
    rows = {x["code"]: x for x in r["rows"]}
    first, second = rows[streets[0]], rows[streets[1]]
    assert first["rank"] == 1 and first["reviewed"] == n
    assert first["resolution"] == pytest.approx(0.8) and first["satisfaction"] == pytest.approx(0.8)
    assert first["composite"] == pytest.approx(100 * (0.2 + 0.4 * 0.8 + 0.4 * 0.8))
    assert second["small_sample"] and second["rank"] is None and second["reviewed"] == 3
    with sessions() as s:
        d = screen.rankings(s, now, ctx, "district")
    dist = {x["code"]: x for x in d["rows"]}[city.streets.iloc[0]["district"]]
    assert dist["reviewed"] == n + 3 if city.streets.iloc[1]["district"] == city.streets.iloc[0]["district"] else n
    with pytest.raises(ValueError), sessions() as s:
        screen.rankings(s, now, ctx, "nonsense")
