"""GeoJSON map layers: small enough for the browser, valid, with the right properties, cached."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
import shapely

from geo.layers import (
    collection,
    community_layer,
    district_layer,
    geometry_dict,
    grid_layer,
    layers_of,
    point,
    point_feature,
    street_layer,
)
from geo.model import City


@pytest.fixture(scope="module")
def demo(city: City) -> City:
    """The demo city as the app reads it from its cache (tests/unit/test_geo_demo.py checks it equals a build)."""
    return city


def _size(layer: dict[str, Any]) -> int:
    return len(json.dumps(layer, separators=(",", ":"), ensure_ascii=False).encode())


def _shapes(layer: dict[str, Any]) -> np.ndarray:
    return np.array([shapely.geometry.shape(f["geometry"]) for f in layer["features"]], dtype=object)


def test_district_and_street_layers_stay_small(demo: City) -> None:
    total = _size(district_layer(demo)) + _size(street_layer(demo))
    assert total < 320_000
    assert len(json.dumps([district_layer(demo), street_layer(demo)])) < 400_000  # default (ASCII-escaped) dump


def test_properties_and_counts(demo: City) -> None:
    d, s, c = district_layer(demo), street_layer(demo), community_layer(demo)
    assert d["type"] == s["type"] == c["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in d["features"]] == demo.districts["code"].tolist()
    assert set(d["features"][0]["properties"]) == {"code", "name"}
    assert set(s["features"][0]["properties"]) == {"code", "name", "district"}
    assert len(s["features"]) == 343
    assert len(c["features"]) == len(demo.communities)
    first = c["features"][0]
    assert first["geometry"]["type"] == "Point"
    assert set(first["properties"]) == {"code", "name", "street", "district"}


def test_coordinates_rounded_to_five_decimals(demo: City) -> None:
    text = json.dumps(street_layer(demo)["features"][:40])
    numbers = re.findall(r"\d+\.\d+", text)
    assert numbers and max(len(n.split(".")[1]) for n in numbers) <= 5


def test_simplified_polygons_valid_and_still_a_coverage(demo: City) -> None:
    for layer in (district_layer(demo), street_layer(demo), grid_layer(demo, street="110105001")):
        shapes = _shapes(layer)
        assert shapely.is_valid(shapes).all()
    streets = _shapes(street_layer(demo))
    assert shapely.coverage_is_valid(streets)
    union = shapely.union_all(streets).area
    assert union == pytest.approx(demo.districts.union_all().area, rel=2e-3)


def test_grid_layer_per_area(demo: City) -> None:
    street = demo.streets["code"].iat[20]
    layer = grid_layer(demo, street=street)
    expected = demo.grids.loc[demo.grids["street"] == street, "code"].tolist()
    assert [f["properties"]["code"] for f in layer["features"]] == expected
    props = layer["features"][0]["properties"]
    assert set(props) == {"code", "name", "community", "street", "district"} and props["street"] == street
    by_district = grid_layer(demo, district="110101")
    assert len(by_district["features"]) == (demo.grids["district"] == "110101").sum()
    assert grid_layer(demo, street=street, district="110119")["features"] == []
    with pytest.raises(ValueError):
        grid_layer(demo)


def test_layers_are_cached_per_city(demo: City) -> None:
    assert district_layer(demo) is district_layer(demo)
    assert grid_layer(demo, street="110101001") is grid_layer(demo, street="110101001")
    assert layers_of(demo) is layers_of(demo)


def test_point_features_and_collections() -> None:
    """One helper builds every point feature: rounded to 5 decimals, id only when given, no shared state."""
    f = point_feature(116.4012345, 39.9098765, {"id": "C1", "tooltip": "某社区"})
    assert f == {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [116.40123, 39.90988]},
        "properties": {"id": "C1", "tooltip": "某社区"},
    }
    assert point_feature(1.0, 2.0, {}, fid="A1")["id"] == "A1"
    assert geometry_dict(shapely.Point(116.4012345, 39.9098765)) == point(116.4012345, 39.9098765)
    fc = collection(point_feature(x, 0.0, {"n": x}) for x in (1.0, 2.0))
    assert fc["type"] == "FeatureCollection" and [g["properties"]["n"] for g in fc["features"]] == [1.0, 2.0]
    assert shapely.geometry.shape(fc["features"][0]["geometry"]).equals(shapely.Point(1.0, 0.0))
    assert collection() == {"type": "FeatureCollection", "features": []}
    assert collection() is not collection() and collection()["features"] is not collection()["features"]
