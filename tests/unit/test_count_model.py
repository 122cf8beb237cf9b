"""The count model on synthetic series with known answers: weekday factors, own rate, the city-wide fallback."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dashboard.count_model import PRIOR, CountModel, History, expected, history_days, share, weekday_factors

MON = date(2026, 11, 2)  # a Monday
MODEL = CountModel(baseline_days=28, min_count=20)


def _weeks(n: int, weekday: int = 100, weekend: int = 50) -> dict[date, int]:
    return {
        MON + timedelta(days=k): (weekday if (MON + timedelta(days=k)).weekday() < 5 else weekend) for k in range(7 * n)
    }


def test_weekday_factors_known_answer() -> None:
    f = weekday_factors(_weeks(4))
    mean = (5 * 100 + 2 * 50) / 7
    assert f[0] == pytest.approx(100 / mean) and f[6] == pytest.approx(50 / mean)
    assert weekday_factors({}) == (1.0,) * 7
    assert weekday_factors({MON: 10})[1:] == (1.0,) * 6  # weekdays not seen: 1


def _history(days: int, city: dict[str, float], comms: int = 100) -> History:
    ds = tuple(MON + timedelta(days=k) for k in range(days))
    return History(ds, weekday_factors(_weeks(4)), city, comms)


def test_own_rate_with_weekday_effect() -> None:
    h = _history(28, {"": 2800 - PRIOR})  # the city's rate scaled by a share of 0.1 is the area's own: 280
    sat = MON + timedelta(days=33)  # a Saturday
    mon = MON + timedelta(days=35)
    e_sat = expected(280, "", 0.1, [sat], h, MODEL)
    e_mon = expected(280, "", 0.1, [mon], h, MODEL)
    assert e_sat is not None and e_mon is not None and e_sat.source == "own"
    assert e_mon.value == pytest.approx(2 * e_sat.value)  # weekday 100 vs weekend 50
    assert e_mon.value * 20 + e_sat.value * 8 == pytest.approx(280)  # the history's own days give its total back


def test_much_history_is_judged_on_its_own() -> None:
    h = _history(28, {"": 100_000})  # the city's rate scaled to the area would be 36x the area's own
    e = expected(2800, "", 0.1, list(h.days), h, MODEL)
    assert e is not None and e.source == "own" and e.value == pytest.approx(2800, rel=0.01)


def test_little_history_falls_back_to_city_rate_scaled_to_area() -> None:
    h = _history(2, {"": 20000, "供暖": 300}, comms=100)
    tue = MON + timedelta(days=8)
    e = expected(0, "供暖", share(0, 1, h, MODEL), [tue], h, MODEL)
    assert e is not None and e.source == "city"
    # 300 heating appeals over Mon+Tue city-wide, one community of 100: its share, 1.5 a day; with no own
    # appeal in 2 days the rate is (0 + 20) / (W + 20 / p): the city's, a little lower
    w = h.factors[0] + h.factors[1]
    p = (300 + PRIOR) / 100 / w
    assert e.value == pytest.approx(20 / (w + 20 / p) * h.factors[1])
    assert e.value == pytest.approx(1.5 * 2 * h.factors[1] / w, rel=0.15)  # two quiet days move it ~13 %
    assert e.value > 0.5  # not the old floor of 0.5: the city's rate says heating is busy


def test_between_little_and_much_history_in_proportion() -> None:
    h = _history(28, {"": 28_000 - PRIOR})  # city rate scaled by 0.01: 10 a weight-day
    lo = expected(20, "", 0.01, list(h.days), h, MODEL)  # own: 20 in 28 days, far below the city's 280
    assert lo is not None and 20 < lo.value < 280
    assert lo.value == pytest.approx((20 + 20) / (h.weight + 20 / 10.0) * h.weight)


def test_unseen_category_is_rare_not_impossible() -> None:
    h = _history(7, {"": 700})
    e = expected(0, "新类别", 0.01, [MON + timedelta(days=8)], h, MODEL)
    assert e is not None and 0 < e.value < 0.01


def test_area_share_of_appeals_or_of_communities() -> None:
    h = _history(7, {"": 1000}, comms=200)
    assert share(100, 5, h, MODEL) == pytest.approx(0.1)  # enough history: its share of appeals
    assert share(3, 5, h, MODEL) == pytest.approx(5 / 200)  # too little: its share of communities


def test_no_history_no_expectation() -> None:
    assert expected(0, "", 0.1, [MON], History((), (1.0,) * 7, {}, 10), MODEL) is None


def test_history_days_start_at_first_appeal() -> None:
    today = MON + timedelta(days=30)
    assert history_days(None, today, MODEL) == ()
    assert history_days(today - timedelta(days=2), today, MODEL) == (
        today - timedelta(days=2),
        today - timedelta(days=1),
    )
    assert len(history_days(MON - timedelta(days=400), today, MODEL)) == 28
