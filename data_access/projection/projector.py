"""The folder: brings each appeal's row up to date with the events the ingest worker logged for it."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.settings import Settings
from data_access.ops.gc_tuning import settle_gc
from data_access.projection.checkpoints import fold_mark, fold_marks, mark_key
from data_access.projection.fold import Drafts, fold_logged
from data_access.store.engine import make_engine, make_sessionmaker
from data_access.store.models import AppealEvent

log = logging.getLogger(__name__)

#: Drafts of recently folded appeals the folders keep in memory, shared among the shares.
DRAFTS = 50_000
#: How long an idle folder waits for a wake-up before it looks at the log anyway (other processes' events).
IDLE_WAIT_S = 0.5
#: A folder whose last batch read this many events is in a backlog: before the next batch it lets the log grow
#: by a full batch (FOLD_BATCH events of each share), as long as the log keeps growing and for GATHER_S at most.
#: An appeal with several events in a batch is written once: the later a backlog is folded, the less is written.
GATHER_FROM = 2_000
GATHER_S = 5.0
GATHER_QUIET_S = 0.5


@dataclass
class FoldStatus:
    """What the folder last saw (a folder process says it in its log; /healthz sees what it leaves unfolded)."""

    ok: bool = True
    problem: str = ""
    folded: int = 0
    last_batch_at: datetime | None = None


class Folder:
    """One loop: fold the events logged after the fold mark into their appeals, commit; wait for more when there
    are none. The appeals fall into `settings.folders` shares, each with its own mark: a folder process folds one
    share, so that shares fold on several cores; a folder in a test or a thread folds them all in turn."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], wake: Any = None, parts: Sequence[int] | None = None
    ) -> None:
        self.s = settings
        self.sessions = sessions
        self.status = FoldStatus()
        self.wake = wake or threading.Event()  # set by an ingest worker after it logged events
        self.parts = list(range(settings.folders)) if parts is None else list(parts)
        self.drafts = {p: Drafts(DRAFTS // settings.folders) for p in self.parts}

    def step(self) -> int:
        """Fold one batch of each share; return events the marks passed (0: none waits, or other folders are
        folding; then nothing was locked on SQLite)."""
        n = sum(fold_logged(self.sessions, self.s, self.s.fold_batch, self.drafts[p], p) for p in self.parts)
        self.status.folded += n
        self.status.last_batch_at = datetime.now(UTC)
        return n

    def drain(self) -> int:
        """Fold until no event waits (or another folder is folding); return events folded."""
        total = 0
        while n := self.step():
            total += n
        return total

    def _gather(self, stop: threading.Event) -> None:
        """Wait while a backlog is being logged, until a full batch of each share waits past the lowest of this
        folder's marks, the log stops growing for GATHER_QUIET_S, or GATHER_S have passed."""
        deadline = time.monotonic() + GATHER_S
        full = self.s.fold_batch * self.s.folders
        before = None
        while not stop.is_set() and time.monotonic() < deadline:
            with self.sessions() as s:
                top = last_seq(s)
                marks = fold_marks(s)
            mark = min(marks.get(mark_key(p, self.s.folders), 0) for p in self.parts)
            if top - mark >= full or top == before:
                return
            before = top
            stop.wait(GATHER_QUIET_S)

    def run(self, stop: threading.Event) -> None:
        """Fold until `stop` is set, retrying with backoff while the store is away."""
        backoff = 0.5
        while not stop.is_set():
            try:
                n = self.step()
                if n == 0:
                    self.wake.wait(IDLE_WAIT_S)
                    self.wake.clear()
                elif n >= GATHER_FROM:
                    self._gather(stop)
                if not self.status.ok:
                    log.info("folder recovered")
                self.status.ok, self.status.problem = True, ""
                backoff = 0.5
            except (OperationalError, DBAPIError) as exc:
                self.status.ok, self.status.problem = False, f"store unavailable: {str(exc).splitlines()[0][:200]}"
                log.warning("folder: %s; retrying in %.1f s", self.status.problem, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception as exc:  # a defect must show in /healthz, not end the thread and leave appeals stale
                self.status.ok, self.status.problem = False, f"folding failed: {exc!r}"[:300]
                log.exception("folder: retrying in %.1f s", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)


def queued(session: Session) -> int:
    """Events stored after the lowest share's fold mark: not yet folded into their appeals (give or take those a
    share ahead of the lowest has folded)."""
    return session.scalar(select(func.count()).where(AppealEvent.seq > fold_mark(session))) or 0


def last_seq(session: Session) -> int:
    """The `seq` of the last logged event (0: none)."""
    return session.scalar(select(func.max(AppealEvent.seq))) or 0


def all_folded(session: Session) -> bool:
    """Whether every stored event is folded into its appeal (two index lookups, whatever the backlog)."""
    return last_seq(session) <= fold_mark(session)


def oldest_queued_s(session: Session, now: datetime) -> float | None:
    """Seconds since the oldest event still waiting to be folded was received (None: none waits)."""
    first = session.scalar(
        select(AppealEvent.received_at).where(AppealEvent.seq > fold_mark(session)).order_by(AppealEvent.seq).limit(1)
    )
    return None if first is None else round(max(0.0, (now - first).total_seconds()), 1)


class FolderProcesses:
    """A folder process for each share of the appeals (`settings.folders`), so that folding and ingesting use
    several cores. The ingest worker calls `wake` after it logged events."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.url = url
        self.stop = _SPAWN.Event()
        self.wakes = [_SPAWN.Event() for _ in range(settings.folders)]
        self.procs = [self._start(p) for p in range(settings.folders)]

    def _start(self, part: int) -> BaseProcess:
        proc = _SPAWN.Process(target=_fold_process, name=f"fold-{part}", daemon=True,
                              args=(self.settings, self.url, part, self.wakes[part], self.stop, os.getpid()))
        proc.start()
        return proc

    def wake(self) -> None:
        """Tell every folder that events were logged."""
        for w in self.wakes:
            w.set()

    def is_alive(self) -> bool:
        """Whether every folder process runs."""
        return all(p.is_alive() for p in self.procs)

    def restart_ended(self) -> list[tuple[int, int | None]]:
        """Start again each folder process that ended; return (share, exit code) of each."""
        ended = [(i, p.exitcode) for i, p in enumerate(self.procs) if not p.is_alive()]
        for i, _ in ended:
            self.procs[i] = self._start(i)
        return ended

    def close(self, timeout: float = 10.0) -> None:
        """Stop the folder processes (each finishes the batch it folds)."""
        self.stop.set()
        self.wake()
        for p in self.procs:
            p.join(timeout)


_SPAWN = mp.get_context("spawn")  # not fork: the parent runs threads (web server, ingest, embedded Redis)


def _fold_process(settings: Settings, url: str, part: int, wake: Any, stop: Any, parent: int) -> None:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s fold-{part} %(levelname)s %(message)s")
    engine = make_engine(url, writer=True)
    folder = Folder(settings, make_sessionmaker(engine), wake, parts=[part])
    settle_gc()

    def orphaned() -> None:  # the parent was killed: stop with it
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()
                wake.set()

    threading.Thread(target=orphaned, daemon=True).start()
    folder.run(stop)
    engine.dispose()
