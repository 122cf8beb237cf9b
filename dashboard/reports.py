"""Reports (日通报、周汇总、月分析): their periods, when they fall due, and a report's content as plain data.

A report is one kind (daily, weekly, monthly) for one period in the city's zone and one scope (a wall view key:
`city`, `d:CODE`, `s:CODE`). Its content is a `Report`: sections of tables and figures, each number a number.
The queries that fill it live in data_access/reports/; the PDF, the workbook and the page render the same
`Report`, so the three never disagree.

Periods: daily `YYYY-MM-DD`, weekly `YYYY-Www` (ISO week, Monday to Sunday), monthly `YYYY-MM`. A period may be
reported once it has ended; one that has not is refused. The schedule (`Schedule`) makes each period at a local
time after it ends: the day's bulletin the next morning, the week's on the given weekday, the month's on the given
day of the next month; `due` lists every period whose time has come within the catch-up window, so a run missed
while the service was down is made when it comes back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.i18n import keys, t
from dashboard.settings import Settings

_KEYS = frozenset(keys())
KINDS = ("daily", "weekly", "monthly")
SCOPE_KEY = re.compile(r"^(city|[ds]:[0-9A-Za-z]{1,16})$")
_PATTERN = {
    "daily": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "weekly": re.compile(r"^\d{4}-W\d{2}$"),
    "monthly": re.compile(r"^\d{4}-\d{2}$"),
}


class ReportError(ValueError):
    """A report asked for that cannot be made: wrong kind, period or scope; the message says which."""


@dataclass(frozen=True)
class Period:
    """A report period: its kind, its label and its local dates [first, after)."""

    kind: str
    label: str
    first: date
    after: date

    def start(self, zone: ZoneInfo) -> datetime:
        """Its first instant, in UTC."""
        return datetime.combine(self.first, time(), zone).astimezone(UTC)

    def end(self, zone: ZoneInfo) -> datetime:
        """The instant after it (the data's cut-off), in UTC."""
        return datetime.combine(self.after, time(), zone).astimezone(UTC)

    def previous(self) -> Period:
        """The period of the same kind just before."""
        return period_of(self.kind, self.first - timedelta(days=1))

    def days(self) -> list[date]:
        """Its local dates."""
        return [self.first + timedelta(days=i) for i in range((self.after - self.first).days)]


def period_of(kind: str, day: date) -> Period:
    """The period of a kind that holds a local date."""
    if kind == "daily":
        return Period(kind, day.isoformat(), day, day + timedelta(days=1))
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        y, w, _ = monday.isocalendar()
        return Period(kind, f"{y:04d}-W{w:02d}", monday, monday + timedelta(days=7))
    if kind == "monthly":
        first = day.replace(day=1)
        after = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        return Period(kind, f"{first.year:04d}-{first.month:02d}", first, after)
    raise ReportError(f"unknown report kind {kind!r}: one of {', '.join(KINDS)}")


def parse_period(kind: str, label: str) -> Period:
    """A period from its label; ReportError saying the expected form when it is not one."""
    if kind not in KINDS:
        raise ReportError(f"unknown report kind {kind!r}: one of {', '.join(KINDS)}")
    forms = {"daily": "YYYY-MM-DD", "weekly": "YYYY-Www", "monthly": "YYYY-MM"}
    text = (label or "").strip()
    if not _PATTERN[kind].match(text):
        raise ReportError(f"period {label!r} is not a {kind} period: write {forms[kind]}")
    try:
        if kind == "daily":
            return period_of(kind, date.fromisoformat(text))
        if kind == "weekly":
            y, w = int(text[:4]), int(text[6:])
            return period_of(kind, date.fromisocalendar(y, w, 1))
        return period_of(kind, date(int(text[:4]), int(text[5:]), 1))
    except ValueError:
        raise ReportError(f"period {label!r} is not a date: write {forms[kind]}") from None


def check_ended(p: Period, now: datetime, zone: ZoneInfo) -> None:
    """Refuse a period that has not ended yet (its figures are not all in)."""
    if p.end(zone) > now:
        raise ReportError(f"period {p.label} has not ended yet: a report covers a past period")


def check_scope_key(key: str) -> None:
    """Refuse a scope that is not written as a view key (city, d:CODE, s:CODE)."""
    if not SCOPE_KEY.match(key or ""):
        raise ReportError(f"scope {key!r}: write city, d:DISTRICT or s:STREET")


def latest_ended(kind: str, now: datetime, zone: ZoneInfo) -> Period:
    """The last period of a kind that has ended by `now`."""
    return period_of(kind, now.astimezone(zone).date()).previous()


# -- the schedule -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """When reports are made, in the city's zone: at `at` on the day after a day, on `weekday` (0 Monday) after a
    week, on `monthday` after a month; periods due within the last `catch_up_days` are made if missing."""

    at: time = time(8, 0)
    weekday: int = 0
    monthday: int = 1
    catch_up_days: int = 7
    kinds: tuple[str, ...] = KINDS

    def due_at(self, p: Period, zone: ZoneInfo) -> datetime:
        """When a period's report falls due, in UTC."""
        if p.kind == "daily":
            day = p.after
        elif p.kind == "weekly":
            day = p.after + timedelta(days=(self.weekday - p.after.weekday()) % 7)
        else:
            day = p.after.replace(day=min(self.monthday, 28))
        return datetime.combine(day, self.at, zone).astimezone(UTC)

    def covers(self, p: Period, now: datetime, zone: ZoneInfo) -> bool:
        """The schedule makes (or will make) this period's report: its kind is scheduled and it falls due no
        earlier than the catch-up window before `now` (later is fine: a period asked for before it falls due)."""
        return p.kind in self.kinds and self.due_at(p, zone) >= now - timedelta(days=self.catch_up_days)

    def due(self, now: datetime, zone: ZoneInfo) -> list[Period]:
        """Every period whose report fell due in the catch-up window up to `now`, oldest first."""
        since = now - timedelta(days=self.catch_up_days)
        out: list[Period] = []
        for kind in self.kinds:
            p = latest_ended(kind, now, zone)
            found: list[Period] = []
            while True:
                at = self.due_at(p, zone)
                if at <= now and at >= since:
                    found.append(p)
                elif at < since:
                    break
                p = p.previous()
            out.extend(reversed(found))
        return out


# -- a report's content ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A table column: its key in the rows, its heading key in dashboard/i18n.py, and how numbers show."""

    key: str
    label: str
    fmt: str = "text"  # text, int, pct (a share 0–1), num (two places), signed (+/−), date, key (an i18n key),
    # label (an i18n key if it is one, else shown as it is: names set by the system, never citizen text)


@dataclass(frozen=True)
class Table:
    """A table of rows (dicts of plain values), each value under a column's key."""

    name: str  # sheet name and heading key
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    quiet: tuple[str, ...] = ()  # a row whose values here are all 0 or None is left out of print (not the workbook)

    def printed(self) -> tuple[list[dict[str, Any]], int]:
        """The rows a printed page lists, and how many quiet rows it leaves out."""
        if not self.quiet:
            return list(self.rows), 0
        keep = [r for r in self.rows if any(r.get(k) for k in self.quiet)]
        return keep, len(self.rows) - len(keep)


@dataclass(frozen=True)
class Figure:
    """A chart: bars or lines of named series over labels."""

    name: str
    kind: str  # bar, line, barh
    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[float, ...]], ...]


