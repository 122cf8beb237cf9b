"""The drill-down model (paths, filters, breadcrumbs) and its queries on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.drill import (
    Area,
    FilterError,
    Filters,
    Place,
    breadcrumb,
    choropleth,
    parse_export,
    parse_filters,
    parse_path,
)
from dashboard.scopes import Scope
from data_access.drill import queries as q
from geo.city_index import index_of
from tests.drill_support import load


def test_paths_round_trip() -> None:
    for a in (
        Area(),
        Area("district", "110105"),
        Area("street", "110105001"),
        Area("community", "110105001001"),
        Area("grid", "11010500100101"),
        Area("appeal", "A-1"),
    ):
        assert parse_path(a.path) == a
    for bad in ("/area/x/1", "/area/d", "/area/d/a b", "/area/d/1/2", "/wall", None, "/area/d/" + "9" * 65):
        assert parse_path(bad) is None


def test_filters_strict_and_round_trip() -> None:
    f = parse_filters("?window=7d&cat1=城市管理&cat2=市容环境&kind=complaint&priority=urgent&light=red&fig=red_share")
    assert parse_filters(f.query()) == f
    assert parse_filters("") == Filters() and Filters().query() == ""
    for bad in (
        "?window=2d",
        "?kind=x",
        "?light=blue",
        "?fig=drop",
        "?cat2=a",
        "?nope=1",
        "?kind=request&kind=consult",
        "?channel=Phone!",
        "?cat1=%0a",
    ):
        with pytest.raises(FilterError):
            parse_filters(bad)
    assert Filters(cat1="a", cat2="b", cat3="c").query(cat1="z") == "?cat1=z"  # a new top level clears the rest
    area, f2 = parse_export("area=/area/d/110105&light=red")
    assert area == Area("district", "110105") and f2.light == "red"


def test_breadcrumb_stops_at_the_scope() -> None:
    place = Place(
        Area("grid", "G1"),
        {"district": "D", "street": "S", "community": "C"},
        {"district": "区", "street": "街", "community": "社区", "grid": "网格"},
    )
    admin = breadcrumb(place, Scope("command_center"), "市", "?lang=en")
    assert [c.label for c in admin] == ["市", "区", "街", "社区", "网格"]
    assert admin[1].href == "/area/d/D?lang=en" and admin[-1].href is None
    street = breadcrumb(place, Scope("street_leader", street="S"), "市")
    assert [c.label for c in street] == ["街", "社区", "网格"]  # nothing above the scope, not even its names
    grids = breadcrumb(place, Scope("grid_supervisor", grids=frozenset({"G1"})), "市")
    assert [c.label for c in grids] == ["网格"]


def test_choropleth() -> None:
    h = choropleth([{"code": "a", "open": 3}, {"code": "b", "open": 0}, {"code": "c", "open": None}], "open")
    assert h == {"vals": {"a": 3, "b": 0}, "max": 3.0, "rate": False, "fig": "open"}


def test_queries_filtered_and_scoped(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    sc = load(city, sessions, settings, gazetteer)
    refs = index_of(city)
    now = datetime.now(UTC)
    admin, grid = Scope("command_center"), Scope("grid_supervisor", grids=frozenset({sc["grid_c1"]}))
    street = Area("street", sc["street"])
    with sessions() as s:
        assert q.lights(
            s,
            street,
            Filters(),
            admin,
            now,
        ) == {"total": 7, "open": 6, "red": 3, "yellow": 2, "green": 1}
        assert q.lights(s, street, Filters(light="yellow"), admin, now)["open"] == 2
        assert q.lights(s, street, Filters(window="24h"), admin, now)["total"] == 4  # C, D, E, F
        assert q.lights(s, street, Filters(channel="web"), admin, now)["total"] == 1
        # A grid supervisor's queries read only their grid, whatever area is asked for.
        assert [r["id"] for r in q.red_list(s, Area(), Filters(), grid, now, refs, 50)] == ["XSS1"]
        assert q.lights(s, Area("district", sc["other"]["district"]), Filters(), grid, now)["total"] == 0
        subs = q.rank(
            q.sub_stats(
                s,
                Area("district", sc["district"]),
                Filters(),
                admin,
                now,
                refs,
                refs.children_in(Area("district", sc["district"]), admin),
            ),
            "red",
        )
        assert subs[0]["code"] == sc["street"] and subs[0]["red"] == 3
        trend = q.trend(s, street, Filters(), admin, now, settings)
        assert len(trend) == 30 and sum(d["created"] for d in trend) == 7
        assert len(q.trend(s, street, Filters(window="7d"), admin, now, settings)) == 7
        cats = q.top_categories(s, street, Filters(), admin, now, 10)
        assert cats[0] == {"cat1": "城市管理", "cat2": "市政设施", "cat3": "路灯", "count": 6}
        m = q.members(s, Area("grid", sc["grid_c1"]), grid, now, settings, 50)
        assert m["total"] == len(city.members[city.members["grid"] == sc["grid_c1"]])
        assert q.members(s, street, grid, now, settings, 500)["total"] == m["total"]


def test_grid_blocks_paged_sorted_filtered_and_scoped(store, city, settings, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """The grids' blocks: paging, sorting and text filters done in SQL, the scope always applied; and the page's one
    scan gives the same lights, sub-areas and trend as the separate queries."""
    from data_access.drill.rows import appeal_block, block_of, member_block

    _, sessions, _ = store
    sc = load(city, sessions, settings, gazetteer)
    refs = index_of(city)
    now = datetime.now(UTC)
    admin, grid = Scope("command_center"), Scope("grid_supervisor", grids=frozenset({sc["grid_c1"]}))
    street = Area("street", sc["street"])
    with sessions() as s:
        everything = appeal_block(s, "appeals", street, Filters(), admin, now, refs, block_of("appeals", _req(0, 50)))
        assert len(everything) == 7
        newest = [r["created_at"] for r in everything]
        assert newest == sorted(newest, reverse=True)
        pages = [
            appeal_block(s, "appeals", street, Filters(), admin, now, refs, block_of("appeals", _req(i, i + 3)))
            for i in (0, 3, 6)
        ]
        assert [r["id"] for p in pages for r in p] == [r["id"] for r in everything]
        red = appeal_block(s, "red", street, Filters(), admin, now, refs, block_of("red", _req(0, 50)))
        assert len(red) == 3 and [r["late_s"] for r in red] == sorted((r["late_s"] for r in red), reverse=True)
        least_late = appeal_block(
            s, "red", street, Filters(), admin, now, refs, block_of("red", _req(0, 50, ("late", "asc")))
        )
        assert [r["id"] for r in least_late] == [r["id"] for r in reversed(red)]
        xss = block_of("red", _req(0, 50, text=("summary", "contains", "<script>")))
        found = appeal_block(s, "red", street, Filters(), admin, now, refs, xss)
        assert "XSS1" in [r["id"] for r in found] and all("<script>" in r["summary"] for r in found)
        assert len(found) < len(red)
        like = block_of("appeals", _req(0, 50, text=("summary", "contains", "%")))  # a wildcard is a character here
        assert all("%" in r["summary"] for r in appeal_block(s, "appeals", street, Filters(), admin, now, refs, like))
        # A grid supervisor asking for the whole city gets their grid's rows only.
        mine = appeal_block(s, "appeals", Area(), Filters(), grid, now, refs, block_of("appeals", _req(0, 50)))
        assert mine and {r["grid"] for r in mine} == {sc["grid_c1"]}
        members = member_block(s, Area(), grid, now, settings, block_of("members", _req(0, 200)))
        assert members and {m["grid"] for m in members} == {sc["grid_c1"]}
        # One scan, the same figures.
        for area in (Area(), Area("district", sc["district"]), street, Area("grid", sc["grid_c1"])):
            kids = refs.children_in(area, admin)
            lights, subs, trend = q.area_figures(s, area, Filters(), admin, now, refs, kids, settings)
            assert lights == q.lights(s, area, Filters(), admin, now)
            assert subs == q.sub_stats(s, area, Filters(), admin, now, refs, kids)
            assert trend == q.trend(s, area, Filters(), admin, now, settings)
        # The first answer's figures from the open appeals alone (index-only reads): the same lights and open and
        # red counts per sub-area, in every scope they serve; None where the rows themselves are needed.
        district = Scope("district_leader", district=sc["district"])
        street_leader = Scope("street_leader", street=sc["street"])
        other = Scope("district_leader", district=sc["other"]["district"])
        for scope in (admin, district, street_leader, other):
            for area in (Area(), Area("district", sc["district"]), street):
                kids = refs.children_in(area, scope)
                lights, subs, _trend = q.area_figures(s, area, Filters(fig="red"), scope, now, refs, kids, settings)
                fast = q.open_figures(s, area, Filters(fig="red", lang="en"), scope, now, refs, kids)
                assert fast is not None
                assert fast[0] == lights, (scope, area)
                pick = ("code", "name", "open", "red", "red_share")
                assert [{k: r[k] for k in pick} for r in fast[1]] == [{k: r[k] for k in pick} for r in subs]
        assert q.open_figures(s, Area(), Filters(), grid, now, refs, []) is None
        assert q.open_figures(s, street, Filters(window="7d"), admin, now, refs, []) is None
        assert q.open_figures(s, Area("community", sc["c1"]), Filters(), admin, now, refs, []) is None


def _req(start: int, end: int, sort: tuple[str, str] | None = None, text: tuple[str, str, str] | None = None) -> dict:  # type: ignore[type-arg]
    out: dict = {"startRow": start, "endRow": end}  # type: ignore[type-arg]
    if sort:
        out["sortModel"] = [{"colId": sort[0], "sort": sort[1]}]
    if text:
        out["filterModel"] = {text[0]: {"filterType": "text", "type": text[1], "filter": text[2]}}
    return out
