"""The demo city's history on a first start: the demo feed's backfill, written through the history import's store
path (`write_batch`: the log in bulk, the appeals by the projection's batch path) instead of through Redis, with
progress in the log and in the store for the screens' banner."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dashboard.contract import ContractError, parse_event
from dashboard.settings import Settings
from data_access.demo.feed import DemoFeed
from data_access.history_import.store import write_batch
from data_access.intake.event_log import Accepted, Place
from data_access.intake.reference_data import Gazetteer
from data_access.store.history_load import set_history_load
from data_access.store.models import AppealEvent

log = logging.getLogger(__name__)
LOG_EVERY_S = 5.0


def store_is_empty(sessions: sessionmaker[Session]) -> bool:
    """Whether the event log holds nothing yet (a first start)."""
    with sessions() as s:
        return s.scalar(select(AppealEvent.seq).limit(1)) is None


def load_demo_history(
    feed: DemoFeed, days: float, sessions: sessionmaker[Session], settings: Settings, gazetteer: Gazetteer
) -> int:
    """Write `days` of the demo feed's history into the store through the import's path; return events written.
    The feed then goes on live from where the history ends."""
    t0 = time.monotonic()
    state = {"last": 0.0, "fraction": 0.0}

    def mark(fraction: float | None) -> None:
        with sessions() as s, s.begin():
            set_history_load(s, fraction)

    def sink(texts: list[str]) -> None:
        events, raws = [], []
        for raw in texts:
            try:
                events.append(parse_event(raw, settings.max_text_len))
                raws.append(raw)
            except ContractError as exc:  # the feed writes only valid events: this would be a bug of the feed
                log.error("demo history: an event the contract refuses (%s): %s", exc, raw[:200])
        places = gazetteer.place_events(events)
        items = [
            Accepted(e, r, "demo history", p if isinstance(p, Place) else None)
            for e, r, p in zip(events, raws, places)
            if not isinstance(p, str)
        ]
        write_batch(sessions, settings, items, datetime.now(UTC))
        mark(state["fraction"])

    def progress(done: int, total: int) -> None:
        state["fraction"] = done / total
        now = time.monotonic()
        if now - state["last"] >= LOG_EVERY_S or done == total:
            state["last"] = now
            spent = now - t0
            left = spent * (total - done) / done if done else 0.0
            log.info(
                "demo history: %.0f%% of %g days loaded (%d events, %.0f s, about %.0f s left)",
                100 * done / total,
                days,
                feed.written["events"],
                spent,
                left,
            )

    mark(0.0)
    try:
        n = feed.backfill(days, progress, sink=sink)
    finally:
        mark(None)
    log.info("demo history: %d events of %g days loaded in %.0f s", n, days, time.monotonic() - t0)
    return n
