"""Aggregates over history for rankings and hotspot baselines: each a GROUP BY over one time range, and which
days the events logged since a mark can have changed.

Callers split a month or a baseline into days and keep each day's aggregates until the event log says the day
changed (data_access/wall/day_cache.py), so a tick never scans closed history. Whatever is counted over several
spans (days, hours of today, a report's weeks) is read here in one way, `runs`: the spans in runs of adjacent
ones, one statement per run that scans the run once and finds each row's span by a binary search over the
spans' starts (`count_spans` for a query built with SQLAlchemy, `Run.case` inside the unit counts' SQL).

The rules counted here are the ranking module's (dashboard/rankings.py, `month_share`): an appeal's handling
unit is the unit of its latest `dispatched`, `accepted` or `resolved` event by (at, id), none after a `returned`,
as the fold leaves it (dashboard/appeal.py); call-backs are the `reviewed` events in the log, each for the unit
at its time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any, TypeVar

from sqlalchemy import Row, Select, String, bindparam, case, column, func, literal_column, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from dashboard.rankings import DEFAULT, UNIT_EVENTS, RankingConfig, Tally, exact_credit
from data_access.projection.checkpoints import lowest_checkpoint
from data_access.store.bulk import chunks
from data_access.store.models import Appeal, AppealEvent, UTCDateTime
from geo.city_index import CityIndex

T = TypeVar("T")
_UNIT_IN = "(" + ", ".join(f"'{t}'" for t in UNIT_EVENTS) + ")"


@dataclass
class UnitCounts:
    """One unit's raw counts over a time range (summable)."""

    volume: int = 0
    reviewed: int = 0
    responded: int = 0
    resolved: int = 0
    answers: dict[str, int] = field(default_factory=dict)  # satisfaction answer -> count

    def add(self, other: UnitCounts) -> None:
        """Add another range's counts to these."""
        self.volume += other.volume
        self.reviewed += other.reviewed
        self.responded += other.responded
        self.resolved += other.resolved
        for k, v in other.answers.items():
            self.answers[k] = self.answers.get(k, 0) + v


Counts = dict[str, UnitCounts]


class _Sql:
    """The dialect's spelling of what the queries here need of JSON payloads and of the fold's id order."""

    def __init__(self, session: Session) -> None:
        self.pg = session.get_bind().dialect.name == "postgresql"
        # The fold orders by (at, id) with Python's string order: code points, which "C" collation keeps
        self.c = ' COLLATE "C"' if self.pg else ""

    def field(self, col: str, key: str) -> str:
        return f"({col}::json ->> '{key}')" if self.pg else f"json_extract({col}, '$.{key}')"

    def true(self, col: str, key: str) -> str:
        return f"({self.field(col, key)} = 'true')" if self.pg else f"({self.field(col, key)} = 1)"

    def unit(self, alias: str) -> str:
        """The handling unit the event `alias` leaves its appeal with (NULL after a return)."""
        return self.unit_of(f"{alias}.type", f"{alias}.payload")

    def unit_of(self, type_: str, payload: str) -> str:
        """The handling unit a unit event of that type and payload leaves its appeal with (NULL after a return)."""
        return f"CASE WHEN {type_} = 'returned' THEN NULL ELSE {self.field(payload, 'unit')} END"

    def before(self, p: str, e: str) -> str:
        """Event `p` sorts before event `e` in the fold's (at, id) order."""
        return f"({p}.at < {e}.at OR ({p}.at = {e}.at AND {p}.id{self.c} < {e}.id{self.c}))"

    def latest(self, p: str) -> str:
        return f"ORDER BY {p}.at DESC, {p}.id{self.c} DESC LIMIT 1"


def review_answers(session: Session) -> tuple[Any, Any, Any]:
    """A call-back's answers (responded, resolved, satisfaction) as columns of `appeal_events`' payload."""
    d = _Sql(session)
    p = "appeal_events.payload"
    return (
        literal_column(d.true(p, "responded")),
        literal_column(d.true(p, "resolved")),
        literal_column(d.field(p, "satisfaction")),
    )


_TIMES = [bindparam(k, type_=UTCDateTime) for k in ("start", "end", "cut")]


#: A time range [start, end): what each aggregate below is of.
Span = tuple[datetime, datetime]
DAY = timedelta(days=1)
#: PostgreSQL's work_mem for the statements that read more than a day at once (sorts and hashes of a month).
LARGE_WORK_MEM = "64MB"


