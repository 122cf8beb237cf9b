"""Synthetic streets, communities and grids that tile real district boundaries (the demo city's places)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from geo.model import COMMUNITY_COLUMNS, GRID_COLUMNS, MODEL_CRS, STREET_COLUMNS
from geo.names import place_names
from geo.tessellate import Floats, Geoms, Ints, area_km2, sample_in, voronoi_clip

#: Streets/townships per district, as in Beijing (343 in all).
STREET_COUNTS = {
    "110101": 17,
    "110102": 15,
    "110105": 43,
    "110106": 26,
    "110107": 9,
    "110108": 29,
    "110109": 13,
    "110111": 28,
    "110112": 22,
    "110113": 25,
    "110114": 22,
    "110115": 22,
    "110116": 16,
    "110117": 18,
    "110118": 20,
    "110119": 18,
}
URBAN_DISTRICTS = frozenset({"110101", "110102", "110105", "110106", "110107", "110108"})
CENTRE = (116.397, 39.909)  # Tiananmen; street seeds crowd toward it
MIN_COMMUNITIES = 7100
_KM_PER_DEG = (85.3, 111.2)  # at Beijing's latitude


def _km_from(x: Floats, y: Floats, cx: float, cy: float) -> Floats:
    return np.hypot((x - cx) * _KM_PER_DEG[0], (y - cy) * _KM_PER_DEG[1])


def _street_seeds(districts: gpd.GeoDataFrame, rng: np.random.Generator) -> tuple[Floats, Floats, Ints]:
    """Seed points per district, denser toward the centre, relaxed a little so cells are not slivers."""
    geoms = districts.geometry.to_numpy()
    n = np.array([STREET_COUNTS[c] for c in districts["code"]])
    cx, cy, owner = sample_in(geoms, n * 60, rng)
    weight = (_km_from(cx, cy, *CENTRE) + 8.0) ** -2.0
    picks = []
    for i in range(len(geoms)):
        idx = np.flatnonzero(owner == i)
        p = weight[idx] / weight[idx].sum()
        picks.append(np.sort(rng.choice(idx, size=n[i], replace=False, p=p)))
    sel = np.concatenate(picks)
    x, y, owner = cx[sel], cy[sel], owner[sel]
    for _ in range(2):  # two half Lloyd steps: rounder cells, density gradient mostly kept
        cells = voronoi_clip(x, y, owner, geoms)
        c = shapely.get_coordinates(shapely.centroid(cells))
        nx, ny = 0.5 * (x + c[:, 0]), 0.5 * (y + c[:, 1])
        ok = shapely.contains_xy(geoms[owner], nx, ny)
        x, y = np.where(ok, nx, x), np.where(ok, ny, y)
    return x, y, owner


def _codes(parent: list[str], rank_key: Floats, kind_base: npt.NDArray[np.int64], width: int) -> list[str]:
    """Child codes: parent code + (kind base + rank within parent and kind), zero-padded."""
    order = np.lexsort((rank_key, kind_base, np.asarray(parent)))
    seq = np.empty(len(parent), dtype=np.int64)
    prev: tuple[str, int] | None = None
    k = 0
    for i in order:
        key = (parent[i], int(kind_base[i]))
        k = k + 1 if key == prev else 1
        prev = key
        seq[i] = kind_base[i] + k
    return [f"{p}{s:0{width}d}" for p, s in zip(parent, seq)]


def build_streets(districts: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """343 streets/townships tiling the districts: 街道 in the core, 镇/乡 outside; codes district + 3 digits."""
    x, y, owner = _street_seeds(districts, rng)
    geoms = voronoi_clip(x, y, owner, districts.geometry.to_numpy())
    dcode = districts["code"].to_numpy()[owner]
    area = area_km2(geoms)
    kind = np.full(len(geoms), "街道", dtype=object)
    for d in np.unique(dcode):
        if d in URBAN_DISTRICTS:
            continue
        idx = np.flatnonzero(dcode == d)
        order = idx[np.argsort(area[idx], kind="stable")]
        n_sub = max(2, round(0.25 * len(idx)))  # the smallest (densest) quarter are 街道
        kind[order[n_sub:]] = "镇"
        kind[order[len(idx) - max(1, round(0.2 * len(idx))) :]] = "乡"  # the largest fifth are 乡
    base = np.select([kind == "街道", kind == "镇"], [0, 100], 200).astype(np.int64)
    codes = _codes(list(dcode), _km_from(x, y, *CENTRE), base, 3)
    names = np.empty(len(geoms), dtype=object)
    for d in np.unique(dcode):
        idx = np.flatnonzero(dcode == d)
        names[idx] = [s + k for s, k in zip(place_names(rng, len(idx)), kind[idx])]
    frame = gpd.GeoDataFrame(
        {"code": codes, "name": names, "district": dcode, "area_km2": np.round(area, 4), "seed_lon": x, "seed_lat": y},
        geometry=geoms,
        crs=MODEL_CRS,
    )
    return frame.sort_values("code", ignore_index=True)[STREET_COLUMNS + ["area_km2", "seed_lon", "seed_lat"]]


def build_communities(streets: gpd.GeoDataFrame, rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, Geoms]:
    """7,000+ community points in the streets and each community's Voronoi area within its street."""
    geoms = streets.geometry.to_numpy()
    counts = 10 + rng.poisson(11.5, len(streets))
    short = int(MIN_COMMUNITIES - counts.sum())
    if short > 0:
        counts += np.bincount(rng.choice(len(streets), size=short), minlength=len(streets))
    x, y, owner = sample_in(geoms, counts, rng)
    cells = voronoi_clip(x, y, owner, geoms)
    scode = streets["code"].to_numpy()[owner]
    urban = np.char.endswith(streets["name"].to_numpy().astype(str), "街道")[owner]
    d_seed = _km_from(x, y, streets["seed_lon"].to_numpy()[owner], streets["seed_lat"].to_numpy()[owner])
    village = ~urban
    for s in np.flatnonzero(~np.char.endswith(streets["name"].to_numpy().astype(str), "街道")):
        idx = np.flatnonzero(owner == s)
        village[idx[np.argsort(d_seed[idx], kind="stable")[: max(1, len(idx) // 5)]]] = False  # town centre
    codes = _codes(list(scode), d_seed, np.where(village, 200, 0).astype(np.int64), 3)
    names = np.empty(len(x), dtype=object)
    for k in range(len(streets)):
        idx = np.flatnonzero(owner == k)
        names[idx] = [n + ("村" if v else "社区") for n, v in zip(place_names(rng, len(idx)), village[idx])]
    frame = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": names,
            "street": scode,
            "district": streets["district"].to_numpy()[owner],
            "lon": x,
            "lat": y,
        },
        geometry=shapely.points(x, y),
        crs=MODEL_CRS,
    )
    order = np.argsort(frame["code"].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)[COMMUNITY_COLUMNS + ["lon", "lat"]], cells[order]


def build_grids(communities: gpd.GeoDataFrame, cells: Geoms, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """2-6 grid polygons per community splitting its area; codes community + 2 digits."""
    counts = rng.integers(2, 7, len(communities))
    x, y, owner = sample_in(cells, counts, rng)
    geoms = voronoi_clip(x, y, owner, cells)
    seq = np.arange(len(owner)) - np.searchsorted(owner, owner) + 1
    ccode = communities["code"].to_numpy()[owner]
    frame = gpd.GeoDataFrame(
        {
            "code": [f"{c}{k:02d}" for c, k in zip(ccode, seq)],
            "name": [f"{n}第{k}网格" for n, k in zip(communities["name"].to_numpy()[owner], seq)],
            "community": ccode,
            "street": communities["street"].to_numpy()[owner],
            "district": communities["district"].to_numpy()[owner],
        },
        geometry=geoms,
        crs=MODEL_CRS,
    )
    return frame.sort_values("code", ignore_index=True)[GRID_COLUMNS]
