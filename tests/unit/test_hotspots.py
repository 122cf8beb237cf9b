"""Table tests of hotspot scoring: Poisson score against an expected count, the three tests, ordering."""

from __future__ import annotations

import math

import pytest

from dashboard.hotspots import HotspotRule, hotspots, is_hotspot, merge_counts, score

RULE = HotspotRule(window_h=24, baseline_days=28, min_count=5, min_ratio=2.0, min_z=3.0)


@pytest.mark.parametrize(
    "count, lam, hot",
    [
        (10, 1.0, True),  # 10 vs 1 a day: z = 9
        (4, 0.1, False),  # below the minimum count, whatever the score
        (15, 10.0, False),  # ratio 1.5
        (25, 10.0, True),  # ratio 2.5, z = 4.7
        (20, 10.0, True),  # ratio 2, z = 3.16
        (6, 3.0, False),  # ratio 2 but z = 1.7
    ],
)
def test_is_hotspot(count: int, lam: float, hot: bool) -> None:
    assert is_hotspot(score(count, lam), RULE) is hot


def test_score_formula() -> None:
    h = score(13, 4.0)
    assert (h.expected, h.score, h.ratio) == pytest.approx((4.0, 4.5, 3.25))
    assert score(20, 10.0).score == pytest.approx(10 / math.sqrt(10))


def test_hotspots_ordered_and_limited() -> None:
    recent = {"c1": 10, "c2": 30, "c3": 9, "c4": 25, "c5": 12}
    lam = {"c1": 1.0, "c2": 10.0, "c4": 1.0, "c5": 32.0}  # c3: no history yet, not judged
    got = hotspots(recent, lam, RULE)
    assert [h.code for h in got] == ["c4", "c1", "c2"]
    assert [h.code for h in hotspots(recent, lam, RULE, limit=2)] == ["c4", "c1"]


def test_merge_counts_ignores_null_codes() -> None:
    assert merge_counts([("a", 1), (None, 5)], [("a", 2), ("b", 1)]) == {"a": 3, "b": 1}
