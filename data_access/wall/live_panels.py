"""Queries of the live panels, each over a Session at `now`: only open appeals and fresh presence.

The wall reads them for the whole city once per tick, grouped by place (`lights_by_place`, `red_rows_by_place`,
`created_by_place`, `presence_by_place`), and takes every view from those rows (data_access/wall/snapshot.py).
Yellow-or-red and red are ranges of the light thresholds (data_access/store/lights.py), so yellow = the difference
and green = open - yellow-or-red; `light_counts` counts one view alone with index-only range counts on
(is_open, red_from) and (is_open, yellow_from, red_from, community).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.orm import Session

from dashboard.wall import View
from data_access.store import lights
from data_access.store.appeal_rows import COLUMNS
from data_access.store.models import Appeal, Member, Presence

PRESENT = ("on_duty", "busy", "sos")  # states of a member who is out there now


def _scope(view: View, district: Any, street: Any) -> list[ColumnElement[bool]]:
    if view.level == "district":
        return [district == view.code]
    if view.level == "street":
        return [street == view.code]
    return []


def _in(view: View) -> list[ColumnElement[bool]]:
    return _scope(view, Appeal.district, Appeal.street)


def _counted(*where: ColumnElement[bool]) -> ScalarSelect[int]:
    return select(func.count()).select_from(Appeal).where(*where).scalar_subquery()


def light_counts(session: Session, now: datetime, view: View, soon: timedelta) -> dict[str, int]:
    """Open appeals by light, and how many turn red within `soon`.

    One statement of four index range counts: one round trip, and one snapshot of the store, so
    the lights always add up to the open total even while appeals change."""
    w = _in(view)
    q = select(
        _counted(lights.is_open(), *w),
        _counted(lights.is_yellow_or_red(now), *w),
        _counted(lights.is_red(now), *w),
        _counted(lights.turning_red(now, soon), *w),
    )
    total, yellow_or_red, red, turning = (int(n or 0) for n in session.execute(q).one())
    return {
        "open": total,
        "green": total - yellow_or_red,
        "yellow": yellow_or_red - red,
        "red": red,
        "turning_red": turning,
    }


#: An area's key in the city's live figures: "district|street" ("" for a missing part).
Place = str


def place(district: str | None, street: str | None) -> Place:
    """The key of (district, street) in the figures grouped by place."""
    return f"{district or ''}|{street or ''}"


def place_in(key: Place, view: View) -> bool:
    """Whether a place key lies inside a view (the city holds every place, even one without a district)."""
    if view.level == "city":
        return True
    district, street = key.split("|", 1)
    return (district if view.level == "district" else street) == view.code


def lights_by_place(
    session: Session, now: datetime, soon: timedelta
) -> list[tuple[str | None, str | None, str | None, int, int, int, int]]:
    """(district, street, community, open, yellow-or-red, red, turning red within `soon`) of the open appeals.

    One statement for every view and the map: the open appeals read once through (is_open, district, street,
    community), each view's lights and the map's counts are then sums of these rows."""
    q = (
        select(
            Appeal.district,
            Appeal.street,
            Appeal.community,
            func.count(),
            func.count().filter(Appeal.yellow_from <= now),
            func.count().filter(Appeal.red_from <= now),
            func.count().filter(Appeal.red_from > now, Appeal.red_from <= now + soon),
        )
        .where(lights.is_open())
        .group_by(Appeal.district, Appeal.street, Appeal.community)
    )
    return [(d, st, c, int(n), int(yr), int(r), int(t)) for d, st, c, n, yr, r, t in session.execute(q)]


def created_by_place(session: Session, since: datetime) -> dict[Place, int]:
    """Appeals created since a time (e.g. local midnight), per (district, street)."""
    q = select(Appeal.district, Appeal.street, func.count()).where(Appeal.created_at >= since)
    return {place(d, st): int(n) for d, st, n in session.execute(q.group_by(Appeal.district, Appeal.street))}


def _first_by_place(session: Session, where: ColumnElement[bool], limit: int) -> list[tuple[Place, dict[str, Any]]]:
    """(place, row) of the first `limit` appeals of each (district, street) matching `where`, all in (red_from, id)
    order: a view's first `limit` are the first `limit` of these inside it."""
    rank = func.row_number().over(partition_by=(Appeal.district, Appeal.street), order_by=(Appeal.red_from, Appeal.id))
    inner = select(*COLUMNS, rank.label("rank")).where(where).subquery()
    q = select(*(inner.c[c.key] for c in COLUMNS)).where(inner.c.rank <= limit)
    return [
        (place(r.district, r.street), dict(r._mapping))
        for r in session.execute(q.order_by(inner.c.red_from, inner.c.id))
    ]


def red_rows_by_place(session: Session, now: datetime, limit: int) -> list[tuple[Place, dict[str, Any]]]:
    """Each place's longest-red appeals (see `_first_by_place`)."""
    return _first_by_place(session, lights.is_red(now), limit)


def soon_rows_by_place(
    session: Session, now: datetime, soon: timedelta, limit: int
) -> list[tuple[Place, dict[str, Any]]]:
    """Each place's appeals turning red within `soon`, soonest first (see `_first_by_place`)."""
    return _first_by_place(session, lights.turning_red(now, soon), limit)


def presence_by_place(session: Session, cutoff: datetime) -> dict[Place, dict[str, int]]:
    """Fresh heartbeats of present members by state, per the member's (district, street).

    A heartbeat of a member the roster does not know counts for the city only (its place is "|")."""
    q = (
        select(Member.district, Member.street, Presence.state, func.count())
        .select_from(Presence)
        .outerjoin(Member, Member.id == Presence.member)
        .where(Presence.state.in_(PRESENT), Presence.at >= cutoff)
        .group_by(Member.district, Member.street, Presence.state)
    )
    out: dict[Place, dict[str, int]] = {}
    for d, st, state, n in session.execute(q):
        out.setdefault(place(d, st), {})[state] = int(n)
    return out


def present_members(session: Session, cutoff: datetime) -> list[str]:
    """Members present now (fresh heartbeat, on duty / busy / SOS): one read of the presence table."""
    q = select(Presence.member).where(Presence.at >= cutoff, Presence.state.in_(PRESENT))
    return list(session.scalars(q))


def fresh_sos(session: Session, cutoff: datetime) -> list[tuple[str, datetime]]:
    """(member, at) of fresh SOS heartbeats, latest first."""
    q = (
        select(Presence.member, Presence.at)
        .where(Presence.at >= cutoff, Presence.state == "sos")
        .order_by(Presence.at.desc(), Presence.member)
    )
    return [(m, at) for m, at in session.execute(q)]


def red_places(session: Session, now: datetime) -> list[tuple[Place, str | None, str | None]]:
    """(place key, grid, community) of every red appeal."""
    q = select(Appeal.district, Appeal.street, Appeal.grid, Appeal.community).where(lights.is_red(now))
    return [(place(d, st), g, c) for d, st, g, c in session.execute(q)]


def community_open(session: Session, community: str, limit: int = 50) -> list[dict[str, Any]]:
    """One community's open appeals, most urgent (earliest red) first."""
    q = (
        select(*COLUMNS)
        .where(lights.is_open(), Appeal.community == community)
        .order_by(Appeal.red_from, Appeal.id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in session.execute(q)]
