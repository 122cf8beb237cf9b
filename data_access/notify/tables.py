"""The outbox's tables (migration 0014): deliveries, one per message and channel, and the attempts to send them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from data_access.store.models import Base, UTCDateTime

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's rowid alias must be INTEGER


class Delivery(Base):
    """One message on one channel. `state`: pending (waiting, due at `due_at`), sending (leased until
    `lease_until`), sent, failed (given up after NOTIFY_MAX_FAILURES). `batch`: for a row folded into a digest,
    the id of the digest's head row (the head is sent, the others follow its fate)."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (
        UniqueConstraint("key", "channel", name="uq_notify_deliveries_key_channel"),
        Index("ix_notify_deliveries_lane", "state", "channel", "address", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text, nullable=True)
    attachments: Mapped[str] = mapped_column(Text)  # JSON list of [filename, content_type, path]
    appeal: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    district: Mapped[str | None] = mapped_column(String(16), nullable=True)
    street: Mapped[str | None] = mapped_column(String(16), nullable=True)
    grid: Mapped[str | None] = mapped_column(String(16), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    batch: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_answer: Mapped[str | None] = mapped_column(Text, nullable=True)


class Attempt(Base):
    """One call to a channel for a delivery (for a digest: its head) and the answer. `outcome`: sent, retry (a
    failure tried again later), rate_limited (the channel asked to slow down), failed (given up)."""

    __tablename__ = "notify_attempts"
    __table_args__ = (Index("ix_notify_attempts_channel_at", "channel", "at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    delivery: Mapped[int] = mapped_column(BigInteger, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