@dataclass
class Run:
    """Adjacent spans read by one statement: the scan's bounds [lo, hi) and which span a row's time falls in: the
    last whose start is not after it, a binary search over the starts (PostgreSQL's `width_bucket`; elsewhere a
    balanced tree of comparisons: a few per row, not two per span, as a month's 30 days over a million rows made
    a linear CASE a third of the statement)."""

    index: list[int]  # each span's position in the caller's list, in time order
    starts: list[datetime]
    end: datetime
    pg: bool

    @property
    def params(self) -> dict[str, datetime]:
        """The bounds `lo`, `hi` and the starts the tree compares with (`s1`, `s2`, …; none on PostgreSQL)."""
        tree = {} if self.pg else {f"s{k}": s for k, s in enumerate(self.starts) if k}
        return {"lo": self.starts[0], "hi": self.end, **tree}

    def _starts(self) -> str:
        """The starts as a PostgreSQL array of naive UTC timestamps (as the store keeps times), typed literals: the
        planner folds them into one constant (text cast to timestamp[] was parsed again for every row)."""
        naive = (s.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") for s in self.starts)
        return "ARRAY[" + ", ".join(f"TIMESTAMP '{t}'" for t in naive) + "]"

    def _tree(self, lo: int, hi: int, leaf: Callable[[int], T], branch: Callable[[int, T, T], T]) -> T:
        if hi - lo == 1:
            return leaf(lo)
        mid = (lo + hi) // 2
        return branch(mid, self._tree(lo, mid, leaf, branch), self._tree(mid, hi, leaf, branch))

    def case(self, col: str) -> str:
        """The position in the run of the span `col` falls in (for a time within [lo, hi)), as SQL text."""
        if self.pg and len(self.starts) > 1:
            return f"(width_bucket({col}, {self._starts()}) - 1)"
        return self._tree(0, len(self.starts), str, lambda k, a, b: f"CASE WHEN {col} < :s{k} THEN {a} ELSE {b} END")

    def column(self, col: Any) -> Any:
        """The same as a SQLAlchemy expression of the time column `col`."""
        if self.pg and len(self.starts) > 1:
            return func.width_bucket(col, literal_column(self._starts())) - literal_column("1")
        starts = [bindparam(f"span_s{k}", s, type_=UTCDateTime) for k, s in enumerate(self.starts)]
        return self._tree(
            0,
            len(self.starts),
            lambda k: literal_column(str(k)),
            lambda k, a, b: case((col < starts[k], a), else_=b),
        )

    def bind(self, sql: str, *extra: str) -> Any:
        """`sql` (using `case`, `:lo` and `:hi`) with its time parameters typed."""
        return text(sql).bindparams(*(bindparam(k, type_=UTCDateTime) for k in [*self.params, *extra]))


def runs(session: Session, spans: list[Span]) -> list[Run]:
    """Disjoint spans in runs of adjacent ones (each one statement: no scan of the gaps between runs)."""
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    if any(spans[i][1] > spans[j][0] for i, j in pairwise(order)):
        raise ValueError("spans overlap")
    pg = session.get_bind().dialect.name == "postgresql"
    out: list[Run] = []
    for i in order:
        start, end = spans[i]
        if out and out[-1].end == start:
            out[-1].index.append(i)
            out[-1].starts.append(start)
            out[-1].end = end
        else:
            out.append(Run([i], [start], end, pg))
    return out


def count_spans(
    session: Session, spans: list[Span], query: Callable[[Sequence[Any]], Select[Any]], at: Any
) -> list[dict[tuple[Any, ...], int]]:
    """Rows counted per key in each of some disjoint spans: `query(extra)` selects `*extra, *keys, count` grouped
    by `*extra, *keys` (it adds the extra column, the span's position in its run, to its select and GROUP BY); `at`
    is the time column the spans are of. One statement per run of adjacent spans, without `tune` (a larger work_mem
    made PostgreSQL plan these joins serially, slower than its parallel plan)."""
    out: list[dict[tuple[Any, ...], int]] = [{} for _ in spans]
    for run in runs(session, spans):
        if len(run.index) == 1:
            q = query(()).where(at >= run.starts[0], at < run.end)
            out[run.index[0]] = {tuple(r[:-1]): int(r[-1]) for r in session.execute(q)}
            continue
        q = query((run.column(at),)).where(at >= run.starts[0], at < run.end)
        for r in session.execute(q):
            out[run.index[int(r[0])]][tuple(r[1:-1])] = int(r[-1])
    return out


def tune(session: Session, spans: list[Span] | None = None) -> None:
    """PostgreSQL, for this transaction (`set_config(..., true)` ends with it): no JIT, and for more than a day,
    room for sorts and hashes. Measured on a month of a million appeals: JIT compiled each aggregate for longer
    than it ran (the span CASE inlined: 8 s of compiling for a 7 s statement; 1.5 s for each old per-day one),
    and at the default 4 MB work_mem a month's call-backs spilled to disk."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SELECT set_config('jit', 'off', true)"))
    if spans and max(b for _, b in spans) - min(a for a, _ in spans) > DAY:
        session.execute(text(f"SELECT set_config('work_mem', '{LARGE_WORK_MEM}', true)"))


def volumes(session: Session, start: datetime, end: datetime, cutoff: datetime | None = None) -> Counts:
    """Per handling unit: appeals created in [start, end) it handles now (`cutoff` None, the fold's state) or
    at `cutoff` (as its events dated before then leave it). Appeals without a unit are left out."""
    return volumes_by(session, [(start, end)], cutoff)[0]


def volumes_by(session: Session, spans: list[Span], cutoff: datetime | None = None) -> list[Counts]:
    """`volumes` of each span, in one statement per run of adjacent spans (one scan of the appeals it covers)."""
    out: list[Counts] = [defaultdict(UnitCounts) for _ in spans]
    if spans:
        tune(session, spans)
    d = _Sql(session)
    for run in runs(session, spans):
        if cutoff is None:
            sql = (
                f"SELECT b, unit, COUNT(*) FROM (SELECT {run.case('created_at')} AS b, unit FROM appeals "
                "WHERE created_at >= :lo AND created_at < :hi AND unit IS NOT NULL) x GROUP BY b, unit"
            )
            rows = session.execute(run.bind(sql), run.params).all()
        else:
            # each appeal's latest unit event before the cut-off, picked among all of them at once (not one look-up
            # per appeal: at a million appeals that was most of a month's cost)
            sql = (
                f"SELECT b, unit, COUNT(*) FROM (SELECT b, {d.unit_of('utype', 'upayload')} AS unit FROM ("
                f"SELECT {run.case('a.created_at')} AS b, u.type AS utype, u.payload AS upayload, "
                f"ROW_NUMBER() OVER (PARTITION BY a.id ORDER BY u.at DESC, u.id{d.c} DESC) AS k "
                f"FROM appeals a JOIN appeal_events u ON u.appeal = a.id AND u.type IN {_UNIT_IN} AND u.at < :cut "
                "WHERE a.created_at >= :lo AND a.created_at < :hi) y WHERE k = 1) x "
                "WHERE unit IS NOT NULL GROUP BY b, unit"
            )
            rows = session.execute(run.bind(sql, "cut"), {**run.params, "cut": cutoff}).all()
        for b, unit, n in rows:
            if unit:
                out[run.index[int(b)]][unit].volume += int(n)
    return [dict(c) for c in out]


def reviews(session: Session, start: datetime, end: datetime) -> Counts:
    """Per handling unit: call-backs (`reviewed` events) made in [start, end), each for the unit handling its
    appeal when it was made. Call-backs made while no unit handled the appeal are left out."""
    return reviews_by(session, [(start, end)])[0]


def reviews_by(session: Session, spans: list[Span]) -> list[Counts]:
    """`reviews` of each span, in one statement per run of adjacent spans: every call-back the run covers joined to
    its appeal's unit events, the latest before it (by the fold's (at, id) order) kept. One set-based pass instead
    of a look-up per call-back (and of a statement per day): a month of a million appeals' call-backs is one hash
    join."""
    out: list[Counts] = [defaultdict(UnitCounts) for _ in spans]
    if spans:
        tune(session, spans)
    d = _Sql(session)
    for run in runs(session, spans):
        sql = (
            f"SELECT b, unit, responded, resolved, satisfaction, COUNT(*) FROM (SELECT b, "
            f"{d.unit_of('utype', 'upayload')} AS unit, {d.true('payload', 'responded')} AS responded, "
            f"{d.true('payload', 'resolved')} AS resolved, {d.field('payload', 'satisfaction')} AS satisfaction "
            f"FROM (SELECT {run.case('r.at')} AS b, r.payload AS payload, u.type AS utype, u.payload AS upayload, "
            f"ROW_NUMBER() OVER (PARTITION BY r.seq ORDER BY u.at DESC, u.id{d.c} DESC) AS k "
            f"FROM appeal_events r JOIN appeal_events u ON u.appeal = r.appeal AND u.type IN {_UNIT_IN} "
            f"AND {d.before('u', 'r')} WHERE r.type = 'reviewed' AND r.at >= :lo AND r.at < :hi) y "
            "WHERE k = 1) x WHERE unit IS NOT NULL GROUP BY b, unit, responded, resolved, satisfaction"
        )
        for b, unit, responded, resolved, sat, n in session.execute(run.bind(sql), run.params):
            c = out[run.index[int(b)]][unit]
            c.reviewed += int(n)
            c.responded += int(n) if responded else 0
            c.resolved += int(n) if resolved else 0
            if sat:
                c.answers[sat] = c.answers.get(sat, 0) + int(n)
    return [dict(c) for c in out]


def unit_counts(session: Session, start: datetime, end: datetime, cutoff: datetime | None = None) -> Counts:
    """Per handling unit: volume (see `volumes`) and call-backs (see `reviews`) of [start, end)."""
    return merge(volumes(session, start, end, cutoff), reviews(session, start, end))


def merge(*parts: Counts) -> Counts:
    """Sum counts of several ranges (inputs untouched)."""
    out: Counts = {}
    for part in parts:
        for unit, c in part.items():
            out.setdefault(unit, UnitCounts()).add(c)
    return out


def tallies(counts: Counts, level: str, refs: CityIndex, cfg: RankingConfig = DEFAULT) -> list[Tally]:
    """Tallies of a level: streets (their own unit), districts (their streets together), departments and companies."""
    groups: dict[str, UnitCounts] = {}
    for unit, c in counts.items():
        kind = refs.unit_kind.get(unit)
        if level == "street" and kind == "street":
            key: str | None = unit
        elif level == "district" and kind == "street":
            key = refs.unit_district.get(unit) or refs.street_district.get(unit)
        elif level == "department" and kind in ("department", "company"):
            key = unit
        else:
            key = None
        if key:
            groups.setdefault(key, UnitCounts()).add(c)
    if level == "district":
        names = refs.district_name
        every = list(refs.district_name)
    else:
        names = refs.unit_name
        every = [u for u, k in refs.unit_kind.items() if (k == "street") == (level == "street")]
    out = []
    for code in every:
        c = groups.get(code, UnitCounts())
        sat = sum((exact_credit(a, cfg) * n for a, n in c.answers.items()), Fraction(0))
        out.append(Tally(code, names.get(code, code), c.volume, c.reviewed, c.responded, c.resolved, sat))
    return out


def community_counts(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Appeals created in [start, end) per community."""
    return community_counts_by(session, [(start, end)])[0]


def community_counts_by(session: Session, spans: list[Span], among: list[str] | None = None) -> list[dict[str, int]]:
    """`community_counts` of each span, in one statement per run of adjacent spans; with `among`, of those
    communities only (read through their index: a district's four weeks are a few percent of the city's rows)."""
    out: list[dict[str, int]] = [{} for _ in spans]
    if spans:
        tune(session, spans)
    if among is None:  # the community as an expression: SQLite then reads by created_at (see screen_live)
        comm, only = "COALESCE(community, '')", ""
    else:
        comm, only = "community", " AND community IN :among"
    for run in runs(session, spans):
        sql = (
            f"SELECT b, comm, COUNT(*) FROM (SELECT {run.case('created_at')} AS b, {comm} AS comm FROM appeals "
            f"WHERE created_at >= :lo AND created_at < :hi{only}) x GROUP BY b, comm"
        )
        stmt = run.bind(sql)
        params: dict[str, Any] = dict(run.params)
        if among is not None:
            stmt = stmt.bindparams(bindparam("among", expanding=True))
            params["among"] = sorted(among) or [""]
        for b, c, n in session.execute(stmt, params):
            if c:
                out[run.index[int(b)]][c] = int(n)
    return out


def first_created(session: Session) -> datetime | None:
    """When the store's first appeal was created (None: no appeal yet): where history, and baselines, begin."""
    return session.scalar(select(func.min(Appeal.created_at)))


# -- what changed -----------------------------------------------------------------------------------------
def folded_seq(session: Session) -> int:
    """The log position every figure here reflects: each event up to it is folded into its appeal."""
    return lowest_checkpoint(session)


def first_after(session: Session, seq: int) -> datetime | None:
    """When the first event logged after `seq` was received (None: none is)."""
    q = select(AppealEvent.received_at).where(AppealEvent.seq > seq).order_by(AppealEvent.seq).limit(1)
    return session.scalar(q)


@dataclass
class Touched:
    """Times whose days the events of a stretch of the log can have changed: `created` for volumes and
    community counts (the appeals' creation times), `reviewed` for call-backs (the call-backs' times)."""

    created: list[datetime] = field(default_factory=list)
    reviewed: list[datetime] = field(default_factory=list)


def touched(session: Session, after: int, upto: int) -> Touched:
    """Which days the events logged in (after, upto] can have changed, against the log up to `upto`.

    A `created` event changes its appeal's day (and the day of any other `created` of it: the earliest wins).
    A `reviewed` event changes its own day. A unit event changes something only where the unit it leaves
    differs from the unit its predecessor (by at, id) left: then its appeal's creation day (volume, now or at
    any cut-off) and the days of the appeal's call-backs after it (their unit); otherwise the appeal's units
    over time stay what they were (an accepted or resolved by the same unit, a duplicate). Other events
    (extended, reopened, closed) change no count."""
    d = _Sql(session)
    sql = (
        f"SELECT e.appeal, e.type, e.at, CASE WHEN e.type IN {_UNIT_IN} THEN {d.unit('e')} END, "
        f"CASE WHEN e.type IN {_UNIT_IN} THEN (SELECT {d.unit('p')} FROM appeal_events p "
        # `p.seq + 0`: the predecessor is found by the appeal's index alone. A planner without statistics (a store
        # never analysed) otherwise ANDs in a scan of the log's key up to `upto` for every event: 10 minutes for
        # 150,000 events after a backfill, where this takes a second.
        f"WHERE p.appeal = e.appeal AND p.type IN {_UNIT_IN} AND p.seq + 0 <= :upto AND {d.before('p', 'e')} "
        f"{d.latest('p')}) END FROM appeal_events e WHERE e.seq > :after AND e.seq <= :upto "
        f"AND e.type IN ('created', 'reviewed', {_UNIT_IN[1:-1]})"
    )
    typed = text(sql).columns(
        column("appeal", String),
        column("type", String),
        column("at", UTCDateTime),
        column("unit", String),
        column("prev", String),
    )
    out = Touched()
    born: set[str] = set()
    moved: dict[str, datetime] = {}  # appeal -> earliest time its units over time changed
    for appeal, type_, at, unit, prev in session.execute(typed, {"after": after, "upto": upto}):
        if type_ == "created":
            born.add(appeal)
        elif type_ == "reviewed":
            out.reviewed.append(at)
        elif unit != prev:
            moved[appeal] = min(at, moved.get(appeal, at))
    out.created += _times(session, select(Appeal.created_at, Appeal.id), Appeal.id, born | set(moved))
    out.created += _times(
        session,
        select(AppealEvent.at, AppealEvent.appeal).where(AppealEvent.type == "created"),
        AppealEvent.appeal,
        born,
    )
    later = select(AppealEvent.at, AppealEvent.appeal).where(AppealEvent.type == "reviewed")
    out.reviewed += [at for at, appeal in _rows(session, later, AppealEvent.appeal, moved) if at >= moved[appeal]]
    return out


def _rows(
    session: Session, q: Select[Any, Any], key: InstrumentedAttribute[str], values: Iterable[str]
) -> list[Row[Any, Any]]:
    """Rows of `q` whose `key` is one of `values`, a chunk of them per statement."""
    out: list[Row[Any, Any]] = []
    for part in chunks(sorted(values)):
        out += session.execute(q.where(key.in_(part))).all()
    return out


def _times(
    session: Session, q: Select[Any, Any], key: InstrumentedAttribute[str], values: Iterable[str]
) -> list[datetime]:
    return [r[0] for r in _rows(session, q, key, values)]
