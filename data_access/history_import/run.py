"""An import run: check every file's columns against the mapping before writing anything, then stream each file
in batches: columns -> contract events and folded appeal rows (dashboard.history_columns; a row of an unusual
shape through dashboard.history_rows, row by row) -> places in the city (the ingest's Gazetteer) -> the store
(`write_batch`). A row that cannot be imported goes to the rejects file with the file name, row number, column and
reason; the run goes on."""

from __future__ import annotations

import csv
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from dashboard.history_columns import ColumnReader
from dashboard.history_mapping import Mapping
from dashboard.history_rows import RowError, RowEvents, RowReader
from dashboard.partitions import partition_key
from dashboard.settings import Settings
from data_access.history_import.readers import Batch, Export, ExportError, open_export
from data_access.history_import.store import Prepared, Written, prepared, write_batch
from data_access.intake.event_log import Accepted, Place
from data_access.intake.reference_data import UNIT_EVENTS, Gazetteer
from data_access.projection.rows import appeal_row

log = logging.getLogger(__name__)

REJECT_HEADER = ("file", "row", "column", "reason")
BATCH_ROWS = 5000
PROGRESS_EVERY_S = 5.0


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
    importer = Importer(mapping, sessions, settings, gazetteer, rejects_path, columnar=columnar)
    summary = importer.summary
    summary.files = [str(p) for p in paths]
    total_bytes = sum(e.bytes_total for e in exports) or 1
    rows_total = sum(e.rows_total or 0 for e in exports) if all(e.rows_total for e in exports) else None
    progress = Progress(rows_total, report, stream if stream is not None else sys.stderr)
    t0 = time.monotonic()
    bytes_done = 0
    try:
        for e in exports:
            for b in e.batches():
                importer.add(b, e.path.name, now())
                if rows_total:
                    fraction = summary.rows / rows_total
                else:
                    fraction = (bytes_done + (e.bytes_read or 0)) / total_bytes
                progress.update(summary.rows, min(fraction, 1.0))
            bytes_done += e.bytes_total
        progress.update(summary.rows, 1.0, final=True)
    finally:
        importer.close()
    summary.seconds = time.monotonic() - t0
    return summary


class Importer:
    """Batches of an export into the store by one mapping (`python app.py import`'s path, batch by batch): each
    converted column-wise (rows of an unusual shape row by row), placed, written by `write_batch`; rows refused to
    the rejects file; counts in `summary`."""

    def __init__(
        self,
        mapping: Mapping,
        sessions: sessionmaker[Session],
        settings: Settings,
        gazetteer: Gazetteer,
        rejects_path: Path,
        *,
        columnar: bool = True,
    ) -> None:
        self.sessions, self.settings, self.gazetteer = sessions, settings, gazetteer
        self.reader = RowReader(mapping, settings.max_text_len)
        self.columns = ColumnReader(self.reader) if columnar else None
        self.rejects = Rejects(rejects_path)
        self.summary = Summary()

    def add(self, batch: Batch, file: str, now: datetime) -> Written:
        """Convert and write one batch of rows of `file`; what the store did."""
        ready = _convert(batch, file, self.reader, self.columns, self.gazetteer, self.settings, self.rejects,
                         self.summary)  # fmt: skip
        w = write_batch(self.sessions, self.settings, ready, now)
        self.summary.events += w.events
        self.summary.appeals += w.appeals
        self.summary.deferred += w.deferred
        return w

    def close(self) -> None:
        self.rejects.close()


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
    n = len(batch.numbers)
    summary.rows += n
    out = Prepared()
    rest = list(range(n))
    if columns is not None:
        conv = columns.convert(batch.columns, n)
        rest = conv.rest
        index = gazetteer.index
        streets, districts, units = index.community_street, index.community_district, index.unit_name
        prefix = f"import {file[:40]}:"
        for i, appeal, code, used, evs, draft in zip(
            conv.index, conv.appeal, conv.community, conv.units, conv.events, conv.drafts
        ):
            street = streets.get(code)
            if street is None or any(u not in units for u in used) or appeal in out.rows:
                rest.append(i)  # an unknown community or unit: the per-row path says which; a repeated appeal
                continue
            place = Place(None, code, street, districts[code])
            key = partition_key(appeal)
            source = f"{prefix}{batch.numbers[i]}"
            for eid, kind, at, payload in evs:
                if kind == "created":
                    out.log.append((eid, appeal, key, kind, at, payload, source, None, code, street, place.district))
                else:
                    out.log.append((eid, appeal, key, kind, at, payload, source, None, None, None, None))
            out.rows[appeal] = (appeal_row(draft, place, settings), tuple(e[0] for e in evs))
            summary.accepted += 1
    if rest:
        items = _convert_rows([(batch.numbers[i], batch.row(i)) for i in sorted(rest)], file, reader, gazetteer,
                              rejects, summary)  # fmt: skip
        per_row = prepared(items)
        out.log += per_row.log
        out.in_hand.update(per_row.in_hand)
        for it in items:
            out.rows.pop(it.event.appeal, None)  # the same appeal in two rows: folded from both
    return out


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
