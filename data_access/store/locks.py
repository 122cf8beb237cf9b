"""PostgreSQL advisory lock keys of a store: its own, whichever schema of a database it lives in."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection

#: The schema whose stores keep the plain keys (the keys the store had before they depended on the schema).
PLAIN_SCHEMA = "public"


def lock_key(conn: Connection, key: int) -> int:
    """The advisory lock key standing for `key` in the store `conn` works in.

    Advisory locks are per database, not per schema: two stores in one database (a schema each) would hold up
    each other's log writers and projectors. A store outside `public` mixes its schema into the key; the
    schema is read once per database connection."""
    schema = conn.info.get("advisory_schema")
    if schema is None:
        schema = conn.info["advisory_schema"] = conn.exec_driver_sql("SELECT current_schema()").scalar() or ""
    if schema == PLAIN_SCHEMA:
        return key
    digest = hashlib.blake2b(f"{schema}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
