"""The projector: brings each appeal's row up to date with the events the ingest worker logged for it."""

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
from sqlalchemy.orm import Session, sessionmaker

from dashboard.calendar import iso
from dashboard.settings import Settings
from data_access.ops.gc_tuning import settle_gc
from data_access.projection.checkpoints import checkpoints, lowest_checkpoint
from data_access.projection.failures import failures_summary, reason, transient
from data_access.projection.fold import Drafts, fold_logged
from data_access.store.engine import make_engine, make_sessionmaker
from data_access.store.models import AppealEvent, ProjectionCheckpoint

log = logging.getLogger(__name__)

#: Drafts of recently folded appeals the projectors keep in memory, shared among the partitions.
DRAFTS = 50_000
#: How long an idle projector waits for a wake-up before it looks at the log anyway (other processes' events).
IDLE_WAIT_S = 0.5
#: A projector whose last batch read this many events is in a backlog: before the next batch it lets the log grow
#: by a full batch (PROJECTION_BATCH events of each partition), as long as the log keeps growing and for GATHER_S
#: at most.
#: An appeal with several events in a batch is written once: the later a backlog is folded, the less is written.
GATHER_FROM = 2_000
GATHER_S = 5.0
GATHER_QUIET_S = 0.5


@dataclass
class ProjectorStatus:
    """What the projector last saw (a projector process says it in its log; /healthz sees what it leaves
    unfolded)."""

    ok: bool = True
    problem: str = ""
    folded: int = 0
    last_batch_at: datetime | None = None


class Projector:
    """One loop: fold the events logged after the checkpoint into their appeals, commit; wait for more when there
    are none. The appeals fall into `settings.projectors` partitions, each with its own checkpoint: a projector
    process folds one partition, so that partitions fold on several cores; a projector in a test or a thread folds
    them all in turn."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        wake: Any = None,
        partitions: Sequence[int] | None = None,
    ) -> None:
        self.s = settings
        self.sessions = sessions
        self.status = ProjectorStatus()
        self.wake = wake or threading.Event()  # set by an ingest worker after it logged events
        self.partitions = list(range(settings.projectors)) if partitions is None else list(partitions)
        self.drafts = {p: Drafts(DRAFTS // settings.projectors) for p in self.partitions}

    def step(self) -> int:
        """Fold one batch of each partition; return events the checkpoints passed (0: none waits, or other
        projectors are folding; then nothing was locked on SQLite)."""
        n = sum(fold_logged(self.sessions, self.s, self.s.projection_batch, self.drafts[p], p) for p in self.partitions)
        self.status.folded += n
        self.status.last_batch_at = datetime.now(UTC)
        return n

    def drain(self) -> int:
        """Fold until no event waits (or another projector is folding); return events folded."""
        total = 0
        while n := self.step():
            total += n
        return total

    def _gather(self, stop: threading.Event) -> None:
        """Wait while a backlog is being logged, until a full batch of each partition waits past the lowest of
        this projector's checkpoints, the log stops growing for GATHER_QUIET_S, or GATHER_S have passed."""
        deadline = time.monotonic() + GATHER_S
        full = self.s.projection_batch * self.s.projectors
        before = None
        while not stop.is_set() and time.monotonic() < deadline:
            with self.sessions() as s:
                top = last_seq(s)
                known = checkpoints(s)
            low = min(known.get((p, self.s.projectors), 0) for p in self.partitions)
            if top - low >= full or top == before:
                return
            before = top
            stop.wait(GATHER_QUIET_S)

    def run(self, stop: threading.Event) -> None:
        """Fold until `stop` is set, retrying with backoff while the store is away (or a batch fails as a whole:
        an appeal that cannot be folded is left out by `fold_logged`, it does not stop the rest)."""
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
                    log.info("projector recovered")
                self.status.ok, self.status.problem = True, ""
                backoff = 0.5
            except Exception as exc:  # a defect must show in /healthz, not end the thread and leave appeals stale
                if transient(exc):
                    self.status.ok, self.status.problem = False, f"store unavailable: {reason(exc)[:200]}"
                    log.warning("projector: %s; retrying in %.1f s", self.status.problem, backoff)
                else:
                    self.status.ok, self.status.problem = False, f"folding failed: {exc!r}"[:300]
                    log.exception("projector: retrying in %.1f s", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)


