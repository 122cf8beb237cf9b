"""The escalation engine: time moves the lights, and each pass tells the people the ladder names.

A pass at `now` (every ESCALATION_INTERVAL_S, or once with `python app.py escalate --once`):

1. Finds the candidates from indexed ranges since the last pass (`escalation_passes`; the first pass looks
   back ESCALATION_CATCH_UP_H): open appeals whose `yellow_from` or `red_from` fell in (last, now]
   (indexes (is_open, yellow_from, red_from, community) and (is_open, red_from)), whose `due_at` passed
   ESCALATION_OVERDUE_CASE_H ago in that span ((is_open, due_at)), and open appeals returned or reopened often
   enough that have no count-opened case yet nor a live case (a partial index of the few returned or
   reopened open appeals). Lights change with no event arriving, so time alone makes candidates.
2. Per batch of ESCALATION_BATCH candidates, in ONE transaction: reads their rows, the steps fired before,
   their live cases and whether their grids have a member online (data_access.intake.presence's table);
   asks the ladder (dashboard.escalation.due_steps); records each step in `escalation_steps` (ON CONFLICT DO
   NOTHING: the key (appeal, step, unit, situation) lets one process record it, once); for each step it
   recorded, opens the case the step orders and queues its messages through the outbox
   (data_access.notify.outbox.queue). A step, its case and its messages commit together or not at all.
3. Raises cases still open ESCALATION_RAISE_AFTER_H after opening to the city level (each in its own
   transaction; `raise_case` claims the case, so two processes raise it once) and tells the city's office.
4. Moves its position (`escalation_passes`) to `now`.

Several processes: on PostgreSQL a pass runs under an advisory lock (another process's pass in progress: this
one is skipped); on any store the steps' key keeps two processes from recording one step twice, and a message
is queued only with the step that recorded it (and the outbox's key refuses a repeat).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, and_, exists, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from dashboard import escalation as ladder_rules
from dashboard.escalation import RAISE, RULE, Facts, Firing, Ladder, due_steps, message, raise_due
from dashboard.notices import Notice, Recipient
from dashboard.settings import Settings
from data_access.notify.outbox import queue
from data_access.store.lights import is_open
from data_access.store.locks import lock_key
from data_access.store.models import Appeal, EscalationPass, EscalationStep, Member, Presence, SupervisionCase
from data_access.supervision.cases import LIVE_STATES, open_case, raise_case
from geo.contacts import CITY_CODE, Roster
from geo.model import City

log = logging.getLogger(__name__)

#: PostgreSQL advisory lock of a pass (through `lock_key`: the store's own in its database).
ESCALATION_LOCK = 0x6170_657363  # "apesc"
PASS_NAME = "engine"
#: Member states that count as online (as the wall counts them: data_access.wall.live_panels.PRESENT).
ONLINE = ("on_duty", "busy", "sos")
#: The partial index of open appeals returned or reopened at least once (migration 0015): the count
#: candidates' query repeats its condition word for word, so SQLite uses it too.
COUNTED = {
    "postgresql": "appeals.is_open AND (appeals.return_count > 0 OR appeals.reopen_count > 0)",
    "sqlite": "appeals.is_open = 1 AND (appeals.return_count > 0 OR appeals.reopen_count > 0)",
}
KIND = "escalation"


class RosterSource(Protocol):
    """Where the engine reads the roster before each batch (geo.contacts.RosterFile or FixedRoster)."""

    def current(self) -> Roster: ...


@dataclass
class PassResult:
    """What a pass did."""

    now: datetime
    since: datetime | None = None
    skipped: bool = False  # another process's pass held the lock
    candidates: int = 0
    fired: int = 0
    queued: int = 0
    cases: int = 0
    raised: int = 0
    unreached: list[tuple[str, str, str]] = field(default_factory=list)  # duties nobody in the roster answers
    seconds: float = 0.0


_COLUMNS = (
    Appeal.id,
    Appeal.is_open,
    Appeal.unit,
    Appeal.district,
    Appeal.street,
    Appeal.grid,
    Appeal.clock_start,
    Appeal.extension_count,
    Appeal.yellow_from,
    Appeal.red_from,
    Appeal.due_at,
    Appeal.return_count,
    Appeal.reopen_count,
    Appeal.cat1,
    Appeal.cat2,
)


class Escalator:
    """Runs passes of the ladder over a store."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        city: City,
        roster: RosterSource,
        ladder: Ladder | None = None,
    ) -> None:
        """`roster` is read before each batch, so a change of the file applies to the next message."""
        self.settings = settings
        self.sessions = sessions
        self.roster = roster
        self.ladder = ladder or ladder_rules.ladder_of(settings)
        self.unit_kind = dict(zip(city.units["code"], city.units["kind"]))
        self.names: dict[str, str] = {}
        for frame in (city.districts, city.streets, city.grids):
            self.names.update(zip(frame["code"], frame["name"]))
        self.status: dict[str, Any] = {"last_pass": None, "last_error": None, "passes": 0}
        self._case_steps = tuple(s.name for s in self.ladder.steps if s.trigger == "case")

    # --- a pass ---------------------------------------------------------------------------------------------

    def run_pass(self, now: datetime | None = None) -> PassResult:
        """One pass at `now` (default: the clock). See the module's docstring."""
        started = time.perf_counter()
        now = now or datetime.now(UTC)
        result = PassResult(now=now)
        engine = self.sessions.kw["bind"]
        with engine.connect() as guard:  # holds one database connection, and so the session-level lock, throughout
            pg = guard.dialect.name == "postgresql"
            if pg:
                key = lock_key(guard, ESCALATION_LOCK)
                got = guard.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar()
                guard.commit()
                if not got:
                    result.skipped = True
                    return result
            try:
                self._pass(now, result)
            finally:
                if pg:
                    guard.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                    guard.commit()
        result.seconds = time.perf_counter() - started
        self.status.update(last_pass=now.isoformat(), passes=self.status["passes"] + 1, last_error=None)
        return result

    def _pass(self, now: datetime, result: PassResult) -> None:
        with self.sessions() as s:
            last = s.scalar(select(EscalationPass.passed_at).where(EscalationPass.name == PASS_NAME))
            since = min(last or now - timedelta(hours=self.settings.escalation_catch_up_h), now)
            result.since = since
            ids = self._candidates(s, since, now)
        result.candidates = len(ids)
        batch = self.settings.escalation_batch
        for i in range(0, len(ids), batch):
            with self.sessions() as s, s.begin():
                self._batch(s, ids[i : i + batch], now, result)
        self._raise_cases(now, result)
        with self.sessions() as s, s.begin():
            _upsert_position(s.connection(), now)

    def _candidates(self, s: Session, since: datetime, now: datetime) -> list[str]:
        """Ids of the appeals that may have a step due: crossings in (since, now], and count triggers not yet
        answered by a case."""
        overdue = self.ladder.overdue_case
        ranges = [
            and_(is_open(), Appeal.yellow_from > since, Appeal.yellow_from <= now, Appeal.red_from > now),
            and_(is_open(), Appeal.red_from > since, Appeal.red_from <= now),
            and_(is_open(), Appeal.due_at > since - overdue, Appeal.due_at <= now - overdue),
        ]
        found: set[str] = set()
        for where in ranges:
            found.update(s.scalars(select(Appeal.id).where(where)))
        if self._case_steps:
            dialect = s.get_bind().dialect.name
            count_opened = exists().where(
                EscalationStep.appeal == Appeal.id,
                EscalationStep.step.in_(self._case_steps),
                EscalationStep.unit == "",
                EscalationStep.armed_by.in_(("returned", "reopened")),
            )
            live = exists().where(SupervisionCase.appeal == Appeal.id, SupervisionCase.state.in_(LIVE_STATES))
            q = select(Appeal.id).where(
                text(COUNTED.get(dialect, COUNTED["postgresql"])),
                or_(
                    Appeal.return_count >= self.ladder.returns_case,
                    Appeal.reopen_count >= self.ladder.reopens_case,
                ),
                ~count_opened,
                ~live,
            )
            found.update(s.scalars(q))
        return sorted(found)

    def _batch(self, s: Session, ids: Sequence[str], now: datetime, result: PassResult) -> None:
        rows = s.execute(select(*_COLUMNS).where(Appeal.id.in_(ids))).all()
        fired: dict[str, set[tuple[str, str, str]]] = {}
        for appeal, step, unit, armed in s.execute(
            select(EscalationStep.appeal, EscalationStep.step, EscalationStep.unit, EscalationStep.armed_by).where(
                EscalationStep.appeal.in_(ids)
            )
        ):
            fired.setdefault(appeal, set()).add((step, unit, armed))
        live = set(
            s.scalars(
                select(SupervisionCase.appeal).where(
                    SupervisionCase.appeal.in_(ids), SupervisionCase.state.in_(LIVE_STATES)
                )
            )
        )
        grids = {r.grid for r in rows if r.grid and r.red_from <= now}
        online = self._online_grids(s, grids, now)
        roster = self.roster.current()
        conn = s.connection()
        notices: list[Notice] = []
        for r in rows:
            facts = self._facts(r, live, online)
            for firing in due_steps(facts, now, fired.get(r.id, ()), self.ladder):
                if not _record_step(conn, firing, now):
                    continue  # another process recorded it first: its messages are its own
                result.fired += 1
                reason = None
                if firing.case is not None:
                    reason = firing.case.reason
                    open_case(
                        s,
                        appeal={"id": r.id, "district": r.district, "street": r.street, "grid": r.grid, "unit": r.unit},
                        level=firing.case.level,
                        office=firing.case.office,
                        rule=firing.step,
                        opened_by=RULE,
                        now=now,
                        due_at=firing.case.due_at,
                        reason=reason,
                    )
                    result.cases += 1
                notices.extend(self._notices(firing, facts, now, roster, reason, result))
        if notices:
            result.queued += queue(conn, notices, self.settings, now)

    def _facts(self, r: Any, live: set[str], online: set[str]) -> Facts:
        return Facts(
            id=r.id,
            is_open=bool(r.is_open),
            unit=r.unit,
            unit_kind=self.unit_kind.get(r.unit) if r.unit else None,
            district=r.district,
            street=r.street,
            grid=r.grid,
            clock_start=r.clock_start,
            extension_count=r.extension_count,
            yellow_from=r.yellow_from,
            red_from=r.red_from,
            due_at=r.due_at,
            return_count=r.return_count,
            reopen_count=r.reopen_count,
            members_online=(r.grid in online) if r.grid else None,
            has_live_case=r.id in live,
            category=" / ".join(c for c in (r.cat1, r.cat2) if c),
            place=ladder_rules.place_name(self.names, r.district, r.street, r.grid),
        )

    def _online_grids(self, s: Session, grids: Iterable[str], now: datetime) -> set[str]:
        """The grids (of `grids`) with a member online at `now`: a fresh heartbeat in an online state."""
        wanted = sorted(grids)
        if not wanted:
            return set()
        cutoff = now - timedelta(seconds=self.settings.presence_window_s)
        q = (
            select(Member.grid)
            .join(Presence, Presence.member == Member.id)
            .where(Member.grid.in_(wanted), Presence.state.in_(ONLINE), Presence.at >= cutoff)
            .distinct()
        )
        return set(s.scalars(q))

    def _notices(
        self,
        firing: Firing | None,
        facts: Facts,
        now: datetime,
        roster: Roster,
        reason: str | None,
        result: PassResult,
        *,
        step: str | None = None,
        duties: Sequence[tuple[str, str, str]] | None = None,
        situation: str = "",
    ) -> list[Notice]:
        """One notice per person answering for each duty of the step (nobody listed: noted in `unreached`)."""
        step = step or (firing.step if firing else RAISE)
        duties = duties if duties is not None else (firing.recipients if firing else ())
        armed = firing.armed_by if firing else situation
        unit = firing.unit if firing else ""
        out = []
        for duty in duties:
            people = roster.of(duty)
            if not people:
                result.unreached.append(duty)
                log.warning("escalation: %s of appeal %s: nobody in the roster for %s", step, facts.id, duty)
            for person in people:
                out.append(self._notice(step, facts, now, person, duty, reason, unit, armed))
        return out

    def _notice(
        self,
        step: str,
        facts: Facts,
        now: datetime,
        person: Recipient,
        duty: tuple[str, str, str],
        reason: str | None,
        unit: str,
        armed: str,
    ) -> Notice:
        msg = message(step, facts, now, person.language, self.settings.zone, self.settings.public_url, reason)
        who = "\x1f".join((unit, armed, *duty, person.name))
        digest = hashlib.blake2b(who.encode(), digest_size=12).hexdigest()
        return Notice(
            key=f"esc:{facts.id}:{step}:{digest}",
            recipient=person,
            subject=msg.title,
            text=msg.body,
            link=ladder_rules.appeal_link(facts.id),
            kind=KIND,
            appeal=facts.id,
            district=facts.district,
            street=facts.street,
            grid=facts.grid,
        )

    # --- raising cases ----------------------------------------------------------------------------------------

    def _raise_cases(self, now: datetime, result: PassResult) -> None:
        """Raise to the city level the cases still live `raise_after` after opening (appeal still open)."""
        cutoff = now - self.ladder.raise_after
        with self.sessions() as s:
            due = s.execute(
                select(SupervisionCase.id, SupervisionCase.level, SupervisionCase.state, SupervisionCase.opened_at)
                .where(
                    SupervisionCase.state.in_(LIVE_STATES),
                    SupervisionCase.level != "city",
                    SupervisionCase.opened_at <= cutoff,
                )
                .order_by(SupervisionCase.id)
            ).all()
        for case_id, level, state, opened_at in due:
            with self.sessions() as s, s.begin():
                case = s.get(SupervisionCase, case_id)
                if case is None:
                    continue
                row = s.execute(select(*_COLUMNS).where(Appeal.id == case.appeal)).first()
                appeal_open = bool(row and row.is_open)
                if not raise_due(
                    level=level, state=state, opened_at=opened_at, appeal_open=appeal_open, now=now, ladder=self.ladder
                ):
                    continue
                try:
                    new_id = raise_case(s, case_id, now=now, by=RULE)
                except ValueError:
                    s.rollback()  # raised or closed by another process meanwhile
                    continue
                result.raised += 1
                assert row is not None
                facts = self._facts(row, set(), set())
                duty = ("city", CITY_CODE, "supervision_office")
                notices = self._notices(
                    None,
                    facts,
                    now,
                    self.roster.current(),
                    None,
                    result,
                    step=RAISE,
                    duties=(duty,),
                    situation=f"case-{new_id}",
                )
                if notices:
                    result.queued += queue(s.connection(), notices, self.settings, now)

    # --- the loop ---------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Pass every ESCALATION_INTERVAL_S until `stop` is set; an error is logged and the next pass tries again."""
        interval = self.settings.escalation_interval_s
        while not stop.is_set():
            try:
                r = self.run_pass()
                if r.fired or r.raised:
                    log.info(
                        "escalation: %d step(s), %d case(s) opened, %d raised, %d message(s) queued in %.0f ms",
                        r.fired,
                        r.cases,
                        r.raised,
                        r.queued,
                        r.seconds * 1000,
                    )
            except Exception as exc:
                self.status["last_error"] = f"{type(exc).__name__}: {exc}"
                log.exception("escalation pass failed; trying again in %g s", interval)
            stop.wait(interval)


def _record_step(conn: Connection, firing: Firing, now: datetime) -> bool:
    """Record a fired step; False if it was recorded before (by this or another process)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(EscalationStep)
        .values(appeal=firing.appeal, step=firing.step, unit=firing.unit, armed_by=firing.armed_by, fired_at=now)
        .on_conflict_do_nothing()
        .returning(EscalationStep.appeal)
    )
    return conn.execute(stmt).first() is not None


def _upsert_position(conn: Connection, now: datetime) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(EscalationPass).values(name=PASS_NAME, passed_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"passed_at": now}))
