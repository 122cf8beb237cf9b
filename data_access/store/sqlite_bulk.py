"""SQLite: inserting an Arrow table's rows in bulk, with as little of the interpreter's work per value as the driver
allows (the history import's hot path, `data_access.history_import.store`).

The driver (`sqlite3`) binds an exact `str`, `int` or `float` directly; any other value (`None`, `bool`) first goes
through its adapter look-ups, which cost about as much as the binding itself. So: a column with no value at all is
left out of the INSERT (its default, NULL, is what it would get); a boolean column is bound as 0/1 integers (what
SQLAlchemy's Boolean stores); a NULL in a column of text is bound as the integer 0 and turned back into NULL by
`NULLIF(?, 0)` (an integer never equals a text), in any other column as the text '' by `NULLIF(?, '')` (nor does a
text equal a number). Times (aware UTC) are stored as `sqlite_time` writes them, naive UTC with six digits of
fraction. The rows are handed to the driver as they are made (no list of tuples), with the cyclic garbage collector
paused meanwhile: none of them is kept, and a collection every few hundred tuples found nothing but cost a tenth of
the insert."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

#: `dict.get(v, v)`: None -> the placeholder the NULLIF gives back as NULL, any other value itself.
_TEXT_NULL = {None: 0}
_OTHER_NULL = {None: ""}


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


def insert_table(cursor: Any, name: str, table: pa.Table) -> None:
    """INSERT the rows of an Arrow table into the SQLite table `name` (same column names) through a DB-API cursor
    of the session's connection, in the table's order. A constraint's error is the driver's (rows before the failing
    one stay inserted: the caller's savepoint undoes them)."""
    if table.num_rows == 0:
        return
    names, marks, values = bound_columns(table)
    execute_many(cursor, f"INSERT INTO {name} ({_quoted(names)}) VALUES ({', '.join(marks)})", zip(*values))


def execute_many(cursor: Any, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """`cursor.executemany` over rows made as the driver takes them, the cyclic garbage collector paused meanwhile."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        cursor.executemany(sql, rows)
    finally:
        if collecting:
            gc.enable()
