"""Making one report: claim it in the archive, read its content, render PDF and XLSX, store them, deliver.

Each step is its own short transaction, so a build never holds the store's write lock while it reads or renders:
the screens and the ingest go on. A build that raises is recorded as failed with the reason (and retried by the
schedule); one that finds the report made or being built elsewhere does nothing."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from dashboard.reports import Period, Report, check_ended, check_scope_key
from dashboard.settings import Settings
from dashboard.wall import View
from data_access.reports import archive, content
from data_access.reports.pdf import pdf
from data_access.reports.xlsx import xlsx
from data_access.wall.snapshot import WallContext

log = logging.getLogger(__name__)

#: Called in the transaction that stores a made report (the outbox's rows go in with it, or not at all).
Deliver = Callable[[Session, int, Report, bytes, Settings], int]


def worker_id() -> str:
    """Who holds a claim: host and process (and thread, for the page's builds)."""
    import threading

    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass(frozen=True)
class Outcome:
    """What a call to `make` did: made, failed (with the reason), or skipped (made or being made elsewhere)."""

    state: str
    rid: int | None = None
    reason: str | None = None
    seconds: float = 0.0


def _ttl(settings: Settings) -> dict[str, object]:
    return {
        "lease": timedelta(seconds=settings.report_lease_s),
        "retry_after": timedelta(seconds=settings.report_retry_s),
        "max_attempts": settings.report_max_attempts,
    }


def check(p: Period, view_key: str, ctx: WallContext, now: datetime) -> View:
    """The view of a report request, or ReportError (a future period, a scope not written right or unknown)."""
    from dashboard.reports import ReportError

    check_scope_key(view_key)
    view = View.parse(view_key)
    if view.key != view_key or not ctx.refs.knows(view):
        raise ReportError(f"unknown scope {view_key!r}: no such district or street in this city")
    check_ended(p, now, ctx.settings.zone)
    return view


def make(
    sessions: sessionmaker[Session],
    ctx: WallContext,
    p: Period,
    view: View,
    now: datetime,
    *,
    who: str | None = None,
    requested_by: str | None = None,
    deliver: Deliver | None = None,
    reads: sessionmaker[Session] | None = None,
) -> Outcome:
    """Make one report if no one has (see the module docstring); `now` is the build's clock. Its content is read
    through `reads` (the screens' replica, whose figures `ctx` caches), the archive written through `sessions`."""
    s = ctx.settings
    who = who or worker_id()
    with sessions() as db, db.begin():
        rid = archive.claim(
            db,
            p.kind,
            p.label,
            view.key,
            p.end(s.zone),
            now,
            who,
            requested_by=requested_by,
            **_ttl(s),  # type: ignore[arg-type]
        )
    if rid is None:
        return Outcome("skipped")
    started = time.perf_counter()

    def progress(step: str) -> None:
        with sessions() as db, db.begin():
            archive.step(db, rid, who, step[:32])

    try:
        with (reads or sessions)() as db:
            report = content.build(db, p, view, now, ctx, progress)
        progress("pdf")
        pdf_bytes = pdf(report)
        progress("xlsx")
        xlsx_bytes = xlsx(report)
        with sessions() as db, db.begin():
            if not archive.made(db, rid, who, report, pdf_bytes, xlsx_bytes, now):
                return Outcome("skipped", rid, "claim lost")
            if deliver is not None:
                deliver(db, rid, report, pdf_bytes, s)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        log.exception("report %s %s %s failed", p.kind, p.label, view.key)
        with sessions() as db, db.begin():
            archive.failed(db, rid, who, reason, now)
        return Outcome("failed", rid, reason, time.perf_counter() - started)
    return Outcome("made", rid, None, time.perf_counter() - started)
