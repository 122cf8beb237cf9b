"""All tunables in one place, read from the environment (and `.env`), validated at start-up."""

from __future__ import annotations

import logging
import os
import re
from datetime import time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

log = logging.getLogger(__name__)

PRIORITIES = ("emergency", "urgent", "normal", "routine")

#: Settings renamed, new name by old. The old name still works (environment, `.env` or keyword) and warns once
#: per process; given both, the new name wins and the old one is ignored (with the warning saying so).
RENAMED = {"folders": "projectors", "fold_batch": "projection_batch"}
_warned: set[str] = set()


class SettingsError(RuntimeError):
    """A setting is wrong; the message names which and why."""


class Settings(BaseSettings):
    """Every tunable of the command center. Environment names are the field names in upper case."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Where things live
    redis_url: str | None = Field(None, description="Redis of the intake side; unset: an embedded Redis under var/")
    database_url: str | None = Field(None, description="SQLAlchemy URL of the store; unset: SQLite under var/")
    database_read_url: str | None = Field(
        None,
        description="PostgreSQL URL of a streaming replica of DATABASE_URL the screens and the read API read from "
        "(ingest, projection, outbox, escalation, case actions and accounts stay on DATABASE_URL); unset: one store",
    )
    replica_max_lag_s: float = Field(
        30, gt=0, description="/healthz is unhealthy while the replica replays this far behind the primary, seconds"
    )
    var_dir: Path = Field(Path("var"), description="Folder for the embedded Redis, SQLite and caches")
    embedded_redis_port: int = Field(
        6380, ge=0, le=65535, description="TCP port of the embedded Redis on 127.0.0.1 (0: unix socket only)"
    )
    hotline_prefix: str = Field("hotline", description="Prefix of the Redis stream keys")
    consumer_group: str = Field("command-center", description="Consumer group name on the streams")
    host: str = Field("127.0.0.1", description="Address the web server listens on")
    port: int = Field(8050, ge=1, le=65535, description="Port the web server listens on")

    # The city
    city_name: str = Field("北京市", description="City shown in headers")
    city_dir: Path | None = Field(None, description="Folder with the city's own files; unset: the demo city")
    city_seed: int = Field(12345, description="Seed of the demo city")
    time_zone: str = Field("Asia/Shanghai", description="The city's time zone")
    snap_distance_m: float = Field(300.0, ge=0, description="A point in no grid snaps to a community this near")

    # Deadlines and lights
    limit_emergency_h: float = Field(2, gt=0, description="Time limit of emergency appeals, hours")
    limit_urgent_h: float = Field(24, gt=0, description="Time limit of urgent appeals, hours")
    limit_normal_h: float = Field(24 * 7, gt=0, description="Time limit of normal appeals, hours")
    limit_routine_h: float = Field(24 * 15, gt=0, description="Time limit of routine appeals, hours")
    yellow_at: float = Field(0.5, gt=0, lt=1, description="Share of the time limit used that turns an appeal yellow")
    red_at: float = Field(1.0, gt=0, description="Share of the time limit used that turns an appeal red")

    # Presence and freshness
    presence_window_s: int = Field(300, gt=0, description="Heartbeat age after which a member counts as offline")
    feed_stale_s: int = Field(120, gt=0, description="No event for this long: the screen says the feed stopped")

    # Ingest
    ingest_batch: int = Field(10000, ge=1, le=50000, description="Entries read per XREADGROUP")
    projection_batch: int = Field(
        50000,
        ge=1,
        le=200000,
        description="Events of its partition a projector reads per transaction at most (formerly FOLD_BATCH)",
    )
    projectors: int = Field(
        2, ge=1, le=32, description="Projector processes, each folding its partition of the appeals (formerly FOLDERS)"
    )
    projection_stall_s: int = Field(
        120,
        gt=0,
        description="/healthz is unhealthy once an event has waited this long to be folded while the "
        "checkpoint it waits behind has not moved for as long, seconds",
    )
    ingest_block_ms: int = Field(1000, ge=1, description="XREADGROUP BLOCK, milliseconds")
    ingest_claim_idle_ms: int = Field(60000, ge=1000, description="Pending entries idle this long are reclaimed")
    max_deliveries: int = Field(
        5,
        ge=1,
        description="Deliveries after which an entry is handled alone; times it "
        "then ends the worker before it goes to the dead-letter stream",
    )
    health_stall_s: int = Field(300, gt=0, description="Work waiting this long without moving makes /healthz unhealthy")
    max_text_len: int = Field(4000, ge=16, description="Longest accepted free text (summary, reason, note)")

    # Screens
    refresh_ms: int = Field(1000, ge=500, description="Live refresh interval of the screens")
    tile_url: str | None = Field(None, description="Map tile URL template; unset: boundaries only (offline)")
    default_lang: str = Field("zh", description="Language of labels: zh or en")
    shared_snapshots: bool = Field(
        True,
        description="Compute each wall view's figures once per refresh for every viewer and web worker, "
        "shared through Redis (off: each viewer's tick computes its own)",
    )
    tour_seconds: int = Field(30, ge=5, description="Seconds per view of the wall tour")
    secret_key: str | None = Field(None, description="Secret signing sessions; unset: generated under var/")
    session_hours: float = Field(12, gt=0, description="Signed-in sessions expire after this many hours")

    # Sign-in lockout and the proxy in front (counts of wrong passwords live in Redis, shared by all workers)
    login_fails_per_account: int = Field(
        5,
        ge=1,
        description="Wrong passwords for one account within LOGIN_LOCK_MINUTES that lock its sign-in (HTTP 429)",
    )
    login_fails_per_address: int = Field(
        20, ge=1, description="Wrong passwords from one address within LOGIN_LOCK_MINUTES that lock sign-in from it"
    )
    login_lock_minutes: int = Field(15, ge=1, description="Window in which wrong passwords are counted, minutes")
    trusted_proxies: int = Field(
        0, ge=0, le=10, description="Reverse proxies in front whose X-Forwarded-For/-Proto are believed (0: none)"
    )

    # Wall screen (issue 4); ranking definitions and weights live in dashboard/rankings.py
    wall_red_rows: int = Field(12, ge=1, le=100, description="Rows of the red (overdue) list on the wall")
    wall_soon_rows: int = Field(6, ge=1, le=100, description="Rows of the 'turning red soon' list on the wall")
    turning_red_h: float = Field(2, gt=0, description="Window of the 'turning red within' figure, hours")
    tour_worst: int = Field(3, ge=0, le=20, description="Worst districts and worst streets each the wall tour visits")
    slow_panel_s: int = Field(60, ge=1, description="Rankings and hotspots are recomputed at most this often, seconds")
    history_cache_s: int = Field(
        3600,
        ge=60,
        description="Day aggregates of history (rankings, hotspot baselines) are recomputed when events "
        "change them, and re-read at least this often as a safety net, seconds",
    )
    hotspot_window_h: float = Field(24, gt=0, description="Recent window a hotspot is judged on, hours")
    hotspot_baseline_days: int = Field(
        28, ge=3, description="Days of a community's own history its baseline is taken from"
    )
    hotspot_min_count: int = Field(5, ge=1, description="A hotspot has at least this many appeals in the window")
    hotspot_min_ratio: float = Field(
        2.0, ge=1, description="A hotspot's window count is at least this multiple of its baseline"
    )
    hotspot_min_z: float = Field(
        3.0, ge=0, description="A hotspot's Poisson score (x - mean) / sqrt(mean) is at least this"
    )
    hotspot_rows: int = Field(8, ge=1, le=100, description="Hotspots listed on the wall")

    # Same-event groups and 三天三单 (issue 16); what they mean: dashboard/same_event.py
    group_distance_m: float = Field(
        100.0, gt=0, le=5000, description="Appeals about one event are at most this far apart, metres"
    )
    group_window_h: float = Field(72.0, gt=0, le=24 * 60, description="...and created at most this many hours apart")
    group_min_similarity: float = Field(
        0.2, ge=0, le=1, description="...and, when both have a summary, their wording is at least this similar (0-1)"
    )
    group_equivalent: str = Field(
        "",
        description="Categories counted as one for grouping: sets separated by ';', names in a set by '|' "
        "(e.g. 路灯|路灯不亮;噪音扰民|施工噪音)",
    )
    burst_appeals: int = Field(3, ge=2, le=100, description="三天三单: an event with at least this many appeals...")
    burst_days: int = Field(3, ge=1, le=60, description="...within this many consecutive days is listed")
    grouping_batch: int = Field(5000, ge=1, le=100000, description="Appeals the grouping pass takes per transaction")
    grouping_interval_s: float = Field(
        2.0, gt=0, le=3600, description="The grouping pass looks for new appeals this often"
    )
    # High-frequency problems, space-time scan and topics (issue 16); the methods: dashboard/count_model.py,
    # dashboard/scan.py, dashboard/problems.py
    hotspot_min_history: int = Field(
        20,
        ge=1,
        description="An area or category with fewer appeals than this in its baseline days is judged against the "
        "city-wide rate of its category scaled to the area (dashboard/count_model.py)",
    )
    scan_days: int = Field(7, ge=1, le=7, description="Longest window of the space-time scan, days (1-7)")
    scan_neighbours: int = Field(6, ge=0, le=20, description="Nearest neighbours a scan zone may add to a community")
    scan_max_km: float = Field(3.0, gt=0, description="Farthest neighbour a scan zone may add, km")
    scan_min_llr: float = Field(
        15.0, gt=0, description="Least log-likelihood ratio of a scan hotspot (docs/benchmarks.md: false alarms)"
    )
    problem_min_ratio: float = Field(
        1.5, ge=1, description="A high-frequency problem's week volume is at least this multiple of its expected"
    )
    candidate_min_streets: int = Field(
        10, ge=1, description="A 每月一题 candidate spreads over at least this many streets (or `candidate_min_units`)"
    )
    candidate_min_units: int = Field(3, ge=1, description="... or is handled by at least this many units")
    candidate_rows: int = Field(15, ge=1, le=200, description="Candidates for 每月一题 listed")
    topic_tag_interval_s: float = Field(
        5.0, gt=0, description="How often the topic tagger reads newly folded appeals, seconds"
    )

    # Demo feed
    demo: bool = Field(True, description="Run the demo intake feed inside `python app.py`")
    demo_per_day: int = Field(40000, ge=1, description="Demo appeals per day")
    demo_speedup: float = Field(1.0, gt=0, description="Demo feed speed-up factor")
    demo_backfill_days: float = Field(
        35,
        ge=0,
        le=60,
        description="Days of history before the start loaded on a first start (empty event log and stream) through "
        "the history import's path, in a process of its own, while the live feed goes on",
    )
    demo_retention_h: float = Field(
        1.0,
        ge=0,
        description="The demo feed trims its streams to this many hours (never what a consumer group has "
        "not acknowledged); 0: never trims",
    )

    # Escalation ladder (issue 14); the steps and what they mean live in dashboard/escalation.py
    escalation: bool = Field(True, description="Run the escalation engine inside `python app.py`")
    escalation_interval_s: float = Field(
        15, ge=1, le=45, description="Seconds between passes of the escalation engine (a crossing is queued within it)"
    )
    escalation_batch: int = Field(
        500, ge=1, le=10000, description="Appeals the escalation engine handles per transaction at most"
    )
    escalation_catch_up_h: float = Field(
        24,
        gt=0,
        description="On its first pass the escalation engine looks back this many hours for thresholds crossed",
    )
    escalation_overdue_case_h: float = Field(
        72, gt=0, description="Overdue this many hours: the appeal becomes a supervision case (督办件)"
    )
    escalation_returns_case: int = Field(2, ge=1, description="Returned (退单) this many times: a supervision case")
    escalation_reopens_case: int = Field(2, ge=1, description="Reopened (重办) this many times: a supervision case")
    escalation_street_office: bool = Field(
        False, description="Cases of appeals handled by a street go to the street's supervision office"
    )
    escalation_case_due_h: float = Field(48, gt=0, description="Time a supervision office has to settle a case, hours")
    escalation_raise_after_h: float = Field(
        72, gt=0, description="A case still open this many hours after opening is raised to the city level"
    )
    contacts_file: Path | None = Field(
        None, description="Contacts roster CSV (kind,code,role,name,phone,email,…); unset: the city folder's"
    )

    # Notifications (issue 14): the outbox, its sender and channels. A channel is on when its URL or host is set.
    public_url: str = Field(
        "http://127.0.0.1:8050", description="Base URL of the screens, put in front of the links in messages"
    )
    notify_wecom_url: str | None = Field(None, description="WeCom (企业微信) group robot webhook URL (https)")
    notify_dingtalk_url: str | None = Field(None, description="DingTalk (钉钉) group robot webhook URL (https)")
    notify_dingtalk_secret: str | None = Field(
        None, description="DingTalk robot signing secret (SEC...); required when NOTIFY_DINGTALK_URL is set"
    )
    notify_feishu_url: str | None = Field(None, description="Feishu (飞书) group robot webhook URL (https)")
    notify_feishu_secret: str | None = Field(None, description="Feishu robot signing secret (optional)")
    notify_sms_url: str | None = Field(
        None, description="SMS gateway URL (https), POSTed JSON {phone, text, key} with a Bearer token"
    )
    notify_sms_token: str | None = Field(None, description="Bearer token of the SMS gateway; required with its URL")
    notify_smtp_host: str | None = Field(None, description="SMTP server for e-mail; unset: no e-mail")
    notify_smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port")
    notify_smtp_user: str | None = Field(None, description="SMTP user name (unset: no login)")
    notify_smtp_password: str | None = Field(None, description="SMTP password")
    notify_smtp_from: str | None = Field(None, description="Sender address of e-mail; required with NOTIFY_SMTP_HOST")
    notify_smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS")
    notify_ca_file: Path | None = Field(
        None, description="A CA bundle (PEM) trusted for the robots, SMS gateway and SMTP, besides the system's"
    )
    notify_timeout_s: float = Field(10, gt=0, le=120, description="Timeout of one delivery attempt, seconds")
    notify_lease_s: int = Field(
        120,
        ge=5,
        description="A delivery being sent is leased this long; a lease left by a crashed sender is retried after "
        "it (with the same idempotency key), seconds",
    )
    notify_retry_base_s: float = Field(10, gt=0, description="First retry delay after a failed attempt, seconds")
    notify_retry_max_s: float = Field(3600, gt=0, description="Longest retry delay, seconds")
    notify_rate_limit_s: float = Field(60, gt=0, description="Delay after a channel's rate-limit answer, seconds")
    notify_max_failures: int = Field(
        12, ge=1, description="Failed attempts (rate limits not counted) after which a delivery is given up"
    )
    notify_digest_count: int = Field(
        5, ge=1, description="More than this many messages waiting for one recipient on one channel ..."
    )
    notify_digest_window_min: float = Field(
        10, gt=0, description="... queued within this many minutes are sent as one digest"
    )
    notify_digest_max: int = Field(30, ge=2, le=200, description="Most messages one digest lists")
    notify_sender: bool = Field(True, description="Run the notification sender inside `python app.py`")
    notify_poll_s: float = Field(2, gt=0, le=60, description="The sender looks for due deliveries this often, seconds")

    # Reports (daily bulletin, weekly summary, monthly analysis)
    reports: bool = Field(True, description="Make the scheduled reports in a thread of `python app.py`")
    report_at: str = Field("08:00", description="Local time (HH:MM, the city's zone) at which reports fall due")
    report_weekday: int = Field(1, ge=1, le=7, description="Weekday the weekly summary falls due (1 Monday … 7)")
    report_monthday: int = Field(1, ge=1, le=28, description="Day of the month the monthly analysis falls due")
    report_kinds: str = Field("daily,weekly,monthly", description="Report kinds the schedule makes (comma-separated)")
    report_scopes: str = Field(
        "city", description="Scopes the schedule makes reports for: city, d:DISTRICT, s:STREET (comma-separated)"
    )
    report_catch_up_days: int = Field(
        7, ge=0, le=62, description="Reports missed while down are made if they fell due within this many days"
    )
    report_check_s: int = Field(60, ge=1, description="How often the schedule looks for reports due, seconds")
    report_retry_s: int = Field(600, ge=1, description="A failed report is tried again after this many seconds")
    report_max_attempts: int = Field(3, ge=1, le=20, description="Attempts at a report before it stays failed")
    report_lease_s: int = Field(
        1800, ge=60, description="A report claimed this long ago and not made is taken over (its builder stopped)"
    )
    report_subscribers_csv: Path | None = Field(
        None, description="CSV of report subscribers (scope, kind, channel, address); unset: no deliveries"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, and the renamed settings' old names in the environment (between it and `.env`)."""
        return init_settings, env_settings, _OldNamesInEnvironment(settings_cls), dotenv_settings, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for old, new in RENAMED.items():
            if old not in data:
                continue
            value = data.pop(old)
            if new in data:
                _warn_once(
                    old, f"setting {old.upper()} is deprecated and ignored: {new.upper()}, its new name, is set too"
                )
            else:
                data[new] = value
                _warn_once(
                    old, f"setting {old.upper()} is deprecated: call it {new.upper()} (read as {new.upper()}={value})"
                )
        return data

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)") from exc
        return v

    @field_validator("report_at")
    @classmethod
    def _report_at(cls, v: str) -> str:
        try:
            h, m = (int(x) for x in v.split(":"))
            time(h, m)
        except ValueError:
            raise ValueError("must be a local time HH:MM such as 08:00") from None
        return v

    @field_validator("report_kinds")
    @classmethod
    def _report_kinds(cls, v: str) -> str:
        kinds = [k.strip() for k in v.split(",") if k.strip()]
        bad = [k for k in kinds if k not in ("daily", "weekly", "monthly")]
        if bad:
            raise ValueError(f"unknown report kind {bad[0]!r}: daily, weekly, monthly")
        return ",".join(kinds)

    @field_validator("report_scopes")
    @classmethod
    def _report_scopes(cls, v: str) -> str:
        keys = [k.strip() for k in v.split(",") if k.strip()]
        bad = [k for k in keys if not re.match(r"^(city|[ds]:[0-9A-Za-z]{1,16})$", k)]
        if bad:
            raise ValueError(f"scope {bad[0]!r}: write city, d:DISTRICT or s:STREET")
        return ",".join(keys)

    @field_validator("report_subscribers_csv")
    @classmethod
    def _subscribers(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"no such file: {v}")
        return v

    @field_validator("default_lang")
    @classmethod
    def _lang(cls, v: str) -> str:
        if v not in ("zh", "en"):
            raise ValueError("must be zh or en")
        return v

    @field_validator("hotline_prefix", "consumer_group")
    @classmethod
    def _key(cls, v: str) -> str:
        if not v or any(c.isspace() for c in v):
            raise ValueError("must be non-empty and without spaces")
        return v

    @field_validator("contacts_file")
    @classmethod
    def _contacts(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"no file {v}")
        return v

    @field_validator("database_url")
    @classmethod
    def _db(cls, v: str | None) -> str | None:
        if v and not v.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return v

    @field_validator("database_read_url")
    @classmethod
    def _read_db(cls, v: str | None) -> str | None:
        if v and not v.startswith("postgresql"):
            raise ValueError("must be a postgresql+psycopg:// URL (a streaming replica of DATABASE_URL)")
        return v or None

    @model_validator(mode="after")
    def _replica_of_postgresql(self) -> Settings:
        if self.database_read_url and not (self.database_url or "").startswith("postgresql"):
            raise ValueError("DATABASE_READ_URL needs DATABASE_URL to be the PostgreSQL primary it replicates")
        return self

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, v: str | None) -> str | None:
        if v and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v

    @field_validator("notify_wecom_url", "notify_dingtalk_url", "notify_feishu_url", "notify_sms_url")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        if v and not v.startswith("https://"):
            raise ValueError("must be an https:// URL (messages carry names and phone numbers)")
        return v or None

    @field_validator("notify_ca_file")
    @classmethod
    def _ca_file(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"no such file: {v}")
        return v

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _notify_pairs(self) -> Settings:
        needed = [
            ("notify_dingtalk_url", "notify_dingtalk_secret"),
            ("notify_sms_url", "notify_sms_token"),
            ("notify_smtp_host", "notify_smtp_from"),
        ]
        for on, required in needed:
            if getattr(self, on) and not getattr(self, required):
                raise ValueError(f"{required.upper()} must be set when {on.upper()} is set")
        if self.notify_retry_base_s > self.notify_retry_max_s:
            raise ValueError("NOTIFY_RETRY_BASE_S must not exceed NOTIFY_RETRY_MAX_S")
        return self

    @field_validator("group_equivalent")
    @classmethod
    def _equivalent(cls, v: str) -> str:
        for part in v.split(";"):
            names = [n.strip() for n in part.split("|")]
            if part.strip() and (len(names) < 2 or not all(names)):
                raise ValueError(f"each set needs two or more non-empty names separated by '|' (not {part!r})")
        return v

    @model_validator(mode="after")
    def _thresholds(self) -> Settings:
        if self.yellow_at >= self.red_at:
            raise ValueError(f"YELLOW_AT ({self.yellow_at}) must be below RED_AT ({self.red_at})")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The city's time zone."""
        return ZoneInfo(self.time_zone)

    def limit(self, priority: str) -> timedelta:
        """The time limit of a priority (unknown priorities get the normal limit)."""
        hours = {
            "emergency": self.limit_emergency_h,
            "urgent": self.limit_urgent_h,
            "normal": self.limit_normal_h,
            "routine": self.limit_routine_h,
        }.get(priority, self.limit_normal_h)
        return timedelta(hours=hours)

    def stream(self, name: str) -> str:
        """Full Redis key of a stream: events, presence, events:dead, presence:dead."""
        return f"{self.hotline_prefix}:{name}"


class _OldNamesInEnvironment(PydanticBaseSettingsSource):
    """The renamed settings' old names in the process environment (keywords and `.env` hand them in already, as
    names the model does not know; the environment source reads only the model's own names)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env = {k.lower(): v for k, v in os.environ.items()}  # as the environment source: case-insensitive
        return {old: env[old] for old in RENAMED if old in env}


def _warn_once(old: str, message: str) -> None:
    """Log a renamed setting's warning, once per process (settings may be read more than once)."""
    if old not in _warned:
        _warned.add(old)
        log.warning(message)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise SettingsError naming each wrong setting and why."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "SETTINGS"
            name += "".join(f" (formerly {o.upper()})" for o, n in RENAMED.items() if n.upper() == name)
            got = f" (got {err.get('input')!r})" if err["loc"] else ""  # a model check's input is every setting
            lines.append(f"  {name}: {err['msg']}{got}")
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
