"""SQLite: inserting an Arrow table's rows in bulk, with as little of the interpreter's work per value as the driver
allows (the history import's hot path, `data_access.history_import.store`).

The driver (`sqlite3`) binds an exact `str`, `int` or `float` directly; any other value (`None`, `bool`) first goes
through its adapter look-ups, which cost about as much as the binding itself. So: a column with no value at all is
left out of the INSERT (its default, NULL, is what it would get); a boolean column is bound as 0/1 integers (what
SQLAlchemy's Boolean stores); a NULL in a column of text is bound as the integer 0 and turned back into NULL by
`NULLIF(?, 0)` (an integer never equals a text), in any other column as the text '' by `NULLIF(?, '')` (nor does a
text equal a number). Times (aware UTC) are stored as `sqlite_time` writes them, naive UTC with six digits of
fraction.

The rows go in as INSERTs of up to `ROWS_PER_STATEMENT` rows each: a statement's own work (its end, the log's
AUTOINCREMENT read from and written back to `sqlite_sequence`, the driver's reset) is paid once per statement, not
once per row, and so is the driver's release and retaking of the interpreter's lock around each statement's step
(each time the read-ahead thread holds it, the insert waits). The values are handed over in one flat list, no
tuple per row, with the cyclic garbage collector paused meanwhile: none of them is garbage, and the collections
their allocations set off cost a tenth of the insert."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import pyarrow as pa

#: `dict.get(v, v)`: None -> the placeholder the NULLIF gives back as NULL, any other value itself.
_TEXT_NULL = {None: 0}
_OTHER_NULL = {None: ""}
#: Rows an INSERT statement takes (as many as the driver's limit of parameters allows, up to this).
ROWS_PER_STATEMENT = 256


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def bound_columns(table: pa.Table) -> tuple[list[str], list[str], list[list[Any]]]:
    """The columns to insert (names), their placeholders and their values (lists the driver binds directly)."""
    names: list[str] = []
    marks: list[str] = []
    values: list[list[Any]] = []
    for name, col in zip(table.column_names, table.columns):
        if len(col) and col.null_count == len(col):
            continue  # NULL throughout: the column's default
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("us")).cast(pa.string())  # naive UTC, as sqlite_time writes it
        elif pa.types.is_boolean(col.type):
            col = col.cast(pa.int8())
        v = col.to_pylist()
        if col.null_count:
            text = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
            nulls = _TEXT_NULL if text else _OTHER_NULL
            v = list(map(nulls.get, v, v))
            marks.append("NULLIF(?, 0)" if text else "NULLIF(?, '')")
        else:
            marks.append("?")
        names.append(name)
        values.append(v)
    return names, marks, values


@dataclass(frozen=True)
class Bound:
    """An Arrow table's rows as `insert_table` binds them: the columns inserted, their placeholders, and every
    value in one flat list, row by row (made ahead of the insert by the history import's read-ahead thread)."""

    names: list[str]
    marks: list[str]
    flat: list[Any]


def bound(table: pa.Table) -> Bound:
    """The table's rows as the driver binds them (`bound_columns`), flattened row by row."""
    names, marks, values = bound_columns(table)
    return Bound(names, marks, list(chain.from_iterable(zip(*values))))


def insert_table(cursor: Any, name: str, table: pa.Table | Bound) -> None:
    """INSERT the rows of an Arrow table (or of its `bound` form) into the SQLite table `name` (same column names)
    through a DB-API cursor of the session's connection, in the table's order. A constraint's error is the
    driver's (the statements before the failing one stay: the caller's transaction or savepoint undoes them)."""
    rows = table if isinstance(table, Bound) else bound(table)
    if not rows.flat:
        return
    names, marks, flat = rows.names, rows.marks, rows.flat
    width = len(names)
    per_statement = max(
        1, min(ROWS_PER_STATEMENT, cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
    )
    head = f"INSERT INTO {name} ({_quoted(names)}) VALUES "
    row = f"({', '.join(marks)})"
    step = per_statement * width
    whole = len(flat) // step * step
    if whole:
        execute_many(
            cursor, head + ", ".join([row] * per_statement), (flat[i : i + step] for i in range(0, whole, step))
        )
    if whole < len(flat):
        cursor.execute(head + ", ".join([row] * ((len(flat) - whole) // width)), flat[whole:])


def execute_many(cursor: Any, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """`cursor.executemany` over rows made as the driver takes them, the cyclic garbage collector paused meanwhile."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        cursor.executemany(sql, rows)
    finally:
        if collecting:
            gc.enable()
