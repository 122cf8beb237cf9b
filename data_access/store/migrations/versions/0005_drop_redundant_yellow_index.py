"""drop ix_appeals_open_yellow: ix_appeals_open_lights_community starts with the same two columns

Every index of `appeals` is work for each event the ingest stores (on PostgreSQL a row update
that moves adds an entry to every index). (is_open, yellow_from) is a prefix of
(is_open, yellow_from, red_from, community), which serves the same range scans.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:05:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_open_yellow")


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index("ix_appeals_open_yellow", ["is_open", "yellow_from"], unique=False)
