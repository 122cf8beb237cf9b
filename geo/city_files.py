"""Save and read a City as files (one GeoPackage, two CSVs), and fingerprint its contents."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.model import (
    COMMUNITY_COLUMNS,
    DISTRICT_COLUMNS,
    GRID_COLUMNS,
    MEMBER_COLUMNS,
    MODEL_CRS,
    STREET_COLUMNS,
    UNIT_COLUMNS,
    City,
)

LAYERS = ("districts", "streets", "communities", "grids")
TABLES = ("units", "members")
GPKG = "city.gpkg"
MANIFEST = "manifest.txt"
MODEL_COLUMNS = {
    "districts": DISTRICT_COLUMNS,
    "streets": STREET_COLUMNS,
    "communities": COMMUNITY_COLUMNS,
    "grids": GRID_COLUMNS,
    "units": UNIT_COLUMNS,
    "members": MEMBER_COLUMNS,
}


def model_order(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The model's columns of `kind` first, in order, then any extra columns as they come."""
    first = MODEL_COLUMNS[kind]
    return frame[first + [c for c in frame.columns if c not in first]]


def text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Non-numeric, non-geometry columns as Python strings (object dtype) with None for missing."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col], gpd.GeoSeries) or pd.api.types.is_numeric_dtype(out[col]):
            continue
        values = out[col].astype(object).to_numpy()
        missing = pd.isna(values) | (values == "")
        out[col] = pd.Series([None if m else str(v) for v, m in zip(values, missing)], dtype=object, index=out.index)
    return out


def write_city(city: City, folder: Path) -> None:
    """Write the city into `folder` (created): city.gpkg with four layers, units.csv, members.csv, manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / GPKG
    gpkg.unlink(missing_ok=True)
    for layer in LAYERS:
        frame: gpd.GeoDataFrame = getattr(city, layer)
        # Keep Polygon and MultiPolygon as they are (no promotion), so a read gives back the same bytes.
        frame.to_file(gpkg, layer=layer, driver="GPKG", engine="pyogrio", promote_to_multi=False)
    for table in TABLES:
        getattr(city, table).to_csv(folder / f"{table}.csv", index=False, encoding="utf-8")
    (folder / MANIFEST).write_text(f"{city.name}\n{fingerprint(city)}\n", encoding="utf-8")


def read_city(folder: Path) -> City:
    """Read a city written by write_city; raises FileNotFoundError or ValueError if incomplete."""
    lines = (folder / MANIFEST).read_text(encoding="utf-8").splitlines()
    if len(lines) != 2:
        raise ValueError(f"{folder / MANIFEST}: expected two lines (name, fingerprint)")
    frames: dict[str, pd.DataFrame] = {}
    for layer in LAYERS:
        frame = gpd.read_file(folder / GPKG, layer=layer, engine="pyogrio")
        frames[layer] = model_order(text_columns(frame).set_crs(MODEL_CRS, allow_override=True), layer)
    for table in TABLES:
        raw = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
        frames[table] = model_order(text_columns(raw), table)
    city = City(name=lines[0], **frames)
    if fingerprint(city) != lines[1]:
        raise ValueError(f"{folder}: contents do not match the manifest's fingerprint")
    return city


def fingerprint(city: City) -> str:
    """SHA-256 over every frame's columns, values and geometry (WKB): equal cities, equal digests."""
    h = hashlib.sha256(city.name.encode())
    for name in LAYERS + TABLES:
        frame = getattr(city, name)
        h.update(f"|{name}|{','.join(map(str, frame.columns))}|{len(frame)}|".encode())
        for col in frame.columns:
            values = frame[col]
            if isinstance(values, gpd.GeoSeries):
                wkb = shapely.to_wkb(values.to_numpy(), output_dimension=2, byte_order=1, include_srid=False)
                h.update(b"".join(len(w).to_bytes(4, "little") + w for w in wkb))
            elif values.dtype.kind == "f":
                h.update(np.ascontiguousarray(values.to_numpy(dtype=np.float64)).tobytes())
            else:
                h.update("\x1f".join("\x00" if pd.isna(v) else str(v) for v in values).encode())
    return h.hexdigest()
