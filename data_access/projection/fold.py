"""Folding a batch of the event log into appeal rows: read behind the checkpoint, fold, write, move it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dashboard.appeal import (
    advance,
    draft_from_json,
    follows,
    kept,
    start_draft,
    touched,
)
from dashboard.contract import Event, stored_event
from dashboard.partitions import partition_of
from dashboard.settings import Settings
from data_access.intake.event_log import Place
from data_access.projection.checkpoints import checkpoint_or_lay_out, move_checkpoint
from data_access.projection.failures import (
    Failure,
    clear_failures,
    isolated_appeals,
    reason,
    record_failures,
    transient,
)
from data_access.projection.rows import (
    ALL_STATE,
    appeal_row,
    changed_columns,
    state_columns,
)
from data_access.projection.writes import FoldedBatch, copy_folded, write_folded, write_isolating, write_rows
from data_access.store.bulk import raw_cursor, select_in
from data_access.store.locks import lock_key

log = logging.getLogger(__name__)

#: PostgreSQL advisory lock of partition P: PROJECTOR_LOCK + P (one projector folds each partition at a time),
#: through `lock_key` (the store's own in its database).
PROJECTOR_LOCK = 0x6170_666F6C64  # "apfold"

#: How a batch's folded rows are written (`write_folded`, or `write_isolating` once the store refused them).
Writer = Callable[[Session, int, int, int, int, FoldedBatch], None]


class Drafts:
    """Drafts of the appeals a projector folded last, so that its next batches need not read and parse their fold
    state. They hold while the checkpoint is where this projector left it: a write by another projector voids
    them."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.checkpoint: int | None = None  # the checkpoint these drafts are current at
        self._by_appeal: dict[str, dict[str, Any]] = {}

    def at(self, checkpoint: int) -> None:
        """Forget every draft unless the checkpoint is where this projector left it."""
        if checkpoint != self.checkpoint:
            self._by_appeal.clear()
            self.checkpoint = checkpoint

    def take(self, appeal: str) -> dict[str, Any] | None:
        """An appeal's draft, no longer kept (a batch that fails to commit leaves none it changed)."""
        return self._by_appeal.pop(appeal, None)

    def keep(self, drafts: dict[str, dict[str, Any]], checkpoint: int) -> None:
        """Keep the drafts a batch committed, up to the checkpoint it moved to; the least recently folded go."""
        self._by_appeal.update(drafts)
        self.checkpoint = checkpoint
        for appeal in list(islice(self._by_appeal, max(0, len(self._by_appeal) - self.size))):
            del self._by_appeal[appeal]


def fold_logged(
    sessions: sessionmaker[Session],
    settings: Settings,
    limit: int,
    drafts: Drafts | None = None,
    partition: int = 0,
) -> int:
    """Fold the next `limit` logged events of `partition` (of `settings.projectors`) after that partition's
    checkpoint into their appeals, and move the checkpoint past them (past the other partitions' events too, up to
    the last logged when fewer are waiting); return the events read. A backlog folds each appeal once per batch,
    however many of its events the batch holds.

    Each partition has its own checkpoint and its own projector, so the partitions fold side by side. PostgreSQL:
    one transaction under the partition's advisory lock; while another projector holds it, fold nothing and
    return 0. SQLite has one writer at a time: the projector reads and folds without the write lock, then writes
    if the checkpoint has not moved since (else it folds again under the lock). Reading a history that grew
    meanwhile is harmless: an event folded early sorts before the draft's last one when its turn comes, and the
    appeal is refolded.

    An appeal that cannot be folded (its fold raises, or the store refuses its row) is left out of the batch and
    recorded (data_access.projection.failures); the checkpoint moves past it all the same. A transient error of the
    store (connection lost) is raised: the batch is retried as it is."""
    if drafts is None:
        drafts = Drafts(0)
    try:
        return _fold_batch(sessions, settings, limit, drafts, partition, write_folded)
    except Exception as exc:
        if transient(exc):
            raise
        log.warning(
            "projection: partition %d: a batch failed (%s); folding it again, writing it in parts to find "
            "any appeal whose row the store refuses",
            partition,
            reason(exc),
        )
    return _fold_batch(sessions, settings, limit, drafts, partition, write_isolating)


