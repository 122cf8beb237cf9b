"""Report build times and memory over a filled store (benchmarks/fill_store.py): a city monthly analysis (PDF and
XLSX) and a district daily bulletin. Prints one line per build: wall seconds for content, PDF, XLSX, the build's
CPU seconds (time.process_time: what an idle machine would give) and its PostgreSQL backend's, the one-off import
of WeasyPrint (not in the PDF time), and the process's peak RSS. Usage:

    python benchmarks/fill_store.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema bench1m
    python benchmarks/reports.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema bench1m

The store is only read (no archive row is written). fill_store.py writes each appeal's `dispatched` and each
call-back's `reviewed` event, what the rankings count. Each build runs in a process of its own, so its peak RSS is
that build's, the city's index included: read from the store's reference tables as `python app.py report` reads it
(`--index store`, the default), or from the city model with its boundaries (`--index files`; `both` runs each).
`--profile DIR` writes each build's cProfile stats there; `--final` makes the monthly analysis as if after the
month's cut-off (volumes then count each appeal's unit at the cut-off).
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing as mp
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fill_store import schema_url


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_of(pid: int) -> float:
    """CPU seconds of a local process (the session's PostgreSQL backend), from /proc; 0 if not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def build(
    url: str,
    kind: str,
    period: str,
    scope: str,
    now_iso: str,
    index: str,
    prof: str | None,
    out: mp.Queue,  # type: ignore[type-arg]
) -> None:
    """One report's build in this process: content, PDF, XLSX; wall and CPU times and the peak RSS."""
    from dashboard.reports import parse_period
    from dashboard.settings import load_settings
    from dashboard.wall import View
    from data_access.intake.reference_data import stored_index
    from data_access.reports import content
    from data_access.reports.pdf import pdf
    from data_access.reports.xlsx import xlsx
    from data_access.store.engine import make_engine, make_sessionmaker
    from data_access.wall.snapshot import WallContext
    from geo.city_index import index_of
    from geo.demo_city import load_demo_city

    root = Path(__file__).resolve().parent.parent
    settings = load_settings(var_dir=root / "var" / "test-cache", demo=False)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    if index == "store":  # as `python app.py report` starts (data_access/ops/services.start_store)
        with sessions() as s:
            refs = stored_index(s)
        assert refs is not None, "the store holds no city: run fill_store.py"
    else:  # the city model from its files, boundaries included, as `python app.py` serving the screens holds it
        refs = index_of(load_demo_city(root / "var" / "test-cache", 12345))
    ctx = WallContext(settings, refs)
    t = time.perf_counter()
    import weasyprint  # noqa: F401  # once per process (in `python app.py`, at the first build)

    imported = time.perf_counter() - t
    base = _rss_mb()
    profile = cProfile.Profile() if prof else None
    if profile:
        profile.enable()
    c0, t0 = time.process_time(), time.perf_counter()
    with sessions() as s:
        backend = int(s.scalar(text("SELECT pg_backend_pid()")) or 0) if "postgresql" in url else 0
        db0 = _cpu_of(backend)
        report = content.build(s, parse_period(kind, period), View.parse(scope), datetime.fromisoformat(now_iso), ctx)
        db = _cpu_of(backend) - db0
    t1 = time.perf_counter()
    mid = _rss_mb()
    p = pdf(report)
    t2 = time.perf_counter()
    x = xlsx(report)
    t3, c3 = time.perf_counter(), time.process_time()
    if profile and prof:
        profile.disable()
        profile.dump_stats(os.path.join(prof, f"{kind}-{scope.replace(':', '-')}.prof"))
    peak = _rss_mb()
    engine.dispose()
    out.put((t1 - t0, t2 - t1, t3 - t2, t3 - t0, c3 - c0, db, imported, base, mid, peak, len(p), len(x)))


def run(url: str, kind: str, period: str, scope: str, now: datetime, index: str, prof: str | None) -> None:
    """Build in a fresh process and print its figures."""
    q: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
    args = (url, kind, period, scope, now.isoformat(), index, prof, q)
    proc = mp.get_context("spawn").Process(target=build, args=args)
    proc.start()
    c, p, x, total, cpu, db, imported, base, mid, peak, np_, nx = q.get()
    proc.join()
    print(
        f"{kind} {period} {scope} (index from the {index}): total {total:.1f} s "
        f"(content {c:.1f}, PDF {p:.1f}, XLSX {x:.1f}), CPU {cpu:.1f} s, "
        f"database backend CPU {db:.1f} s (its parallel workers not counted); import of WeasyPrint {imported:.1f} s; "
        f"peak RSS {peak:.0f} MB (before the build: {base:.0f} MB, after content: {mid:.0f} MB); "
        f"PDF {np_ / 1024:.0f} KB, XLSX {nx / 1024:.0f} KB; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Fill-store URL in, figures out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--schema", default=None)
    ap.add_argument("--only", choices=("monthly", "daily"), default=None)
    ap.add_argument("--final", action="store_true", help="the monthly analysis made after the month's cut-off")
    ap.add_argument("--profile", default=None, help="a folder for each build's cProfile stats")
    ap.add_argument(
        "--index",
        choices=("store", "files", "both"),
        default="store",
        help="the city's index from the store's reference tables (as `python app.py report`), from the city's files "
        "(the city model with its boundaries, as the screens hold it), or each build once with each",
    )
    args = ap.parse_args(argv)
    from data_access.store.engine import make_engine, make_sessionmaker
    from data_access.store.models import Appeal

    url = schema_url(args.url, args.schema)
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
    if args.final:
        first_after += timedelta(days=7)  # past the cut-off (close_days after the month)
    day = (local - timedelta(days=1)).date().isoformat()
    print(f"store: {n} appeals, the last received {local:%Y-%m-%d %H:%M}; busiest district {top}", flush=True)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    indexes = ("files", "store") if args.index == "both" else (args.index,)
    if args.only in (None, "monthly"):  # as the schedule makes it on the 1st at 08:00
        for index in indexes:
            run(url, "monthly", month, "city", first_after.astimezone(UTC), index, args.profile)
    if args.only in (None, "daily"):
        for index in indexes:
            run(url, "daily", day, f"d:{top}", (local + timedelta(hours=1)).astimezone(UTC), index, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
