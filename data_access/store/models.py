"""SQLAlchemy models of the store: reference data, appeals (current state), the event log, presence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; stored naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


Code = String(16)
Name = String(128)


class Base(DeclarativeBase):
    """Base of all tables."""

    __table__: ClassVar[Table]  # each model maps one Table (not any FromClause), so Core's insert/delete apply


class District(Base):
    __tablename__ = "districts"
    code: Mapped[str] = mapped_column(Code, primary_key=True)
    name: Mapped[str] = mapped_column(Name)


class Street(Base):
    __tablename__ = "streets"
    code: Mapped[str] = mapped_column(Code, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    district: Mapped[str] = mapped_column(Code, index=True)


class Community(Base):
    __tablename__ = "communities"
    code: Mapped[str] = mapped_column(Code, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    street: Mapped[str] = mapped_column(Code, index=True)
    district: Mapped[str] = mapped_column(Code, index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class Grid(Base):
    __tablename__ = "grids"
    code: Mapped[str] = mapped_column(Code, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    community: Mapped[str] = mapped_column(Code, index=True)
    street: Mapped[str] = mapped_column(Code, index=True)
    district: Mapped[str] = mapped_column(Code, index=True)


class Unit(Base):
    __tablename__ = "units"
    code: Mapped[str] = mapped_column(Code, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    district: Mapped[str | None] = mapped_column(Code, nullable=True)


class Member(Base):
    __tablename__ = "members"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    role: Mapped[str] = mapped_column(String(32))
    grid: Mapped[str] = mapped_column(Code, index=True)
    community: Mapped[str] = mapped_column(Code)
    street: Mapped[str] = mapped_column(Code, index=True)
    district: Mapped[str] = mapped_column(Code, index=True)


class Meta(Base):
    """Small key/value facts about the store (e.g. which city version is loaded)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AppealEvent(Base):
    """Every accepted lifecycle event, exactly once (the idempotency key is the event id).

    `seq` numbers events in the order their transactions committed (log writers commit one at a time), so
    each partition's projector brings its appeals up to date by reading past its checkpoint
    (`projection_checkpoints`): whatever crashes, every event is either folded or after its partition's
    checkpoint. On SQLite AUTOINCREMENT: a number is never given twice."""

    __tablename__ = "appeal_events"
    __table_args__ = (
        UniqueConstraint("id", name="uq_appeal_events_id"),
        # a day's call-backs for the rankings (data_access/wall/history.py), without reading the rest of the log
        Index(
            "ix_appeal_events_reviewed_at",
            "at",
            sqlite_where=text("type = 'reviewed'"),
            postgresql_where=text("type = 'reviewed'"),
        ),
        {"sqlite_autoincrement": True},
    )
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64))
    appeal: Mapped[str] = mapped_column(String(64), index=True)
    # crc32 of `appeal` (dashboard.partitions): a projector reads the events of its partition
    # (partition_key % PROJECTORS); NULL for events logged before migration 0009
    partition_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[str] = mapped_column(Text)  # the event as received (JSON)
    source: Mapped[str] = mapped_column(String(64))  # Redis entry id (two 64-bit numbers: 41 characters at most)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # not indexed: the last one is the last `seq`'s
    # Place resolved at ingest for events that carry one (created)
    grid: Mapped[str | None] = mapped_column(Code, nullable=True)
    community: Mapped[str | None] = mapped_column(Code, nullable=True)
    street: Mapped[str | None] = mapped_column(Code, nullable=True)
    district: Mapped[str | None] = mapped_column(Code, nullable=True)


class ProjectionCheckpoint(Base):
    """Where a partition of the projection stands: the `seq` of the last logged event its projector folded (every
    event of the partition up to it is folded). One row per partition of the current layout (`partitions` of
    them); laying out another number of partitions replaces the rows, see data_access.projection.checkpoints."""

    __tablename__ = "projection_checkpoints"
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    partitions: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProjectionFailure(Base):
    """An appeal the projection could not fold: left out of its batch, so that the rest of its partition goes on,
    and folded whole again with its next event (the row is cleared once it folds). `event` is the event that
    could not be folded (for a row the store refused: the appeal's newest)."""

    __tablename__ = "projection_failures"
    appeal: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer)


