"""appeals: indexes (district, created_at) and (street, created_at) for the drill-down's district and street pages

A district or street page counts the area's appeals (all of them, or those of a time window) for its first
answer. Without these indexes PostgreSQL walked the whole of (is_open, district, street, community) to find one
district's entries (no skip scan before PostgreSQL 18); with them the count is a range of the index. Both
columns never change once an appeal is created, so the projector's rewrites of appeal rows stay HOT updates.

Revision ID: 0022_esc
Revises: 0021_esc
Create Date: 2026-11-29 18:40:00
"""

from alembic import op

revision = "0022_esc"
down_revision = "0021_esc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_appeals_district_created", "appeals", ["district", "created_at"])
    op.create_index("ix_appeals_street_created", "appeals", ["street", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_appeals_street_created", table_name="appeals")
    op.drop_index("ix_appeals_district_created", table_name="appeals")
