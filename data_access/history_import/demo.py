"""The demo city's history on a first start: the export of its past days (data_access/demo/export.py) imported batch
by batch through `python app.py import`'s path (`Importer`: the column-wise conversion, the log in bulk, the appeals
written as folded), with progress, rate and time left in the log and in the store for the screens' banner.

What the wall needs first goes first: the appeals still open at the start, latest day first (the lights, the
red list, the units' and members' loads, most of the last 24 hours' hotspots), then the closed ones, latest day
first, each day lengthening the hotspots' baselines and the rankings' months (this month's, then last month's).
The live feed starts as soon as today's open appeals are in, going on from the minute the history ends; the later
steps of the history's open appeals are handed to it day by day, and it writes them through Redis when they fall
due, as live events that continue the imported appeals."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.settings import Settings
from data_access.demo.export import MAPPING
from data_access.demo.feed import DemoFeed
from data_access.history_import.cli import read_mapping
from data_access.history_import.readers import Batch
from data_access.history_import.run import BATCH_ROWS, Importer, Progress
from data_access.intake.reference_data import Gazetteer
from data_access.store.history_load import set_history_load
from data_access.store.models import AppealEvent

log = logging.getLogger(__name__)
FILE = "demo history"


def store_is_empty(sessions: sessionmaker[Session]) -> bool:
    """Whether the event log holds nothing yet (a first start)."""
    with sessions() as s:
        return s.scalar(select(AppealEvent.seq).limit(1)) is None


def load_demo_history(
    feed: DemoFeed,
    days: float,
    sessions: sessionmaker[Session],
    settings: Settings,
    gazetteer: Gazetteer,
    *,
    started: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
    rejects: Path | None = None,
    batch: int = BATCH_ROWS,
) -> int:
    """Import the `days` before the feed's now (see the module's docstring); return the events logged. The feed
    is set to go on from there (`DemoFeed.resume`); `started` is called once today's history is in (to start the
    live feed); `stop` ends the load between two batches."""
    history = feed.history()
    end = int(feed.now()) // 60 * 60
    start = end - int(days * 86400) // 60 * 60
    feed.resume(end)
    plan = history.days_back(start, end)
    total = sum(history.count(day, lo, hi) for day, lo, hi in plan)
    importer = Importer(read_mapping(MAPPING), sessions, settings, gazetteer,
                        rejects or settings.var_dir / "demo-history-rejects.csv")  # fmt: skip
    summary = importer.summary

    shown = [-1.0]

    def mark(fraction: float | None) -> None:
        """The banner's figure, written when it moves by a percent (or ends); a store too busy to take it now is
        no reason to stop the load: the next one is written."""
        if fraction is not None and 0 < fraction - shown[0] < 0.01:
            return
        try:
            with sessions() as s, s.begin():
                set_history_load(s, fraction)
            shown[0] = -1.0 if fraction is None else fraction
        except OperationalError as exc:
            shown[0] = max(shown[0], 0.0)
            log.warning("demo history: the banner's figure not written (%s)", exc)

    progress = Progress(total, mark)
    log.info(
        "demo history: %s appeals of %g days to load: the open ones, then the closed, latest day first",
        f"{total:,}",
        days,
    )
    t0, c0 = time.monotonic(), time.process_time()
    mark(0.0)
    try:
        for which in ("open", "closed"):
            for day, lo, hi in plan:
                export = history.day(day, lo, hi, end, which)
                for first, columns in export.batches(batch):
                    if stop is not None and stop.is_set():
                        return summary.events
                    numbers = list(range(first + 2, first + 2 + len(columns[next(iter(columns))])))
                    importer.add(Batch(numbers, columns), f"{FILE} {day} {which}", datetime.now(UTC))
                    progress.update(summary.rows, summary.rows / total if total else 1.0)
                feed.take_over(export.pending)
                log.info("demo history: %s's appeals %s at the start loaded (%s)", day, which, f"{export.rows:,}")
                if started is not None:
                    started()  # today's open appeals are in: the live feed goes on from them
                    started = None
            if which == "open":
                log.info("demo history: every appeal open at the start is in (%s) after %.0f s", f"{summary.rows:,}",
                         time.monotonic() - t0)  # fmt: skip
        progress.update(summary.rows, 1.0, final=True)
    finally:
        importer.close()
        for _ in range(30):  # the banner must not stay up after the load
            mark(None)
            if shown[0] < 0:
                break
            time.sleep(1.0)
    spent = time.monotonic() - t0
    log.info(
        "demo history: %s; %.0f s (%.0f s of CPU), %s appeals/s",
        summary.line(),
        spent,
        time.process_time() - c0,
        f"{summary.rows / max(spent, 1e-9):,.0f}",
    )
    return summary.events
