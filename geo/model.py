"""The city model every other part hangs on: plain frames, one per level, all in EPSG:4326."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import geopandas as gpd
import pandas as pd

MODEL_CRS = "EPSG:4326"

#: Columns of each frame, in order. Codes are strings; parent codes name the level above.
DISTRICT_COLUMNS = ["code", "name", "geometry"]
STREET_COLUMNS = ["code", "name", "district", "geometry"]
COMMUNITY_COLUMNS = ["code", "name", "street", "district", "geometry"]  # geometry: Point
GRID_COLUMNS = ["code", "name", "community", "street", "district", "geometry"]
UNIT_COLUMNS = ["code", "name", "kind", "district"]  # kind: street | department | company
MEMBER_COLUMNS = ["id", "name", "role", "grid", "community", "street", "district"]

#: The five grid roles, top to bottom.
ROLES = ("grid_instructor", "chief_grid_leader", "grid_leader", "full_time_member", "grid_member")


@dataclass(frozen=True)
class City:
    """A whole city: districts > streets > communities (points) > grids, plus units and roster."""

    name: str
    districts: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    units: pd.DataFrame
    members: pd.DataFrame


_T = TypeVar("_T")


def per_city(build: Callable[[City], _T]) -> Callable[[City], _T]:
    """`build(city)` made once per City object and dropped when that city is garbage-collected."""
    made: dict[int, tuple[weakref.ref[City], _T]] = {}
    lock = threading.Lock()

    def of(city: City) -> _T:
        key = id(city)
        with lock:
            hit = made.get(key)
            if hit is None or hit[0]() is not city:  # an id reused by a new city
                hit = made[key] = (weakref.ref(city), build(city))
                weakref.finalize(city, made.pop, key, None)
            return hit[1]

    return of
