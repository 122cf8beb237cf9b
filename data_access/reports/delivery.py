"""Delivering made reports to their subscribers through the notification outbox (data_access/notify/outbox.py).

Subscribers are rows of a CSV file (REPORT_SUBSCRIBERS_CSV): `scope,kinds,name,role,email,phone,wecom,dingtalk,
feishu,language`; `kinds` is `all` or kinds joined by `|`. Each made report queues one notice per subscriber of
its scope and kind, in the transaction that stores the report: both happen or neither (the outbox's guarantees:
one delivery per channel, at least once, the notice key as idempotency key). E-mail carries the PDF (written under
VAR_DIR/reports/); the robots and SMS carry the link to the report's page."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from dashboard.i18n import t
from dashboard.notices import Attachment, Notice, Recipient
from dashboard.reports import KINDS, Period, Report, ReportError, check_scope_key, delivered_on_request, fact_text
from dashboard.settings import Settings, SettingsError
from dashboard.wall import View
from data_access.notify.outbox import queue
from data_access.reports.build import Deliver

COLUMNS = ("scope", "kinds", "name", "role", "email", "phone", "wecom", "dingtalk", "feishu", "language")


@dataclass(frozen=True)
class Subscriber:
    """Who gets which reports of which scope."""

    scope: str
    kinds: frozenset[str]
    recipient: Recipient


def load_subscribers(path: Path) -> list[Subscriber]:
    """The subscribers file; ReportError naming the line and the column when a row is wrong."""
    out = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = csv.DictReader(f)
        missing = [c for c in COLUMNS[:3] if c not in (rows.fieldnames or [])]
        if missing:
            raise ReportError(f"{path}: missing column(s) {', '.join(missing)}; columns are {','.join(COLUMNS)}")
        for i, r in enumerate(rows, start=2):
            get = _getter(r)
            scope = get("scope") or ""
            try:
                check_scope_key(scope)
            except ReportError as exc:
                raise ReportError(f"{path} line {i}: {exc}") from None
            kinds_text = get("kinds") or "all"
            kinds = frozenset(KINDS) if kinds_text == "all" else frozenset(k.strip() for k in kinds_text.split("|"))
            if not kinds <= set(KINDS):
                raise ReportError(f"{path} line {i}: kinds {kinds_text!r}: all, or {'|'.join(KINDS)}")
            if not get("name"):
                raise ReportError(f"{path} line {i}: no name")
            lang = get("language") or "zh"
            if lang not in ("zh", "en"):
                raise ReportError(f"{path} line {i}: language {lang!r}: zh or en")
            who = Recipient(
                name=get("name") or "",
                role=get("role") or "report_subscriber",
                phone=get("phone"),
                email=get("email"),
                wecom=get("wecom"),
                dingtalk=get("dingtalk"),
                feishu=get("feishu"),
                language=lang,
            )
            out.append(Subscriber(scope, kinds, who))
    return out


def _getter(row: dict[str, str | None]) -> Callable[[str], str | None]:
    return lambda k: (row.get(k) or "").strip() or None


def notices(report: Report, rid: int, pdf_path: Path, subscribers: list[Subscriber]) -> list[Notice]:
    """One notice per subscriber of the report's scope and kind: title, headline figures, link, the PDF."""
    view = View.parse(report.scope)
    out = []
    for sub in subscribers:
        if sub.scope != report.scope or report.kind not in sub.kinds:
            continue
        lang = sub.recipient.language
        title = t(
            lang, "rp_title", kind=t(lang, f"rp_kind_{report.kind}"), scope=report.scope_name, period=report.period
        )
        head = report.sections[0] if report.sections else None
        facts = [f"{t(lang, k)}: {fact_text(v, lang)}" for k, v in (head.facts if head else ())][:4]
        cutoff = t(lang, "rp_cutoff") + ": " + report.cutoff.strftime("%Y-%m-%d %H:%M")
        out.append(
            Notice(
                key=f"report:{report.kind}:{report.period}:{report.scope}:{sub.recipient.name}",
                recipient=sub.recipient,
                subject=title,
                text="\n".join([title, cutoff, *facts]),
                link=f"/reports?id={rid}&lang={lang}",
                kind="report",
                appeal=None,
                district=view.code if view.level == "district" else None,
                street=view.code if view.level == "street" else None,
                grid=None,
                attachments=(Attachment(pdf_path.name, "application/pdf", str(pdf_path)),),
            )
        )
    return out


def from_settings(settings: Settings) -> Deliver:
    """The `deliver` step for the subscribers of REPORT_SUBSCRIBERS_CSV (none when unset); a bad file is a wrong
    setting (SettingsError naming it)."""
    path = settings.report_subscribers_csv
    try:
        return deliverer(load_subscribers(path) if path else [])
    except ReportError as exc:
        raise SettingsError(f"REPORT_SUBSCRIBERS_CSV: {exc}") from None


def on_request(deliver: Deliver, settings: Settings, p: Period, scope_key: str, now: datetime) -> Deliver | None:
    """The `deliver` step of a build asked for: the schedule's own when it covers the report
    (dashboard/reports.delivered_on_request), else none."""
    return deliver if delivered_on_request(settings, p, scope_key, now) else None


def deliverer(subscribers: list[Subscriber]) -> Deliver:
    """The `deliver` step of a build: the PDF on disk for the mail, the notices into the outbox (same transaction)."""

    def deliver(session: Session, rid: int, report: Report, pdf: bytes, settings: Settings) -> int:
        wanted = [s for s in subscribers if s.scope == report.scope and report.kind in s.kinds]
        if not wanted:
            return 0
        folder = settings.var_dir / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{report.kind}-{report.period}-{report.scope.replace(':', '-')}.pdf"
        path.write_bytes(pdf)
        return queue(session.connection(), notices(report, rid, path, wanted), settings)

    return deliver
