"""Point assignment agrees with brute-force point-in-polygon, snaps into gaps, and reports what is outside."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.assign import ASSIGN_COLUMNS, Assigner
from geo.model import City


@pytest.fixture(scope="module")
def demo(city: City) -> City:
    """The demo city as the app reads it from its cache (tests/unit/test_geo_demo.py checks it equals a build)."""
    return city


@pytest.fixture(scope="module")
def assigner(demo: City) -> Assigner:
    return Assigner(demo, snap_distance_m=300)


def _brute_force(grids: pd.DataFrame, x: np.ndarray, y: np.ndarray) -> list[str | None]:
    """Lowest grid code whose polygon covers the point (boundary included), testing every grid's box."""
    grids = grids.sort_values("code", ignore_index=True)
    geoms, codes = grids.geometry.to_numpy(), grids["code"].to_numpy()
    b = shapely.bounds(geoms)
    out: list[str | None] = []
    for px, py in zip(x, y):
        cand = np.flatnonzero((b[:, 0] <= px) & (px <= b[:, 2]) & (b[:, 1] <= py) & (py <= b[:, 3]))
        hit = cand[shapely.covers(geoms[cand], shapely.Point(px, py))]
        out.append(codes[hit.min()] if len(hit) else None)
    return out


def _test_points(demo: City, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random points, grid vertices (exactly on boundaries) and points within 1e-7° of those vertices."""
    minx, miny, maxx, maxy = demo.districts.total_bounds
    rx, ry = rng.uniform(minx, maxx, 800), rng.uniform(miny, maxy, 800)
    core = rng.uniform([116.30, 39.85], [116.50, 39.97], (300, 2))  # dense core: many small grids
    picks = rng.choice(len(demo.grids), 300, replace=False)
    verts = np.concatenate([shapely.get_coordinates(g)[:-1][:2] for g in demo.grids.geometry.to_numpy()[picks]])
    near = verts + rng.uniform(-1e-7, 1e-7, verts.shape)
    x = np.concatenate([rx, core[:, 0], verts[:, 0], near[:, 0]])
    y = np.concatenate([ry, core[:, 1], verts[:, 1], near[:, 1]])
    return x, y


def test_agrees_with_brute_force(demo: City, assigner: Assigner) -> None:
    x, y = _test_points(demo, np.random.default_rng(2))
    assert len(x) >= 2000
    got = assigner.assign(x, y)
    assert list(got.columns) == ASSIGN_COLUMNS and len(got) == len(x)
    expected = _brute_force(demo.grids, x, y)
    assert got["grid"].tolist() == expected
    in_grid = got["status"] == "grid"
    assert (in_grid == pd.Series([e is not None for e in expected])).all()
    g = demo.grids.set_index("code").loc[got.loc[in_grid, "grid"]]
    for col in ("community", "street", "district"):
        assert (got.loc[in_grid, col].to_numpy() == g[col].to_numpy()).all()
    vertices = slice(1100, 1100 + 600)
    assert (got["status"].iloc[vertices] == "grid").all()  # points on shared boundaries are never lost


def test_order_is_kept(demo: City, assigner: Assigner) -> None:
    x, y = _test_points(demo, np.random.default_rng(3))
    fwd = assigner.assign(x, y)
    back = assigner.assign(x[::-1], y[::-1])
    assert back.iloc[::-1].reset_index(drop=True).equals(fwd)


def test_outside_and_nan(assigner: Assigner) -> None:
    got = assigner.assign(np.array([np.nan, 0.0, 121.47, 116.4, np.inf]), np.array([39.9, 0.0, 31.23, np.nan, 40.0]))
    assert (got["status"] == "outside").all()
    assert got[["grid", "community", "street", "district"]].isna().all().all()
    empty = assigner.assign(np.array([]), np.array([]))
    assert len(empty) == 0 and list(empty.columns) == ASSIGN_COLUMNS


def _metres(x0: float, y0: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Haversine distance in metres."""
    lam0, phi0, lam, phi = np.radians(x0), np.radians(y0), np.radians(x), np.radians(y)
    a = np.sin((phi - phi0) / 2) ** 2 + np.cos(phi0) * np.cos(phi) * np.sin((lam - lam0) / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


def test_points_in_a_gap_snap_to_the_nearest_community(demo: City) -> None:
    street = "110118101"  # a rural town: communities far apart
    holes = demo.grids["street"] == street
    gappy = dataclasses.replace(demo, grids=demo.grids[~holes].reset_index(drop=True))
    a = Assigner(gappy, snap_distance_m=300)
    rng = np.random.default_rng(4)
    geom = demo.streets.set_index("code").geometry[street]
    comm = demo.communities
    mine = comm[comm["street"] == street]
    # points 50-250 m from this town's communities (inside the town) and random points in the town
    ang = rng.uniform(0, 2 * np.pi, len(mine))
    r = rng.uniform(50, 250, len(mine)) / 111_000
    x0, y0, x1, y1 = geom.bounds
    x = np.concatenate([mine["lon"] + r * np.cos(ang) / np.cos(np.radians(mine["lat"])), rng.uniform(x0, x1, 400)])
    y = np.concatenate([mine["lat"] + r * np.sin(ang), rng.uniform(y0, y1, 400)])
    keep = shapely.contains_xy(geom, x, y)
    x, y = x[keep], y[keep]
    got = a.assign(x, y)
    assert got["grid"].isna().all()
    snapped = got["status"] == "snapped"
    assert snapped.sum() >= len(mine) // 2 and (got["status"][~snapped] == "outside").all()
    for i in range(len(x)):
        dist = _metres(x[i], y[i], comm["lon"].to_numpy(), comm["lat"].to_numpy())
        nearest = comm["code"].iat[int(np.argmin(dist))]
        if dist.min() <= 299.0:
            assert got["community"].iat[i] == nearest and got["status"].iat[i] == "snapped"
            row = comm.set_index("code").loc[nearest]
            assert (got["street"].iat[i], got["district"].iat[i]) == (row["street"], row["district"])
        elif dist.min() > 301.0:
            assert got["status"].iat[i] == "outside" and got["community"].iat[i] is None
    assert (Assigner(gappy, snap_distance_m=0).assign(x, y)["status"] == "outside").all()


def test_points_outside_the_city_do_not_snap(demo: City, assigner: Assigner) -> None:
    # a community near the city edge; a point just across the border is outside even if near it
    border = shapely.get_coordinates(demo.districts.union_all().exterior)[::7]
    got = assigner.assign(border[:, 0] + 0.02, border[:, 1])
    outside = ~shapely.contains_xy(demo.districts.union_all(), border[:, 0] + 0.02, border[:, 1])
    assert (got["status"][outside] == "outside").all()


def test_community_lookup(demo: City, assigner: Assigner) -> None:
    row = demo.communities.iloc[123]
    info = assigner.community(row["code"])
    assert info == {
        "lon": row["lon"],
        "lat": row["lat"],
        "community": row["code"],
        "street": row["street"],
        "district": row["district"],
        "name": row["name"],
    }
    assert assigner.community("nope") is None
    assert assigner.assign([info["lon"]], [info["lat"]])["community"].iat[0] == row["code"]
