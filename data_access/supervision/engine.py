"""The escalation engine: time moves the lights, and each pass tells the people the ladder names.

A pass at `now` (every ESCALATION_INTERVAL_S, or once with `python app.py escalate --once`) holds one database
connection throughout (on PostgreSQL its reads run in autocommit: one round trip each, no BEGIN/COMMIT):

1. Reads its position (`escalation_passes`; the first pass looks back ESCALATION_CATCH_UP_H), then in ONE
   statement the candidates: open appeals whose `yellow_from` or `red_from` fell in (last, now] (indexes
   (is_open, yellow_from, red_from, community) and (is_open, red_from)), whose `due_at` passed
   ESCALATION_OVERDUE_CASE_H ago in that span ((is_open, due_at)), open appeals returned or reopened often enough
   that have no count-opened case yet nor a live case (a partial index of the few returned or reopened open
   appeals), and the live cases opened ESCALATION_RAISE_AFTER_H ago or more. Lights change with no event
   arriving, so time alone makes candidates.
2. Raises those cases to the city level when `raise_due` says so (each in its own transaction; `raise_case`
   claims the case, so two processes raise it once) and tells the city's office.
3. Per batch of ESCALATION_BATCH candidates: ONE statement reads their rows with the steps fired before, whether
   each has a live case and whether the grid of a red one has a member online (data_access.intake.presence's
   table); the ladder (dashboard.escalation.due_steps) says what is due; then, only if something is, ONE
   transaction records the steps in `escalation_steps` (one INSERT ... ON CONFLICT DO NOTHING: the key (appeal,
   step, unit, situation) lets one process record it, once), opens the cases the recorded steps order (the store
   holds one live case per appeal: a case opened by hand meanwhile stands) and queues their messages through the
   outbox (data_access.notify.outbox.queue). A step, its case and its messages commit together or not at all.
4. Moves its position to `now` (in the last batch's transaction).

A steady pass with something due thus makes about ten round trips (pre-ping, lock, position, candidates, batch,
BEGIN, steps, outbox, position, COMMIT, unlock); one with nothing due, six.

Several processes: on PostgreSQL a pass runs under an advisory lock (another process's pass in progress: this
one is skipped); on any store the steps' key keeps two processes from recording one step twice, and a message
is queued only with the step that recorded it (and the outbox's key refuses a repeat).

`status` (EngineStatus) and `escalation_report` are what /healthz shows of the engine.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, String, and_, bindparam, case, cast, exists, literal, select, text, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dashboard import escalation as ladder_rules
from dashboard.calendar import iso
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
#: Open appeals returned or reopened often enough, with no case opened for their counts yet nor a live case. The
#: partial index ix_appeals_open_counted (migration 0015) holds the few open appeals returned or reopened at all;
#: the query repeats its condition word for word, and on SQLite names it (its planner would rather walk every open
#: appeal through an index that starts with is_open).
INDEXED_BY = "INDEXED BY ix_appeals_open_counted"
COUNT_CANDIDATES = """
SELECT a.id FROM appeals AS a {indexed_by}
WHERE {is_open} AND (a.return_count > 0 OR a.reopen_count > 0)
  AND (a.return_count >= :returns OR a.reopen_count >= :reopens)
  AND NOT EXISTS (
    SELECT 1 FROM escalation_steps AS e
    WHERE e.appeal = a.id AND e.step IN :steps AND e.unit = '' AND e.armed_by IN ('returned', 'reopened'))
  AND NOT EXISTS (SELECT 1 FROM supervision_cases AS c WHERE c.appeal = a.id AND c.state IN :live)
"""
KIND = "escalation"
#: The store's position further behind the clock than this many ESCALATION_INTERVAL_S: /healthz calls the engine
#: stalled (at the default 15 s that is 60 s, when a crossing would no longer be queued within the ladder's 60 s).
STALL_INTERVALS = 4
#: The kinds of the candidates' rows: an appeal that may have a step due, a case that may be raised.
APPEAL, CASE = "a", "c"


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


@dataclass
class EngineStatus:
    """What this process's engine tells /healthz (data_access.ops.health) and the logs."""

    passes: int = 0  # passes run, skipped ones included
    skipped: int = 0  # passes skipped: another process's pass held the lock
    failures: int = 0
    last_pass: datetime | None = None  # the `now` of the last pass that ended without an error
    last_pass_ms: float | None = None
    last_error: str = ""  # the last failed pass's error, until a pass succeeds again
    last_error_at: datetime | None = None

    def passed(self, r: PassResult) -> None:
        """Note a pass that ended without an error."""
        self.passes += 1
        self.skipped += r.skipped
        self.last_pass, self.last_pass_ms, self.last_error = r.now, round(r.seconds * 1000, 1), ""

    def failed(self, now: datetime, exc: BaseException) -> None:
        """Note a pass that failed."""
        self.failures += 1
        self.last_error, self.last_error_at = f"{type(exc).__name__}: {exc}"[:300], now


