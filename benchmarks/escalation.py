"""One pass of the escalation engine on a big store (goal: median <= 50 ms over 1,000,000 appeals, 50,000 open),
and how long a threshold crossing waits before its message is queued (goal: <= 60 s).

The store is filled by benchmarks/fill_store.py (its `now` is when it was filled). The script first gives some
open appeals returns and reopenings (as a live store has: the count triggers' candidates), runs one settling
pass (the counts' cases, which a live engine would have opened long ago), then measures passes in steady state:
each pass at `now` + k × ESCALATION_INTERVAL_S, as the engine's loop runs them, so each pass meets the
crossings of one interval (about a dozen at 40,000 appeals a day) and records their steps and messages. The
crossing-to-queued figure is the interval plus the pass's time (a crossing just after a pass waits for the
next one). On PostgreSQL a few more passes then count the round trips of a pass to the server: the answers
libpq's trace shows (ReadyForQuery: one per statement, BEGIN, COMMIT, ROLLBACK) plus the pool's pre-ping of each
checkout; these passes are traced, so they are not timed. Usage:

    python benchmarks/fill_store.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema esc1m
    python benchmarks/escalation.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema esc1m
    python benchmarks/escalation.py --url sqlite:////tmp/esc1m.sqlite
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, event, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fill_store import schema_url
from dashboard.settings import load_settings
from data_access.notify.tables import Delivery
from data_access.store.engine import make_engine, make_sessionmaker, migrate
from data_access.store.models import (
    Appeal,
    EscalationPass,
    EscalationStep,
    SupervisionAction,
    SupervisionCase,
)
from data_access.supervision.engine import PASS_NAME, Escalator
from geo.contacts import FixedRoster, check_roster
from geo.demo_city import load_demo_city
from geo.synth_contacts import build_contacts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--schema", default=None)
    ap.add_argument("--passes", type=int, default=40)
    ap.add_argument("--traced", type=int, default=5, help="passes after the timed ones whose round trips are counted")
    ap.add_argument("--var-dir", default=str(Path(__file__).resolve().parent.parent / "var" / "test-cache"))
    args = ap.parse_args(argv)
    engine = make_engine(schema_url(args.url, args.schema))
    migrate(engine)  # the store may have been filled before migration 0015
    sessions = make_sessionmaker(engine)
    city = load_demo_city(Path(args.var_dir), 12345)
    roster = FixedRoster(check_roster(build_contacts(city), city, Path("<demo contacts>")))
    settings = load_settings(
        var_dir=Path(args.var_dir), demo=False, notify_smtp_host="127.0.0.1", notify_smtp_from="cc@example.invalid"
    )
    interval = timedelta(seconds=settings.escalation_interval_s)
    pg = engine.dialect.name == "postgresql"

    with sessions() as s, s.begin():  # start clean: the benchmark's own rows of an earlier run go
        for table in (EscalationStep, EscalationPass, SupervisionCase, SupervisionAction, Delivery):
            s.execute(delete(table))
        # about 3 % of open appeals returned or reopened once, a third of those twice (the count triggers)
        every = 33
        mod = "mod(abs(hashtext(id)), {n})" if pg else "abs(random()) % {n}"
        s.execute(
            text(
                f"UPDATE appeals SET return_count = CASE WHEN {mod.format(n=3)} = 0 THEN 2 ELSE 1 END "
                f"WHERE is_open AND {mod.format(n=every)} = 0"
                if pg
                else f"UPDATE appeals SET return_count = CASE WHEN {mod.format(n=3)} = 0 THEN 2 ELSE 1 END "
                f"WHERE is_open = 1 AND {mod.format(n=every)} = 0"
            )
        )
        total = s.scalar(select(func.count()).select_from(Appeal))
        n_open = s.scalar(select(func.count()).select_from(Appeal).where(Appeal.is_open))
        counted = s.scalar(select(func.count()).select_from(Appeal).where(Appeal.is_open, Appeal.return_count > 0))
        start = s.scalar(select(func.max(Appeal.created_at)))
    if pg:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE appeals")
    assert start is not None
    now = start + timedelta(minutes=1)
    esc = Escalator(settings, sessions, city, roster)
    with sessions() as s, s.begin():
        s.add(EscalationPass(name=PASS_NAME, passed_at=now - interval))
    t = time.perf_counter()
    settle = esc.run_pass(now=now)
    print(
        f"settling pass: {settle.candidates} candidates, {settle.fired} steps, {settle.cases} cases, "
        f"{settle.queued} messages in {(time.perf_counter() - t) * 1000:.0f} ms"
    )
    times, cpu, fired, queued, candidates = [], [], 0, 0, 0
    load = os.getloadavg()
    for k in range(1, args.passes + 1):
        c0 = time.process_time()
        r = esc.run_pass(now=now + k * interval)
        cpu.append((time.process_time() - c0) * 1000)
        times.append(r.seconds * 1000)
        fired += r.fired
        queued += r.queued
        candidates += r.candidates
    trips = count_round_trips(engine, esc, now + (args.passes + 1) * interval, interval, args.traced) if pg else []
    med = statistics.median(times)
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    print(f"machine: {platform.processor() or platform.machine()}, {engine.dialect.name}")
    print(f"store: {total:,} appeals, {n_open:,} open, {counted:,} open and returned")
    print(
        f"{args.passes} passes {settings.escalation_interval_s:g} s apart: {candidates} candidates, {fired} steps, "
        f"{queued} messages queued"
    )
    print(f"pass time: median {med:.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms (goal: median <= 50 ms)")
    print(
        f"CPU of this process per pass: median {statistics.median(cpu):.1f} ms; load average at the start "
        f"{load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on {os.cpu_count()} CPUs"
    )
    if trips:
        print(f"round trips to the server per pass ({len(trips)} traced passes): {trips}")
    print(
        f"crossing to queued message: at most interval + pass = {settings.escalation_interval_s:g} s + "
        f"{max(times) / 1000:.2f} s = {settings.escalation_interval_s + max(times) / 1000:.1f} s (goal: <= 60 s)"
    )
    with sessions() as s, s.begin():  # leave the store as filled
        for table in (EscalationStep, EscalationPass, SupervisionCase, SupervisionAction, Delivery):
            s.execute(delete(table))
        s.execute(text("UPDATE appeals SET return_count = 0 WHERE return_count > 0"))
    engine.dispose()
    return 0


def count_round_trips(engine: Engine, esc: Escalator, start: Any, interval: timedelta, passes: int) -> list[int]:
    """Round trips of each of `passes` passes: libpq's trace of every connection checked out meanwhile (the answers
    the server sent: ReadyForQuery), plus one pre-ping per checkout (it runs before the checkout event)."""
    import psycopg

    path = Path(tempfile.mkstemp(prefix="esc-trace-")[1])
    checkouts = [0]

    def out(dbapi: Any, record: Any, _proxy: Any) -> None:
        checkouts[0] += 1
        f = record.info["trace"] = path.open("a")
        dbapi.pgconn.trace(f.fileno())
        dbapi.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    def back(dbapi: Any, record: Any) -> None:
        f = record.info.pop("trace", None)
        if f is not None:
            dbapi.pgconn.untrace()  # flushes libpq's buffer
            f.close()

    event.listen(engine, "checkout", out)
    event.listen(engine, "checkin", back)
    counts = []
    try:
        for k in range(passes):
            path.write_text("")
            checkouts[0] = 0
            esc.run_pass(now=start + k * interval)
            answers = sum(1 for line in path.read_text().splitlines() if "\tReadyForQuery" in line)
            counts.append(answers + checkouts[0])
    finally:
        event.remove(engine, "checkout", out)
        event.remove(engine, "checkin", back)
        path.unlink()
    return counts


if __name__ == "__main__":
    sys.exit(main())
