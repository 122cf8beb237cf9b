"""The demo city: deterministic, the right counts, and a consistent hierarchy on real district boundaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.city_files import MANIFEST, fingerprint, read_city, write_city
from geo.demo_city import build_demo_city, demo_cache_dir, load_demo_city
from geo.model import (
    COMMUNITY_COLUMNS,
    DISTRICT_COLUMNS,
    GRID_COLUMNS,
    MEMBER_COLUMNS,
    ROLES,
    STREET_COLUMNS,
    UNIT_COLUMNS,
    City,
)
from geo.synth_places import STREET_COUNTS
from geo.tessellate import area_km2


@pytest.fixture(scope="module")
def demo() -> City:
    return build_demo_city(12345)


def test_same_seed_same_bytes_other_seed_differs(demo: City, city: City) -> None:
    """A build equals, byte for byte, the cached build of its seed the other tests read (made by an earlier run
    or process: the cache's version must change whenever the builder's output does); another seed differs."""
    again = city
    assert fingerprint(again) == fingerprint(demo)
    for name in ("districts", "streets", "grids"):
        a, b = getattr(demo, name).geometry, getattr(again, name).geometry
        assert shapely.to_wkb(a.to_numpy()).tolist() == shapely.to_wkb(b.to_numpy()).tolist()
    assert fingerprint(build_demo_city(7)) != fingerprint(demo)


def test_cache_round_trip_and_rebuild(demo: City, tmp_path: Path) -> None:
    folder = demo_cache_dir(tmp_path, 12345)
    assert folder == tmp_path / "city-12345-v2"
    write_city(demo, folder)
    written = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert fingerprint(load_demo_city(tmp_path, 12345)) == fingerprint(demo)  # read back, byte for byte
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == written  # from the cache, not rebuilt
    (folder / MANIFEST).write_text("damaged\n", encoding="utf-8")
    assert fingerprint(load_demo_city(tmp_path, 12345)) == fingerprint(demo)  # rebuilt, not trusted
    assert fingerprint(read_city(folder)) == fingerprint(demo)  # and the cache was rewritten
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no temporary folders left behind


def test_columns_follow_the_model(demo: City) -> None:
    for frame, cols in (
        (demo.districts, DISTRICT_COLUMNS),
        (demo.streets, STREET_COLUMNS),
        (demo.communities, COMMUNITY_COLUMNS + ["lon", "lat"]),
        (demo.grids, GRID_COLUMNS),
        (demo.units, UNIT_COLUMNS),
        (demo.members, MEMBER_COLUMNS),
    ):
        assert list(frame.columns[: len(cols)]) == cols
    for frame in (demo.districts, demo.streets, demo.communities, demo.grids):
        assert frame.crs.to_epsg() == 4326
        assert frame["code"].is_monotonic_increasing and frame["code"].is_unique


def test_counts(demo: City) -> None:
    assert len(demo.districts) == 16
    assert demo.districts["name"].str.endswith("区").all()
    assert demo.streets.groupby("district").size().to_dict() == STREET_COUNTS
    assert len(demo.streets) == 343
    assert len(demo.communities) >= 7000
    per_comm = demo.grids.groupby("community").size()
    assert per_comm.between(2, 6).all() and len(per_comm) == len(demo.communities)
    kinds = demo.units["kind"].value_counts().to_dict()
    assert kinds == {"street": 343, "department": 65, "company": 49}
    assert demo.units["name"].is_unique or demo.units.loc[demo.units["kind"] != "street", "name"].is_unique
    assert demo.units.loc[demo.units["kind"] != "street", "district"].isna().all()


def test_codes_and_names(demo: City) -> None:
    s, c, g = demo.streets, demo.communities, demo.grids
    assert (s["code"].str.len() == 9).all() and (s["code"].str[:6] == s["district"]).all()
    assert (c["code"].str.len() == 12).all() and (c["code"].str[:9] == c["street"]).all()
    assert (g["code"].str.len() == 14).all() and (g["code"].str[:12] == g["community"]).all()
    assert not s.duplicated(["district", "name"]).any()
    assert not c.duplicated(["street", "name"]).any()
    assert s["name"].str.contains("(?:街道|镇|乡)$").all() and c["name"].str.contains("(?:社区|村)$").all()
    urban = s["district"].isin(["110101", "110102"])
    assert s.loc[urban, "name"].str.endswith("街道").all()
    assert s.loc[~urban, "name"].str.endswith("镇").any()


def test_denser_in_the_core(demo: City) -> None:
    per_km2 = demo.communities.groupby("district").size() / demo.districts.set_index("code")["area_km2"]
    assert per_km2["110101"] > 5 * per_km2["110118"]  # 东城 vs 密云


def test_geometries_valid_and_polygonal(demo: City) -> None:
    for frame in (demo.districts, demo.streets, demo.grids):
        assert shapely.is_valid(frame.geometry.to_numpy()).all()
        assert frame.geom_type.isin(["Polygon", "MultiPolygon"]).all()
        assert (shapely.area(frame.geometry.to_numpy()) > 0).all()


def test_communities_inside_their_street_and_district(demo: City) -> None:
    c = demo.communities
    streets = demo.streets.set_index("code").geometry
    districts = demo.districts.set_index("code").geometry
    pts = c.geometry.to_numpy()
    assert shapely.covers(streets.loc[c["street"]].to_numpy(), pts).all()
    assert shapely.covers(districts.loc[c["district"]].to_numpy(), pts).all()
    assert np.allclose(c["lon"], c.geometry.x) and np.allclose(c["lat"], c.geometry.y)


def test_streets_and_grids_tile_their_parents(demo: City) -> None:
    d_area = pd.Series(area_km2(demo.districts.geometry.to_numpy()), index=demo.districts["code"])
    s_area = pd.Series(area_km2(demo.streets.geometry.to_numpy()), index=demo.streets["code"])
    g_area = pd.Series(area_km2(demo.grids.geometry.to_numpy()), index=demo.grids.index)
    by_district = s_area.groupby(demo.streets.set_index("code")["district"]).sum()
    assert np.allclose(by_district.loc[d_area.index], d_area, rtol=1e-3)
    by_street = g_area.groupby(demo.grids["street"].to_numpy()).sum()
    assert np.allclose(by_street.loc[s_area.index], s_area, rtol=1e-3)
    homes = demo.streets.set_index("code").geometry.loc[demo.grids["street"]].to_numpy()
    outside = shapely.area(shapely.difference(demo.grids.geometry.to_numpy(), homes))
    assert (outside <= 1e-6 * shapely.area(demo.grids.geometry.to_numpy()) + 1e-14).all()


def test_roster_covers_five_roles(demo: City) -> None:
    m = demo.members
    assert set(m["role"]) == set(ROLES) and m["id"].is_unique
    counts = m["role"].value_counts()
    assert counts["grid_instructor"] == counts["chief_grid_leader"] == 343
    assert counts["grid_leader"] == len(demo.communities)
    assert counts["full_time_member"] == len(demo.grids)
    assert len(demo.grids) <= counts["grid_member"] <= 2 * len(demo.grids)
    assert m.groupby("street")["role"].apply(lambda r: (r == "grid_instructor").sum()).eq(1).all()
    assert m["id"].str.fullmatch(r"M-\d{14}-\d{2}").all() and (m["id"].str[2:16] == m["grid"]).all()
    g = demo.grids.set_index("code")
    assert (g.loc[m["grid"], "street"].to_numpy() == m["street"].to_numpy()).all()
    assert m["name"].str.len().between(2, 3).all()
