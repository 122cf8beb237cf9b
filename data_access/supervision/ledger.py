"""The supervision ledger (督办台账) as read by a scope: cases with filters, counts, per unit, one case's actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from dashboard.i18n import t
from dashboard.scopes import Scope
from dashboard.supervision import LedgerFilters, is_overdue
from data_access.drill.queries import scope_where
from data_access.store.models import Appeal, SupervisionAction, SupervisionCase

C = SupervisionCase
MAX_ROWS = 5_000


def _where(scope: Scope, f: LedgerFilters | None, zone: Any) -> list[ColumnElement[bool]]:
    w = scope_where(scope, C.district, C.street, C.grid)
    if f is None:
        return w
    if f.state:
        w.append(C.state == f.state)
    if f.level:
        w.append(C.level == f.level)
    if f.unit:
        w.append(C.unit == f.unit)
    start, end = f.span(zone)
    if start is not None:
        w.append(C.opened_at >= start)
    if end is not None:
        w.append(C.opened_at < end)
    return w


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(C.state == "open", C.due_at < now)


def counts(
    session: Session, scope: Scope, now: datetime, f: LedgerFilters | None = None, zone: Any = None
) -> dict[str, int]:
    """Cases of the scope by state, and how many open ones are past due."""
    row = session.execute(
        select(
            func.count().filter(C.state == "open"),
            func.count().filter(_overdue(now)),
            func.count().filter(C.state == "answered"),
            func.count().filter(C.state == "closed"),
            func.count().filter(C.state == "raised"),
        ).where(*_where(scope, f, zone))
    ).one()
    return dict(zip(("open", "overdue", "answered", "closed", "raised"), (int(x or 0) for x in row)))


def open_count(session: Session, scope: Scope) -> int:
    """Live cases (open or answered) in the scope: the wall's figure."""
    return int(
        session.scalar(
            select(func.count()).where(
                C.state.in_(("open", "answered")), *scope_where(scope, C.district, C.street, C.grid)
            )
        )
        or 0
    )


def live_in_view(session: Session, level: str, code: str | None) -> int:
    """Live cases (open or answered) of a wall view: the city, a district or a street."""
    w: list[ColumnElement[bool]] = [C.state.in_(("open", "answered"))]
    if level == "district":
        w.append(C.district == code)
    elif level == "street":
        w.append(C.street == code)
    return int(session.scalar(select(func.count()).where(*w)) or 0)


def live_by_place(session: Session) -> list[tuple[str | None, str | None, int]]:
    """Live cases (open or answered) per (district, street): every wall view's count from one read."""
    q = select(C.district, C.street, func.count()).where(C.state.in_(("open", "answered")))
    return [(d, st, int(n)) for d, st, n in session.execute(q.group_by(C.district, C.street))]


def per_unit(
    session: Session, scope: Scope, now: datetime, f: LedgerFilters, zone: Any, names: dict[str, str]
) -> list[dict[str, Any]]:
    """Per handling unit: live, overdue and all cases, most overdue first."""
    live = func.sum(case((C.state.in_(("open", "answered")), 1), else_=0))
    late = func.sum(case((_overdue(now), 1), else_=0))
    rows = session.execute(
        select(C.unit, live, late, func.count()).where(*_where(scope, f, zone)).group_by(C.unit)
    ).all()
    out = [
        {
            "unit": u or "",
            "unit_name": names.get(u or "", u or "—"),
            "live": int(a or 0),
            "overdue": int(b or 0),
            "total": int(n),
        }
        for u, a, b, n in rows
    ]
    return sorted(out, key=lambda r: (-r["overdue"], -r["live"], r["unit"]))


def cases(
    session: Session,
    scope: Scope,
    now: datetime,
    f: LedgerFilters,
    zone: Any,
    names: dict[str, str],
    limit: int = MAX_ROWS,
) -> list[dict[str, Any]]:
    """Cases of the scope matching the filters, newest first, as plain rows."""
    q = select(C).where(*_where(scope, f, zone)).order_by(C.opened_at.desc(), C.id.desc()).limit(limit)
    return [_row(c, now, names) for c in session.scalars(q)]


