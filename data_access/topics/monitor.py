"""A topic's monitoring from the store: its half-monthly series (dashboard/topics.py `series`), the call-back
rates of its appeals (the ranking module's `rates`), its worst streets and its communities for the map, each cut
to the asker's scope.

Every figure is summed from per-day aggregates of the topic kept in the day cache (data_access/wall/day_cache.py,
and across restarts in the store, day_store.py,
kinds `topic_volume` and `topic_reviews`): the topic's appeals created that day per place, and the call-backs
made that day of its appeals per place and answer. A closed day is read once, so a series over three years
reads ~1,100 kept days, not every tagged appeal. A day's aggregate is kept with the stamp of the tagger's
position when it is lower than the store's: a day an event after that position changed is read again until the
tagger has passed it. A place is the appeal's grid (or its community, street or district where it has no
finer one), so one aggregate serves every scope. Rates are those of the call-backs made in a period (since the
start; the same span before it), as the rankings count them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from dashboard.rankings import DEFAULT, Tally, exact_credit, rates
from dashboard.scopes import COMMAND_CENTER, Scope
from dashboard.topics import BEFORE_HALVES, half_of, next_half, series, worst, year_before
from data_access.store.models import Appeal, AppealEvent, Topic, TopicAppeal
from data_access.wall.day_cache import count_days, day_start, local_day
from data_access.wall.day_store import Codec
from data_access.wall.history import first_created, review_answers
from geo.city_index import CityIndex

if TYPE_CHECKING:
    from data_access.wall.snapshot import WallContext

_PLACE = (Appeal.grid, Appeal.community, Appeal.street, Appeal.district)


@dataclass
class _Places:
    """The places a topic's aggregates count by: grids, communities, streets, districts, then "elsewhere"
    (an index fixed by the city, so kept aggregates stay valid; those kept in the store carry its `digest`)."""

    index: dict[tuple[str, str], int]  # (level, code) -> position
    community: list[str | None]  # per place: its community (None above communities)
    street: list[str | None]
    district: list[str | None]
    grid: list[str | None]

    @staticmethod
    def of(refs: CityIndex) -> _Places:
        p = _Places({}, [], [], [], [])
        up = refs.parent
        for level, codes in (
            ("grid", sorted(up["grid"])),
            ("community", sorted(up["community"])),
            ("street", sorted(up["street"])),
            ("district", sorted(refs.district_name)),
        ):
            for code in codes:
                p.index[(level, code)] = len(p.grid)
                g = code if level == "grid" else None
                c = code if level == "community" else up["grid"].get(code) if g else None
                st = code if level == "street" else up["community"].get(c or "")
                d = code if level == "district" else up["street"].get(st or "")
                p.grid.append(g)
                p.community.append(c)
                p.street.append(st)
                p.district.append(d)
        for col in (p.grid, p.community, p.street, p.district):
            col.append(None)  # elsewhere
        return p

    def at(self, grid: str | None, community: str | None, street: str | None, district: str | None) -> int:
        """The place of an appeal from its columns."""
        for level, code in (("grid", grid), ("community", community), ("street", street), ("district", district)):
            i = self.index.get((level, code or ""))
            if i is not None:
                return i
        return len(self.grid) - 1

    def digest(self) -> str:
        """What the positions stand for, in short: kept aggregates of places are valid under the same digest."""
        keys = sorted(self.index, key=self.index.__getitem__)
        return hashlib.blake2b(json.dumps(keys).encode(), digest_size=8).hexdigest()

    def inside(self, scope: Scope) -> np.ndarray:
        """Which places the scope covers."""
        if scope.role == COMMAND_CENTER:
            return np.ones(len(self.grid), dtype=bool)
        return np.array([scope.covers(d, s, g) for d, s, g in zip(self.district, self.street, self.grid, strict=True)])


#: A day's appeals of a topic: (places, counts); its call-backs: (place, responded, resolved, satisfaction, n).
Volume = tuple[np.ndarray, np.ndarray]
Reviews = list[tuple[int, bool, bool, str | None, int]]
#: ... as the store keeps them: int32 columns (places by position: the variant carries the places' digest).
_I4 = np.dtype("<i4")


def _encode_volume(v: Volume) -> bytes:
    return np.concatenate([v[0], v[1]]).astype(_I4).tobytes()


def _decode_volume(b: bytes) -> Volume:
    a = np.frombuffer(b, dtype=_I4).astype(np.int32)
    return a[: len(a) // 2], a[len(a) // 2 :]


def _encode_reviews(rs: Reviews) -> bytes:
    answers = sorted({r[3] for r in rs if r[3] is not None}, key=str)
    code: dict[str | None, int] = {None: -1, **{a: i for i, a in enumerate(answers)}}
    cols = np.array(
        [[p, int(responded) | int(resolved) << 1, code[sat], n] for p, responded, resolved, sat, n in rs],
        dtype=_I4,
    ).reshape(-1, 4)
    head = json.dumps(answers, ensure_ascii=False).encode()
    return len(head).to_bytes(4, "little") + head + cols.T.tobytes()


def _decode_reviews(b: bytes) -> Reviews:
    size = int.from_bytes(b[:4], "little")
    answers: list[str | None] = [*json.loads(b[4 : 4 + size]), None]  # code -1: no answer
    place, flags, code, n = np.frombuffer(b[4 + size :], dtype=_I4).reshape(4, -1)
    sat = [answers[c] for c in code.tolist()]
    return list(
        zip(
            place.tolist(),
            (flags & 1).astype(bool).tolist(),
            (flags & 2).astype(bool).tolist(),
            sat,
            n.tolist(),
            strict=True,
        )
    )


_VOLUME: Codec[Volume] = Codec("i4volume1", _encode_volume, _decode_volume)
_REVIEWS: Codec[Reviews] = Codec("i4reviews1", _encode_reviews, _decode_reviews)


def _volume_query(topic: int) -> Any:
    def query(extra: Sequence[Any]) -> Select[Any]:
        return (
            select(*extra, *_PLACE, func.count())
            .select_from(TopicAppeal)
            .join(Appeal, Appeal.id == TopicAppeal.appeal)
            .where(TopicAppeal.topic == topic)
            .group_by(*extra, *_PLACE)
        )

    return query


def _reviews_query(session: Session, topic: int) -> Any:
    answers = review_answers(session)

    def query(extra: Sequence[Any]) -> Select[Any]:
        return (
            select(*extra, *_PLACE, *answers, func.count())
            .select_from(AppealEvent)
            .join(TopicAppeal, and_(TopicAppeal.appeal == AppealEvent.appeal, TopicAppeal.topic == topic))
            .join(Appeal, Appeal.id == AppealEvent.appeal)
            .where(AppealEvent.type == "reviewed")
            .group_by(*extra, *_PLACE, *answers)
        )

    return query


def _as_volume(counts: dict[tuple[Any, ...], int], places: _Places) -> Volume:
    idx = np.fromiter((places.at(*k) for k in counts), dtype=np.int32, count=len(counts))
    return idx, np.fromiter(counts.values(), dtype=np.int32, count=len(counts))


def _as_reviews(counts: dict[tuple[Any, ...], int], places: _Places) -> Reviews:
    return [(places.at(*k[:4]), bool(k[4]), bool(k[5]), k[6], n) for k, n in counts.items()]


class _TopicDays:
    """A topic's per-day aggregates over some days: whole days from the day cache, today read as it stands."""

    def __init__(self, session: Session, row: Topic, now: datetime, ctx: WallContext) -> None:
        self.session, self.row, self.now, self.ctx = session, row, now, ctx
        self.zone = ctx.settings.zone
        self.today = local_day(now, self.zone)
        self.places = ctx.cache.get(("topic-places",), 86400.0, lambda: _Places.of(ctx.refs))
        self.digest = ctx.cache.get(("topic-places-digest",), 86400.0, self.places.digest)
        # what the tagger has not reached yet is not in the tags: kept days say so by their stamp
        self.stamp = min(ctx.days.sync(session, self.zone), row.tagged_upto)

    def _get(self, kind: str, days: Sequence[date], compute: Any, convert: Any, codec: Any) -> dict[date, Any]:
        closed = [d for d in days if d < self.today]
        s = self.ctx.settings

        def read(missing: list[date]) -> dict[date, Any]:
            got = count_days(self.session, missing, self.zone, compute, self._at(kind))
            return {d: convert(got[d], self.places) for d in missing}

        # a topic id may be given again after a topic is deleted (SQLite): its definition's time tells them apart
        variant = (self.row.id, self.row.created_at.isoformat(), self.digest)
        out = self.ctx.days.get_days(kind, closed, variant, self.stamp, s.history_cache_s, read, (self.session, codec))
        if self.today in days:
            start, at = day_start(self.today, self.zone), self._at(kind)
            counts = {tuple(r[:-1]): int(r[-1]) for r in self.session.execute(compute(()).where(at >= start))}
            out[self.today] = convert(counts, self.places)
        return out

    @staticmethod
    def _at(kind: str) -> Any:
        return TopicAppeal.created_at if kind == "topic_volume" else AppealEvent.at

    def volume(self, days: Sequence[date]) -> dict[date, Volume]:
        """The topic's appeals created on each day, per place."""
        return self._get("topic_volume", days, _volume_query(self.row.id), _as_volume, _VOLUME)

    def reviews(self, days: Sequence[date]) -> dict[date, Reviews]:
        """The call-backs of the topic's appeals made on each day, per place and answer."""
        return self._get("topic_reviews", days, _reviews_query(self.session, self.row.id), _as_reviews, _REVIEWS)


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def _tally(rows: Any) -> Tally:
    t = Tally("", "")
    for responded, resolved, sat, n in rows:
        n = int(n)
        t = t + Tally("", "", 0, n, n if responded else 0, n if resolved else 0, exact_credit(sat, DEFAULT) * n)
    return t


