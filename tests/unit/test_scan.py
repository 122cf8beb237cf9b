"""The space-time scan on synthetic counts with known answers."""

from __future__ import annotations

import math

import pytest

from dashboard.scan import ScanRule, llr, neighbours, scan

RULE = ScanRule(max_days=7, neighbours=3, max_km=3.0, min_count=5, min_ratio=2.0, min_llr=6.0)


def _grid(n: int = 5) -> dict[str, tuple[float, float]]:
    """n x n communities 1 km apart near Beijing."""
    return {f"c{i}{j}": (116.0 + i * 0.01175, 39.9 + j * 0.009) for i in range(n) for j in range(n)}


def test_llr_known_values() -> None:
    assert llr(10, 10) == 0 and llr(5, 10) == 0
    assert llr(20, 10) == pytest.approx(20 * math.log(2) - 10)
    assert llr(30, 10) > llr(3, 1)  # the same ratio with more evidence scores higher


def test_neighbours_nearest_first_within_reach() -> None:
    near = neighbours(_grid(), 4, 1.2)
    assert set(near["c22"]) == {"c12", "c32", "c21", "c23"}
    assert set(near["c00"]) == {"c10", "c01"}  # a corner has two within 1.2 km
    assert neighbours({}, 3, 1.0) == {}


def test_cluster_over_three_neighbours_found_once() -> None:
    pts = _grid()
    near = neighbours(pts, 3, 1.2)
    exp = {c: [1.0] * 7 for c in pts}
    counts = {c: [1] * 7 for c in pts}
    for c in ("c21", "c22", "c23"):  # 3 extra appeals a day each over the last 3 days
        counts[c] = [1, 1, 1, 1, 4, 4, 4]
    got = scan(counts, exp, near, RULE)
    assert len(got) == 1
    (h,) = got
    assert {"c21", "c22", "c23"} <= set(h.communities) and h.days == 3
    # the three: 4 a day each over 3 days (36) where 9 are usual
    assert h.count == 36 and h.expected == pytest.approx(9.0) and len(h.communities) == 3
    assert h.score == pytest.approx(llr(h.count, h.expected))


def test_nothing_planted_nothing_found() -> None:
    pts = _grid()
    near = neighbours(pts, 3, 1.2)
    assert scan({c: [2] * 7 for c in pts}, {c: [2.0] * 7 for c in pts}, near, RULE) == []


def test_one_community_burst_today() -> None:
    pts = _grid(3)
    exp = {c: [0.5] * 7 for c in pts}
    counts = {c: [0] * 7 for c in pts}
    counts["c11"] = [0, 0, 0, 0, 0, 0, 9]
    (h,) = scan(counts, exp, neighbours(pts, 3, 1.2), RULE)
    assert h.communities == ("c11",) and h.days == 1 and h.count == 9
