"""The demo city's history on a first start: the export of its past days (data_access/demo/export.py) imported batch
by batch through `python app.py import`'s path (`Importer`: the column-wise conversion, the log in bulk, the appeals
written as folded), with progress, rate and time left in the log and in the store for the screens' banner.

What the wall needs first goes first: the appeals still open at the start, latest day first (the lights, the
red list, the units' and members' loads, most of the last 24 hours' hotspots), then the closed ones, latest day
first, each day lengthening the hotspots' baselines and the rankings' months (this month's, then last month's).
The live feed starts at once, going on from the minute the history ends (its appeals carry on the day's numbers);
the later steps of the history's open appeals are handed to it day by day as they are in the store, and it writes
them through Redis when they fall due (at once if they are due already), as live events that continue the imported
appeals. Live events arriving meanwhile fold by the same rules (`write_batch` leaves a partition its projector has
not caught up with to that projector).

The history's end is recorded in the store before the load starts and cleared once it is all in (`plan_load`): a
start after a kill or a stop halfway loads the same history again to the same end, which adds only what is missing
(every imported event's id follows from its appeal), while the live feed goes on from that start's own time."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Empty
from typing import Any, NamedTuple

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.settings import Settings
from data_access.demo.export import MAPPING, DemoHistory, Pending
from data_access.demo.feed import DemoFeed
from data_access.history_import.cli import read_mapping
from data_access.history_import.run import BATCH_ROWS, Importer, Progress, Rejects, ahead
from data_access.history_import.store import Prepared
from data_access.intake.reference_data import Gazetteer
from data_access.store.engine import make_engine, make_sessionmaker
from data_access.store.history_load import history_end, set_history_end, set_history_load
from data_access.store.models import AppealEvent
from geo.loader import load_city

log = logging.getLogger(__name__)
FILE = "demo history"


def store_is_empty(sessions: sessionmaker[Session]) -> bool:
    """Whether the event log holds nothing yet (a first start)."""
    with sessions() as s:
        return s.scalar(select(AppealEvent.seq).limit(1)) is None


class Load(NamedTuple):
    """A history to load: it ends at `end` (epoch seconds, a whole minute); `resumed`: a load an earlier start began
    and did not complete (its live feed went on from its own time, so this start's feed does not go back to `end`)."""

    end: int
    resumed: bool


def plan_load(sessions: sessionmaker[Session], days: float, first: bool, now: float) -> Load | None:
    """The history this start loads, said in the store before any other thread looks (the banner, the report
    schedule) or writes: on a first start (`first`: an empty log and stream) the `days` before `now`, its end
    recorded; after a start whose load did not complete, that load again, to its end; else none (what a stopped
    load left is cleared; so it is when no `days` are asked for)."""
    with sessions() as session, session.begin():
        end = history_end(session) if days > 0 else None
        if end is not None:
            set_history_load(session, 0.0)
            return Load(end, resumed=True)
        if not first or days <= 0:
            set_history_load(session, None)
            set_history_end(session, None)
            return None
        end = int(now) // 60 * 60
        set_history_end(session, end)
        set_history_load(session, 0.0)
        return Load(end, resumed=False)


def load_demo_history(
    feed: DemoFeed,
    days: float,
    sessions: sessionmaker[Session],
    settings: Settings,
    gazetteer: Gazetteer,
    *,
    stop: threading.Event | None = None,
    rejects: Path | None = None,
    batch: int = BATCH_ROWS,
) -> int:
    """Import the `days` before the feed's now in this thread (see the module's docstring); return the events
    logged. The feed is set to go on from there (`DemoFeed.resume`) and given the open appeals' later steps;
    `stop` ends the load between two batches."""
    end = int(feed.now()) // 60 * 60
    feed.resume(end)
    return load_history(feed.history(), days, end, sessions, settings, gazetteer, feed.take_over, stop=stop,
                        rejects=rejects, batch=batch)  # fmt: skip


def load_history(
    history: DemoHistory,
    days: float,
    end: int,
    sessions: sessionmaker[Session],
    settings: Settings,
    gazetteer: Gazetteer,
    take_over: Callable[[list[Pending]], None],
    *,
    stop: Any = None,
    rejects: Path | None = None,
    batch: int = BATCH_ROWS,
) -> int:
    """Import the `days` of `history` before `end` (a whole minute); hand each day's open appeals to `take_over`;
    return the events logged."""
    start = end - int(days * 86400) // 60 * 60
    plan = history.days_back(start, end)
    total = sum(history.count(day, lo, hi) for day, lo, hi in plan)
    rejected = Rejects(rejects or settings.var_dir / "demo-history-rejects.csv")
    importer = Importer(read_mapping(MAPPING), sessions, settings, gazetteer, rejected)
    summary = importer.summary

    shown = [-1.0]
    complete = False

    def mark(fraction: float | None) -> None:
        """The banner's figure, written when it moves by a percent (or ends: the history's end is then cleared too
        if the load is complete); a store too busy to take it now is no reason to stop the load: the next one is
        written."""
        if fraction is not None and 0 < fraction - shown[0] < 0.01:
            return
        try:
            with sessions() as s, s.begin():
                set_history_load(s, fraction)
                if complete:
                    set_history_end(s, None)
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
    written = 0

    def prepared() -> Iterator[tuple[Prepared | None, int, Any]]:
        """Each batch generated and converted (in `ahead`'s thread, while the store takes the one before) with its
        rows; after a day's batches, the day (its open appeals are handed over once those are written)."""
        for which in ("open", "closed"):
            for day, lo, hi in plan:
                export = history.day(day, lo, hi, end, which)
                for _first, columns in export.batches(batch):
                    table = pa.table(columns)
                    yield importer.convert(table, f"{FILE} {day} {which}"), table.num_rows, None
                yield None, 0, (day, which, export)

    try:
        for ready, rows, done in ahead(prepared()):
            if stop is not None and stop.is_set():
                return summary.events
            if ready is not None:
                importer.write(ready)
                written += rows
                progress.update(written, written / total if total else 1.0)
                continue
            day, which, export = done
            take_over(export.pending)
            log.info("demo history: %s's appeals %s at the start loaded (%s)", day, which, f"{export.rows:,}")
            if which == "open" and day == plan[-1][0]:
                log.info("demo history: every appeal open at the start is in (%s) after %.0f s", f"{written:,}",
                         time.monotonic() - t0)  # fmt: skip
        progress.update(written, 1.0, final=True)
        complete = True
    finally:
        rejected.close()
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


def start_loading(feed: DemoFeed, settings: Settings, url: str, stop: threading.Event, load: Load) -> threading.Thread:
    """Start the live feed (`feed.run`: from the history's end, or from now when the load is `resumed`) and load the
    demo's history in a process of its own (the web server's threads keep their interpreter: the load is CPU-bound
    Python); a thread of this process hands the history's open appeals to the feed as they come. Returns that
    thread."""
    if load.resumed:
        log.info("demo history: the load an earlier start did not complete goes on (to %s)",
                 time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(load.end)))  # fmt: skip
    else:
        feed.resume(load.end)
    queue: Any = _SPAWN.Queue()
    proc = _SPAWN.Process(target=_load_process, name="demo-history", daemon=True,
                          args=(settings, url, load.end, queue, os.getpid()))  # fmt: skip
    proc.start()
    feed_thread = threading.Thread(target=feed.run, args=(stop,), name="demo-feed", daemon=True)
    feed_thread.start()

    def relay() -> None:
        try:
            while not stop.is_set():
                try:
                    what, data = queue.get(timeout=1.0)
                except Empty:
                    if not proc.is_alive():
                        log.error("demo history: the loading process ended (exit code %s)", proc.exitcode)
                        return
                    continue
                if what == "pending":
                    feed.take_over(data)
                elif what == "done":
                    return
        finally:
            if stop.is_set() and proc.is_alive():
                proc.terminate()  # between or inside a batch's transaction: what it did not commit is not there

    thread = threading.Thread(target=relay, name="demo-history", daemon=True)
    thread.start()
    return thread


_SPAWN = mp.get_context("spawn")  # not fork: the parent runs threads


def _load_process(settings: Settings, url: str, end: int, queue: Any, parent: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s demo-history %(levelname)s %(name)s: %(message)s")
    stop = mp.Event()

    def orphaned() -> None:  # the parent was killed: stop with it
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=orphaned, daemon=True).start()
    engine = make_engine(url, writer=True)
    n = 0
    try:
        city = load_city(settings)
        history = DemoHistory.for_city(city, settings, settings.city_seed, settings.demo_per_day)
        n = load_history(
            history,
            settings.demo_backfill_days,
            end,
            make_sessionmaker(engine),
            settings,
            Gazetteer(city, settings.snap_distance_m),
            lambda pending: queue.put(("pending", pending)),
            stop=stop,
        )
    except Exception:
        log.exception("demo history: loading stopped")
    finally:
        queue.put(("done", n))
        engine.dispose()
