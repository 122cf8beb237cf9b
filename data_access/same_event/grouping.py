"""The grouping pass: appeals the projection has folded → same-event groups (rules: dashboard/same_event.py).

Grouping reads the log's `created` events after its checkpoint (`same_event_checkpoint`) and up to the lowest
projection checkpoint (every event up to it is folded, so the appeal rows are there), in `seq` order: the
arrival order the rules assign in. Per batch, one query fetches the members that could match any new appeal
(the 3 × 3 search cells around each, within the time window: index `ix_same_event_members_cell_at`); the
assignment runs in memory; new members, their groups' sizes and 三天三单 days and the checkpoint are written in
the same transaction. PostgreSQL: under an advisory lock, so two processes never group at once; SQLite: the
checkpoint moves only from where this pass found it (else the batch is dropped and read again).

`regroup` (after a change of the rules) forgets every group and groups the whole log in one pass of its own: the same
arrivals in the same order through the same `Grouper`, read in one streamed query and written in bulk.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from dashboard.same_event import (
    Arrival,
    Grouper,
    GroupingRules,
    Member,
    burst_day,
    category_key,
    cell,
    near_cells,
    words,
)
from data_access.projection.checkpoints import lowest_checkpoint
from data_access.store.bulk import (
    bulk_insert,
    chunks,
    dialect_insert,
    pg_time,
    raw_cursor,
    select_in,
    sqlite_time,
    write_rows,
)
from data_access.store.locks import lock_key
from data_access.store.models import (
    AppealEvent,
    SameEventCheckpoint,
    SameEventGroup,
    SameEventMember,
)
from geo.crs import to_wgs84

log = logging.getLogger(__name__)

#: PostgreSQL advisory lock of grouping (through `lock_key`): one grouping pass at a time per store.
GROUPING_LOCK = 0x6170_67727570  # "apgrup"
_NAME = "groups"
_M = SameEventMember.__table__.c
_G = SameEventGroup.__table__.c
_CP = SameEventCheckpoint.__table__


@dataclass(frozen=True, slots=True)
class _Place:
    """Where an appeal stands in the log (the `seq` of its `created` event) and the place columns its rows keep."""

    seq: int
    grid: str | None
    street: str | None
    district: str | None


@dataclass(frozen=True, slots=True)
class _New:
    """A new appeal as grouping sees it, with its `_Place`."""

    place: _Place
    arrival: Arrival


def position(session: Session) -> int:
    """The `seq` of the last logged event grouping has read (0: none)."""
    pos = session.scalar(select(_CP.c.position).where(_CP.c.name == _NAME))
    if pos is None:
        session.execute(
            dialect_insert(session, _CP).on_conflict_do_nothing(),
            [{"name": _NAME, "position": 0, "updated_at": datetime.now(UTC)}],
        )
        return 0
    return int(pos)


def _take_lock(s: Session, wait: bool) -> bool:
    """Take grouping's lock for this transaction: PostgreSQL's advisory lock (False if another process holds it
    and not `wait`); SQLite's write lock, before anything is read, so that the pass reads what it writes over."""
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        got = conn.exec_driver_sql(f"SELECT {fn}(%s)", (lock_key(conn, GROUPING_LOCK),)).scalar()
        return wait or bool(got)
    conn.exec_driver_sql("UPDATE same_event_checkpoint SET name = name WHERE name = 'groups'")
    return True


def _move(session: Session, old: int, new: int) -> bool:
    moved = session.execute(
        update(_CP).where(_CP.c.name == _NAME, _CP.c.position == old).values(position=new, updated_at=datetime.now(UTC))
    )
    return cast("CursorResult[Any]", moved).rowcount == 1


