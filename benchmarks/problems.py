"""High-frequency problems, space-time hotspots and topics: speed on a big store, and detection on planted events.

(a) Speed. A PostgreSQL (or SQLite) store is filled (benchmarks/fill_store.py's rows) with `--appeals` appeals over
    the last 25 days plus `--topic-appeals` heating appeals spread over three years. Measured: the problems and
    hotspot analysis the API answers (/api/v1/problems: problems of cat3 x street, 每月一题 candidates,
    the space-time scan with its evidence) cold (fresh caches) and again once the per-day aggregates are kept;
    defining a topic over the whole store (tagging every past appeal); a topic's monitoring over 3 years
    (half-monthly series, rates, worst streets, map).
(b) Detection, on the demo city's 7,380 communities at Beijing's volume (40,000 a day, each community's share
    skewed as in fill_store, day-of-week shape): Poisson days drawn for 35 days of history and 28 judged days;
    planted on some judged days a cluster of three adjacent communities (+3 appeals a day each, over 3 days)
    and from judged day 8 on a slow rise of one category in one district (+6 % a day). For each judged day the
    scan (7-day windows) and the problems rule (cat x district, week against expected) are run as the server
    runs them; found = the planted event is reported, false alarm = anything reported on a day, or in a place,
    with nothing planted.

    python benchmarks/problems.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema bench_problems \\
        [--reuse]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fill_store import copy_pg, events, frame, insert_sqlite, schema_url
from dashboard.count_model import CountModel, History, expected, share, weekday_factors
from dashboard.problems import ProblemRule, problems
from dashboard.scan import ScanRule, neighbours, scan
from dashboard.scopes import Scope
from dashboard.settings import load_settings
from dashboard.topics import TopicSpec
from data_access.intake.reference_data import load_reference
from data_access.problems import analysis
from data_access.store.engine import make_engine, make_sessionmaker, migrate
from data_access.store.models import DayAggregate, DayAggregateMark, ProjectionCheckpoint, Topic
from data_access.topics import monitor
from data_access.topics.tagging import define
from data_access.wall.day_cache import DayCache
from data_access.wall.day_store import DayStore
from data_access.wall.snapshot import WallContext
from geo.city_index import index_of
from geo.demo_city import load_demo_city

VAR = Path(__file__).resolve().parent.parent / "var" / "test-cache"
VERBOSE = False
#: Extra appeals a day in each of the three planted communities.
PLANT = 5


def fill(url: str, schema: str | None, n: int, topic_n: int, city: Any, reuse: bool = False) -> Any:
    """A fresh store: n appeals over 25 days and topic_n heating appeals over 3 years (`reuse`: the store a
    previous run filled, as it is, when it holds that many appeals)."""
    if reuse:
        engine = make_engine(schema_url(url, schema))
        try:
            with engine.connect() as conn:
                have = conn.exec_driver_sql("SELECT count(*) FROM appeals").scalar()
        except Exception:  # noqa: BLE001 - no such store yet: fill one
            have = None
        if have == n + topic_n:
            migrate(engine)  # to the head: the store may come from an older version
            conn = engine.connect()
            conn.exec_driver_sql("DELETE FROM topic_appeals")
            conn.exec_driver_sql("DELETE FROM topics")
            conn.commit()
            conn.close()
            print(f"reusing the store's {have:,} appeals", flush=True)
            return engine
        engine.dispose()
    if schema:
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
    elif url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).unlink(missing_ok=True)
    engine = make_engine(schema_url(url, schema))
    migrate(engine)
    with make_sessionmaker(engine)() as s, s.begin():
        load_reference(s, city)
    now = datetime.now(UTC)
    rng = np.random.default_rng(7)
    put = copy_pg if engine.dialect.name == "postgresql" else insert_sqlite
    t0 = time.perf_counter()
    for start in range(0, n, 200_000):
        df = frame(min(200_000, n - start), start, now, 25.0, city, rng)
        put(engine, df)
        put(engine, events(df, now), "appeal_events")  # the call-backs problems and topics read
    for start in range(0, topic_n, 200_000):
        df = frame(min(200_000, topic_n - start), 50_000_000 + start, now, 3 * 365.0, city, rng)
        df["cat1"], df["cat2"], df["cat3"] = "供暖", "供热", "暖气不热"
        df["summary"] = "家里暖气不热，室温只有十几度"
        put(engine, df)
        put(engine, events(df, now), "appeal_events")
    with engine.begin() as conn:  # every event in the log is folded (as fill_store leaves it)
        last = conn.exec_driver_sql("SELECT max(seq) FROM appeal_events").scalar() or 0
        conn.execute(delete(ProjectionCheckpoint))
        row = {"partition": 0, "partitions": 1, "position": last, "updated_at": now}
        conn.execute(insert(ProjectionCheckpoint), [row])
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            auto.exec_driver_sql("VACUUM ANALYZE appeals")
            auto.exec_driver_sql("VACUUM ANALYZE appeal_events")
        else:
            conn.exec_driver_sql("ANALYZE")
    print(f"filled {n:,} + {topic_n:,} appeals in {time.perf_counter() - t0:.0f} s", flush=True)
    return engine


def timed(label: str, f: Any) -> Any:
    """Run f, printing its wall time and this process's CPU time (what an idle machine's wall time would be
    near, leaving out the database server's share)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = f()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"  {label:<66} {wall:6.2f} s wall, {cpu:5.2f} s CPU", flush=True)
    return out


