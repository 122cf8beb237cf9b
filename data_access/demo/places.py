"""Where the demo's appeals happen and who handles them: lookups derived from the City, seeded."""

from __future__ import annotations

import json
import math

import numpy as np
import shapely

from dashboard import catalogue
from data_access.demo.draws import cum
from geo.model import City

LOCATION_RADIUS_M = 200.0  # appeals with a location are placed within this of their community point
_HANDLERS = ("grid_member", "full_time_member", "grid_leader")

#: A catalogue leaf as the generator uses it: (category array, Leaf, cumulative priority mix).
LeafPlan = tuple[list[str], catalogue.Leaf, list[float]]


def leaf_plan(path: tuple[str, str, str]) -> LeafPlan:
    """(category array, Leaf, cumulative priority mix) of a catalogue path."""
    return list(path), catalogue.leaf(path), cum(catalogue.CLASSES[path[0]].mix)


class Places:
    """City-derived lookups: community points and weights, handlers, roster, shifts (all seeded); the
    catalogue's leaves with their plans and each hotspot's favourite one."""

    def __init__(self, city: City, seed: int) -> None:
        c = city.communities.reset_index(drop=True)
        if len(c) == 0:
            raise ValueError("the city has no communities: nowhere for appeals to happen")
        if {"lon", "lat"} <= set(c.columns):
            lon, lat = c["lon"].to_numpy(float), c["lat"].to_numpy(float)
        else:
            lon, lat = c.geometry.x.to_numpy(), c.geometry.y.to_numpy()
        self.code = [str(x) for x in c["code"]]
        self.name = [str(x) for x in c["name"]]
        self.street = [str(x) for x in c["street"]]
        self.district = [str(x) for x in c["district"]]
        self.lon, self.lat = [float(x) for x in lon], [float(x) for x in lat]
        # How far from its community point an appeal may be placed: up to 200 m, less near the city's
        # edge, so that no generated location falls outside the city (the ingest would refuse it).
        edge = shapely.union_all(city.districts.geometry.to_numpy()).boundary
        to_edge = shapely.distance(shapely.points(lon, lat), edge)  # degrees; a degree of longitude is the shorter
        self.radius = [
            min(LOCATION_RADIUS_M, 0.8 * d * 111_320.0 * math.cos(math.radians(la))) for d, la in zip(to_edge, self.lat)
        ]
        index = {code: i for i, code in enumerate(self.code)}
        street_names = dict(zip(city.streets["code"].astype(str), city.streets["name"].astype(str)))
        district_names = dict(zip(city.districts["code"].astype(str), city.districts["name"].astype(str)))
        self.place = [district_names.get(d, "") + street_names.get(s, "") for d, s in zip(self.district, self.street)]
        rng = np.random.default_rng([seed % 2**32, 1])
        grids = city.grids["community"].astype(str).value_counts()
        base = np.array([1.0 + grids.get(code, 0) for code in self.code]) * rng.lognormal(0.0, 0.5, len(c))
        n_hot = max(1, round(0.04 * len(c)))
        hot = rng.choice(len(c), size=n_hot, replace=False)
        base[hot] *= rng.uniform(3.0, 8.0, n_hot)
        self.cum = cum(base)
        self.leaves = catalogue.leaves()
        self.plans = [leaf_plan(path) for path in self.leaves]
        leaf_w = [catalogue.leaf(p).weight for p in self.leaves]
        favs = rng.choice(len(self.leaves), size=n_hot, p=np.asarray(leaf_w) / sum(leaf_w))
        self.favourite = {int(h): int(f) for h, f in zip(hot, favs)}  # hotspot -> its problem of the month
        self._units(city)
        self._roster(city, index, rng)

    def _units(self, city: City) -> None:
        u = city.units
        self.others = [
            (str(code), str(name), str(kind), d if isinstance(d, str) and d else "")
            for code, name, kind, d in zip(u["code"], u["name"], u["kind"], u["district"])
            if kind != "street"
        ]
        by_district: dict[str, list[str]] = {}
        for s, d in zip(city.streets["code"].astype(str), city.streets["district"].astype(str)):
            by_district.setdefault(d, []).append(s)
        #: Another street of the same district: where a wrongly placed appeal goes after a return.
        self.neighbour = {
            s: ss[(k + 1) % len(ss)] for ss in by_district.values() if len(ss) > 1 for k, s in enumerate(ss)
        }
        self._match: dict[tuple[tuple[str, ...], str, str], str | None] = {}

    def unit_for(self, hints: tuple[str, ...], kind: str, district: str) -> str | None:
        """A department/company whose name has one of `hints`: same district first, then city-level."""
        key = (hints, kind, district)
        if key not in self._match:
            ranked = []
            for code, name, k, d in self.others:
                rank = next((i for i, h in enumerate(hints) if h in name), None)
                if rank is not None:  # own district, then city-level; right kind; earlier hint; shorter name
                    ranked.append(((d != district, d != "", k != kind, rank, len(name), code), code))
            self._match[key] = min(ranked)[1] if ranked else None
        return self._match[key]

    def _roster(self, city: City, index: dict[str, int], rng: np.random.Generator) -> None:
        m = city.members.reset_index(drop=True)
        self.handlers: dict[int, list[str]] = {}
        fallback: dict[int, list[str]] = {}
        ids, home, ci_of = [], [], []
        for mid, role, comm in zip(m["id"].astype(str), m["role"].astype(str), m["community"]):
            ci = index.get(str(comm))
            ids.append(mid)
            ci_of.append(ci)
            home.append((self.lon[ci], self.lat[ci]) if ci is not None else None)
            if ci is not None:
                (self.handlers if role in _HANDLERS else fallback).setdefault(ci, []).append(mid)
        for ci, mids in fallback.items():
            self.handlers.setdefault(ci, mids)
        self.member_ids = ids
        self.member_json = [json.dumps(x, ensure_ascii=False) for x in ids]
        self.member_home = home
        n = len(ids)
        shift = rng.choice(3, size=n, p=[0.85, 0.11, 0.04])  # day, evening, night
        start = np.where(
            shift == 0,
            rng.integers(450, 541, n),
            np.where(shift == 1, rng.integers(870, 961, n), rng.integers(1290, 1351, n)),
        )
        length = np.where(shift == 0, rng.integers(540, 601, n), rng.integers(480, 541, n))
        self.shift_start = [int(x) for x in start]
        self.shift_len = [int(x) for x in length]
