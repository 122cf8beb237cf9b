"""Same-event groups as screens and the read API show them, cut to a scope.

A group is listed in the scope of its place (its first appeal's); its members are shown to a scope only where
each member lies inside it, and its count is the count of those members: a street sees its share of an event
that spans a boundary, and nothing of the other side."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from dashboard.calendar import iso
from dashboard.scopes import COMMAND_CENTER, DISTRICT_LEADER, GRID_SUPERVISOR, STREET_LEADER, Scope
from dashboard.settings import Settings
from data_access.store.models import Appeal, SameEventGroup, SameEventMember

_G = SameEventGroup.__table__.c
_M = SameEventMember.__table__.c
_A = Appeal.__table__.c
#: Most members one group's answer lists (the count is always whole).
MAX_MEMBERS = 200


def _scoped(query: Select[Any], scope: Scope, cols: Any) -> Select[Any]:
    """The query limited to rows whose place lies in the scope (`cols`: a table's columns with district, street,
    grid)."""
    if scope.role == COMMAND_CENTER:
        return query
    if scope.role == DISTRICT_LEADER:
        return query.where(cols.district == scope.district)
    if scope.role == STREET_LEADER:
        return query.where(cols.street == scope.street)
    if scope.role == GRID_SUPERVISOR:
        return query.where(cols.grid.in_(sorted(scope.grids)))
    return query.where(false())  # an unknown role sees nothing


def group_of_appeal(session: Session, appeal_id: str, scope: Scope, settings: Settings) -> dict[str, Any] | None:
    """The group an appeal belongs to, with its members in scope; None if the appeal is not grouped (yet)."""
    gid = session.scalar(select(_M.group_id).where(_M.appeal == appeal_id))
    return None if gid is None else group_detail(session, gid, scope, settings)


def group_detail(session: Session, group_id: str, scope: Scope, settings: Settings) -> dict[str, Any] | None:
    """One group: category, 三天三单 day, and its members in scope (oldest first); None if unknown or none of
    its members is in scope."""
    g = session.execute(select(SameEventGroup.__table__).where(_G.id == group_id)).mappings().first()
    if g is None:
        return None
    query = (
        select(_M.appeal, _M.at, _A.summary, _A.address, _A.status, _A.district, _A.street, _A.grid)
        .join(Appeal.__table__, _A.id == _M.appeal)
        .where(_M.group_id == group_id)
        .order_by(_M.at, _M.appeal)
    )
    rows = session.execute(_scoped(query, scope, _M)).all()
    if not rows:
        return None
    members = [
        {
            "id": r[0],
            "created_at": iso(r[1], settings),
            "summary": r[2],
            "address": r[3],
            "status": r[4],
            "district": r[5],
            "street": r[6],
        }
        for r in rows[:MAX_MEMBERS]
    ]
    return {**_group(g, settings), "size": len(rows), "members": members}


def _group(g: Any, settings: Settings) -> dict[str, Any]:
    day: date | None = g["burst_day"]
    return {
        "id": g["id"],
        "category": g["cat_key"],
        "size": g["size"],
        "first_at": iso(g["first_at"], settings),
        "last_at": iso(g["last_at"], settings),
        "three_in_three_days": day.isoformat() if day else None,
        "location": None if g["lon"] is None else {"lon": g["lon"], "lat": g["lat"]},
        "district": g["district"],
        "street": g["street"],
    }


def events(
    session: Session,
    scope: Scope,
    settings: Settings,
    since: datetime,
    burst_only: bool,
    min_size: int = 2,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Groups of at least `min_size` appeals with an appeal since `since` (only those meeting 三天三单 when
    `burst_only`), in scope by their place, busiest and newest first; each with its first appeal's words."""
    query = select(SameEventGroup.__table__, _A.summary).outerjoin(Appeal.__table__, _A.id == _G.id)
    query = query.where(_G.last_at >= since, _G.size >= min_size)
    if burst_only:
        query = query.where(_G.burst_day.is_not(None))
    query = _scoped(query, scope, _G).order_by(_G.last_at.desc(), _G.id).limit(limit)
    out = []
    for r in session.execute(query).mappings():
        out.append({**_group(r, settings), "summary": r["summary"]})
    return out


def group_points(
    session: Session, scope: Scope, since: datetime, area: tuple[str, str] | None, min_size: int = 2
) -> list[dict[str, Any]]:
    """Groups of `min_size` or more (two at least) with an appeal since `since` and a point, in scope and in `area`
    (level, code): one map marker each."""
    query = select(_G.id, _G.cat_key, _G.size, _G.lon, _G.lat, _G.burst_day, _A.summary).outerjoin(
        Appeal.__table__, _A.id == _G.id
    )
    query = query.where(_G.last_at >= since, _G.size >= max(2, min_size), _G.lon.is_not(None))
    if area is not None:
        level, code = area
        col = {"district": _G.district, "street": _G.street, "grid": _G.grid}.get(level)
        query = query.where(col == code) if col is not None else query.where(false())
    query = _scoped(query, scope, _G).order_by(_G.size.desc(), _G.id).limit(500)
    return [dict(r) for r in session.execute(query).mappings()]
