"""fold_queue: events stored but not yet folded into their appeal

The ingest worker acknowledges an entry once its event is in the log; a separate folder brings
`appeals` up to date behind it, taking every queued event of an appeal at once. An event is
queued in the transaction that stores it, so a crash between the two loses nothing. A store
upgraded from 0006 has folded everything already: the queue starts empty.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 08:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fold_queue",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("appeal", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_fold_queue_appeal", "fold_queue", ["appeal"])
    # Folds written so far: a SQLite folder writes what it folded under a snapshot only if none was written since.
    op.execute("INSERT INTO meta (key, value) VALUES ('fold-generation', '0')")


def downgrade() -> None:
    op.execute("DELETE FROM meta WHERE key = 'fold-generation'")
    op.drop_index("ix_fold_queue_appeal", table_name="fold_queue")
    op.drop_table("fold_queue")
