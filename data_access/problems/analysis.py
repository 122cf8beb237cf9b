"""High-frequency problems, 每月一题 candidates and space-time hotspots over the store (the rules:
dashboard/problems.py, dashboard/count_model.py, dashboard/scan.py). Each answer is computed for the whole city
at most every `slow_panel_s` and then cut to the asker's scope (`restrict`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from dashboard.count_model import History, expected, rate, share
from dashboard.problems import CategoryMonth, ProblemRule, candidates, problems
from dashboard.rankings import DEFAULT, Tally, exact_credit
from dashboard.scan import ScanRule, neighbours, scan
from dashboard.scopes import COMMAND_CENTER, GRID_SUPERVISOR, Scope
from data_access.problems import queries as q
from data_access.wall import history as hist
from data_access.wall.baseline import community_days, community_history, model_of
from data_access.wall.day_cache import day_start, local_day
from data_access.wall.day_store import COUNTS, counts_to_rows, json_codec, rows_to_counts
from data_access.wall.snapshot import WallContext

WEEK, MONTH = 7, 30


def problem_rule(ctx: WallContext) -> ProblemRule:
    """The problem thresholds of the settings."""
    s = ctx.settings
    return ProblemRule(s.hotspot_min_count, s.problem_min_ratio, s.candidate_min_streets, s.candidate_min_units)


def scan_rule(ctx: WallContext) -> ScanRule:
    """The scan thresholds of the settings."""
    s = ctx.settings
    return ScanRule(
        s.scan_days, s.scan_neighbours, s.scan_max_km, s.hotspot_min_count, s.hotspot_min_ratio, s.scan_min_llr
    )


def _cached(ctx: WallContext, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    return ctx.cache.get(key, ctx.settings.slow_panel_s, compute)


def _windows(now: datetime, ctx: WallContext) -> dict[str, tuple[datetime, datetime]]:
    z = ctx.settings.zone
    today = local_day(now, z)
    at = lambda k: day_start(today - timedelta(days=k), z)  # noqa: E731
    return {
        "day": (at(0), now),
        "week": (at(WEEK - 1), now),
        "month": (at(MONTH - 1), now),
        "prev_month": (at(2 * MONTH - 1), at(MONTH - 1)),
        "base": (at(WEEK - 1 + ctx.settings.hotspot_baseline_days), at(WEEK - 1)),
    }


#: A day's category aggregate in the store: its two counts.
_PLACES = json_codec(
    "places1",
    lambda v: [counts_to_rows(v[0]), counts_to_rows(v[1])],
    lambda j: (rows_to_counts(j[0]), rows_to_counts(j[1])),
)
#: Positions of a category level and an area level in a day's place key (queries.PLACE_KEYS).
_AT = {"cat1": 0, "cat2": 1, "cat3": 2, "district": 3, "street": 4}


class _Days:
    """The category aggregates of the last 2 × MONTH days: each whole day kept in the day cache
    (data_access/wall/day_cache.py) until events change it, today read as it stands."""

    def __init__(self, session: Session, now: datetime, ctx: WallContext) -> None:
        s = ctx.settings
        self.today = local_day(now, s.zone)
        closed = [self.today - timedelta(days=k) for k in range(2 * MONTH - 1, 0, -1)]
        stamp = ctx.days.sync(session, s.zone)
        self.places = ctx.days.get_days(
            "categories",
            closed,
            None,
            stamp,
            s.history_cache_s,
            lambda d: q.category_days(session, d, s.zone),
            (session, _PLACES),
        )
        self.reviews = ctx.days.get_days(
            "category_reviews",
            closed,
            None,
            stamp,
            s.history_cache_s,
            lambda d: q.review_days(session, d, s.zone),
            (session, COUNTS),
        )
        start = day_start(self.today, s.zone)
        self.places[self.today] = q.category_range(session, start, now)
        self.reviews[self.today] = q.review_range(session, start, now)

    def last(self, n: int, skip: int = 0) -> list[date]:
        """The n days ending `skip` days before today (today among them when skip is 0)."""
        return [self.today - timedelta(days=k) for k in range(skip + n - 1, skip - 1, -1)]

    def counts(self, days: Sequence[date], cat: str, area: str) -> dict[tuple[str, str], int]:
        """Appeals per (category of level `cat`, area of level `area`) created on the days."""
        i, j = _AT[cat], _AT[area]
        out: dict[tuple[str, str], int] = {}
        for d in days:
            for key, n in self.places[d][0].items():
                if key[i] is not None and key[j] is not None:
                    k = (str(key[i]), str(key[j]))
                    out[k] = out.get(k, 0) + n
        return out

    def totals(self, days: Sequence[date], col: str) -> dict[str, int]:
        """Appeals per value of one category or area level created on the days."""
        i = _AT[col]
        out: dict[str, int] = {}
        for d in days:
            for key, n in self.places[d][0].items():
                if key[i] is not None:
                    out[str(key[i])] = out.get(str(key[i]), 0) + n
        return out


def _base_history(days: _Days, session: Session, now: datetime, ctx: WallContext, cat: str) -> History:
    """The history of the baseline before the week, with the city's count per category of level `cat`."""
    h, own, _ = community_history(session, now, ctx, days.today - timedelta(days=WEEK - 1))
    city: dict[str, float] = dict(days.totals(h.days, cat))
    city[""] = sum(own.values())
    return History(h.days, h.factors, city, h.communities)