@dataclass(frozen=True)
class Section:
    """A heading with its facts (label key, value), tables, figures, and a note when part is unavailable."""

    name: str
    facts: tuple[tuple[str, Any], ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    unavailable: str | None = None  # an i18n key saying why this section has no figures


@dataclass(frozen=True)
class Report:
    """A whole report: what, for whom, as of when, and its sections."""

    kind: str
    period: str
    scope: str
    scope_name: str
    cutoff: datetime  # the data's cut-off (the period's end), in the city's zone
    made_at: datetime
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def table(self, name: str) -> Table:
        """The table of that name (KeyError if the report has none)."""
        for s in self.sections:
            for tb in s.tables:
                if tb.name == name:
                    return tb
        raise KeyError(name)


def change(now: float | None, before: float | None) -> float | None:
    """The relative change of a figure against a baseline (None without a baseline)."""
    if now is None or not before:
        return None
    return (now - before) / before


def fmt_value(v: Any, fmt: str) -> str:
    """A value as printed in the PDF and the page: shares as percentages, signed changes, blanks for None."""
    if v is None or v == "":
        return "—"
    if fmt == "pct":
        return f"{100 * float(v):.1f}%"
    if fmt == "signed":
        return f"{int(v):+d}" if isinstance(v, int) else f"{100 * float(v):+.1f}%"
    if fmt == "num":
        return f"{float(v):.2f}"
    if fmt == "int":
        return f"{int(v):d}"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def cell_text(v: Any, col: Column, lang: str) -> str:
    """A cell as printed: i18n keys in the language, numbers per the column's format."""
    if col.fmt == "key" or (col.fmt == "label" and v in _KEYS):
        return t(lang, v) if v else ""
    return fmt_value(v, col.fmt)


def fact_text(v: Any, lang: str) -> str:
    """A fact's value as printed (keys of dashboard/i18n.py translated)."""
    if isinstance(v, str) and v.startswith("rp_"):
        return t(lang, v)
    return fmt_value(v, "text")


def schedule_of(settings: Settings) -> Schedule:
    """The schedule the settings describe (REPORT_AT, REPORT_WEEKDAY, REPORT_MONTHDAY, REPORT_KINDS, …)."""
    h, m = (int(x) for x in settings.report_at.split(":"))
    return Schedule(
        at=time(h, m),
        weekday=settings.report_weekday - 1,
        monthday=settings.report_monthday,
        catch_up_days=settings.report_catch_up_days,
        kinds=tuple(k for k in settings.report_kinds.split(",") if k),
    )


def delivered_on_request(settings: Settings, p: Period, scope_key: str, now: datetime) -> bool:
    """Whether a report asked for (on the page or the command line) goes to its subscribers: exactly when it is
    one the schedule makes for them (REPORT_SCOPES, REPORT_KINDS, within the catch-up window or not yet due).
    The archive makes each (kind, period, scope) once, so a report asked for first takes the schedule's place:
    without this its subscribers would never get it. Older periods asked for are sent to no one."""
    scopes = {k.strip() for k in settings.report_scopes.split(",") if k.strip()}
    return scope_key in scopes and schedule_of(settings).covers(p, now, settings.zone)
