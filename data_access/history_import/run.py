"""An import run: check every file's columns against the mapping before writing anything, then stream each file
in batches: columns -> contract events and folded appeal rows (dashboard.history_columns; a row it cannot do
exactly, such as one placed by coordinates, through dashboard.history_rows, row by row) -> places in the city (the
ingest's Gazetteer) -> the store (`write_batch`). A row that cannot be imported goes to the rejects file with the
file name, row number, column and reason; the run goes on."""

from __future__ import annotations

import csv
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dashboard.history_columns import ColumnReader, Converted
from dashboard.history_mapping import Mapping
from dashboard.history_rows import RowError, RowEvents, RowReader
from dashboard.partitions import partition_key
from dashboard.settings import Settings
from data_access.history_import.readers import Batch, Export, ExportError, open_export
from data_access.history_import.store import Prepared, Written, encode_ahead, log_rows, prepared, write_batch
from data_access.intake.event_log import Accepted, Place
from data_access.intake.reference_data import UNIT_EVENTS, Gazetteer
from data_access.projection.rows import appeal_table
from data_access.store.deferred_indexes import analyse

log = logging.getLogger(__name__)

REJECT_HEADER = ("file", "row", "column", "reason")
BATCH_ROWS = 5000
PROGRESS_EVERY_S = 5.0
#: Batches read and converted ahead of the one being stored.
AHEAD = 2
#: Events an import logs before it gathers the planner's statistics of the log and `appeals` (once; see
#: `Importer.write`).
ANALYSE_AFTER = 20_000
T = TypeVar("T")


@dataclass
class Summary:
    """What a run did."""

    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    events: int = 0  # events logged (not seen before)
    appeals: int = 0  # appeals folded by the import itself
    deferred: int = 0  # events left to the projectors
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        return (
            f"{self.rows} rows: {self.accepted} accepted, {self.rejected} rejected; {self.events} new events, "
            f"{self.appeals} appeals written, {self.deferred} events left to the projectors; "
            f"{self.seconds:.1f} s ({rate:,.0f} rows/s)"
        )


