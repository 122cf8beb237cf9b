"""An appeal as a row of a screen's list (red lists, a community's appeals, drill tables, exports): one builder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashboard.appeal import light_from_times
from data_access.store.models import Appeal
from geo.city_index import CityIndex

#: The columns a row reads: select them (or take them from an Appeal with `columns_of`).
COLUMNS = (
    Appeal.id,
    Appeal.created_at,
    Appeal.is_open,
    Appeal.status,
    Appeal.unit,
    Appeal.member,
    Appeal.district,
    Appeal.street,
    Appeal.community,
    Appeal.grid,
    Appeal.cat1,
    Appeal.cat2,
    Appeal.cat3,
    Appeal.channel,
    Appeal.kind,
    Appeal.priority,
    Appeal.due_at,
    Appeal.yellow_from,
    Appeal.red_from,
    Appeal.resolved_at,
    Appeal.closed_at,
    Appeal.address,
    Appeal.summary,
    Appeal.lon,
    Appeal.lat,
)
NO_PLACE = "—"


@dataclass(frozen=True)
class Names:
    """What a row shows by name, looked up by code; an unknown code shows as itself."""

    unit: Mapping[str, str] = field(default_factory=dict)
    member: Mapping[str, str] = field(default_factory=dict)
    street: Mapping[str, str] = field(default_factory=dict)
    community: Mapping[str, str] = field(default_factory=dict)
    point: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # community -> (lon, lat)


def names_of(index: CityIndex) -> Names:
    """The names a city's appeal rows show, from its index (one for the wall and the drill-down)."""
    return Names(
        unit=index.unit_name,
        member=index.member_name,
        street=index.name["street"],
        community=index.name["community"],
        point=index.point,
    )


def columns_of(a: Appeal) -> dict[str, Any]:
    """An appeal's values of COLUMNS, as a select of them would give."""
    return {c.key: getattr(a, c.key) for c in COLUMNS}


def light_of(r: Mapping[str, Any], now: datetime) -> str:
    """The appeal's light at `now` (dashboard/appeal.light_from_times over its stored thresholds)."""
    return light_from_times(
        r["is_open"], r["yellow_from"], r["red_from"], r["due_at"], r["resolved_at"] or r["closed_at"], now
    )


def appeal_row(r: Mapping[str, Any], now: datetime, names: Names) -> dict[str, Any]:
    """One appeal (a mapping of COLUMNS) as screens list it: light at `now`, names, place and map point."""
    cats = [c for c in (r["cat1"], r["cat2"], r["cat3"]) if c]
    unit, member, street, community = r["unit"], r["member"], r["street"], r["community"]
    place = [names.street.get(street or "", ""), names.community.get(community or "", "")]
    lonlat = (r["lon"], r["lat"]) if r["lon"] is not None else names.point.get(community or "")
    return {
        "id": r["id"],
        "status": r["status"],
        "created_at": r["created_at"],
        "due_at": r["due_at"],
        "light": light_of(r, now),
        "late_s": int((now - r["due_at"]).total_seconds()),
        "red_in_s": int((r["red_from"] - now).total_seconds()),
        "categories": cats,
        "category": cats[-1] if cats else "",
        "category_path": " / ".join(cats),
        "channel": r["channel"],
        "kind": r["kind"],
        "priority": r["priority"],
        "unit": unit,
        "unit_name": names.unit.get(unit, unit) if unit else None,
        "member": member,
        "member_name": names.member.get(member, member) if member else None,
        "district": r["district"],
        "street": street,
        "community": community,
        "grid": r["grid"],
        "place": " ".join(p for p in place if p) or NO_PLACE,
        "address": r["address"] or "",
        "summary": r["summary"] or "",
        "lonlat": list(lonlat) if lonlat else None,
    }


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its times as ISO 8601 text (JSON-ready, as the wall's snapshot is)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
