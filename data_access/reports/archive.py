"""The report archive (table report_archive): one row per (kind, period, scope), made exactly once.

Claiming is inserting the row (the unique key lets one process win; the others see it taken) or, for a row whose
build failed or whose builder vanished, one conditional UPDATE that only one process can win. The caller owns
the transaction of each call (`with sessions() as s, s.begin():`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.reports import Report
from dashboard.wall import View
from data_access.store.models import ReportArchive


def claim(
    session: Session,
    kind: str,
    period: str,
    scope: str,
    cutoff: datetime,
    now: datetime,
    who: str,
    *,
    lease: timedelta,
    retry_after: timedelta,
    max_attempts: int,
    requested_by: str | None = None,
) -> int | None:
    """Take the build of a report: its row id, or None when it is made, being built, or failed for good."""
    try:
        with session.begin_nested():
            row = ReportArchive(
                kind=kind,
                period=period,
                scope=scope,
                state="building",
                progress="start",
                attempts=1,
                claimed_by=who,
                claimed_at=now,
                cutoff=cutoff,
                requested_by=requested_by,
            )
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        pass
    # Someone has it: take it over only if its build failed a while ago or its builder stopped answering
    r = ReportArchive
    stale = and_(r.state == "building", r.claimed_at < now - lease)
    retry = and_(r.state == "failed", r.attempts < max_attempts, r.claimed_at < now - retry_after)
    got = session.execute(
        update(r)
        .where(r.kind == kind, r.period == period, r.scope == scope, or_(stale, retry))
        .values(state="building", progress="start", attempts=r.attempts + 1, claimed_by=who, claimed_at=now)
        .returning(r.id)
    ).first()
    return None if got is None else int(got[0])


def step(session: Session, rid: int, who: str, progress: str) -> None:
    """Say how far a build is (shown on the page while it runs)."""
    session.execute(
        update(ReportArchive).where(ReportArchive.id == rid, ReportArchive.claimed_by == who).values(progress=progress)
    )


def made(session: Session, rid: int, who: str, report: Report, pdf: bytes, xlsx: bytes, now: datetime) -> bool:
    """Store a made report's files; False if the claim was lost meanwhile (another process took it over)."""
    n = session.execute(  # type: ignore[attr-defined]
        update(ReportArchive)
        .where(ReportArchive.id == rid, ReportArchive.claimed_by == who, ReportArchive.state == "building")
        .values(state="made", progress=None, reason=None, made_at=now, pdf=pdf, xlsx=xlsx, content=to_json(report))
    ).rowcount
    return bool(n)


def failed(session: Session, rid: int, who: str, reason: str, now: datetime) -> None:
    """Record why a build failed (it is retried later, up to the limit of attempts)."""
    session.execute(
        update(ReportArchive)
        .where(ReportArchive.id == rid, ReportArchive.claimed_by == who)
        .values(state="failed", progress=None, reason=reason[:2000], claimed_at=now)
    )


def get(session: Session, rid: int) -> ReportArchive | None:
    """One archive row (with its files)."""
    return session.get(ReportArchive, rid)


def find(session: Session, kind: str, period: str, scope: str) -> ReportArchive | None:
    """The row of a (kind, period, scope), if any."""
    q = select(ReportArchive).where(
        ReportArchive.kind == kind, ReportArchive.period == period, ReportArchive.scope == scope
    )
    return session.scalars(q).first()


def listing(session: Session, scopes: list[str] | None, limit: int = 200) -> list[dict[str, Any]]:
    """Archive rows (no files) of the given scope keys (None: all), newest period first."""
    r = ReportArchive
    q = select(r.id, r.kind, r.period, r.scope, r.state, r.progress, r.reason, r.attempts, r.made_at, r.cutoff)
    if scopes is not None:
        q = q.where(r.scope.in_(scopes))
    q = q.order_by(r.cutoff.desc(), r.kind, r.scope).limit(limit)
    return [dict(row._mapping) for row in session.execute(q)]


def forget(session: Session, rid: int) -> None:
    """Drop an archive row (only the tests and an operator's clean-up do)."""
    session.execute(delete(ReportArchive).where(ReportArchive.id == rid))


def scope_keys_within(view_keys: list[str], allowed: Any) -> list[str]:
    """The scope keys among `view_keys` that `allowed(View)` admits."""
    return [k for k in view_keys if allowed(View.parse(k))]


def _plain(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return {"$date": v.isoformat()}
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def to_json(r: Report) -> str:
    """A report as JSON (dates tagged, so `from_json` gives them back)."""
    return json.dumps(_plain(asdict(r)), ensure_ascii=False)


def from_json(text: str) -> Report:
    """A report stored by `to_json`."""
    from dashboard.reports import Column, Figure, Section, Table

    def back(v: Any) -> Any:
        if isinstance(v, dict):
            if set(v) == {"$date"}:
                s = v["$date"]
                return datetime.fromisoformat(s) if "T" in s else date.fromisoformat(s)
            return {k: back(x) for k, x in v.items()}
        if isinstance(v, list):
            return [back(x) for x in v]
        return v

    d = back(json.loads(text))
    sections = tuple(
        Section(
            name=s["name"],
            facts=tuple((f[0], f[1]) for f in s["facts"]),
            tables=tuple(
                Table(tb["name"], tuple(Column(**c) for c in tb["columns"]), tuple(tb["rows"])) for tb in s["tables"]
            ),
            figures=tuple(
                Figure(f["name"], f["kind"], tuple(f["labels"]), tuple((n, tuple(v)) for n, v in f["series"]))
                for f in s["figures"]
            ),
            unavailable=s["unavailable"],
        )
        for s in d["sections"]
    )
    return Report(d["kind"], d["period"], d["scope"], d["scope_name"], d["cutoff"], d["made_at"], sections)
