"""SQL aggregates of high-frequency problems and hotspot evidence: each one GROUP BY over a time range."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from data_access.store.bulk import chunks
from data_access.store.models import Appeal, AppealEvent
from data_access.wall.day_cache import count_days
from data_access.wall.history import review_answers

_CAT = {"cat1": Appeal.cat1, "cat2": Appeal.cat2, "cat3": Appeal.cat3}
_AREA = {"district": Appeal.district, "street": Appeal.street, "community": Appeal.community}


def _range(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [Appeal.created_at >= start, Appeal.created_at < end]


def category_area(session: Session, cat: str, area: str, start: datetime, end: datetime) -> dict[tuple[str, str], int]:
    """Appeals created in [start, end) per (category of level `cat`, area of level `area`)."""
    c, a = _CAT[cat], _AREA[area]
    q = select(c, a, func.count()).where(*_range(start, end), c.is_not(None), a.is_not(None)).group_by(c, a)
    return {(str(k), str(ar)): int(n) for k, ar, n in session.execute(q)}


def totals(session: Session, col: str, start: datetime, end: datetime) -> dict[str, int]:
    """Appeals created in [start, end) per value of one column (a category or an area level)."""
    c = {**_CAT, **_AREA}[col]
    q = select(c, func.count()).where(*_range(start, end), c.is_not(None)).group_by(c)
    return {str(k): int(n) for k, n in session.execute(q)}


#: A day's category aggregate: appeals per (cat1, cat2, cat3, district, street) and per (cat3, handling unit).
Places = dict[tuple[Any, ...], int]
PLACE_KEYS = (Appeal.cat1, Appeal.cat2, Appeal.cat3, Appeal.district, Appeal.street)
UNIT_KEYS = (Appeal.cat3, Appeal.unit)


def _grouped(keys: tuple[Any, ...], base: Select[Any] | None = None) -> Callable[[Sequence[Any]], Select[Any]]:
    def query(extra: Sequence[Any]) -> Select[Any]:
        q = select(*extra, *keys, func.count()) if base is None else base.add_columns(*extra, *keys, func.count())
        return q.group_by(*extra, *keys)

    return query


def category_days(session: Session, days: Sequence[date], zone: tzinfo) -> dict[date, tuple[Places, Places]]:
    """Per local day: appeals created per (category levels, district, street) and per (cat3, unit)."""
    places = count_days(session, days, zone, _grouped(PLACE_KEYS), Appeal.created_at)
    units = count_days(session, days, zone, _grouped(UNIT_KEYS), Appeal.created_at)
    return {d: (places[d], units[d]) for d in days}


def category_range(session: Session, start: datetime, end: datetime) -> tuple[Places, Places]:
    """The same of the appeals created in [start, end) (today so far)."""
    out = []
    for keys in (PLACE_KEYS, UNIT_KEYS):
        q = _grouped(keys)(()).where(*_range(start, end))
        out.append({tuple(r[:-1]): int(r[-1]) for r in session.execute(q)})
    return out[0], out[1]


def _reviews(session: Session) -> Callable[[Sequence[Any]], Select[Any]]:
    base = select().select_from(AppealEvent).join(Appeal, Appeal.id == AppealEvent.appeal)
    return _grouped((Appeal.cat3, *review_answers(session)), base.where(AppealEvent.type == "reviewed"))


def review_days(session: Session, days: Sequence[date], zone: tzinfo) -> dict[date, Places]:
    """Per local day: call-backs made per (cat3 of the appeal, responded, resolved, satisfaction)."""
    return count_days(session, days, zone, _reviews(session), AppealEvent.at)


def review_range(session: Session, start: datetime, end: datetime) -> Places:
    """The same of the call-backs made in [start, end)."""
    q = _reviews(session)(()).where(AppealEvent.at >= start, AppealEvent.at < end)
    return {tuple(r[:-1]): int(r[-1]) for r in session.execute(q)}


def members(
    session: Session, communities: list[str], start: datetime, end: datetime, limit: int = 50
) -> tuple[Counter[str], list[dict[str, Any]]]:
    """The appeals of some communities over [start, end): their categories counted and the newest few."""
    cats: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    for part in chunks(sorted(communities)):
        q = select(Appeal.cat3, func.count()).where(*_range(start, end), Appeal.community.in_(part))
        cats.update({c or "": int(n) for c, n in session.execute(q.group_by(Appeal.cat3))})
        q2 = (
            select(Appeal.id, Appeal.created_at, Appeal.community, Appeal.cat3, Appeal.summary)
            .where(*_range(start, end), Appeal.community.in_(part))
            .order_by(Appeal.created_at.desc())
            .limit(limit)
        )
        rows += [
            {"id": i, "created_at": at, "community": c, "category": k, "summary": s}
            for i, at, c, k, s in session.execute(q2)
        ]
    rows.sort(key=lambda r: r["created_at"], reverse=True)
    return cats, rows[:limit]