def speed(engine: Any, city: Any) -> None:
    """(a): the API's analysis cold and warm, a topic's definition and monitoring."""
    settings = load_settings(var_dir=str(VAR), demo=False)
    sessions = make_sessionmaker(engine)
    refs = index_of(city)
    now = datetime.now(UTC)

    def analyse(ctx: WallContext) -> dict[str, Any]:
        with sessions() as s:
            return {
                "problems": analysis.problem_rows(s, now, ctx, "cat3", "street"),
                "candidates": analysis.candidate_rows(s, now, ctx),
                "hotspots": analysis.scan_hotspots(s, now, ctx),
            }

    with engine.begin() as conn:  # the kept per-day aggregates start empty: their first writing is measured
        conn.execute(delete(DayAggregate))
        conn.execute(delete(DayAggregateMark))
    kept = DayStore(sessions)

    def fresh(store: DayStore | None) -> WallContext:
        """A context as a process starting now has it: empty caches (with `store`: the aggregates kept there)."""
        return WallContext(settings, refs, days=DayCache(store=store))

    ctx = fresh(None)
    body = timed("problems + candidates + scan, cold, nothing kept in the store", lambda: analyse(ctx))
    ctx.cache = type(ctx.cache)()  # the minute's cache gone, the per-day aggregates kept
    timed("problems + candidates + scan, day aggregates kept in memory", lambda: analyse(ctx))
    first = fresh(kept)
    timed("problems + candidates + scan, cold, first start: computed and kept", lambda: analyse(first))
    print(
        f"    {kept.written_days} days kept in the store ({_kept_bytes(engine):,} bytes), "
        f"encoding and writing them took {kept.write_s:.2f} s",
        flush=True,
    )
    for k in range(2):
        again = fresh(kept)
        read = kept.read_days
        got = timed(f"problems + candidates + scan, cold, read from the store ({k + 1})", lambda c=again: analyse(c))
        print(f"    {kept.read_days - read} days read from the store; same answer: {got == body}", flush=True)
    again.cache = type(again.cache)()
    timed("problems + candidates + scan, then kept in memory", lambda: analyse(again))
    print(
        f"    {len(body['problems'])} problems, {len(body['candidates'])} candidates, {len(body['hotspots'])} hotspots"
    )
    for cat, area in (("cat1", "district"), ("cat2", "street"), ("cat3", "community")):
        with sessions() as s:
            timed(f"problems {cat} x {area}", lambda c=cat, a=area: analysis.problem_rows(s, now, ctx, c, a))
    spec = TopicSpec("暖气不热", ("暖气不热",), (), (), next(iter(refs.unit_name)), date(2026, 11, 15))
    with sessions() as s, s.begin():
        topic = timed("define a topic: tag every past appeal it covers", lambda: define(s, spec, "bench"))
    if engine.dialect.name == "postgresql":  # as autovacuum does soon after a bulk insert: plans need the stats
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE topic_appeals")
    with sessions() as s:
        row = s.get(Topic, topic)
        assert row is not None
        cc = Scope("command_center")
        district = Scope("district_leader", district=sorted(refs.district_name)[0])
        for label, start in (("started 2026-11-15", row.start_date), ("started 3 years ago", date(2023, 12, 1))):
            row.start_date = start  # not written: the monitoring reads the tags, not the definition's start
            c0 = fresh(None)
            d = timed(
                f"a topic's monitoring, {label}, cold, nothing kept in the store", lambda c=c0: mon(s, row, cc, c)
            )
            timed("the same again, per-day aggregates kept in memory", lambda c=c0: mon(s, row, cc, c))
            timed("the same for a district leader", lambda c=c0: mon(s, row, district, c))
            c1, w, ws = fresh(kept), kept.written_days, kept.write_s
            timed("the same, cold, first start: computed and kept", lambda c=c1: mon(s, row, cc, c))
            print(
                f"    {kept.written_days - w} days kept in the store, encoding and writing them took "
                f"{kept.write_s - ws:.2f} s",
                flush=True,
            )
            c2, r = fresh(kept), kept.read_days
            got = timed("the same, cold, read from the store", lambda c=c2: mon(s, row, cc, c))
            print(f"    {kept.read_days - r} days read from the store; same answer: {got == d}", flush=True)
            print(f"    {len(d['halves'])} half-months since start, before mean {d['before_mean']}")
        s.rollback()
    print(f"    topic: {monitor.tagged(sessions(), topic):,} appeals")


