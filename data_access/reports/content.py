"""A report's content (dashboard/reports.Report) read from the store, for one period and one scope.

Rankings come from `snapshot.rankings` cut by `restrict_rankings` exactly as /api/v1/rankings answers a user of the
report's scope; call-backs from `history.reviews` and `history.tallies`; hotspots from `history.community_counts`
scored by dashboard/hotspots.py; coverage from `snapshot.members`. Only volumes by channel, category and day, and
the overdue lists, are the reports' own reads (queries.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from dashboard.hotspots import hotspots as score_hotspots
from dashboard.rankings import Tally, rank_month, rates
from dashboard.reports import Column, Figure, Period, Report, Section, Table, change
from dashboard.scopes import Scope
from dashboard.wall import View
from data_access.reports import queries as q
from data_access.store.appeal_rows import names_of
from data_access.wall import history as hist
from data_access.wall import snapshot as screen
from data_access.wall.scope import restrict_rankings
from data_access.wall.snapshot import WallContext

Progress = Callable[[str], None]
TOP = 10


def scope_of_view(view: View) -> Scope:
    """The signed-in scope that sees exactly a view: what a report of that view may show."""
    if view.level == "district":
        return Scope("district_leader", district=view.code)
    if view.level == "street":
        return Scope("street_leader", street=view.code)
    return Scope("command_center")


def build(
    session: Session,
    p: Period,
    view: View,
    now: datetime,
    ctx: WallContext,
    progress: Progress = lambda _: None,
) -> Report:
    """The report of a period and view, as the store says at `now` (which the caller has checked is after it)."""
    zone = ctx.settings.zone
    hist.tune(session)  # one-off aggregates: PostgreSQL's JIT compiled them for longer than they ran
    sections = {"daily": _daily, "weekly": _weekly, "monthly": _monthly}[p.kind](session, p, view, now, ctx, progress)
    return Report(
        kind=p.kind,
        period=p.label,
        scope=view.key,
        scope_name=ctx.refs.view_name(view),
        cutoff=p.end(zone).astimezone(zone),
        made_at=now.astimezone(zone),
        sections=tuple(sections),
    )


def _edges(p: Period, ctx: WallContext) -> list[datetime]:
    zone = ctx.settings.zone
    days = p.days()
    return [Period("daily", "", d, d).start(zone) for d in days] + [p.end(zone)]


def _streets(view: View, ctx: WallContext) -> set[str]:
    return set(ctx.refs.streets_in(view))


# -- daily ----------------------------------------------------------------------------------------------------
def _daily(session: Session, p: Period, view: View, now: datetime, ctx: WallContext, progress: Progress) -> list[Any]:
    zone = ctx.settings.zone
    start, end = p.start(zone), p.end(zone)
    week_start = start - timedelta(days=7)
    progress("received")
    mix, mix7 = q.received_mix(session, week_start, start, end, view)
    chan, chan7 = q.split(mix, slice(0, 1)), q.split(mix7, slice(0, 1))
    cats, cats7 = q.split(mix, slice(1, 4)), q.split(mix7, slice(1, 4))
    total, total7 = sum(chan.values()), sum(chan7.values()) / 7
    channel_rows = [
        {"channel": c, "count": n, "mean7": round(chan7.get(c, 0) / 7, 1), "change": change(n, chan7.get(c, 0) / 7)}
        for c, n in sorted(chan.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    top = sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    cat_rows = [
        {
            "cat1": k[0],
            "cat2": k[1],
            "cat3": k[2],
            "count": n,
            "mean7": round(cats7.get(k, 0) / 7, 1),
            "change": change(n, cats7.get(k, 0) / 7),
        }
        for k, n in top
    ]
    received = Section(
        "rp_received",
        facts=(("rp_total", total), ("rp_mean7", round(total7, 1)), ("rp_change", _pct(change(total, total7)))),
        tables=(
            Table("rp_channels", CHANNEL_COLS, tuple(channel_rows)),
            Table("rp_categories", CATEGORY_COLS, tuple(cat_rows)),
        ),
        figures=(
            Figure(
                "rp_channels",
                "bar",
                tuple(str(r["channel"]) for r in channel_rows),
                (("rp_count", tuple(float(r["count"] or 0) for r in channel_rows)),),
            ),
        ),
    )
    progress("handling")
    res = q.resolved(session, start, end, view)
    handling = Section(
        "rp_handling",
        facts=(
            ("rp_resolved", res["resolved"]),
            ("rp_on_time", res["on_time"]),
            ("rp_late", res["late"]),
            ("rp_on_time_share", _share(res["on_time"] / res["resolved"] if res["resolved"] else None)),
        ),
    )
    progress("overdue")
    names = names_of(ctx.refs)
    late_units, late_rows = q.overdue(session, end, view, names, TOP)
    units = [{"unit": names.unit.get(u, u) if u else "rp_no_unit", "count": n} for u, n in late_units]
    rows = [
        {
            "id": r["id"],
            "place": r["place"],
            "category": r["category_path"],
            "unit": r["unit_name"] or "—",
            "late_h": round(r["late_s"] / 3600, 1),
            "summary": r["summary"],
        }
        for r in late_rows
    ]
    overdue = Section(
        "rp_overdue",
        tables=(
            Table("rp_overdue_units", UNIT_COUNT_COLS, tuple(units)),
            Table("rp_overdue_rows", OVERDUE_COLS, tuple(rows)),
        ),
    )
    progress("hotspots")
    hot = Section(
        "rp_hotspots",
        tables=(Table("rp_hotspots", HOTSPOT_COLS, tuple(_hotspot_rows(session, start, end, view, ctx))),),
    )
    progress("coverage")
    cov = screen.members(session, now, view, ctx)
    low = sorted(cov["streets"], key=lambda r: (r["share"], r["code"]))[:TOP]
    coverage = Section(
        "rp_coverage",
        facts=(
            ("rp_grids", cov["grids"]),
            ("rp_grids_covered", cov["grids_covered"]),
            ("rp_coverage_share", _share(cov["coverage"])),
            ("rp_coverage_at", now.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M")),
        ),
        tables=(
            Table(
                "rp_coverage_low",
                COVERAGE_COLS,
                tuple(
                    {"name": r["name"], "grids": r["grids"], "covered": r["covered"], "share": r["share"]} for r in low
                ),
            ),
        ),
    )
    progress("supervision")
    cases = q.cases_opened_closed(session, start, end, view)
    by_unit = [
        {"unit": names.unit.get(u, u) if u else "rp_no_unit", "count": n}
        for u, n in q.cases_by_unit(session, start, end, view)
    ]
    supervision = Section(
        "rp_supervision",
        facts=(("rp_cases_opened", cases["opened"]), ("rp_cases_closed", cases["closed"])),
        tables=(Table("rp_cases_by_unit", CASE_UNIT_COLS, tuple(by_unit)),),
    )
    return [received, handling, overdue, supervision, hot, coverage]


def _hotspot_rows(
    session: Session, start: datetime, end: datetime, view: View, ctx: WallContext
) -> list[dict[str, Any]]:
    """The day's hotspot communities against their own baseline, scored as the wall scores them."""
    refs, rule = ctx.refs, ctx.hotspot_rule
    base = start - timedelta(days=rule.baseline_days)
    streets = _streets(view, ctx) if view.level != "city" else None
    among = None if streets is None else [c for c, st in refs.community_street.items() if st in streets]
    recent, baseline = hist.community_counts_by(session, [(start, end), (base, start)], among)
    out = []
    for h in score_hotspots(recent, baseline, rule, limit=TOP):
        out.append(
            {
                "name": refs.community_name.get(h.code, h.code),
                "place": refs.place_name(h.code, refs.community_street.get(h.code)),
                "count": h.count,
                "expected": round(h.expected, 1),
                "ratio": round(h.ratio, 2) if h.ratio is not None else None,
            }
        )
    return out


