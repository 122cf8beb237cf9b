"""Who sees what: table tests of the scope rules."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.scopes import Scope, ScopeError

CITY = Scope("command_center")
DIST = Scope("district_leader", district="110101")
STREET = Scope("street_leader", street="110101001")
GRIDS = Scope("grid_supervisor", grids=frozenset({"11010100100101", "11010100100102"}))


@pytest.mark.parametrize(
    "scope, place, ok",
    [
        (CITY, ("110105", "110105001", "11010500100101"), True),
        (DIST, ("110101", "110101002", "11010100200101"), True),
        (DIST, ("110102", "110102001", "11010200100101"), False),
        (DIST, (None, None, None), False),
        (STREET, ("110101", "110101001", "11010100100301"), True),
        (STREET, ("110101", "110101002", "11010100200101"), False),
        (GRIDS, ("110101", "110101001", "11010100100101"), True),
        (GRIDS, ("110101", "110101001", "11010100100103"), False),
        (GRIDS, ("110101", "110101001", None), False),
    ],
)
def test_scope001_covers(scope: Scope, place: tuple[str | None, str | None, str | None], ok: bool) -> None:
    assert scope.covers(*place) is ok


@pytest.mark.parametrize(
    "scope, level, code, parents, ok",
    [
        (CITY, "city", None, {}, True),
        (DIST, "city", None, {}, False),
        (DIST, "district", "110101", {}, True),
        (DIST, "district", "110102", {}, False),
        (DIST, "street", "110101003", {"district": "110101"}, True),
        (DIST, "street", "110102003", {"district": "110102"}, False),
        (STREET, "district", "110101", {}, False),
        (STREET, "street", "110101001", {"district": "110101"}, True),
        (STREET, "community", "110101001002", {"district": "110101", "street": "110101001"}, True),
        (STREET, "community", "110101002002", {"district": "110101", "street": "110101002"}, False),
        (GRIDS, "street", "110101001", {"district": "110101"}, False),
        (GRIDS, "community", "110101001001", {"street": "110101001"}, False),
        (GRIDS, "grid", "11010100100101", {"street": "110101001"}, True),
        (GRIDS, "grid", "11010100100109", {"street": "110101001"}, False),
    ],
)
def test_scope002_can_view(
    scope: Scope, level: str, code: str | None, parents: dict[str, str | None], ok: bool
) -> None:
    assert scope.can_view(level, code, parents) is ok


@pytest.mark.parametrize(
    "kwargs",
    [
        {"role": "district_leader"},
        {"role": "street_leader", "district": "110101"},
        {"role": "grid_supervisor"},
        {"role": "command_center", "district": "110101"},
        {"role": "mayor"},
    ],
)
def test_scope003_role_needs_its_area(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ScopeError):
        Scope(**kwargs)


def test_scope004_home() -> None:
    assert CITY.home == ("city", None)
    assert DIST.home == ("district", "110101")
    assert GRIDS.home == ("grid", "11010100100101")
