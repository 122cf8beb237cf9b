"""supervision: cases (督办件), their actions, the escalation ladder's fired steps and the engine's position

The escalation engine (data_access/supervision/engine.py) finds appeals that crossed a threshold since its
last pass from `appeals.yellow_from` and `appeals.red_from`; it records each fired ladder step in
`escalation_steps`, whose primary key (appeal, step, unit, armed_by) keeps a step from firing twice for one
situation, even with two processes. `escalation_passes` holds the `now` of its last pass. Supervision cases
and what was done to them go to `supervision_cases` and `supervision_actions`.

The engine's ranges (yellow_from, red_from in (last pass, now]) are ranges of the existing indexes
(is_open, yellow_from, red_from, community) and (is_open, red_from): no new index on `appeals`.

All tables are new and empty: nothing to backfill.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_cases",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("appeal", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("office", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=16), nullable=True),
        sa.Column("street", sa.String(length=16), nullable=True),
        sa.Column("grid", sa.String(length=16), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("raised_to", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_supervision_cases_state_due", "supervision_cases", ["state", "due_at"])
    op.create_index("ix_supervision_cases_appeal", "supervision_cases", ["appeal"])
    op.create_index("ix_supervision_cases_place", "supervision_cases", ["district", "street"])
    op.create_table(
        "supervision_actions",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("appeal", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_supervision_actions_case", "supervision_actions", ["case_id"])
    op.create_index("ix_supervision_actions_appeal", "supervision_actions", ["appeal"])
    op.create_index("ix_supervision_actions_at", "supervision_actions", ["at"])
    op.create_table(
        "escalation_steps",
        sa.Column("appeal", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("armed_by", sa.String(length=64), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("appeal", "step", "unit", "armed_by"),
    )
    op.create_index("ix_escalation_steps_fired_at", "escalation_steps", ["fired_at"])
    op.create_table(
        "escalation_passes",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("passed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("escalation_passes")
    op.drop_index("ix_escalation_steps_fired_at", table_name="escalation_steps")
    op.drop_table("escalation_steps")
    for ix in ("ix_supervision_actions_at", "ix_supervision_actions_appeal", "ix_supervision_actions_case"):
        op.drop_index(ix, table_name="supervision_actions")
    op.drop_table("supervision_actions")
    for ix in ("ix_supervision_cases_place", "ix_supervision_cases_appeal", "ix_supervision_cases_state_due"):
        op.drop_index(ix, table_name="supervision_cases")
    op.drop_table("supervision_cases")
