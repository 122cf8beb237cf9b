"""Queries of the live panels, each over a Session at `now`: only open appeals and fresh presence.

Light counts are index-only range counts on (is_open, red_from) and (is_open, yellow_from, red_from, community):
yellow-or-red and red are ranges (data_access/store/lights.py), so yellow = the difference and
green = open - yellow-or-red.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.orm import Session

from dashboard.wall import View
from data_access.store import lights
from data_access.store.appeal_rows import COLUMNS
from data_access.store.models import Appeal, AppealEvent, Member, Presence

PRESENT = ("on_duty", "busy", "sos")  # states of a member who is out there now


def _scope(view: View, district: Any, street: Any) -> list[ColumnElement[bool]]:
    if view.level == "district":
        return [district == view.code]
    if view.level == "street":
        return [street == view.code]
    return []


def _in(view: View) -> list[ColumnElement[bool]]:
    return _scope(view, Appeal.district, Appeal.street)


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(Appeal).where(*where)) or 0)


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


def created_since(session: Session, since: datetime, view: View) -> int:
    """Appeals created since a time (e.g. local midnight)."""
    return _count(session, Appeal.created_at >= since, *_in(view))


def red_rows(session: Session, now: datetime, view: View, limit: int) -> list[dict[str, Any]]:
    """Red appeals, longest red first (= most overdue first when RED_AT is 1): read in index order."""
    q = select(*COLUMNS).where(lights.is_red(now), *_in(view)).order_by(Appeal.red_from, Appeal.id).limit(limit)
    return [dict(r._mapping) for r in session.execute(q)]


def soon_rows(session: Session, now: datetime, view: View, soon: timedelta, limit: int) -> list[dict[str, Any]]:
    """Appeals turning red within `soon`, soonest first."""
    q = (
        select(*COLUMNS)
        .where(lights.turning_red(now, soon), *_in(view))
        .order_by(Appeal.red_from, Appeal.id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in session.execute(q)]


def presence_counts(session: Session, cutoff: datetime, view: View) -> dict[str, int]:
    """Fresh heartbeats of present members by state (on_duty, busy, sos) inside the view.

    The states are listed so the read is one range of (state, at) per state: without them SQLite
    walks the whole index (every member's last heartbeat) to group it."""
    q = select(Presence.state, func.count()).where(Presence.state.in_(PRESENT), Presence.at >= cutoff)
    if view.level != "city":
        q = q.join(Member, Member.id == Presence.member).where(*_scope(view, Member.district, Member.street))
    return {state: int(n) for state, n in session.execute(q.group_by(Presence.state))}


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


def red_places(session: Session, now: datetime, view: View) -> list[tuple[str | None, str | None]]:
    """(grid, community) of every red appeal in the view."""
    q = select(Appeal.grid, Appeal.community).where(lights.is_red(now), *_in(view))
    return [(g, c) for g, c in session.execute(q)]


def community_counts_open(session: Session) -> dict[str, int]:
    """Open appeals per community: an index-only read of (is_open, district, street, community).

    Grouped by the index's columns so SQLite walks that index too (grouping by community alone
    makes it scan every appeal through (community, created_at))."""
    q = (
        select(Appeal.community, func.count())
        .where(lights.is_open())
        .group_by(Appeal.district, Appeal.street, Appeal.community)
    )
    return {c: int(n) for c, n in session.execute(q) if c is not None}


def community_late(session: Session, now: datetime) -> dict[str, int]:
    """Per community with yellow or red open appeals: its worst light's LIGHT_RANK (1 yellow, 2 red).

    Reads the yellow-or-red rows through (is_open, yellow_from) and the table (for community and
    red_from): the costly part of the map, so callers refresh it less often than the counts.
    Grouped by an expression: grouping by the bare column lets SQLite pick a full scan of
    (community, created_at) for its order, 40x slower than reading the yellow rows and sorting."""
    comm = func.coalesce(Appeal.community, "")
    q = select(comm, func.max(lights.light_rank(now))).where(lights.is_yellow_or_red(now)).group_by(comm)
    return {c: int(w) for c, w in session.execute(q) if c}


def community_open(session: Session, community: str, limit: int = 50) -> list[dict[str, Any]]:
    """One community's open appeals, most urgent (earliest red) first."""
    q = (
        select(*COLUMNS)
        .where(lights.is_open(), Appeal.community == community)
        .order_by(Appeal.red_from, Appeal.id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in session.execute(q)]


def last_received(session: Session) -> datetime | None:
    """When the store last took in an appeal event (index on received_at)."""
    return session.scalar(select(func.max(AppealEvent.received_at)))


def red_by_area(session: Session, now: datetime) -> list[tuple[str | None, str | None, int]]:
    """Red appeals per (district, street): for picking the tour's worst areas."""
    q = (
        select(Appeal.district, Appeal.street, func.count())
        .where(lights.is_red(now))
        .group_by(Appeal.district, Appeal.street)
    )
    return [(d, s, int(n)) for d, s, n in session.execute(q)]