def _rates(t: Tally, volume: int) -> dict[str, Any]:
    resp, res, sat = rates(t)
    r = lambda x: None if x is None else round(x, 3)  # noqa: E731
    return {"volume": volume, "reviewed": t.reviewed, "response": r(resp), "resolution": r(res), "satisfaction": r(sat)}


def detail(session: Session, row: Topic, scope: Scope, now: datetime, ctx: WallContext) -> dict[str, Any]:
    """Everything the topic page and /api/v1/topics/<id> show, within the scope."""
    refs = ctx.refs
    days = _TopicDays(session, row, now, ctx)
    inside = days.places.inside(scope)
    first_at = first_created(session)
    first = None if first_at is None else local_day(first_at, days.zone)
    today, start = days.today, row.start_date
    # the series needs the halves since the start, the BEFORE_HALVES before it and the same halves a year before
    earliest = min(year_before(half_of(start)), half_of(start - timedelta(days=16 * BEFORE_HALVES)))
    wanted = _span(max(earliest, first or today), today)
    volume = days.volume(wanted)
    daily = {d: int(n[inside[idx]].sum()) for d, (idx, n) in volume.items()}
    body = series({d: n for d, n in daily.items() if n}, start, today, first)
    since_days = [d for d in wanted if d >= start]
    span = max(len(since_days), 1)
    before_days = _span(start - timedelta(days=span), start - timedelta(days=1))
    reviews = days.reviews(sorted(set(since_days) | set(before_days)))
    answered: dict[tuple[bool, str | None, bool, bool, str | None], int] = {}  # summed first: Tallies are slow
    for d, rows in reviews.items():
        after = d >= start
        for place, responded, resolved, sat, n in rows:
            if inside[place]:
                key = (after, days.places.street[place], responded, resolved, sat)
                answered[key] = answered.get(key, 0) + n
    since, before = Tally("", ""), Tally("", "")
    by_street: dict[str, Tally] = {}
    for (after, street, responded, resolved, sat), n in answered.items():
        t = Tally("", "", 0, n, n if responded else 0, n if resolved else 0, exact_credit(sat, DEFAULT) * n)
        if not after:
            before = before + t
            continue
        since = since + t
        if street:
            by_street[street] = by_street.get(street, Tally(street, "")) + t
    counts = np.zeros(len(inside), dtype=np.int64)
    for d in since_days:
        idx, per = volume[d]
        np.add.at(counts, idx, per)
    counts[~inside] = 0
    streets: dict[str, int] = {}
    comms: dict[str, int] = {}
    for place in np.flatnonzero(counts).tolist():
        k = int(counts[place])
        c, st = days.places.community[place], days.places.street[place]
        if c:
            comms[c] = comms.get(c, 0) + k
        if st:
            streets[st] = streets.get(st, 0) + k
    street_rows = [
        {"code": code, "name": refs.street_name.get(code, code), **_rates(by_street.get(code, Tally(code, "")), v)}
        for code, v in streets.items()
    ]
    return {
        **summary(row, refs),
        **body,
        "rates": {"since_start": _rates(since, body["since_start"]), "before": _rates(before, 0)},
        "worst_streets": worst(street_rows),
        "communities": comms,
    }


