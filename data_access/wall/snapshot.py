"""The wall snapshot: every figure of every live panel, computed once per tick for the screen and the API.

Cost model (see benchmarks/tick.py): live panels read only open appeals and fresh presence, through
indexes. Rankings and hotspots read history: each day's aggregate is computed once and kept until events
folded since change that day (data_access/wall/day_cache.py), so they always equal a recomputation from the
store as of their stamp; a ranking is put together from its days at most every `slow_panel_s` and says when it
was and whether it is behind. Cache keys name what a value is, never the time it was taken: a value is
replaced, not accumulated (bounded memory).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from time import monotonic
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.calendar import iso
from dashboard.count_model import expected, share
from dashboard.hotspots import HotspotRule
from dashboard.hotspots import hotspots as score_hotspots
from dashboard.rankings import (
    DEFAULT,
    LEVELS,
    RankingConfig,
    class_counts,
    rank_month,
    volume_top,
)
from dashboard.settings import Settings
from dashboard.ttl_cache import TickMemo, TTLCache
from dashboard.wall import View, tour_stops
from data_access.intake.event_log import last_received
from data_access.store.appeal_rows import Names, appeal_row, names_of, plain
from data_access.store.history_load import history_load
from data_access.supervision.ledger import live_by_place
from data_access.view_share.snapshots import SharedSnapshots, tick_start, tick_version
from data_access.wall import history as hist
from data_access.wall import live_panels as live
from data_access.wall.baseline import community_history, model_of
from data_access.wall.day_cache import DayCache, Period, hours, local_day
from geo.city_index import CityIndex

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class SlowPanels:
    """Slow panels' values (the city's rankings and hotspots) in a process that shares snapshots: a tick takes the
    value in hand and, once it is slow_panel_s old, one background thread computes the next (a tick never waits
    for history; only the first value is waited for, and computed once)."""

    values: dict[Hashable, tuple[float, Any]] = field(default_factory=dict)  # key -> (taken, value)
    busy: set[Hashable] = field(default_factory=set)
    firsts: dict[Hashable, threading.Lock] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class WallContext:
    """What every snapshot needs besides a Session: settings, reference lookups, the shared cache."""

    settings: Settings
    refs: CityIndex
    cache: TTLCache = field(default_factory=TTLCache)
    days: DayCache = field(default_factory=DayCache)  # per-day history aggregates, invalidated by the event log
    # The last good snapshot per view (shown greyed while the store is down): each holds the city's
    # community map (~1 MB), so only the views shown lately are kept, apart from the figures cache.
    last_good: TTLCache = field(default_factory=lambda: TTLCache(max_entries=32))
    ranking: RankingConfig = DEFAULT
    redis_ok: Callable[[], bool] = lambda: True  # health check of the intake's Redis (short timeouts)
    # Snapshots shared per view and tick by every viewer and web worker (None: each viewer computes its own)
    shared: SharedSnapshots | None = None
    ticks: TickMemo = field(default_factory=TickMemo)  # what a process shares among its viewers in one tick
    slow: SlowPanels = field(default_factory=SlowPanels)  # rankings and hotspots refreshed beside the ticks
    started: float = field(default_factory=monotonic)  # when this process began to read (see `Coverage.known`)

    @property
    def hotspot_rule(self) -> HotspotRule:
        """The hotspot thresholds of the settings."""
        return HotspotRule.from_settings(self.settings)


# -- time helpers -----------------------------------------------------------------------------
def local_midnight(now: datetime, s: Settings, days_back: int = 0) -> datetime:
    """Start of the city's local day `days_back` days before now's, in UTC."""
    d = now.astimezone(s.zone).date() - timedelta(days=days_back)
    return datetime.combine(d, time(), s.zone).astimezone(UTC)


def month_range(month: str | None, now: datetime, s: Settings) -> tuple[str, datetime, datetime]:
    """('YYYY-MM', start, end) of a month in the city's zone; None: the current month."""
    if month:
        y, m = (int(x) for x in month.split("-"))
        first = date(y, m, 1)
    else:
        first = now.astimezone(s.zone).date().replace(day=1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    to_utc = lambda d: datetime.combine(d, time(), s.zone).astimezone(UTC)  # noqa: E731
    return f"{first.year:04d}-{first.month:02d}", to_utc(first), to_utc(nxt)


def month_cutoff(month: str, s: Settings, cfg: RankingConfig = DEFAULT) -> datetime:
    """When a month's ranking becomes final: midnight `close_days` days after the month ends, in UTC."""
    y, m = (int(x) for x in month.split("-"))
    first_after = date(y + (m == 12), m % 12 + 1, 1) + timedelta(days=cfg.close_days)
    return datetime.combine(first_after, time(), s.zone).astimezone(UTC)


def previous_month(month: str) -> str:
    """'YYYY-MM' of the month before."""
    y, m = (int(x) for x in month.split("-"))
    return f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}"


