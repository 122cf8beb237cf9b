"""SQL aggregates of high-frequency problems and hotspot evidence: each one GROUP BY over a time range."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.orm import Session

from dashboard.scopes import Scope
from data_access.drill.queries import scope_where
from data_access.store.bulk import chunks
from data_access.store.models import Appeal

_CAT = {"cat1": Appeal.cat1, "cat2": Appeal.cat2, "cat3": Appeal.cat3}
_AREA = {"district": Appeal.district, "street": Appeal.street, "community": Appeal.community}


def in_scope(scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions that keep the appeals a scope may see: the drill-down's one SQL form of a scope, on `appeals`."""
    return scope_where(scope, Appeal.district, Appeal.street, Appeal.grid)


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


def count(session: Session, start: datetime, end: datetime) -> int:
    """Appeals created in [start, end)."""
    return int(session.scalar(select(func.count()).select_from(Appeal).where(*_range(start, end))) or 0)


def category_month(session: Session, start: datetime, end: datetime) -> list[Any]:
    """Per third-level category over [start, end): volume, distinct streets, distinct units, call-backs."""
    q = (
        select(
            Appeal.cat3,
            func.count(),
            func.count(distinct(Appeal.street)),
            func.count(distinct(Appeal.unit)),
        )
        .where(*_range(start, end), Appeal.cat3.is_not(None))
        .group_by(Appeal.cat3)
    )
    return list(session.execute(q))


def callbacks(session: Session, start: datetime, end: datetime, *where: ColumnElement[bool]) -> list[Any]:
    """Per third-level category: the call-backs of appeals created in [start, end), by (responded, resolved,
    satisfaction)."""
    q = (
        select(Appeal.cat3, Appeal.responded, Appeal.resolved_flag, Appeal.satisfaction, func.count())
        .where(*_range(start, end), Appeal.reviewed.is_(True), *where)
        .group_by(Appeal.cat3, Appeal.responded, Appeal.resolved_flag, Appeal.satisfaction)
    )
    return list(session.execute(q))


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
