"""appeal_events numbered in commit order; the folder reads past a mark instead of a queue

The ingest worker stores events; the folder brings appeals up to date behind it. Until now each new
event was also written to `fold_queue` and deleted from it once folded: two more writes per event,
and a read before each insert to learn which events were new. Now every event gets `seq`, numbered
in the order the log's transactions commit (log writers commit one at a time), and the folder folds
the events after its mark (`meta` 'fold-seq'), moving the mark in the transaction that writes the
appeals. Duplicates are never inserted, so never numbered nor folded twice.

The table is rebuilt with `seq` as its primary key (`id` stays unique). A SQLite store on disk keeps
it in a file of its own, attached as `log` (see data_access.store.engine.log_path): the worker appending to
the log and the folder rewriting appeals then never wait for each other's write lock. Events of an upgraded store
are numbered in the order they were received; the mark is put just before the first event still
queued, so nothing queued is lost (folding an event twice is harmless: a history out of order is
folded again from the log).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 13:10:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = "id, appeal, type, at, payload, source, received_at, grid, community, street, district"


def _event_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("appeal", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("grid", sa.String(length=16), nullable=True),
        sa.Column("community", sa.String(length=16), nullable=True),
        sa.Column("street", sa.String(length=16), nullable=True),
        sa.Column("district", sa.String(length=16), nullable=True),
    ]


def _index(schema: str | None) -> None:
    op.create_index("ix_appeal_events_appeal", "appeal_events", ["appeal"], schema=schema)
    op.create_index("ix_appeal_events_received_at", "appeal_events", ["received_at"], schema=schema)


def _log_schema() -> str | None:
    """'log' where the store attaches a file of its own for the log (SQLite on disk, see data_access.store.engine)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and any(r[1] == "log" for r in bind.exec_driver_sql("PRAGMA database_list")):
        return "log"
    return None


def upgrade() -> None:
    schema = _log_schema()
    if schema:  # the log moves to its own file; a table left there by an upgrade that failed half way is empty
        bind = op.get_bind()
        if bind.exec_driver_sql("SELECT count(*) FROM log.sqlite_master WHERE name = 'appeal_events'").scalar():
            if bind.exec_driver_sql("SELECT count(*) FROM log.appeal_events").scalar():
                raise RuntimeError("the event log file already holds events of another store: move it away")
            op.drop_table("appeal_events", schema="log")
    new, old = ("appeal_events", "main.appeal_events") if schema else ("appeal_events_new", "appeal_events")
    op.create_table(
        new,
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        *_event_columns(),
        sa.UniqueConstraint("id", name="uq_appeal_events_id"),
        schema=schema,
        sqlite_autoincrement=True,
    )
    target = f"{schema}.{new}" if schema else new
    op.execute(f"INSERT INTO {target} ({_COLUMNS}) SELECT {_COLUMNS} FROM {old} ORDER BY received_at, source")
    op.execute(
        "INSERT INTO meta (key, value) SELECT 'fold-seq', CAST(COALESCE("
        f"(SELECT MIN(e.seq) - 1 FROM {target} e JOIN fold_queue q ON q.event = e.id), "
        f"(SELECT MAX(seq) FROM {target}), 0) AS TEXT)"
    )
    op.execute("DELETE FROM meta WHERE key = 'fold-generation'")
    op.execute(f"DROP TABLE {old}")
    if not schema:
        op.rename_table(new, "appeal_events")
    _index(schema)
    op.drop_index("ix_fold_queue_appeal", table_name="fold_queue")
    op.drop_table("fold_queue")


def downgrade() -> None:
    schema = _log_schema()
    source = f"{schema}.appeal_events" if schema else "appeal_events"
    op.create_table(
        "fold_queue",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("appeal", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_fold_queue_appeal", "fold_queue", ["appeal"])
    op.execute(
        f"INSERT INTO fold_queue (appeal, event) SELECT appeal, id FROM {source} "
        "WHERE seq > (SELECT MIN(CAST(value AS BIGINT)) FROM meta WHERE key LIKE 'fold-seq%') ORDER BY seq"
    )  # the lowest mark: a store folded in shares has one per share ('fold-seq 0/2', ...)
    op.execute("INSERT INTO meta (key, value) VALUES ('fold-generation', '0')")
    op.execute("DELETE FROM meta WHERE key LIKE 'fold-seq%'")
    op.create_table("appeal_events_old", *_event_columns(), sa.PrimaryKeyConstraint("id"))
    op.execute(f"INSERT INTO appeal_events_old ({_COLUMNS}) SELECT {_COLUMNS} FROM {source} ORDER BY seq")
    op.execute(f"DROP TABLE {source}")
    op.rename_table("appeal_events_old", "appeal_events")
    _index(None)
