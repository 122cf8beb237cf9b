"""Writing to the store: events exactly once, appeals as the fold of their events, latest presence."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timezone
from functools import cache
from itertools import islice
from operator import itemgetter

from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from dashboard.appeal import (
    DONE_STATUSES, advance, draft_due, draft_from_json, draft_to_json, follows, kept, light_times, start_draft,
    touched,
)
from dashboard.contract import Event, Presence, stored_event
from dashboard.settings import Settings
from data_access.models import Appeal, AppealEvent, UTCDateTime
from data_access.models import Presence as PresenceRow

#: Bound parameters per statement chunk (SQLite allows 32,766; PostgreSQL 65,535).
CHUNK = 900


@dataclass(frozen=True)
class Place:
    """Where an event happened, resolved against the city model at ingest."""

    grid: str | None
    community: str | None
    street: str | None
    district: str | None


@dataclass(frozen=True)
class Accepted:
    """A valid event ready to store: the parsed event, its raw text, entry id and place."""

    event: Event
    raw: str
    source: str
    place: Place | None = None


def _insert(session: Session, table: Table):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _chunks(seq: Sequence[object], n: int = CHUNK) -> Iterable[Sequence[object]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


#: PostgreSQL advisory lock keys: log writers commit one at a time (so `seq` order is commit order and the
#: folders never pass an event committed later with a smaller number); one folder folds each share at a time
#: (FOLD_LOCK + the share).
LOG_LOCK = 0x6170_6C6F67  # "aplog"
FOLD_LOCK = 0x6170_666F6C64  # "apfold"


def store_events(session: Session, items: Sequence[Accepted], now: datetime) -> None:
    """Store events in the log, each once (an id already stored is ignored); the folder folds them behind."""
    if not items:
        return
    rows = {}
    for it in items:
        p = it.place
        rows[it.event.id] = {
            "id": it.event.id,
            "appeal": it.event.appeal,
            "fold_key": fold_key(it.event.appeal),
            "type": it.event.type,
            "at": it.event.at,
            "payload": it.raw,
            "source": it.source,
            "received_at": now,
            "grid": p.grid if p else None,
            "community": p.community if p else None,
            "street": p.street if p else None,
            "district": p.district if p else None,
        }
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (LOG_LOCK,))
    bulk_insert(session, AppealEvent.__table__, list(rows.values()), "ON CONFLICT (id) DO NOTHING")


class Drafts:
    """Drafts of the appeals a folder folded last, so that its next batches need not read and parse their fold
    state. They hold while the fold mark is where this folder left it: a write by another folder voids them."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.mark: int | None = None  # the fold mark these drafts are current at
        self._by_appeal: dict[str, dict[str, Any]] = {}

    def at(self, mark: int) -> None:
        """Forget every draft unless the fold mark is where this folder left it."""
        if mark != self.mark:
            self._by_appeal.clear()
            self.mark = mark

    def take(self, appeal: str) -> dict[str, Any] | None:
        """An appeal's draft, no longer kept (a batch that fails to commit leaves none it changed)."""
        return self._by_appeal.pop(appeal, None)

    def keep(self, drafts: dict[str, dict[str, Any]], mark: int) -> None:
        """Keep the drafts a batch committed, up to the fold mark it moved to; the least recently folded go."""
        self._by_appeal.update(drafts)
        self.mark = mark
        for appeal in list(islice(self._by_appeal, max(0, len(self._by_appeal) - self.size))):
            del self._by_appeal[appeal]


def fold_key(appeal: str) -> int:
    """The number an appeal's share follows from, the same in every process (unlike `hash`): logged with each
    event, so that a folder reads only its share's events."""
    return zlib.crc32(appeal.encode())


def part_of(appeal: str, parts: int) -> int:
    """The share of the fold an appeal belongs to: `fold_key` modulo the number of shares."""
    return fold_key(appeal) % parts if parts > 1 else 0


def mark_key(part: int, parts: int) -> str:
    """The `meta` key of a share's fold mark ('fold-seq' when one folder folds everything)."""
    return "fold-seq" if parts == 1 else f"fold-seq {part}/{parts}"


