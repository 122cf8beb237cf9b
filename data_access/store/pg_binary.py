"""An Arrow table as the body of PostgreSQL's `COPY … FROM STDIN (FORMAT BINARY)`, written over whole columns.

The server reads binary COPY without parsing: no CSV quoting to undo, no text of a time or a number to read. Over
the history import's events and appeal rows that is about 40 % of the server's COPY time (`docs/benchmarks.md`).
The format (PostgreSQL's documentation, "COPY … Binary Format"): a signature, then each row as a 16-bit count of
fields and each field as a 32-bit length (-1: NULL) and its bytes, in network byte order, then -1 as a 16-bit
trailer. Each column's fields are made as one Arrow binary array (length and bytes joined by Arrow's kernels), the
rows as one array joining them; its data buffer is the body. No Python object per row or per cell."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # flags, header extension length
TRAILER = b"\xff\xff"
#: Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
PG_EPOCH_US = 946_684_800 * 1_000_000
NULL = b"\xff\xff\xff\xff"

#: Built-in type oids (the same in every database) -> the numpy type of their binary form; text types are sent as
#: their UTF-8 bytes.
FIXED: dict[int, np.dtype[Any]] = {
    16: np.dtype("u1"),  # boolean
    20: np.dtype(">i8"),  # bigint
    21: np.dtype(">i2"),  # smallint
    23: np.dtype(">i4"),  # integer
    700: np.dtype(">f4"),  # real
    701: np.dtype(">f8"),  # double precision
    1114: np.dtype(">i8"),  # timestamp without time zone: microseconds since 2000-01-01
    1184: np.dtype(">i8"),  # timestamp with time zone: the same, UTC
}
TEXT = frozenset({25, 1043, 1042})  # text, varchar, char


class Unsupported(TypeError):
    """A column whose PostgreSQL type this encoder does not write."""


#: Rows encoded at a time: an Arrow binary array holds at most 2 GB, and a row of the store is far below 10 KB.
SLICE = 100_000


def copy_body(table: pa.Table, types: Mapping[str, int]) -> bytes:
    """The whole binary COPY stream of `table`'s rows (signature, rows, trailer); `types`: each column's PostgreSQL
    type oid (`pg_attribute.atttypid`). Timestamps are taken as UTC (naive or aware); strings as they are (the server
    refuses U+0000 in text)."""
    bodies = [_rows(table.slice(at, SLICE), types) for at in range(0, table.num_rows, SLICE)]
    return b"".join((SIGNATURE, *bodies, TRAILER))


def _rows(table: pa.Table, types: Mapping[str, int]) -> memoryview | bytes:
    n = table.num_rows
    parts = [_fixed(np.full(n, len(table.column_names), ">i2").view("S2"), 2)]
    for name in table.column_names:
        parts += _field(table.column(name).combine_chunks(), types[name], n)
    rows = pc.binary_join_element_wise(*parts, b"")  # one pass over every row's fields
    offsets = np.frombuffer(rows.buffers()[1], np.int32, n + 1, rows.offset * 4)
    data = rows.buffers()[2]
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])] if data is not None else b""


def _field(col: pa.Array, oid: int, n: int) -> list[pa.Array]:
    """Each cell as a binary COPY field: its length (4 bytes) and its bytes (NULL: length -1 alone), as the arrays
    to join (a text column: its lengths, then its bytes)."""
    if oid in TEXT:
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_null(col.type)):
            raise Unsupported(f"text column of Arrow type {col.type}")
        lengths = pc.fill_null(pc.binary_length(col), -1).to_numpy(zero_copy_only=False).astype(">i4")
        return [_fixed(lengths.view("S4"), 4), pc.fill_null(col.cast(pa.binary()), b"")]
    dtype = FIXED.get(oid)
    if dtype is None:
        raise Unsupported(f"PostgreSQL type oid {oid}")
    if pa.types.is_timestamp(col.type):
        raw = pc.fill_null(col.cast(pa.timestamp("us", tz=col.type.tz)).cast(pa.int64()), 0).to_numpy()
        values = (raw - PG_EPOCH_US).astype(dtype)
    elif pa.types.is_boolean(col.type):
        values = pc.fill_null(col, False).to_numpy(zero_copy_only=False).astype(dtype)
    elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_null(col.type):
        values = pc.fill_null(col.cast(pa.float64() if dtype.kind == "f" else pa.int64()), 0).to_numpy()
        values = values.astype(dtype)
    else:
        raise Unsupported(f"Arrow type {col.type} for PostgreSQL type oid {oid}")
    width = dtype.itemsize
    cells = np.empty(n, np.dtype([("len", ">i4"), ("value", dtype)]))
    cells["len"] = width
    cells["value"] = values
    out = _fixed(cells.view(f"S{4 + width}"), 4 + width)
    if col.null_count == 0:
        return [out]
    return [pc.if_else(pc.is_valid(col), out, pa.scalar(NULL, pa.binary()))]


def _fixed(raw: np.ndarray, width: int) -> pa.Array:
    """Fixed-width byte strings (numpy `S{width}`, which would drop trailing zero bytes as Python values) as an Arrow
    binary array, from their buffer."""
    buf = pa.py_buffer(np.ascontiguousarray(raw).tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(raw), [None, buf]).cast(pa.binary())
