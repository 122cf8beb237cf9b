"""notification outbox: deliveries to people and each attempt to send them (issue 14)

`notify_deliveries`: one row per message and channel, written in the producer's transaction (unique
(key, channel): queuing a message again adds nothing). The sender leases a row (`state` = 'sending',
`lease_until`) before it calls the channel and marks it 'sent' after; a lease left by a crashed sender is
taken again after it expires. `batch`: the head delivery of a digest its row was folded into.
`notify_attempts`: every call to a channel and its answer.

Both tables are new and empty: nothing to backfill.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("attachments", sa.Text(), nullable=False),
        sa.Column("appeal", sa.String(length=64), nullable=True),
        sa.Column("district", sa.String(length=16), nullable=True),
        sa.Column("street", sa.String(length=16), nullable=True),
        sa.Column("grid", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("batch", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_answer", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "channel", name="uq_notify_deliveries_key_channel"),
    )
    # the sender's lanes: what waits, per channel and address, oldest first
    op.create_index("ix_notify_deliveries_lane", "notify_deliveries", ["state", "channel", "address", "id"])
    op.create_index("ix_notify_deliveries_created_at", "notify_deliveries", ["created_at"])
    op.create_index("ix_notify_deliveries_appeal", "notify_deliveries", ["appeal"])
    op.create_table(
        "notify_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("delivery", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notify_attempts_delivery", "notify_attempts", ["delivery"])
    op.create_index("ix_notify_attempts_channel_at", "notify_attempts", ["channel", "at"])


def downgrade() -> None:
    op.drop_table("notify_attempts")
    op.drop_table("notify_deliveries")