def _fold_batch(
    sessions: sessionmaker[Session], settings: Settings, limit: int, drafts: Drafts, partition: int, write: Writer
) -> int:
    """`fold_logged`, writing with `write`."""
    partitions = settings.projectors
    with sessions() as s:
        if s.get_bind().dialect.name == "postgresql":
            with s.begin():
                conn = s.connection()
                lock = conn.exec_driver_sql(
                    "SELECT pg_try_advisory_xact_lock(%s)", (lock_key(conn, PROJECTOR_LOCK + partition),)
                )
                if not lock.scalar():
                    return 0  # another projector folds this partition: this one stands by (its drafts stay good)
                checkpoint = checkpoint_or_lay_out(s, partition, partitions)
                last, n, folded = _read_and_fold(s, settings, checkpoint, limit, drafts, partition)
                if last != checkpoint:
                    _write(s, write, partition, partitions, checkpoint, last, folded)
        else:
            with s.begin():
                checkpoint = checkpoint_or_lay_out(s, partition, partitions)
                last, n, folded = _read_and_fold(s, settings, checkpoint, limit, drafts, partition)
            if last == checkpoint:
                return 0
            with s.begin():
                if not move_checkpoint(s, partition, partitions, checkpoint, last):
                    # another projector wrote since: fold again, now under the lock
                    checkpoint = checkpoint_or_lay_out(s, partition, partitions)
                    last, n, folded = _read_and_fold(s, settings, checkpoint, limit, drafts, partition)
                    if last == checkpoint:
                        return 0
                _write(s, write, partition, partitions, checkpoint, last, folded)
    if last != checkpoint:
        drafts.keep(folded.drafts, last)
    return n


def fold_in_hand(
    session: Session, settings: Settings, checkpoint: int, fresh: dict[str, list[tuple[Event, Place | None]]]
) -> FoldedBatch:
    """Fold events just logged after `checkpoint` (in hand: parsed, with the place of `created` ones) into their
    appeals, as a projector folds a batch (the same drafts, refolds and failures); nothing is written."""
    return _fold(session, checkpoint, fresh, settings, Drafts(0))


def write_in_hand(session: Session, folded: FoldedBatch) -> None:
    """Write what `fold_in_hand` folded (the projection's batch path of each store), recording the appeals left
    out; moving checkpoints is the caller's."""
    if session.get_bind().dialect.name == "postgresql":
        copy_folded(session, folded)
    else:
        write_rows(session, folded)
    _record(session, folded, "import")


def _write(
    session: Session,
    write: Writer,
    partition: int,
    partitions: int,
    checkpoint: int,
    last: int,
    folded: FoldedBatch,
) -> None:
    """Write a folded batch and move the checkpoint (`write`); record the appeals left out, clear those that
    folded after all."""
    write(session, partition, partitions, checkpoint, last, folded)
    _record(session, folded, f"partition {partition}")


def _record(session: Session, folded: FoldedBatch, where: str) -> None:
    """Record the appeals a written batch left out; clear those that folded after all."""
    if folded.failed:
        for appeal, f in sorted(folded.failed.items()):
            log.warning(
                "projection: appeal %s left out of %s: %s (event %s)", appeal, where, f.reason, f.event or "newest"
            )
        record_failures(session, folded.failed, datetime.now(UTC))
    clear_failures(session, folded.isolated & folded.drafts.keys())