def fold_logged(
    sessions: sessionmaker[Session], settings: Settings, limit: int, drafts: Drafts | None = None, part: int = 0
) -> int:
    """Fold the next `limit` logged events of share `part` (of `settings.folders`) after that share's fold mark
    into their appeals, and move the mark past them (past the other shares' events too, up to the last logged
    when fewer are waiting); return the events read. A backlog folds each appeal once per batch, however many of
    its events the batch holds.

    Each share has its own mark and its own folder, so the shares fold side by side. PostgreSQL: one
    transaction under the share's fold lock; while another folder holds it, fold nothing and return 0.
    SQLite has one writer at a time: the folder reads and folds without the write lock, then writes if the mark
    has not moved since (else it folds again under the lock). Reading a history that grew meanwhile is harmless:
    an event folded early sorts before the draft's last one when its turn comes, and the appeal is refolded."""
    if drafts is None:
        drafts = Drafts(0)
    key = mark_key(part, settings.folders)
    with sessions() as s:
        if s.get_bind().dialect.name == "postgresql":
            with s.begin():
                lock = s.connection().exec_driver_sql("SELECT pg_try_advisory_xact_lock(%s)", (FOLD_LOCK + part,))
                if not lock.scalar():
                    return 0  # another folder is folding this share: this one stands by (its drafts stay good)
                mark = _mark_or_lay_out(s, key, settings.folders)
                last, n, folded = _read_and_fold(s, settings, mark, limit, drafts, part)
                if last != mark:
                    _write_folded(s, key, mark, last, folded)
        else:
            with s.begin():
                mark = _mark_or_lay_out(s, key, settings.folders)
                last, n, folded = _read_and_fold(s, settings, mark, limit, drafts, part)
            if last == mark:
                return 0
            with s.begin():
                if not _move_mark(s, key, mark, last):  # another folder wrote since: fold again, now under the lock
                    mark = _mark_or_lay_out(s, key, settings.folders)
                    last, n, folded = _read_and_fold(s, settings, mark, limit, drafts, part)
                    if last == mark:
                        return 0
                _write_folded(s, key, mark, last, folded)
    if last != mark:
        drafts.keep(folded.drafts, last)
    return n


def fold_marks(session: Session) -> dict[str, int]:
    """Every share's fold mark: the `seq` of the last event it folded (each of its events up to it is folded)."""
    rows = session.execute(text("SELECT key, value FROM meta WHERE key LIKE 'fold-seq%'"))
    return {k: int(v) for k, v in rows}


def fold_mark(session: Session) -> int:
    """The lowest fold mark: every event up to it is folded, whichever share it belongs to."""
    return min(fold_marks(session).values(), default=0)


def _mark_or_lay_out(session: Session, key: str, parts: int) -> int:
    """The mark under `key`; first, if the store was folded in another number of shares, a mark for each share
    at the lowest of the old ones (events after it that some share had folded already fold again, harmlessly)."""
    marks = fold_marks(session)
    if key in marks:
        return marks[key]
    low = min(marks.values(), default=0)
    conn = session.connection()
    mk = "?" if conn.dialect.name == "sqlite" else "%s"
    keys = [mark_key(k, parts) for k in range(parts)]
    conn.exec_driver_sql(f"INSERT INTO meta (key, value) VALUES ({mk}, {mk}) ON CONFLICT (key) DO NOTHING",
                         [(k, str(low)) for k in keys])
    for old in sorted(set(marks) - set(keys)):  # in one order: folders laying out at once wait, not deadlock
        conn.exec_driver_sql(f"DELETE FROM meta WHERE key = {mk}", (old,))
    return fold_marks(session)[key]


def _move_mark(session: Session, key: str, mark: int, last: int) -> bool:
    """Move the fold mark from `mark` to `last`; False if it is not at `mark` (SQLite: takes the write lock)."""
    conn = session.connection()
    mk = "?" if conn.dialect.name == "sqlite" else "%s"
    moved = conn.exec_driver_sql(f"UPDATE meta SET value = {mk} WHERE key = {mk} AND value = {mk}",
                                 (str(last), key, str(mark)))
    return moved.rowcount == 1


@dataclass
class _Folded:
    """What folding a batch writes: changed columns of resumed appeals (by column set), whole rows of refolded ones."""

    updates: dict[tuple[str, ...], list[dict[str, object]]]
    rows: list[dict[str, object]]
    drafts: dict[str, dict[str, Any]]  # every appeal written, as `Drafts` keeps them


