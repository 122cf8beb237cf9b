"""Problems and the space-time scan over the store (SQLite and PostgreSQL): a burst planted in three neighbouring
communities is found as one hotspot with its evidence, and its street's category as a high-frequency problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.scan import neighbours
from data_access.problems import analysis
from data_access.wall.snapshot import WallContext
from geo.city_index import index_of
from tests.conftest import ev
from tests.wall_support import put_events


def _created(aid: str, at: datetime, community: str, cat: list[str], summary: str) -> str:
    return ev(
        "created",
        aid,
        at,
        channel="phone",
        kind="complaint",
        category=cat,
        priority="normal",
        community=community,
        summary=summary,
    )


def test_planted_cluster_found_as_one(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    refs = index_of(city)
    near = neighbours(refs.community_lonlat, 2, 3.0)
    centre = next(c for c in sorted(near) if len(near[c]) == 2)
    planted = [centre, *near[centre]]
    quiet = [c for c in sorted(refs.community_street) if c not in planted][:: max(1, len(refs.community_street) // 20)]
    now = datetime.now(UTC).replace(microsecond=0)
    light = ["城市管理", "市政设施", "路灯"]
    texts = [
        _created(f"H{d}-{c}", now - timedelta(days=d, hours=3), c, light, "路灯不亮")
        for d in range(8, 30, 2)
        for c in planted + quiet
    ]
    burst = [
        _created(f"B{k}-{c}", now - timedelta(hours=2 + k), c, light, "<b>路灯</b>不亮")
        for c in planted
        for k in range(8)
    ]
    _, sessions, _ = store
    put_events(sessions, texts + burst, settings, gazetteer)
    ctx = WallContext(settings, refs)
    with sessions() as s:
        spots = analysis.scan_hotspots(s, now, ctx)
        rows = analysis.problem_rows(s, now, ctx, "cat3", "street")
        cands = analysis.candidate_rows(s, now, ctx)
    hits = [h for h in spots if set(h["communities"]) & set(planted)]
    assert len(hits) == 1, spots
    (h,) = hits
    assert len(set(h["communities"]) & set(planted)) >= 2 and h["count"] >= 16 and h["count"] > 2 * h["expected"]
    assert h["categories"][0] == {"category": "路灯", "count": h["categories"][0]["count"]}
    assert {m["id"] for m in h["members"]} <= {f"B{k}-{c}" for c in planted for k in range(8)} | {
        f"H{d}-{c}" for d in range(8, 30, 2) for c in planted
    }
    assert any(m["summary"] == "<b>路灯</b>不亮" for m in h["members"])  # as received: the page shows it as text
    streets = {refs.community_street[c] for c in planted}
    assert streets & {r["area"] for r in rows if r["category"] == "路灯"}
    assert isinstance(cands, list)


def test_problems_from_kept_days_follow_the_store(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """Problems and candidates summed from per-day aggregates kept across calls equal a fresh reading, also after
    appeals and call-backs arrive on days already kept."""
    refs = index_of(city)
    comms = sorted(refs.community_street)[::50]
    now = datetime.now(UTC).replace(microsecond=0)
    light = ["城市管理", "市政设施", "路灯"]
    texts = [
        _created(f"H{d}-{c}", now - timedelta(days=d, hours=3), c, light, "路灯不亮")
        for d in range(1, 40, 3)
        for c in comms
    ]
    noise = ["环境保护", "噪声污染", "施工噪声"]
    texts += [_created(f"N-{c}", now - timedelta(days=10), c, noise, "夜间施工") for c in comms[:5]]
    good = {"responded": True, "resolved": True, "satisfaction": "satisfied"}
    texts += [ev("reviewed", f"N-{c}", now - timedelta(days=3, hours=1), f"N-{c}-v", **good) for c in comms[:5]]
    _, sessions, _ = store
    put_events(sessions, texts, settings, gazetteer)
    ctx = WallContext(settings, refs)

    def read(c: WallContext) -> tuple[Any, ...]:
        c.cache = type(c.cache)()  # the minute's cache gone, the day cache kept
        with sessions() as s:
            return (
                analysis.problem_rows(s, now, c, "cat3", "street"),
                analysis.problem_rows(s, now, c, "cat1", "district"),
                analysis.candidate_rows(s, now, c),
            )

    first = read(ctx)
    assert first == read(WallContext(settings, refs))
    # a burst on a day already kept (two days ago) and call-backs of older appeals, made on another kept day
    burst = [
        _created(f"B{k}", now - timedelta(days=2, hours=1, minutes=k), comms[0], light, "路灯不亮") for k in range(12)
    ]
    answers = {"responded": True, "resolved": False, "satisfaction": "dissatisfied"}
    backs = [ev("reviewed", f"H4-{c}", now - timedelta(days=3, hours=2), f"H4-{c}-v", **answers) for c in comms[:5]]
    put_events(sessions, burst + backs, settings, gazetteer)
    after = read(ctx)
    assert after == read(WallContext(settings, refs))
    street = refs.community_street[comms[0]]
    row = next(r for r in after[0] if r["area"] == street and r["category"] == "路灯")
    assert row["week"] >= 12
    assert not any(c["category"] == "路灯" for c in first[2])  # no call-back yet
    lights = next(c for c in after[2] if c["category"] == "路灯")  # spread, and answered worse than the city
    assert lights["reviewed"] == 5 and lights["satisfaction"] == 0