# -- panels ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """Where members are present now: grids, communities, and grids covered per street.

    `present`: how many members were present when it was read. None at all, within the presence window of the
    process's start, is a presence not yet in the store (before the first heartbeats are in) rather than a city
    where no one is on duty: what is covered is not `known` yet, so no grid is said to be uncovered and the wall
    shows its coverage as being computed. After that window (`settled`), none present is a coverage of 0."""

    grids: frozenset[str]
    communities: frozenset[str]
    by_street: dict[str, int]
    present: int
    read_at: float  # monotonic time of the read (what is derived from it is kept under it)
    settled: bool = False  # read a presence window or more after the start: every heartbeat due had come in

    @property
    def known(self) -> bool:
        """Some member's heartbeat was read, or none came in a whole presence window."""
        return self.present > 0 or self.settled

    def covers(self, grid: str | None, community: str | None) -> bool:
        """Someone is present in the appeal's grid (or, without a grid, in its community)."""
        return grid in self.grids if grid else community in self.communities


#: The coverage in hand is read again before slow_panel_s when the members present now (`present`, counted every
#: tick) differ by more than this share from those it was read from: as the first heartbeats come in after a start
#: (else 18,000 members' coverage stood beside 69,521 online for a minute), or at a change of shift.
COVERAGE_DRIFT = 0.05


def present_count(presence: dict[str, Any]) -> int:
    """How many members are present in the city's live figures (`live_state`'s presence)."""
    return sum(n for states in presence.values() for n in states.values())


def coverage(session: Session, now: datetime, ctx: WallContext, present: int | None = None) -> Coverage:
    """Present members' grids, from one read of fresh presence, recomputed at most every slow_panel_s unless the
    members `present` now (if given) moved by more than COVERAGE_DRIFT since; while it is not `known`, every tick.
    So a coverage read by the start's warm-up or first tick, before the heartbeats were in, is not shown for
    slow_panel_s."""
    s, refs = ctx.settings, ctx.refs

    def compute() -> Coverage:
        grids: set[str] = set()
        comms: set[str] = set()
        present = live.present_members(session, now - timedelta(seconds=s.presence_window_s))
        for m in present:
            info = refs.member.get(m)
            if info:
                grids.add(info[1])
                comms.add(info[2])
        by_street: dict[str, int] = {}
        for g in grids:
            st = refs.grid_street.get(g)
            if st:
                by_street[st] = by_street.get(st, 0) + 1
        read_at = monotonic()
        settled = read_at - ctx.started >= s.presence_window_s
        return Coverage(frozenset(grids), frozenset(comms), by_street, len(present), read_at, settled)

    key = ("coverage",)
    read = lambda: per_tick(ctx, key, now, compute)  # noqa: E731  # at most once a tick however many views ask
    cov = ctx.cache.get(key, s.slow_panel_s, read, keep=lambda c: c.known)
    if present is not None and cov.known and abs(present - cov.present) > COVERAGE_DRIFT * cov.present:
        cov = read()
        if cov.known:
            ctx.cache.put(key, cov, s.slow_panel_s)
    return cov


def per_tick(ctx: WallContext, key: tuple[Any, ...], now: datetime, compute: Callable[[], T]) -> T:
    """`compute()` once per refresh period in this process when snapshots are shared, else every call."""
    if ctx.shared is None:
        return compute()
    return ctx.ticks.get(key, tick_version(now, ctx.shared.period_ms), compute)