def problem_rows(session: Session, now: datetime, ctx: WallContext, cat: str, area: str) -> list[dict[str, Any]]:
    """High-frequency problems of a category level and an area level, city-wide (cached). Districts and streets
    are summed from the kept days; communities (too many per day to keep) are read from the appeals."""

    def compute() -> list[dict[str, Any]]:
        days = _Days(session, now, ctx)
        h = _base_history(days, session, now, ctx, cat)
        week = tuple(days.last(WEEK))
        if area == "community":
            w = _windows(now, ctx)
            counts = {k: q.category_area(session, cat, area, *w[k]) for k in ("day", "week", "month")}
            base = (day_start(h.days[0], ctx.settings.zone), w["base"][1]) if h.days else (w["base"][1],) * 2
            counts["base"] = q.category_area(session, cat, area, *base)
            area_totals = q.totals(session, area, *base)
        else:
            counts = {
                k: days.counts(days.last(n), cat, area) for k, n in (("day", 1), ("week", WEEK), ("month", MONTH))
            }
            counts["base"] = days.counts(h.days, cat, area)
            area_totals = days.totals(h.days, area)
        comms = _communities_per(area, ctx)
        rows = problems(counts, area_totals, comms, week, h, model_of(ctx), problem_rule(ctx), limit=200)
        names = ctx.refs.name.get(area, {})
        return [{**r, "level": cat, "area_level": area, "area_name": names.get(r["area"], r["area"])} for r in rows]

    return _cached(ctx, ("problems", cat, area), compute)  # type: ignore[no-any-return]


def _communities_per(area: str, ctx: WallContext) -> dict[str, int]:
    refs = ctx.refs
    if area == "community":
        return dict.fromkeys(refs.community_street, 1)
    out: dict[str, int] = {}
    for c, st in refs.community_street.items():
        key = st if area == "street" else refs.community_district.get(c, "")
        out[key] = out.get(key, 0) + 1
    return out


def candidate_rows(session: Session, now: datetime, ctx: WallContext) -> list[dict[str, Any]]:
    """Candidates for 每月一题 with their evidence, city-wide (cached): volume, streets and units of the appeals
    created over the month, the rates of the call-backs made over it (as the rankings count them)."""

    def compute() -> list[dict[str, Any]]:
        days = _Days(session, now, ctx)
        month = days.last(MONTH)
        prev = days.totals(days.last(MONTH, MONTH), "cat3")
        tallies: dict[str, Tally] = {}
        city = Tally("", "")
        for d in month:
            for (cat3, responded, resolved, sat), n in days.reviews[d].items():
                t = Tally(
                    cat3 or "", "", 0, n, n if responded else 0, n if resolved else 0, exact_credit(sat, DEFAULT) * n
                )
                tallies[t.code] = tallies.get(t.code, Tally(t.code, "")) + t
                city = city + t
        h = _base_history(days, session, now, ctx, "cat3")
        week = tuple(days.last(WEEK))
        week_counts = days.totals(week, "cat3")
        volume: dict[str, int] = {}
        streets: dict[str, set[str]] = {}
        units: dict[str, set[str]] = {}
        for d in month:
            places, by_unit = days.places[d]
            for (_, _, cat3, _, street), n in places.items():
                if cat3 is not None:
                    volume[cat3] = volume.get(cat3, 0) + n
                    if street is not None:
                        streets.setdefault(cat3, set()).add(street)
            for (cat3, unit), _n in by_unit.items():
                if cat3 is not None and unit is not None:
                    units.setdefault(cat3, set()).add(unit)
        months = []
        for cat3, n in volume.items():
            e = expected(int(h.city.get(cat3, 0)), cat3, 1.0, week, h, model_of(ctx))
            ratio = None if e is None or e.value <= 0 else round(week_counts.get(cat3, 0) / e.value, 2)
            t = tallies.get(cat3, Tally(cat3, ""))
            n_streets, n_units = len(streets.get(cat3, ())), len(units.get(cat3, ()))
            months.append(CategoryMonth(cat3, n, prev.get(cat3, 0), n_streets, n_units, t, ratio))
        return candidates(months, city, problem_rule(ctx), ctx.settings.candidate_rows)

    return _cached(ctx, ("candidates",), compute)  # type: ignore[no-any-return]