def _read_and_fold(
    session: Session, settings: Settings, mark: int, limit: int, drafts: Drafts, part: int
) -> tuple[int, int, _Folded]:
    """Read the next `limit` events of share `part` after `mark` and fold them (no writes): (where the mark
    moves, events read, what to write). The database leaves out the other shares' events by `fold_key`; events
    logged without one (before migration 0009) are read and sorted here.

    The log's last `seq` is read first: log writers commit in `seq` order, so every event up to it is
    visible to the next statement, and when fewer than `limit` wait the mark moves to it."""
    mk, mod = ("?", "%") if session.get_bind().dialect.name == "sqlite" else ("%s", "%%")
    parts = settings.folders
    share = f" AND (fold_key {mod} {int(parts)} = {int(part)} OR fold_key IS NULL)" if parts > 1 else ""
    cur = _cursor(session)
    try:
        cur.execute("SELECT MAX(seq) FROM appeal_events")
        top = cur.fetchone()[0] or 0
        if top <= mark:
            return mark, 0, _Folded({}, [], {})
        cur.execute(f"SELECT seq, fold_key, {_HISTORY} FROM appeal_events WHERE seq > {mk} AND seq <= {mk}{share} "
                    f"ORDER BY seq LIMIT {mk}", (mark, top, limit))
        rows = cur.fetchall()
    finally:
        cur.close()
    last = rows[-1][0] if len(rows) == limit else top
    mine = [r[2:] for r in rows if parts == 1 or r[1] is not None or part_of(r[2], parts) == part]
    if not mine:
        return last, len(rows), _Folded({}, [], {})
    drafts.at(mark)
    return last, len(rows), _fold(session, mark, _histories(mine), settings, drafts)


def _write_folded(session: Session, key: str, mark: int, last: int, folded: _Folded) -> None:
    """Write what a batch folded and move the mark past it (on SQLite the caller moved it already)."""
    if session.get_bind().dialect.name == "postgresql":
        _copy_folded(session, folded)
        _move_mark(session, key, mark, last)
        return
    for cols, rows in folded.updates.items():
        _update_columns(session, cols, rows)
    _upsert_appeals(session, folded.rows)


def _copy_folded(session: Session, folded: _Folded) -> None:
    """PostgreSQL: COPY what a batch folded into scratch tables, then write it with one UPDATE and one INSERT. A
    statement per batch instead of one per appeal costs the server a fifth less per row and the folder a seventh
    as much (docs/benchmarks.md). Updates set every state column: an indexed value written unchanged still leaves
    the update heap-only (PostgreSQL compares the values, not the columns named)."""
    times = _time_columns(Appeal.__table__)
    updates = [r for rows in folded.updates.values() for r in rows]
    cur = _cursor(session)
    try:
        if updates:
            _copy(cur, "fold_updates", _UPDATE_NAMES, _params(updates, _UPDATE_NAMES, times, _pg_time))
            state = _UPDATE_NAMES[1:]
            cur.execute(f"UPDATE appeals a SET ({_quoted(state)}) = ({_quoted(state, 't.')}) "
                        "FROM fold_updates t WHERE a.id = t.id")
        if folded.rows:
            _copy(cur, "fold_rows", _ROW_NAMES, _params(folded.rows, _ROW_NAMES, times, _pg_time))
            cur.execute(f"INSERT INTO appeals ({_quoted(_ROW_NAMES)}) SELECT {_quoted(_ROW_NAMES)} FROM fold_rows "
                        f"{_UPSERT}")
    finally:
        cur.close()


def _copy(cur: Any, table: str, names: Sequence[str], params: Iterable[Sequence[Any]]) -> None:
    """COPY rows into a scratch table of these columns of `appeals` (made once per connection, emptied at each
    commit), in binary: formatting them as text took an eighth of the folder's time."""
    types = _appeal_types(cur)
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ON COMMIT DELETE ROWS AS "
                f"SELECT {_quoted(names)} FROM appeals WITH NO DATA")
    with cur.copy(f"COPY {table} ({_quoted(names)}) FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types([types[n] for n in names])
        for p in params:
            cp.write_row(p)


_APPEAL_TYPES: dict[str, int] = {}


def _appeal_types(cur: Any) -> dict[str, int]:
    """The type (oid) of each column of `appeals`: built-in types, whose oids are the same in every database."""
    if not _APPEAL_TYPES:
        cur.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = 'appeals'::regclass "
                    "AND attnum > 0 AND NOT attisdropped")
        _APPEAL_TYPES.update(cur.fetchall())
    return _APPEAL_TYPES


