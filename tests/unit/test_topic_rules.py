"""Topics, pure: bad input named, the covering rule, half-months and the monitoring series."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from dashboard.topics import TopicError, TopicSpec, covers, halves, series, validate

TODAY = date(2026, 11, 29)
GOOD = {"name": " 供暖不热 ", "categories": "供暖，室温不达标", "lead_unit": "U1", "start": "2026-11-15"}


@pytest.mark.parametrize(
    "change, key",
    [
        ({"name": "  "}, "topic_no_name"),
        ({"categories": ""}, "topic_no_category"),
        ({"categories": "供暖,不存在的类别"}, "topic_unknown_category"),
        ({"start": "2026-12-01"}, "topic_future_start"),
        ({"start": "11/15"}, "topic_bad_start"),
        ({"lead_unit": "nobody"}, "topic_unknown_unit"),
        ({"areas": "X9"}, "topic_unknown_area"),
        ({"keywords": ["长" * 30]}, "topic_keywords"),
    ],
)
def test_bad_topic_input_named(change: dict[str, Any], key: str) -> None:
    with pytest.raises(TopicError) as err:
        validate({**GOOD, **change}, ["供暖", "室温不达标"], ["D1"], ["U1"], TODAY)
    assert err.value.key == key


def test_good_topic_input() -> None:
    spec = validate({**GOOD, "keywords": "不热, 停暖", "areas": "D1"}, ["供暖", "室温不达标"], ["D1"], ["U1"], TODAY)
    assert spec == TopicSpec("供暖不热", ("供暖", "室温不达标"), ("D1",), ("不热", "停暖"), "U1", date(2026, 11, 15))


def test_covers_rule() -> None:
    spec = TopicSpec("t", ("路灯",), (), ("不亮",), "U1", TODAY)
    a = {"cat1": "城市管理", "cat2": "市政设施", "cat3": "路灯", "summary": "门口路灯不亮"}
    assert covers(spec, a)
    assert not covers(spec, {**a, "summary": "路灯倒了"})
    assert covers(spec, {**a, "summary": None, "address": "不亮路"})  # the address counts too
    assert not covers(TopicSpec("t", ("供暖",), (), (), "U1", TODAY), a)
    assert covers(TopicSpec("t", ("市政设施",), ("S1",), (), "U1", TODAY), {**a, "street": "S1"})


def test_halves() -> None:
    assert halves(date(2026, 1, 20), date(2026, 3, 2)) == [
        date(2026, 1, 16),
        date(2026, 2, 1),
        date(2026, 2, 16),
        date(2026, 3, 1),
    ]


def test_series_known_answer() -> None:
    start, today = date(2026, 10, 1), date(2026, 11, 20)
    daily = {}
    d = date(2025, 1, 1)
    while d <= today:
        daily[d] = 4 if d < start else 2  # volume halves once the topic starts
        d += timedelta(days=1)
    got = series(daily, start, today, first=date(2025, 1, 1))
    assert [r["half"] for r in got["halves"]] == ["2026-10-01", "2026-10-16", "2026-11-01", "2026-11-16"]
    assert [r["volume"] for r in got["halves"]] == [30, 32, 30, 10]  # 16-20 Nov so far
    assert got["halves"][-1]["partial"] and not got["halves"][0]["partial"]
    assert got["halves"][0]["last_year"] == 60  # Oct 2025 1-15 at 4 a day
    six = [4 * n for n in (15, 16, 15, 16, 15, 15)]  # Jul 1 .. Sep 30 halves: 15,16,15,16,15,15 days
    assert got["before_mean"] == pytest.approx(round(sum(six) / 6, 1)) and got["before_halves"] == 6
    assert got["since_start"] == 102


def test_series_without_history_before() -> None:
    got = series({date(2026, 11, 2): 3}, date(2026, 11, 1), date(2026, 11, 5), first=date(2026, 11, 1))
    assert got["before_mean"] is None and got["change"] is None and got["halves"][0]["last_year"] is None
