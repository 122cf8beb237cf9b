"""Rankings follow the store, on real SQLite and PostgreSQL: history that arrives after start-up (shuffled, with
duplicates, through Redis, the ingest worker and the folders), re-dispatches of old appeals, late events. Every
ranking row equals a fresh computation from the store and an independent count of the documented rules
(dashboard/rankings.month_share) over the events; what a ranking misses, it says."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dashboard.contract import parse_event
from dashboard.rankings import LEVELS, RankingConfig, month_share, rank_month
from dashboard.ttl_cache import TTLCache
from dashboard.wall import View
from data_access.intake.consumer import IngestWorker
from data_access.intake.event_log import Accepted, store_events
from data_access.projection.projector import Projector
from data_access.store.models import AppealEvent
from data_access.wall import history as hist
from data_access.wall import snapshot as screen
from data_access.wall.snapshot import WallContext
from geo.city_index import index_of
from layouts.tick import ranking_notes
from tests.conftest import TZ, display_token, ev
from tests.wall_support import created, put_events, services

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=TZ)  # November provisional (until Dec 4), October final (since Nov 4)
EARLY = datetime(2026, 11, 2, 12, 0, tzinfo=TZ)  # October still provisional
CFG = RankingConfig(min_reviewed=3)  # a small city's worth of call-backs ranks its streets
#: What a ranking says of itself rather than of the store.
META = {"as_of", "seq", "stale", "stale_since"}


class Clock:
    """A clock for the figures cache: the test moves time on by a refresh period instead of waiting."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def make_ctx(settings, city, clock: Clock | None = None) -> WallContext:  # type: ignore[no-untyped-def]
    return WallContext(settings, index_of(city), cache=TTLCache(clock=clock or Clock()), ranking=CFG)