# -- weekly ---------------------------------------------------------------------------------------------------
def _unit_tallies(session: Session, start: datetime, end: datetime, view: View, ctx: WallContext) -> list[Tally]:
    streets = _streets(view, ctx)
    counts = hist.merge(hist.volumes(session, start, end), hist.reviews(session, start, end))
    return [t for t in hist.tallies(counts, "street", ctx.refs, ctx.ranking) if t.code in streets]


def _weekly(session: Session, p: Period, view: View, now: datetime, ctx: WallContext, progress: Progress) -> list[Any]:
    zone = ctx.settings.zone
    prev = p.previous()
    progress("volume")
    this, last = q.per_day(session, _edges(p, ctx), view), q.per_day(session, _edges(prev, ctx), view)
    day_rows = tuple(
        {"day": d, "count": n, "prev_day": pd, "prev_count": pn, "change": change(n, pn)}
        for d, n, pd, pn in zip(p.days(), this, prev.days(), last)
    )
    volume = Section(
        "rp_volume",
        facts=(
            ("rp_total", sum(this)),
            ("rp_prev_total", sum(last)),
            ("rp_change", _pct(change(sum(this), sum(last)))),
        ),
        tables=(Table("rp_by_day", BY_DAY_COLS, day_rows),),
        figures=(
            Figure(
                "rp_by_day",
                "line",
                tuple(d.strftime("%m-%d") for d in p.days()),
                (("rp_this_week", tuple(map(float, this))), ("rp_last_week", tuple(map(float, last)))),
            ),
        ),
    )
    progress("rates")
    cur = _unit_tallies(session, p.start(zone), p.end(zone), view, ctx)
    before = _unit_tallies(session, prev.start(zone), prev.end(zone), view, ctx)
    r_now, r_prev = rates(_sum(cur)), rates(_sum(before))
    rate_rows = tuple(
        {"rate": key, "value": a, "prev": b, "change": None if a is None or b is None else round(a - b, 4)}
        for key, a, b in zip(("rp_response", "rp_resolution", "rp_satisfaction"), r_now, r_prev)
    )
    rates_sec = Section("rp_rates", tables=(Table("rp_rates", RATE_COLS, rate_rows),))
    progress("units")
    ranked = [r for r in rank_month(cur, before, ctx.ranking) if r.rank is not None]
    best = tuple(_unit_row(r) for r in ranked[:5])
    worst = tuple(_unit_row(r) for r in reversed(ranked[-5:])) if len(ranked) > 5 else ()
    units = Section(
        "rp_units", tables=(Table("rp_best", UNIT_RANK_COLS, best), Table("rp_worst", UNIT_RANK_COLS, worst))
    )
    progress("hotspots")
    hot: dict[str, list[int]] = {}
    for a, b in zip(_edges(p, ctx)[:-1], _edges(p, ctx)[1:]):
        for r in _hotspot_rows(session, a, b, view, ctx):
            hot.setdefault(r["place"], []).append(r["count"])
    several = sorted(((k, v) for k, v in hot.items() if len(v) >= 2), key=lambda kv: (-len(kv[1]), -sum(kv[1]), kv[0]))
    places = Section(
        "rp_hot_places",
        tables=(
            Table(
                "rp_hot_places",
                HOT_PLACE_COLS,
                tuple({"place": k, "days": len(v), "count": sum(v)} for k, v in several[:TOP]),
            ),
        ),
    )
    progress("supervision")
    now_cases = q.cases_opened_closed(session, p.start(zone), p.end(zone), view)
    before_cases = q.cases_opened_closed(session, prev.start(zone), prev.end(zone), view)
    case_rows = tuple(
        {
            "what": f"rp_cases_{k}",
            "count": now_cases[k],
            "prev_count": before_cases[k],
            "change": change(now_cases[k], before_cases[k]),
        }
        for k in ("opened", "closed")
    )
    supervision = Section("rp_supervision", tables=(Table("rp_cases_week", CASE_WEEK_COLS, case_rows),))
    return [volume, rates_sec, units, places, supervision]


