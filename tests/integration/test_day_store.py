"""Per-day aggregates kept in the store (data_access/wall/day_store.py), SQLite and PostgreSQL: a process starting
with them answers exactly what a process computing everything from the appeals answers, also after late events
change days already kept (in a process running meanwhile and in one started after them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from dashboard.scopes import Scope
from dashboard.topics import TopicSpec, half_of
from data_access.ops.warm import warm
from data_access.problems import analysis
from data_access.store.models import DayAggregate, DayAggregateMark, Topic
from data_access.topics import monitor
from data_access.topics.tagging import define, tag_pass
from data_access.wall.day_cache import DayCache, local_day
from data_access.wall.day_store import DayStore
from data_access.wall.history import folded_seq
from data_access.wall.snapshot import WallContext
from geo.city_index import index_of
from tests.conftest import ev
from tests.wall_support import created, put_events

LIGHT = ["城市管理", "市政设施", "路灯"]
NOISE = ["环境保护", "噪声污染", "施工噪声"]


def _created(aid: str, at: datetime, community: str, cat: list[str]) -> str:
    return ev(
        "created", aid, at, channel="phone", kind="complaint", category=cat, priority="normal", community=community
    )


def _kept(sessions: Any) -> set[tuple[str, date]]:
    with sessions() as s:
        return {(k, d) for k, d in s.execute(select(DayAggregate.kind, DayAggregate.day))}


def test_problems_and_scan_from_kept_days_equal_a_direct_computation(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    refs = index_of(city)
    comms = sorted(refs.community_street)[::50]
    now = datetime.now(UTC).replace(microsecond=0)
    texts = [_created(f"H{d}-{c}", now - timedelta(days=d, hours=3), c, LIGHT) for d in range(1, 40, 3) for c in comms]
    texts += [_created(f"N-{c}", now - timedelta(days=10), c, NOISE) for c in comms[:5]]
    good = {"responded": True, "resolved": True, "satisfaction": "satisfied"}
    texts += [ev("reviewed", f"N-{c}", now - timedelta(days=3, hours=1), f"N-{c}-v", **good) for c in comms[:5]]
    put_events(sessions, texts, settings, gazetteer)
    kept = DayStore(sessions)

    def read(store: DayStore | None, ctx: WallContext | None = None) -> tuple[Any, ...]:
        c = ctx or WallContext(settings, refs, days=DayCache(store=store))
        c.cache = type(c.cache)()  # the minute's cache gone: the day cache (and the store) answer
        with sessions() as s:
            return (
                analysis.problem_rows(s, now, c, "cat3", "street"),
                analysis.problem_rows(s, now, c, "cat1", "district"),
                analysis.candidate_rows(s, now, c),
                analysis.scan_hotspots(s, now, c),
            )

    direct = read(None)
    running = WallContext(settings, refs, days=DayCache(store=kept))
    assert read(None, running) == direct  # computes the closed days and keeps them
    written = kept.written_days
    assert written > 0 and {k for k, _ in _kept(sessions)} == {"categories", "category_reviews", "communities"}
    assert read(kept) == direct  # a fresh process: every closed day read from the store, none computed
    assert kept.written_days == written and kept.read_days >= written

    # late events on days already kept: a burst two days ago, call-backs of older appeals made three days ago
    burst = [_created(f"B{k}", now - timedelta(days=2, hours=1, minutes=k), comms[0], LIGHT) for k in range(12)]
    bad = {"responded": True, "resolved": False, "satisfaction": "dissatisfied"}
    backs = [ev("reviewed", f"H4-{c}", now - timedelta(days=3, hours=2), f"H4-{c}-v", **bad) for c in comms[:5]]
    put_events(sessions, burst + backs, settings, gazetteer)
    changed = read(None)
    assert changed != direct
    street = refs.community_street[comms[0]]
    assert next(r for r in changed[0] if r["area"] == street and r["category"] == "路灯")["week"] >= 12
    # a process started after them reads the store's days, but computes those the late events changed
    assert read(kept) == changed
    assert read(None, running) == changed  # the process that ran meanwhile follows the log as before
    assert read(kept) == changed  # and a later start again finds every closed day kept
    two_days_ago = local_day(now - timedelta(days=2, hours=1), settings.zone)
    assert ("categories", two_days_ago) in _kept(sessions)
    # warmed at start-up: the first asker finds every day in memory
    started = WallContext(settings, refs, days=DayCache(store=kept))
    warm(sessions, started)
    read_before = kept.read_days
    assert read(None, started) == changed and kept.read_days == read_before
    # a store further behind the log than a first refresh reads is emptied, not used
    with sessions() as s:
        mark = folded_seq(s)
    with sessions() as s, s.begin():
        s.execute(update(DayAggregateMark).values(position=mark - 1))
    with sessions() as s:
        assert kept.begin(s, mark, within=0) == mark and DayStore.position(s) == mark
    assert _kept(sessions) == set()
    assert read(kept) == changed


def test_topic_from_kept_days_equals_a_direct_computation(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    refs = index_of(city)
    comms = city.communities["code"].tolist()
    inside, district = comms[0], refs.community_district[comms[0]]
    now = datetime.now(UTC).replace(microsecond=0)
    today = local_day(now, settings.zone)
    start = half_of(today - timedelta(days=10))
    at = {f"A{k}": now - timedelta(days=k, hours=1) for k in range(1, 30)}
    texts = [created(a, t, inside if k % 2 else comms[7]) for k, (a, t) in enumerate(at.items())]
    answers = {"responded": True, "resolved": True, "satisfaction": "satisfied"}
    texts.append(ev("reviewed", "A3", now - timedelta(days=2), "A3-v", **answers))
    put_events(sessions, texts, settings, gazetteer)
    with sessions() as s, s.begin():
        topic = define(s, TopicSpec("路灯", ("路灯",), (), (), "U1", start), "cc")
    kept = DayStore(sessions)
    lead = Scope("district_leader", district=district)

    def read(store: DayStore | None, scope: Scope = Scope("command_center")) -> dict[str, Any]:
        ctx = WallContext(settings, refs, days=DayCache(store=store))
        with sessions() as s:
            row = s.get(Topic, topic)
            assert row is not None
            return monitor.detail(s, row, scope, now, ctx)

    direct = read(None)
    assert read(kept) == direct and kept.written_days > 0
    written = kept.written_days
    assert read(kept) == direct and read(kept, lead) == read(None, lead)
    assert kept.written_days == written and kept.read_days > 0

    # two late appeals on a kept day, tagged by the next pass
    late = [created(f"B{k}", now - timedelta(days=3, hours=2 + k), inside) for k in range(2)]
    put_events(sessions, late, settings, gazetteer)
    assert read(kept) == read(None) == direct  # not tagged yet: the topic's figures stand
    with sessions() as s, s.begin():
        assert tag_pass(s) == 2
    after = read(None)
    assert after["since_start"] == direct["since_start"] + 2
    assert read(kept) == after and read(kept, lead) == read(None, lead)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(DayAggregate).where(DayAggregate.kind == "topic_volume"))
