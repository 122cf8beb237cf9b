"""High-frequency problems, 每月一题 candidates and space-time hotspots over the store (the rules:
dashboard/problems.py, dashboard/count_model.py, dashboard/scan.py). Each answer is computed for the whole city
at most every `slow_panel_s` and then cut to the asker's scope (`restrict`)."""

from __future__ import annotations

from collections.abc import Callable
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


def _base_history(session: Session, now: datetime, ctx: WallContext, cat: str) -> tuple[History, tuple[date, ...]]:
    """The history of the baseline before the week, with the city's count per category of level `cat`."""
    today = local_day(now, ctx.settings.zone)
    week_first = today - timedelta(days=WEEK - 1)
    h, own, _ = community_history(session, now, ctx, week_first)
    w = _windows(now, ctx)["base"]
    start = day_start(h.days[0], ctx.settings.zone) if h.days else w[1]
    city = q.totals(session, cat, start, w[1])
    city[""] = sum(own.values())
    week = tuple(week_first + timedelta(days=k) for k in range(WEEK))
    return History(h.days, h.factors, city, h.communities), week


def problem_rows(session: Session, now: datetime, ctx: WallContext, cat: str, area: str) -> list[dict[str, Any]]:
    """High-frequency problems of a category level and an area level, city-wide (cached)."""

    def compute() -> list[dict[str, Any]]:
        w = _windows(now, ctx)
        h, week = _base_history(session, now, ctx, cat)
        base_start = day_start(h.days[0], ctx.settings.zone) if h.days else w["base"][1]
        counts = {k: q.category_area(session, cat, area, *w[k]) for k in ("day", "week", "month")}
        counts["base"] = q.category_area(session, cat, area, base_start, w["base"][1])
        area_totals = q.totals(session, area, base_start, w["base"][1])
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
    """Candidates for 每月一题 with their evidence, city-wide (cached)."""

    def compute() -> list[dict[str, Any]]:
        w = _windows(now, ctx)
        prev = q.totals(session, "cat3", *w["prev_month"])
        tallies: dict[str, Tally] = {}
        city = Tally("", "")
        for cat3, responded, resolved, sat, n in q.callbacks(session, *w["month"]):
            t = Tally(
                cat3 or "",
                "",
                0,
                int(n),
                int(n) if responded else 0,
                int(n) if resolved else 0,
                exact_credit(sat, DEFAULT) * int(n),
            )
            tallies[t.code] = tallies.get(t.code, Tally(t.code, "")) + t
            city = city + t
        h, week = _base_history(session, now, ctx, "cat3")
        week_counts = q.totals(session, "cat3", *w["week"])
        months = []
        for cat3, volume, streets, units in q.category_month(session, *w["month"]):
            e = expected(int(h.city.get(cat3, 0)), cat3, 1.0, week, h, model_of(ctx))
            ratio = None if e is None or e.value <= 0 else round(week_counts.get(cat3, 0) / e.value, 2)
            t = tallies.get(cat3, Tally(cat3, ""))
            months.append(CategoryMonth(cat3, int(volume), prev.get(cat3, 0), int(streets), int(units), t, ratio))
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