def slow(ctx: WallContext, session: Session, key: Hashable, compute: Callable[[Session], T]) -> T:
    """A slow panel's value, computed again at most every slow_panel_s; with shared snapshots in the background
    (`SlowPanels`), else in the call."""
    ttl = ctx.settings.slow_panel_s
    if ctx.shared is None:
        return ctx.cache.get(key, ttl, lambda: compute(session))
    sp = ctx.slow
    with sp.lock:
        held = sp.values.get(key)
        if held is not None:
            if monotonic() - held[0] >= ttl and key not in sp.busy:
                sp.busy.add(key)
                bind = session.get_bind()
                threading.Thread(target=_refresh, args=(sp, bind, key, compute), name="wall-slow", daemon=True).start()
            return held[1]  # type: ignore[no-any-return]
        first = sp.firsts.setdefault(key, threading.Lock())
    with first:  # nothing in hand yet: one thread computes it, the others wait for it
        with sp.lock:
            held = sp.values.get(key)
        if held is not None:
            return held[1]  # type: ignore[no-any-return]
        value = compute(session)
        with sp.lock:
            sp.values[key] = (monotonic(), value)
        return value


def _refresh(sp: SlowPanels, bind: Any, key: Hashable, compute: Callable[[Session], Any]) -> None:
    try:
        with Session(bind) as own:
            value = compute(own)
        with sp.lock:
            sp.values[key] = (monotonic(), value)
    except SQLAlchemyError as exc:  # the store is away: the value in hand stays, the next tick tries again
        log.warning("wall slow panel %s not refreshed: %s", key, str(exc).splitlines()[0][:200])
    finally:
        with sp.lock:
            sp.busy.discard(key)


def live_state(session: Session, now: datetime, ctx: WallContext) -> dict[str, Any]:
    """The city's live figures at `now`, grouped by place (`live.place`): every view's figures are sums of them.

    Computed once per tick for every view, viewer and web worker when snapshots are shared (the name
    `wall:live`), so the store's work per tick does not grow with the number of views shown."""
    if ctx.shared is None:
        return _live_state(session, now, ctx)
    return ctx.shared.get("wall:live", now, lambda: _live_state(session, now, ctx))  # type: ignore[no-any-return]


def _live_state(session: Session, now: datetime, ctx: WallContext) -> dict[str, Any]:
    s = ctx.settings
    by_place: dict[str, list[int]] = {}
    comms: dict[str, list[int]] = {}
    for d, st, c, n, yr, red, turning in live.lights_by_place(session, now, timedelta(hours=s.turning_red_h)):
        acc = by_place.setdefault(live.place(d, st), [0, 0, 0, 0])
        for i, v in enumerate((n, yr, red, turning)):
            acc[i] += v
        if c:
            worst = 2 if red else (1 if yr else 0)
            held = comms.get(c)
            comms[c] = [n, worst] if held is None else [held[0] + n, max(held[1], worst)]
    cases: dict[str, int] = {}
    for d, st, n in live_by_place(session):
        cases[live.place(d, st)] = cases.get(live.place(d, st), 0) + n
    cutoff = now - timedelta(seconds=s.presence_window_s)
    presence = live.presence_by_place(session, cutoff)
    any_sos = any(states.get("sos") for states in presence.values())
    last = last_received(session)
    soon = timedelta(hours=s.turning_red_h)
    cov = coverage(session, now, ctx, present_count(presence))
    names = names_of(ctx.refs)
    rows = lambda found: [[k, _alert_row(r, now, names, cov)] for k, r in found]  # noqa: E731
    return {
        "time": now.isoformat(),
        "red": rows(live.red_rows_by_place(session, now, s.wall_red_rows)),  # [place, row], longest red first
        "soon": rows(live.soon_rows_by_place(session, now, soon, s.wall_soon_rows)),
        "last_event": last.isoformat() if last else None,
        "lights": by_place,  # place -> [open, yellow or red, red, turning red]
        "today": live.created_by_place(session, local_midnight(now, s)),
        "cases": cases,
        "presence": presence,
        "sos": [[m, at.isoformat()] for m, at in live.fresh_sos(session, cutoff)] if any_sos else [],
        # None while the coverage is not known (no heartbeat read yet): neither a count nor kept
        "red_uncovered": (
            ctx.cache.get(("red-uncovered", cov.read_at), s.slow_panel_s, lambda: _red_uncovered(session, now, cov))
            if cov.known
            else None
        ),
        "communities": comms,
    }


def _inside(by_place: dict[str, int], view: View) -> int:
    return sum(n for k, n in by_place.items() if live.place_in(k, view))


def summary(session: Session, now: datetime, view: View, ctx: WallContext) -> dict[str, Any]:
    """Open appeals by light, turning red soon, today's volume, live supervision cases, red with no one on the grid."""
    return view_summary(live_state(session, now, ctx), view)


