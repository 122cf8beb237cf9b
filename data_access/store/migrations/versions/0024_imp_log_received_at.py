"""appeal_events: the index on `received_at` dropped

It served one question, when the store last took in an event (`max(received_at)`), which the log's own key answers
as well: the last event logged (the highest `seq`, events being numbered in commit order) is the last received
(data_access/intake/event_log.py, `last_received`). Kept, it cost an entry per event logged: on a history import of
1,000,000 appeals a fifth (PostgreSQL) to a quarter (SQLite) of the time spent building the indexes left out.

Revision ID: 0024_imp
Revises: 0023_prb
Create Date: 2026-11-30 09:00:00
"""

from alembic import op

revision = "0024_imp"
down_revision = "0023_prb"
branch_labels = None
depends_on = None


def _log_schema() -> str | None:
    """'log' where the store attaches a file of its own for the log (SQLite on disk, see data_access.store.engine)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and any(r[1] == "log" for r in bind.exec_driver_sql("PRAGMA database_list")):
        return "log"
    return None


def upgrade() -> None:
    schema = _log_schema()
    op.execute(f"DROP INDEX IF EXISTS {schema + '.' if schema else ''}ix_appeal_events_received_at")


def downgrade() -> None:
    op.create_index("ix_appeal_events_received_at", "appeal_events", ["received_at"], schema=_log_schema())
