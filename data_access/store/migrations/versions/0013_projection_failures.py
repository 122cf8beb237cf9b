"""projection_failures: an appeal the projection cannot fold no longer stalls its partition

Until now a batch that failed to fold or to write (an event dated 9999-12-31 overflows the due time; a
value PostgreSQL refuses) was retried for ever, and every later event of its partition waited behind it.
The projector now leaves such an appeal out of the batch, records it here (the event, the reason, when it
first and last failed, how many times) and marks its row (`appeals.projection_failed_at`); the rest of the
partition goes on. The appeal is folded whole again with its next event; once it folds, its record goes
and the mark is cleared.

Both are new and empty: nothing to backfill. Adding a nullable column without a default rewrites
neither `appeals` table (PostgreSQL and SQLite change their catalogue only).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projection_failures",
        sa.Column("appeal", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=True),
        sa.Column("event_seq", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("appeal"),
    )
    op.create_index("ix_projection_failures_last_failed_at", "projection_failures", ["last_failed_at"])
    op.add_column("appeals", sa.Column("projection_failed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE appeals DROP COLUMN projection_failed_at")  # SQLite >= 3.35: no table rebuild
    op.drop_index("ix_projection_failures_last_failed_at", table_name="projection_failures")
    op.drop_table("projection_failures")