def view_summary(state: dict[str, Any], view: View) -> dict[str, Any]:
    """A view's summary from the city's live figures."""
    total = [0, 0, 0, 0]
    for k, v in state["lights"].items():
        if live.place_in(k, view):
            for i in range(4):
                total[i] += v[i]
    n, yellow_or_red, red, turning = total
    return {
        "open": n,
        "green": n - yellow_or_red,
        "yellow": yellow_or_red - red,
        "red": red,
        "turning_red": turning,
        "today": _inside(state["today"], view),
        "cases_open": _inside(state["cases"], view),
        "red_uncovered": None if state["red_uncovered"] is None else _inside(state["red_uncovered"], view),
    }


def _red_uncovered(session: Session, now: datetime, cov: Coverage) -> dict[str, int]:
    """Red appeals with no member present in their grid, per place (each minute, and each new read of the coverage:
    it reads every red row)."""
    out: dict[str, int] = {}
    for k, g, c in live.red_places(session, now):
        if not cov.covers(g, c):
            out[k] = out.get(k, 0) + 1
    return out


def _alert_row(r: dict[str, Any], now: datetime, names: Names, cov: Coverage) -> dict[str, Any]:
    return {**plain(appeal_row(r, now, names)), "no_member": cov.known and not cov.covers(r["grid"], r["community"])}


def alerts(session: Session, now: datetime, view: View, ctx: WallContext) -> dict[str, Any]:
    """The red list (longest red first) and the turning-red list, each flagged when no one is on the grid."""
    return view_alerts(live_state(session, now, ctx), view, ctx.settings)


def view_alerts(state: dict[str, Any], view: View, s: Settings) -> dict[str, Any]:
    """A view's lists from the city's: each place holds its first rows, so the view's first are among them."""

    def first(found: list[list[Any]], limit: int) -> list[dict[str, Any]]:
        return [r for k, r in found if live.place_in(k, view)][:limit]

    return {"red": first(state["red"], s.wall_red_rows), "soon": first(state["soon"], s.wall_soon_rows)}


def _in_view(info: tuple[str, str, str, str, str], view: View) -> bool:
    return view.level == "city" or (info[4] if view.level == "district" else info[3]) == view.code


def members(session: Session, now: datetime, view: View, ctx: WallContext) -> dict[str, Any]:
    """Grid members online / busy / offline / SOS (live), the SOS list, per-street coverage (each minute)."""
    state = live_state(session, now, ctx)
    return view_members(state, view, coverage(session, now, ctx, present_count(state["presence"])), ctx)


def view_members(state: dict[str, Any], view: View, cov: Coverage, ctx: WallContext) -> dict[str, Any]:
    """A view's members panel from the city's live figures and the coverage."""
    refs = ctx.refs
    by_state: dict[str, int] = {}
    for k, states in state["presence"].items():
        if live.place_in(k, view):
            for st, n in states.items():
                by_state[st] = by_state.get(st, 0) + n
    roster = refs.roster[view.code or "city"]  # the city view has no code
    online, busy, sos = by_state.get("on_duty", 0), by_state.get("busy", 0), by_state.get("sos", 0)
    streets: list[dict[str, Any]] = []
    for code in refs.streets_in(view):
        grids = refs.grids_per_street.get(code, 0)
        if grids:
            n = cov.by_street.get(code, 0)
            streets.append(
                {
                    "code": code,
                    "name": refs.street_name.get(code, code),
                    "grids": grids,
                    "covered": n,
                    "share": round(n / grids, 4),
                }
            )
    streets.sort(key=lambda r: (r["share"], r["code"]))
    total_grids = sum(r["grids"] for r in streets)
    sos_list = []
    if sos:
        for m, at in state["sos"]:
            info = refs.member.get(m)
            if info and _in_view(info, view):
                sos_list.append(
                    {
                        "id": m,
                        "name": info[0],
                        "grid": info[1],
                        "community": info[2],
                        "street": info[3],
                        "district": info[4],
                        "at": at,
                        "place": refs.place_name(info[2], info[3]),
                    }
                )
    covered = sum(r["covered"] for r in streets)
    return {
        "roster": roster,
        "online": online,
        "busy": busy,
        "sos": sos,
        "offline": max(roster - online - busy - sos, 0),
        "grids": total_grids,
        "grids_covered": covered,
        "coverage": round(covered / total_grids, 4) if total_grids and cov.known else None,
        "coverage_known": cov.known,  # False: no heartbeat read yet, the coverage (None) is being computed
        "streets": streets,
        "sos_list": sos_list[:10],
    }


