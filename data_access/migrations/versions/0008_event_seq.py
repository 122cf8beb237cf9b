"""appeal_events numbered in commit order; the folder reads past a mark instead of a queue

The ingest worker stores events; the folder brings appeals up to date behind it. Until now each new
event was also written to `fold_queue` and deleted from it once folded: two more writes per event,
and a read before each insert to learn which events were new. Now every event gets `seq`, numbered
in the order the log's transactions commit (log writers commit one at a time), and the folder folds
the events after its mark (`meta` 'fold-seq'), moving the mark in the transaction that writes the
appeals. Duplicates are never inserted, so never numbered nor folded twice.

The table is rebuilt with `seq` as its primary key (`id` stays unique). Events of an upgraded store
are numbered in the order they were received; the mark is put just before the first event still
queued, so nothing queued is lost (folding an event twice is harmless: a history out of order is
folded again from the log).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 13:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_COLUMNS = "id, appeal, type, at, payload, source, received_at, grid, community, street, district"


def _event_columns() -> list[sa.Column]:
    return [
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('appeal', sa.String(length=64), nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('grid', sa.String(length=16), nullable=True),
        sa.Column('community', sa.String(length=16), nullable=True),
        sa.Column('street', sa.String(length=16), nullable=True),
        sa.Column('district', sa.String(length=16), nullable=True),
    ]


def _index() -> None:
    op.create_index('ix_appeal_events_appeal', 'appeal_events', ['appeal'])
    op.create_index('ix_appeal_events_received_at', 'appeal_events', ['received_at'])


def upgrade() -> None:
    op.create_table(
        'appeal_events_new',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True, autoincrement=True),
        *_event_columns(),
        sa.UniqueConstraint('id', name='uq_appeal_events_id'),
        sqlite_autoincrement=True,
    )
    op.execute(f"INSERT INTO appeal_events_new ({_COLUMNS}) SELECT {_COLUMNS} FROM appeal_events "
               "ORDER BY received_at, source")
    op.execute(
        "INSERT INTO meta (key, value) SELECT 'fold-seq', CAST(COALESCE("
        "(SELECT MIN(e.seq) - 1 FROM appeal_events_new e JOIN fold_queue q ON q.event = e.id), "
        "(SELECT MAX(seq) FROM appeal_events_new), 0) AS TEXT)"
    )
    op.execute("DELETE FROM meta WHERE key = 'fold-generation'")
    op.drop_table('appeal_events')
    op.rename_table('appeal_events_new', 'appeal_events')
    _index()
    op.drop_index('ix_fold_queue_appeal', table_name='fold_queue')
    op.drop_table('fold_queue')


def downgrade() -> None:
    op.create_table(
        'fold_queue',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True, autoincrement=True),
        sa.Column('appeal', sa.String(length=64), nullable=False),
        sa.Column('event', sa.String(length=64), nullable=False),
    )
    op.create_index('ix_fold_queue_appeal', 'fold_queue', ['appeal'])
    op.execute(
        "INSERT INTO fold_queue (appeal, event) SELECT appeal, id FROM appeal_events "
        "WHERE seq > (SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'fold-seq') ORDER BY seq"
    )
    op.execute("INSERT INTO meta (key, value) VALUES ('fold-generation', '0')")
    op.execute("DELETE FROM meta WHERE key = 'fold-seq'")
    op.create_table('appeal_events_old', *_event_columns(), sa.PrimaryKeyConstraint('id'))
    op.execute(f"INSERT INTO appeal_events_old ({_COLUMNS}) SELECT {_COLUMNS} FROM appeal_events ORDER BY seq")
    op.drop_table('appeal_events')
    op.rename_table('appeal_events_old', 'appeal_events')
    _index()
