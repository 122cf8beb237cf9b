"""Aggregates over history for rankings and hotspot baselines: each a GROUP BY over one time range.

Callers split a month or a baseline into closed days (cached for long, they hardly change) and
today (cached for a minute), so a tick never scans closed history (see data_access/wall/snapshot.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.rankings import DEFAULT, RankingConfig, Tally, credit
from data_access.store.models import Appeal
from geo.city_index import CityIndex


@dataclass
class UnitCounts:
    """One unit's raw counts over a time range (summable)."""

    volume: int = 0
    reviewed: int = 0
    responded: int = 0
    resolved: int = 0
    answers: dict[str, int] = field(default_factory=dict)  # satisfaction answer -> count

    def add(self, other: "UnitCounts") -> None:
        """Add another range's counts to these."""
        self.volume += other.volume
        self.reviewed += other.reviewed
        self.responded += other.responded
        self.resolved += other.resolved
        for k, v in other.answers.items():
            self.answers[k] = self.answers.get(k, 0) + v


Counts = dict[str, UnitCounts]


def unit_counts(session: Session, start: datetime, end: datetime) -> Counts:
    """Per handling unit: appeals created in [start, end) and call-backs made in [start, end)."""
    out: Counts = defaultdict(UnitCounts)
    vol = (select(Appeal.unit, func.count()).where(Appeal.created_at >= start, Appeal.created_at < end,
                                                    Appeal.unit.is_not(None)).group_by(Appeal.unit))
    for unit, n in session.execute(vol):
        out[unit].volume += int(n)
    rev = (select(Appeal.unit, Appeal.responded, Appeal.resolved_flag, Appeal.satisfaction, func.count())
           .where(Appeal.reviewed_at >= start, Appeal.reviewed_at < end, Appeal.unit.is_not(None))
           .group_by(Appeal.unit, Appeal.responded, Appeal.resolved_flag, Appeal.satisfaction))
    for unit, responded, resolved, sat, n in session.execute(rev):
        c = out[unit]
        c.reviewed += int(n)
        c.responded += int(n) if responded else 0
        c.resolved += int(n) if resolved else 0
        if sat:
            c.answers[sat] = c.answers.get(sat, 0) + int(n)
    return dict(out)


def merge(*parts: Counts) -> Counts:
    """Sum counts of several ranges (inputs untouched)."""
    out: Counts = {}
    for part in parts:
        for unit, c in part.items():
            out.setdefault(unit, UnitCounts()).add(c)
    return out


def tallies(counts: Counts, level: str, refs: CityIndex, cfg: RankingConfig = DEFAULT) -> list[Tally]:
    """Tallies of a level: streets (their own unit), districts (their streets together), departments and companies."""
    groups: dict[str, UnitCounts] = {}
    for unit, c in counts.items():
        kind = refs.unit_kind.get(unit)
        if level == "street" and kind == "street":
            key: str | None = unit
        elif level == "district" and kind == "street":
            key = refs.unit_district.get(unit) or refs.street_district.get(unit)
        elif level == "department" and kind in ("department", "company"):
            key = unit
        else:
            key = None
        if key:
            groups.setdefault(key, UnitCounts()).add(c)
    if level == "district":
        names = refs.district_name
        every = list(refs.district_name)
    else:
        names = refs.unit_name
        every = [u for u, k in refs.unit_kind.items() if (k == "street") == (level == "street")]
    out = []
    for code in every:
        c = groups.get(code, UnitCounts())
        sat = sum(credit(a, cfg) * n for a, n in c.answers.items())
        out.append(Tally(code, names.get(code, code), c.volume, c.reviewed, c.responded, c.resolved, sat))
    return out


def community_counts(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Appeals created in [start, end) per community."""
    comm = func.coalesce(Appeal.community, "")  # an expression: SQLite then reads by created_at (see screen_live)
    q = select(comm, func.count()).where(Appeal.created_at >= start, Appeal.created_at < end).group_by(comm)
    return {c: int(n) for c, n in session.execute(q) if c}
