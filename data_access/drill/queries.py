"""Queries of the drill-down pages: one area, narrowed by the filters and, always, by the asker's scope.

Every query here ANDs three sets of conditions: the area's (its level's column = its code), the
scope's (a grid supervisor's queries only ever read rows of their grids, whatever the area says),
and the filters'. The scope is applied even when the caller already checked the page: defence
in depth, so a mistake upstream still cannot widen what is read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.orm import Session

from dashboard.drill import Area, Filters
from dashboard.rankings import DEFAULT, rates, small_sample, tally
from dashboard.scopes import COMMAND_CENTER, DISTRICT_LEADER, STREET_LEADER, Scope
from dashboard.settings import Settings
from data_access.store.appeal_rows import COLUMNS, appeal_row, names_of
from data_access.store.lights import IS_LIGHT, is_open, is_red, is_yellow
from data_access.store.models import Appeal, Member, Presence
from geo.city_index import CityIndex

LEVEL_COLUMN = {
    "district": Appeal.district,
    "street": Appeal.street,
    "community": Appeal.community,
    "grid": Appeal.grid,
}
MEMBER_COLUMN = {
    "district": Member.district,
    "street": Member.street,
    "community": Member.community,
    "grid": Member.grid,
}


def scope_where(scope: Scope, district: Any, street: Any, grid: Any) -> list[ColumnElement[bool]]:
    """SQL conditions equal to `scope.covers(district, street, grid)` on the given columns."""
    if scope.role == COMMAND_CENTER:
        return []
    if scope.role == DISTRICT_LEADER:
        return [district == scope.district]
    if scope.role == STREET_LEADER:
        return [street == scope.street]
    return [grid.in_(sorted(scope.grids))] if scope.grids else [false()]


def appeal_where(area: Area, f: Filters, scope: Scope, now: datetime) -> list[ColumnElement[bool]]:
    """Conditions for the appeals of an area, narrowed by filters and scope."""
    w = scope_where(scope, Appeal.district, Appeal.street, Appeal.grid)
    if area.level in LEVEL_COLUMN:
        w.append(LEVEL_COLUMN[area.level] == area.code)
    since = f.since(now)
    if since is not None:
        w.append(Appeal.created_at >= since)
    for col, v in (
        (Appeal.cat1, f.cat1),
        (Appeal.cat2, f.cat2),
        (Appeal.cat3, f.cat3),
        (Appeal.channel, f.channel),
        (Appeal.kind, f.kind),
        (Appeal.priority, f.priority),
    ):
        if v is not None:
            w.append(col == v)
    if f.light is not None:
        w.append(IS_LIGHT[f.light](now))
    return w


def _n(v: Any) -> int:
    return int(v or 0)


def lights(session: Session, area: Area, f: Filters, scope: Scope, now: datetime) -> dict[str, int]:
    """Open appeals by light (and all appeals matching), in one read."""
    q = (
        select(
            func.count(),
            func.sum(case((is_open(), 1), else_=0)),
            func.sum(case((is_red(now), 1), else_=0)),
            func.sum(case((is_yellow(now), 1), else_=0)),
        )
        .select_from(Appeal)
        .where(*appeal_where(area, f, scope, now))
    )
    total, open_, red, yellow = session.execute(q).one()
    return {
        "total": _n(total),
        "open": _n(open_),
        "red": _n(red),
        "yellow": _n(yellow),
        "green": _n(open_) - _n(red) - _n(yellow),
    }


def _appeal_rows(rows: Any, now: datetime, refs: CityIndex) -> list[dict[str, Any]]:
    n = names_of(refs)
    return [appeal_row(r._mapping, now, n) for r in rows]


def red_list(
    session: Session, area: Area, f: Filters, scope: Scope, now: datetime, refs: CityIndex, limit: int
) -> list[dict[str, Any]]:
    """Red (overdue) open appeals, longest red first."""
    q = (
        select(*COLUMNS)
        .where(*appeal_where(area, f, scope, now), *index_hint(area, refs), is_red(now))
        .order_by(Appeal.red_from, Appeal.id)
        .limit(limit)
    )
    return _appeal_rows(session.execute(q), now, refs)


def appeals(
    session: Session, area: Area, f: Filters, scope: Scope, now: datetime, refs: CityIndex, limit: int
) -> list[dict[str, Any]]:
    """Appeals matching, newest first."""
    q = (
        select(*COLUMNS)
        .where(*appeal_where(area, f, scope, now))
        .order_by(Appeal.created_at.desc(), Appeal.id)
        .limit(limit)
    )
    return _appeal_rows(session.execute(q), now, refs)


def members(
    session: Session, area: Area, scope: Scope, now: datetime, settings: Settings, limit: int
) -> dict[str, Any]:
    """Grid members of the area (within scope) with their state now: on duty, busy, SOS or offline (counts, and the
    first `limit` members: none for limit 0)."""
    w = scope_where(scope, Member.district, Member.street, Member.grid)
    if area.level in MEMBER_COLUMN:
        w.append(MEMBER_COLUMN[area.level] == area.code)
    cutoff = now - timedelta(seconds=settings.presence_window_s)
    fresh = and_(Presence.at.is_not(None), Presence.at >= cutoff)
    state = case(
        (and_(fresh, Presence.state == "sos"), "sos"),
        (and_(fresh, Presence.state == "busy"), "busy"),
        (and_(fresh, Presence.state == "on_duty"), "online"),
        else_="offline",
    )
    order = case((state == "sos", 0), (state == "busy", 1), (state == "online", 2), else_=3)
    counts = {"online": 0, "busy": 0, "sos": 0, "offline": 0}
    cq = (
        select(state.label("st"), func.count())
        .select_from(Member)
        .outerjoin(Presence, Presence.member == Member.id)
        .where(*w)
        .group_by(literal_column("st"))
    )
    for st, n in session.execute(cq):
        counts[st] = int(n)
    q = (
        select(Member.id, Member.name, Member.role, Member.grid, Member.community, state, Presence.at)
        .outerjoin(Presence, Presence.member == Member.id)
        .where(*w)
        .order_by(order, Member.grid, Member.id)
        .limit(limit)
    )
    rows = [
        {"id": mid, "name": name, "role": role, "grid": grid, "community": comm, "state": st, "seen_at": at}
        for mid, name, role, grid, comm, st, at in (session.execute(q) if limit > 0 else ())
    ]
    return {**counts, "total": sum(counts.values()), "rows": rows}


def sub_stats(
    session: Session, area: Area, f: Filters, scope: Scope, now: datetime, refs: CityIndex, codes: list[str]
) -> list[dict[str, Any]]:
    """Per sub-area (given codes, already within scope): volume, open, red, the three rates (dashboard/rankings.py)."""
    if area.child is None or not codes:
        return []
    col = LEVEL_COLUMN[area.child]
    reviewed = Appeal.reviewed == true()
    answers = list(DEFAULT.satisfaction_credit)
    q = (
        select(
            col,
            func.count(),
            func.sum(case((is_open(), 1), else_=0)),
            func.sum(case((is_red(now), 1), else_=0)),
            func.sum(case((reviewed, 1), else_=0)),
            func.sum(case((and_(reviewed, Appeal.responded == true()), 1), else_=0)),
            func.sum(case((and_(reviewed, Appeal.resolved_flag == true()), 1), else_=0)),
            *[func.sum(case((and_(reviewed, Appeal.satisfaction == a), 1), else_=0)) for a in answers],
        )
        .where(*appeal_where(area, f, scope, now), col.in_(codes))
        .group_by(col)
    )
    got = {r[0]: [_n(x) for x in r[1:]] for r in session.execute(q)}
    out = []
    for code in codes:
        vol, opn, red, rev, resp, resol, *by_answer = got.get(code) or [0] * (6 + len(answers))
        t = tally(code, refs.name[area.child].get(code, code), vol, rev, resp, resol, dict(zip(answers, by_answer)))
        response, resolution, satisfaction = rates(t)
        out.append(
            {
                "code": code,
                "name": t.name,
                "volume": vol,
                "open": opn,
                "red": red,
                "reviewed": rev,
                "red_share": _r4(red / opn if opn else None),
                "response": _r4(response),
                "resolution": _r4(resolution),
                "satisfaction": _r4(satisfaction),
                "small_sample": small_sample(t),
            }
        )
    return out


def index_hint(area: Area, refs: CityIndex) -> list[ColumnElement[bool]]:
    """Conditions implied by the area that let the store use an index: a grid's appeals are its community's
    (ix_appeals_community_created), so a grid page does not read the whole table."""
    if area.level == "grid" and area.code:
        community = refs.parent["grid"].get(area.code)
        if community:
            return [Appeal.community == community]
    return []


def area_figures(
    session: Session,
    area: Area,
    f: Filters,
    scope: Scope,
    now: datetime,
    refs: CityIndex,
    codes: list[str],
    settings: Settings,
) -> tuple[dict[str, int], list[dict[str, Any]], list[dict[str, Any]]]:
    """The page's lights, its sub-areas' figures and its trend, in ONE read of the matching appeals: grouped by
    sub-area and trend day, then summed here (same values as `lights`, `sub_stats` and `trend`)."""
    child = LEVEL_COLUMN[area.child] if area.child else literal(None)
    zone = settings.zone
    days = f.trend_days()
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=days - 1 - i) for i in range(days)]
    edges = [st.astimezone(now.tzinfo) for st in starts]
    whens = [(Appeal.created_at < e, i - 1) for i, e in enumerate(edges, start=0)]
    bucket = case(*whens, else_=days - 1).label("bucket")
    reviewed = Appeal.reviewed == true()
    answers = list(DEFAULT.satisfaction_credit)
    q = (
        select(
            child.label("child"),
            bucket,
            func.count(),
            func.sum(case((is_open(), 1), else_=0)),
            func.sum(case((is_red(now), 1), else_=0)),
            func.sum(case((is_yellow(now), 1), else_=0)),
            func.sum(case((Appeal.resolved_at.is_not(None), 1), else_=0)),
            func.sum(case((reviewed, 1), else_=0)),
            func.sum(case((and_(reviewed, Appeal.responded == true()), 1), else_=0)),
            func.sum(case((and_(reviewed, Appeal.resolved_flag == true()), 1), else_=0)),
            *[func.sum(case((and_(reviewed, Appeal.satisfaction == a), 1), else_=0)) for a in answers],
        )
        .where(*appeal_where(area, f, scope, now), *index_hint(area, refs))
        .group_by(literal_column("child"), literal_column("bucket"))
    )  # by the labels: PostgreSQL cannot match re-bound CASE parameters
    width = 8 + len(answers)
    per_child: dict[Any, list[int]] = {}
    per_day: dict[int, list[int]] = {}
    total = [0] * width
    for code, b, *vals in session.execute(q):
        v = [_n(x) for x in vals]
        for acc in (per_child.setdefault(code, [0] * width), total):
            for i, x in enumerate(v):
                acc[i] += x
        if b is not None and int(b) >= 0:
            day = per_day.setdefault(int(b), [0] * width)
            for i, x in enumerate(v):
                day[i] += x
    n, opn, red, yellow = total[:4]
    lights_ = {"total": n, "open": opn, "red": red, "yellow": yellow, "green": opn - red - yellow}
    subs = []
    names = refs.name[area.child] if area.child else {}
    for code in codes if area.child else []:
        vol, o, r, _y, _res, rev, resp, resol, *by_answer = per_child.get(code) or [0] * width
        t = tally(code, names.get(code, code), vol, rev, resp, resol, dict(zip(answers, by_answer)))
        response, resolution, satisfaction = rates(t)
        subs.append(
            {
                "code": code,
                "name": t.name,
                "volume": vol,
                "open": o,
                "red": r,
                "reviewed": rev,
                "red_share": _r4(r / o if o else None),
                "response": _r4(response),
                "resolution": _r4(resolution),
                "satisfaction": _r4(satisfaction),
                "small_sample": small_sample(t),
            }
        )
    trend_ = []
    for i, st in enumerate(starts):
        d = per_day.get(i) or [0] * width
        trend_.append({"day": st.date().isoformat(), "created": d[0], "resolved": d[4], "red_now": d[2]})
    return lights_, subs, trend_


#: Sub-area figures the open appeals alone give: a map coloured by one of them needs no read of all the area's
#: appeals (`open_figures`).
OPEN_FIGS = ("open", "red", "red_share")
#: Levels whose page `open_figures` answers: their sub-areas are districts, streets or communities, which an open
#: appeal's community names (a community's grids do not).
OPEN_LEVELS = ("city", "district", "street")


def open_figures(
    session: Session, area: Area, f: Filters, scope: Scope, now: datetime, refs: CityIndex, codes: list[str]
) -> tuple[dict[str, int], list[dict[str, Any]]] | None:
    """The page's lights and its sub-areas' open and red counts without reading every appeal of the area: open
    appeals per community through the index (is_open, district, street, community), the area's yellow and red ones
    per community (through that index, or (is_open, yellow_from, red_from, community) for the city), summed up to the
    sub-areas (an appeal's district and street are its community's); `total` counted through an index. The same
    values as `area_figures` gives for them; the sub-areas' volumes and rates are left out (None).

    None when the page needs the appeals' own rows: a filter other than the figure and the language, a grid
    supervisor's scope (grids are not in those indexes), or a community, grid or appeal page."""
    if (
        area.level not in OPEN_LEVELS
        or replace(f, fig="open", lang="zh") != Filters(lang="zh")
        or scope.role not in (COMMAND_CENTER, DISTRICT_LEADER, STREET_LEADER)
    ):
        return None
    w = appeal_where(area, f, scope, now)  # area and scope: district and street, columns of the indexes
    total = int(session.scalar(select(func.count()).select_from(Appeal).where(*w)) or 0)
    opened = select(Appeal.community, func.count()).where(is_open(), *w)
    per_open: dict[str, int] = {}
    for c, n in session.execute(opened.group_by(Appeal.district, Appeal.street, Appeal.community)):
        per_open[c or ""] = per_open.get(c or "", 0) + int(n)
    late = select(
        Appeal.community,
        func.sum(case((Appeal.red_from <= now, 1), else_=0)),
        func.sum(case((Appeal.red_from > now, 1), else_=0)),
    ).where(is_open(), Appeal.yellow_from <= now, *w)  # yellow or red; yellow_from <= red_from
    # The area's and the scope's conditions too: without them a district's page read every yellow and red appeal of
    # the city (0.5-4 s of heap reads on a store not vacuumed, 25 ms with them through the open appeals' index).
    per_late = {c or "": (_n(r), _n(y)) for c, r, y in session.execute(late.group_by(Appeal.community))}
    district, street = refs.community_district, refs.community_street
    inside = {  # the area's and the scope's communities (a grid supervisor's page does not come here)
        c
        for c in per_late
        if scope.covers(district.get(c), street.get(c))
        and (area.level == "city" or {"district": district, "street": street}[area.level].get(c) == area.code)
    }
    up: dict[str, str] = {"district": district, "street": street}.get(area.child or "", {})
    counts: dict[str, list[int]] = {}
    opn = red = yellow = 0
    for c in set(per_open) | inside:
        o = per_open.get(c, 0)
        r, y = per_late[c] if c in inside else (0, 0)
        acc = counts.setdefault(up.get(c, c), [0, 0])  # a street page's sub-areas are the communities themselves
        acc[0], acc[1] = acc[0] + o, acc[1] + r
        opn, red, yellow = opn + o, red + r, yellow + y
    lights_ = {"total": total, "open": opn, "red": red, "yellow": yellow, "green": opn - red - yellow}
    names = refs.name[area.child] if area.child else {}
    subs = []
    for code in codes:
        o, r = counts.get(code, [0, 0])
        subs.append(
            {
                "code": code,
                "name": names.get(code, code),
                "volume": None,
                "open": o,
                "red": r,
                "reviewed": None,
                "red_share": _r4(r / o if o else None),
                "response": None,
                "resolution": None,
                "satisfaction": None,
                "small_sample": None,
            }
        )
    return lights_, subs