def _read_and_fold(
    session: Session, settings: Settings, checkpoint: int, limit: int, drafts: Drafts, partition: int
) -> tuple[int, int, FoldedBatch]:
    """Read the next `limit` events of `partition` after `checkpoint` and fold them (no writes): (where the
    checkpoint moves, events read, what to write). The database leaves out the other partitions' events by
    `partition_key`; events logged without one (before migration 0009) are read and sorted here.

    The log's last `seq` is read first: log writers commit in `seq` order, so every event up to it is
    visible to the next statement, and when fewer than `limit` wait the checkpoint moves to it."""
    mk, mod = ("?", "%") if session.get_bind().dialect.name == "sqlite" else ("%s", "%%")
    partitions = settings.projectors
    mine_only = (
        f" AND (partition_key {mod} {int(partitions)} = {int(partition)} OR partition_key IS NULL)"
        if partitions > 1
        else ""
    )
    cur = raw_cursor(session)
    try:
        cur.execute("SELECT MAX(seq) FROM appeal_events")
        top = cur.fetchone()[0] or 0
        if top <= checkpoint:
            return checkpoint, 0, FoldedBatch({}, [], {})
        cur.execute(
            f"SELECT seq, partition_key, {_HISTORY} FROM appeal_events WHERE seq > {mk} AND seq <= {mk}"
            f"{mine_only} ORDER BY seq LIMIT {mk}",
            (checkpoint, top, limit),
        )
        rows = cur.fetchall()
    finally:
        cur.close()
    last = rows[-1][0] if len(rows) == limit else top
    mine = [r[2:] for r in rows if partitions == 1 or r[1] is not None or partition_of(r[2], partitions) == partition]
    if not mine:
        return last, len(rows), FoldedBatch({}, [], {})
    drafts.at(checkpoint)
    failed: dict[str, Failure] = {}
    fresh = _histories(mine, failed=failed)
    for appeal in failed:
        drafts.take(appeal)
    folded = _fold(session, checkpoint, fresh, settings, drafts)
    folded.failed.update(failed)
    return last, len(rows), folded


#: What folding needs of a logged event, in `_histories` order.
_HISTORY = "appeal, id, payload, type, grid, community, street, district"


def _histories(
    rows: Iterable[Sequence[Any]],
    in_hand: dict[str, Event] | None = None,
    failed: dict[str, Failure] | None = None,
) -> dict[str, list[tuple[Event, Place | None]]]:
    """Logged events (`_HISTORY` columns) by appeal, with the place of `created` ones; `in_hand` holds events
    already parsed, so their stored text is not parsed again. With `failed`, an appeal with an event that cannot
    be parsed is left out and put there; else the error is raised."""
    in_hand = in_hand or {}
    out: dict[str, list[tuple[Event, Place | None]]] = {}
    for appeal, eid, payload, type_, grid, comm, street, district in rows:
        place = Place(grid, comm, street, district) if type_ == "created" else None
        try:
            event = in_hand.get(eid) or stored_event(payload)
        except Exception as exc:
            if failed is None:
                raise
            failed.setdefault(appeal, Failure(eid, f"event {eid}: {reason(exc)}"))
            continue
        out.setdefault(appeal, []).append((event, place))
    for appeal in failed or ():
        out.pop(appeal, None)
    return out