def case_row(
    session: Session, scope: Scope, case_id: int, now: datetime, names: dict[str, str]
) -> dict[str, Any] | None:
    """One case as a ledger row (None: no such case in the scope)."""
    c = session.get(C, case_id)
    if c is None or not scope.covers(c.district, c.street, c.grid):
        return None
    return _row(c, now, names)


def _row(c: SupervisionCase, now: datetime, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": c.id,
        "appeal": c.appeal,
        "level": c.level,
        "office": c.office,
        "unit": c.unit or "",
        "unit_name": names.get(c.unit or "", c.unit or "—"),
        "district": c.district,
        "street": c.street,
        "grid": c.grid,
        "rule": c.rule,
        "opened_by": c.opened_by,
        "opened_at": c.opened_at,
        "due_at": c.due_at,
        "state": c.state,
        "overdue": is_overdue(c.state, c.due_at, now),
        "closed_at": c.closed_at,
        "raised_to": c.raised_to,
        "reason": c.reason,
    }


def case_actions(session: Session, scope: Scope, case_id: int) -> list[dict[str, Any]] | None:
    """What was done to one case, in order (None: no such case in the scope)."""
    c = session.get(C, case_id)
    if c is None or not scope.covers(c.district, c.street, c.grid):
        return None
    rows = session.scalars(
        select(SupervisionAction)
        .where(SupervisionAction.case_id == case_id)
        .order_by(SupervisionAction.at, SupervisionAction.id)
    )
    return [{"action": a.action, "by": a.by, "at": a.at, "note": a.note} for a in rows]


def case_brief(session: Session, scope: Scope, case_id: int) -> dict[str, Any] | None:
    """A case's appeal, level and state (None: no such case in the scope)."""
    c = session.get(C, case_id)
    if c is None or not scope.covers(c.district, c.street, c.grid):
        return None
    return {"id": c.id, "appeal": c.appeal, "level": c.level, "state": c.state}


def appeal_cases_in(session: Session, scope: Scope, appeal: str, now: datetime) -> list[dict[str, Any]] | None:
    """Every case of one appeal if the appeal is in the scope (None: unknown, or outside it)."""
    a = session.get(Appeal, appeal)
    if a is None or not scope.covers(a.district, a.street, a.grid):
        return None
    return appeal_cases(session, appeal, now)


def appeal_cases(session: Session, appeal: str, now: datetime) -> list[dict[str, Any]]:
    """Every case of one appeal, newest first (the caller has checked the appeal against the scope)."""
    rows = session.scalars(select(C).where(C.appeal == appeal).order_by(C.id.desc()))
    return [
        {
            "id": c.id,
            "level": c.level,
            "state": c.state,
            "due_at": c.due_at,
            "overdue": is_overdue(c.state, c.due_at, now),
            "opened_by": c.opened_by,
            "rule": c.rule,
        }
        for c in rows
    ]


def table(
    session: Session, scope: Scope, now: datetime, f: LedgerFilters, zone: Any, names: dict[str, str]
) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of the ledger for download, under the filters and within the scope."""
    lang = f.lang

    def when(v: datetime | None) -> str:
        return "" if v is None else v.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    keys = (
        "ledger_case",
        "drill_id",
        "ledger_level",
        "ledger_state",
        "ledger_overdue",
        "ledger_unit",
        "district",
        "street",
        "ledger_opened_at",
        "ledger_due_at",
        "ledger_opened_by",
        "ledger_rule",
        "drill_detail",
    )
    head = [t(lang, k) for k in keys]
    body = [
        [
            r["id"],
            r["appeal"],
            r["level"],
            r["state"],
            "1" if r["overdue"] else "0",
            r["unit_name"],
            r["district"],
            r["street"],
            when(r["opened_at"]),
            when(r["due_at"]),
            r["opened_by"],
            r["rule"] or "",
            r["reason"],
        ]
        for r in cases(session, scope, now, f, zone, names, MAX_ROWS)
    ]
    return head, body
