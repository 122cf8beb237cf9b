"""The city model every other part hangs on: plain frames, one per level, all in EPSG:4326."""

from __future__ import annotations

from dataclasses import dataclass

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