class Appeal(Base):
    """The current state of an appeal: the fold of its events sorted by `at`."""

    __tablename__ = "appeals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    is_open: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Codes the contract bounds only by the parser's MAX_TEXT_LEN: text, so that PostgreSQL holds what SQLite does
    channel: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    cat1: Mapped[str] = mapped_column(Text)
    cat2: Mapped[str | None] = mapped_column(Text, nullable=True)
    cat3: Mapped[str | None] = mapped_column(Text, nullable=True)
    priority: Mapped[str] = mapped_column(String(16))
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    grid: Mapped[str | None] = mapped_column(Code, nullable=True)
    community: Mapped[str | None] = mapped_column(Code, nullable=True)
    street: Mapped[str | None] = mapped_column(Code, nullable=True)
    district: Mapped[str | None] = mapped_column(Code, nullable=True)
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    unit: Mapped[str | None] = mapped_column(Code, nullable=True)
    member: Mapped[str | None] = mapped_column(Text, nullable=True)  # as `channel`
    dispatch_count: Mapped[int] = mapped_column(Integer)
    return_count: Mapped[int] = mapped_column(Integer)
    extension_count: Mapped[int] = mapped_column(Integer)
    reopen_count: Mapped[int] = mapped_column(Integer)
    clock_start: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    yellow_from: Mapped[datetime] = mapped_column(UTCDateTime)
    red_from: Mapped[datetime] = mapped_column(UTCDateTime)
    first_dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed: Mapped[bool] = mapped_column(Boolean)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    responded: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    resolved_flag: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    satisfaction: Mapped[str | None] = mapped_column(String(24), nullable=True)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The fold's working draft as JSON, so events that arrive in order are applied without
    # re-reading the history; NULL or an out-of-order event means a full refold.
    fold_state: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the projection last failed to fold this appeal (the row stays as it was before; the reason is in
    # `projection_failures`); NULL: the row is up to date with the appeal's events.
    projection_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_appeals_open_red", "is_open", "red_from"),
        Index("ix_appeals_open_due", "is_open", "due_at"),  # the escalation engine's overdue range (0015)
        Index(  # open appeals returned or reopened: the escalation engine's count triggers (0015)
            "ix_appeals_open_counted",
            "id",
            postgresql_where=text("is_open AND (return_count > 0 OR reopen_count > 0)"),
            sqlite_where=text("is_open = 1 AND (return_count > 0 OR reopen_count > 0)"),
        ),
        Index("ix_appeals_open_unit", "is_open", "unit"),
        Index("ix_appeals_open_place", "is_open", "district", "street", "community"),
        Index("ix_appeals_community_created", "community", "created_at"),
        Index("ix_appeals_district_created", "district", "created_at"),  # drill-down district pages (0022_esc)
        Index("ix_appeals_street_created", "street", "created_at"),  # drill-down street pages (0022_esc)
        Index("ix_appeals_reviewed_at", "reviewed_at"),
        Index("ix_appeals_open_lights_community", "is_open", "yellow_from", "red_from", "community"),
        {"postgresql_with": {"fillfactor": 80}},  # room for HOT updates: see migration 0006
    )


class SameEventGroup(Base):
    """Appeals about one event (rules: dashboard/same_event.py), named after its first appeal. Its place is its
    first appeal's (the scope a group is listed in); `burst_day` the local day it met 三天三单, if it did."""

    __tablename__ = "same_event_groups"
    __table_args__ = (
        Index("ix_same_event_groups_burst", "burst_day", "last_at"),
        Index("ix_same_event_groups_place", "district", "street"),
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cat_key: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    burst_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    grid: Mapped[str | None] = mapped_column(Code, nullable=True)
    street: Mapped[str | None] = mapped_column(Code, nullable=True)
    district: Mapped[str | None] = mapped_column(Code, nullable=True)


class SameEventMember(Base):
    """An appeal's same-event group, with what grouping compares (so candidates are found without `appeals`):
    its search cell (a grid of `GROUP_DISTANCE_M` squares), time, point and comparable words."""

    __tablename__ = "same_event_members"
    __table_args__ = (Index("ix_same_event_members_cell_at", "cell", "at"),)
    appeal: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)  # the `seq` of the appeal's `created` event: the arrival order
    cat_key: Mapped[str] = mapped_column(Text)
    cell: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    words: Mapped[str | None] = mapped_column(Text, nullable=True)
    grid: Mapped[str | None] = mapped_column(Code, nullable=True)
    street: Mapped[str | None] = mapped_column(Code, nullable=True)
    district: Mapped[str | None] = mapped_column(Code, nullable=True)


class SameEventCheckpoint(Base):
    """Where grouping stands: the `seq` of the last logged event it has read (one row, `name` 'groups')."""

    __tablename__ = "same_event_checkpoint"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Presence(Base):
    """The latest heartbeat of each grid member (latest by `at`, whatever the arrival order)."""

    __tablename__ = "presence"
    __table_args__ = (Index("ix_presence_state_at", "state", "at"),)
    member: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    """A person who signs in; the role and area bound what every page, callback and API call returns."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(Code, nullable=True)
    street: Mapped[str | None] = mapped_column(Code, nullable=True)
    grids: Mapped[str | None] = mapped_column(Text, nullable=True)  # comma-separated grid codes
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # sessions older than this are void


class LoginSession(Base):
    """A signed-in browser; the cookie holds the token, the store only its hash."""

    __tablename__ = "login_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DisplayToken(Base):
    """A long-lived, revocable token of an unattended wall display, bound to one scope."""

    __tablename__ = "display_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(Code, nullable=True)
    street: Mapped[str | None] = mapped_column(Code, nullable=True)
    grids: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """Refused requests (out of scope, anonymous, bad password) and account changes."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    who: Mapped[str] = mapped_column(String(128))
    what: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)


