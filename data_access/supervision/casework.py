"""Supervision cases taken in hand from the screens: open (督办), chase (催办), answer, close and note.

Each function writes in the caller's transaction: the action's row in `supervision_actions`, the case's new state
and, for a chase, the reminders queued in the outbox commit together or not at all. The scope is checked here too,
from the scope the caller passes (the signed-in identity's, never a request's inputs): an appeal outside it is
answered like an unknown one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.i18n import t
from dashboard.notices import Notice, Recipient
from dashboard.scopes import Scope
from dashboard.settings import Settings
from dashboard.supervision import LIVE, CaseRefused, CaseView, check, clean_note, due_at, level_for
from data_access.notify.outbox import queue
from data_access.store.models import Appeal, SupervisionCase
from data_access.supervision.cases import open_case, record_action

#: The handling unit's contacts for a chase (the roster's lookup): (session, unit code) -> recipients.
Contacts = Callable[[Session, str], list[Recipient]]


class NotInScope(LookupError):
    """No such appeal or case for this scope (the same answer for both: nothing of it is told)."""


@dataclass(frozen=True)
class Outcome:
    """What an action did: the i18n key of its message and the message's fields."""

    key: str
    fields: dict[str, Any] = field(default_factory=dict)


def _appeal(session: Session, appeal_id: str, scope: Scope) -> Appeal:
    a = session.get(Appeal, appeal_id) if isinstance(appeal_id, str) and appeal_id else None
    if a is None or not scope.covers(a.district, a.street, a.grid):
        raise NotInScope(f"appeal {appeal_id!r} not in {scope.describe()}")
    return a


def live_case(session: Session, appeal_id: str) -> SupervisionCase | None:
    """The appeal's live case (open or answered), the newest if there were ever two."""
    return session.scalars(
        select(SupervisionCase)
        .where(SupervisionCase.appeal == appeal_id, SupervisionCase.state.in_(LIVE))
        .order_by(SupervisionCase.id.desc())
        .limit(1)
    ).first()


def _view(case: SupervisionCase | None) -> CaseView | None:
    return None if case is None else CaseView(case.level, case.state)


def office_of(scope: Scope) -> str:
    """The office a user's case is opened at: their district or street, or the city."""
    return scope.district or scope.street or "city"


def preview(session: Session, appeal_id: str, scope: Scope, action: str) -> dict[str, Any]:
    """What a confirmation says before an action on an appeal (its id, the level a new case would have);
    raises NotInScope or CaseRefused."""
    a = _appeal(session, appeal_id, scope)
    check(action, scope.role, _view(live_case(session, a.id)))
    return {"appeal": a.id, "level": level_for(scope.role) if action == "open" else None, "unit": a.unit}


def open_by_hand(session: Session, appeal_id: str, user: str, scope: Scope, now: datetime, reason: str = "") -> Outcome:
    """Open a case on the appeal at the user's own level and office (refused if it has a live case).

    The check reads before the write, so two users pressing 督办 at once may both pass it: the store's unique
    index of live cases per appeal (uq_supervision_cases_live_appeal) then refuses the second insert, which waits
    for the first to commit. That insert runs under a savepoint, so the refusal leaves the caller's transaction
    usable."""
    a = _appeal(session, appeal_id, scope)
    check("open", scope.role, _view(live_case(session, a.id)))
    level = level_for(scope.role)
    due = due_at(level, now)
    try:
        with session.begin_nested():
            case_id = open_case(
                session,
                appeal=a,
                level=level,
                office=office_of(scope),
                rule=None,
                opened_by=user,
                now=now,
                due_at=due,
                reason=clean_note(reason),
            )
    except IntegrityError:  # another user's case on this appeal committed first
        raise CaseRefused("case_already_open") from None
    return Outcome("case_opened", {"case": case_id, "due": due})


def chase(
    session: Session,
    appeal_id: str,
    user: str,
    scope: Scope,
    now: datetime,
    settings: Settings,
    contacts: Contacts,
    lang: str = "zh",
) -> Outcome:
    """Record a chase and queue a reminder to each of the handling unit's contacts (in this transaction)."""
    a = _appeal(session, appeal_id, scope)
    live = live_case(session, a.id)
    check("chase", scope.role, _view(live))
    if not a.unit:
        raise CaseRefused("case_no_unit")
    action_id = record_action(
        session, appeal=a.id, action="chase", by=user, at=now, note="", case_id=live.id if live else None
    )
    notices = [
        Notice(
            key=f"chase:{a.id}:{action_id}:{i}",
            recipient=r,
            subject=t(r.language, "chase_subject", appeal=a.id),
            text=t(r.language, "chase_text", appeal=a.id, who=user, due=a.due_at.isoformat() if a.due_at else "-"),
            link=f"/area/a/{a.id}",
            kind="chase",
            appeal=a.id,
            district=a.district,
            street=a.street,
            grid=a.grid,
        )
        for i, r in enumerate(contacts(session, a.unit))
    ]
    n = queue(session.connection(), notices, settings, now) if notices else 0
    return Outcome("case_chased" if notices else "case_chased_none", {"n": n, "recipients": len(notices)})


def act(session: Session, case_id: int, action: str, user: str, scope: Scope, now: datetime, note: str = "") -> Outcome:
    """Answer, close or note a case of an appeal in the scope."""
    case = session.get(SupervisionCase, case_id) if isinstance(case_id, int) else None
    if case is None:
        raise NotInScope(f"no case {case_id!r}")
    _appeal(session, case.appeal, scope)
    if not scope.covers(case.district, case.street, case.grid):
        raise NotInScope(f"case {case_id} not in {scope.describe()}")
    if action not in ("answer", "close", "note"):
        raise CaseRefused("case_bad_action")
    to = check(action, scope.role, _view(case))
    words = clean_note(note)
    if action == "note" and not words:
        raise CaseRefused("case_note_empty")
    if to is not None:
        done = cast(
            CursorResult[Any],
            session.execute(
                update(SupervisionCase)
                .where(SupervisionCase.id == case.id, SupervisionCase.state == case.state)
                .values(state=to, **({"closed_at": now} if to == "closed" else {}))
            ),
        ).rowcount
        if done != 1:  # another user moved it meanwhile
            raise CaseRefused("case_wrong_state")
    record_action(session, appeal=case.appeal, action=action, by=user, at=now, note=words, case_id=case.id)
    return Outcome("case_noted" if to is None else "case_done", {"case": case.id, "state": to})
