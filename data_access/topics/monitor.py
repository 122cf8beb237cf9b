"""A topic's monitoring from the store: its half-monthly series (dashboard/topics.py `series`), the call-back
rates of its appeals (the ranking module's `rates`), its worst streets and its communities for the map, each cut
to the asker's scope."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from dashboard.rankings import DEFAULT, Tally, exact_credit, rates
from dashboard.scopes import COMMAND_CENTER, Scope
from dashboard.topics import half_of, next_half, series, worst
from data_access.problems.queries import in_scope
from data_access.store.models import Appeal, Topic, TopicAppeal
from data_access.wall.day_cache import day_start
from data_access.wall.history import first_created
from geo.city_index import CityIndex


def _hour(session: Session) -> Any:
    """Creation times truncated to the UTC hour, in the dialect's spelling."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", TopicAppeal.created_at)
    return func.strftime("%Y-%m-%d %H:00:00", TopicAppeal.created_at)


def _where(topic: int, scope: Scope) -> list[ColumnElement[bool]]:
    return [TopicAppeal.topic == topic, *in_scope(scope)]


def _joined(q: Any, scope: Scope) -> Any:
    return q if scope.role == COMMAND_CENTER else q.join(Appeal, Appeal.id == TopicAppeal.appeal)


def daily(session: Session, topic: int, scope: Scope, zone: tzinfo) -> dict[date, int]:
    """The topic's appeals per local day (grouped by hour in SQL, so a zone with clock changes stays right)."""
    h = _hour(session)
    q = _joined(select(h, func.count()).select_from(TopicAppeal), scope).where(*_where(topic, scope)).group_by(h)
    out: dict[date, int] = {}
    for at, n in session.execute(q):
        t = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        d = t.replace(tzinfo=UTC).astimezone(zone).date()
        out[d] = out.get(d, 0) + int(n)
    return out


def _tally(rows: Any) -> Tally:
    t = Tally("", "")
    for responded, resolved, sat, n in rows:
        n = int(n)
        t = t + Tally("", "", 0, n, n if responded else 0, n if resolved else 0, exact_credit(sat, DEFAULT) * n)
    return t


def _rates(t: Tally, volume: int) -> dict[str, Any]:
    resp, res, sat = rates(t)
    r = lambda x: None if x is None else round(x, 3)  # noqa: E731
    return {"volume": volume, "reviewed": t.reviewed, "response": r(resp), "resolution": r(res), "satisfaction": r(sat)}


def detail(session: Session, row: Topic, scope: Scope, now: datetime, zone: tzinfo, refs: CityIndex) -> dict[str, Any]:
    """Everything the topic page and /api/v1/topics/<id> show, within the scope."""
    start = day_start(row.start_date, zone)
    first = first_created(session)
    body = series(
        daily(session, row.id, scope, zone),
        row.start_date,
        now.astimezone(zone).date(),
        None if first is None else first.astimezone(zone).date(),
    )
    base = (
        select(Appeal.responded, Appeal.resolved_flag, Appeal.satisfaction, func.count())
        .select_from(TopicAppeal)
        .join(Appeal, Appeal.id == TopicAppeal.appeal)
        .where(*_where(row.id, scope), Appeal.reviewed.is_(True))
        .group_by(Appeal.responded, Appeal.resolved_flag, Appeal.satisfaction)
    )
    since = _tally(session.execute(base.where(TopicAppeal.created_at >= start)))
    span = now - start
    before = _tally(session.execute(base.where(TopicAppeal.created_at < start, TopicAppeal.created_at >= start - span)))
    places = (
        select(
            Appeal.street, Appeal.community, Appeal.resolved_flag, Appeal.satisfaction, Appeal.reviewed, func.count()
        )
        .select_from(TopicAppeal)
        .join(Appeal, Appeal.id == TopicAppeal.appeal)
        .where(*_where(row.id, scope), TopicAppeal.created_at >= start)
        .group_by(Appeal.street, Appeal.community, Appeal.resolved_flag, Appeal.satisfaction, Appeal.reviewed)
    )
    streets: dict[str, list[Any]] = {}
    comms: Counter[str] = Counter()
    for street, comm, resolved, sat, reviewed, n in session.execute(places):
        n = int(n)
        if comm:
            comms[comm] += n
        if not street:
            continue
        s = streets.setdefault(street, [0, Tally(street, "")])
        s[0] += n
        if reviewed:
            s[1] = s[1] + Tally(street, "", 0, n, 0, n if resolved else 0, exact_credit(sat, DEFAULT) * n)
    street_rows = [
        {"code": code, "name": refs.street_name.get(code, code), **_rates(t, v)} for code, (v, t) in streets.items()
    ]
    return {
        **summary(row, refs),
        **body,
        "rates": {"since_start": _rates(since, body["since_start"]), "before": _rates(before, 0)},
        "worst_streets": worst(street_rows),
        "communities": dict(comms),
    }


def summary(row: Topic, refs: CityIndex) -> dict[str, Any]:
    """A topic's definition, JSON-ready."""
    return {
        "id": row.id,
        "name": row.name,
        "categories": json.loads(row.categories),
        "areas": json.loads(row.areas),
        "keywords": json.loads(row.keywords),
        "lead_unit": row.lead_unit,
        "lead_unit_name": refs.unit_name.get(row.lead_unit, row.lead_unit),
        "start": row.start_date.isoformat(),
    }


def topics(session: Session) -> list[Topic]:
    """Every topic, newest start first."""
    return list(session.scalars(select(Topic).order_by(Topic.start_date.desc(), Topic.id.desc())))


def overview(session: Session, scope: Scope, now: datetime, zone: tzinfo, refs: CityIndex) -> list[dict[str, Any]]:
    """Every topic with its volume in the current and the previous half-month (within the scope)."""
    today = now.astimezone(zone).date()
    cur = half_of(today)
    prev = half_of(cur - timedelta(days=1))
    out = []
    for row in topics(session):
        by = daily(session, row.id, scope, zone)
        this = sum(n for d, n in by.items() if cur <= d < next_half(cur))
        last = sum(n for d, n in by.items() if prev <= d < cur)
        out.append({**summary(row, refs), "this_half": this, "last_half": last})
    return out


def known_categories(session: Session) -> set[str]:
    """Every category name of any level the store has seen."""
    out: set[str] = set()
    for col in (Appeal.cat1, Appeal.cat2, Appeal.cat3):
        out |= {c for c in session.scalars(select(col).distinct()) if c}
    return out


def tagged(session: Session, topic: int) -> int:
    """How many appeals a topic covers."""
    return int(session.scalar(select(func.count()).select_from(TopicAppeal).where(TopicAppeal.topic == topic)) or 0)
