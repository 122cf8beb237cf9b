"""Reading an export in batches of rows, never whole: CSV (streamed), XLSX (openpyxl read-only) and Parquet
(pyarrow, batch by batch). A batch is an Arrow table (a Parquet file's record batches as they are), each row
numbered as a spreadsheet shows it (the header is row 1)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

Row = tuple[int, dict[str, Any]]
FORMATS = (".csv", ".xlsx", ".parquet")


class ExportError(ValueError):
    """A file that cannot be read as an export; the message names the file."""


@dataclass
class Batch:
    """Rows of an export as an Arrow table (or record batch), kept columnar: `numbers[i]` is row i's number in the
    file; `mixed`: columns whose cells Arrow cannot hold in one type (an XLSX column of times and texts, say), as
    Python cells."""

    numbers: list[int]
    table: pa.Table | pa.RecordBatch
    mixed: dict[str, list[Any]] = field(default_factory=dict)

    def columns(self) -> pa.Table | pa.RecordBatch | dict[str, Any]:
        """The batch for `ColumnReader.convert`."""
        if not self.mixed:
            return self.table
        return {**{n: self.table.column(n) for n in self.table.column_names}, **self.mixed}

    def rows_at(self, index: list[int]) -> list[Row]:
        """These rows (by index), numbered, as column name -> cell."""
        if self.table.num_columns:
            cells = self.table.take(pa.array(index, pa.int64())).to_pylist()
        else:
            cells = [{} for _ in index]
        for name, values in self.mixed.items():
            for row, i in zip(cells, index):
                row[name] = values[i]
        return [(self.numbers[i], c) for i, c in zip(index, cells)]


def _batch(header: list[str], numbered: list[tuple[int, Any]], texts: bool = False) -> Batch:
    """A batch of rows read as sequences of cells in `header` order (shorter ones padded with empty cells); `texts`:
    every cell is a string (CSV)."""
    width = len(header)
    cells = [tuple(v)[:width] if len(v) >= width else (*v, *([None] * (width - len(v)))) for _, v in numbered]
    columns = [list(c) for c in zip(*cells)] if cells else [[] for _ in header]
    typed: dict[str, pa.Array] = {}
    mixed: dict[str, list[Any]] = {}
    for name, col in zip(header, columns):
        typed.pop(name, None)
        mixed.pop(name, None)
        try:
            typed[name] = pa.array(col, pa.string() if texts else None)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            mixed[name] = col
    return Batch([n for n, _ in numbered], pa.table(typed) if typed else pa.table({}), mixed)


@dataclass
class Export:
    """One export file: its header, its size in rows (an estimate for CSV, from bytes read) and its batches."""

    path: Path
    header: list[str]
    rows_total: int | None
    bytes_total: int
    _batches: Iterator[Batch]
    bytes_read: int = 0

    def batches(self) -> Iterator[Batch]:
        """Batches of rows, in file order."""
        return self._batches


def open_export(path: Path, batch: int, encoding: str = "utf-8-sig", sheet: str | None = None) -> Export:
    """Open an export by its suffix and read its header; ExportError naming the file if it cannot."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"{path}: unknown format {suffix!r} (use {', '.join(FORMATS)})")
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    try:
        if suffix == ".csv":
            return _csv(path, batch, encoding)
        if suffix == ".xlsx":
            return _xlsx(path, batch, sheet)
        return _parquet(path, batch)
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001  # whatever the reader raises, it says the file is not readable
        raise ExportError(f"{path}: cannot read it as {suffix[1:].upper()}: {exc}") from None


def _csv(path: Path, batch: int, encoding: str) -> Export:
    raw = path.open("rb")
    f = io.TextIOWrapper(raw, encoding=encoding, newline="")
    reader = csv.reader(f)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        f.close()
        raise ExportError(f"{path}: empty file, no header") from None
    except UnicodeDecodeError as exc:
        f.close()
        raise ExportError(f"{path}: not {encoding} text ({exc.reason}); set source.encoding in the mapping") from None
    export = Export(path, header, None, os.path.getsize(path), iter(()))

    def gen() -> Iterator[Batch]:
        out: list[tuple[int, Any]] = []
        n = 1
        try:
            for rec in reader:
                n += 1
                if not any(rec):
                    continue
                out.append((n, rec))
                if len(out) >= batch:
                    export.bytes_read = raw.tell()  # read ahead by one buffer at most
                    yield _batch(header, out, texts=True)
                    out = []
            export.bytes_read = export.bytes_total
            if out:
                yield _batch(header, out, texts=True)
        finally:
            f.close()

    export._batches = gen()
    return export


def _xlsx(path: Path, batch: int, sheet: str | None) -> Export:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    first = next(rows, None)
    if first is None:
        wb.close()
        raise ExportError(f"{path}: empty sheet, no header")
    header = ["" if h is None else str(h).strip() for h in first]
    total = (ws.max_row - 1) if ws.max_row else None

    def gen() -> Iterator[Batch]:
        out: list[tuple[int, Any]] = []
        try:
            for n, values in enumerate(rows, start=2):
                if all(v is None for v in values):
                    continue
                out.append((n, values))
                if len(out) >= batch:
                    yield _batch(header, out)
                    out = []
            if out:
                yield _batch(header, out)
        finally:
            wb.close()

    return Export(path, header, total, os.path.getsize(path), gen())


def _parquet(path: Path, batch: int) -> Export:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    header = list(pf.schema_arrow.names)

    def gen() -> Iterator[Batch]:
        n = 1
        for rb in pf.iter_batches(batch_size=batch):
            k = rb.num_rows
            yield Batch(list(range(n + 1, n + 1 + k)), rb)
            n += k

    return Export(path, header, pf.metadata.num_rows, os.path.getsize(path), gen())
