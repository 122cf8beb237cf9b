"""topics, topic_appeals: topics (专题, 每月一题) and the appeals each covers

A command-center user defines a topic (name, categories, optional areas and keywords, lead unit, start
date); the tagger tags matching appeals into `topic_appeals`, past ones when the topic is defined and new
ones as they are folded, from the position `topics.tagged_upto`. Both tables are new: nothing to backfill.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("areas", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("lead_unit", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("tagged_upto", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "topic_appeals",
        sa.Column("topic", sa.Integer(), nullable=False),
        sa.Column("appeal", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("topic", "appeal"),
    )
    op.create_index("ix_topic_appeals_topic_created", "topic_appeals", ["topic", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_topic_appeals_topic_created", table_name="topic_appeals")
    op.drop_table("topic_appeals")
    op.drop_table("topics")
