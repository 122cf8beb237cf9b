"""appeal_events.fold_key: each folder reads only its own share of the log

The appeals are folded in shares (FOLDERS), one folder process each; an appeal's share is the crc32 of
its id modulo the number of shares. Until now every folder read every logged event and kept its own.
The ingest worker now stores the crc32 with each event, so the database hands each folder its share
alone: half the reading with two folders, and a batch of FOLD_BATCH events spans twice the log, so an
appeal with several events in it is written once instead of twice.

Events logged before this migration keep NULL: every folder reads them and keeps those of its share,
as before. No backfill: only the events after the lowest fold mark are read by share again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _log_schema() -> str | None:
    """'log' where the store attaches a file of its own for the log (SQLite on disk, see data_access.store.engine)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and any(r[1] == "log" for r in bind.exec_driver_sql("PRAGMA database_list")):
        return "log"
    return None


def upgrade() -> None:
    op.add_column("appeal_events", sa.Column("fold_key", sa.BigInteger(), nullable=True), schema=_log_schema())


def downgrade() -> None:
    schema = _log_schema()
    op.execute(f"ALTER TABLE {schema + '.' if schema else ''}appeal_events DROP COLUMN fold_key")  # SQLite >= 3.35