def _fold(
    session: Session,
    checkpoint: int,
    fresh: dict[str, list[tuple[Event, Place | None]]],
    settings: Settings,
    drafts: Drafts,
) -> FoldedBatch:
    """Advance each appeal's draft (kept, else its stored fold state) with the events logged after `checkpoint`,
    or refold it from the whole log when they came out of order. A new appeal is folded from the events in hand
    unless some came before `checkpoint` (logged before their `created`).

    An appeal recorded as failed before is refolded whole; one whose fold raises goes to the batch's `failed`
    (a draft that does not advance is refolded whole first), and is written no row."""
    out = FoldedBatch({}, [], {}, isolated=isolated_appeals(session) & fresh.keys())
    resumed = {a: d for a in fresh if a not in out.isolated and (d := drafts.take(a)) is not None}
    rest = [a for a in fresh if a not in resumed]
    known: dict[str, str | None] = dict(select_in(session, "SELECT id, fold_state FROM appeals WHERE id", rest))
    for a, state in known.items():
        if state and a not in out.isolated:
            try:
                resumed[a] = draft_from_json(state, a)
            except Exception:  # noqa: BLE001  # a fold state it cannot read: refolded whole from the log
                log.warning("projection: appeal %s: unreadable fold state, refolded whole", a)
    born = [
        a for a in rest if a not in known and a not in out.isolated and any(e.type == "created" for e, _ in fresh[a])
    ]
    # `seq + 0`: found by the appeal's index alone. A planner without statistics (a bulk load into a store never
    # analysed) otherwise ANDs in a scan of the log's key up to the checkpoint, all of the log, every batch: 0.3 s a
    # batch at 5 million events, the import's rate falling as the log grew
    logged_before = f"SELECT DISTINCT appeal FROM appeal_events WHERE seq + 0 <= {int(checkpoint)} AND appeal"
    waited = {r[0] for r in select_in(session, logged_before, born)} if born else set()
    whole = session.get_bind().dialect.name == "postgresql"
    for a in born:
        if a not in waited and (row := _guarded_row(a, fresh[a], settings, out)):
            out.rows.append(row)
    full = (
        sorted(waited)
        + [a for a in known if a not in resumed]  # no fold state stored: refold
        + sorted(out.isolated - known.keys())
    )  # failed before it had a row
    for aid, draft in resumed.items():
        events = [e for e, _ in fresh[aid]]
        if not follows(draft, events):
            full.append(aid)
            continue
        try:
            if whole:  # PostgreSQL writes every state column (`copy_folded`)
                advance(draft, events)
                cols = ALL_STATE
            else:
                before = {k: draft[k] for k in touched(events)}
                cols = changed_columns(before, advance(draft, events))
            row = state_columns(draft, settings, cols)
        except Exception:  # noqa: BLE001  # refolded whole: left out there if it fails again
            full.append(aid)
            continue
        row["id"] = aid
        out.updates.setdefault(cols, []).append(row)
        out.drafts[aid] = draft
    in_hand = {e.id: e for evs in fresh.values() for e, _ in evs}
    out.rows += _refold(session, full, settings, in_hand, out)
    return out


def refold_rows(
    session: Session,
    appeal_ids: Sequence[str],
    settings: Settings,
    in_hand: dict[str, Event] | None = None,
    drafts: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, object]]:
    """The rows of these appeals folded from all their stored events (none for an appeal without `created`).

    `in_hand` holds events already parsed, so their stored text is not parsed again; `drafts` gets their drafts."""
    if not appeal_ids:
        return []
    history = _histories(select_in(session, f"SELECT {_HISTORY} FROM appeal_events WHERE appeal", appeal_ids), in_hand)
    return [row for evs in history.values() if (row := _history_row(evs, settings, drafts))]


def _refold(
    session: Session, appeal_ids: Sequence[str], settings: Settings, in_hand: dict[str, Event], out: FoldedBatch
) -> list[dict[str, object]]:
    """`refold_rows` for a batch: an appeal that cannot be folded goes to `out.failed`, its draft not to
    `out.drafts`."""
    if not appeal_ids:
        return []
    rows = select_in(session, f"SELECT {_HISTORY} FROM appeal_events WHERE appeal", appeal_ids)
    history = _histories(rows, in_hand, out.failed)
    return [row for a, evs in history.items() if (row := _guarded_row(a, evs, settings, out))]


def _guarded_row(
    appeal: str, evs: list[tuple[Event, Place | None]], settings: Settings, out: FoldedBatch
) -> dict[str, object] | None:
    """`_history_row` into `out.drafts`; if the fold raises, None, and the appeal goes to `out.failed` with the
    first event (in the fold's order) its history cannot be folded with."""
    try:
        return _history_row(evs, settings, out.drafts)
    except Exception as exc:  # noqa: BLE001  # whatever the fold raises, it is this appeal's: recorded
        out.failed[appeal] = Failure(_culprit(evs, settings), reason(exc))
        return None


def _culprit(evs: list[tuple[Event, Place | None]], settings: Settings) -> str | None:
    """The first event, in the fold's order, whose history up to it cannot be folded (None: each can)."""
    ordered = sorted(evs, key=lambda ep: (ep[0].at, ep[0].id))
    for k in range(1, len(ordered) + 1):
        try:
            _history_row(ordered[:k], settings)
        except Exception:  # noqa: BLE001  # the first prefix that raises, whatever it raises
            return ordered[k - 1][0].id
    return None


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
    row = appeal_row(draft, place, settings)
    if drafts is not None:
        drafts[draft["appeal"]] = kept(draft)
    return row
