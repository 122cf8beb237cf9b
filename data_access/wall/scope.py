"""The wall's figures narrowed to what a signed-in scope may see (dashboard/scopes.py says who sees what)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from dashboard.rankings import class_counts
from dashboard.scopes import COMMAND_CENTER, GRID_SUPERVISOR, Scope
from dashboard.wall import View
from geo.city_index import CityIndex


def view_allowed(scope: Scope, view: View, refs: CityIndex) -> bool:
    """Whether a wall view (city, a district, a street) lies inside the scope."""
    parents = {"district": refs.street_district.get(view.code or "")} if view.level == "street" else {}
    return scope.can_view(view.level, view.code, parents)


def home_view(scope: Scope) -> View | None:
    """The wall view a scope opens on; None for grid supervisors, whose area is no wall view."""
    if scope.role == GRID_SUPERVISOR:
        return None
    level, code = scope.home
    return View(level, code)


def _row_allowed(scope: Scope, level: str, code: str, refs: CityIndex) -> bool:
    if scope.role == COMMAND_CENTER:
        return True
    if level == "street":
        return scope.covers(refs.street_district.get(code), code)
    if level == "district":
        return scope.covers(code)
    return False  # departments and companies serve the whole city: the command center's to rank


def restrict_rankings(body: dict[str, Any], scope: Scope, refs: CityIndex) -> dict[str, Any]:
    """A rankings answer with only the rows inside the scope (ranks stay the city's)."""
    if scope.role == COMMAND_CENTER:
        return body
    keep = lambda r: _row_allowed(scope, body["level"], r["code"], refs)  # noqa: E731
    rows = [r for r in body["rows"] if keep(r)]
    classes = class_counts(r["class"] for r in rows)
    return {
        **body,
        "rows": rows,
        "volume_top": [r for r in body["volume_top"] if keep(r)],
        "classes": classes,
        "ranked": sum(1 for r in rows if r["rank"]),
    }


def restrict_snapshot(snap: dict[str, Any] | None, scope: Scope, refs: CityIndex) -> dict[str, Any] | None:
    """A wall snapshot (already computed for an allowed view) without anything outside the scope."""
    if snap is None or scope.role == COMMAND_CENTER:
        return snap
    comms = _communities_in(snap["communities"], scope, refs)
    tour = [k for k in snap["tour"] if view_allowed(scope, View.parse(k), refs)]
    home = home_view(scope)
    return {
        **snap,
        "communities": comms,
        "tour": tour or ([home.key] if home else []),
        "rankings": restrict_rankings(snap["rankings"], scope, refs),
    }


#: The last cut of the map's communities per scope: (the city's communities it was cut from, the city index, the
#: cut). Every view of a tick shows the same city map, so a scope's cut is made once per tick, not once per view,
#: and is the same object for all of them (its points are then hashed once too: callbacks/wall_diff.py).
_CUTS: OrderedDict[Scope, tuple[Any, CityIndex, dict[str, Any]]] = OrderedDict()
_CUTS_LOCK = threading.Lock()
_MAX_CUTS = 1024


def _communities_in(comms: dict[str, Any], scope: Scope, refs: CityIndex) -> dict[str, Any]:
    """The map's communities inside the scope (the same object as long as the city's are the same)."""
    with _CUTS_LOCK:
        held = _CUTS.get(scope)
        if held is not None and held[0] is comms and held[1] is refs:
            _CUTS.move_to_end(scope)
            return held[2]
    cut = {c: v for c, v in comms.items() if scope.covers(refs.community_district.get(c), refs.community_street.get(c))}
    with _CUTS_LOCK:
        _CUTS[scope] = (comms, refs, cut)
        _CUTS.move_to_end(scope)
        while len(_CUTS) > _MAX_CUTS:
            _CUTS.popitem(last=False)
    return cut


def restrict_layer(layer: dict[str, Any], scope: Scope, refs: CityIndex) -> dict[str, Any]:
    """A map layer (districts, streets, communities, grids) with only the features inside the scope."""
    if scope.role == COMMAND_CENTER:
        return layer

    def inside(p: dict[str, Any]) -> bool:
        code: str = p.get("code") or p.get("id") or ""
        district = (
            p.get("district") or refs.community_district.get(code) or (code if code in refs.district_name else None)
        )
        street = p.get("street") or refs.community_street.get(code) or (code if code in refs.street_name else None)
        grid = code if p.get("community") else None
        return scope.covers(district, street, grid) and (street is not None or scope.role == "district_leader")

    return {**layer, "features": [f for f in layer["features"] if inside(f["properties"])]}
