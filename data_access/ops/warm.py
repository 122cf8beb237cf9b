"""Warming the screens' caches after a start, in the background: the problems analysis and every topic's
monitoring are computed once, so the first user asking for them finds their per-day aggregates in memory (read
from the store's kept days, data_access/wall/day_store.py, or computed and kept there on a first start)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dashboard.scopes import COMMAND_CENTER, Scope
from data_access.problems import analysis
from data_access.topics import monitor
from data_access.wall.snapshot import WallContext

log = logging.getLogger(__name__)


def warm(sessions: Callable[[], Any], ctx: WallContext) -> None:
    """Compute what the problems page, /api/v1/problems and the topic pages read first (city-wide)."""
    now = datetime.now(UTC)
    with sessions() as s:
        analysis.problem_rows(s, now, ctx, "cat3", "street")
        analysis.candidate_rows(s, now, ctx)
        analysis.scan_hotspots(s, now, ctx)
        for row in monitor.topics(s):
            monitor.detail(s, row, Scope(COMMAND_CENTER), now, ctx)


def start_warm(sessions: Callable[[], Any], ctx: WallContext) -> threading.Thread:
    """`warm` once in a background thread (a failure is logged: the screens compute what they need all the same)."""

    def work() -> None:
        t = time.perf_counter()
        try:
            warm(sessions, ctx)
            log.info("screens' caches warmed in %.1f s", time.perf_counter() - t)
        except Exception:  # the store may not be ready yet: the first asker computes it
            log.exception("warming the screens' caches failed")

    thread = threading.Thread(target=work, name="warm-up", daemon=True)
    thread.start()
    return thread
