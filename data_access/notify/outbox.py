"""The outbox: producers queue notices inside their own transaction; the sender (`sender.py`) delivers them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from dashboard.notices import Notice, address, enabled_channels
from dashboard.settings import Settings
from data_access.notify.tables import Delivery

_TABLE = Delivery.__table__
#: Channel and state of the record of a notice no enabled channel reaches (none is on, or the recipient has no
#: address on any that is): kept, so that what was not sent is seen, never sent.
UNREACHED = "unreached"


def queue(conn: Connection, notices: Iterable[Notice], settings: Settings, now: datetime | None = None) -> int:
    """Insert one delivery per enabled channel on which each notice's recipient can be reached, in the caller's
    transaction (nothing is committed here). A (key, channel) queued before is left as it is. Returns how many
    rows are new. A notice no enabled channel reaches is recorded once as UNREACHED (/healthz says when no
    channel is on)."""
    now = now or datetime.now(UTC)
    channels = enabled_channels(settings)
    rows = []
    for n in notices:
        reach = [(c, a) for c in channels if (a := address(n.recipient, c)) is not None]
        for channel, where in reach or [(UNREACHED, "")]:
            rows.append(
                {
                    "key": n.key,
                    "channel": channel,
                    "address": where,
                    "kind": n.kind,
                    "recipient": n.recipient.name,
                    "role": n.recipient.role,
                    "language": n.recipient.language,
                    "subject": n.subject,
                    "body": n.text,
                    "link": n.link,
                    "attachments": json.dumps([[a.filename, a.content_type, a.path] for a in n.attachments]),
                    "appeal": n.appeal,
                    "district": n.district,
                    "street": n.street,
                    "grid": n.grid,
                    "state": "pending" if channel != UNREACHED else UNREACHED,
                    "created_at": now,
                    "due_at": now,
                    "attempts": 0,
                    "failures": 0,
                }
            )
    if not rows:
        return 0
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(_TABLE).on_conflict_do_nothing(index_elements=["key", "channel"]).returning(_TABLE.c.id)
    # many parameter sets: one multi-row INSERT per page of rows (SQLAlchemy's "insertmanyvalues"), the statement
    # compiled once and cached; counted by RETURNING (rowcount of ON CONFLICT DO NOTHING is -1 on psycopg)
    return len(conn.execute(stmt, rows).all())