def escalation_report(session: Session, status: EngineStatus, settings: Settings, now: datetime) -> dict[str, Any]:
    """The engine's part of /healthz: this process's passes and last error, and the store's position (moved by
    whichever process passes) with its lag behind `now`. Not ok while the last pass failed or the lag is more
    than STALL_INTERVALS intervals (`stalled`)."""
    position = session.scalar(select(EscalationPass.passed_at).where(EscalationPass.name == PASS_NAME))
    lag = None if position is None else round((now - position).total_seconds(), 1)
    stalled = lag is not None and lag > STALL_INTERVALS * settings.escalation_interval_s
    return {
        "ok": not status.last_error and not stalled,
        "passes": status.passes,
        "skipped": status.skipped,
        "failures": status.failures,
        "last_pass_at": iso(status.last_pass, settings),
        "last_pass_ms": status.last_pass_ms,
        "last_error": status.last_error or None,
        "last_error_at": iso(status.last_error_at, settings),
        "position": iso(position, settings),
        "lag_s": lag,
        "stalled": stalled,
    }


class _Candidate(NamedTuple):
    """An appeal of a batch as read: its row, whether it has a live case, whether its grid has a member online
    (None: not asked, as it is not red or has no grid), the (step, unit, armed_by) of the steps fired before."""

    row: Any
    live: bool
    online: bool | None
    fired: set[tuple[str, str, str]]


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
        self.status = EngineStatus()
        self._case_steps = tuple(s.name for s in self.ladder.steps if s.trigger == "case")

    # --- a pass ---------------------------------------------------------------------------------------------

    def run_pass(self, now: datetime | None = None) -> PassResult:
        """One pass at `now` (default: the clock). See the module's docstring."""
        started = time.perf_counter()
        now = now or datetime.now(UTC)
        result = PassResult(now=now)
        try:
            self._locked_pass(now, result)
        except Exception as exc:
            self.status.failed(now, exc)
            raise
        result.seconds = time.perf_counter() - started
        self.status.passed(result)
        return result

    def _locked_pass(self, now: datetime, result: PassResult) -> None:
        engine = self.sessions.kw["bind"]
        with engine.connect() as conn:  # the pass's one connection: one checkout, and the session-level lock
            pg = conn.dialect.name == "postgresql"
            if pg:
                key = lock_key(conn, ESCALATION_LOCK)
                _autocommit(conn, True)  # the lock and the reads: no BEGIN/COMMIT round trips of their own
                if not conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar():
                    result.skipped = True
                    return
            try:
                self._pass(conn, pg, now, result)
            finally:
                if pg:
                    conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))

    def _pass(self, conn: Connection, pg: bool, now: datetime, result: PassResult) -> None:
        since, ids, to_raise = self._candidates(conn, now)
        result.since = since
        result.candidates = len(ids)
        if to_raise:
            self._raise_cases(to_raise, now, result)
        batch = self.settings.escalation_batch
        chunks = [ids[i : i + batch] for i in range(0, len(ids), batch)] or [[]]
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1  # the position moves with the last batch (one commit fewer)
            due = self._due(self._read(conn, chunk, now), now) if chunk else []
            if due:
                with _transaction(conn, pg):
                    self._record(conn, due, now, result)
                    if last:
                        _upsert_position(conn, now)
            elif last:
                _upsert_position(conn, now)
                conn.commit()  # one statement: on PostgreSQL it committed itself (autocommit)

    def _candidates(self, conn: Connection, now: datetime) -> tuple[datetime, list[str], list[int]]:
        """(since, appeals, cases) in one statement: the position; the ids of the appeals that may have a step
        due (crossings in (since, now], and count triggers not yet answered by a case); the live cases due to
        be raised."""
        last = conn.scalar(select(EscalationPass.passed_at).where(EscalationPass.name == PASS_NAME))
        since = min(last or now - timedelta(hours=self.settings.escalation_catch_up_h), now)
        overdue = self.ladder.overdue_case
        ranges = [
            and_(is_open(), Appeal.yellow_from > since, Appeal.yellow_from <= now, Appeal.red_from > now),
            and_(is_open(), Appeal.red_from > since, Appeal.red_from <= now),
            and_(is_open(), Appeal.due_at > since - overdue, Appeal.due_at <= now - overdue),
        ]
        parts = [select(literal(APPEAL).label("kind"), Appeal.id.label("id")).where(where) for where in ranges]
        if self._case_steps:
            sqlite_store = conn.dialect.name == "sqlite"
            sql = COUNT_CANDIDATES.format(
                indexed_by=INDEXED_BY if sqlite_store else "", is_open="a.is_open = 1" if sqlite_store else "a.is_open"
            )
            counted = (
                text(sql)
                .bindparams(
                    bindparam("steps", list(self._case_steps), expanding=True),
                    bindparam("live", list(LIVE_STATES), expanding=True),
                    returns=self.ladder.returns_case,
                    reopens=self.ladder.reopens_case,
                )
                .columns(id=String)
                .subquery("counted")
            )
            parts.append(select(literal(APPEAL).label("kind"), counted.c.id))
        cutoff = now - self.ladder.raise_after
        parts.append(  # cases still live `raise_after` after opening (raise_due decides, with the appeal's state)
            select(literal(CASE).label("kind"), cast(SupervisionCase.id, String).label("id")).where(
                SupervisionCase.state.in_(LIVE_STATES),
                SupervisionCase.level != "city",
                SupervisionCase.opened_at <= cutoff,
            )
        )
        ids: set[str] = set()
        cases: set[int] = set()
        for kind, key in conn.execute(union(*parts)):  # UNION: an appeal found by two ranges comes once
            if kind == CASE:
                cases.add(int(key))
            else:
                ids.add(key)
        return since, sorted(ids), sorted(cases)

    def _read(self, conn: Connection, ids: Sequence[str], now: datetime) -> list[_Candidate]:
        """The batch's appeals with the steps fired before, whether each has a live case and, for a red one in a
        grid, whether a member of the grid is online: one statement (a row per appeal and fired step)."""
        cutoff = now - timedelta(seconds=self.settings.presence_window_s)
        live = exists().where(SupervisionCase.appeal == Appeal.id, SupervisionCase.state.in_(LIVE_STATES))
        online = exists().where(
            Member.grid == Appeal.grid, Presence.member == Member.id, Presence.state.in_(ONLINE), Presence.at >= cutoff
        )
        q = (
            select(
                *_COLUMNS,
                live.label("live"),
                case((and_(Appeal.grid.is_not(None), Appeal.red_from <= now), online), else_=None).label("online"),
                EscalationStep.step,
                EscalationStep.unit.label("fired_unit"),
                EscalationStep.armed_by,
            )
            .outerjoin(EscalationStep, EscalationStep.appeal == Appeal.id)
            .where(Appeal.id.in_(ids))
        )
        out: dict[str, _Candidate] = {}
        for r in conn.execute(q):
            c = out.get(r.id)
            if c is None:
                c = out[r.id] = _Candidate(r, bool(r.live), None if r.online is None else bool(r.online), set())
            if r.step is not None:
                c.fired.add((r.step, r.fired_unit, r.armed_by))
        return list(out.values())

    def _due(self, rows: Iterable[_Candidate], now: datetime) -> list[tuple[Any, Facts, Firing]]:
        """The steps the ladder says are due now, for each appeal read."""
        due: list[tuple[Any, Facts, Firing]] = []
        for c in rows:
            facts = self._facts(c.row, c.live, c.online)
            due.extend((c.row, facts, f) for f in due_steps(facts, now, c.fired, self.ladder))
        return due

    def _record(
        self, conn: Connection, due: Sequence[tuple[Any, Facts, Firing]], now: datetime, result: PassResult
    ) -> None:
        """Record the due steps, open the cases they order and queue their messages, in the caller's transaction."""
        # one statement records them all; a step another process recorded first is not returned: its messages
        # are that process's
        recorded = _record_steps(conn, [f for _r, _facts, f in due], now)
        roster = self.roster.current()
        notices: list[Notice] = []
        for r, facts, firing in due:
            if (firing.appeal, firing.step, firing.unit, firing.armed_by) not in recorded:
                continue
            result.fired += 1
            reason = None
            if firing.case is not None:
                reason = firing.case.reason
                if self._open_case(conn, r, firing, now):
                    result.cases += 1
            notices.extend(self._notices(firing, facts, now, roster, reason, result))
        if notices:
            result.queued += queue(conn, notices, self.settings, now)

    def _open_case(self, conn: Connection, r: Any, firing: Firing, now: datetime) -> bool:
        """Open the case a step orders; False when the appeal has a live case already (one opened by hand since
        the batch was read: the store holds one live case per appeal), which the step's office is told of."""
        assert firing.case is not None
        try:
            with conn.begin_nested():
                open_case(
                    conn,
                    appeal={"id": r.id, "district": r.district, "street": r.street, "grid": r.grid, "unit": r.unit},
                    level=firing.case.level,
                    office=firing.case.office,
                    rule=firing.step,
                    opened_by=RULE,
                    now=now,
                    due_at=firing.case.due_at,
                    reason=firing.case.reason,
                )
        except IntegrityError:
            log.info("escalation: %s of appeal %s: a live case was opened meanwhile", firing.step, r.id)
            return False
        return True

    def _facts(self, r: Any, live: bool, online: bool | None) -> Facts:
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
            members_online=(online is True) if r.grid else None,
            has_live_case=live,
            category=" / ".join(c for c in (r.cat1, r.cat2) if c),
            place=ladder_rules.place_name(self.names, r.district, r.street, r.grid),
        )

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

    def _raise_cases(self, case_ids: Sequence[int], now: datetime, result: PassResult) -> None:
        """Raise to the city level the cases still live `raise_after` after opening (appeal still open), each in its
        own transaction."""
        for case_id in case_ids:
            with self.sessions() as s, s.begin():
                case = s.get(SupervisionCase, case_id)
                if case is None:
                    continue
                level, state, opened_at = case.level, case.state, case.opened_at
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
                facts = self._facts(row, False, None)
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
            except Exception:  # noted in `status` by run_pass
                log.exception("escalation pass failed; trying again in %g s", interval)
            stop.wait(interval)