def group_new(sessions: sessionmaker[Session], rules: GroupingRules, zone: ZoneInfo, limit: int) -> int:
    """Group the next `limit` folded appeals after the checkpoint; return the log events the checkpoint passed
    (0: nothing waits, or another process is grouping)."""
    with sessions() as s, s.begin():
        if not _take_lock(s, wait=False):
            return 0
        pos = position(s)
        top = lowest_checkpoint(s)
        if top <= pos:
            return 0
        ev = AppealEvent.__table__.c
        rows = s.execute(
            select(ev.seq, ev.appeal, ev.payload)
            .where(ev.seq > pos, ev.seq <= top, ev.type == "created")
            .order_by(ev.seq)
            .limit(limit)
        ).all()
        last = int(rows[-1][0]) if len(rows) == limit else top
        if not _move(s, pos, last):
            s.rollback()
            return 0
        _group(s, [(int(q), a, _crs(p)) for q, a, p in rows], rules, zone)
    return last - pos


def _crs(payload: str) -> str:
    """The coordinate system of a `created` event's location (the appeal row keeps the point as received)."""
    if '"crs"' not in payload:  # most events carry WGS-84 points without saying so: no need to parse them
        return "wgs84"
    try:
        loc = orjson.loads(payload).get("location")
    except (orjson.JSONDecodeError, AttributeError):
        return "wgs84"
    crs = loc.get("crs") if isinstance(loc, dict) else None
    return crs if crs in ("gcj02", "bd09") else "wgs84"


def _group(s: Session, logged: Sequence[tuple[int, str, str]], rules: GroupingRules, zone: ZoneInfo) -> None:
    """Assign these appeals (seq, id, crs of its point) in order, and write members and groups."""
    first: dict[str, tuple[int, str]] = {}
    for q, a, crs in logged:
        first.setdefault(a, (q, crs))
    known = {r[0] for r in select_in(s, "SELECT appeal FROM same_event_members WHERE appeal", list(first))}
    new = _arrivals(s, {a: v for a, v in first.items() if a not in known}, rules)
    if not new:
        return
    grouper = Grouper(rules, _candidates(s, [n.arrival for n in new], rules))
    placed = [(n, grouper.assign(n.arrival)) for n in new]
    bulk_insert(s, SameEventMember.__table__, [_member_row(n, m, rules) for n, m in placed], "")
    _update_groups(s, {m.group for _, m in placed}, {n.arrival.appeal: n for n, _ in placed}, zone, rules)


#: What grouping reads of an appeal (turned into a `_New` by `_new`), from `appeals a` and `_POINT_OF_COMMUNITY`.
_APPEAL_COLS = (
    "a.id, a.created_at, a.cat1, a.cat2, a.cat3, a.lon, a.lat, a.summary, a.grid, a.street, a.district, c.lon, c.lat"
)
_POINT_OF_COMMUNITY = "LEFT JOIN communities c ON c.code = a.community"


def _arrivals(s: Session, seqs: dict[str, tuple[int, str]], rules: GroupingRules) -> list[_New]:
    """The new appeals as grouping sees them (points in WGS-84), in arrival order; an appeal with no row (the
    projection failed to fold it) is left out."""
    rows = select_in(s, f"SELECT {_APPEAL_COLS} FROM appeals a {_POINT_OF_COMMUNITY} WHERE a.id", list(seqs))
    return sorted((_new(r, *seqs[r[0]], rules) for r in rows), key=lambda n: n.place.seq)


def _new(r: Sequence[Any], seq: int, crs: str, rules: GroupingRules) -> _New:
    """An appeal read in `_APPEAL_COLS` (its point in `crs`; with no point, its community's) as grouping sees it."""
    lon, lat = (r[5], r[6]) if r[5] is not None and r[6] is not None else (r[11], r[12])
    if r[5] is not None and r[6] is not None and crs != "wgs84":
        x, y = to_wgs84(r[5], r[6], crs)
        lon, lat = float(x), float(y)
    arrival = Arrival(r[0], _utc(r[1]), sys.intern(category_key(r[2], r[3], r[4], rules)), lon, lat, words(r[7]))
    return _New(_Place(seq, _codes(r[8]), _codes(r[9]), _codes(r[10])), arrival)


def _codes(v: str | None) -> str | None:
    """One string object per distinct code (a full pass keeps a million members: their place codes and categories
    are a few thousand strings)."""
    return None if v is None else sys.intern(v)


