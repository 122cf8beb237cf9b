"""Load a real city from a folder of files, validate all of it, and only then hand it over."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import validate as v
from geo.city_files import text_columns
from geo.citycheck import check_city
from geo.contacts import FILE as CONTACTS_FILE
from geo.contacts import FixedRoster, Roster, RosterFile, check_roster
from geo.crs import to_wgs84
from geo.demo_city import load_demo_city
from geo.model import MODEL_CRS, City
from geo.synth_contacts import build_contacts
from geo.validate import CityDataError, Problems

if TYPE_CHECKING:
    from dashboard.settings import Settings

__all__ = ["CityDataError", "load_city", "load_city_dir", "load_roster"]
log = logging.getLogger(__name__)

GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb")
CODE_COLUMNS = frozenset({"code", "district", "street", "community", "grid", "id"})


def _find(folder: Path, stem: str, suffixes: tuple[str, ...], out: Problems, required: bool = True) -> Path | None:
    found = [folder / f"{stem}{s}" for s in suffixes if (folder / f"{stem}{s}").is_file()]
    if len(found) > 1:
        out.append(f"{folder}: more than one {stem} file ({', '.join(p.name for p in found)}); keep one")
    elif not found and required:
        out.append(f"{folder}: no {stem} file (one of {', '.join(stem + s for s in suffixes)})")
    return found[0] if len(found) == 1 else None


def _codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Lower-case headers; numeric code columns (as shapefiles store them) become digit strings."""
    frame = frame.rename(columns={c: str(c).strip().lower() for c in frame.columns if c != "geometry"})
    for col in frame.columns:
        s = frame[col]
        if col in CODE_COLUMNS and pd.api.types.is_numeric_dtype(s):
            whole = s.dropna()
            if len(whole) and np.all(np.mod(whole.to_numpy(dtype=float), 1) == 0):
                frame[col] = s.map(lambda x: None if pd.isna(x) else str(int(x)))
    frame = text_columns(frame)
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda x: x.strip() or None if isinstance(x, str) else x)
    return frame


def _read_layer(path: Path, out: Problems) -> gpd.GeoDataFrame | None:
    """Read a vector file; insist on a known CRS (GeoJSON defaults to WGS-84) and reproject to EPSG:4326."""
    if path.suffix == ".shp" and not path.with_suffix(".prj").is_file():
        out.append(f"{path}: no .prj file beside the shapefile, so its coordinate system is unknown")
        return None
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem of this file
        out.append(f"{path}: cannot be read: {exc}")
        return None
    if frame.crs is None:
        out.append(f"{path}: declares no coordinate system (CRS); set one, e.g. EPSG:4326")
        return None
    try:
        if not frame.crs.equals(MODEL_CRS):
            frame = frame.to_crs(MODEL_CRS)
    except Exception as exc:  # noqa: BLE001
        out.append(f"{path}: cannot reproject from {frame.crs} to {MODEL_CRS}: {exc}")
        return None
    b = frame.total_bounds
    if len(frame) and not (-180 <= b[0] <= b[2] <= 180 and -90 <= b[1] <= b[3] <= 90):
        out.append(f"{path}: coordinates {b.round(1).tolist()} are not longitude/latitude; wrong CRS?")
        return None
    return _codes(frame)


