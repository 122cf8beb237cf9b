"""appeals and the event log hold every string the intake contract allows, on PostgreSQL as on SQLite

The contract bounds ids (64 characters) but not codes: a `channel`, a category or a grid member's id is held
only to the parser's MAX_TEXT_LEN. PostgreSQL refused what did not fit `varchar(32)` / `varchar(64)` (SQLite
ignores declared lengths), so one event the contract allows stalled folding there. These columns become `text`
(no rewrite of the table: varchar to text is a change of type name only). The event log's `source`, a Redis
entry id (two 64-bit numbers, 41 characters at most), goes from 32 to 64 characters.

SQLite enforces no declared length: nothing to do there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 12:00:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TEXT_COLUMNS = {"channel": 32, "cat1": 64, "cat2": 64, "cat3": 64, "member": 64}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE appeals " + ", ".join(f"ALTER COLUMN {c} TYPE text" for c in TEXT_COLUMNS))
    op.execute("ALTER TABLE appeal_events ALTER COLUMN source TYPE varchar(64)")


def downgrade() -> None:
    """Back to the old lengths: fails if a longer value is stored (PostgreSQL says which)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE appeals " + ", ".join(f"ALTER COLUMN {c} TYPE varchar({n})" for c, n in TEXT_COLUMNS.items())
    )
    op.execute("ALTER TABLE appeal_events ALTER COLUMN source TYPE varchar(32)")
