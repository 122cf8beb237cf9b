"""Binary COPY written over whole columns (data_access.store.pg_binary) stores what PostgreSQL's own CSV COPY of the
same table stores, cell for cell: every type the import writes, NULLs in each, empty and non-ASCII texts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from sqlalchemy import Engine

from data_access.store import pg_binary
from data_access.store.engine import make_engine
from data_access.store.pg_binary import Unsupported, copy_body
from tests.conftest import PG_URL

pytestmark = pytest.mark.integration

COLUMNS = (
    "t text, v varchar(64), b bigint, i integer, s smallint, f double precision, r real, ok boolean, "
    "ts timestamp without time zone, tz timestamp with time zone"
)


@pytest.fixture()
def engine() -> Iterator[Engine]:
    e = make_engine(PG_URL)
    yield e
    e.dispose()


def _table(n: int) -> pa.Table:
    def some(values: list[Any]) -> list[Any]:
        return [None if k % 3 == 1 else values[k % len(values)] for k in range(n)]

    times = [datetime(1999, 12, 31, 23, 59, 59, 999999, UTC), datetime(2026, 11, 30, 8, 0, 8, tzinfo=UTC),
             datetime(1970, 1, 1, tzinfo=UTC), datetime(2000, 1, 1, tzinfo=UTC)]  # fmt: skip
    return pa.table(
        {
            "t": pa.array(some(['{"a":"李先生反映：垃圾堆积"}', "", 'quote " , comma\nline', "x" * 300]), pa.string()),
            "v": pa.array(some(["A20261027-000487#c", "110111201214", "ü"]), pa.string()),
            "b": pa.array(some([0, -1, 2**62, 1189698800]), pa.int64()),
            "i": pa.array(some([0, -7, 2**31 - 1, 256]), pa.int64()),
            "s": pa.array(some([1, -2, 32767]), pa.int32()),
            "f": pa.array(some([0.0, -1.5, 116.39712345678, 1e-300]), pa.float64()),
            "r": pa.array(some([0.5, -2.25]), pa.float64()),
            "ok": pa.array(some([True, False]), pa.bool_()),
            "ts": pa.array(some(times), pa.timestamp("us")).cast(pa.timestamp("us")),
            "tz": pa.array(some(times), pa.timestamp("us", tz="UTC")),
        }
    )


def _stored(engine: Engine, table: pa.Table, binary: bool) -> list[Any]:
    with engine.connect() as conn:
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open
        cur.execute(f"CREATE TEMP TABLE copied ({COLUMNS})")
        cur.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = 'copied'::regclass AND attnum > 0")
        types = dict(cur.fetchall())
        names = ", ".join(table.column_names)
        if binary:
            with cur.copy(f"COPY copied ({names}) FROM STDIN (FORMAT BINARY)") as cp:
                cp.write(copy_body(table, types))
        else:
            buf = io.BytesIO()
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
            with cur.copy(f"COPY copied ({names}) FROM STDIN (FORMAT CSV)") as cp:
                cp.write(buf.getvalue())
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(f"SELECT {names} FROM copied ORDER BY ctid")
        rows = list(cur.fetchall())
        conn.rollback()
    return rows


@pytest.mark.parametrize("n", [0, 1, 2, 500])
def test_binary_copy_stores_what_csv_copy_stores(engine: Engine, n: int) -> None:
    table = _table(n)
    binary = _stored(engine, table, binary=True)
    assert len(binary) == n
    assert binary == _stored(engine, table, binary=False)
    if n > 1:
        assert (
            binary[0][0] == '{"a":"李先生反映：垃圾堆积"}'
            and binary[1][0] is None
            and binary[0][8].microsecond == 999999
        )


def test_a_sliced_table_is_written_from_its_own_rows(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table(40)
    part = table.slice(7, 20)
    assert _stored(engine, part, binary=True) == _stored(engine, table, binary=False)[7:27]
    monkeypatch.setattr(pg_binary, "SLICE", 3)  # a large table is encoded a slice at a time, in one body
    assert _stored(engine, table, binary=True) == _stored(engine, table, binary=False)


def test_an_unsupported_type_is_refused_by_name() -> None:
    with pytest.raises(Unsupported, match="oid 114"):
        copy_body(pa.table({"j": pa.array(["{}"])}), {"j": 114})