def _quoted(names: Iterable[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{n}"' for n in names)


def _cursor(session: Session) -> Any:
    return session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def select_in(session: Session, sql: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of `sql` (ending in the key column) for these keys, straight through the driver: the hot path."""
    cur = _cursor(session)
    out: list[tuple[Any, ...]] = []
    try:
        if session.get_bind().dialect.name == "postgresql":
            cur.execute(f"{sql} = ANY(%s)", (list(keys),))
            out += cur.fetchall()
        else:
            for part in _chunks(keys):
                cur.execute(f"{sql} IN ({','.join('?' * len(part))})", part)
                out += cur.fetchall()
    finally:
        cur.close()
    return out


#: What folding needs of a logged event, in `_histories` order.
_HISTORY = "appeal, id, payload, type, grid, community, street, district"


def _histories(
    rows: Iterable[Sequence[Any]], in_hand: dict[str, Event] | None = None
) -> dict[str, list[tuple[Event, Place | None]]]:
    """Logged events (`_HISTORY` columns) by appeal, with the place of `created` ones; `in_hand` holds events
    already parsed, so their stored text is not parsed again."""
    in_hand = in_hand or {}
    out: dict[str, list[tuple[Event, Place | None]]] = {}
    for appeal, eid, payload, type_, grid, comm, street, district in rows:
        place = Place(grid, comm, street, district) if type_ == "created" else None
        out.setdefault(appeal, []).append((in_hand.get(eid) or stored_event(payload), place))
    return out


def _fold(
    session: Session, mark: int, fresh: dict[str, list[tuple[Event, Place | None]]], settings: Settings,
    drafts: Drafts,
) -> _Folded:
    """Advance each appeal's draft (kept, else its stored fold state) with the events logged after `mark`, or
    refold it from the whole log when they came out of order. A new appeal is folded from the events in hand
    unless some came before `mark` (logged before their `created`)."""
    resumed = {a: d for a in fresh if (d := drafts.take(a)) is not None}
    rest = [a for a in fresh if a not in resumed]
    known: dict[str, str | None] = dict(select_in(session, "SELECT id, fold_state FROM appeals WHERE id", rest))
    resumed.update((a, draft_from_json(state, a)) for a, state in known.items() if state)
    born = [a for a in rest if a not in known and any(e.type == "created" for e, _ in fresh[a])]
    before_mark = f"SELECT DISTINCT appeal FROM appeal_events WHERE seq <= {int(mark)} AND appeal"
    waited = {r[0] for r in select_in(session, before_mark, born)} if born else set()
    out = _Folded({}, [], {})
    whole = session.get_bind().dialect.name == "postgresql"
    for a in born:
        if a not in waited and (row := _history_row(fresh[a], settings, out.drafts)):
            out.rows.append(row)
    full = sorted(waited) + [a for a in known if a not in resumed]  # no fold state stored: refold
    for aid, draft in resumed.items():
        events = [e for e, _ in fresh[aid]]
        if not follows(draft, events):
            full.append(aid)
            continue
        if whole:  # PostgreSQL writes every state column (`_copy_folded`)
            advance(draft, events)
            cols = ALL_STATE
        else:
            before = {k: draft[k] for k in touched(events)}
            cols = changed_columns(before, advance(draft, events))
        row = state_columns(draft, settings, cols)
        row["id"] = aid
        out.updates.setdefault(cols, []).append(row)
        out.drafts[aid] = draft
    in_hand = {e.id: e for evs in fresh.values() for e, _ in evs}
    out.rows += refold_rows(session, full, settings, in_hand, out.drafts)
    return out


def refold_rows(
    session: Session, appeal_ids: Sequence[str], settings: Settings, in_hand: dict[str, Event] | None = None,
    drafts: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, object]]:
    """The rows of these appeals folded from all their stored events (none for an appeal without `created`).

    `in_hand` holds events already parsed, so their stored text is not parsed again; `drafts` gets their drafts."""
    if not appeal_ids:
        return []
    history = _histories(select_in(session, f"SELECT {_HISTORY} FROM appeal_events WHERE appeal", appeal_ids), in_hand)
    return [row for evs in history.values() if (row := _history_row(evs, settings, drafts))]


def _history_row(
    evs: list[tuple[Event, Place | None]], settings: Settings, drafts: dict[str, dict[str, Any]] | None = None
) -> dict[str, object] | None:
    """The row of an appeal folded from these events (its whole history); None without `created`. `drafts`
    gets its draft."""
    draft = start_draft(e for e, _ in evs)
    if draft is None:
        return None
    created = min((e for e, _ in evs if e.type == "created"), key=lambda e: (e.at, e.id))
    place = next(p for e, p in evs if e.id == created.id)
    if drafts is not None:
        drafts[draft["appeal"]] = kept(draft)
    return appeal_row(draft, place, settings)


#: Appeal row columns that follow from each key of a fold draft (a key not listed is a column of its own name).
_DEADLINE = ("due_at", "yellow_from", "red_from")
_DRAFT_COLUMNS: dict[str, tuple[str, ...]] = {
    "appeal": (), "community": (),  # the row's place is resolved at ingest, not taken from the draft
    "status": ("status",), "category": ("cat1", "cat2", "cat3"), "location": ("lon", "lat"),
    "priority": ("priority",) + _DEADLINE, "clock_start": ("clock_start",) + _DEADLINE,
    "_created_due": _DEADLINE, "_dispatched_due": _DEADLINE, "_extended_due": _DEADLINE,
    "_last": ("last_event_at",),
}
_COLUMN_ORDER = {c.name: i for i, c in enumerate(Appeal.__table__.columns)}


def changed_columns(before: dict[str, object], after: dict[str, object]) -> tuple[str, ...]:
    """The appeal row columns that may differ between two drafts of one appeal (fold state always does).

    `before` holds the keys that may have changed (`touched` by the events applied), as they were.

    Writing only these matters: an UPDATE that names an indexed column rewrites that index entry,
    and most events touch two or three of the appeals table's indexed columns, not all of them. `is_open`, in
    four of them, changes only when the status passes between open and done (not when it is accepted, say)."""
    cols = {"fold_state"}
    for key, old in before.items():
        value = after[key]
        if old is not value and old != value:
            cols.update(_DRAFT_COLUMNS.get(key, (key,)))
            if key == "status" and (old in DONE_STATUSES) != (value in DONE_STATUSES):
                cols.add("is_open")
    return _in_table_order(frozenset(cols))


@cache
def _in_table_order(cols: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(cols, key=_COLUMN_ORDER.__getitem__))


def _update_columns(session: Session, cols: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    """UPDATE existing appeal rows, setting only `cols` (the same for every row)."""
    conn = session.connection()
    sqlite_ = conn.dialect.name == "sqlite"
    mark = "?" if sqlite_ else "%s"
    sql = f"UPDATE appeals SET {', '.join(f'{chr(34)}{c}{chr(34)} = {mark}' for c in cols)} WHERE id = {mark}"
    params = _params(rows, cols + ("id",), _time_columns(Appeal.__table__), _sqlite_time if sqlite_ else _pg_time)
    conn.exec_driver_sql(sql, params)


def _params(
    rows: Sequence[dict[str, Any]], names: Sequence[str], times: frozenset[str], conv: Callable[[Any], Any]
) -> list[tuple[Any, ...]]:
    """Each row's values in `names` order, times converted for the driver."""
    get = itemgetter(*names)
    at = [i for i, n in enumerate(names) if n in times]
    seen: dict[Any, Any] = {None: None}  # the same times recur (received_at, an event's `at` as last_event_at)
    out = []
    for r in rows:
        v = list(get(r))
        for i in at:
            t = v[i]
            c = seen.get(t, seen)
            v[i] = seen.setdefault(t, conv(t)) if c is seen else c
        out.append(tuple(v))
    return out


def _insert_many(conn: Connection, table: str, names: Sequence[str], params: list[tuple[Any, ...]], tail: str) -> None:
    """INSERT rows of values in `names` order through the driver's executemany (SQLite: a loop in C;
    psycopg: pipelined, one prepared statement)."""
    if params:
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        cols = ", ".join(f'"{n}"' for n in names)
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({', '.join([mark] * len(names))}) {tail}", params)


def _upsert_appeals(session: Session, rows: list[dict[str, object]]) -> None:
    bulk_insert(session, Appeal.__table__, rows, _UPSERT)


@cache
def _time_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, UTCDateTime))


def _sqlite_time(t: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DateTime stores and reads back (naive UTC); times here are UTC already
    if t is None:
        return None
    if t.utcoffset():
        t = t.astimezone(timezone.utc)
    return t.isoformat(" ", "microseconds")[:26]


def _pg_time(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(timezone.utc).replace(tzinfo=None)


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, object]], conflict: str) -> None:
    """INSERT many rows through the driver's executemany: the hot path, without per-row ORM work.

    Times are stored as UTCDateTime stores them (naive UTC) so ORM reads see the same values."""
    if not rows:
        return
    conn = session.connection()
    sqlite_ = conn.dialect.name == "sqlite"
    names = [c.name for c in table.columns if c.name in rows[0]]  # not a key the store numbers
    times = _time_columns(table)
    conv = _sqlite_time if sqlite_ else _pg_time
    _insert_many(conn, table.name, names, _params(rows, names, times, conv), conflict)