def _utc(v: Any) -> datetime:
    """A time read through the driver (SQLite: text; PostgreSQL: naive), as the aware UTC time it stands for."""
    return (datetime.fromisoformat(v) if isinstance(v, str) else v).replace(tzinfo=UTC)


def _candidates(s: Session, arrivals: Sequence[Arrival], rules: GroupingRules) -> list[Member]:
    """Every member that could match one of these arrivals: in a cell near one, within the time window."""
    cells = sorted(
        {c for a in arrivals if a.lon is not None and a.lat is not None for c in near_cells(a.lon, a.lat, rules)}
    )
    if not cells:
        return []
    lo = min(a.at for a in arrivals) - rules.window
    hi = max(a.at for a in arrivals) + rules.window
    head = "SELECT appeal, group_id, at, cat_key, lon, lat, words FROM same_event_members WHERE at BETWEEN"
    cur = raw_cursor(s)
    rows: list[Any] = []
    try:
        if s.get_bind().dialect.name == "postgresql":
            cur.execute(f"{head} %s AND %s AND cell = ANY(%s)", (pg_time(lo), pg_time(hi), cells))
            rows = cur.fetchall()
        else:
            for part in chunks(cells):
                marks = ",".join("?" * len(part))
                cur.execute(f"{head} ? AND ? AND cell IN ({marks})", (sqlite_time(lo), sqlite_time(hi), *part))
                rows += cur.fetchall()
    finally:
        cur.close()
    return [Member(r[0], r[1], _utc(r[2]), r[3], r[4], r[5], r[6]) for r in rows]


def _member_row(n: _New, m: Member, rules: GroupingRules) -> dict[str, object]:
    return dict(zip(_MEMBER_COLS, _member_values(n.place, m, rules), strict=True))


def _update_groups(s: Session, ids: set[str], new: dict[str, _New], zone: ZoneInfo, rules: GroupingRules) -> None:
    """Insert the groups these appeals started; set each touched group's size, times and 三天三单 day."""
    times: dict[str, list[datetime]] = {g: [] for g in ids}
    for g, at in select_in(s, "SELECT group_id, at FROM same_event_members WHERE group_id", sorted(ids)):
        times[g].append(_utc(at))
    started = [new[g] for g in sorted(ids) if g in new]
    bulk_insert(s, SameEventGroup.__table__, [_group_row(n, times[n.arrival.appeal], zone, rules) for n in started], "")
    grown = sorted(ids - {n.arrival.appeal for n in started})
    if not grown:
        return
    conn = s.connection()
    sqlite_ = conn.dialect.name == "sqlite"
    conv, mark = (sqlite_time, "?") if sqlite_ else (pg_time, "%s")
    params = []
    for g in grown:
        ts = times[g]
        day = burst_day(ts, zone, rules)
        params.append((len(ts), conv(min(ts)), conv(max(ts)), day.isoformat() if sqlite_ and day else day, g))
    sets = ", ".join(f"{c} = {mark}" for c in ("size", "first_at", "last_at", "burst_day"))
    conn.exec_driver_sql(f"UPDATE same_event_groups SET {sets} WHERE id = {mark}", params)


def _group_row(n: _New, ts: list[datetime], zone: ZoneInfo, rules: GroupingRules) -> dict[str, object]:
    return dict(zip(_GROUP_COLS, _group_values(n.place, n.arrival, ts, zone, rules), strict=True))


def group_all(sessions: sessionmaker[Session], rules: GroupingRules, zone: ZoneInfo, batch: int) -> int:
    """Group until every folded appeal is grouped (or another process is grouping); return log events passed."""
    total = 0
    while n := group_new(sessions, rules, zone, batch):
        total += n
    return total