def _kept_bytes(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM day_aggregates").scalar() or 0)


def mon(s: Any, row: Any, scope: Scope, ctx: WallContext) -> dict[str, Any]:
    """A topic's monitoring as the topic page asks for it."""
    return monitor.detail(s, row, scope, datetime.now(UTC), ctx)


# -- (b) detection ---------------------------------------------------------------------------------------------
def detection(city: Any, seed: int) -> None:
    """Planted events on Poisson days over the demo city, judged day by day as the server judges them."""
    rng = np.random.default_rng(seed)
    refs = index_of(city)
    codes = sorted(refs.community_street)
    n = len(codes)
    weight = rng.pareto(1.5, n) + 0.1
    rate = 40_000 * weight / weight.sum()  # per community per day
    dow = np.array([1.08, 1.05, 1.02, 1.0, 0.98, 0.9, 0.85])
    hist_days, judged = 35, 28
    first = date(2026, 9, 1)
    days = [first + timedelta(days=k) for k in range(hist_days + judged)]
    counts = rng.poisson(rate[None, :] * dow[[d.weekday() for d in days]][:, None])  # (day, community)
    near = neighbours(refs.community_lonlat, 6, 3.0)
    # the cluster: a quiet community and its two nearest neighbours, +PLANT a day each on judged days 10-12
    quiet = next(c for c in codes if len(near[c]) >= 2 and rate[codes.index(c)] < 3)
    planted = [quiet, *near[quiet][:2]]
    idx = [codes.index(c) for c in planted]
    c_days = range(hist_days + 10, hist_days + 13)
    for d in c_days:
        counts[d, idx] += PLANT
    # the slow rise: one category (an eighth of volume) in one district, +6 % a day compounding from judged day 8
    district = sorted(refs.district_name)[3]
    in_d = np.array([refs.community_district.get(c) == district for c in codes])
    cat_share = 0.125
    rise = np.zeros(len(days))
    base_d = rate[in_d].sum() * cat_share
    for k in range(hist_days + 8, len(days)):
        rise[k] = base_d * (1.06 ** (k - hist_days - 7) - 1)
    extra = rng.poisson(np.maximum(rise, 0))
    model = CountModel(28, 20)
    masks = _masks(refs, codes)
    names = sorted(refs.district_name)
    day_dow = dow[[d.weekday() for d in days]]
    cat_day = rng.poisson(np.outer(day_dow, [rate[m].sum() * cat_share for m in masks]))  # (day, district)
    cat_day[:, names.index(district)] += extra
    srule = ScanRule(7, 6, 3.0, 5, 2.0, load_settings(var_dir=str(VAR), demo=False).scan_min_llr)
    prule = ProblemRule(5, 1.5, 10, 3)
    found_c, alarms_c, found_r, alarms_r, first_r, first_c = 0, 0, 0, 0, None, None
    quiet_days_c, quiet_days_r = 0, 0
    for j in range(judged):
        k = hist_days + j
        window = list(range(k - 6, k + 1))
        base = list(range(k - 6 - 28, k - 6))
        hd = tuple(days[b] for b in base)
        totals = {days[b]: int(counts[b].sum()) for b in base}
        own = counts[base].sum(axis=0)
        h = History(hd, weekday_factors(totals), {"": int(own.sum())}, n)
        exp = {}
        for i, c in enumerate(codes):
            sh = share(int(own[i]), 1, h, model)
            exp[c] = [expected(int(own[i]), "", sh, [days[w]], h, model).value for w in window]  # type: ignore[union-attr]
        cnt = {c: [int(counts[w, i]) for w in window] for i, c in enumerate(codes)}
        got = scan(cnt, exp, near, srule)
        live = any(w in c_days for w in window)
        hit = [g for g in got if set(g.communities) & set(planted)]
        if live:
            found_c += bool(hit)
        else:
            quiet_days_c += 1
        alarms_c += len([g for g in got if g not in hit])
        if VERBOSE:
            others = [round(g.score, 1) for g in got if g not in hit]
            print(f"   day {j}: hit {[round(g.score, 1) for g in hit]} other {others}")
        if live and hit and first_c is None:
            first_c = j - 10
        # problems: the category in each district, week against expected
        week_c = {("X", names[i]): int(cat_day[window, i].sum()) for i in range(len(names))}
        base_c = {("X", names[i]): int(cat_day[base, i].sum()) for i in range(len(names))}
        area_t = {names[i]: int(counts[base][:, masks[i]].sum()) for i in range(len(names))}
        hc = History(hd, h.factors, {"": int(own.sum()), "X": sum(base_c.values())}, n)
        comms = {names[i]: int(masks[i].sum()) for i in range(len(names))}
        rows = problems(
            {"day": {}, "week": week_c, "month": {}, "base": base_c},
            area_t,
            comms,
            [days[w] for w in window],
            hc,
            model,
            prule,
        )
        rising = j >= 8
        hit_r = [r for r in rows if r["area"] == district]
        if rising:
            found_r += bool(hit_r)
            if hit_r and first_r is None:
                first_r = j - 8
        else:
            quiet_days_r += 1
        alarms_r += len([r for r in rows if r["area"] != district or not rising])
    live_days = sum(1 for j in range(judged) if any(hist_days + j - w in c_days for w in range(7)))
    print(
        f"  cluster of 3 adjacent communities: found on {found_c} of {live_days} days it lies in the 7-day windows, "
        f"first on burst day {None if first_c is None else first_c + 1}; false alarms: {alarms_c} over {judged} "
        f"judged days ({quiet_days_c} with nothing planted in the windows)"
    )
    print(
        f"  slow rise (+6 %/day) of one category in one district: found on {found_r} of {judged - 8} rising days, "
        f"first {first_r} days after it began; false alarms: {alarms_r} ({quiet_days_r} days before the rise)"
    )


_MASKS: dict[int, list[np.ndarray]] = {}


def _masks(refs: Any, codes: list[str]) -> list[np.ndarray]:
    key = id(refs)
    if key not in _MASKS:
        _MASKS[key] = [
            np.array([refs.community_district.get(c) == d for c in codes]) for d in sorted(refs.district_name)
        ]
    return _MASKS[key]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--schema", default="bench_problems")
    ap.add_argument("--appeals", type=int, default=1_000_000)
    ap.add_argument("--topic-appeals", type=int, default=330_000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="reuse the store a previous run filled")
    args = ap.parse_args(argv)
    print(f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}", flush=True)
    city = load_demo_city(VAR, 12345)
    if not args.skip_speed:
        print("(a) speed", flush=True)
        engine = fill(
            args.url,
            args.schema if "postgresql" in args.url else None,
            args.appeals,
            args.topic_appeals,
            city,
            args.reuse,
        )
        speed(engine, city)
        engine.dispose()
    print("(b) detection on planted events", flush=True)
    for seed in range(args.seeds):
        print(f" seed {seed}")
        detection(city, seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