def appeal_row(draft: dict[str, Any], place: Place | None, settings: Settings) -> dict[str, object]:
    """The `appeals` row of a whole fold's draft (the fields of `finish(draft)`, read straight from the draft)."""
    d = draft
    cat = d["category"]
    loc = d["location"] or {}
    return {
        "id": d["appeal"],
        "created_at": d["created_at"],
        "channel": d["channel"],
        "kind": d["kind"],
        "cat1": cat[0],
        "cat2": cat[1] if len(cat) > 1 else None,
        "cat3": cat[2] if len(cat) > 2 else None,
        "lon": loc.get("lon"),
        "lat": loc.get("lat"),
        "grid": place.grid if place else None,
        "community": place.community if place else None,
        "street": place.street if place else None,
        "district": place.district if place else None,
        "address": d["address"],
        "summary": d["summary"],
        **state_columns(draft, settings),
    }


#: State columns read straight from the draft key of the same name.
_PLAIN_STATE = frozenset((
    "status", "priority", "unit", "member", "dispatch_count", "return_count", "extension_count", "reopen_count",
    "clock_start", "first_dispatched_at", "resolved_at", "closed_at", "reviewed", "reviewed_at", "responded",
    "resolved_flag", "satisfaction",
))
STATE_COLUMNS = _PLAIN_STATE | {"is_open", "last_event_at", "fold_state", *_DEADLINE}
#: Every state column in table order: what a resumed fold writes on PostgreSQL (`_copy_folded`).
ALL_STATE = tuple(c for c in _COLUMN_ORDER if c in STATE_COLUMNS)
_UPDATE_NAMES = ("id", *ALL_STATE)
_ROW_NAMES = tuple(_COLUMN_ORDER)
#: An appeal row written whole replaces the stored one.
_UPSERT = "ON CONFLICT (id) DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in _ROW_NAMES if c != "id")


