"""Validate the frames read from a city's files, stage by stage, and assemble the City."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import validate as v
from geo.city_files import model_order
from geo.model import MEMBER_COLUMNS, MODEL_CRS, ROLES, City
from geo.validate import Problems

UNIT_KINDS = ("street", "department", "company")
_REQUIRED = {
    "districts": ["code", "name"],
    "streets": ["code", "name", "district"],
    "communities": ["code", "name", "street"],
    "grids": ["code", "name", "community"],
    "units": ["code", "name", "kind"],
    "members": ["id", "name", "role", "grid"],
}


def _implied(frame: pd.DataFrame, key: str, parent: pd.DataFrame, col: str) -> pd.Series:
    """For each row, the `col` of the parent row whose code is frame[key] (None if unknown)."""
    lookup = dict(zip(parent["code"], parent[col]))
    return pd.Series([lookup.get(k) for k in frame[key]], index=frame.index, dtype=object)


def _derive(frame: pd.DataFrame, col: str, implied: pd.Series, key: str, file: Path, out: Problems) -> None:
    """Check a given parent column against the implied one, or add it if absent; fill its blanks."""
    if col in frame:
        v.consistent(frame, col, key, implied, file, out)
        frame[col] = frame[col].where(frame[col].notna(), implied)
    else:
        frame[col] = implied


def _basic(frames: dict[str, pd.DataFrame], files: dict[str, Path], out: Problems) -> None:
    """Stage 2: required cells, unique codes, geometries, allowed kinds and roles."""
    for key, frame in frames.items():
        code = "id" if key == "members" else "code"
        v.require_values(frame, _REQUIRED[key], code, files[key], out)
        v.unique(frame, code, files[key], out)
    for key in ("districts", "streets", "grids"):
        v.valid_geometry(frames[key], "code", "polygon", files[key], out)
    if files["communities"].suffix != ".csv":  # CSV points were checked as numbers already
        v.valid_geometry(frames["communities"], "code", "point", files["communities"], out)
    if "units" in frames:
        u = frames["units"]
        for i in np.flatnonzero(u["kind"].notna().to_numpy() & ~u["kind"].isin(UNIT_KINDS).to_numpy()):
            out.add(files["units"], int(i), u["code"].iat[i], f"kind {u['kind'].iat[i]!r} is not one of {UNIT_KINDS}")
    if "members" in frames:
        m = frames["members"]
        for i in np.flatnonzero(m["role"].notna().to_numpy() & ~m["role"].isin(ROLES).to_numpy()):
            out.add(files["members"], int(i), m["id"].iat[i], f"role {m['role'].iat[i]!r} is not one of {ROLES}")


def _parents(f: dict[str, pd.DataFrame], files: dict[str, Path], out: Problems) -> None:
    """Stage 3: every parent code exists; parent columns given redundantly agree; fill derived ones."""
    d, s, c, g = f["districts"], f["streets"], f["communities"], f["grids"]
    v.known(s, "district", "code", d["code"], files["streets"], files["districts"], out)
    v.known(c, "street", "code", s["code"], files["communities"], files["streets"], out)
    _derive(c, "district", _implied(c, "street", s, "district"), "code", files["communities"], out)
    v.known(g, "community", "code", c["code"], files["grids"], files["communities"], out)
    _derive(g, "street", _implied(g, "community", c, "street"), "code", files["grids"], out)
    _derive(g, "district", _implied(g, "community", c, "district"), "code", files["grids"], out)
    if "units" in f:
        u = f["units"]
        is_street = (u["kind"] == "street").to_numpy()
        for i in np.flatnonzero(is_street & ~u["code"].isin(set(s["code"])).to_numpy()):
            out.add(files["units"], int(i), u["code"].iat[i], f"street unit not in {files['streets']}")
        given = u["district"].to_numpy(dtype=object) if "district" in u else np.full(len(u), None, dtype=object)
        implied = np.where(is_street, _implied(u, "code", s, "district").to_numpy(), given)
        _derive(u, "district", pd.Series(implied, index=u.index, dtype=object), "code", files["units"], out)
        v.known(u, "district", "code", d["code"], files["units"], files["districts"], out)
    if "members" in f:
        m = f["members"]
        v.known(m, "grid", "id", g["code"], files["members"], files["grids"], out)
        for col in ("community", "street", "district"):
            _derive(m, col, _implied(m, "grid", g, col), "id", files["members"], out)


def check_city(raw: dict[str, pd.DataFrame | None], files: dict[str, Path | None], out: Problems) -> City:
    """Validate everything (raising CityDataError with all problems of the first failing stage); return the City."""
    frames = {k: f.copy() for k, f in raw.items() if f is not None}
    paths = {k: p for k, p in files.items() if p is not None}
    for key, frame in frames.items():
        v.require_columns(frame, _REQUIRED[key], paths[key], out)
    out.raise_if_any()
    _basic(frames, paths, out)
    out.raise_if_any()
    _parents(frames, paths, out)
    out.raise_if_any()
    s = frames["streets"]
    v.within_parent(s, "district", "code", frames["districts"], paths["streets"], out)
    v.within_parent(frames["communities"], "street", "code", s, paths["communities"], out)
    v.within_parent(frames["grids"], "street", "code", s, paths["grids"], out)
    out.raise_if_any()
    return _assemble(frames)


def _assemble(frames: dict[str, pd.DataFrame]) -> City:
    c = frames["communities"]
    xy = np.column_stack([c.geometry.x.to_numpy(), c.geometry.y.to_numpy()])
    c["lon"], c["lat"] = xy[:, 0], xy[:, 1]
    s = frames["streets"]
    units = frames.get("units")
    if units is None:
        units = pd.DataFrame({"code": s["code"], "name": s["name"], "kind": "street", "district": s["district"]})
    members = frames.get("members")
    if members is None:
        members = pd.DataFrame({col: pd.Series(dtype=object) for col in MEMBER_COLUMNS})
    out: dict[str, pd.DataFrame] = {}
    for key, frame in {**frames, "units": units, "members": members}.items():
        frame = frame.sort_values("id" if key == "members" else "code", ignore_index=True)
        if isinstance(frame, gpd.GeoDataFrame):
            frame = frame.set_crs(MODEL_CRS, allow_override=True)
        out[key] = model_order(frame, key)
    return City(name="", **out)
