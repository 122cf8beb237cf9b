"""day_aggregates, day_aggregates_mark: the day cache's per-day aggregates kept in the store

A fresh process read every per-day aggregate of the problems, the space-time scan and topics from `appeals`
(about 9 s over 1.3 million appeals); with these tables it reads the days kept here (a row per kind, variant and
day) and recomputes only the days the events logged since changed (data_access/wall/day_store.py). Both tables
are new and start empty: the first process to start fills them as it computes.

Revision ID: 0023_prb
Revises: 0022_esc
Create Date: 2026-11-29 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_prb"
down_revision = "0022_esc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "day_aggregates",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("variant", sa.String(length=128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "variant", "day"),
    )
    op.create_table(
        "day_aggregates_mark",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("day_aggregates_mark")
    op.drop_table("day_aggregates")