def state_columns(
    draft: dict[str, Any], settings: Settings, cols: Collection[str] = STATE_COLUMNS
) -> dict[str, Any]:
    """The columns of an appeal's row that events after `created` can change, from a draft (whole or resumed);
    only those in `cols` (and `fold_state`), so an update computes no more than it writes."""
    d = draft
    row = {c: d[c] for c in cols if c in _PLAIN_STATE}
    if "is_open" in cols:
        row["is_open"] = d["status"] not in DONE_STATUSES
    if "due_at" in cols or "red_from" in cols or "yellow_from" in cols:
        row["yellow_from"], row["red_from"], row["due_at"] = light_times(
            d["clock_start"], draft_due(d), d["priority"], settings)
    if "last_event_at" in cols:
        row["last_event_at"] = d["_last"][0]
    row["fold_state"] = draft_to_json(draft)
    return row


def store_presence(session: Session, items: Sequence[Presence], now: datetime) -> None:
    """Keep each member's latest heartbeat by `at`, whatever the arrival order."""
    latest: dict[str, Presence] = {}
    for p in items:
        if p.member not in latest or p.at > latest[p.member].at:
            latest[p.member] = p
    if not latest:
        return
    table = PresenceRow.__table__
    rows = [
        {"member": p.member, "state": p.state, "at": p.at, "lon": p.lon, "lat": p.lat, "received_at": now}
        for p in latest.values()
    ]
    for part in _chunks(rows, 1000):
        stmt = _insert(session, table)
        update = {k: stmt.excluded[k] for k in ("state", "at", "lon", "lat", "received_at")}
        session.execute(
            stmt.on_conflict_do_update(index_elements=["member"], set_=update, where=table.c.at < stmt.excluded.at),
            list(part),
        )