class SupervisionCase(Base):
    """A supervision case (督办件): an appeal followed by a supervision office, opened by a ladder step or by hand.

    `level` is street, district or city; `office` the area code of the office (a street or district code, or
    "city"). `state` goes open -> answered -> closed, or raised (then `raised_to` is the city-level case)."""

    __tablename__ = "supervision_cases"
    __table_args__ = (
        Index("ix_supervision_cases_state_due", "state", "due_at"),
        Index("ix_supervision_cases_place", "district", "street"),
        Index(  # one live case per appeal: two users opening at once end with one case (0021_esc)
            "uq_supervision_cases_live_appeal",
            "appeal",
            unique=True,
            postgresql_where=text("state IN ('open', 'answered')"),
            sqlite_where=text("state IN ('open', 'answered')"),
        ),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    appeal: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str] = mapped_column(String(16))
    office: Mapped[str] = mapped_column(Code)
    district: Mapped[str | None] = mapped_column(Code, nullable=True)
    street: Mapped[str | None] = mapped_column(Code, nullable=True)
    grid: Mapped[str | None] = mapped_column(Code, nullable=True)
    unit: Mapped[str | None] = mapped_column(Code, nullable=True)
    rule: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the ladder step; NULL: opened by hand
    opened_by: Mapped[str] = mapped_column(String(64))  # a user name, or "rule"
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    raised_to: Mapped[int | None] = mapped_column(Integer, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text)


class SupervisionAction(Base):
    """Who did what to a case, and when: open, chase (a reminder; a chase need not have a case), answer, close,
    raise, note."""

    __tablename__ = "supervision_actions"
    __table_args__ = (
        Index("ix_supervision_actions_case", "case_id"),
        Index("ix_supervision_actions_appeal", "appeal"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    appeal: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str] = mapped_column(Text)


class EscalationStep(Base):
    """A ladder step that fired (dashboard/escalation.py): once per appeal, step, unit and situation.

    `armed_by` names the situation the step belongs to (the dispatch time and the number of extensions, see
    dashboard.escalation.situation): a re-dispatch or an approved extension is a new situation, so the ladder
    fires again; within one situation the primary key refuses a second firing, whichever process tries."""

    __tablename__ = "escalation_steps"
    appeal: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit: Mapped[str] = mapped_column(Code, primary_key=True)  # "" when the appeal has no handling unit
    armed_by: Mapped[str] = mapped_column(String(64), primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class EscalationPass(Base):
    """Where the escalation engine stands: the `now` of its last finished pass (one row, name "engine")."""

    __tablename__ = "escalation_passes"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    passed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportArchive(Base):
    """One report (kind, period, scope), made once: the row is its claim while it is built (state `building`,
    `progress` says how far), then `made` with its files, or `failed` with the reason, retried up to a limit."""

    __tablename__ = "report_archive"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    period: Mapped[str] = mapped_column(String(10))
    scope: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(10))  # building, made, failed
    progress: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    made_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: the schedule
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    xlsx: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    content: Mapped[str | None] = mapped_column(Text, nullable=True)  # the Report as JSON, for the page

    __table_args__ = (
        UniqueConstraint("kind", "period", "scope", name="uq_report_archive_kind_period_scope"),
        Index("ix_report_archive_scope_made", "scope", "made_at"),
    )


class Topic(Base):
    """A topic (专题, 每月一题): a problem the city leads one unit to solve, with the appeals it covers.

    `categories`, `areas` and `keywords` are JSON lists (dashboard/topics.py matches an appeal against them);
    `tagged_upto` is the log position up to which the tagger has tagged this topic's appeals."""

    __tablename__ = "topics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Name)
    categories: Mapped[str] = mapped_column(Text)
    areas: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str] = mapped_column(Text)
    lead_unit: Mapped[str] = mapped_column(Code)
    start_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    tagged_upto: Mapped[int] = mapped_column(BigInteger)


class TopicAppeal(Base):
    """An appeal a topic covers (tagged once; `created_at` copied so a topic's series reads this table alone)."""

    __tablename__ = "topic_appeals"
    __table_args__ = (Index("ix_topic_appeals_topic_created", "topic", "created_at"),)
    topic: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DayAggregate(Base):
    """A per-day aggregate of the day cache kept in the store (data_access/wall/day_store.py): `kind` and
    `variant` as the day cache names it, `value` its zlib-compressed JSON, `stamp` the log position it was
    computed at. Every row equals a recomputation at `day_aggregates_mark.position`."""

    __tablename__ = "day_aggregates"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    variant: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[bytes] = mapped_column(LargeBinary)


class DayAggregateMark(Base):
    """The log position the kept per-day aggregates are valid at (one row, `id` 1): moving it deletes the rows
    of the days the events passed can have changed."""

    __tablename__ = "day_aggregates_mark"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
