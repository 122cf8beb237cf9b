"""The one start-up warm-up of the screens' caches, in the background: the wall's history aggregates first
(rankings of every level, hotspot baselines, the tour: its first tick needs them), then the problems analysis
and every topic's monitoring, so the first user asking for them finds their per-day aggregates in memory (read
from the store's kept days, data_access/wall/day_store.py, or computed and kept there on a first start). Then
what is alive is frozen out of the cyclic collector's sight (`gc_tuning.freeze_alive`)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from dashboard.scopes import COMMAND_CENTER, Scope
from data_access.ops.gc_tuning import freeze_alive
from data_access.problems import analysis
from data_access.topics import monitor
from data_access.wall import snapshot as screen
from data_access.wall.snapshot import WallContext

log = logging.getLogger(__name__)


def warm(sessions: sessionmaker[Session], ctx: WallContext, now: datetime | None = None) -> None:
    """Compute what the wall's first tick, the problems page, /api/v1/problems and the topic pages read first
    (city-wide)."""
    now = now or datetime.now(UTC)
    screen.warm(sessions, ctx, now)  # a store that is down is logged there: the ticks will say so
    with sessions() as s:
        analysis.problem_rows(s, now, ctx, "cat3", "street")
        analysis.candidate_rows(s, now, ctx)
        analysis.scan_hotspots(s, now, ctx)
        for row in monitor.topics(s):
            monitor.detail(s, row, Scope(COMMAND_CENTER), now, ctx)


def start_warm(sessions: sessionmaker[Session], ctx: WallContext) -> threading.Thread:
    """`warm` once in a background thread, then `freeze_alive` (a failure is logged: the screens compute what
    they need all the same)."""

    def work() -> None:
        t = time.perf_counter()
        try:
            warm(sessions, ctx)
            log.info("screens' caches warmed in %.1f s", time.perf_counter() - t)
        except Exception:  # the store may not be ready yet: the first asker computes it
            log.exception("warming the screens' caches failed")
        finally:
            freeze_alive()

    thread = threading.Thread(target=work, name="warm-up", daemon=True)
    thread.start()
    return thread
