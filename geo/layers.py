"""GeoJSON map layers of a city, one per level, simplified and rounded for the browser; cached per city."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo.model import City, per_city

#: Simplification tolerances in degrees (1e-3° ≈ 85-110 m here); shared edges stay shared.
DISTRICT_TOLERANCE = 0.002
STREET_TOLERANCE = 0.001
GRID_TOLERANCE = 0.0001
DECIMALS = 5  # 1e-5° ≈ 1 m

GeoJSON = dict[str, Any]


Bounds = list[list[float]]  # Leaflet's [[south, west], [north, east]]


def leaflet_bounds(b: Any) -> Bounds:
    """Leaflet bounds from shapely/geopandas bounds (minx, miny, maxx, maxy)."""
    minx, miny, maxx, maxy = (float(v) for v in b)
    return [[round(miny, 5), round(minx, 5)], [round(maxy, 5), round(maxx, 5)]]


def _rings(polygon: shapely.Polygon) -> list[list[list[float]]]:
    rings = [polygon.exterior, *polygon.interiors]
    return [np.round(shapely.get_coordinates(r), DECIMALS).tolist() for r in rings]


def point(lon: float, lat: float) -> GeoJSON:
    """A GeoJSON Point geometry, coordinates rounded to DECIMALS."""
    return {"type": "Point", "coordinates": [round(float(lon), DECIMALS), round(float(lat), DECIMALS)]}


def point_feature(lon: float, lat: float, properties: dict[str, Any], fid: Any = None) -> GeoJSON:
    """A GeoJSON Point feature with its properties (and its id, if given)."""
    feature: GeoJSON = {"type": "Feature", "geometry": point(lon, lat), "properties": properties}
    if fid is not None:
        feature["id"] = fid
    return feature


def collection(features: Iterable[GeoJSON] = ()) -> GeoJSON:
    """A FeatureCollection of these features (none: an empty layer)."""
    return {"type": "FeatureCollection", "features": list(features)}


def geometry_dict(geom: shapely.Geometry) -> GeoJSON:
    """A GeoJSON geometry with coordinates rounded to DECIMALS (Point, Polygon, MultiPolygon)."""
    if isinstance(geom, shapely.Point):
        return point(geom.x, geom.y)
    if isinstance(geom, shapely.Polygon):
        return {"type": "Polygon", "coordinates": _rings(geom)}
    if isinstance(geom, shapely.MultiPolygon):
        return {"type": "MultiPolygon", "coordinates": [_rings(p) for p in geom.geoms]}
    raise TypeError(f"no GeoJSON for {geom.geom_type}")


def simplified(geoms: Any, tolerance: float) -> Any:
    """Clean and simplify a polygon coverage keeping shared edges, snap to the output grid, orient per RFC 7946."""
    geoms = np.asarray(geoms, dtype=object)
    if tolerance > 0 and len(geoms):
        # coverage_simplify keeps shared edges shared only if they match exactly; loaded data may not.
        geoms = shapely.coverage_simplify(shapely.coverage_clean(geoms), tolerance)
    geoms = shapely.set_precision(geoms, 10.0**-DECIMALS)
    return shapely.orient_polygons(geoms)


def tooltip_points(points: dict[str, tuple[float, float]], tooltips: dict[str, str]) -> GeoJSON:
    """Lean GeoJSON points (properties id, tooltip) of code -> (lon, lat), tooltips already escaped."""
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
            "properties": {"id": code, "tooltip": tooltips.get(code, code)},
        }
        for code, (lon, lat) in points.items()
    ]
    return {"type": "FeatureCollection", "features": feats}


def lean_layer(src: GeoJSON, keep: set[str], tooltips: dict[str, str]) -> GeoJSON:
    """The features of a layer whose code is kept, with only code and the (escaped) tooltip as properties."""
    feats = []
    for f in src["features"]:
        code = f["properties"]["code"]
        if code in keep:
            feats.append(
                {
                    "type": "Feature",
                    "id": code,
                    "geometry": f["geometry"],
                    "properties": {"code": code, "tooltip": tooltips[code]},
                }
            )
    return {"type": "FeatureCollection", "features": feats}


def feature_collection(frame: gpd.GeoDataFrame, props: list[str], geoms: Any = None) -> GeoJSON:
    """A FeatureCollection of the frame's rows with the given property columns (empty geometries skipped)."""
    geoms = frame.geometry.to_numpy() if geoms is None else geoms
    columns = [frame[p].to_numpy(dtype=object) for p in props]
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        properties = {p: col[i] for p, col in zip(props, columns)}
        features.append(
            {"type": "Feature", "id": properties[props[0]], "properties": properties, "geometry": geometry_dict(geom)}
        )
    return collection(features)