def _days(start: datetime, end: datetime, s: Settings) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at the city's local midnights."""
    out = []
    day = start
    while day < end:
        nxt = min(local_midnight(day, s, -1), end)
        out.append((day, nxt))
        day = nxt
    return out


#: A ranking is stale once it misses an event received more than a refresh period and this long ago (the folders
#: take a moment to fold an event; a backlog, or a folder that stopped, longer).
FOLD_GRACE_S = 15


def _month_counts(session: Session, month: str, now: datetime, stamp: int, ctx: WallContext) -> hist.Counts:
    """Unit counts of a month from its days' aggregates: volumes now (or at the cut-off once final), call-backs."""
    s = ctx.settings
    _, start, end = month_range(month, now, s)
    cut = month_cutoff(month, s, ctx.ranking)
    at = cut if now >= cut else None
    today = local_day(now, s.zone)
    spans: dict[Period, hist.Span] = {}
    for a, b in _days(start, end, s):
        day = local_day(a, s.zone)
        # today by the hour: live events change its last hours, and only those are read again
        for ha, hb, hour in hours(a, b) if day == today else [(a, b, None)]:
            spans[(day, hour)] = (ha, hb)
    periods = list(spans)
    # the days not kept are read together: one statement for each kind, however many days that is
    vols = ctx.days.get_many(
        "volume", periods, at, stamp, s.history_cache_s, lambda ps: hist.volumes_by(session, [spans[p] for p in ps], at)
    )
    revs = ctx.days.get_many(
        "reviews", periods, None, stamp, s.history_cache_s, lambda ps: hist.reviews_by(session, [spans[p] for p in ps])
    )
    return hist.merge(*vols, *revs)


def _ranking(session: Session, now: datetime, ctx: WallContext, level: str, month: str) -> dict[str, Any]:
    """A month's ranking rows with last month's ranks, and what they reflect."""
    s = ctx.settings
    stamp = ctx.days.sync(session, s.zone)
    cur = hist.tallies(_month_counts(session, month, now, stamp, ctx), level, ctx.refs, ctx.ranking)
    prev = hist.tallies(_month_counts(session, previous_month(month), now, stamp, ctx), level, ctx.refs, ctx.ranking)
    cut = month_cutoff(month, s, ctx.ranking)
    return {
        "rows": [r.as_dict() for r in rank_month(cur, prev, ctx.ranking)],
        "seq": stamp,
        "as_of": iso(now, s),
        "final": now >= cut,
        "cutoff": iso(cut, s),
    }