def _sum(ts: list[Tally]) -> Tally:
    total = Tally("all", "all")
    for t in ts:
        total = total + t
    return total


def _unit_row(r: Any) -> dict[str, Any]:
    return {
        "rank": r.rank,
        "name": r.name,
        "reviewed": r.reviewed,
        "composite": None if r.composite is None else round(r.composite, 2),
        "change": r.change,
    }


# -- monthly --------------------------------------------------------------------------------------------------
def _monthly(session: Session, p: Period, view: View, now: datetime, ctx: WallContext, progress: Progress) -> list[Any]:
    zone = ctx.settings.zone
    scope = scope_of_view(view)
    out: list[Section] = []
    bodies = {}
    for level in ("street", "district", "department"):
        progress(f"rankings:{level}")
        body = restrict_rankings(screen.rankings(session, now, ctx, level, p.label, view), scope, ctx.refs)
        bodies[level] = body
        rows = tuple(_rank_row(r) for r in body["rows"])
        ranked = [r for r in rows if r["rank"] is not None]
        chart = ranked[:TOP] + [r for r in ranked[-TOP:] if r not in ranked[:TOP]]
        out.append(
            Section(
                f"rp_rank_{level}",
                facts=(
                    ("rp_final" if body["final"] else "rp_provisional", body["cutoff"][:16].replace("T", " ")),
                    ("rp_ranked", body["ranked"]),
                ),
                tables=(Table(f"rp_rank_{level}", RANK_COLS, rows, quiet=("volume", "reviewed")),),
                figures=(
                    Figure(
                        f"rp_rank_{level}",
                        "barh",
                        tuple(r["name"] for r in chart),
                        (("rp_composite", tuple(float(r["composite"] or 0) for r in chart)),),
                    ),
                )
                if chart
                else (),
            )
        )
    progress("talks")
    out.append(_talks(bodies, ctx))
    classes = bodies["street"]["classes"]
    warn = tuple(_rank_row(r) for r in bodies["street"]["volume_top"] if r["early_warning"])
    out.append(
        Section(
            "rp_classes_warning",
            tables=(
                Table("rp_classes", CLASS_COLS, tuple({"cls": k, "count": v} for k, v in classes.items())),
                Table("rp_warning", RANK_COLS, warn),
            ),
        )
    )
    progress("categories")
    months = [p.previous().previous(), p.previous(), p]
    counts = [q.by_cat1(session, m.start(zone), m.end(zone), view) for m in months]
    cats = sorted(counts[-1], key=lambda c: (-counts[-1][c], c))[:TOP]
    trend_rows = tuple(
        {
            "cat1": c,
            "m2": counts[0].get(c, 0),
            "m1": counts[1].get(c, 0),
            "m0": counts[2].get(c, 0),
            "change": change(counts[2].get(c, 0), counts[1].get(c, 0)),
        }
        for c in cats
    )
    out.append(
        Section(
            "rp_cat_trend",
            facts=(("rp_months", " / ".join(m.label for m in months)),),
            tables=(Table("rp_cat_trend", CAT_TREND_COLS, trend_rows),),
            figures=(
                Figure(
                    "rp_cat_trend",
                    "bar",
                    tuple(cats),
                    tuple((m.label, tuple(float(c.get(k, 0)) for k in cats)) for m, c in zip(months, counts)),
                ),
            )
            if cats
            else (),
        )
    )
    out.append(Section("rp_topics", unavailable="rp_no_topics"))
    return out


