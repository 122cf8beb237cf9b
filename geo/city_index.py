"""One index of a city's places, units and members: names, parents, children, bounds, points; built once per city.

The wall, the drill-down pages, the scope filters and the ingest's checks all read it (`index_of(city)`).
"""

from __future__ import annotations

import html
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np
import pandas as pd
import shapely

from dashboard.drill import PARENT_LEVELS, Area, Place
from dashboard.scopes import Scope
from geo.layers import (
    Bounds,
    CityLayers,
    GeoJSON,
    layers_of,
    leaflet_bounds,
    lean_layer,
    tooltip_points,
)
from geo.model import City, per_city

#: The reference tables of a city, in the order `CityIndex` reads them.
REFERENCE_TABLES = ("districts", "streets", "communities", "grids", "units", "members")
#: A place's level above each level (districts have none).
UP = {"street": "district", "community": "street", "grid": "community"}
#: Half the size, in degrees (lon, lat), of a community's map bounds when it has no grids.
COMMUNITY_HALF_SPAN = (0.004, 0.003)


class NoBoundaries(RuntimeError):
    """A map lookup on an index built without the city's boundaries (`CityIndex.without_boundaries`)."""

    def __init__(self, city: str) -> None:
        super().__init__(f"the index of {city} was built without its boundaries: it draws no map")


class Located(Protocol):
    """Anything naming one area by level and code: a wall View or a drill-down Area."""

    @property
    def level(self) -> str: ...

    @property
    def code(self) -> str | None: ...


def _empty() -> GeoJSON:
    return {"type": "FeatureCollection", "features": []}


Box = tuple[float, float, float, float]  # minx, miny, maxx, maxy in degrees


def _boxes(codes: Any, geoms: Any) -> dict[str, Box]:
    """Bounding box of each geometry, by code."""
    return dict(zip(codes, map(tuple, shapely.bounds(np.asarray(geoms)).tolist())))


def _community_boxes(city: City, point: dict[str, tuple[float, float]]) -> dict[str, Box]:
    """A community's box: around its grids, or a small box around its point if it has none."""
    g = city.grids
    box = pd.DataFrame(shapely.bounds(g.geometry.to_numpy()), columns=["minx", "miny", "maxx", "maxy"])
    by = box.groupby(g["community"].to_numpy())
    lo, hi = by[["minx", "miny"]].min(), by[["maxx", "maxy"]].max()
    out = dict(zip(lo.index, zip(lo["minx"].tolist(), lo["miny"].tolist(), hi["maxx"].tolist(), hi["maxy"].tolist())))
    dx, dy = COMMUNITY_HALF_SPAN
    for code, (x, y) in point.items():
        out.setdefault(code, (x - dx, y - dy, x + dx, y + dy))
    return out


#: The reference tables an index is built from, by name (districts, streets, communities, grids, units, members),
#: each a frame of the city model or the store's table as columns by name (`reference_data.stored_index`).
Tables = dict[str, Any]


