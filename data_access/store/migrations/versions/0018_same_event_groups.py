"""same_event_groups, same_event_members, same_event_checkpoint: appeals about one event (issue 16)

Grouping reads the appeals the projection has folded, in the order their `created` events were logged, and
puts each in a same-event group (rules: dashboard/same_event.py). The members table keeps what grouping
compares (category key, search cell, time, point, words) so that candidates come from one indexed lookup,
without the `appeals` table; the checkpoint says how far in the log grouping has read.

All three are new and empty: the grouping pass fills them from the start of the log on its first run (the
same as `regroup`).

Revision ID: 0018
Revises: 0015
Create Date: 2026-11-29 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "same_event_groups",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cat_key", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("burst_day", sa.Date(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("grid", sa.String(length=16), nullable=True),
        sa.Column("street", sa.String(length=16), nullable=True),
        sa.Column("district", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_same_event_groups_burst", "same_event_groups", ["burst_day", "last_at"])
    op.create_index("ix_same_event_groups_place", "same_event_groups", ["district", "street"])
    op.create_index("ix_same_event_groups_last_at", "same_event_groups", ["last_at"])
    op.create_table(
        "same_event_members",
        sa.Column("appeal", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("cat_key", sa.Text(), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("words", sa.Text(), nullable=True),
        sa.Column("grid", sa.String(length=16), nullable=True),
        sa.Column("street", sa.String(length=16), nullable=True),
        sa.Column("district", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("appeal"),
    )
    op.create_index("ix_same_event_members_cell_at", "same_event_members", ["cell", "at"])
    op.create_index("ix_same_event_members_group_id", "same_event_members", ["group_id"])
    op.create_table(
        "same_event_checkpoint",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("same_event_checkpoint")
    op.drop_index("ix_same_event_members_group_id", table_name="same_event_members")
    op.drop_index("ix_same_event_members_cell_at", table_name="same_event_members")
    op.drop_table("same_event_members")
    op.drop_index("ix_same_event_groups_last_at", table_name="same_event_groups")
    op.drop_index("ix_same_event_groups_place", table_name="same_event_groups")
    op.drop_index("ix_same_event_groups_burst", table_name="same_event_groups")
    op.drop_table("same_event_groups")