def month_history(city, start: datetime, days: int, per_day: int, until: datetime, seed: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Appeals in a dozen streets of a few districts and three departments, `per_day` a day from `start`, along
    every path the rules speak of: handled and called back, returned and re-dispatched (or not yet), reopened and
    called back again (often the next month), left open, never dispatched, re-dispatched weeks later. Events
    after `until` have not happened yet."""
    rnd = random.Random(seed)
    streets = city.streets.groupby("district")["code"].apply(lambda s: sorted(s)[:3]).explode().tolist()[:12]
    comm = {s: city.communities[city.communities["street"] == s]["code"].tolist() for s in streets}
    depts = sorted(city.units[city.units["kind"] != "street"]["code"].tolist())[:3]
    units = streets + depts
    texts: list[str] = []
    for day in range(days):
        for k in range(per_day):
            a = f"M{seed}-{day:03d}-{k}"
            street = rnd.choice(streets)
            t = start + timedelta(days=day, minutes=rnd.randint(0, 24 * 60 - 1))
            evs: list[tuple[str, datetime, dict[str, Any]]] = [("created", t, {})]

            def add(
                type_: str,
                after_min: tuple[int, int] = (10, 600),
                evs: list[tuple[str, datetime, dict[str, Any]]] = evs,
                **f: Any,
            ) -> None:
                nonlocal t
                t = t + timedelta(minutes=rnd.randint(*after_min))
                evs.append((type_, t, f))

            path = rnd.random()
            unit = street if rnd.random() < 0.8 else rnd.choice(depts)
            if path < 0.05:  # never dispatched
                pass
            else:
                add("dispatched", unit=unit)
                if path < 0.2:
                    add("returned", unit=unit)
                    if rnd.random() < 0.7:
                        unit = rnd.choice([u for u in units if u != unit])
                        add("dispatched", unit=unit)
                add("accepted", unit=unit)
                if path < 0.3:
                    add("extended", due_at=(t + timedelta(days=10)).isoformat())
                if 0.3 <= path < 0.37:  # open for weeks, then re-dispatched elsewhere
                    add("dispatched", (14 * 24 * 60, 30 * 24 * 60), unit=rnd.choice([u for u in units if u != unit]))
                elif path >= 0.37:
                    add("resolved", unit=unit)
                    good = rnd.random() < 0.75
                    add(
                        "reviewed",
                        responded=rnd.random() < 0.95,
                        resolved=good,
                        satisfaction=rnd.choice(["satisfied", "basically_satisfied"]) if good else "dissatisfied",
                    )
                    if not good and rnd.random() < 0.6:
                        add("reopened", (60, 9 * 24 * 60))
                        if rnd.random() < 0.3:
                            unit = rnd.choice(units)
                            add("dispatched", unit=unit)
                        add("resolved", unit=unit)
                        add("reviewed", responded=True, resolved=True, satisfaction="basically_satisfied")
                    add("closed")
            for i, (type_, at, f) in enumerate(evs):
                if at > until:
                    break
                if type_ == "created":
                    texts.append(created(a, at, rnd.choice(comm[street])))
                else:
                    texts.append(ev(type_, a, at, f"{a}-{i}", **f))
    return texts


# -- an independent count of the rules ---------------------------------------------------------------------
def oracle(texts: Iterable[str], ctx: WallContext, month: str, now: datetime, level: str) -> list[dict[str, Any]]:
    """The month's ranking rows counted in Python from the events by `month_share`, not by the store's SQL."""
    by_appeal: dict[str, dict[str, Any]] = {}
    for t in texts:
        e = parse_event(t)
        by_appeal.setdefault(e.appeal, {})[e.id] = e

    def counts(label: str) -> hist.Counts:
        _, start, end = screen.month_range(label, now, ctx.settings)
        cut = screen.month_cutoff(label, ctx.settings, ctx.ranking)
        out: hist.Counts = {}
        for evs in by_appeal.values():
            unit, calls = month_share(evs.values(), start, end, cut if now >= cut else None)
            if unit:
                out.setdefault(unit, hist.UnitCounts()).volume += 1
            for c in calls:
                u = out.setdefault(c.unit or "", hist.UnitCounts())
                u.reviewed += 1
                u.responded += c.responded
                u.resolved += c.resolved
                if c.satisfaction:
                    u.answers[c.satisfaction] = u.answers.get(c.satisfaction, 0) + 1
        return out

    cur = hist.tallies(counts(month), level, ctx.refs, ctx.ranking)
    prev = hist.tallies(counts(screen.previous_month(month)), level, ctx.refs, ctx.ranking)
    return [r.as_dict() for r in rank_month(cur, prev, ctx.ranking)]


def shown(ctx: WallContext, sessions, now: datetime, level: str, month: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        r = screen.rankings(s, now, ctx, level, month)
    return {k: v for k, v in r.items() if k not in META}


def assert_same_as_fresh(ctx: WallContext, settings, city, sessions, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Every level's ranking of this month and last, as `ctx` shows them, equals a fresh context's."""
    fresh = make_ctx(settings, city)
    for level in LEVELS:
        for month in (None, screen.previous_month(screen.month_range(None, now, settings)[0])):
            assert shown(ctx, sessions, now, level, month) == shown(fresh, sessions, now, level, month), (level, month)


# -- the tests --------------------------------------------------------------------------------------------
def test_history_arriving_after_start_up(settings, rds, store, city, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """Start on an empty store, warm, then let two months of history arrive shuffled with duplicates in five
    batches: after each batch every ranking row equals a fresh computation; at the end, the rules' count too."""
    engine, sessions, _ = store
    clock = Clock()
    ctx = make_ctx(settings, city, clock)
    screen.warm(sessions, ctx, NOW)
    assert all(r["volume"] == 0 for r in shown(ctx, sessions, NOW, "street")["rows"])
    texts = month_history(city, datetime(2026, 9, 28, tzinfo=TZ), 54, 7, NOW, seed=5)
    feed = texts + random.Random(1).sample(texts, len(texts) // 8)  # duplicates
    random.Random(2).shuffle(feed)
    worker = IngestWorker(settings, rds, sessions, engine, gazetteer, consumer="w1")
    worker.ensure_groups()
    projector = Projector(settings, sessions)
    step = len(feed) // 5 + 1
    for i in range(0, len(feed), step):
        pipe = rds.pipeline(transaction=False)
        for t in feed[i : i + step]:
            pipe.xadd(settings.stream("events"), {"event": t})
        pipe.execute()
        while worker.step():
            pass
        projector.drain()
        clock.advance(settings.slow_panel_s)  # the next refresh of the rankings
        assert_same_as_fresh(ctx, settings, city, sessions, NOW)
        with sessions() as s:
            hot = screen.hotspots(s, NOW, View(), ctx)
        with sessions() as s:
            assert hot == screen.hotspots(s, NOW, View(), make_ctx(settings, city))
    assert rds.xlen(settings.stream("events:dead")) == 0
    for level in ("street", "district"):
        for month in ("2026-11", "2026-10"):
            got = shown(ctx, sessions, NOW, level, month)
            assert got["rows"] == oracle(texts, ctx, month, NOW, level), (level, month)
            assert got["final"] == (month == "2026-10")
    nov = {r["code"]: r for r in shown(ctx, sessions, NOW, "street", "2026-11")["rows"]}
    assert sum(r["rank"] is not None for r in nov.values()) >= 8 and sum(r["volume"] for r in nov.values()) > 80
    # October again, as it stood on November 2nd: provisional, volumes with the units handling the appeals now
    oct_early = shown(ctx, sessions, EARLY, "street", "2026-10")
    assert not oct_early["final"] and oct_early["provisional_until"] == "2026-11-04T00:00:00+08:00"
    assert oct_early["rows"] == oracle(texts, ctx, "2026-10", EARLY, "street")


def _put(sessions, settings, gazetteer, texts: list[str], received: datetime | None = None) -> None:  # type: ignore[no-untyped-def]
    put_events(sessions, texts, settings, gazetteer, received)


def _volume(ctx: WallContext, sessions, now: datetime, month: str, code: str) -> int:  # type: ignore[no-untyped-def]
    return next(r["volume"] for r in shown(ctx, sessions, now, "street", month)["rows"] if r["code"] == code)


def test_redispatch_moves_volume_by_the_rules(settings, store, city, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """A re-dispatch moves a past day's volume at the next refresh while the month is provisional; a final
    month keeps the unit at its cut-off unless the re-dispatch is dated before it."""
    _, sessions, _ = store
    s1, s2 = city.streets["code"].tolist()[:2]
    comm = city.communities[city.communities["street"] == s1].iloc[0]["code"]
    at = lambda text: datetime.fromisoformat(text)  # noqa: E731
    texts = []
    for a, when in (
        ("P", "2026-10-10T09:00:00+08:00"),
        ("Q", "2026-11-03T09:00:00+08:00"),
        ("R", "2026-10-12T09:00:00+08:00"),
    ):
        texts += [created(a, at(when), comm), ev("dispatched", a, at(when) + timedelta(hours=1), f"{a}-d", unit=s1)]
    _put(sessions, settings, gazetteer, texts)
    clock = Clock()
    ctx = make_ctx(settings, city, clock)
    for now in (NOW, EARLY):
        screen.warm(sessions, ctx, now)
    assert (_volume(ctx, sessions, NOW, "2026-11", s1), _volume(ctx, sessions, NOW, "2026-10", s1)) == (1, 2)

    def later(*events: str, now: datetime = NOW) -> None:
        _put(sessions, settings, gazetteer, list(events))
        clock.advance(settings.slow_panel_s)
        assert_same_as_fresh(ctx, settings, city, sessions, now)

    # Q, created on a past day of this month, re-dispatched: this month's volume moves
    later(ev("returned", "Q", at("2026-11-19T09:00:00+08:00"), "Q-r", unit=s1))
    assert (_volume(ctx, sessions, NOW, "2026-11", s1), _volume(ctx, sessions, NOW, "2026-11", s2)) == (0, 0)
    later(ev("dispatched", "Q", at("2026-11-19T10:00:00+08:00"), "Q-d2", unit=s2))
    assert (_volume(ctx, sessions, NOW, "2026-11", s1), _volume(ctx, sessions, NOW, "2026-11", s2)) == (0, 1)
    # R, last month's, re-dispatched on November 1st: October is provisional on the 2nd, so it moves
    later(ev("dispatched", "R", at("2026-11-01T10:00:00+08:00"), "R-d2", unit=s2), now=EARLY)
    assert (_volume(ctx, sessions, EARLY, "2026-10", s1), _volume(ctx, sessions, EARLY, "2026-10", s2)) == (1, 1)
    # P re-dispatched on the 19th: October is final since the 4th and keeps P with s1 ...
    later(ev("dispatched", "P", at("2026-11-19T10:00:00+08:00"), "P-d2", unit=s2))
    assert (_volume(ctx, sessions, NOW, "2026-10", s1), _volume(ctx, sessions, NOW, "2026-10", s2)) == (1, 1)
    assert _volume(ctx, sessions, EARLY, "2026-10", s2) == 2  # (as it stood on the 2nd: now with s2)
    # ... unless a re-dispatch dated before the cut-off arrives late
    later(ev("dispatched", "P", at("2026-11-03T10:00:00+08:00"), "P-d1", unit=s2))
    assert (_volume(ctx, sessions, NOW, "2026-10", s1), _volume(ctx, sessions, NOW, "2026-10", s2)) == (0, 2)


def test_callbacks_of_a_published_month_stay(settings, store, city, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """A call-back in October, a reopening and a new call-back in November: October keeps its call-back, for the
    unit that handled the appeal then, whatever the unit handling it later; late call-backs land in their day."""
    _, sessions, _ = store
    s1, s2 = city.streets["code"].tolist()[:2]
    comm = city.communities[city.communities["street"] == s1].iloc[0]["code"]
    t0 = datetime(2026, 10, 20, 9, tzinfo=TZ)
    texts = []
    for k in range(3):
        a = f"V{k}"
        texts += [
            created(a, t0 + timedelta(minutes=k), comm),
            ev("dispatched", a, t0 + timedelta(hours=1), f"{a}-d", unit=s1),
            ev("resolved", a, t0 + timedelta(days=1), f"{a}-s", unit=s1),
            ev(
                "reviewed",
                a,
                t0 + timedelta(days=2),
                f"{a}-v",
                responded=True,
                resolved=False,
                satisfaction="dissatisfied",
            ),
        ]
    _put(sessions, settings, gazetteer, texts)
    clock = Clock()
    ctx = make_ctx(settings, city, clock)
    screen.warm(sessions, ctx, NOW)
    before = shown(ctx, sessions, NOW, "street", "2026-10")
    nov = datetime(2026, 11, 5, 9, tzinfo=TZ)
    later = []
    for k in range(3):
        a = f"V{k}"
        later += [
            ev("reopened", a, nov, f"{a}-o"),
            ev("dispatched", a, nov + timedelta(hours=1), f"{a}-d2", unit=s2),
            ev("resolved", a, nov + timedelta(days=1), f"{a}-s2", unit=s2),
            ev(
                "reviewed",
                a,
                nov + timedelta(days=2),
                f"{a}-v2",
                responded=True,
                resolved=True,
                satisfaction="satisfied",
            ),
        ]
    _put(sessions, settings, gazetteer, later)
    clock.advance(settings.slow_panel_s)
    after = shown(ctx, sessions, NOW, "street", "2026-10")
    assert after["rows"] == before["rows"]
    row = {r["code"]: r for r in after["rows"]}[s1]
    assert (row["reviewed"], row["resolution"], row["volume"], row["rank"]) == (3, 0.0, 3, 1)
    nov_rows = {r["code"]: r for r in shown(ctx, sessions, NOW, "street", "2026-11")["rows"]}
    assert (nov_rows[s2]["reviewed"], nov_rows[s2]["resolution"], nov_rows[s1]["reviewed"]) == (3, 1.0, 0)
    # a call-back dated in October that arrives late changes October (its day), as a replay would
    _put(
        sessions,
        settings,
        gazetteer,
        [
            ev(
                "reviewed",
                "V0",
                t0 + timedelta(days=3),
                "V0-late",
                responded=True,
                resolved=True,
                satisfaction="satisfied",
            )
        ],
    )
    clock.advance(settings.slow_panel_s)
    assert {r["code"]: r for r in shown(ctx, sessions, NOW, "street", "2026-10")["rows"]}[s1]["reviewed"] == 4
    assert_same_as_fresh(ctx, settings, city, sessions, NOW)


def test_exact_ties_through_the_store(settings, store, city, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """Two streets scoring exactly 65 (as floats 65.00000000000001 and 65.0): the one with more call-backs first."""
    _, sessions, _ = store
    s1, s2 = sorted(city.streets["code"].tolist())[:2]  # s1's code sorts first: the call-backs must decide
    texts = []
    t0 = datetime(2026, 11, 10, 9, tzinfo=TZ)
    # s1: 20 call-backs, 15 responded, 10 resolved, 15 satisfied; s2: 24, 20, 14, 15
    for st, n, resp, res, sat in ((s1, 20, 15, 10, 15), (s2, 24, 20, 14, 15)):
        comm = city.communities[city.communities["street"] == st].iloc[0]["code"]
        for k in range(n):
            a = f"{st}-{k}"
            t = t0 + timedelta(minutes=k)
            texts += [
                created(a, t, comm),
                ev("dispatched", a, t, f"{a}-d", unit=st),
                ev("resolved", a, t + timedelta(hours=1), f"{a}-s", unit=st),
                ev(
                    "reviewed",
                    a,
                    t + timedelta(hours=2),
                    f"{a}-v",
                    responded=k < resp,
                    resolved=k < res,
                    satisfaction="satisfied" if k < sat else "dissatisfied",
                ),
            ]
    _put(sessions, settings, gazetteer, texts)
    rows = shown(make_ctx(settings, city), sessions, NOW, "street", "2026-11")["rows"]
    assert [(r["code"], r["rank"], r["composite"]) for r in rows[:2]] == [(s2, 1, 65.0), (s1, 2, 65.0)]


@pytest.mark.parametrize(
    "later, expect_created, expect_reviewed",
    [
        ([("accepted", "11-03 12:00", {"unit": "S1"})], [], []),  # the same unit: nothing changes
        ([("resolved", "11-04 09:00", {"unit": "S1"})], [], []),
        ([("closed", "11-09 09:00", {}), ("extended", "11-03 12:00", {"due_at": "2026-11-30T00:00:00+08:00"})], [], []),
        ([("returned", "11-03 12:00", {"unit": "S1"})], ["11-03"], ["11-08"]),  # unit cleared: volume, later call-back
        ([("dispatched", "11-06 09:00", {"unit": "S2"})], ["11-03"], ["11-08"]),
        ([("dispatched", "11-09 09:00", {"unit": "S2"})], ["11-03"], []),  # after the call-back: its unit stays
        (
            [("reviewed", "10-31 09:00", {"responded": True, "resolved": True, "satisfaction": "satisfied"})],
            [],
            ["10-31"],
        ),
        ([("created", "11-01 09:00", {})], ["11-01", "11-03"], []),  # an earlier duplicate `created` moves the appeal
    ],
)
def test_what_a_late_event_changes(settings, store, city, gazetteer, later, expect_created, expect_reviewed) -> None:  # type: ignore[no-untyped-def]
    """`touched` names the days whose aggregates events logged after a mark can have changed, and no others."""
    _, sessions, _ = store
    units = {"S1": city.streets["code"].iloc[0], "S2": city.streets["code"].iloc[1]}
    comm = city.communities[city.communities["street"] == units["S1"]].iloc[0]["code"]
    at = lambda md: datetime.fromisoformat(f"2026-{md}:00+08:00")  # noqa: E731
    fields = lambda f: {k: units.get(v, v) if k == "unit" else v for k, v in f.items()}  # noqa: E731
    base = [
        created("X", at("11-03 09:00"), comm),
        ev("dispatched", "X", at("11-03 10:00"), "X-d", unit=units["S1"]),
        ev("resolved", "X", at("11-05 10:00"), "X-s", unit=units["S1"]),
        ev("reviewed", "X", at("11-08 10:00"), "X-v", responded=True, resolved=True, satisfaction="satisfied"),
    ]
    _put(sessions, settings, gazetteer, base)
    with sessions() as s:
        mark = hist.folded_seq(s)
    texts = [
        ev(t, "X", at(w), f"X-late{i}", **fields(f)) if t != "created" else created("X", at(w), comm)
        for i, (t, w, f) in enumerate(later)
    ]
    _put(sessions, settings, gazetteer, texts)
    with sessions() as s:
        got = hist.touched(s, mark, hist.folded_seq(s))
    day = lambda ts: sorted({t.astimezone(TZ).strftime("%m-%d") for t in ts})  # noqa: E731
    assert (day(got.created), day(got.reviewed)) == (expect_created, expect_reviewed)


def test_a_ranking_behind_the_log_says_since_when(settings, rds, store, city, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """Events logged but not folded for longer than a refresh: the ranking is stale since the first of them, and the
    API's rankings are not fresh; once folded and refreshed, they count and all is fresh again."""
    from app import create_app

    _, sessions, _ = store
    st = city.streets["code"].iloc[0]
    comm = city.communities[city.communities["street"] == st].iloc[0]["code"]
    now = datetime.now(UTC)
    fast = settings.model_copy(update={"slow_panel_s": 1})
    app = create_app(services(fast, store, city, rds, "redis://127.0.0.1:6379/0"))
    client = app.server.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {display_token(sessions)}"
    first = client.get("/api/v1/rankings").get_json()
    assert first["rankings"]["stale"] is False and first["rankings"]["provisional_until"]
    texts = [created(f"L{k}", now - timedelta(hours=2, minutes=k), comm) for k in range(4)]
    texts += [ev("dispatched", f"L{k}", now - timedelta(hours=1), f"L{k}-d", unit=st) for k in range(4)]
    received = now - timedelta(minutes=5)
    evs = [parse_event(t) for t in texts]
    items = [
        Accepted(e, t, f"0-{i}", p if not isinstance(p, str) else None)
        for i, (e, t, p) in enumerate(zip(evs, texts, gazetteer.place_events(evs)))
    ]
    with sessions() as s, s.begin():
        store_events(s, items, received)  # logged five minutes ago, not folded
    body = client.get("/api/v1/rankings").get_json()
    assert body["rankings"]["stale"] is True and body["status"]["fresh"] is False
    assert datetime.fromisoformat(body["rankings"]["stale_since"]) == received
    assert body["status"]["rankings_stale_since"] == body["rankings"]["stale_since"]
    notes = ranking_notes(body["rankings"], TZ, "zh")  # what the wall's ranking panel says under the table
    assert (
        notes[0].startswith("暂定排名")
        and notes[1].startswith("排名滞后")
        and received.astimezone(TZ).strftime("%m-%d %H:%M") in notes[1]
    )
    Projector(fast, sessions).drain()
    ctx = make_ctx(fast, city)
    with sessions() as s:
        direct = screen.rankings(s, now, ctx, "street")
    assert direct["stale"] is False and {r["code"]: r for r in direct["rows"]}[st]["volume"] == 4
    with sessions() as s:
        seq = s.scalar(select(AppealEvent.seq).order_by(AppealEvent.seq.desc()).limit(1))
    assert direct["seq"] == seq


def test_spans_read_together_equal_each_read_alone(settings, store, city, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """A month's days read in one statement (`volumes_by`, `reviews_by`: what a cold month costs) give each day
    what that day's own statement gives, in the order asked, with and without a cut-off; overlapping spans are
    refused rather than counted twice."""
    _, sessions, _ = store
    start = datetime(2026, 10, 20, tzinfo=TZ)
    _put(sessions, settings, gazetteer, month_history(city, start, 20, 12, NOW, seed=5))
    days = [(start + timedelta(days=k), start + timedelta(days=k + 1)) for k in range(20)]
    random.Random(3).shuffle(days)
    cut = datetime(2026, 11, 4, tzinfo=TZ)
    with sessions() as s:
        together = hist.reviews_by(s, days)
        assert together == [hist.reviews(s, a, b) for a, b in days]
        assert sum(c.reviewed for day in together for c in day.values()) > 50
        for at in (None, cut):
            vols = hist.volumes_by(s, days, at)
            assert vols == [hist.volumes(s, a, b, at) for a, b in days]
            whole = hist.volumes(s, start, start + timedelta(days=20), at)
            assert hist.merge(*vols) == whole and sum(c.volume for c in whole.values()) > 100
        comms = hist.community_counts_by(s, days)
        assert comms == [hist.community_counts(s, a, b) for a, b in days] and any(comms)
        some = sorted({c for day in comms for c in day})[::2]
        assert hist.community_counts_by(s, days, some) == [{c: n for c, n in d.items() if c in some} for d in comms]
        assert hist.community_counts_by(s, days, []) == [{} for _ in days]
        with pytest.raises(ValueError, match="overlap"):
            hist.volumes_by(s, [days[0], (days[0][0] + timedelta(hours=1), days[0][1] + timedelta(hours=1))])
