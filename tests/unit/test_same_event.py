"""Same-event grouping and 三天三单 on hand-made cases (dashboard/same_event.py)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard.same_event import (
    Arrival,
    Grouper,
    GroupingRules,
    burst_day,
    category_key,
    distance_m,
    similarity,
    words,
)

RULES = GroupingRules()
ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
LON, LAT = 116.40, 39.90
#: Degrees of latitude per metre and of longitude per metre at LAT.
DLAT = 1 / 111_320
DLON = DLAT / 0.7672


def arrival(
    appeal: str,
    hours: float = 0,
    cat: str = "路灯",
    east_m: float = 0,
    summary: str | None = "小区门口路灯不亮，晚上很黑",
) -> Arrival:
    return Arrival(appeal, T0 + timedelta(hours=hours), cat, LON + east_m * DLON, LAT, words(summary))


def groups(arrivals: list[Arrival], rules: GroupingRules = RULES) -> dict[str, str]:
    g = Grouper(rules)
    return {a.appeal: g.assign(a).group for a in arrivals}


CASES = {
    "same place, same category: one event": (
        [arrival("a"), arrival("b", 1)],
        {"a": "a", "b": "a"},
    ),
    "same place, different category: two events": (
        [arrival("a"), arrival("b", 1, cat="噪音扰民", summary="工地夜间施工噪音扰民")],
        {"a": "a", "b": "b"},
    ),
    "same category 150 m apart: two events": (
        [arrival("a"), arrival("b", 1, east_m=150)],
        {"a": "a", "b": "b"},
    ),
    "same category 90 m apart: one event": (
        [arrival("a"), arrival("b", 1, east_m=90)],
        {"a": "a", "b": "a"},
    ),
    "outside the time window: two events": (
        [arrival("a"), arrival("b", 73)],
        {"a": "a", "b": "b"},
    ),
    "unlike wording: two events": (
        [arrival("a"), arrival("b", 1, summary="电梯故障困人")],
        {"a": "a", "b": "b"},
    ),
    "a missing summary never splits": (
        [arrival("a"), arrival("b", 1, summary=None)],
        {"a": "a", "b": "a"},
    ),
    "a group growing over 4 days, one step inside the window each day": (
        [arrival(f"d{d}", 24 * d, east_m=20 * d) for d in range(4)],
        {"d0": "d0", "d1": "d0", "d2": "d0", "d3": "d0"},
    ),
    "a chain: the third appeal is 160 m from the first but 80 m from the second": (
        [arrival("a"), arrival("b", 1, east_m=80), arrival("c", 2, east_m=160)],
        {"a": "a", "b": "a", "c": "a"},
    ),
    "no point: a group of its own": (
        [arrival("a"), Arrival("b", T0, "路灯", None, None, words("路灯不亮"))],
        {"a": "a", "b": "b"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_grouping_cases(case: str) -> None:
    arrivals, expected = CASES[case]
    assert groups(arrivals) == expected


def test_the_best_match_wins_among_two_groups() -> None:
    """An appeal near two groups joins the one whose wording is closest."""
    rules = GroupingRules(min_similarity=0.3)
    a = arrival("a", summary="小区门口路灯不亮，晚上很黑")
    b = arrival("b", 1, east_m=60, summary="和平街路灯杆倾斜有倒塌危险")
    c = arrival("c", 2, east_m=30, summary="和平街路灯杆倾斜，怕倒下来")
    assert groups([a, b, c], rules) == {"a": "a", "b": "b", "c": "b"}


def brute_force(arrivals: list[Arrival], rules: GroupingRules = RULES) -> dict[str, str]:
    """The rules of the module docstring read literally: each appeal against every earlier one."""
    out: dict[str, str] = {}
    earlier: list[Arrival] = []
    for a in arrivals:
        best: tuple[float, float, datetime, str] | None = None
        for m in earlier if a.lon is not None and a.lat is not None else []:
            if m.lon is None or m.lat is None or m.cat != a.cat or abs(m.at - a.at) > rules.window:
                continue
            d = distance_m(a.lon, a.lat, m.lon, m.lat)  # type: ignore[arg-type]  # checked above
            sim = similarity(a.words, m.words)
            if d > rules.distance_m or (sim is not None and sim < rules.min_similarity):
                continue
            key = (-(rules.min_similarity if sim is None else sim), d, m.at, m.appeal)
            best = key if best is None or key < best else best
        out[a.appeal] = out[best[3]] if best else a.appeal
        earlier.append(a)
    return out


def test_the_index_finds_what_every_earlier_appeal_would_give() -> None:
    """Random appeals around a few spots over three weeks, logged in an order unlike their time order (an import of
    old history after new appeals): the indexed `Grouper` gives the brute-force groups."""
    rng = random.Random(3)
    texts = ["路灯不亮", "门口那盏路灯一直不亮", "路灯坏了晚上很黑", "电梯故障困人", None]
    arrivals = [
        Arrival(
            f"a{i:04d}",
            T0 + timedelta(hours=rng.uniform(0, 24 * 21)),
            rng.choice(["路灯", "噪音"]),
            None if rng.random() < 0.05 else LON + rng.uniform(-400, 400) * DLON,
            LAT + rng.uniform(-400, 400) * DLAT,
            words(rng.choice(texts)),
        )
        for i in range(1500)
    ]
    arrivals = [a if a.lon is not None else Arrival(a.appeal, a.at, a.cat, None, None, a.words) for a in arrivals]
    expected = brute_force(arrivals)
    assert groups(arrivals) == expected
    assert 50 < len(set(expected.values())) < 1400  # the case groups something, and not everything


def test_equivalent_categories_are_one_key() -> None:
    rules = GroupingRules(equivalent=(frozenset({"路灯", "路灯不亮"}),))
    assert category_key("城市管理", "市政设施", "路灯不亮", rules) == "路灯"
    assert category_key("城市管理", "市政设施", "路灯", rules) == "路灯"
    assert category_key("城市管理", "市政设施", None, rules) == "市政设施"
    a, b = (
        arrival("a", cat=category_key("x", "y", "路灯", rules)),
        arrival("b", 1, cat=category_key("x", "y", "路灯不亮", rules)),
    )
    assert groups([a, b], rules) == {"a": "a", "b": "a"}


def test_distance_and_wording_measures() -> None:
    assert distance_m(LON, LAT, LON + 150 * DLON, LAT) == pytest.approx(150, abs=0.5)
    assert distance_m(LON, LAT, LON, LAT + 100 * DLAT) == pytest.approx(100, abs=0.1)
    assert words("  <b>路灯</b>，不亮！ ") == "b路灯b不亮"
    assert words("，。！") is None
    assert similarity("路灯不亮", None) is None
    assert similarity("路灯不亮", "路灯不亮") == 1.0
    assert similarity("工地夜间施工噪音扰民", "路灯不亮晚上很黑") == 0.0


def day(d: int, hour: int = 10) -> datetime:
    """Local `hour` o'clock of November d, as an aware UTC time."""
    return datetime(2026, 11, d, hour, tzinfo=ZONE).astimezone(UTC)