def regroup(sessions: sessionmaker[Session], rules: GroupingRules, zone: ZoneInfo) -> int:
    """Forget every group and group the whole log again from the start (after changing the rules); return the
    log events read.

    One pass in one transaction, under grouping's lock: every `created` event up to the lowest projection
    checkpoint with its appeal row, streamed in `seq` order; the same `Grouper` as `group_new` assigns them in
    memory (the same groups: each appeal meets the same earlier members, only all at once); members and groups
    are written in bulk (PostgreSQL: COPY) with the checkpoint."""
    with sessions() as s, s.begin():
        _take_lock(s, wait=True)
        s.execute(delete(SameEventMember.__table__))
        s.execute(delete(SameEventGroup.__table__))
        pos = position(s)
        top = lowest_checkpoint(s)
        t0 = time.perf_counter()
        grouper = Grouper(rules)
        placed: dict[str, tuple[_Place, Member]] = {}
        grown: dict[str, list[datetime]] = {}  # the times of each group of more than one appeal
        for r in _logged_appeals(s, top):
            if r[2] in placed:  # an appeal logged as created twice is grouped at its first `created` event
                continue
            n = _new(r[2:], int(r[0]), _crs(r[1]) if r[1] else "wgs84", rules)
            m = grouper.assign(n.arrival)
            placed[m.appeal] = (n.place, m)
            if m.group != m.appeal:
                grown.setdefault(m.group, [placed[m.group][1].at]).append(m.at)
        t1 = time.perf_counter()
        write_rows(
            s, SameEventMember.__table__, _MEMBER_COLS, (_member_values(p, m, rules) for p, m in placed.values())
        )
        groups = (
            _group_values(p, m, grown.get(m.appeal) or [m.at], zone, rules)
            for p, m in placed.values()
            if m.group == m.appeal
        )
        write_rows(s, SameEventGroup.__table__, _GROUP_COLS, groups)
        if not _move(s, pos, top):
            raise RuntimeError("grouping's checkpoint moved during a regrouping under its lock")
        t2 = time.perf_counter()
    log.info(
        "regrouped %d appeals: read and assigned in %.1f s, written in %.1f s, committed in %.1f s",
        len(placed),
        t1 - t0,
        t2 - t1,
        time.perf_counter() - t2,
    )
    return top


def _logged_appeals(s: Session, top: int) -> Iterator[Sequence[Any]]:
    """Every appeal logged as created up to `top`, in `seq` order: (seq, the event's payload when it names a
    coordinate system, else None, then `_APPEAL_COLS`); streamed (PostgreSQL: a server-side cursor)."""
    sql = (
        f"SELECT e.seq, CASE WHEN e.payload LIKE '%\"crs\"%' THEN e.payload END, {_APPEAL_COLS} "
        f"FROM appeal_events e JOIN appeals a ON a.id = e.appeal {_POINT_OF_COMMUNITY} "
        f"WHERE e.type = 'created' AND e.seq <= {int(top)} ORDER BY e.seq"
    )
    dbapi = s.connection().connection.dbapi_connection
    postgres = s.get_bind().dialect.name == "postgresql"
    cur = dbapi.cursor(name="regroup") if postgres else dbapi.cursor()  # type: ignore[union-attr]  # open
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(10_000):
            yield from rows
    finally:
        cur.close()


_MEMBER_COLS = (
    "appeal",
    "group_id",
    "seq",
    "cat_key",
    "cell",
    "at",
    "lon",
    "lat",
    "words",
    "grid",
    "street",
    "district",
)
_GROUP_COLS = ("id", "cat_key", "size", "first_at", "last_at", "burst_day", "lon", "lat", "grid", "street", "district")


def _member_values(p: _Place, m: Member, rules: GroupingRules) -> tuple[Any, ...]:
    """A member's row in `_MEMBER_COLS` order."""
    c = cell(m.lon, m.lat, rules) if m.lon is not None and m.lat is not None else None
    return (m.appeal, m.group, p.seq, m.cat, c, m.at, m.lon, m.lat, m.words, p.grid, p.street, p.district)


def _group_values(
    p: _Place, first: Arrival | Member, ts: list[datetime], zone: ZoneInfo, rules: GroupingRules
) -> tuple[Any, ...]:
    """A group's row in `_GROUP_COLS` order: its first appeal's place, its members' times."""
    day = burst_day(ts, zone, rules)
    return (first.appeal, first.cat, len(ts), min(ts), max(ts), day, first.lon, first.lat, p.grid, p.street, p.district)
