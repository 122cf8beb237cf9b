"""Report build times and memory over a filled store (benchmarks/fill_store.py): a city monthly analysis (PDF and
XLSX) and a district daily bulletin. Prints one line per build: seconds for content, PDF, XLSX, and the process's
peak RSS. Usage:

    python benchmarks/fill_store.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema rpbench1m
    python benchmarks/reports.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema rpbench1m \
        --with-reviews

fill_store.py writes appeal rows only, no event log; the rankings count call-backs from the log's `reviewed` events
(each for the unit of the latest dispatch before it). `--with-reviews` adds, in this benchmark's copy of the store
only, a `dispatched` and a `reviewed` event for every called-back appeal, taken from its row (PostgreSQL).
Each build runs in a process of its own, so its peak RSS is that build's (city model included).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fill_store import schema_url


def add_reviews(url: str) -> int:
    """A dispatched and a reviewed event per called-back appeal, from its row (PostgreSQL only)."""
    from data_access.store.engine import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM appeal_events WHERE id LIKE 'bench-%'"))
        conn.execute(
            text(
                "INSERT INTO appeal_events (id, appeal, partition_key, type, at, payload, source, received_at) "
                "SELECT 'bench-d-' || id, id, 0, 'dispatched', first_dispatched_at, "
                "json_build_object('unit', unit)::text, '0-0', first_dispatched_at FROM appeals "
                "WHERE reviewed AND unit IS NOT NULL AND first_dispatched_at IS NOT NULL"
            )
        )
        n = conn.execute(
            text(
                "INSERT INTO appeal_events (id, appeal, partition_key, type, at, payload, source, received_at) "
                "SELECT 'bench-r-' || id, id, 0, 'reviewed', reviewed_at, json_build_object('responded', "
                "coalesce(responded, false), 'resolved', coalesce(resolved_flag, false), 'satisfaction', "
                "satisfaction)::text, '0-0', reviewed_at FROM appeals "
                "WHERE reviewed AND unit IS NOT NULL AND first_dispatched_at IS NOT NULL"
            )
        ).rowcount
        conn.execute(text("ANALYZE appeal_events"))
    engine.dispose()
    return int(n)


def build(url: str, kind: str, period: str, scope: str, now_iso: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """One report's build in this process: content, PDF, XLSX; its times and the peak RSS."""
    from dashboard.reports import parse_period
    from dashboard.settings import load_settings
    from dashboard.wall import View
    from data_access.reports import content
    from data_access.reports.pdf import pdf
    from data_access.reports.xlsx import xlsx
    from data_access.store.engine import make_engine, make_sessionmaker
    from data_access.wall.snapshot import WallContext
    from geo.city_index import index_of
    from geo.demo_city import load_demo_city

    root = Path(__file__).resolve().parent.parent
    settings = load_settings(var_dir=root / "var" / "test-cache", demo=False)
    ctx = WallContext(settings, index_of(load_demo_city(root / "var" / "test-cache", 12345)))
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    with sessions() as s:
        report = content.build(s, parse_period(kind, period), View.parse(scope), datetime.fromisoformat(now_iso), ctx)
    t1 = time.perf_counter()
    p = pdf(report)
    t2 = time.perf_counter()
    x = xlsx(report)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    out.put((t1 - t0, t2 - t1, t3 - t2, t3 - t0, base, peak, len(p), len(x)))


def run(url: str, kind: str, period: str, scope: str, now: datetime) -> None:
    """Build in a fresh process and print its figures."""
    q: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
    proc = mp.get_context("spawn").Process(target=build, args=(url, kind, period, scope, now.isoformat(), q))
    proc.start()
    c, p, x, total, base, peak, np_, nx = q.get()
    proc.join()
    print(
        f"{kind} {period} {scope}: total {total:.1f} s (content {c:.1f}, PDF {p:.1f}, XLSX {x:.1f}); "
        f"peak RSS {peak:.0f} MB (city model loaded: {base:.0f} MB); PDF {np_ / 1024:.0f} KB, XLSX {nx / 1024:.0f} KB",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Fill-store URL in, figures out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--schema", default=None)
    ap.add_argument("--with-reviews", action="store_true", help="add call-back events from the rows (see above)")
    args = ap.parse_args(argv)
    from data_access.store.engine import make_engine, make_sessionmaker
    from data_access.store.models import Appeal

    url = schema_url(args.url, args.schema)
    if args.with_reviews:
        t = time.perf_counter()
        print(f"added {add_reviews(url)} call-backs in {time.perf_counter() - t:.0f} s", flush=True)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        n, last = s.execute(select(func.count(), func.max(Appeal.created_at))).one()
        top = s.execute(
            select(Appeal.district, func.count()).group_by(Appeal.district).order_by(func.count().desc()).limit(1)
        ).one()[0]
    engine.dispose()
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    local = last.astimezone(zone)
    month = f"{local.year:04d}-{local.month:02d}"
    first_after = (local.replace(day=1) + timedelta(days=32)).replace(day=1, hour=8, minute=0, second=0, microsecond=0)
    day = (local - timedelta(days=1)).date().isoformat()
    print(f"store: {n} appeals, the last received {local:%Y-%m-%d %H:%M}; busiest district {top}", flush=True)
    run(url, "monthly", month, "city", first_after.astimezone(UTC))  # as the schedule makes it on the 1st at 08:00
    run(url, "daily", day, f"d:{top}", (local + timedelta(hours=1)).astimezone(UTC))
    return 0


if __name__ == "__main__":
    sys.exit(main())
