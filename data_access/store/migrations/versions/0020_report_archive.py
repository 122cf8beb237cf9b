"""report_archive: the daily bulletins, weekly summaries and monthly analyses, each made once

One row per (kind, period, scope), unique: inserting it is the claim that makes a report exactly once across
restarts and processes. The row holds the state (building, made, failed with the reason and the attempts), the
data's cut-off, and the files (PDF, XLSX, and the content as JSON for the page) in the store itself, so every
process and every backup sees the same archive.

New and empty: nothing to backfill.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_archive",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("scope", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("progress", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=True),
        sa.Column("cutoff", sa.DateTime(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("xlsx", sa.LargeBinary(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "period", "scope", name="uq_report_archive_kind_period_scope"),
    )
    op.create_index("ix_report_archive_scope_made", "report_archive", ["scope", "made_at"])


def downgrade() -> None:
    op.drop_index("ix_report_archive_scope_made", table_name="report_archive")
    op.drop_table("report_archive")
