"""Vectorised geometry helpers for the demo city: sample points in polygons, clip Voronoi cells."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

Geoms = npt.NDArray[np.object_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

_POLYGON, _MULTIPOLYGON = 3, 6


def polygonal(geoms: Geoms) -> Geoms:
    """Repair each geometry (make_valid) and keep only its polygonal parts, as Polygon or MultiPolygon."""
    geoms = shapely.make_valid(np.asarray(geoms, dtype=object))
    parts, owner = shapely.get_parts(geoms, return_index=True)
    parts, sub = shapely.get_parts(parts, return_index=True)  # flattens nested multi-geometries
    owner = owner[sub]
    keep = (shapely.get_type_id(parts) == _POLYGON) & (shapely.area(parts) > 0)
    parts, owner = parts[keep], owner[keep]
    counts = np.bincount(owner, minlength=len(geoms))
    out = np.empty(len(geoms), dtype=object)
    single = counts[owner] == 1
    out[owner[single]] = parts[single]
    multi = np.flatnonzero(counts > 1)
    if len(multi):
        sel = ~single
        grouped = shapely.multipolygons(parts[sel], indices=np.searchsorted(multi, owner[sel]))
        out[multi] = grouped
    empty = counts == 0
    out[empty] = shapely.Polygon()
    return out


def sample_in(geoms: Geoms, counts: npt.ArrayLike, rng: np.random.Generator) -> tuple[Floats, Floats, Ints]:
    """Draw counts[i] uniform random points inside geoms[i]; returns x, y and the owner index, sorted by owner."""
    geoms = np.asarray(geoms, dtype=object)
    need = np.asarray(counts, dtype=np.int64).copy()
    bounds = shapely.bounds(geoms)
    fill = np.clip(
        shapely.area(geoms) / np.maximum((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]), 1e-300),
        0.02,
        1.0,
    )
    shapely.prepare(geoms)
    xs: list[Floats] = []
    ys: list[Floats] = []
    owners: list[Ints] = []
    while need.sum() > 0:
        todo = np.flatnonzero(need > 0)
        batch = np.ceil(need[todo] / fill[todo] * 1.5).astype(np.int64) + 4
        owner = np.repeat(todo, batch)
        b = bounds[owner]
        x = b[:, 0] + rng.random(len(owner)) * (b[:, 2] - b[:, 0])
        y = b[:, 1] + rng.random(len(owner)) * (b[:, 3] - b[:, 1])
        hit = shapely.contains_xy(geoms[owner], x, y)
        x, y, owner = x[hit], y[hit], owner[hit]
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner)  # position within its owner's run
        take = rank < need[owner]
        xs.append(x[take])
        ys.append(y[take])
        owners.append(owner[take])
        need -= np.bincount(owner[take], minlength=len(geoms))
    x_all, y_all, o_all = np.concatenate(xs), np.concatenate(ys), np.concatenate(owners)
    order = np.argsort(o_all, kind="stable")
    return x_all[order], y_all[order], o_all[order]


def voronoi_clip(x: Floats, y: Floats, owner: Ints, parents: Geoms) -> Geoms:
    """Voronoi cells of each owner's points clipped to parents[owner]; one cell per point, in input order.

    Points must be sorted by owner and every owner needs at least two distinct points. The cells form
    a clean coverage: no overlaps, and neighbours share exactly the same vertices along common edges.
    """
    parents = np.asarray(parents, dtype=object)
    groups, sizes = np.unique(owner, return_counts=True)
    if np.any(sizes < 2):
        raise ValueError("each parent needs at least two points for a Voronoi partition")
    points = shapely.points(x, y)
    seeds = shapely.multipoints(points, indices=np.repeat(np.arange(len(groups)), sizes))
    b = shapely.bounds(parents[groups])
    pad = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])[:, None] * np.array([-1, -1, 1, 1])
    frames = shapely.box(*(b + pad).T)
    diagrams = shapely.voronoi_polygons(seeds, extend_to=frames, ordered=True)
    cells, idx = shapely.get_parts(diagrams, return_index=True)
    if len(cells) != len(x) or np.any(idx != np.repeat(np.arange(len(groups)), sizes)):
        raise ValueError("Voronoi partition lost cells (duplicate points?)")
    # Clipping computes each cell's cut through the parent edge separately, so neighbours can
    # disagree in the last bits; coverage_clean makes shared edges identical.
    return polygonal(shapely.coverage_clean(polygonal(shapely.intersection(cells, parents[owner]))))


#: Albers equal-area for China; areas in it are within a fraction of a percent of the true ones.
AREA_CRS = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=WGS84 +units=m +no_defs"


def area_km2(geoms: Geoms) -> Floats:
    """Areas in km² of geometries given in EPSG:4326."""
    import geopandas as gpd  # local: keeps this module importable without geopandas' start-up cost

    return np.asarray(gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(AREA_CRS).area, dtype=np.float64) / 1e6