class Rejects:
    """The rejects file (CSV, UTF-8 with BOM so spreadsheets read the Chinese): one line per row not imported."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._w = csv.writer(self._f)
        self._w.writerow(REJECT_HEADER)

    def add(self, file: str, row: int, column: str, reason: str) -> None:
        self._w.writerow((file, row, column, reason))

    def close(self) -> None:
        self._f.close()


class Progress:
    """Rows done, rate and time left: a bar redrawn in place on a terminal, a log line every few seconds
    otherwise. `report(fraction)` also gets the fraction done (for the demo's banner)."""

    def __init__(
        self, total: int | None, report: Callable[[float], None] | None = None, stream: IO[str] | None = None
    ) -> None:
        self.total = total
        self.report = report
        self.stream = stream
        self.tty = bool(stream is not None and stream.isatty())
        self.t0 = time.monotonic()
        self.last = 0.0

    def update(self, done: int, fraction: float | None, final: bool = False) -> None:
        now = time.monotonic()
        if self.report is not None and fraction is not None:
            self.report(fraction)
        if not final and now - self.last < (0.5 if self.tty else PROGRESS_EVERY_S):
            return
        self.last = now
        spent = max(now - self.t0, 1e-9)
        rate = done / spent
        left = f"{spent * (1 - fraction) / fraction:,.0f} s left" if fraction else "time left unknown"
        pct = f"{100 * fraction:5.1f}%" if fraction is not None else "   ?%"
        if self.tty and self.stream is not None:
            bar = "#" * int(30 * (fraction or 0))
            self.stream.write(f"\r[{bar:<30}] {pct} {done:,} rows {rate:,.0f}/s {left}   ")
            if final:
                self.stream.write("\n")
            self.stream.flush()
        else:
            log.info("import: %s %d rows, %.0f rows/s, %s", pct, done, rate, left)


def check_exports(paths: Sequence[Path], mapping: Mapping, batch: int) -> list[Export]:
    """Open every file and check its columns against the mapping; ExportError naming the file and the columns
    missing, before anything is written."""
    exports = []
    for p in paths:
        e = open_export(p, batch, mapping.encoding, mapping.sheet)
        missing = mapping.missing_columns(e.header)
        if missing:
            raise ExportError(f"{p}: the mapping names columns the file does not have: {', '.join(missing)}")
        exports.append(e)
    return exports


def import_files(
    paths: Sequence[Path],
    mapping: Mapping,
    sessions: sessionmaker[Session],
    settings: Settings,
    gazetteer: Gazetteer,
    rejects_path: Path,
    *,
    batch: int = BATCH_ROWS,
    report: Callable[[float], None] | None = None,
    stream: IO[str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    columnar: bool = True,
) -> Summary:
    """Import these files by this mapping; see the module's docstring. `columnar=False` converts every row by the
    per-row path (the benchmark's "before")."""
    exports = check_exports(paths, mapping, batch)
    rejects = Rejects(rejects_path)
    importer = Importer(mapping, sessions, settings, gazetteer, rejects, now=now, columnar=columnar)
    summary = importer.summary
    summary.files = [str(p) for p in paths]
    total_bytes = sum(e.bytes_total for e in exports) or 1
    rows_total = sum(e.rows_total or 0 for e in exports) if all(e.rows_total for e in exports) else None
    progress = Progress(rows_total, report, stream if stream is not None else sys.stderr)
    t0 = time.monotonic()

    def converted() -> Iterator[tuple[Prepared, int, float]]:
        bytes_done = 0
        for e in exports:
            for b in e.batches():
                ready = importer.convert(b, e.path.name)
                if rows_total:
                    fraction = summary.rows / rows_total
                else:
                    fraction = (bytes_done + (e.bytes_read or 0)) / total_bytes
                yield ready, summary.rows, min(fraction, 1.0)
            bytes_done += e.bytes_total

    try:
        for ready, done, fraction in ahead(converted(), AHEAD):
            importer.write(ready)
            progress.update(done, fraction)
        progress.update(summary.rows, 1.0, final=True)
    finally:
        rejects.close()
    summary.seconds = time.monotonic() - t0
    return summary


def ahead(items: Iterator[T], depth: int = AHEAD) -> Iterator[T]:
    """The items of `items`, made by a thread of their own up to `depth` ahead of the caller: the next batches are
    read and converted while the store takes this one (the database's work, and most of Arrow's, runs without the
    interpreter's lock). An error of the thread is raised here; the thread stops when the caller does."""
    if depth < 1:
        yield from items
        return
    q: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            put((False, exc))

    t = threading.Thread(target=make, name="import-read", daemon=True)
    t.start()
    try:
        while True:
            more, item = q.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        t.join()


class Importer:
    """Imports batches of an export by one mapping into a store, counting into `summary`: what `import_files` does
    with each batch of each file, for a caller with batches of its own (Arrow tables in an export's columns)."""

    def __init__(
        self,
        mapping: Mapping,
        sessions: sessionmaker[Session],
        settings: Settings,
        gazetteer: Gazetteer,
        rejects: Rejects,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        columnar: bool = True,
    ) -> None:
        self.reader = RowReader(mapping, settings.max_text_len)
        self.columns = ColumnReader(self.reader) if columnar else None  # None: every row by the per-row path
        self.sessions, self.settings, self.gazetteer = sessions, settings, gazetteer
        self.rejects, self.now = rejects, now
        self.summary = Summary()
        self._next_row: dict[str, int] = {}
        self._analyse_at = ANALYSE_AFTER

    def batch(self, rows: Batch | pa.Table | pa.RecordBatch, file: str) -> Written:
        """Convert and store one batch of rows of `file` (a `Batch`, or an Arrow table whose rows follow the file's
        rows so far, numbered from 2 as a spreadsheet shows them under the header)."""
        return self.write(self.convert(rows, file))

    def convert(self, rows: Batch | pa.Table | pa.RecordBatch, file: str) -> Prepared:
        """The first half of `batch`: the rows converted, the rejects written, nothing stored."""
        if not isinstance(rows, Batch):
            first = self._next_row.get(file, 2)
            rows = Batch(list(range(first, first + rows.num_rows)), rows)
        if rows.numbers:
            self._next_row[file] = rows.numbers[-1] + 1
        ready = _convert(
            rows, file, self.reader, self.columns, self.gazetteer, self.settings, self.rejects, self.summary
        )
        encode_ahead(self.sessions, ready, self.now())
        return ready

    def write(self, ready: Prepared) -> Written:
        """The second half of `batch`: a converted batch stored."""
        s = self.summary
        w: Written = write_batch(self.sessions, self.settings, ready, self.now())
        s.events += w.events
        s.appeals += w.appeals
        s.deferred += w.deferred
        if s.events >= self._analyse_at:
            # a store filled by this import (autovacuum off, or not come round yet) has no statistics: the planner
            # then takes each batch's look-ups by appeal for a large part of the log and reads it with parallel
            # workers. Once is enough: the statistics keep the share of distinct appeals and ids, which the
            # planner scales to the table's size as it grows (each further ANALYZE took 1-3 s late in a 3 M import).
            with self.sessions() as session:
                bind = session.get_bind()
            analyse(bind if isinstance(bind, Engine) else bind.engine)
            self._analyse_at = sys.maxsize
        return w


def _convert(
    batch: Batch,
    file: str,
    reader: RowReader,
    columns: ColumnReader | None,
    gazetteer: Gazetteer,
    settings: Settings,
    rejects: Rejects,
    summary: Summary,
) -> Prepared:
    """A batch of rows as events ready to log, each row's whole or none of it, with the rows of the appeals folded
    column-wise; the rest to the rejects file."""
    n = batch.table.num_rows if batch.table.num_columns else len(batch.numbers)
    summary.rows += n
    out = Prepared()
    rest = list(range(n))
    if columns is not None:
        conv = columns.convert(batch.columns(), n)
        fold, events, rest = _placed(conv, gazetteer)
        if rest:
            items = _convert_rows(batch.rows_at(rest), file, reader, gazetteer, rejects, summary)
            per_row = prepared(items)
            out.log, out.in_hand = per_row.log, per_row.in_hand
            again = pa.array(sorted({it.event.appeal for it in items}), pa.string())
            both = pc.is_in(fold.column("appeal"), again)  # the same appeal in two rows: folded from both
            if pc.any(both).as_py():
                fold = fold.filter(pc.invert(both))
                moved = pc.is_in(events.column("row"), fold.column("row"))
                out.log += log_rows(_log_table(events.filter(pc.invert(moved)), batch, file))
                events = events.filter(moved)
        summary.accepted += fold.num_rows
        out.events = _log_table(events, batch, file)
        street, district = (fold.column(c) for c in ("street", "district"))
        places = {"grid": pa.nulls(fold.num_rows, pa.string()), "community": fold.column("community"),
                  "street": street, "district": district}  # fmt: skip
        out.rows = appeal_table(fold, places, settings)
        return out
    items = _convert_rows(batch.rows_at(rest), file, reader, gazetteer, rejects, summary)
    per_row = prepared(items)
    out.log, out.in_hand = per_row.log, per_row.in_hand
    return out


def _placed(conv: Converted, gazetteer: Gazetteer) -> tuple[pa.Table, pa.Table, list[int]]:
    """The column-wise folds whose community and units the city knows and whose appeal is in no other row of the
    batch, with their street and district; their events (with a fold's index, `at`); the other rows' indices (the
    per-row path says what is wrong, or folds the appeal from all its rows)."""
    index = gazetteer.index
    fold = conv.fold
    comm = fold.column("community").combine_chunks().dictionary_encode()
    codes = comm.dictionary.to_pylist()
    idx = comm.indices
    street = pa.array([index.community_street.get(c) for c in codes], pa.string()).take(idx)
    district = pa.array([index.community_district.get(c) for c in codes], pa.string()).take(idx)
    ok = pc.is_valid(street)
    for units in conv.units:
        known = [u for u in pc.unique(units).to_pylist() if u is not None and u not in index.unit_name]
        if known:
            ok = pc.and_(ok, pc.invert(pc.fill_null(pc.is_in(units, pa.array(known, pa.string())), False)))
    counts = pc.value_counts(fold.column("appeal"))
    twice = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(twice):
        ok = pc.and_(ok, pc.invert(pc.is_in(fold.column("appeal"), twice)))
    fold = fold.append_column("street", street).append_column("district", district)
    rest = sorted(conv.rest + fold.filter(pc.invert(ok)).column("row").to_pylist())
    fold = fold.filter(ok)
    events = conv.events.filter(pc.is_in(conv.events.column("row"), fold.column("row")))
    pos = np.full(max(len(conv.rest) + conv.fold.num_rows, 1), -1, np.int64)
    pos[np.asarray(fold.column("row").to_numpy())] = np.arange(fold.num_rows)
    at = pa.array(pos[np.asarray(events.column("row").to_numpy())])
    for name in ("appeal", "community", "street", "district"):
        events = events.append_column(name, fold.column(name).take(at))
    return fold, events, rest


def _log_table(events: pa.Table, batch: Batch, file: str) -> pa.Table:
    """Column-wise events as the log's columns (`store.COLUMNS` but `received_at`): the place on `created` only."""
    created = pc.equal(events.column("type"), "created")
    numbers = np.asarray(batch.numbers, np.int64)[np.asarray(events.column("row").to_numpy())]
    appeal = events.column("appeal")
    unique = pc.unique(appeal)
    keys = pa.array([partition_key(a) for a in unique.to_pylist()], pa.int64()).take(pc.index_in(appeal, unique))
    none = pa.nulls(events.num_rows, pa.string())
    return pa.table(
        {
            "id": events.column("id"),
            "appeal": events.column("appeal"),
            "partition_key": keys,
            "type": events.column("type"),
            "at": events.column("at"),
            "payload": events.column("payload"),
            "source": pc.binary_join_element_wise(f"import {file[:40]}:", pa.array(numbers).cast(pa.string()), ""),
            "grid": none,
            **{c: pc.if_else(created, events.column(c), none) for c in ("community", "street", "district")},
        }
    )


def _convert_rows(
    rows: list[tuple[int, dict[str, object]]],
    file: str,
    reader: RowReader,
    gazetteer: Gazetteer,
    rejects: Rejects,
    summary: Summary,
) -> list[Accepted]:
    """Rows as events ready to log, one by one, each row's whole or none of it; the rest to the rejects file."""
    done: list[tuple[int, RowEvents]] = []
    refused: list[tuple[int, str, str]] = []
    for n, row in rows:
        try:
            done.append((n, reader.events(row)))
        except RowError as exc:
            refused.append((n, exc.column, exc.reason))
    flat = [e for _, re in done for e, _raw in re.events]
    places = iter(gazetteer.place_events(flat))
    out: list[Accepted] = []
    for n, re in done:
        mine = [(ev, raw, next(places)) for ev, raw in re.events]
        bad = next(((ev, p) for ev, _raw, p in mine if isinstance(p, str)), None)
        if bad is not None:
            ev, why = bad
            refused.append((n, _column_of(ev.type, str(why), re.columns[ev.id]), str(why)))
            continue
        source = f"import {file[:40]}:{n}"
        out += [Accepted(ev, raw, source, p if isinstance(p, Place) else None) for ev, raw, p in mine]
        summary.accepted += 1
    for n, column, why in sorted(refused):
        rejects.add(file, n, column, why)
    summary.rejected += len(refused)
    return out


def _column_of(kind: str, why: str, columns: dict[str, str]) -> str:
    """The column a place or unit check blames: the community's, the coordinates', or the unit's."""
    if kind in UNIT_EVENTS:
        return columns.get("unit", columns["at"])
    if why.startswith("unknown community"):
        return columns.get("community", "")
    return columns.get("location", columns.get("community", ""))
