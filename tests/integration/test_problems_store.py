"""Problems and the space-time scan over the store (SQLite and PostgreSQL): a burst planted in three neighbouring
communities is found as one hotspot with its evidence, and its street's category as a high-frequency problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