def _r4(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def rank(rows: list[dict[str, Any]], fig: str) -> list[dict[str, Any]]:
    """Sub-areas ordered by a figure, highest first (no value last), with their place."""
    ordered = sorted(rows, key=lambda r: (r[fig] is None, -(r[fig] or 0), r["code"]))
    return [{**r, "rank": i + 1 if r[fig] is not None else None} for i, r in enumerate(ordered)]


def trend(
    session: Session, area: Area, f: Filters, scope: Scope, now: datetime, settings: Settings
) -> list[dict[str, Any]]:
    """Per local day of the last `f.trend_days()` days: appeals created, and of those resolved so far."""
    zone = settings.zone
    days = f.trend_days()
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=days - 1 - i) for i in range(days)]
    edges = [s.astimezone(now.tzinfo) for s in starts]
    whens = [(Appeal.created_at < e, i - 1) for i, e in enumerate(edges[1:], start=1)]
    bucket = (case(*whens, else_=days - 1) if whens else literal(0)).label("bucket")
    q = (
        select(
            bucket,
            func.count(),
            func.sum(case((Appeal.resolved_at.is_not(None), 1), else_=0)),
            func.sum(case((is_red(now), 1), else_=0)),
        )
        .where(*appeal_where(area, f, scope, now), Appeal.created_at >= edges[0])
        .group_by(literal_column("bucket"))
    )  # by the label: PostgreSQL cannot match re-bound CASE parameters
    got = {int(b): (_n(n), _n(res), _n(red)) for b, n, res, red in session.execute(q)}
    return [
        {
            "day": s.date().isoformat(),
            "created": got.get(i, (0, 0, 0))[0],
            "resolved": got.get(i, (0, 0, 0))[1],
            "red_now": got.get(i, (0, 0, 0))[2],
        }
        for i, s in enumerate(starts)
    ]


def top_categories(
    session: Session, area: Area, f: Filters, scope: Scope, now: datetime, limit: int, refs: CityIndex | None = None
) -> list[dict[str, Any]]:
    """The most frequent category paths among matching appeals."""
    n = func.count()
    q = (
        select(Appeal.cat1, Appeal.cat2, Appeal.cat3, n)
        .where(*appeal_where(area, f, scope, now), *(index_hint(area, refs) if refs else []))
        .group_by(Appeal.cat1, Appeal.cat2, Appeal.cat3)
        .order_by(n.desc(), Appeal.cat1, Appeal.cat2, Appeal.cat3)
        .limit(limit)
    )
    return [{"cat1": a, "cat2": b or "", "cat3": c or "", "count": int(k)} for a, b, c, k in session.execute(q)]


def appeal_place(session: Session, appeal_id: str) -> dict[str, str | None] | None:
    """Where an appeal lies (district, street, community, grid), or None if unknown."""
    r = session.execute(
        select(Appeal.district, Appeal.street, Appeal.community, Appeal.grid).where(Appeal.id == appeal_id)
    ).first()
    return None if r is None else {"district": r[0], "street": r[1], "community": r[2], "grid": r[3]}