def scan_hotspots(session: Session, now: datetime, ctx: WallContext) -> list[dict[str, Any]]:
    """Space-time hotspots over the last `scan_days` days with their evidence, city-wide (cached)."""

    def compute() -> list[dict[str, Any]]:
        s, refs, rule = ctx.settings, ctx.refs, scan_rule(ctx)
        model = model_of(ctx)
        today = local_day(now, s.zone)
        window = tuple(today - timedelta(days=k) for k in range(rule.max_days - 1, -1, -1))
        h, own, _ = community_history(session, now, ctx, window[0])
        if not h.days:
            return []
        closed = community_days(session, window[:-1], ctx)
        start_today = day_start(today, s.zone)
        live = hist.community_counts(session, start_today, now)
        part = (now - start_today) / timedelta(days=1)
        codes = list(refs.community_street)
        counts = {c: [closed[d].get(c, 0) for d in window[:-1]] + [live.get(c, 0)] for c in codes}
        day_w = [h.factors[d.weekday()] * (part if d == today else 1.0) for d in window]
        exp: dict[str, list[float]] = {}
        for c in codes:
            r = rate(own.get(c, 0), "", share(own.get(c, 0), 1, h, model), h, model)
            exp[c] = [0.0 if r is None else r.value * w for w in day_w]
        near = ctx.cache.get(
            ("neighbours", rule.neighbours, rule.max_km),
            86400.0,
            lambda: neighbours(refs.community_lonlat, rule.neighbours, rule.max_km),
        )
        out = []
        for cl in scan(counts, exp, near, rule)[: s.hotspot_rows * 3]:
            start = day_start(window[-cl.days], s.zone)
            cats, members = q.members(session, list(cl.communities), start, now)
            out.append(
                {
                    **cl.as_dict(),
                    "names": [refs.community_name.get(c, c) for c in cl.communities],
                    "districts": sorted({refs.community_district.get(c, "") for c in cl.communities}),
                    "streets": sorted({refs.community_street.get(c, "") for c in cl.communities}),
                    "since": start.isoformat(),
                    "categories": [{"category": k, "count": n} for k, n in cats.most_common(5)],
                    "members": [{**m, "created_at": m["created_at"].isoformat()} for m in members],
                }
            )
        return out

    return _cached(ctx, ("scan",), compute)  # type: ignore[no-any-return]


def restrict(body: dict[str, Any], scope: Scope, ctx: WallContext) -> dict[str, Any]:
    """An answer cut to a scope: rows of areas inside it, hotspots wholly inside it, candidates (city-wide
    figures) for the command center only."""
    if scope.role == COMMAND_CENTER:
        return body
    refs = ctx.refs

    def inside(level: str, code: str) -> bool:
        if level == "district":
            return scope.covers(code)
        if level == "street":
            return scope.covers(refs.street_district.get(code), code)
        return scope.covers(refs.community_district.get(code), refs.community_street.get(code))

    out = dict(body)
    if "problems" in out:
        out["problems"] = [r for r in out["problems"] if inside(r["area_level"], r["area"])]
    if "hotspots" in out:
        out["hotspots"] = [hs for hs in out["hotspots"] if all(inside("community", c) for c in hs["communities"])]
    if "candidates" in out:
        out["candidates"] = None
    return out


def allowed(scope: Scope) -> bool:
    """Problems are read by area leaders and the command center (a grid supervisor's grids are no area here)."""
    return scope.role != GRID_SUPERVISOR
