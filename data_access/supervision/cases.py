"""Supervision cases (督办件) in the store: open one, raise one to the city level, record what was done.

Every function writes in the caller's transaction (`conn`: a Connection or a Session inside `begin()`), so a
ladder step, the case it opens and the messages it queues commit together or not at all. Each action on a
case is one row of `supervision_actions` (who, when, what). Cases opened by the ladder have `opened_by`
"rule" and `rule` the step's name; cases opened by hand have the user's name and `rule` NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, insert, select, update
from sqlalchemy.orm import Session

from data_access.store.models import SupervisionAction, SupervisionCase

LEVELS = ("street", "district", "city")
STATES = ("open", "answered", "closed", "raised")
ACTIONS = ("open", "chase", "answer", "close", "raise", "note")
#: A case in one of these states is still followed (can be answered, closed or raised).
LIVE_STATES = ("open", "answered")
#: Who a rule's action is recorded as.
RULE = "rule"
#: The office of city-level cases.
CITY_OFFICE = "city"

_PLACE = ("district", "street", "grid", "unit")


def _field(appeal: Mapping[str, Any] | Any, name: str) -> Any:
    if isinstance(appeal, Mapping):
        return appeal.get(name)
    return getattr(appeal, name, None)


def record_action(
    conn: Connection | Session,
    *,
    appeal: str,
    action: str,
    by: str,
    at: datetime,
    note: str = "",
    case_id: int | None = None,
) -> int:
    """Record one action (open, chase, answer, close, raise, note) on an appeal's case (`case_id` None: a chase
    without a case); returns the action's id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown supervision action {action!r} (one of {', '.join(ACTIONS)})")
    row = conn.execute(
        insert(SupervisionAction)
        .values(case_id=case_id, appeal=appeal, action=action, by=by, at=at, note=note)
        .returning(SupervisionAction.id)
    ).scalar_one()
    return int(row)


def open_case(
    conn: Connection | Session,
    *,
    appeal: Mapping[str, Any] | Any,
    level: str,
    office: str,
    rule: str | None,
    opened_by: str,
    now: datetime,
    due_at: datetime,
    reason: str,
) -> int:
    """Open a case on `appeal` (an appeals row, or a mapping with `id` or `appeal` and the place: district,
    street, grid, unit) at `office` of `level`; records the "open" action. Returns the case's id."""
    if level not in LEVELS:
        raise ValueError(f"unknown supervision level {level!r} (one of {', '.join(LEVELS)})")
    appeal_id = _field(appeal, "appeal") or _field(appeal, "id")
    if not appeal_id:
        raise ValueError("a supervision case needs its appeal's id")
    case_id = int(
        conn.execute(
            insert(SupervisionCase)
            .values(
                appeal=str(appeal_id),
                level=level,
                office=office,
                rule=rule,
                opened_by=opened_by,
                opened_at=now,
                due_at=due_at,
                state="open",
                reason=reason,
                **{k: _field(appeal, k) for k in _PLACE},
            )
            .returning(SupervisionCase.id)
        ).scalar_one()
    )
    record_action(conn, appeal=str(appeal_id), action="open", by=opened_by, at=now, note=reason, case_id=case_id)
    return case_id


def raise_case(
    conn: Connection | Session,
    case_id: int,
    *,
    now: datetime,
    by: str,
    due_at: datetime | None = None,
    reason: str = "",
) -> int:
    """Raise a live case to the city level: a new city case on the same appeal (due `due_at`, by default as long
    after `now` as the old case had), the old one marked raised with `raised_to`. Returns the new case's id.

    Raising a case that is no longer live (closed, or raised by another process meanwhile) raises ValueError,
    so two processes never open two city cases for one."""
    old = conn.execute(select(SupervisionCase).where(SupervisionCase.id == case_id)).scalar_one_or_none()
    if old is None:
        raise ValueError(f"no supervision case {case_id}")
    # Claim the old case first: the state condition makes a concurrent second raise find nothing to update.
    claimed = cast(
        "CursorResult[Any]",
        conn.execute(
            update(SupervisionCase)
            .where(SupervisionCase.id == case_id, SupervisionCase.state.in_(LIVE_STATES))
            .values(state="raised")
        ),
    ).rowcount
    if claimed != 1:
        raise ValueError(f"supervision case {case_id} is {old.state}, not open: it cannot be raised")
    span: timedelta = old.due_at - old.opened_at
    new_id = open_case(
        conn,
        appeal={"appeal": old.appeal, **{k: getattr(old, k) for k in _PLACE}},
        level="city",
        office=CITY_OFFICE,
        rule=old.rule if by == RULE else None,
        opened_by=by,
        now=now,
        due_at=due_at or now + span,
        reason=reason or old.reason,
    )
    conn.execute(update(SupervisionCase).where(SupervisionCase.id == case_id).values(raised_to=new_id))
    record_action(conn, appeal=old.appeal, action="raise", by=by, at=now, note=reason, case_id=case_id)
    return new_id