def _read_csv(path: Path, out: Problems) -> pd.DataFrame | None:
    try:
        return _codes(pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig"))
    except Exception as exc:  # noqa: BLE001
        out.append(f"{path}: cannot be read as UTF-8 CSV: {exc}")
        return None


def _points_from_csv(frame: pd.DataFrame, path: Path, out: Problems) -> gpd.GeoDataFrame:
    """Community points from lon/lat columns (optional column crs: wgs84, gcj02 or bd09 per row)."""
    lon = np.array(pd.to_numeric(frame["lon"], errors="coerce"), dtype=float)  # writable copies
    lat = np.array(pd.to_numeric(frame["lat"], errors="coerce"), dtype=float)
    crs = frame["crs"].fillna("wgs84").str.lower() if "crs" in frame else pd.Series("wgs84", index=frame.index)
    for i in np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat))):
        out.add(path, int(i), frame["code"].iat[i], "lon/lat missing or not a number")
    for i in np.flatnonzero(~crs.isin(["wgs84", "gcj02", "bd09"]).to_numpy()):
        out.add(path, int(i), frame["code"].iat[i], f"crs {crs.iat[i]!r} is not wgs84, gcj02 or bd09")
    for name in ("gcj02", "bd09"):
        m = (crs == name).to_numpy()
        if m.any():
            lon[m], lat[m] = to_wgs84(lon[m], lat[m], name)
    geoms = np.where(np.isfinite(lon) & np.isfinite(lat), shapely.points(lon, lat), None)
    return gpd.GeoDataFrame(frame.drop(columns=["crs"], errors="ignore"), geometry=geoms, crs=MODEL_CRS)


def load_city_dir(path: Path, name: str = "城市") -> City:
    """Read districts.*, streets.*, grids.* (GeoJSON, GeoPackage, shapefile, FlatGeobuf), communities.csv or a
    communities layer, and optional units.csv and members.csv; validate everything, raise CityDataError, or
    return the City in EPSG:4326."""
    folder = Path(path)
    out = Problems()
    if not folder.is_dir():
        raise CityDataError([f"{folder}: not a folder"])
    files = {k: _find(folder, k, GEO_SUFFIXES, out) for k in ("districts", "streets", "grids")}
    files["communities"] = _find(folder, "communities", (".csv",) + GEO_SUFFIXES, out)
    files["units"] = _find(folder, "units", (".csv",), out, required=False)
    files["members"] = _find(folder, "members", (".csv",), out, required=False)
    out.raise_if_any()
    frames: dict[str, pd.DataFrame | None] = {}
    for key, file in files.items():
        if file is None:
            frames[key] = None
        elif file.suffix == ".csv":
            frames[key] = _read_csv(file, out)
        else:
            frames[key] = _read_layer(file, out)
    out.raise_if_any()
    comm_file, raw = files["communities"], frames["communities"]
    if comm_file is not None and comm_file.suffix == ".csv" and raw is not None:
        if not v.require_columns(raw, ["code", "name", "street", "lon", "lat"], comm_file, out):
            out.raise_if_any()
        frames["communities"] = _points_from_csv(raw, comm_file, out)
    city = check_city(frames, files, out)  # raises CityDataError listing every problem found
    return dataclasses.replace(city, name=name)


def load_city(settings: Settings) -> City:
    """The configured city: from settings.city_dir if set, else the cached demo city of settings.city_seed."""
    if settings.city_dir is not None:
        return load_city_dir(settings.city_dir, name=settings.city_name)
    city = load_demo_city(settings.var_dir, settings.city_seed)
    return dataclasses.replace(city, name=settings.city_name)


def load_roster(settings: Settings, city: City) -> RosterFile | FixedRoster:
    """The contacts roster of the escalation ladder: CONTACTS_FILE if set, else the city folder's contacts.csv,
    else (the demo city) one made for the demo city. A bad or missing CONTACTS_FILE raises CityDataError; a
    real city without contacts.csv gets an empty roster (the ladder still records its steps, and says whom it
    could not tell)."""
    if settings.contacts_file is not None:
        return RosterFile(settings.contacts_file, city)
    if settings.city_dir is not None:
        path = Path(settings.city_dir) / CONTACTS_FILE
        if path.is_file():
            return RosterFile(path, city)
        log.warning("%s: no contacts roster: escalation messages have nobody to go to", path)
        return FixedRoster(Roster({}))
    return FixedRoster(check_roster(build_contacts(city, settings.city_seed), city, Path("<demo contacts>")))
