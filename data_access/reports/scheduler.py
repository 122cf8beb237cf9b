"""The report schedule: a thread of `python app.py` that makes every report due, once, and catches up.

Each pass lists the periods due (dashboard/reports.Schedule.due: within the catch-up window, so a run missed while
the service was down is made when it comes back) for every scheduled scope, and calls `build.make` for each: the
archive's claim makes each one exactly once however many processes run the schedule, and retries failed ones. It
runs in its own thread with its own sessions and caches: a slow or failing build never holds up a screen or the
ingest."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.reports import schedule_of
from dashboard.wall import View
from data_access.reports.build import Deliver, Outcome, make
from data_access.store.history_load import history_load
from data_access.wall.snapshot import WallContext

log = logging.getLogger(__name__)


def run_due(
    sessions: sessionmaker[Session],
    ctx: WallContext,
    now: datetime,
    who: str | None = None,
    deliver: Deliver | None = None,
    reads: sessionmaker[Session] | None = None,
) -> list[tuple[str, str, str, Outcome]]:
    """One pass: make every report due at `now` that is not made; (kind, period, scope, outcome) of each tried."""
    s = ctx.settings
    out = []
    for p in schedule_of(s).due(now, s.zone):
        for key in (k for k in s.report_scopes.split(",") if k):
            view = View.parse(key)
            if not ctx.refs.knows(view):
                log.error("REPORT_SCOPES: unknown scope %s: skipped", key)
                continue
            got = make(sessions, ctx, p, view, now, who=who, deliver=deliver, reads=reads)
            if got.state != "skipped":
                log.info("report %s %s %s: %s %s", p.kind, p.label, key, got.state, got.reason or "")
            out.append((p.kind, p.label, key, got))
    return out


def start(
    sessions: sessionmaker[Session],
    ctx: WallContext,
    stop: threading.Event,
    deliver: Deliver | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    reads: sessionmaker[Session] | None = None,
) -> threading.Thread:
    """Run `run_due` every REPORT_CHECK_S in a daemon thread until `stop` is set (content read through `reads`)."""

    def loop() -> None:
        while not stop.is_set():
            try:
                with sessions() as session:
                    loading = history_load(session)
                if loading is None:
                    run_due(sessions, ctx, clock(), deliver=deliver, reads=reads)
                else:  # a report of a period whose history is still arriving would be wrong, and made only once
                    log.info("report schedule: waiting for the history load (%.0f%%)", 100 * loading)
            except SQLAlchemyError as exc:  # the store is down: try again next pass
                log.warning("report schedule: store unavailable: %s", str(exc).splitlines()[0][:200])
            except Exception:
                log.exception("report schedule: pass failed")
            stop.wait(ctx.settings.report_check_s)

    thread = threading.Thread(target=loop, name="reports", daemon=True)
    thread.start()
    return thread
