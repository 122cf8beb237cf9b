"""Reading the outbox back: each channel's state (for /healthz and the wall's chip) and the deliveries of a scope
(for /api/v1/notifications)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.calendar import iso
from dashboard.notices import enabled_channels
from dashboard.scopes import Scope
from dashboard.settings import Settings
from data_access.drill.queries import scope_where
from data_access.notify.tables import Attempt, Delivery

#: Outcomes of a last attempt that make a channel failing (a rate limit is the channel working as designed).
FAILING = ("retry", "failed")


def channel_report(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """Per enabled channel: waiting deliveries, how long the oldest due one has waited, the last attempt and
    its answer, the last delivery, and `failing` (its last attempt failed). `ok` is false when one is failing;
    with no channel on, `ok` stays true and `note` says that messages are recorded, not sent."""
    channels = enabled_channels(settings)
    report: dict[str, Any] = {"ok": True, "channels": {}}
    if not channels:
        report["note"] = "no notification channel is on (NOTIFY_* settings): messages are recorded, not sent"
        return report
    waiting = dict(
        session.execute(
            select(Delivery.channel, func.count())
            .where(Delivery.state.in_(("pending", "sending")))
            .group_by(Delivery.channel)
        ).all()
    )
    oldest_due = dict(
        session.execute(
            select(Delivery.channel, func.min(Delivery.due_at))
            .where(Delivery.state.in_(("pending", "sending")), Delivery.due_at <= now)
            .group_by(Delivery.channel)
        ).all()
    )
    for channel in channels:
        last = session.execute(
            select(Attempt.outcome, Attempt.at, Attempt.answer)
            .where(Attempt.channel == channel)
            .order_by(Attempt.id.desc())
            .limit(1)
        ).first()
        last_sent = session.scalar(
            select(func.max(Attempt.at)).where(Attempt.channel == channel, Attempt.outcome == "sent")
        )
        due = oldest_due.get(channel)
        failing = last is not None and last.outcome in FAILING
        report["channels"][channel] = {
            "failing": failing,
            "waiting": waiting.get(channel, 0),
            "oldest_due_s": round((now - due).total_seconds(), 1) if due else None,
            "last_attempt": {"outcome": last.outcome, "at": iso(last.at, settings), "answer": last.answer}
            if last
            else None,
            "last_sent_at": iso(last_sent, settings),
        }
        report["ok"] = report["ok"] and not failing
    return report


def failing_channels(report: dict[str, Any]) -> list[str]:
    """The channels of a `channel_report` whose last attempt failed."""
    return [name for name, c in report.get("channels", {}).items() if c["failing"]]


def deliveries(
    session: Session,
    scope: Scope,
    settings: Settings,
    district: str | None = None,
    appeal: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The newest deliveries inside `scope` (narrowed to a district or an appeal): what was sent, to whom, on
    which channel, delivered or not. Rows outside the scope never leave the store, so an address shown is one
    the scope may see."""
    q = select(Delivery).where(*scope_where(scope, Delivery.district, Delivery.street, Delivery.grid))
    if district:
        q = q.where(Delivery.district == district)
    if appeal:
        q = q.where(Delivery.appeal == appeal)
    rows = session.scalars(q.order_by(Delivery.id.desc()).limit(limit)).all()
    return [
        {
            "key": d.key,
            "kind": d.kind,
            "channel": d.channel,
            "recipient": d.recipient,
            "role": d.role,
            "address": d.address,
            "subject": d.subject,
            "appeal": d.appeal,
            "district": d.district,
            "street": d.street,
            "grid": d.grid,
            "state": d.state,
            "delivered": d.state == "sent",
            "digest": d.batch is not None,
            "attempts": d.attempts,
            "last_answer": d.last_answer,
            "queued_at": iso(d.created_at, settings),
            "sent_at": iso(d.sent_at, settings),
        }
        for d in rows
    ]


def appeal_outside(session: Session, scope: Scope, appeal: str) -> bool:
    """Whether `appeal` has deliveries and none of them is inside `scope` (a request for it is refused)."""
    rows = session.execute(
        select(Delivery.district, Delivery.street, Delivery.grid).where(Delivery.appeal == appeal).limit(50)
    ).all()
    return bool(rows) and not any(scope.covers(d, s, g) for d, s, g in rows)