BURSTS = {
    "three on one day": ([day(1), day(1, 11), day(1, 12)], date(2026, 11, 1)),
    "days 1, 2, 3": ([day(1), day(2), day(3)], date(2026, 11, 3)),
    "days 1, 3, 3 (first and last of three days)": ([day(1), day(3), day(3, 23)], date(2026, 11, 3)),
    "days 1, 2, 4: never three within three days": ([day(1), day(2), day(4)], None),
    "00:00 and 23:59 are different days in the city": (
        [day(1, 0), day(2, 12), datetime(2026, 11, 3, 23, 59, tzinfo=ZONE)],
        date(2026, 11, 3),
    ),
    "16:30 UTC of day 3 is day 4 in Beijing": (
        [day(1), day(2), datetime(2026, 11, 3, 16, 30, tzinfo=UTC)],
        None,
    ),
    "two only": ([day(1), day(1)], None),
    "the first run counts: days 1, 2, 4, 5, 6": ([day(1), day(2), day(4), day(5), day(6)], date(2026, 11, 6)),
}


@pytest.mark.parametrize("case", list(BURSTS))
def test_three_in_three_days(case: str) -> None:
    times, expected = BURSTS[case]
    assert burst_day(times, ZONE, RULES) == expected


def test_burst_thresholds_are_configurable() -> None:
    times = [day(1), day(2), day(4)]
    assert burst_day(times, ZONE, GroupingRules(burst_days=4)) == date(2026, 11, 4)
    assert burst_day(times, ZONE, GroupingRules(burst_appeals=2)) == date(2026, 11, 2)
