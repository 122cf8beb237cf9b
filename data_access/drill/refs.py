"""Reference lookups of the drill-down pages: names, parents, children, bounds and map layers of every area."""

from __future__ import annotations

import html
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from dashboard.drill import PARENT_LEVELS, Area, Place
from dashboard.scopes import Scope
from geo import layers
from geo.layers import Bounds, collection, leaflet_bounds
from geo.model import City, per_city

GeoJSON = dict[str, Any]


@dataclass
class DrillRefs:
    """Every place of one city by level: name, parent, children, bounds."""

    city_name: str
    name: dict[str, dict[str, str]]  # level -> code -> name
    parent: dict[str, dict[str, str]]  # level -> code -> parent code (district has none)
    children: dict[str, dict[str, list[str]]]  # level -> code -> child codes ("city" -> "" -> districts)
    bounds: dict[tuple[str, str | None], Bounds]
    point: dict[str, tuple[float, float]]  # community -> (lon, lat)
    unit_name: dict[str, str]
    member_name: dict[str, str]
    _city: Any = field(repr=False, default=None)

    @classmethod
    def from_city(cls, city: City) -> "DrillRefs":
        """Build the lookups from the city model."""
        d, s, c, g = city.districts, city.streets, city.communities, city.grids
        name = {"district": dict(zip(d["code"], d["name"])), "street": dict(zip(s["code"], s["name"])),
                "community": dict(zip(c["code"], c["name"])), "grid": dict(zip(g["code"], g["name"]))}
        parent = {"street": dict(zip(s["code"], s["district"])), "community": dict(zip(c["code"], c["street"])),
                  "grid": dict(zip(g["code"], g["community"]))}
        children: dict[str, dict[str, list[str]]] = {"city": {"": sorted(name["district"])}}
        for level, up in (("street", "district"), ("community", "street"), ("grid", "community")):
            kids: dict[str, list[str]] = defaultdict(list)
            for code, p in parent[level].items():
                kids[p].append(code)
            children[up] = {k: sorted(v) for k, v in kids.items()}
        bounds: dict[tuple[str, str | None], Bounds] = {("city", None): leaflet_bounds(d.total_bounds)}
        for level, frame in (("district", d), ("street", s), ("grid", g)):
            b = frame.geometry.bounds
            for code, x0, y0, x1, y1 in zip(frame["code"], b["minx"], b["miny"], b["maxx"], b["maxy"]):
                bounds[(level, code)] = leaflet_bounds((x0, y0, x1, y1))
        gb = g.geometry.bounds.assign(community=g["community"].to_numpy()).groupby("community")
        lo, hi = gb[["minx", "miny"]].min(), gb[["maxx", "maxy"]].max()
        for code in lo.index:
            bounds[("community", code)] = leaflet_bounds((lo.at[code, "minx"], lo.at[code, "miny"],
                                               hi.at[code, "maxx"], hi.at[code, "maxy"]))
        point = {k: (float(x), float(y)) for k, x, y in zip(c["code"], c.geometry.x, c.geometry.y)}
        for code, (x, y) in point.items():
            bounds.setdefault(("community", code), leaflet_bounds((x - 0.004, y - 0.003, x + 0.004, y + 0.003)))
        u, m = city.units, city.members
        return cls(city.name, name, parent, children, bounds, point, dict(zip(u["code"], u["name"])),
                   dict(zip(m["id"], m["name"])), weakref.ref(city))

    def knows(self, area: Area) -> bool:
        """Whether an area page names a place of this city (appeals are checked in the store)."""
        return area.level == "city" or area.code in self.name.get(area.level, {})

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
            up = PARENT_LEVELS[PARENT_LEVELS.index(level) - 1]
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

    def area_bounds(self, area: Area) -> Bounds:
        """Map bounds of an area."""
        return self.bounds.get((area.level, area.code), self.bounds[("city", None)])

    def sub_layer(self, area: Area, codes: list[str]) -> GeoJSON:
        """GeoJSON of the given sub-areas of an area (polygons; communities are points), names escaped."""
        city = self._city()
        if city is None or area.child is None or not codes:
            return collection()
        keep = set(codes)
        if area.child == "district":
            src = layers.district_layer(city)
        elif area.child == "street":
            src = layers.street_layer(city)
        elif area.child == "community":
            src = layers.community_layer(city)
        else:
            src = layers.grid_layer(city, street=self.parent["community"].get(area.code or ""))
        return _lean(src, keep)

    def outline(self, area: Area) -> GeoJSON:
        """GeoJSON of the area's own boundary (communities: their grids' outline is the sub-layer)."""
        city = self._city()
        if city is None or area.level not in ("district", "street", "grid"):
            return collection()
        if area.level == "district":
            src = layers.district_layer(city)
        elif area.level == "street":
            src = layers.street_layer(city)
        else:
            street = self.parent["community"].get(self.parent["grid"].get(area.code or "", ""), "")
            src = layers.grid_layer(city, street=street)
        return _lean(src, {area.code or ""})


def _lean(src: GeoJSON, keep: set[str]) -> GeoJSON:
    feats = []
    for f in src["features"]:
        p = f["properties"]
        if p["code"] in keep:
            feats.append({"type": "Feature", "id": p["code"], "geometry": f["geometry"],
                          "properties": {"code": p["code"], "tooltip": html.escape(str(p["name"]))}})
    return collection(feats)


#: The DrillRefs of a city object, built once (and dropped with the city).
refs_of = per_city(DrillRefs.from_city)
