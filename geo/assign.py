"""Place points in the city: which grid, community, street and district each lies in."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer

from geo.model import City

ASSIGN_COLUMNS = ["grid", "community", "street", "district", "status"]
IN_GRID, SNAPPED, OUTSIDE = "grid", "snapped", "outside"


def _with_none(values: Any) -> npt.NDArray[np.object_]:
    """An object array of the values plus a trailing None, so index -1 reads as 'none'."""
    out = np.empty(len(values) + 1, dtype=object)
    out[:-1] = np.asarray(values, dtype=object)
    out[-1] = None
    return out


def _first_hit(n: int, point_idx: npt.NDArray[np.intp], tree_idx: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """For each of n points the lowest tree index among its hits, or -1 without a hit."""
    best = np.full(n, np.iinfo(np.intp).max, dtype=np.intp)
    np.minimum.at(best, point_idx, tree_idx)
    best[best == np.iinfo(np.intp).max] = -1
    return best


class Assigner:
    """Spatial index over a city's grids, built once; assigns many points at a time."""

    def __init__(self, city: City, snap_distance_m: float = 300.0) -> None:
        """Index the city's grids (sorted by code), its districts and its community points."""
        grids = city.grids.sort_values("code", ignore_index=True)
        self._grid_geoms = grids.geometry.to_numpy()
        shapely.prepare(self._grid_geoms)
        self._grid_tree = shapely.STRtree(self._grid_geoms)
        self._grid_codes = {c: _with_none(grids[c]) for c in ("code", "community", "street", "district")}
        self._area = city.districts.geometry.to_numpy()
        shapely.prepare(self._area)
        self._area_tree = shapely.STRtree(self._area)
        comms = city.communities.sort_values("code", ignore_index=True)
        self._comm_codes = {c: _with_none(comms[c]) for c in ("code", "street", "district")}
        xy = shapely.get_coordinates(comms.geometry.to_numpy())
        self._comm_xy = xy
        self._comm_names = comms["name"].to_numpy(dtype=object)
        self._comm_index = {code: i for i, code in enumerate(comms["code"])}
        minx, miny, maxx, maxy = city.districts.total_bounds
        self._to_metric = Transformer.from_crs(
            "EPSG:4326",
            f"+proj=tmerc +lat_0={(miny + maxy) / 2:.6f} +lon_0={(minx + maxx) / 2:.6f} +k=1 "
            "+x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs",
            always_xy=True,
        )
        mx, my = self._to_metric.transform(xy[:, 0], xy[:, 1])
        self._comm_tree = shapely.STRtree(shapely.points(mx, my))
        self.snap_distance_m = float(snap_distance_m)
        # GEOS builds tree nodes and prepared-polygon indexes lazily on first use, and shapely
        # releases the GIL while querying: one query at a time keeps threaded servers safe.
        self._lock = threading.Lock()

    def _hits(
        self, geoms: Any, tree: shapely.STRtree, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.intp]:
        """Lowest-index polygon covering each point (boundary included), or -1."""
        p_idx, t_idx = tree.query(shapely.points(x, y))  # bounding boxes only
        on = shapely.intersects_xy(geoms[t_idx], x[p_idx], y[p_idx])  # exact test, prepared polygons
        return _first_hit(len(x), p_idx[on], t_idx[on])

    def _snap(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        """Nearest community within the snap distance (ties: lowest code), or -1."""
        mx, my = self._to_metric.transform(x, y)
        p_idx, c_idx = self._comm_tree.query_nearest(
            shapely.points(mx, my), max_distance=self.snap_distance_m, all_matches=True
        )
        return _first_hit(len(x), p_idx, c_idx)

    def assign(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> pd.DataFrame:
        """One row per point, same order: grid, community, street, district, status (grid|snapped|outside)."""
        x = np.asarray(lon, dtype=np.float64).ravel()
        y = np.asarray(lat, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise ValueError(f"lon and lat differ in length: {x.size} vs {y.size}")
        n = x.size
        grid = np.full(n, -1, dtype=np.intp)
        comm = np.full(n, -1, dtype=np.intp)
        ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        with self._lock:
            grid[ok] = self._hits(self._grid_geoms, self._grid_tree, x[ok], y[ok])
            rest = ok[grid[ok] < 0]
            if rest.size and self.snap_distance_m > 0:
                near = self._snap(x[rest], y[rest])
                cand = near >= 0  # only points near a community need the (slower) inside-the-city test
                inside = self._hits(self._area, self._area_tree, x[rest[cand]], y[rest[cand]]) >= 0
                comm[rest[cand][inside]] = near[cand][inside]
        status = np.full(n, OUTSIDE, dtype=object)
        status[grid >= 0] = IN_GRID
        status[comm >= 0] = SNAPPED
        g, c = self._grid_codes, self._comm_codes
        snapped = comm >= 0
        columns = {
            "grid": g["code"][grid],
            "community": np.where(snapped, c["code"][comm], g["community"][grid]),
            "street": np.where(snapped, c["street"][comm], g["street"][grid]),
            "district": np.where(snapped, c["district"][comm], g["district"][grid]),
            "status": status,
        }
        # object dtype keeps None as None (pandas 3 would turn strings + None into str + NaN)
        return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()}, columns=ASSIGN_COLUMNS)

    def community(self, code: str) -> dict[str, Any] | None:
        """A community's point and hierarchy: lon, lat, community, street, district, name; None if unknown."""
        i = self._comm_index.get(code)
        if i is None:
            return None
        return {
            "lon": float(self._comm_xy[i, 0]),
            "lat": float(self._comm_xy[i, 1]),
            "community": code,
            "street": self._comm_codes["street"][i],
            "district": self._comm_codes["district"][i],
            "name": self._comm_names[i],
        }