def rankings(
    session: Session,
    now: datetime,
    ctx: WallContext,
    level: str = "street",
    month: str | None = None,
    view: View = View(),
    in_tick: bool = False,
) -> dict[str, Any]:
    """A month's ranking of a level, with last month's ranks; street rankings narrowed to a view's district.

    `final`: past its cut-off, the figures no longer change with later events; else `provisional_until` says
    when they will. `as_of` and `seq`: when the rows were computed and the log position they reflect (every
    event up to it); `stale` (with `stale_since`) when they miss an event received a refresh period ago (`in_tick`:
    for a screen's tick, read once per tick in the process)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    s = ctx.settings
    label, start, _ = month_range(month, now, s)
    if start > now:
        raise ValueError(f"month {label} has not started")
    # What a ranking shows depends on the time only through which of its two months are final
    finals = tuple(now >= month_cutoff(m, s, ctx.ranking) for m in (label, previous_month(label)))
    key = ("rankings", level, label, finals)
    if month is None:  # the current month: what the screens show
        full = slow(ctx, session, key, lambda se: _ranking(se, now, ctx, level, label))
    else:
        full = ctx.cache.get(key, s.slow_panel_s, lambda: _ranking(session, now, ctx, level, label))
    rows = full["rows"]
    if level == "street" and view.level != "city":
        district = view.code if view.level == "district" else ctx.refs.street_district.get(view.code or "")
        rows = [r for r in rows if ctx.refs.street_district.get(r["code"]) == district]
    classes = class_counts(r["class"] for r in rows)
    top = volume_top(rows, lambda r: r["volume_rank"], ctx.ranking)
    after = lambda: hist.first_after(session, full["seq"])  # noqa: E731
    missed = per_tick(ctx, ("first-after", full["seq"]), now, after) if in_tick else after()
    stale = missed is not None and (now - missed).total_seconds() > s.slow_panel_s + FOLD_GRACE_S
    return {
        "level": level,
        "month": label,
        "ranked": sum(1 for r in rows if r["rank"]),
        "classes": classes,
        "volume_top": top,
        "rows": rows,
        "final": full["final"],
        "cutoff": full["cutoff"],
        "provisional_until": None if full["final"] else full["cutoff"],
        "as_of": full["as_of"],
        "seq": full["seq"],
        "stale": stale,
        "stale_since": iso(missed, s) if stale else None,
        "definition": {
            "weights": {
                "response": ctx.ranking.w_response,
                "resolution": ctx.ranking.w_resolution,
                "satisfaction": ctx.ranking.w_satisfaction,
            },
            "min_reviewed": ctx.ranking.min_reviewed,
            "close_days": ctx.ranking.close_days,
        },
    }


def hotspots(session: Session, now: datetime, view: View, ctx: WallContext) -> list[dict[str, Any]]:
    """Communities whose recent volume stands out against their own baseline (dashboard/hotspots.py).

    Each community is judged on its own counts, so a view's hotspots are the city's inside it: the city's are
    computed at most every slow_panel_s and every view takes its own from them."""
    every = slow(ctx, session, ("hotspots",), lambda se: _hotspots(se, now, ctx))
    if view.level != "city":
        codes = set(ctx.refs.streets_in(view))
        every = [h for h in every if h["street"] in codes]
    return every[: ctx.settings.hotspot_rows]


def _hotspots(session: Session, now: datetime, ctx: WallContext) -> list[dict[str, Any]]:
    s, refs, rule = ctx.settings, ctx.refs, ctx.hotspot_rule
    model = model_of(ctx)
    today = local_day(now, s.zone)
    h, baseline, _ = community_history(session, now, ctx, today)
    recent = ctx.cache.get(
        ("recent",), s.slow_panel_s, lambda: hist.community_counts(session, now - timedelta(hours=rule.window_h), now)
    )
    lam: dict[str, float] = {}
    for code in recent:
        own = baseline.get(code, 0)
        e = expected(own, "", share(own, 1, h, model), [today], h, model, rule.window_h / 24.0)
        if e is not None:
            lam[code] = e.value
    out = []
    for hs in score_hotspots(recent, lam, rule):
        out.append(
            {
                **hs.as_dict(),
                "name": refs.community_name.get(hs.code, hs.code),
                "street": refs.community_street.get(hs.code),
                "district": refs.community_district.get(hs.code),
                "place": refs.place_name(hs.code, refs.community_street.get(hs.code)),
            }
        )
    return out


def tour(session: Session, now: datetime, ctx: WallContext) -> list[str]:
    """The tour's stops as view keys: the city, then the districts and streets with most red appeals."""
    s = ctx.settings

    def compute() -> list[str]:
        by_d: dict[str, int] = {}
        by_s: dict[str, int] = {}
        for k, v in live_state(session, now, ctx)["lights"].items():
            d, st = k.split("|", 1)
            if d and v[2]:
                by_d[d] = by_d.get(d, 0) + v[2]
            if st and v[2]:
                by_s[st] = by_s.get(st, 0) + v[2]
        worst = lambda m: [k for k, _ in sorted(m.items(), key=lambda kv: (-kv[1], kv[0]))[: s.tour_worst]]  # noqa: E731
        return [v.key for v in tour_stops(worst(by_d), worst(by_s))]

    return ctx.cache.get(("tour",), s.slow_panel_s, compute)


def community_map(session: Session, now: datetime, ctx: WallContext) -> dict[str, list[int]]:
    """Map styling: per community with open appeals, [open count, worst light 0/1/2], both live.

    The map is the whole city's whatever the view (each viewer's is cut to its scope later)."""
    return live_state(session, now, ctx)["communities"]  # type: ignore[no-any-return]