def _record_steps(conn: Connection, firings: Sequence[Firing], now: datetime) -> set[tuple[str, str, str, str]]:
    """Record fired steps in one statement; returns the keys (appeal, step, unit, armed_by) recorded now (a step
    recorded before, by this or another process, is left out)."""
    if not firings:
        return set()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    t = EscalationStep.__table__
    stmt = insert(t).on_conflict_do_nothing().returning(t.c.appeal, t.c.step, t.c.unit, t.c.armed_by)
    rows = [
        {"appeal": f.appeal, "step": f.step, "unit": f.unit, "armed_by": f.armed_by, "fired_at": now} for f in firings
    ]
    # many parameter sets: SQLAlchemy sends them as one multi-row INSERT (its "insertmanyvalues"), and the statement
    # is compiled once and cached, where .values([...]) compiled a new statement for every batch
    return {(a, s, u, r) for a, s, u, r in conn.execute(stmt, rows)}


def _autocommit(conn: Connection, on: bool) -> None:
    """Switch the pass's PostgreSQL connection to autocommit (a read is then one round trip, with no BEGIN and
    COMMIT around it) or back to its transactions. Client-side only: no round trip."""
    conn.commit()  # ends SQLAlchemy's own autobegun transaction (nothing to commit), so the level may change
    conn.execution_options(isolation_level="AUTOCOMMIT" if on else conn.default_isolation_level)


@contextmanager
def _transaction(conn: Connection, pg: bool) -> Iterator[None]:
    """A transaction on the pass's connection: its writes commit together or not at all."""
    if pg:
        _autocommit(conn, False)
    else:
        conn.commit()  # SQLAlchemy's autobegun transaction of the reads (pysqlite began none)
    try:
        with conn.begin():
            yield
    finally:
        if pg:
            _autocommit(conn, True)


def _upsert_position(conn: Connection, now: datetime) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(EscalationPass).values(name=PASS_NAME, passed_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"passed_at": now}))
