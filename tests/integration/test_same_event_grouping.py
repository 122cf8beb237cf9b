"""The grouping pass on SQLite and PostgreSQL: incremental grouping equals a regrouping from scratch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dashboard.same_event import GroupingRules
from data_access.same_event.grouping import group_all, group_new, position, regroup
from data_access.store.models import SameEventGroup, SameEventMember
from geo.crs import wgs84_to_gcj02
from tests.conftest import ev
from tests.same_event_support import LAMP, created_at, mixed
from tests.wall_support import put_events

ZONE = ZoneInfo("Asia/Shanghai")
RULES = GroupingRules()
START = datetime(2026, 11, 20, tzinfo=UTC)


def snapshot(sessions) -> tuple[dict[str, str], dict[str, tuple[Any, ...]]]:  # type: ignore[no-untyped-def]
    """(group of each appeal, each group's size, times and 三天三单 day)."""
    with sessions() as s:
        members = dict(s.execute(select(SameEventMember.appeal, SameEventMember.group_id)).all())
        groups = {
            r[0]: tuple(r[1:])
            for r in s.execute(
                select(
                    SameEventGroup.id,
                    SameEventGroup.size,
                    SameEventGroup.first_at,
                    SameEventGroup.last_at,
                    SameEventGroup.burst_day,
                    SameEventGroup.street,
                )
            )
        }
    return members, groups


def every_row(sessions) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:  # type: ignore[no-untyped-def]
    """Every column of every member and group."""
    with sessions() as s:
        return (
            {tuple(r) for r in s.execute(select(SameEventMember.__table__))},
            {tuple(r) for r in s.execute(select(SameEventGroup.__table__))},
        )


def test_incremental_grouping_equals_a_regrouping(store, settings, gazetteer, city) -> None:  # type: ignore[no-untyped-def]
    """Hundreds of appeals grouped 7 at a time as they arrive, then all at once by the full pass: the same groups,
    sizes, times and 三天三单 days (points in GCJ-02 and community points included; logged out of time order)."""
    _, sessions, _ = store
    texts = mixed(city, START, 600, gcj=0.15)
    for part in (texts[:90], texts[90:91], texts[91:400], texts[400:]):  # appeals arrive while grouping goes on
        put_events(sessions, part, settings, gazetteer)
        while group_new(sessions, RULES, ZONE, 7):
            pass
    incremental = snapshot(sessions), every_row(sessions)
    with sessions() as s:
        logged = position(s)
    assert regroup(sessions, RULES, ZONE) == logged
    whole = snapshot(sessions)
    assert incremental == (whole, every_row(sessions))
    with sessions() as s:
        assert position(s) == logged
    assert group_new(sessions, RULES, ZONE, 7) == 0  # the checkpoint is where the incremental pass left it
    members, groups = whole
    assert len(members) == 600
    assert sum(g[0] for g in groups.values()) == 600
    assert 1 < len(groups) < 600  # some appeals share an event, not all
    assert any(g[3] is not None for g in groups.values())  # and some events meet 三天三单


def test_a_burst_is_one_group_and_meets_three_in_three_days(store, settings, gazetteer, city) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    c = city.communities.iloc[10]
    lon, lat = float(c["lon"]), float(c["lat"])
    texts = [
        created_at(f"B{d}", START + timedelta(days=d, hours=2), LAMP, lon + 0.0001 * d, lat, c["code"], "门口路灯不亮")
        for d in range(4)
    ]
    texts.append(created_at("far", START, LAMP, lon + 0.01, lat, c["code"], "门口路灯不亮"))
    # The same spot sent in GCJ-02 (about 500 m off in WGS-84 terms): grouped where it is, not where it reads
    gx, gy = wgs84_to_gcj02(lon, lat)
    texts.append(
        ev(
            "created",
            "gcj",
            START + timedelta(days=3, hours=5),
            channel="app",
            kind="complaint",
            category=LAMP,
            priority="normal",
            community=c["code"],
            location={"lon": float(gx), "lat": float(gy), "crs": "gcj02"},
            summary="路灯不亮",
        )
    )
    put_events(sessions, texts, settings, gazetteer)
    assert group_all(sessions, RULES, ZONE, 100) > 0
    members, groups = snapshot(sessions)
    assert members == {"B0": "B0", "B1": "B0", "B2": "B0", "B3": "B0", "gcj": "B0", "far": "far"}
    size, _, _, day, street = groups["B0"]
    assert (size, day, street) == (5, (START + timedelta(days=2, hours=2)).astimezone(ZONE).date(), c["street"])
    assert groups["far"][3] is None
    with sessions() as s:
        assert position(s) > 0
    assert group_new(sessions, RULES, ZONE, 100) == 0  # nothing new: nothing read


def test_the_loop_groups_and_reports_in_health(store, settings, gazetteer, city, rds) -> None:  # type: ignore[no-untyped-def]
    from data_access.ops.health import health
    from data_access.same_event.loop import GroupingLoop
    from tests.conftest import REDIS_URL
    from tests.wall_support import services

    _, sessions, _ = store
    put_events(sessions, mixed(city, START, 20), settings, gazetteer)
    loop = GroupingLoop(settings, sessions)
    assert loop.step() > 0 and loop.step() == 0
    _, report = health(services(settings, store, city, rds, REDIS_URL), None, grouping=loop.status)
    assert report["grouping"] == {"ok": True, "problem": None, "grouped": loop.status.grouped}
    loop.status.ok, loop.status.problem = False, "grouping failed: boom"
    ok, report = health(services(settings, store, city, rds, REDIS_URL), None, grouping=loop.status)
    assert not ok and report["grouping"]["problem"] == "grouping failed: boom"