class CityIndex:
    """Every place of one city by level (name, parent, children, bounds, tooltip), its units, members and counts."""

    def __init__(self, city: City) -> None:
        """Build every lookup from the city model (the city itself is not kept: a cached index never holds it)."""
        c = city.communities
        self._places(city.name, {k: getattr(city, k) for k in REFERENCE_TABLES}, c.geometry.x, c.geometry.y)
        d = city.districts
        #: level -> code -> bounding box; "city" -> "" -> the whole city's.
        self.box: dict[str, dict[str, Box]] = {"city": {"": tuple(d.total_bounds.tolist())}}
        for level, frame in (("district", d), ("street", city.streets), ("grid", city.grids)):
            self.box[level] = _boxes(frame["code"], frame.geometry.to_numpy())
        self.box["community"] = _community_boxes(city, self.point)
        self._layers: CityLayers | None = layers_of(city)

    @classmethod
    def without_boundaries(cls, name: str, tables: Tables) -> CityIndex:
        """The index of a process that draws no map (a report build): names, parents, children, points, units,
        members and counts from the reference tables alone, so the city's boundaries are never loaded. Its map
        lookups (bounds, layers) raise NoBoundaries."""
        index = cls.__new__(cls)
        index._places(name, tables, tables["communities"]["lon"], tables["communities"]["lat"])
        index.box = {}
        index._layers = None
        return index

    def _places(self, name: str, tables: Tables, lon: Iterable[float], lat: Iterable[float]) -> None:
        d, s, c, g, u, m = (tables[k] for k in REFERENCE_TABLES)
        one: dict[str, str] = {}  # one str per place code, however many rows name it (a member repeats four)

        def codes(column: Iterable[str]) -> list[str]:
            return [one.setdefault(x, x) for x in column]

        dc, sc, cc, gc = codes(d["code"]), codes(s["code"]), codes(c["code"]), codes(g["code"])
        m_grid, m_comm, m_street, m_dist = (codes(m[k]) for k in ("grid", "community", "street", "district"))
        self.city_name = name
        #: level -> code -> name, and level -> code -> code of the level above.
        self.name: dict[str, dict[str, str]] = {
            "district": dict(zip(dc, d["name"])),
            "street": dict(zip(sc, s["name"])),
            "community": dict(zip(cc, c["name"])),
            "grid": dict(zip(gc, g["name"])),
        }
        self.parent: dict[str, dict[str, str]] = {
            "street": dict(zip(sc, codes(s["district"]))),
            "community": dict(zip(cc, codes(c["street"]))),
            "grid": dict(zip(gc, codes(g["community"]))),
        }
        #: level -> code -> sorted codes of the level below ("city" -> "" -> the districts).
        self.children: dict[str, dict[str, list[str]]] = {"city": {"": sorted(self.name["district"])}}
        for level, up in UP.items():
            kids: dict[str, list[str]] = defaultdict(list)
            for code, p in self.parent[level].items():
                kids[p].append(code)
            self.children[up] = {k: sorted(v) for k, v in kids.items()}
        self.community_district: dict[str, str] = dict(zip(cc, codes(c["district"])))
        self.grid_street: dict[str, str] = dict(zip(gc, codes(g["street"])))
        self.point = {k: (float(x), float(y)) for k, x, y in zip(cc, lon, lat)}
        #: level -> code -> name escaped for Leaflet tooltips (which render HTML).
        self.tooltip = {lv: {k: html.escape(str(v)) for k, v in names.items()} for lv, names in self.name.items()}
        self.unit_name: dict[str, str] = dict(zip(u["code"], u["name"]))
        self.unit_kind: dict[str, str] = dict(zip(u["code"], u["kind"]))
        self.unit_district = {k: (v if isinstance(v, str) else None) for k, v in zip(u["code"], u["district"])}
        #: member id -> (name, grid, community, street, district)
        self.member: dict[str, tuple[str, str, str, str, str]] = dict(
            zip(m["id"], zip(m["name"], m_grid, m_comm, m_street, m_dist))
        )
        self.member_name: dict[str, str] = dict(zip(m["id"], m["name"]))
        #: members per "city", district code and street code; grids per street code
        self.roster: Counter[str] = Counter({"city": len(m_dist)})
        self.roster.update(m_dist)
        self.roster.update(m_street)
        self.grids_per_street = dict(Counter(self.grid_street.values()))
        # The wall's names for the same dicts.
        self.district_name, self.street_name = self.name["district"], self.name["street"]
        self.community_name, self.street_district = self.name["community"], self.parent["street"]
        self.community_street, self.community_lonlat = self.parent["community"], self.point
        self._points: GeoJSON | None = None
        self._lock = threading.Lock()

    @property
    def layers(self) -> CityLayers:
        """The city's map layers (NoBoundaries for an index built without them)."""
        if self._layers is None:
            raise NoBoundaries(self.city_name)
        return self._layers

    # -- any area ------------------------------------------------------------------------------
    def knows(self, area: Located) -> bool:
        """Whether a wall view or drill-down area names a place of this city (appeals are checked in the store)."""
        return area.level == "city" or (area.code or "") in self.name.get(area.level, {})

    def area_bounds(self, area: Located) -> Bounds:
        """Leaflet bounds of an area (the city's if unknown)."""
        if not self.box:
            raise NoBoundaries(self.city_name)
        box = self.box.get(area.level, {}).get(area.code or "")
        return leaflet_bounds(box or self.box["city"][""])

    # -- the wall ------------------------------------------------------------------------------
    def view_name(self, view: Located) -> str:
        """The area's name: city, '朝阳区' or '朝阳区 · 某街道'."""
        if view.level == "district" and view.code:
            return self.district_name.get(view.code, view.code)
        if view.level == "street" and view.code:
            dist = self.district_name.get(self.street_district.get(view.code, ""), "")
            return f"{dist} · {self.street_name.get(view.code, view.code)}".strip(" ·")
        return self.city_name

    def place_name(self, community: str | None, street: str | None) -> str:
        """The shortest name of where an appeal is: its street and community."""
        parts = [self.street_name.get(street or "", ""), self.community_name.get(community or "", "")]
        return " ".join(p for p in parts if p) or "—"

    def streets_in(self, view: Located) -> list[str]:
        """Street codes inside a view (all streets for the city)."""
        if view.level == "district":
            return list(self.children["district"].get(view.code or "", []))
        if view.level == "street":
            return [view.code] if view.code in self.street_name else []
        return list(self.street_name)

    def community_points(self) -> GeoJSON:
        """The wall's community layer: lean GeoJSON points, names escaped for tooltips. Shared: do not mutate."""
        with self._lock:
            if self._points is None:
                self._points = tooltip_points(self.point, self.tooltip["community"])
            return self._points

    # -- the drill-down pages ------------------------------------------------------------------
    def place(self, area: Area) -> Place | None:
        """Parents and names of a known area (None if unknown)."""
        if not self.knows(area):
            return None
        return self.place_of(area, {area.level: area.code} if area.level != "city" else {})

    def place_of(self, area: Area, codes: dict[str, str | None]) -> Place:
        """Fill in the parents above the lowest known level of `codes` (level -> code)."""
        full: dict[str, str | None] = dict(codes)
        for level in reversed(PARENT_LEVELS[1:]):
            code = full.get(level)
            up = UP[level]
            if code and not full.get(up):
                full[up] = self.parent[level].get(code)
        names = {lv: self.name[lv].get(c, c) for lv, c in full.items() if c and lv in self.name}
        parents = {lv: full.get(lv) for lv in PARENT_LEVELS if lv != area.level}
        return Place(area, parents, names)

    def children_in(self, area: Area, scope: Scope) -> list[str]:
        """The sub-areas of an area that lie inside the scope."""
        if area.child is None:
            return []
        kids = self.children[area.level].get(area.code or "", [])
        return [k for k in kids if self._in_scope(area.child, k, scope)]

    def _in_scope(self, level: str, code: str, scope: Scope) -> bool:
        place = self.place_of(Area(level, code), {level: code})
        return scope.can_view(level, code, place.parents)

    def title(self, area: Area) -> str:
        """The area's own name."""
        return self.city_name if area.level == "city" else self.name.get(area.level, {}).get(area.code or "", "")

    def sub_layer(self, area: Area, codes: list[str]) -> GeoJSON:
        """GeoJSON of the given sub-areas of an area (polygons; communities are points), names escaped."""
        if area.child is None or not codes:
            return _empty()
        src = self._layer(area.child, area.code if area.child == "grid" else None)
        return lean_layer(src, set(codes), self.tooltip[area.child])

    def outline(self, area: Area) -> GeoJSON:
        """GeoJSON of the area's own boundary (communities: their grids' outline is the sub-layer)."""
        if area.level not in ("district", "street", "grid"):
            return _empty()
        community = self.parent["grid"].get(area.code or "", "") if area.level == "grid" else None
        return lean_layer(self._layer(area.level, community), {area.code or ""}, self.tooltip[area.level])

    def _layer(self, level: str, community: str | None) -> GeoJSON:
        """The shared map layer of a level; grids: the layer of the community's street."""
        if level == "district":
            return self.layers.districts()
        if level == "street":
            return self.layers.streets()
        if level == "community":
            return self.layers.communities()
        return self.layers.grids(street=self.parent["community"].get(community or "", ""))


#: The CityIndex of a city object, built once and dropped when the city is garbage-collected.
index_of = per_city(CityIndex)
