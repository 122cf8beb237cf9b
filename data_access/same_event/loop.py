"""The grouping loop of `python app.py`: group new appeals every GROUPING_INTERVAL_S, outliving store outages."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from dashboard.same_event import rules_of
from dashboard.settings import Settings
from data_access.same_event.grouping import group_new

log = logging.getLogger(__name__)


@dataclass
class GroupingStatus:
    """What /healthz and the logs may say about grouping."""

    grouped: int = 0  # log events the checkpoint has passed since start
    ok: bool = True
    problem: str = ""


class GroupingLoop:
    """One loop with one job: group the appeals the projection has folded since the last pass."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.s = settings
        self.sessions = sessions
        self.rules = rules_of(settings)
        self.status = GroupingStatus()

    def step(self) -> int:
        """One batch; the log events the checkpoint passed (0: nothing new, or another process groups)."""
        n = group_new(self.sessions, self.rules, self.s.zone, self.s.grouping_batch)
        self.status.grouped += n
        return n

    def run(self, stop: threading.Event) -> None:
        """Group until `stop` is set; a failing pass is logged, shown in the status and retried with backoff."""
        backoff = self.s.grouping_interval_s
        while not stop.is_set():
            try:
                n = self.step()
                self.status.ok, self.status.problem = True, ""
                backoff = self.s.grouping_interval_s
                if n == 0:
                    stop.wait(self.s.grouping_interval_s)
            except Exception as exc:  # the thread must not end: appeals would stay ungrouped without a word
                self.status.ok, self.status.problem = False, f"grouping failed: {exc!r}"[:300]
                log.exception("grouping: retrying in %.1f s", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 60.0)
