"""(a) Server time of one full wall tick, and (b) bytes a steady-state tick sends, on a big store.

The tick measured is the registered callback's function itself (callbacks/wall.make_tick): the
snapshot of every live panel (data_access/wall/snapshot.take_snapshot), rendering, and the diff against
what the browser shows. Between ticks the store changes as a live one does at 40,000 appeals a day
(3 new appeals, 2 closed per 5 s tick). Presence is refreshed first (55 % of the roster fresh).
Fill the store with benchmarks/fill_store.py. Usage:

    python benchmarks/tick.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema bench1m
    python benchmarks/tick.py --url sqlite:////tmp/bench1m.sqlite
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import flask
import numpy as np
from sqlalchemy import func, insert, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from benchmarks.fill_store import frame, schema_url
from callbacks.wall import make_tick, tick_answer
from dashboard.scopes import Scope
from dashboard.settings import load_settings
from data_access.accounts.sessions import Identity
from data_access.store.engine import make_engine, make_sessionmaker
from data_access.store.models import Appeal, AppealEvent, Presence
from data_access.wall.snapshot import WallContext
from geo.city_index import index_of
from geo.demo_city import load_demo_city


def response_bytes(values: list[object]) -> int:
    """Bytes of the JSON body the tick route sends for these outputs (outputs not to update are left out)."""
    return len(tick_answer(list(values)))


def refresh_presence(sessions, city, now: datetime, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    """Every member's latest heartbeat: 55 % fresh (on duty / busy / a few SOS), the rest old."""
    ids_ = city.members["id"].to_numpy()
    fresh = rng.random(len(ids_)) < 0.55
    ages = np.where(fresh, rng.uniform(0, 200, len(ids_)), rng.uniform(600, 86400, len(ids_)))
    states = np.where(rng.random(len(ids_)) < 0.1, "busy", "on_duty")
    states[rng.choice(len(ids_), 3, replace=False)] = "sos"
    rows = [
        {"member": m, "state": s, "at": now - timedelta(seconds=float(a)), "lon": None, "lat": None, "received_at": now}
        for m, s, a in zip(ids_, states, ages)
    ]
    with sessions() as s, s.begin():
        s.execute(Presence.__table__.delete())
        for i in range(0, len(rows), 5000):
            s.execute(insert(Presence), rows[i : i + 5000])
    # A live presence table is rewritten by heartbeats all day and kept vacuumed and analysed by
    # autovacuum; after this bulk rewrite (81,891 dead rows a run on PostgreSQL) do it now, or the
    # planner works from no statistics and reads dead index entries.
    engine = sessions.kw["bind"]
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE presence")
        else:
            conn.exec_driver_sql("ANALYZE presence")
            conn.commit()


def mark_received(sessions, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """One event row received now, so the feed counts as live."""
    with sessions() as s, s.begin():
        s.execute(AppealEvent.__table__.delete().where(AppealEvent.id.like("bench-%")))
        s.execute(
            insert(AppealEvent),
            [
                {
                    "id": f"bench-{now.timestamp()}",
                    "appeal": "bench",
                    "type": "created",
                    "at": now,
                    "payload": "{}",
                    "source": "0-0",
                    "received_at": now,
                }
            ],
        )


def churn(sessions, city, now: datetime, k: int, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    """A live store's change between two ticks: 3 new appeals, 2 closed; the feed marked live."""
    df = frame(3, 0, now, 1 / 86400, city, rng)
    df["id"] = [f"C{now.timestamp():.3f}-{i}" for i in range(3)]
    df["is_open"], df["status"] = True, "accepted"
    for c in ("resolved_at", "closed_at", "reviewed_at", "responded", "resolved_flag", "satisfaction"):
        df[c] = None
    df["reviewed"] = False
    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    for r in rows:
        for c in (
            "created_at",
            "clock_start",
            "due_at",
            "yellow_from",
            "red_from",
            "first_dispatched_at",
            "last_event_at",
        ):
            r[c] = r[c].to_pydatetime(warn=False).replace(tzinfo=UTC)
    with sessions() as s, s.begin():
        s.execute(insert(Appeal), rows)
        victims = s.scalars(
            select(Appeal.id)
            .where(Appeal.is_open.is_(True))
            .order_by(Appeal.created_at)
            .offset(int(rng.integers(0, 1000)))
            .limit(2)
        ).all()
        s.execute(
            update(Appeal)
            .where(Appeal.id.in_(victims))
            .values(is_open=False, status="closed", closed_at=now, resolved_at=now)
        )
    mark_received(sessions, now)


def main(argv: list[str] | None = None) -> int:
    """Run warm-up and measured ticks; print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--schema", default=None)
    ap.add_argument("--ticks", type=int, default=60)
    ap.add_argument("--view", default="city", help="city, d:CODE or s:CODE")
    ap.add_argument("--var-dir", default=str(Path(__file__).resolve().parent.parent / "var" / "test-cache"))
    args = ap.parse_args(argv)
    url = schema_url(args.url, args.schema)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    city = load_demo_city(Path(args.var_dir), 12345)
    settings = load_settings(var_dir=Path(args.var_dir), demo=False, database_url=args.url)
    ctx = WallContext(settings, index_of(city))
    svc = SimpleNamespace(settings=settings, sessions=sessions)
    tick = make_tick(svc, ctx)  # type: ignore[arg-type]
    # The tick runs inside a request whose identity the sign-in guard resolved: a command-center display's.
    request = flask.Flask("bench").test_request_context()
    request.push()
    flask.g.identity = Identity("bench", Scope("command_center"), "display")
    flask.g.services = svc
    rng = np.random.default_rng(7)
    now = datetime.now(UTC)
    refresh_presence(sessions, city, now, rng)
    with sessions() as s, s.begin():
        s.execute(Appeal.__table__.delete().where(Appeal.id.like("C%")))  # churn rows of earlier runs
    mark_received(sessions, now)
    with sessions() as s:
        total = s.scalar(select(func.count()).select_from(Appeal))
        n_open = s.scalar(select(func.count()).select_from(Appeal).where(Appeal.is_open.is_(True)))
    search = "" if args.view == "city" else f"?view={args.view}"
    t0 = time.perf_counter()
    out = tick(0, "/wall", search, None, args.view)
    cold = time.perf_counter() - t0
    gc.collect()
    gc.freeze()  # as the app does once warm (data_access/ops/warm.start_warm)
    first_bytes = response_bytes(out)
    shown = out[-2]
    times, sizes = [], []
    for k in range(args.ticks):
        churn(sessions, city, datetime.now(UTC), k, rng)
        t0 = time.perf_counter()
        out = tick(k + 1, "/wall", search, shown, args.view)
        times.append(time.perf_counter() - t0)
        shown = out[-2]
        sizes.append(response_bytes(out))
    ms = sorted(t * 1000 for t in times)
    print(f"store: {engine.dialect.name} {args.schema or url}  appeals: {total:,}  open: {n_open:,}  view: {args.view}")
    print(
        f"machine: {platform.node()} {platform.machine()} {platform.python_version()}"
        f"  cpus: {len(__import__('os').sched_getaffinity(0))}"
    )
    print(f"cold first tick (history aggregates built): {cold * 1000:.0f} ms, {first_bytes:,} bytes")
    print(
        f"steady ticks: n={len(ms)} median {statistics.median(ms):.1f} ms  p90 {ms[int(len(ms) * 0.9) - 1]:.1f} ms"
        f"  max {ms[-1]:.1f} ms"
    )
    print(f"bytes per steady tick: median {statistics.median(sizes):,.0f}  max {max(sizes):,}")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
