"""supervision_cases: at most one live case (open or answered) per appeal, held by the store

Two users pressing 督办 on one appeal at once each found no live case and each opened one: the check was a read
before the write. A unique partial index on the appeal of live cases makes the second insert fail, whichever
process or user makes it (data_access.supervision.casework turns that into "already has a live case"; the
escalation engine then leaves the case to the one opened first).

A store that already holds two live cases for one appeal keeps the newest live and closes the older ones, each
with a "close" action by the rule saying why, so that the index can be built.

Revision ID: 0021_esc
Revises: 0020
Create Date: 2026-11-29 18:20:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0021_esc"
down_revision = "0020"
branch_labels = None
depends_on = None

LIVE = ("open", "answered")
WHERE = "state IN ('open', 'answered')"
NOTE = "closed when the store began to hold one live case per appeal (migration 0021_esc): a newer live case exists"


def upgrade() -> None:
    cases = sa.table(
        "supervision_cases",
        sa.column("id", sa.Integer),
        sa.column("appeal", sa.String),
        sa.column("state", sa.String),
        sa.column("closed_at", sa.DateTime),
    )
    actions = sa.table(
        "supervision_actions",
        sa.column("case_id", sa.Integer),
        sa.column("appeal", sa.String),
        sa.column("action", sa.String),
        sa.column("by", sa.String),
        sa.column("at", sa.DateTime),
        sa.column("note", sa.Text),
    )
    newer = sa.alias(cases, "newer")
    older = sa.and_(
        cases.c.state.in_(LIVE),
        sa.exists().where(newer.c.appeal == cases.c.appeal, newer.c.state.in_(LIVE), newer.c.id > cases.c.id),
    )
    now = datetime.now(UTC).replace(tzinfo=None)  # stored naive UTC, as data_access.store.models.UTCDateTime does
    op.execute(
        actions.insert().from_select(
            ["case_id", "appeal", "action", "by", "at", "note"],
            sa.select(
                cases.c.id,
                cases.c.appeal,
                sa.literal("close"),
                sa.literal("rule"),
                sa.literal(now, sa.DateTime),
                sa.literal(NOTE),
            ).where(older),
        )
    )
    op.execute(cases.update().where(older).values(state="closed", closed_at=now))
    op.create_index(
        "uq_supervision_cases_live_appeal",
        "supervision_cases",
        ["appeal"],
        unique=True,
        postgresql_where=sa.text(WHERE),
        sqlite_where=sa.text(WHERE),
    )


def downgrade() -> None:
    op.drop_index("uq_supervision_cases_live_appeal", table_name="supervision_cases")
