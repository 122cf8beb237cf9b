"""Topics: appeals tagged identically whether they arrived before or after the topic was defined, in SQL or row by
row; a topic's monitoring from kept per-day aggregates equals a fresh reading (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dashboard.scopes import Scope
from dashboard.topics import TopicSpec, covers, half_of
from data_access.store.models import Appeal, Topic, TopicAppeal
from data_access.topics import monitor
from data_access.topics.tagging import define, tag_pass
from data_access.wall.day_cache import day_start, local_day
from data_access.wall.snapshot import WallContext
from geo.city_index import index_of
from tests.conftest import ev
from tests.wall_support import created, put_events

LIGHT = ["城市管理", "市政设施", "路灯"]
NOISE = ["环境保护", "噪声污染", "施工噪声"]


def _batch(tag: str, at: datetime, comms: list[str]) -> tuple[list[str], set[str]]:
    """Appeals of several shapes; returns their events and the ids a topic on 路灯 with keyword 不亮 in the
    first two communities covers (M…: covered; N…: another category, another place or no keyword)."""
    shapes: list[tuple[str, list[str], str, str]] = [
        ("M1", LIGHT, comms[0], "路灯不亮好几天了"),
        ("M2", LIGHT, comms[1], "小区门口路灯不亮<script>x</script>"),
        ("N1", NOISE, comms[0], "夜间施工噪声，路灯不亮"),  # another category
        ("N2", LIGHT, comms[2], "路灯不亮"),  # outside the topic's areas
        ("N3", LIGHT, comms[0], "路灯倒了"),  # no keyword
    ]
    texts, covered = [], set()
    for k, (name, cat, comm, summary) in enumerate(shapes):
        aid = f"{tag}-{name}"
        texts.append(
            ev(
                "created",
                aid,
                at + timedelta(minutes=k),
                channel="phone",
                kind="complaint",
                category=cat,
                priority="normal",
                community=comm,
                summary=summary,
            )
        )
        if name.startswith("M"):
            covered.add(aid)
    return texts, covered


def _tags(sessions: Any, topic: int) -> set[str]:
    with sessions() as s:
        return set(s.scalars(select(TopicAppeal.appeal).where(TopicAppeal.topic == topic)))


def test_tagged_identically_before_and_after_definition(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    comms = city.communities["code"].tolist()[:3]
    now = datetime.now(UTC).replace(microsecond=0)
    spec = TopicSpec("路灯不亮", ("路灯",), (comms[0], comms[1]), ("不亮",), "U1", date(2026, 1, 1))
    early, early_cov = _batch("E", now - timedelta(days=3), comms)
    put_events(sessions, early, settings, gazetteer)
    with sessions() as s, s.begin():
        first = define(s, spec, "cc")
    late, late_cov = _batch("L", now - timedelta(hours=1), comms)
    put_events(sessions, late, settings, gazetteer)
    assert _tags(sessions, first) == early_cov  # new appeals wait for the pass
    with sessions() as s, s.begin():
        assert tag_pass(s) == len(late_cov)
    with sessions() as s, s.begin():
        assert tag_pass(s) == 0  # the position moved: nothing twice
        second = define(s, spec, "cc")  # the same topic defined after every appeal arrived
    assert _tags(sessions, first) == early_cov | late_cov == _tags(sessions, second)


def _covered_in_python(sessions: Any, spec: TopicSpec) -> set[str]:
    cols = (Appeal.id, Appeal.cat1, Appeal.cat2, Appeal.cat3, Appeal.district, Appeal.street, Appeal.community)
    with sessions() as s:
        return {r.id for r in s.execute(select(*cols)) if covers(spec, dict(r._mapping))}


def test_tagged_in_sql_without_keywords_as_covers_says(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    comms = city.communities["code"].tolist()[:3]
    refs = index_of(city)
    now = datetime.now(UTC).replace(microsecond=0)
    # a topic of a category and a street: tested in SQL, not row by row
    spec = TopicSpec("路灯", ("路灯",), (refs.community_street[comms[0]],), (), "U1", date(2026, 1, 1))
    early, _ = _batch("E", now - timedelta(days=3), comms)
    put_events(sessions, early, settings, gazetteer)
    with sessions() as s, s.begin():
        topic = define(s, spec, "cc")
    late, _ = _batch("L", now - timedelta(hours=1), comms)
    put_events(sessions, late, settings, gazetteer)
    with sessions() as s, s.begin():
        tag_pass(s)
    expected = _covered_in_python(sessions, spec)
    assert {"E-M1", "E-N3", "L-M1", "L-N3"} <= expected and "E-N1" not in expected
    assert _tags(sessions, topic) == expected


def test_monitoring_from_kept_days_follows_the_store(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """A topic's figures summed from per-day aggregates kept across calls equal those of a fresh reading, also
    after appeals arrive on a day already kept (counted once the tagger has tagged them, not before)."""
    _, sessions, _ = store
    refs = index_of(city)
    comms = city.communities["code"].tolist()
    inside = comms[0]
    district = refs.community_district[inside]
    outside = next(c for c in comms if refs.community_district[c] != district)
    now = datetime.now(UTC).replace(microsecond=0)
    today = local_day(now, settings.zone)
    start = half_of(today - timedelta(days=10))  # a half's first day: the series counts whole halves
    at = {f"A{k}": now - timedelta(days=k, hours=1) for k in range(1, 30)}
    place = {a: inside if k % 2 else outside for k, a in enumerate(at)}
    texts = [created(a, t, place[a]) for a, t in at.items()]
    answers = {"responded": True, "resolved": True, "satisfaction": "satisfied"}
    texts.append(ev("reviewed", "A3", now - timedelta(hours=5), "A3-v", **answers))  # since the start
    noon = day_start(start - timedelta(days=2), settings.zone) + timedelta(hours=12)
    texts.append(ev("reviewed", "A28", noon, "A28-v", **answers))  # in the span before the start
    put_events(sessions, texts, settings, gazetteer)
    with sessions() as s, s.begin():
        topic = define(s, TopicSpec("路灯", ("路灯",), (), (), "U1", start), "cc")
    ctx = WallContext(settings, refs)
    lead = Scope("district_leader", district=district)

    def read(c: WallContext, scope: Scope = Scope("command_center")) -> dict[str, Any]:
        with sessions() as s:
            row = s.get(Topic, topic)
            assert row is not None
            return monitor.detail(s, row, scope, now, c)

    def since(ids: Any, only: str | None = None) -> int:
        return sum(
            1
            for a in ids
            if local_day(at[a], settings.zone) >= start and (only is None or refs.community_district[place[a]] == only)
        )

    first = read(ctx)
    assert first["since_start"] == since(at)
    assert read(ctx, lead)["since_start"] == since(at, district)
    assert first["rates"]["since_start"]["reviewed"] == 1 and first["rates"]["before"]["reviewed"] == 1
    assert sum(first["communities"].values()) == since(at)
    # two more appeals on a day already kept
    late = {"B1": now - timedelta(days=3, hours=2), "B2": now - timedelta(days=3, hours=3)}
    put_events(sessions, [created(a, t, inside) for a, t in late.items()], settings, gazetteer)
    assert read(ctx)["since_start"] == since(at)  # not tagged yet
    with sessions() as s, s.begin():
        assert tag_pass(s) == 2
    at.update(late)
    place.update(dict.fromkeys(late, inside))
    after = read(ctx)
    assert after["since_start"] == since(at) == first["since_start"] + 2
    assert after == read(WallContext(settings, refs))
    assert read(ctx, lead) == read(WallContext(settings, refs), lead)
    assert read(ctx, lead)["since_start"] == since(at, district)
