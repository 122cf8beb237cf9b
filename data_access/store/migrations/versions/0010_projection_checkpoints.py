"""projection_checkpoints: where each partition of the projection stands, in a table of its own

The projectors (formerly "folders") fold the event log into appeal rows, each partition of the appeals
(formerly "share") behind its own checkpoint (formerly "fold mark"). The checkpoints lived as text in the
generic `meta` table, under keys 'fold-seq' (one partition) and 'fold-seq P/N' (partition P of N). They
move to `projection_checkpoints` (partition, partitions, position, updated_at), typed and named for what
they are; the rows are copied over and removed from `meta`, so projecting goes on from where it stood:
nothing is folded twice, nothing is passed over.

The primary key is (partition, partitions), not the partition alone: a projector that finds the store
laid out in another number of partitions inserts the new layout's rows before it deletes the old ones, in
one transaction.

`appeal_events.fold_key` (migration 0009) is renamed `partition_key`, the name the code gives it. Both
databases rename a column in their catalogue only (no rewrite of the log).

Downgrade puts the checkpoints back into `meta` under their old keys and the column's old name back.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 14:00:00
"""

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_CHECKPOINTS = sa.table(
    "projection_checkpoints",
    sa.column("partition", sa.Integer()),
    sa.column("partitions", sa.Integer()),
    sa.column("position", sa.BigInteger()),
    sa.column("updated_at", sa.DateTime()),
)
_META = sa.table("meta", sa.column("key", sa.String()), sa.column("value", sa.Text()))


def _log_schema() -> str | None:
    """'log' where the store attaches a file of its own for the log (SQLite on disk, see data_access.store.engine)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and any(r[1] == "log" for r in bind.exec_driver_sql("PRAGMA database_list")):
        return "log"
    return None


def _rename_partition_key(old: str, new: str) -> None:
    schema = _log_schema()
    op.execute(f"ALTER TABLE {schema + '.' if schema else ''}appeal_events RENAME COLUMN {old} TO {new}")


def _old_key(partition: int, partitions: int) -> str:
    """The `meta` key a checkpoint had before this migration."""
    return "fold-seq" if partitions == 1 else f"fold-seq {partition}/{partitions}"


def upgrade() -> None:
    op.create_table(
        "projection_checkpoints",
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("partitions", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partition", "partitions"),
    )
    bind = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for key, value in bind.execute(sa.select(_META.c.key, _META.c.value).where(_META.c.key.like("fold-seq%"))):
        shape = re.fullmatch(r"fold-seq(?: (\d+)/(\d+))?", key)
        if shape is None:
            raise RuntimeError(f"meta key {key!r} is no checkpoint this migration knows: look at it first")
        partition, partitions = (int(shape[1]), int(shape[2])) if shape[1] else (0, 1)
        rows.append({"partition": partition, "partitions": partitions, "position": int(value), "updated_at": now})
    if rows:
        op.bulk_insert(_CHECKPOINTS, rows)
    op.execute(_META.delete().where(_META.c.key.like("fold-seq%")))
    _rename_partition_key("fold_key", "partition_key")


def downgrade() -> None:
    _rename_partition_key("partition_key", "fold_key")
    bind = op.get_bind()
    rows = [
        {"key": _old_key(partition, partitions), "value": str(position)}
        for partition, partitions, position in bind.execute(
            sa.select(_CHECKPOINTS.c.partition, _CHECKPOINTS.c.partitions, _CHECKPOINTS.c.position)
        )
    ]
    if rows:
        op.bulk_insert(_META, rows)
    op.drop_table("projection_checkpoints")
