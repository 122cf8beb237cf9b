"""The pipeline's health: Redis, store, last event, backlogs, dead letters, the in-process worker, projectors,
grouping and escalation engine."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError

from dashboard.calendar import iso
from data_access.intake.consumer import IngestStatus
from data_access.intake.event_log import last_received
from data_access.notify.reading import channel_report, failing_channels
from data_access.ops.backlog import stream_wait, waiting_entries
from data_access.ops.services import Services
from data_access.projection.projector import ProjectorProcesses, projection_report
from data_access.same_event.loop import GroupingStatus
from data_access.store.engine import ping
from data_access.store.replica import replica_state
from data_access.supervision.engine import EngineStatus, escalation_report


def health(
    svc: Services,
    worker: IngestStatus | None,
    now: datetime | None = None,
    projectors: ProjectorProcesses | None = None,
    grouping: GroupingStatus | None = None,
    escalation: EngineStatus | None = None,
) -> tuple[bool, dict[str, Any]]:
    """(healthy, report). Unhealthy when Redis or the store does not answer, the in-process worker reports a
    problem or its loop stopped turning, the projector processes this process started ended, or work has waited
    longer than HEALTH_STALL_S (an entry unread or unacknowledged), or the projection is stalled (an event waits
    longer than PROJECTION_STALL_S and no checkpoint has moved meanwhile). `stalled` says which,
    `oldest_waiting_s` how long the oldest item of each queue has waited. A notification channel whose last
    attempt failed makes it unhealthy too (`notify` reports each channel, or that none is on). The projection's
    part of the report keeps its key "fold" (monitoring reads it). With DATABASE_READ_URL, `replica` says whether
    the screens' replica answers, is a standby and how far it replays behind (`lag_s`); unhealthy when it does
    not answer or lags REPLICA_MAX_LAG_S or more. The escalation engine of this process (`escalation`) is
    unhealthy while its last pass failed, or when the store's escalation position is further behind than
    STALL_INTERVALS intervals (no process passes: crossings are not becoming messages)."""
    now = now or datetime.now(UTC)
    s = svc.settings
    stall = s.health_stall_s
    report: dict[str, Any] = {"time": iso(now, s)}
    stalled: list[str] = []
    oldest: dict[str, float | None] = {}
    ok = True
    try:
        svc.redis.ping()
        report["redis"] = {"ok": True}
        report["waiting"] = {
            name: waiting_entries(svc.redis, s.stream(name), s.consumer_group) for name in ("events", "presence")
        }
        report["dead_letters"] = {name: svc.redis.xlen(s.stream(f"{name}:dead")) for name in ("events", "presence")}
        for name in ("events", "presence"):
            wait = stream_wait(svc.redis, s.stream(name), s.consumer_group)
            oldest[name] = wait.oldest_s if wait else None
            if wait and wait.unacked_s is not None and wait.unacked_s >= stall:
                stalled.append(f"{name}: an entry delivered {wait.unacked_s:.0f} s ago is not acknowledged")
            if wait and wait.unread_s is not None and wait.unread_s >= stall:
                stalled.append(f"{name}: entries written {wait.unread_s:.0f} s ago are not read")
    except (redis.RedisError, OSError) as exc:
        ok = False
        report["redis"] = {"ok": False, "error": str(exc)[:200]}
    try:
        ping(svc.engine)
        with svc.sessions() as session:
            last = last_received(session)
            report["fold"] = projection_report(session, now, s)
            report["notify"] = notify = channel_report(session, s, now)
            if escalation is not None:
                report["escalation"] = esc = escalation_report(session, escalation, s, now)
                if esc["stalled"]:
                    stalled.append(f"escalation: the position is {esc['lag_s']:.0f} s behind: no pass moves it")
                ok = ok and esc["ok"]
        report["store"] = {"ok": True}
        report["last_event_received"] = iso(last, s)
        report["feed_stale"] = last is None or (now - last).total_seconds() > s.feed_stale_s
        oldest["fold"] = unfolded = report["fold"]["oldest_queued_s"]
        for channel in failing_channels(notify):  # messages to the people responsible are not going out
            answer = notify["channels"][channel]["last_attempt"]["answer"]
            stalled.append(f"notify: channel {channel} is failing: {answer}")
        if report["fold"]["stalled"]:  # PROJECTION_STALL_S: old work waits and no checkpoint moves
            stalled.append(f"fold: an event received {unfolded:.0f} s ago is not projected, and no checkpoint moves")
    except SQLAlchemyError as exc:
        ok = False
        report["store"] = {"ok": False, "error": str(exc).splitlines()[0][:200]}
    if svc.replica is not None:
        state = replica_state(svc.replica)
        report["replica"] = state.report()
        ok = ok and state.ok
        if state.lag_s is not None and state.lag_s >= s.replica_max_lag_s:
            stalled.append(f"replica: the screens read {state.lag_s:.0f} s behind the primary")
    if worker is not None:
        idle = time.monotonic() - worker.beat
        report["ingest"] = {
            "ok": worker.ok,
            "problem": worker.problem or None,
            "stored": worker.stored,
            "dead_lettered": worker.dead,
            "held": worker.held,
            "restarts": worker.restarts,
            "last_batch_at": iso(worker.last_batch_at, s),
        }
        if idle >= stall:
            stalled.append(f"ingest: its loop has not turned for {idle:.0f} s")
        ok = ok and worker.ok
    # appeals the projection left out (`isolated`) are shown, not unhealthy by themselves
    if projectors is not None:  # the projector processes this one started
        report.setdefault("fold", {})["running"] = projectors.is_alive()
        ok = ok and projectors.is_alive()
    if grouping is not None:  # same-event grouping's thread in this process: shown, and unhealthy while it fails
        report["grouping"] = {"ok": grouping.ok, "problem": grouping.problem or None, "grouped": grouping.grouped}
        ok = ok and grouping.ok
    report["oldest_waiting_s"] = oldest
    report["stalled"] = stalled
    ok = ok and not stalled
    report["ok"] = ok
    return ok, report
