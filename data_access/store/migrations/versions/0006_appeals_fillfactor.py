"""appeals: leave room in each PostgreSQL page so updates that change no indexed column stay HOT

An appeal row is rewritten by every event. On PostgreSQL an update that finds no room in its
page moves the row and adds an entry to every index of the table; with free space left in the
page, an update that changes no indexed column (accepted by the same unit, closed after it was
resolved) is a heap-only tuple update and touches no index. SQLite has no such setting.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:12:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE appeals SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE appeals RESET (fillfactor)")
