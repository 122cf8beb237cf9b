"""The sender: delivers the outbox's due deliveries, at least once, in order per recipient and channel.

Each recipient has one lane per channel (channel, address); only a lane's head (its oldest waiting delivery)
is sent, so a later message never overtakes an earlier one, and a head waiting for its retry holds its lane.

One pass (`Sender.step`):

1. **Claim** each due head in a short transaction: the head row is locked (`FOR UPDATE SKIP LOCKED` on
   PostgreSQL, so several senders share the work; SQLite has one writer at a time) and set to `sending` with a
   lease (`lease_until` = now + NOTIFY_LEASE_S). When more than NOTIFY_DIGEST_COUNT deliveries of the lane were
   queued within NOTIFY_DIGEST_WINDOW_MIN of the head, they are claimed together as one digest
   (`dashboard.notices.digest_members`); the members keep that batch for every later attempt, so the digest's
   key ("digest:<head key>:<n>") always names the same messages.
2. **Send** outside any transaction (lanes in parallel threads, one call per lane).
3. **Record** the attempt (`notify_attempts`) and its outcome: sent; rate_limited (due again after
   NOTIFY_RATE_LIMIT_S, not counted as a failure); retry (due again after an exponential backoff with jitter,
   `dashboard.notices.retry_delay`); failed after NOTIFY_MAX_FAILURES.

**The at-least-once boundary.** A sender that dies after its claim leaves the rows `sending`; once the lease
has expired, any sender takes them again and sends them with the same idempotency key (and the same digest).
If the first call had reached the channel before the crash (or the answer was lost), the receiver gets the
message twice with one key: the SMS gateway gets it as `key`, e-mail as `X-Notice-Key` and in the
Message-ID, the robots in the text's reference line. Nothing is lost; a repeat is possible only for a call
in flight at a crash, or one slower than the lease.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from dashboard.notices import Item, Waiting, digest, digest_members, full_link, retry_delay
from dashboard.settings import Settings
from data_access.notify.channels import Answer, Channel, Outgoing, make_channels
from data_access.notify.tables import Attempt, Delivery

log = logging.getLogger(__name__)
WAITING = ("pending", "sending")


@dataclass(frozen=True)
class Claim:
    """A lane's head claimed for one call: its rows (one, or a digest's members, oldest first)."""

    head: int
    channel: str
    rows: tuple[Delivery, ...]


class Sender:
    """Claims, sends and records; `step` is one pass, `run` loops until stopped."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        channels: dict[str, Channel] | None = None,
        rng: random.Random | None = None,
        workers: int = 8,
        batch: int = 200,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
        self.channels = make_channels(settings) if channels is None else channels
        self.rng = rng or random.Random()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify-send")
        self.batch = batch
        self.beat = time.monotonic()

    def close(self) -> None:
        """Stop the sending threads."""
        self.pool.shutdown(wait=True)

    def step(self, now: datetime | None = None) -> int:
        """One pass: claim the due heads, send them, record the answers. Returns how many calls were made."""
        now = now or datetime.now(UTC)
        self.beat = time.monotonic()
        claims = [c for head in self._due_heads(now) if (c := self._claim(head, now)) is not None]
        answers = list(self.pool.map(self._call, claims))
        for claim, (answer, ms) in zip(claims, answers, strict=True):
            self._record(claim, answer, ms, now)
        return len(claims)

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until `stop` is set; waits NOTIFY_POLL_S when a pass found nothing to send."""
        while not stop.is_set():
            try:
                busy = self.step()
            except Exception:  # the loop outlives a store outage; the next pass tries again
                log.exception("notification sender: a pass failed")
                busy = 0
            if not busy:
                stop.wait(self.settings.notify_poll_s)
        self.close()

    # -- claim

    def _due_heads(self, now: datetime) -> list[int]:
        """Ids of the lanes' heads that are due: pending and due, or sending with an expired lease."""
        lanes = (
            select(func.min(Delivery.id).label("id"))
            .where(Delivery.state.in_(WAITING), Delivery.channel.in_(list(self.channels)))
            .group_by(Delivery.channel, Delivery.address)
            .subquery()
        )
        due = or_(
            and_(Delivery.state == "pending", Delivery.due_at <= now),
            and_(Delivery.state == "sending", Delivery.lease_until <= now),
        )
        q = select(Delivery.id).join(lanes, lanes.c.id == Delivery.id).where(due).order_by(Delivery.id)
        with self.sessions() as s:
            return list(s.scalars(q.limit(self.batch)))

    def _claim(self, head: int, now: datetime) -> Claim | None:
        """Lease the head (and its digest's members); None when another sender has it or it is no longer due."""
        s = self.settings
        lease = now + timedelta(seconds=s.notify_lease_s)
        try:
            return self._lease(head, now, lease)
        except _Taken:
            return None

    def _lease(self, head: int, now: datetime, lease: datetime) -> Claim | None:
        s = self.settings
        with self.sessions() as session, session.begin():
            row = session.scalars(
                select(Delivery).where(Delivery.id == head).with_for_update(skip_locked=True)
            ).one_or_none()
            if row is None or not _due(row, now):
                return None
            if row.batch is not None:  # a digest formed before keeps its members
                ids = list(session.scalars(select(Delivery.id).where(Delivery.batch == row.batch)))
            elif row.state == "sending":
                ids = [row.id]
            else:
                lane = session.execute(
                    select(Delivery.id, Delivery.created_at)
                    .where(
                        Delivery.channel == row.channel,
                        Delivery.address == row.address,
                        Delivery.state == "pending",
                        Delivery.batch.is_(None),
                        Delivery.id >= row.id,
                    )
                    .order_by(Delivery.id)
                    .limit(max(s.notify_digest_max, s.notify_digest_count + 1))
                ).all()
                window = timedelta(minutes=s.notify_digest_window_min)
                ids = digest_members(
                    [Waiting(i, c) for i, c in lane], s.notify_digest_count, window, s.notify_digest_max
                )
            batch = row.id if len(ids) > 1 else None
            free = or_(Delivery.state == "pending", and_(Delivery.state == "sending", Delivery.lease_until <= now))
            taken = session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), free)
                .values(state="sending", lease_until=lease, batch=batch)
                .returning(Delivery.id)
            ).all()
            if head not in {i for (i,) in taken}:  # another sender was first: undo, leave it
                raise _Taken
            rows = session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)).all()
        return Claim(row.id, row.channel, tuple(rows))

    # -- send

    def _call(self, claim: Claim) -> tuple[Answer, int]:
        """Send a claim on its channel; any error is an answer to retry."""
        started = time.monotonic()
        try:
            answer = self.channels[claim.channel].send(self.outgoing(claim))
        except Exception as exc:  # noqa: BLE001  # no answer (refused, timeout, TLS, a bad file): tried again later
            answer = Answer("retry", f"{type(exc).__name__}: {exc}"[:300])
        return answer, int((time.monotonic() - started) * 1000)

    def outgoing(self, claim: Claim) -> Outgoing:
        """What the channel is given: the message, or the digest of the claim's rows."""
        first = claim.rows[0]
        public = self.settings.public_url
        attachments = tuple(tuple(a) for r in claim.rows for a in json.loads(r.attachments))
        if len(claim.rows) == 1:
            subject, text, link, key = first.subject, first.body, full_link(first.link, public), first.key
        else:
            items = [Item(r.subject, r.body, full_link(r.link, public)) for r in claim.rows]
            subject, text = digest(first.language, first.recipient, items)
            link, key = None, f"digest:{first.key}:{len(claim.rows)}"
        return Outgoing(
            key,
            first.address,
            first.recipient,
            first.language,
            subject,
            text,
            link,
            attachments,
        )

    # -- record

    def _record(self, claim: Claim, answer: Answer, ms: int, now: datetime) -> None:
        """Write the attempt and move the claim's rows to what the answer means."""
        s = self.settings
        head = claim.rows[0]
        ids = [r.id for r in claim.rows]
        values: dict[str, object] = {
            "attempts": Delivery.attempts + 1,
            "last_answer": answer.detail,
            "lease_until": None,
        }
        outcome = answer.outcome
        if outcome == "sent":
            values |= {"state": "sent", "sent_at": now}
        elif outcome == "rate_limited":
            delay = s.notify_rate_limit_s * (1 + self.rng.random() / 2)
            values |= {"state": "pending", "due_at": now + timedelta(seconds=delay)}
        elif head.failures + 1 >= s.notify_max_failures:
            outcome = "failed"
            values |= {"state": "failed", "failures": Delivery.failures + 1}
        else:
            delay = retry_delay(head.failures + 1, s.notify_retry_base_s, s.notify_retry_max_s, self.rng)
            values |= {"state": "pending", "due_at": now + timedelta(seconds=delay), "failures": Delivery.failures + 1}
        with self.sessions() as session, session.begin():
            session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(**values))
            session.add(
                Attempt(
                    delivery=claim.head,
                    channel=claim.channel,
                    at=now,
                    outcome=outcome,
                    answer=answer.detail,
                    duration_ms=ms,
                )
            )
        if outcome != "sent":
            log.warning("notification %s on %s: %s (%s)", head.key, claim.channel, outcome, answer.detail)


class _Taken(Exception):
    """Another sender leased the head between our read and our write."""


def _due(row: Delivery, now: datetime) -> bool:
    if row.state == "pending":
        return row.due_at <= now
    return row.state == "sending" and row.lease_until is not None and row.lease_until <= now


def run_sender(settings: Settings, engine: Engine, stop: threading.Event) -> tuple[threading.Thread, Sender]:
    """Run a sender in a thread of its own (its own connections: it never waits on the ingest's)."""
    sender = Sender(settings, engine)
    thread = threading.Thread(target=sender.run, args=(stop,), name="notify-sender", daemon=True)
    thread.start()
    return thread, sender
