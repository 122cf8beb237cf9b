"""The reports' own reads of the store: one period of one scope (city, a district, a street), each a GROUP BY.

Rankings, call-backs, hotspot counts and coverage are not here: the reports take them from the functions the
screens and the read API use (data_access/wall/snapshot.py, history.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from dashboard.wall import View
from data_access.store.appeal_rows import COLUMNS, Names, appeal_row
from data_access.store.models import Appeal, SupervisionCase


def in_view(view: View) -> list[ColumnElement[bool]]:
    """Appeals of a view: all, a district's, a street's (by where they happened)."""
    if view.level == "district":
        return [Appeal.district == view.code]
    if view.level == "street":
        return [Appeal.street == view.code]
    return []


def _created(start: datetime, end: datetime, view: View) -> list[ColumnElement[bool]]:
    return [Appeal.created_at >= start, Appeal.created_at < end, *in_view(view)]


Mix = dict[tuple[str, str, str, str], int]


def received_mix(session: Session, before: datetime, start: datetime, end: datetime, view: View) -> tuple[Mix, Mix]:
    """Appeals received in [start, end), and in [before, start), per (channel, cat1, cat2, cat3): a day and the
    days before it, by channel and by category, in one read (it was four)."""
    recent = case((Appeal.created_at >= start, 1), else_=0).label("recent")
    q = (
        select(recent, Appeal.channel, Appeal.cat1, Appeal.cat2, Appeal.cat3, func.count())
        .where(*_created(before, end, view))
        .group_by(literal_column("recent"), Appeal.channel, Appeal.cat1, Appeal.cat2, Appeal.cat3)
    )  # grouped by the label, as in per_day
    now: Mix = {}
    then: Mix = {}
    for r, ch, a, b, c, n in session.execute(q):
        (now if r else then)[(ch, a, b or "", c or "")] = int(n)
    return now, then


def split(mix: Mix, part: slice) -> dict[Any, int]:
    """A mix summed by part of its key: `slice(0, 1)` by channel, `slice(1, 4)` by category path."""
    out: dict[Any, int] = {}
    for k, n in mix.items():
        key = k[part] if part.stop - part.start > 1 else k[part.start]
        out[key] = out.get(key, 0) + n
    return out


def by_cat1(session: Session, start: datetime, end: datetime, view: View) -> dict[str, int]:
    """Appeals received in [start, end) per first-level category."""
    q = select(Appeal.cat1, func.count()).where(*_created(start, end, view)).group_by(Appeal.cat1)
    return {a: int(n) for a, n in session.execute(q)}


def received(session: Session, start: datetime, end: datetime, view: View) -> int:
    """Appeals received in [start, end)."""
    return int(session.scalar(select(func.count()).select_from(Appeal).where(*_created(start, end, view))) or 0)


def resolved(session: Session, start: datetime, end: datetime, view: View) -> dict[str, int]:
    """Appeals reported resolved in [start, end): all, within their time limit, late."""
    on_time = case((Appeal.resolved_at <= Appeal.due_at, 1), else_=0)
    q = select(func.count(), func.sum(on_time)).where(
        Appeal.resolved_at >= start, Appeal.resolved_at < end, *in_view(view)
    )
    n, ok = session.execute(q).one()
    n, ok = int(n or 0), int(ok or 0)
    return {"resolved": n, "on_time": ok, "late": n - ok}


def _overdue_at(end: datetime, view: View) -> list[ColumnElement[bool]]:
    """Appeals received before `end`, not resolved by then, past their time limit at `end`."""
    return [
        Appeal.created_at < end,
        Appeal.red_from <= end,
        or_(Appeal.resolved_at.is_(None), Appeal.resolved_at >= end),
        or_(Appeal.closed_at.is_(None), Appeal.closed_at >= end),
        *in_view(view),
    ]


def overdue(
    session: Session, end: datetime, view: View, names: Names, limit: int
) -> tuple[list[tuple[str | None, int]], list[dict[str, Any]]]:
    """The handling units with most appeals overdue (red) at `end`, most first (ties by unit, none last), and the
    appeals overdue longest, as screen rows (citizen text as given: renderers escape it). One scan finds the overdue
    appeals (unit, since when red); only the rows shown are then read, by id (it was two scans of the store)."""
    by_unit: dict[str | None, int] = {}
    reds: list[tuple[datetime, str]] = []
    for unit, red, id_ in session.execute(
        select(Appeal.unit, Appeal.red_from, Appeal.id).where(*_overdue_at(end, view))
    ):
        by_unit[unit] = by_unit.get(unit, 0) + 1
        reds.append((red, id_))
    units = sorted(by_unit.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))[:limit]
    if not reds:
        return units, []
    last = sorted(r for r, _ in reds)[min(limit, len(reds)) - 1]
    shown = [i for r, i in reds if r <= last]  # the longest overdue, with any ties (the store orders those by id)
    q = select(*COLUMNS).where(Appeal.id.in_(shown)).order_by(Appeal.red_from, Appeal.id).limit(limit)
    return units, [appeal_row(dict(r._mapping), end, names) for r in session.execute(q)]


def per_day(session: Session, edges: list[datetime], view: View) -> list[int]:
    """Appeals received between consecutive edges (len(edges) - 1 counts), in one read."""
    if len(edges) < 2:
        return []
    whens = [(Appeal.created_at < e, i) for i, e in enumerate(edges[1:])]
    bucket = case(*whens, else_=len(edges) - 2).label("bucket")
    q = select(bucket, func.count()).where(*_created(edges[0], edges[-1], view)).group_by(literal_column("bucket"))
    # grouped by the label: PostgreSQL cannot match re-bound CASE parameters (as data_access/drill/queries.trend)
    got = {int(b): int(n) for b, n in session.execute(q)}
    return [got.get(i, 0) for i in range(len(edges) - 1)]


def _cases_in(view: View) -> list[ColumnElement[bool]]:
    if view.level == "district":
        return [SupervisionCase.district == view.code]
    if view.level == "street":
        return [SupervisionCase.street == view.code]
    return []


def cases_by_unit(session: Session, start: datetime, end: datetime, view: View) -> list[tuple[str | None, int]]:
    """Supervision cases (督办件) opened in [start, end) per handling unit, most first."""
    c = SupervisionCase
    n = func.count()
    q = (
        select(c.unit, n)
        .where(c.opened_at >= start, c.opened_at < end, *_cases_in(view))
        .group_by(c.unit)
        .order_by(n.desc(), c.unit)
    )
    return [(u, int(k)) for u, k in session.execute(q)]


def cases_opened_closed(session: Session, start: datetime, end: datetime, view: View) -> dict[str, int]:
    """Supervision cases opened, and closed, in [start, end)."""
    c = SupervisionCase
    opened = session.scalar(
        select(func.count()).select_from(c).where(c.opened_at >= start, c.opened_at < end, *_cases_in(view))
    )
    closed = session.scalar(
        select(func.count()).select_from(c).where(c.closed_at >= start, c.closed_at < end, *_cases_in(view))
    )
    return {"opened": int(opened or 0), "closed": int(closed or 0)}