def _talks(bodies: dict[str, dict[str, Any]], ctx: WallContext) -> Section:
    """The 约谈 list: the bottom ten streets, the last district, the last department and the last company."""
    ranked = lambda level: [r for r in bodies[level]["rows"] if r["rank"] is not None]  # noqa: E731
    streets = ranked("street")
    rows = [{**_rank_row(r), "why": "rp_bottom_street"} for r in reversed(streets[-10:])]
    for level, kinds in (("district", None), ("department", "department"), ("department", "company")):
        rs = [r for r in ranked(level) if kinds is None or ctx.refs.unit_kind.get(r["code"]) == kinds]
        if rs:
            rows.append({**_rank_row(rs[-1]), "why": f"rp_last_{kinds or 'district'}"})
    return Section("rp_talks", tables=(Table("rp_talks", TALK_COLS, tuple(rows)),))


def _rank_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "rank": r["rank"],
        "code": r["code"],
        "name": r["name"],
        "volume": r["volume"],
        "reviewed": r["reviewed"],
        "response": r["response"],
        "resolution": r["resolution"],
        "satisfaction": r["satisfaction"],
        "composite": r["composite"],
        "change": r["change"],
        "cls": r["class"] or "",
        "early_warning": "rp_yes" if r["early_warning"] else "",
    }