def wall_snapshot(session: Session, now: datetime, view: View, ctx: WallContext) -> dict[str, Any]:
    """Everything the wall shows for a view at `now` (JSON-ready: all plain values).

    The live figures are the city's (`live_state`, once per tick for every view) taken by place, so a view adds no
    read of its own; rankings and hotspots are the city's, kept for slow_panel_s, and cut to the view."""
    state = live_state(session, now, ctx)
    last = state["last_event"]
    return {
        "time": now.isoformat(),
        "view": view.key,
        "last_event": last,
        "feed_age_s": None if last is None else round((now - datetime.fromisoformat(last)).total_seconds(), 1),
        "summary": view_summary(state, view),
        "alerts": view_alerts(state, view, ctx.settings),
        "members": view_members(state, view, coverage(session, now, ctx, present_count(state["presence"])), ctx),
        "rankings": rankings(session, now, ctx, "street", None, view, in_tick=True),
        "hotspots": hotspots(session, now, view, ctx),
        "communities": state["communities"],
        "tour": tour(session, now, ctx),
    }


# -- status and failures ----------------------------------------------------------------------
def take_snapshot(
    sessions: sessionmaker[Session], redis_ok: Callable[[], bool], now: datetime, view: View, ctx: WallContext
) -> dict[str, Any]:
    """The snapshot with its status; if the store fails, the last good snapshot marked as such.

    With `ctx.shared`, the figures of a view are computed once per tick for every viewer and web worker
    (data_access/view_share/snapshots.py); callers cut them to each viewer's scope.

    status: redis (bool), store (bool), stale (feed stopped or never started), fresh (all well:
    figures may be shown as current), data_time (when the figures were computed), history_load (how far a load
    of history stands, 0 to 1; None when none is under way)."""
    s = ctx.settings
    if ctx.shared is not None:  # every viewer and worker of a tick shows it as of the tick's start
        now = tick_start(now, ctx.shared.period_ms)
    rds = per_tick(ctx, ("redis-ok",), now, redis_ok)
    try:
        with sessions() as session:
            if ctx.shared is None:
                snap = wall_snapshot(session, now, view, ctx)
            else:  # one object per view and tick in this process, for every viewer of it
                live_state(session, now, ctx)  # first, outside the view's memo: viewers wait on no one's read of it
                snap = per_tick(ctx, ("snapshot", view.key), now, partial(wall_snapshot, session, now, view, ctx))
            loading = per_tick(ctx, ("history-load",), now, partial(history_load, session))
        ctx.last_good.put(view.key, snap)
        store = True
    except SQLAlchemyError as exc:
        log.warning("wall snapshot: store unavailable: %s", str(exc).splitlines()[0][:200])
        snap = ctx.last_good.peek(view.key)
        store = False
        loading = None
    age = None if snap is None else snap["feed_age_s"]
    stale = age is None or age > s.feed_stale_s
    status = {
        "redis": rds,
        "store": store,
        "stale": stale,
        "fresh": rds and store and not stale,
        "data_time": None if snap is None else snap["time"],
        "time": now.isoformat(),
        "last_event": None if snap is None else snap["last_event"],
        "feed_stale_s": s.feed_stale_s,
        "history_load": loading,  # the fraction of a load of history under way (None: none is)
    }
    return {"status": status, "data": snap}


def tour_now(sessions: sessionmaker[Session], now: datetime, ctx: WallContext) -> list[View]:
    """The tour's stops now (the city alone if the store cannot say)."""
    try:
        with sessions() as session:
            return [View.parse(k) for k in tour(session, now, ctx)]
    except SQLAlchemyError:
        return [View()]


def community_detail(session: Session, community: str, now: datetime, ctx: WallContext) -> list[dict[str, Any]]:
    """A community's open appeals as rows (light at `now`, unit names), for the map's detail drawer."""
    names = names_of(ctx.refs)
    return [appeal_row(r, now, names) for r in live.community_open(session, community)]


def warm(sessions: sessionmaker[Session], ctx: WallContext, now: datetime | None = None) -> None:
    """Build the history aggregates (rankings of every level, hotspot baselines) before the first tick needs them.

    On an empty store they are empty: history that arrives later changes its days, which are then computed again."""
    now = now or datetime.now(UTC)
    try:
        with sessions() as session:
            for level in LEVELS:
                rankings(session, now, ctx, level)
            hotspots(session, now, View(), ctx)
            tour(session, now, ctx)
    except SQLAlchemyError as exc:  # the store is down: the ticks will say so
        log.warning("wall warm-up skipped: %s", str(exc).splitlines()[0][:200])
