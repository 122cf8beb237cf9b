"""Coordinate conversions against published pairs, and where the boundary data puts landmarks."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.boundaries import beijing_districts
from geo.crs import (
    bd09_to_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)

# Pairs printed by wandergis/coordtransform's test/app.js (a widely used converter) for input (116.404, 39.915).
COORDTRANSFORM = {
    "bd09togcj02": (116.39762729119315, 39.90865673957631),
    "gcj02tobd09": (116.41036949371029, 39.92133699351021),
    "wgs84togcj02": (116.41024449916938, 39.91640428150164),
    "gcj02towgs84": (116.39775550083061, 39.91359571849836),  # its one-step approximation, not iterated
}
M_PER_DEG = 111_000.0


def _metres(ax: float, ay: float, bx: float, by: float) -> float:
    return float(np.hypot((ax - bx) * M_PER_DEG * np.cos(np.radians(ay)), (ay - by) * M_PER_DEG))


def test_tiananmen_wgs84_to_gcj02() -> None:
    gx, gy = wgs84_to_gcj02(116.391349, 39.907375)
    assert gx == pytest.approx(116.397590, abs=1e-6) and gy == pytest.approx(39.908776, abs=1e-6)


def test_published_converter_pairs() -> None:
    assert bd09_to_gcj02(116.404, 39.915) == pytest.approx(COORDTRANSFORM["bd09togcj02"], abs=1e-12)
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx(COORDTRANSFORM["gcj02tobd09"], abs=1e-12)
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx(COORDTRANSFORM["wgs84togcj02"], abs=1e-12)
    wx, wy = gcj02_to_wgs84(116.404, 39.915)
    assert (
        _metres(float(wx), float(wy), *COORDTRANSFORM["gcj02towgs84"]) < 1.0
    )  # the one-step inverse is off by decimetres


def test_beijing_railway_station_gcj02_to_bd09() -> None:
    # GCJ-02 (39.90245, 116.42703) ↔ BD-09 (39.90851, 116.43351), as given in the R package docs of `bd2gcj`.
    bx, by = gcj02_to_bd09(116.42703, 39.90245)
    assert _metres(float(bx), float(by), 116.43351, 39.90851) < 2.0
    gx, gy = bd09_to_gcj02(116.43351, 39.90851)
    assert _metres(float(gx), float(gy), 116.42703, 39.90245) < 2.0


def test_round_trips_are_submetre() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(115.4, 117.6, 20_000), rng.uniform(39.4, 41.1, 20_000)
    wx, wy = to_wgs84(*wgs84_to_gcj02(x, y), "gcj02")
    assert np.max(np.hypot((wx - x) * 85_000, (wy - y) * 111_000)) < 0.01
    wx, wy = to_wgs84(*gcj02_to_bd09(*wgs84_to_gcj02(x, y)), "bd09")
    assert np.max(np.hypot((wx - x) * 85_000, (wy - y) * 111_000)) < 0.5


def test_offset_is_hundreds_of_metres_in_beijing_and_zero_abroad() -> None:
    gx, gy = wgs84_to_gcj02(116.391349, 39.907375)
    assert 400 < _metres(float(gx), float(gy), 116.391349, 39.907375) < 800
    assert tuple(map(float, wgs84_to_gcj02(2.2945, 48.8584))) == (2.2945, 48.8584)  # Paris: no offset


def test_to_wgs84_keeps_nan_and_rejects_unknown() -> None:
    x, y = to_wgs84([np.nan, 116.4], [39.9, np.nan], "bd09")
    assert np.isnan(x[0]) and np.isnan(y[1])
    assert to_wgs84([116.4], [39.9], "WGS-84")[0][0] == 116.4
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84([1.0], [1.0], "utm50")


# WGS-84 positions of well-known places and the district each is in.
LANDMARKS = {
    "天安门": (116.391349, 39.907375, "110101"),
    "王府井": (116.4105, 39.9140, "110101"),
    "故宫": (116.3903, 39.9163, "110101"),
    "中南海": (116.3800, 39.9120, "110102"),
    "中关村": (116.3162, 39.9840, "110108"),
    "国贸": (116.4560, 39.9088, "110105"),
    "石景山游乐园": (116.2147, 39.9053, "110107"),
    "通州区政府": (116.7307, 39.9095, "110112"),
    "八达岭长城": (116.0165, 40.3563, "110119"),
}


def test_boundaries_place_landmarks_in_their_districts() -> None:
    districts = beijing_districts()
    assert len(districts) == 16 and districts.crs.to_epsg() == 4326
    for name, (x, y, code) in LANDMARKS.items():
        hits = districts.loc[districts.geometry.covers(shapely.Point(x, y)), "code"].tolist()
        assert hits == [code], f"{name} at ({x}, {y}) fell in {hits}, expected {code}"
