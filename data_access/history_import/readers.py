"""Reading an export in batches of rows, never whole: CSV (streamed), XLSX (openpyxl read-only) and Parquet
(pyarrow, batch by batch). A batch holds its rows column by column (column name -> cells), each row numbered as a
spreadsheet shows it (the header is row 1)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Row = tuple[int, dict[str, Any]]
FORMATS = (".csv", ".xlsx", ".parquet")


class ExportError(ValueError):
    """A file that cannot be read as an export; the message names the file."""


@dataclass
class Batch:
    """Rows of an export, column by column: `numbers[i]` is row i's number in the file, `columns[name][i]` its cell."""

    numbers: list[int]
    columns: dict[str, list[Any]]

    def row(self, i: int) -> dict[str, Any]:
        """Row i as column name -> cell."""
        return {name: cells[i] for name, cells in self.columns.items()}

    def rows(self) -> list[Row]:
        """Every row, numbered."""
        return [(n, self.row(i)) for i, n in enumerate(self.numbers)]


def _batch(header: list[str], numbered: list[tuple[int, Any]]) -> Batch:
    """A batch of rows read as sequences of cells in `header` order (shorter ones padded with empty cells)."""
    width = len(header)
    cells = [tuple(v)[:width] if len(v) >= width else (*v, *([None] * (width - len(v)))) for _, v in numbered]
    columns = [list(c) for c in zip(*cells)] if cells else [[] for _ in header]
    return Batch([n for n, _ in numbered], dict(zip(header, columns)))


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
                    yield _batch(header, out)
                    out = []
            export.bytes_read = export.bytes_total
            if out:
                yield _batch(header, out)
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
            yield Batch(list(range(n + 1, n + 1 + k)), rb.to_pydict())
            n += k

    return Export(path, header, pf.metadata.num_rows, os.path.getsize(path), gen())
