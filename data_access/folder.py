"""The folder: brings each appeal's row up to date with the events the ingest worker logged for it."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.settings import Settings
from data_access.db import make_engine, make_sessionmaker
from data_access.ingest import settle_gc
from data_access.models import AppealEvent
from data_access.store import Drafts, fold_logged, fold_mark

log = logging.getLogger(__name__)

#: How long an idle folder waits for a wake-up before it looks at the log anyway (other processes' events).
IDLE_WAIT_S = 0.5


@dataclass
class FoldStatus:
    """What the folder last saw (a folder process says it in its log; /healthz sees what it leaves unfolded)."""

    ok: bool = True
    problem: str = ""
    folded: int = 0
    last_batch_at: datetime | None = None


class Folder:
    """One loop: fold the events logged after the fold mark into their appeals, commit; wait for more when there
    are none."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], wake: Any = None) -> None:
        self.s = settings
        self.sessions = sessions
        self.status = FoldStatus()
        self.wake = wake or threading.Event()  # set by an ingest worker after it logged events
        self.drafts = Drafts()

    def step(self) -> int:
        """Fold one batch; return events folded (0: none waits, or another folder is folding; then nothing was
        locked on SQLite)."""
        n = fold_logged(self.sessions, self.s, self.s.fold_batch, self.drafts)
        self.status.folded += n
        self.status.last_batch_at = datetime.now(timezone.utc)
        return n

    def drain(self) -> int:
        """Fold until no event waits (or another folder is folding); return events folded."""
        total = 0
        while n := self.step():
            total += n
        return total

    def run(self, stop: threading.Event) -> None:
        """Fold until `stop` is set, retrying with backoff while the store is away."""
        backoff = 0.5
        while not stop.is_set():
            try:
                if self.step() == 0:
                    self.wake.wait(IDLE_WAIT_S)
                    self.wake.clear()
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
    """Events stored but not yet folded into their appeals."""
    return session.scalar(select(func.count()).where(AppealEvent.seq > fold_mark(session))) or 0


def all_folded(session: Session) -> bool:
    """Whether every stored event is folded into its appeal (two index lookups, whatever the backlog)."""
    return (session.scalar(select(func.max(AppealEvent.seq))) or 0) <= fold_mark(session)


def oldest_queued_s(session: Session, now: datetime) -> float | None:
    """Seconds since the oldest event still waiting to be folded was received (None: none waits)."""
    first = session.scalar(
        select(AppealEvent.received_at).where(AppealEvent.seq > fold_mark(session)).order_by(AppealEvent.seq).limit(1)
    )
    return None if first is None else round(max(0.0, (now - first).total_seconds()), 1)


def start_folder_process(settings: Settings, url: str, wake: Any, stop: Any) -> BaseProcess:
    """A folder in its own process, so folding and ingesting use two cores; `wake` and `stop` come from
    `folder_events()`."""
    proc = _SPAWN.Process(target=_fold_process, args=(settings, url, wake, stop, os.getpid()), name="fold", daemon=True)
    proc.start()
    return proc


def folder_events() -> tuple[Any, Any]:
    """(wake, stop): events shared with folder processes."""
    return _SPAWN.Event(), _SPAWN.Event()


_SPAWN = mp.get_context("spawn")  # not fork: the parent runs threads (web server, ingest, embedded Redis)


def _fold_process(settings: Settings, url: str, wake: Any, stop: Any, parent: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fold %(levelname)s %(message)s")
    engine = make_engine(url, writer=True)
    folder = Folder(settings, make_sessionmaker(engine), wake)
    settle_gc()

    def orphaned() -> None:  # the parent was killed: stop with it
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()
                wake.set()

    threading.Thread(target=orphaned, daemon=True).start()
    folder.run(stop)
    engine.dispose()
