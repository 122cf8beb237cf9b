"""appeal_events: the call-backs indexed by time

Rankings count every call-back made in a month, each a `reviewed` event in the log (dashboard/rankings.py), and
keep each day's count until events change that day. A partial index on `at` of the `reviewed` events alone
finds a day's call-backs without reading the rest of the log; the ingest writes it for one event in six or so.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_WHERE = sa.text("type = 'reviewed'")


def _log_schema() -> str | None:
    """'log' where the store attaches a file of its own for the log (SQLite on disk, see data_access.store.engine)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and any(r[1] == "log" for r in bind.exec_driver_sql("PRAGMA database_list")):
        return "log"
    return None


def upgrade() -> None:
    op.create_index(
        "ix_appeal_events_reviewed_at",
        "appeal_events",
        ["at"],
        schema=_log_schema(),
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_appeal_events_reviewed_at", table_name="appeal_events", schema=_log_schema())
