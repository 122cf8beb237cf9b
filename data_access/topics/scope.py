"""What of a topic a scope may see: topics are the city's, but a topic limited to areas outside a scope is not
shown to it, and its areas list keeps only those inside (the figures are cut in the queries, monitor.py)."""

from __future__ import annotations

from typing import Any

from dashboard.scopes import COMMAND_CENTER, Scope
from geo.city_index import CityIndex


def area_inside(code: str, scope: Scope, refs: CityIndex) -> bool:
    """Whether a district, street or community code lies inside the scope."""
    if code in refs.district_name:
        return scope.covers(code)
    if code in refs.street_name:
        return scope.covers(refs.street_district.get(code), code)
    if code in refs.community_name:
        return scope.covers(refs.community_district.get(code), refs.community_street.get(code))
    return False


def visible_topic(body: dict[str, Any], scope: Scope, refs: CityIndex) -> dict[str, Any] | None:
    """A topic's JSON as the scope may see it, or None."""
    if scope.role == COMMAND_CENTER:
        return body
    areas = [a for a in body["areas"] if area_inside(a, scope, refs)]
    if body["areas"] and not areas:
        return None
    lead = body["lead_unit"]
    if refs.unit_kind.get(lead) == "street" and not area_inside(lead, scope, refs):
        body = {**body, "lead_unit": None, "lead_unit_name": "—"}  # a street outside the scope: not named
    return {**body, "areas": areas}