def _share(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:+.1f}%" if v < 0 or v > 0 else "0.0%"


def utc_now() -> datetime:
    """Now, in UTC (the one clock of a build; tests pass their own)."""
    return datetime.now(UTC)


# -- columns (heading keys in dashboard/i18n.py) ---------------------------------------------------------------
C = Column
CHANNEL_COLS = (
    C("channel", "rp_col_channel"),
    C("count", "rp_col_count", "int"),
    C("mean7", "rp_col_mean7", "num"),
    C("change", "rp_col_change", "signed"),
)
CATEGORY_COLS = (
    C("cat1", "rp_col_cat1"),
    C("cat2", "rp_col_cat2"),
    C("cat3", "rp_col_cat3"),
    C("count", "rp_col_count", "int"),
    C("mean7", "rp_col_mean7", "num"),
    C("change", "rp_col_change", "signed"),
)
UNIT_COUNT_COLS = (C("unit", "rp_col_unit", "label"), C("count", "rp_col_overdue", "int"))
CASE_UNIT_COLS = (C("unit", "rp_col_unit", "label"), C("count", "rp_col_cases", "int"))
CASE_WEEK_COLS = (
    C("what", "rp_col_what", "key"),
    C("count", "rp_col_this", "int"),
    C("prev_count", "rp_col_prev", "int"),
    C("change", "rp_col_change", "signed"),
)
OVERDUE_COLS = (
    C("id", "rp_col_id"),
    C("place", "rp_col_place"),
    C("category", "rp_col_category"),
    C("unit", "rp_col_unit"),
    C("late_h", "rp_col_late_h", "num"),
    C("summary", "rp_col_summary"),
)
HOTSPOT_COLS = (
    C("name", "rp_col_community"),
    C("place", "rp_col_place"),
    C("count", "rp_col_count", "int"),
    C("expected", "rp_col_expected", "num"),
    C("ratio", "rp_col_ratio", "num"),
)
COVERAGE_COLS = (
    C("name", "rp_col_street"),
    C("grids", "rp_col_grids", "int"),
    C("covered", "rp_col_covered", "int"),
    C("share", "rp_col_share", "pct"),
)
BY_DAY_COLS = (
    C("day", "rp_col_day", "date"),
    C("count", "rp_col_count", "int"),
    C("prev_day", "rp_col_prev_day", "date"),
    C("prev_count", "rp_col_prev_count", "int"),
    C("change", "rp_col_change", "signed"),
)
RATE_COLS = (
    C("rate", "rp_col_rate", "key"),
    C("value", "rp_col_this", "pct"),
    C("prev", "rp_col_prev", "pct"),
    C("change", "rp_col_change_pt", "pct"),
)
UNIT_RANK_COLS = (
    C("rank", "rp_col_rank", "int"),
    C("name", "rp_col_name"),
    C("reviewed", "rp_col_reviewed", "int"),
    C("composite", "rp_col_composite", "num"),
    C("change", "rp_col_rank_change", "signed"),
)
HOT_PLACE_COLS = (C("place", "rp_col_place"), C("days", "rp_col_days", "int"), C("count", "rp_col_count", "int"))
RANK_COLS = (
    C("rank", "rp_col_rank", "int"),
    C("name", "rp_col_name"),
    C("volume", "rp_col_volume", "int"),
    C("reviewed", "rp_col_reviewed", "int"),
    C("response", "rp_col_response", "pct"),
    C("resolution", "rp_col_resolution", "pct"),
    C("satisfaction", "rp_col_satisfaction", "pct"),
    C("composite", "rp_col_composite", "num"),
    C("change", "rp_col_rank_change", "signed"),
    C("cls", "rp_col_class", "key"),
    C("early_warning", "rp_col_warning", "key"),
)
TALK_COLS = (C("why", "rp_col_why", "key"),) + RANK_COLS
CLASS_COLS = (C("cls", "rp_col_class", "key"), C("count", "rp_col_count", "int"))
CAT_TREND_COLS = (
    C("cat1", "rp_col_cat1"),
    C("m2", "rp_col_m2", "int"),
    C("m1", "rp_col_m1", "int"),
    C("m0", "rp_col_m0", "int"),
    C("change", "rp_col_change", "signed"),
)