def queued(session: Session) -> int:
    """Events stored after the lowest checkpoint: not yet folded into their appeals (give or take those a
    partition ahead of the lowest has folded)."""
    return session.scalar(select(func.count()).where(AppealEvent.seq > lowest_checkpoint(session))) or 0


def last_seq(session: Session) -> int:
    """The `seq` of the last logged event (0: none)."""
    return session.scalar(select(func.max(AppealEvent.seq))) or 0


def all_folded(session: Session) -> bool:
    """Whether every stored event is folded into its appeal (two index lookups, whatever the backlog)."""
    return last_seq(session) <= lowest_checkpoint(session)


def projection_report(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    """The projection's part of /healthz: events waiting and the oldest one's age; `stalled` when that event has
    waited PROJECTION_STALL_S and the checkpoint it waits behind has not moved for as long (a backlog being
    folded is not stalled); the appeals left out (`isolated`: healthy by itself) and the newest failure."""
    oldest = oldest_queued_s(session, now)
    stall = settings.projection_stall_s
    failures = failures_summary(session)
    newest = failures["newest"]
    return {
        "queued": queued(session),
        "oldest_queued_s": oldest,
        "stalled": oldest is not None and oldest > stall and _behind_since_s(session, now) > stall,
        "isolated": failures["isolated"],
        "newest_failure": newest and {**newest, "at": iso(newest["at"], settings)},
    }


def _behind_since_s(session: Session, now: datetime) -> float:
    """Seconds since the lowest checkpoint last moved (inf: no partition ever folded)."""
    rows = session.execute(select(ProjectionCheckpoint.position, ProjectionCheckpoint.updated_at)).all()
    if not rows:
        return float("inf")
    low = min(pos for pos, _ in rows)
    return (now - max(at for pos, at in rows if pos == low)).total_seconds()


def oldest_queued_s(session: Session, now: datetime) -> float | None:
    """Seconds since the oldest event still waiting to be folded was received (None: none waits)."""
    first = session.scalar(
        select(AppealEvent.received_at)
        .where(AppealEvent.seq > lowest_checkpoint(session))
        .order_by(AppealEvent.seq)
        .limit(1)
    )
    return None if first is None else round(max(0.0, (now - first).total_seconds()), 1)


class ProjectorProcesses:
    """A projector process for each partition of the appeals (`settings.projectors`), so that projecting and
    ingesting use several cores. The ingest worker calls `wake` after it logged events."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.url = url
        self.stop = _SPAWN.Event()
        self.wakes = [_SPAWN.Event() for _ in range(settings.projectors)]
        self.procs = [self._start(p) for p in range(settings.projectors)]

    def _start(self, partition: int) -> BaseProcess:
        proc = _SPAWN.Process(
            target=_projector_process,
            name=f"projector-{partition}",
            daemon=True,
            args=(self.settings, self.url, partition, self.wakes[partition], self.stop, os.getpid()),
        )
        proc.start()
        return proc

    def wake(self) -> None:
        """Tell every projector that events were logged."""
        for w in self.wakes:
            w.set()

    def is_alive(self) -> bool:
        """Whether every projector process runs."""
        return all(p.is_alive() for p in self.procs)

    def restart_ended(self) -> list[tuple[int, int | None]]:
        """Start again each projector process that ended; return (partition, exit code) of each."""
        ended = [(i, p.exitcode) for i, p in enumerate(self.procs) if not p.is_alive()]
        for i, _ in ended:
            self.procs[i] = self._start(i)
        return ended

    def close(self, timeout: float = 10.0) -> None:
        """Stop the projector processes (each finishes the batch it folds)."""
        self.stop.set()
        self.wake()
        for p in self.procs:
            p.join(timeout)


_SPAWN = mp.get_context("spawn")  # not fork: the parent runs threads (web server, ingest, embedded Redis)


def _projector_process(settings: Settings, url: str, partition: int, wake: Any, stop: Any, parent: int) -> None:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s projector-{partition} %(levelname)s %(message)s")
    engine = make_engine(url, writer=True)
    projector = Projector(settings, make_sessionmaker(engine), wake, partitions=[partition])
    settle_gc()

    def orphaned() -> None:  # the parent was killed: stop with it
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()
                wake.set()

    threading.Thread(target=orphaned, daemon=True).start()
    projector.run(stop)
    engine.dispose()
