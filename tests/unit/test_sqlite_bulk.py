"""SQLite's bulk insert of Arrow tables stores exactly what binding each value as it is stores, row by row in the
table's order: NULLs as NULL (in a column of text and in any other), an empty text, a zero, booleans as 0/1, times as
`sqlite_time` writes them, and a column with no value at all left to its default; whole statements of rows and the
rest."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from data_access.store import sqlite_bulk
from data_access.store.bulk import sqlite_time
from data_access.store.sqlite_bulk import bound_columns, insert_table

T = datetime(2026, 11, 30, 5, 6, 7, 89, tzinfo=UTC)

COLUMNS = {
    "id": pa.array(["a", "b", "c", "d"]),
    "text": pa.array(["x", None, "", "0"]),
    "number": pa.array([0, None, 3, -1], pa.int64()),
    "real": pa.array([0.0, 1.5, None, 1e300]),
    "flag": pa.array([True, False, None, True]),
    "at": pa.array([T, None, T, T], pa.timestamp("us", tz="UTC")),
    "unset": pa.nulls(4, pa.string()),
}
SELECT = "SELECT typeof(text), typeof(number), typeof(real), typeof(at), * FROM t ORDER BY seq"


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, id VARCHAR(8) UNIQUE, text TEXT, number BIGINT, "
        "real FLOAT, flag BOOLEAN, at DATETIME, unset VARCHAR(8))"
    )
    return conn


def _plain(conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """The rows as binding each value as it is stores them."""
    conn.executemany("INSERT INTO t (id, text, number, real, flag, at, unset) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return conn.execute(SELECT).fetchall()


@pytest.mark.parametrize("per_statement", [3, 256])
@pytest.mark.parametrize("rows", [4, 3, 1, 0])
def test_insert_table_stores_what_binding_each_value_stores(
    rows: int, per_statement: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_bulk, "ROWS_PER_STATEMENT", per_statement)
    table = pa.table({k: v.slice(0, rows) for k, v in COLUMNS.items()})
    bulk = _db()
    insert_table(bulk.cursor(), "t", table)
    got = bulk.execute(SELECT).fetchall()
    values = [
        (r["id"], r["text"], r["number"], r["real"], r["flag"], sqlite_time(r["at"]), r["unset"])
        for r in table.to_pylist()
    ]
    assert got == _plain(_db(), values)
    if rows:
        assert got[0][4:] == (1, "a", "x", 0, 0.0, 1, sqlite_time(T), None)


def test_columns_without_values_are_left_out_and_nulls_bound_as_placeholders() -> None:
    names, marks, values = bound_columns(pa.table(COLUMNS))
    assert "unset" not in names
    assert dict(zip(names, marks)) == {
        "id": "?",
        "text": "NULLIF(?, 0)",
        "number": "NULLIF(?, '')",
        "real": "NULLIF(?, '')",
        "flag": "NULLIF(?, '')",
        "at": "NULLIF(?, 0)",
    }
    for v in values:  # only types the driver binds without its adapters
        assert {type(x) for x in v} <= {str, int, float}


def test_a_statement_takes_no_more_parameters_than_the_driver_allows() -> None:
    conn = _db()
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 13)  # two rows of six values a statement
    table = pa.table(COLUMNS)
    insert_table(conn.cursor(), "t", table)
    assert conn.execute("SELECT id FROM t ORDER BY seq").fetchall() == [("a",), ("b",), ("c",), ("d",)]


def test_a_constraint_error_is_raised() -> None:
    conn = _db()
    table = pa.table({"id": ["a", "a"]})
    with pytest.raises(sqlite3.IntegrityError):
        insert_table(conn.cursor(), "t", table)
