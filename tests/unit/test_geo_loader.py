"""Loading a city from files: a small valid city loads; each kind of broken file is named in the error."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from dashboard.settings import load_settings
from geo.crs import wgs84_to_gcj02
from geo.loader import CityDataError, load_city, load_city_dir
from geo.model import COMMUNITY_COLUMNS, GRID_COLUMNS, MEMBER_COLUMNS, UNIT_COLUMNS

W = "EPSG:4326"


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def write_small_city(folder: Path) -> Path:
    """Two districts, three streets, four communities, eight grids, units and members."""
    gpd.GeoDataFrame(
        {"code": ["110101", "110102"], "name": ["甲区", "乙区"]},
        geometry=[_box(116.0, 39.0, 116.1, 39.1), _box(116.1, 39.0, 116.2, 39.1)],
        crs=W,
    ).to_file(folder / "districts.geojson")
    gpd.GeoDataFrame(
        {
            "code": ["110101001", "110101002", "110102001"],
            "name": ["东街道", "西街道", "南镇"],
            "district": ["110101", "110101", "110102"],
        },
        geometry=[_box(116.0, 39.0, 116.05, 39.1), _box(116.05, 39.0, 116.1, 39.1), _box(116.1, 39.0, 116.2, 39.1)],
        crs=W,
    ).to_file(folder / "streets.geojson")
    pd.DataFrame(
        {
            "code": ["110101001001", "110101002001", "110102001001", "110102001201"],
            "name": ["一社区", "二社区", "三社区", "四村"],
            "street": ["110101001", "110101002", "110102001", "110102001"],
            "lon": [116.025, 116.075, 116.15, 116.15],
            "lat": [39.05, 39.05, 39.025, 39.075],
        }
    ).to_csv(folder / "communities.csv", index=False)
    rows = []
    for comm, _street, (x0, y0, x1, y1) in [
        ("110101001001", "110101001", (116.0, 39.0, 116.05, 39.1)),
        ("110101002001", "110101002", (116.05, 39.0, 116.1, 39.1)),
        ("110102001001", "110102001", (116.1, 39.0, 116.2, 39.05)),
        ("110102001201", "110102001", (116.1, 39.05, 116.2, 39.1)),
    ]:
        xm = (x0 + x1) / 2
        rows.append({"code": comm + "01", "name": "第1网格", "community": comm, "geometry": _box(x0, y0, xm, y1)})
        rows.append({"code": comm + "02", "name": "第2网格", "community": comm, "geometry": _box(xm, y0, x1, y1)})
    gpd.GeoDataFrame(rows, crs=W).to_file(folder / "grids.geojson")
    pd.DataFrame(
        {
            "code": ["110101001", "110101002", "110102001", "D001", "C001"],
            "name": ["东街道", "西街道", "南镇", "市城市管理委", "北京市自来水集团"],
            "kind": ["street", "street", "street", "department", "company"],
            "district": ["", "", "", "", ""],
        }
    ).to_csv(folder / "units.csv", index=False)
    pd.DataFrame(
        {
            "id": ["M-1", "M-2", "M-3"],
            "name": ["王伟", "李娜", "张敏"],
            "role": ["grid_instructor", "grid_leader", "grid_member"],
            "grid": ["11010100100101", "11010100200102", "11010200100101"],
        }
    ).to_csv(folder / "members.csv", index=False)
    return folder


@pytest.fixture
def city_dir(tmp_path: Path) -> Path:
    return write_small_city(tmp_path)


def _error(folder: Path) -> str:
    with pytest.raises(CityDataError) as info:
        load_city_dir(folder)
    return str(info.value)


def test_small_city_loads(city_dir: Path) -> None:
    city = load_city_dir(city_dir, name="小城")
    assert city.name == "小城"
    assert (len(city.districts), len(city.streets), len(city.communities), len(city.grids)) == (2, 3, 4, 8)
    assert list(city.communities.columns[:5]) == COMMUNITY_COLUMNS
    assert list(city.grids.columns[:6]) == GRID_COLUMNS
    assert list(city.units.columns) == UNIT_COLUMNS and list(city.members.columns) == MEMBER_COLUMNS
    assert city.communities.set_index("code").loc["110102001201", "district"] == "110102"
    assert city.grids.set_index("code").loc["11010100200102", "street"] == "110101002"
    assert city.units.set_index("code").loc["110102001", "district"] == "110102"
    assert city.units.set_index("code").loc["D001", "district"] is None
    assert city.members.set_index("id").loc["M-2", "community"] == "110101002001"
    assert city.grids.crs.to_epsg() == 4326


def test_optional_units_and_members(city_dir: Path) -> None:
    (city_dir / "units.csv").unlink()
    (city_dir / "members.csv").unlink()
    city = load_city_dir(city_dir)
    assert city.units["kind"].eq("street").all() and len(city.units) == 3 and city.members.empty


def test_missing_column(city_dir: Path) -> None:
    gpd.read_file(city_dir / "streets.geojson").drop(columns="name").to_file(city_dir / "streets.geojson")
    msg = _error(city_dir)
    assert "streets.geojson" in msg and "missing column" in msg and "name" in msg


def test_duplicate_code(city_dir: Path) -> None:
    c = pd.read_csv(city_dir / "communities.csv", dtype=str)
    c.loc[2, "code"] = c.loc[1, "code"]
    c.to_csv(city_dir / "communities.csv", index=False)
    msg = _error(city_dir)
    assert "communities.csv: row 3 (code '110101002001'): duplicate code: already on row 2" in msg


def test_unknown_parent(city_dir: Path) -> None:
    g = gpd.read_file(city_dir / "grids.geojson")
    g.loc[5, "community"] = "999999999999"
    g.to_file(city_dir / "grids.geojson")
    msg = _error(city_dir)
    assert "grids.geojson: row 6" in msg and "unknown community '999999999999'" in msg


def test_community_outside_its_street(city_dir: Path) -> None:
    c = pd.read_csv(city_dir / "communities.csv", dtype=str)
    c.loc[0, "lon"] = "116.075"  # inside the neighbouring street
    c.to_csv(city_dir / "communities.csv", index=False)
    msg = _error(city_dir)
    assert "communities.csv: row 1 (code '110101001001'): lies outside its street '110101001'" in msg


def test_self_intersecting_polygon(city_dir: Path) -> None:
    g = gpd.read_file(city_dir / "grids.geojson")
    bow_tie = shapely.Polygon([(116.0, 39.0), (116.025, 39.1), (116.025, 39.0), (116.0, 39.1), (116.0, 39.0)])
    g.loc[0, "geometry"] = bow_tie
    g.to_file(city_dir / "grids.geojson")
    msg = _error(city_dir)
    assert "grids.geojson: row 1 (code '11010100100101'): invalid geometry: Self-intersection" in msg


def test_shapefile_without_prj(city_dir: Path) -> None:
    streets = gpd.read_file(city_dir / "streets.geojson")
    (city_dir / "streets.geojson").unlink()
    streets.to_file(city_dir / "streets.shp")
    (city_dir / "streets.prj").unlink()
    msg = _error(city_dir)
    assert "streets.shp" in msg and ".prj" in msg


def test_shapefile_with_prj_and_numeric_codes_loads(city_dir: Path) -> None:
    streets = gpd.read_file(city_dir / "streets.geojson")
    (city_dir / "streets.geojson").unlink()
    streets.assign(code=streets["code"].astype(int), district=streets["district"].astype(int)).to_file(
        city_dir / "streets.shp"
    )
    assert load_city_dir(city_dir).streets["code"].tolist() == ["110101001", "110101002", "110102001"]


def test_other_crs_is_reprojected(city_dir: Path) -> None:
    d = gpd.read_file(city_dir / "districts.geojson")
    (city_dir / "districts.geojson").unlink()
    d.to_crs("EPSG:3857").to_file(city_dir / "districts.gpkg")
    city = load_city_dir(city_dir)
    assert city.districts.crs.to_epsg() == 4326
    assert city.districts.total_bounds == pytest.approx([116.0, 39.0, 116.2, 39.1], abs=1e-9)


def test_geojson_without_crs_is_wgs84(city_dir: Path) -> None:
    doc = json.loads((city_dir / "districts.geojson").read_text(encoding="utf-8"))
    doc.pop("crs", None)
    (city_dir / "districts.geojson").write_text(json.dumps(doc), encoding="utf-8")
    assert load_city_dir(city_dir).districts.crs.to_epsg() == 4326


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_geopackage_without_crs_is_an_error(city_dir: Path) -> None:
    d = gpd.read_file(city_dir / "districts.geojson").set_crs(None, allow_override=True)
    (city_dir / "districts.geojson").unlink()
    d.to_file(city_dir / "districts.gpkg")
    msg = _error(city_dir)
    assert "districts.gpkg" in msg and "coordinate system" in msg


def test_gcj02_community_points_are_converted(city_dir: Path) -> None:
    c = pd.read_csv(city_dir / "communities.csv")
    gx, gy = wgs84_to_gcj02(c["lon"].to_numpy(), c["lat"].to_numpy())
    c.assign(lon=gx, lat=gy, crs="gcj02").to_csv(city_dir / "communities.csv", index=False)
    city = load_city_dir(city_dir)
    assert city.communities["lon"].tolist() == pytest.approx([116.025, 116.075, 116.15, 116.15], abs=1e-8)


def test_nothing_half_loaded_all_problems_listed(city_dir: Path) -> None:
    c = pd.read_csv(city_dir / "communities.csv", dtype=str)
    c.loc[0, "street"] = "nope"
    c.loc[1, "street"] = "nope2"
    c.to_csv(city_dir / "communities.csv", index=False)
    with pytest.raises(CityDataError) as info:
        load_city_dir(city_dir)
    assert len(info.value.problems) == 2 and "row 2 (code '110101002001')" in info.value.problems[1]


def test_load_city_from_settings(city_dir: Path) -> None:
    city = load_city(load_settings(city_dir=city_dir, city_name="小城"))
    assert city.name == "小城" and len(city.streets) == 3
