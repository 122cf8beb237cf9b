"""Topics: appeals tagged identically whether they arrived before or after the topic was defined (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dashboard.topics import TopicSpec
from data_access.store.models import TopicAppeal
from data_access.topics.tagging import define, tag_pass
from tests.conftest import ev
from tests.wall_support import put_events

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
