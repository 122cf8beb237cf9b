"""Reference lookups the screens need (names, parents, roster and grid counts, map points), built once per city."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dashboard.wall import View
from geo.layers import collection, leaflet_bounds, point_feature
from geo.model import City


@dataclass
class Refs:
    """Names and parents of every place and unit, and the static counts per area."""

    city_name: str
    district_name: dict[str, str]
    street_name: dict[str, str]
    street_district: dict[str, str]
    community_name: dict[str, str]
    community_street: dict[str, str]
    community_district: dict[str, str]
    community_lonlat: dict[str, tuple[float, float]]
    unit_name: dict[str, str]
    unit_kind: dict[str, str]
    unit_district: dict[str, str | None]
    grids_per_street: dict[str, int]
    grid_street: dict[str, str]
    member: dict[str, tuple[str, str, str, str, str]] = field(default_factory=dict)  # id -> name, grid, community, street, district
    roster: Counter[str] = field(default_factory=Counter)  # members per 'city', district code, street code
    bounds: dict[str, list[list[float]]] = field(default_factory=dict)  # view key -> [[s, w], [n, e]]

    @classmethod
    def from_city(cls, city: City) -> "Refs":
        """Build every lookup from the city model."""
        d, s, c, u, g, m = city.districts, city.streets, city.communities, city.units, city.grids, city.members
        roster: Counter[str] = Counter()
        roster["city"] = len(m)
        roster.update(m["district"].tolist())
        roster.update(m["street"].tolist())
        bounds = {"city": leaflet_bounds(d.total_bounds)}
        for code, geom in zip(d["code"], d.geometry):
            bounds[f"d:{code}"] = leaflet_bounds(geom.bounds)
        for code, geom in zip(s["code"], s.geometry):
            bounds[f"s:{code}"] = leaflet_bounds(geom.bounds)
        return cls(
            city_name=city.name,
            district_name=dict(zip(d["code"], d["name"])),
            street_name=dict(zip(s["code"], s["name"])),
            street_district=dict(zip(s["code"], s["district"])),
            community_name=dict(zip(c["code"], c["name"])),
            community_street=dict(zip(c["code"], c["street"])),
            community_district=dict(zip(c["code"], c["district"])),
            community_lonlat={k: (float(x), float(y)) for k, x, y in zip(c["code"], c.geometry.x, c.geometry.y)},
            unit_name=dict(zip(u["code"], u["name"])),
            unit_kind=dict(zip(u["code"], u["kind"])),
            unit_district={k: (v if isinstance(v, str) else None) for k, v in zip(u["code"], u["district"])},
            grids_per_street=dict(Counter(g["street"].tolist())),
            grid_street=dict(zip(g["code"], g["street"])),
            member={i: (n, gr, c_, st, di) for i, n, gr, c_, st, di in zip(
                m["id"], m["name"], m["grid"], m["community"], m["street"], m["district"])},
            roster=roster,
            bounds=bounds,
        )

    def knows(self, view: View) -> bool:
        """Whether the view names a place of this city."""
        if view.level == "district":
            return view.code in self.district_name
        if view.level == "street":
            return view.code in self.street_name
        return True

    def view_name(self, view: View) -> str:
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

    def streets_in(self, view: View) -> list[str]:
        """Street codes inside a view (all streets for the city)."""
        if view.level == "district":
            return [s for s, d in self.street_district.items() if d == view.code]
        if view.level == "street":
            return [view.code] if view.code in self.street_name else []
        return list(self.street_name)

    def community_points(self) -> dict[str, Any]:
        """The community layer for the map: lean GeoJSON points, names escaped for tooltips."""
        name = self.community_name
        return collection(point_feature(lon, lat, {"id": code, "tooltip": html.escape(name.get(code, code))})
                          for code, (lon, lat) in self.community_lonlat.items())
