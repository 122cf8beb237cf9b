"""The city index: names, parents, children, bounds and points agree with the city's frames; built once per city."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from collections import Counter

import pytest

from dashboard.drill import Area
from dashboard.scopes import Scope
from dashboard.wall import View
from geo.city_index import COMMUNITY_HALF_SPAN, CityIndex, index_of
from geo.layers import leaflet_bounds
from geo.model import City

LEVELS = ("district", "street", "community", "grid")


@pytest.fixture(scope="module")
def ix(city: City) -> CityIndex:
    return index_of(city)


def _frame(city: City, level: str):  # type: ignore[no-untyped-def]
    return {"district": city.districts, "street": city.streets, "community": city.communities, "grid": city.grids}[
        level
    ]


def test_built_once_per_city(city: City, ix: CityIndex) -> None:
    assert index_of(city) is ix
    assert ix.layers.districts() is ix.layers.districts()


def test_names_and_parents_agree_with_the_frames(city: City, ix: CityIndex) -> None:
    assert ix.city_name == city.name
    for level in LEVELS:
        f = _frame(city, level)
        assert ix.name[level] == dict(zip(f["code"], f["name"]))
    for level, up in (("street", "district"), ("community", "street"), ("grid", "community")):
        f = _frame(city, level)
        assert ix.parent[level] == dict(zip(f["code"], f[up]))
    c, g = city.communities, city.grids
    assert ix.community_district == dict(zip(c["code"], c["district"]))
    assert ix.grid_street == dict(zip(g["code"], g["street"]))
    # The wall's names are the same dicts, not copies.
    assert ix.district_name is ix.name["district"] and ix.street_name is ix.name["street"]
    assert ix.community_name is ix.name["community"] and ix.street_district is ix.parent["street"]
    assert ix.community_street is ix.parent["community"] and ix.community_lonlat is ix.point


def test_children_are_the_inverse_of_parents(city: City, ix: CityIndex) -> None:
    assert ix.children["city"] == {"": sorted(city.districts["code"])}
    for level, up in (("street", "district"), ("community", "street"), ("grid", "community")):
        kids = ix.children[up]
        assert sorted(k for ks in kids.values() for k in ks) == sorted(_frame(city, level)["code"])
        for p, ks in kids.items():
            assert ks == sorted(ks) and all(ix.parent[level][k] == p for k in ks)


def test_points_units_members_and_counts(city: City, ix: CityIndex) -> None:
    c, u, m, g = city.communities, city.units, city.members, city.grids
    assert ix.point == {k: (x, y) for k, x, y in zip(c["code"], c.geometry.x, c.geometry.y)}
    assert ix.unit_name == dict(zip(u["code"], u["name"])) and ix.unit_kind == dict(zip(u["code"], u["kind"]))
    assert {k for k, d in ix.unit_district.items() if d is None} == set(u.loc[u["district"].isna(), "code"])
    row = m.iloc[17]
    assert ix.member[row["id"]] == (row["name"], row["grid"], row["community"], row["street"], row["district"])
    assert ix.member_name == dict(zip(m["id"], m["name"]))
    assert ix.roster["city"] == len(m)
    assert ix.roster[row["district"]] == int((m["district"] == row["district"]).sum())
    assert ix.roster[row["street"]] == int((m["street"] == row["street"]).sum())
    assert ix.grids_per_street == dict(Counter(g["street"]))


def test_bounds(city: City, ix: CityIndex) -> None:
    d, s, g = city.districts, city.streets, city.grids
    assert ix.area_bounds(Area()) == ix.area_bounds(View()) == leaflet_bounds(d.total_bounds)
    for level, f in (("district", d), ("street", s), ("grid", g)):
        row = f.iloc[len(f) // 2]
        assert ix.area_bounds(Area(level, row["code"])) == leaflet_bounds(row.geometry.bounds)
    assert ix.area_bounds(View("street", s.iloc[3]["code"])) == leaflet_bounds(s.iloc[3].geometry.bounds)
    comm = city.communities.iloc[42]["code"]
    assert ix.area_bounds(Area("community", comm)) == leaflet_bounds(g[g["community"] == comm].total_bounds)
    assert ix.area_bounds(Area("street", "nope")) == ix.area_bounds(Area())


def test_wall_lookups(city: City, ix: CityIndex) -> None:
    st = city.streets.iloc[5]
    dist = st["district"]
    assert ix.knows(View()) and ix.knows(View("district", dist)) and ix.knows(View("street", st["code"]))
    assert not ix.knows(View("street", "nope")) and not ix.knows(Area("appeal", "A-1"))
    assert ix.view_name(View()) == city.name and ix.view_name(View("district", dist)) == ix.district_name[dist]
    assert ix.view_name(View("street", st["code"])) == f"{ix.district_name[dist]} · {st['name']}"
    assert sorted(ix.streets_in(View("district", dist))) == sorted(
        s for s, d in ix.street_district.items() if d == dist
    )
    assert ix.streets_in(View("street", st["code"])) == [st["code"]] and ix.streets_in(View("street", "x")) == []
    assert ix.streets_in(View()) == list(city.streets["code"])
    comm = ix.children["street"][st["code"]][0]
    assert ix.place_name(comm, st["code"]) == f"{st['name']} {ix.community_name[comm]}"
    assert ix.place_name(None, None) == "—"


def test_drill_lookups(city: City, ix: CityIndex) -> None:
    grid = city.grids.iloc[200]
    place = ix.place(Area("grid", grid["code"]))
    assert place is not None
    assert place.parents == {"district": grid["district"], "street": grid["street"], "community": grid["community"]}
    assert place.names["grid"] == grid["name"] and place.names["district"] == ix.district_name[grid["district"]]
    assert ix.place(Area("grid", "nope")) is None
    assert ix.title(Area()) == city.name and ix.title(Area("grid", grid["code"])) == grid["name"]
    leader = Scope("district_leader", district=grid["district"])
    assert ix.children_in(Area(), leader) == [grid["district"]]
    assert ix.children_in(Area("district", grid["district"]), leader) == ix.children["district"][grid["district"]]
    assert ix.children_in(Area("grid", grid["code"]), leader) == []


def test_map_layers_with_escaped_tooltips(city: City, ix: CityIndex) -> None:
    points = ix.community_points()
    assert points is ix.community_points() and len(points["features"]) == len(city.communities)
    first = points["features"][0]
    assert first["properties"] == {"id": city.communities.iloc[0]["code"], "tooltip": city.communities.iloc[0]["name"]}
    street = city.streets.iloc[5]["code"]
    kids = ix.children["street"][street][:3]
    sub = ix.sub_layer(Area("street", street), kids)
    assert [f["id"] for f in sub["features"]] == kids
    grid = ix.children["community"][kids[0]][0]
    outline = ix.outline(Area("grid", grid))
    assert [f["properties"] for f in outline["features"]] == [{"code": grid, "tooltip": ix.name["grid"][grid]}]
    assert ix.outline(Area("community", kids[0]))["features"] == []
    assert ix.sub_layer(Area("grid", grid), [])["features"] == []


def test_another_city_gets_its_own_index_dropped_with_it(city: City, ix: CityIndex) -> None:
    comm = city.communities.iloc[0]["code"]
    other = dataclasses.replace(
        city,
        communities=city.communities.assign(name=lambda f: f["name"].where(f["code"] != comm, "<b>&甲")),
        grids=city.grids[city.grids["community"] != comm],
    )
    oix = index_of(other)
    assert oix is not ix and oix.tooltip["community"][comm] == "&lt;b&gt;&amp;甲"
    assert oix.community_points()["features"][0]["properties"]["tooltip"] == "&lt;b&gt;&amp;甲"
    x, y = oix.point[comm]
    dx, dy = COMMUNITY_HALF_SPAN
    assert oix.area_bounds(Area("community", comm)) == leaflet_bounds((x - dx, y - dy, x + dx, y + dy))
    gone = weakref.ref(oix)
    del other, oix
    gc.collect()
    assert gone() is None
