"""Table tests of hotspot scoring: expected count, Poisson score, the three tests, ordering."""

from __future__ import annotations

import math

import pytest

from dashboard.hotspots import (
    HotspotRule,
    expected,
    hotspots,
    is_hotspot,
    merge_counts,
    score,
)

RULE = HotspotRule(window_h=24, baseline_days=28, min_count=5, min_ratio=2.0, min_z=3.0, min_expected=0.5)


@pytest.mark.parametrize(
    "baseline_total, expect",
    [
        (28, 1.0),  # one a day
        (280, 10.0),
        (0, 0.5),  # no history: the floor
        (7, 0.5),  # a quarter a day: the floor
    ],
)
def test_expected(baseline_total: int, expect: float) -> None:
    assert expected(baseline_total, RULE) == pytest.approx(expect)


def test_expected_scales_with_window() -> None:
    assert expected(280, HotspotRule(window_h=12)) == pytest.approx(5.0)


@pytest.mark.parametrize(
    "count, baseline_total, hot",
    [
        (10, 28, True),  # 10 vs 1 a day: z = 9
        (4, 0, False),  # below the minimum count, whatever the score
        (5, 0, True),  # new community, 5 at once: z = (5 - .5)/sqrt(.5)
        (15, 280, False),  # 15 vs 10: ratio 1.5
        (25, 280, True),  # 25 vs 10: ratio 2.5, z = 4.7
        (20, 280, False),  # ratio 2 but z = 3.16... passes both? see below
        (6, 84, False),  # 6 vs 3: ratio 2 but z = 1.7
    ],
)
def test_is_hotspot(count: int, baseline_total: int, hot: bool) -> None:
    h = score(count, baseline_total, RULE)
    if (count, baseline_total) == (20, 280):
        assert h.ratio == pytest.approx(2.0) and h.score == pytest.approx(10 / math.sqrt(10))
        hot = True
    assert is_hotspot(h, RULE) is hot


def test_score_formula() -> None:
    h = score(13, 112, RULE)  # λ = 4
    assert (h.expected, h.score, h.ratio) == pytest.approx((4.0, 4.5, 3.25))


def test_hotspots_ordered_and_limited() -> None:
    recent = {"c1": 10, "c2": 30, "c3": 2, "c4": 25, "c5": 12}
    baseline = {"c1": 28, "c2": 280, "c3": 0, "c4": 28, "c5": 900}
    got = hotspots(recent, baseline, RULE)
    assert [h.code for h in got] == ["c4", "c1", "c2"]
    assert [h.code for h in hotspots(recent, baseline, RULE, limit=2)] == ["c4", "c1"]


def test_merge_counts_ignores_null_codes() -> None:
    assert merge_counts([("a", 1), (None, 5)], [("a", 2), ("b", 1)]) == {"a": 3, "b": 1}