class CityLayers:
    """The map layers of one city, each computed on first use and kept."""

    def __init__(self, city: City) -> None:
        """Refer to the city (weakly, so a cache of layers never keeps a city alive); compute nothing yet."""
        self._city = weakref.ref(city)
        self._lock = threading.Lock()
        self._done: dict[str, GeoJSON] = {}

    @property
    def city(self) -> City:
        """The city these layers draw."""
        city = self._city()
        if city is None:
            raise RuntimeError("the city of these layers no longer exists")
        return city

    def _once(self, key: str, make: Any) -> GeoJSON:
        with self._lock:
            if key not in self._done:
                self._done[key] = make()
            return self._done[key]

    def districts(self) -> GeoJSON:
        """District polygons: code, name."""
        d = self.city.districts
        return self._once(
            "districts",
            lambda: feature_collection(d, ["code", "name"], simplified(d.geometry.to_numpy(), DISTRICT_TOLERANCE)),
        )

    def streets(self) -> GeoJSON:
        """Street polygons: code, name, district."""
        s = self.city.streets
        return self._once(
            "streets",
            lambda: feature_collection(
                s, ["code", "name", "district"], simplified(s.geometry.to_numpy(), STREET_TOLERANCE)
            ),
        )

    def communities(self) -> GeoJSON:
        """Community points: code, name, street, district."""
        c = self.city.communities
        return self._once("communities", lambda: feature_collection(c, ["code", "name", "street", "district"]))

    def grids(self, street: str | None = None, district: str | None = None) -> GeoJSON:
        """Grid polygons of one street and/or district: code, name, community, street, district."""
        if street is None and district is None:
            raise ValueError("grid_layer serves one street or district at a time: give street= or district=")
        return self._once(f"grids:{street}:{district}", lambda: self._grids(street, district))

    def _grids(self, street: str | None, district: str | None) -> GeoJSON:
        g = self.city.grids
        mask = np.ones(len(g), dtype=bool)
        if street is not None:
            mask &= (g["street"] == street).to_numpy()
        if district is not None:
            mask &= (g["district"] == district).to_numpy()
        part = g[mask]
        return feature_collection(
            part,
            ["code", "name", "community", "street", "district"],
            simplified(part.geometry.to_numpy(), GRID_TOLERANCE),
        )


#: The CityLayers of a city object, made once and dropped when the city is garbage-collected.
layers_of = per_city(CityLayers)


def district_layer(city: City) -> GeoJSON:
    """GeoJSON of the districts (properties code, name). Shared: do not mutate."""
    return layers_of(city).districts()


def street_layer(city: City) -> GeoJSON:
    """GeoJSON of the streets (properties code, name, district). Shared: do not mutate."""
    return layers_of(city).streets()


def community_layer(city: City) -> GeoJSON:
    """GeoJSON points of the communities (properties code, name, street, district). Shared: do not mutate."""
    return layers_of(city).communities()


def grid_layer(city: City, street: str | None = None, district: str | None = None) -> GeoJSON:
    """GeoJSON of the grids of one street and/or district; raises ValueError if neither is given."""
    return layers_of(city).grids(street, district)