def summary(row: Topic, refs: CityIndex) -> dict[str, Any]:
    """A topic's definition, JSON-ready."""
    return {
        "id": row.id,
        "name": row.name,
        "categories": json.loads(row.categories),
        "areas": json.loads(row.areas),
        "keywords": json.loads(row.keywords),
        "lead_unit": row.lead_unit,
        "lead_unit_name": refs.unit_name.get(row.lead_unit, row.lead_unit),
        "start": row.start_date.isoformat(),
    }


def topics(session: Session) -> list[Topic]:
    """Every topic, newest start first."""
    return list(session.scalars(select(Topic).order_by(Topic.start_date.desc(), Topic.id.desc())))


def overview(session: Session, scope: Scope, now: datetime, ctx: WallContext) -> list[dict[str, Any]]:
    """Every topic with its volume in the current and the previous half-month (within the scope)."""
    today = local_day(now, ctx.settings.zone)
    cur = half_of(today)
    prev = half_of(cur - timedelta(days=1))
    out = []
    for row in topics(session):
        days = _TopicDays(session, row, now, ctx)
        inside = days.places.inside(scope)
        by = {d: int(n[inside[idx]].sum()) for d, (idx, n) in days.volume(_span(prev, today)).items()}
        this = sum(n for d, n in by.items() if cur <= d < next_half(cur))
        last = sum(n for d, n in by.items() if prev <= d < cur)
        out.append({**summary(row, ctx.refs), "this_half": this, "last_half": last})
    return out


def known_categories(session: Session) -> set[str]:
    """Every category name of any level the store has seen."""
    out: set[str] = set()
    for col in (Appeal.cat1, Appeal.cat2, Appeal.cat3):
        out |= {c for c in session.scalars(select(col).distinct()) if c}
    return out


def tagged(session: Session, topic: int) -> int:
    """How many appeals a topic covers."""
    return int(session.scalar(select(func.count()).select_from(TopicAppeal).where(TopicAppeal.topic == topic)) or 0)
