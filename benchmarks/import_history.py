"""History import throughput: generate an export of about N appeals (Parquet, one row per appeal: the demo city's
35 days at N / 35 a day, by data_access/demo/export.py, the generator of the demo's first start, in the columns of
its mapping data_access/demo/export.toml) and import it end to end into SQLite and PostgreSQL.

    python benchmarks/import_history.py [--appeals 3000000] [--backends sqlite,postgresql] [--batch 5000]
        [--paths columns,rows] [--initial] [--nice-server] [--profile FILE] [--file F.parquet [--reuse]]

Prints appeals/s from the first row read until every appeal row is current (all events folded), the process's
CPU time beside the wall time (the CPU figure is what an idle machine would give), on PostgreSQL the CPU time of
the server processes that served the import (`--nice-server`: reniced to 19, for a machine shared with other
measurements), the load average, and the
time Beijing's 34 million records would take at that rate. `--paths columns,rows` runs the column-wise path and
the per-row path (every row converted and folded one by one, as before the column-wise path) on the same export,
for a before/after in one run. Goals on the 2-core machine: 50,000 appeals/s on PostgreSQL, 20,000 on SQLite.
PostgreSQL stores are made in schemas named `imp_…` and dropped after.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import event, func, select

import data_access.history_import.run as run_module
import data_access.history_import.store as store_module
import tests.conftest as conftest
from dashboard.settings import Settings
from data_access.demo.export import MAPPING as EXPORT_MAPPING
from data_access.demo.export import DemoHistory
from data_access.history_import.cli import read_mapping
from data_access.history_import.run import import_files
from data_access.intake.reference_data import Gazetteer
from data_access.projection.projector import Projector, all_folded
from data_access.store.deferred_indexes import left_out
from data_access.store.engine import make_engine, make_sessionmaker
from data_access.store.models import Appeal
from tests.conftest import demo_city, make_store, new_prefix, settings_for

ROOT = Path(__file__).resolve().parent.parent
MAPPING = EXPORT_MAPPING
BEIJING_RECORDS = 34_000_000
GROUP = 100_000
DAY_S = 86400
DAYS = 35
END = 1_796_083_200  # 2026-12-01T00:00:00Z, a whole minute
SEED = 12345


def generate(path: Path, n: int, city) -> int:  # type: ignore[no-untyped-def]
    """Write the demo city's export (data_access/demo/export.py) of DAYS days at n / DAYS appeals a day, in row groups
    of GROUP, as it stands at the end of the last day (the last days' appeals still open); return its rows."""
    history = DemoHistory.for_city(city, Settings(), SEED, n / DAYS)
    rows = 0
    writer: pq.ParquetWriter | None = None
    for day, lo, hi in reversed(history.days_back(END - DAYS * DAY_S, END)):
        export = history.day(day, lo, hi, END)
        for _, cols in export.batches(GROUP):
            table = pa.table({c: pa.array(v, pa.string()) for c, v in cols.items()})
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            rows += table.num_rows
    if writer is not None:
        writer.close()
    return rows


def server_processes(engine, nice: bool) -> list[int]:  # type: ignore[no-untyped-def]
    """PostgreSQL: the ids of the server processes that serve the engine's connections (filled as they connect), for
    their CPU time; with `nice`, each at the lowest CPU priority, so that the benchmark leaves a shared machine's
    other work its share (the server runs on this machine, as root)."""
    pids: list[int] = []

    @event.listens_for(engine, "connect")
    def seen(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        pid = int(cur.fetchone()[0])
        cur.close()
        dbapi_conn.rollback()  # the connection starts as the pool hands out others: outside a transaction
        pids.append(pid)
        if nice:
            os.system(f"renice -n 19 -p {pid} >/dev/null")

    return pids


def cpu_seconds(pids: list[int]) -> float:
    """The CPU time (user and system) of these processes so far, those still running."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def run(  # type: ignore[no-untyped-def]
    kind: str,
    path: Path,
    n: int,
    batch: int,
    city,
    gaz,
    columnar: bool,
    profile: str | None,
    initial: bool,
    nice_server: bool = False,
) -> float:
    settings = settings_for(f"imp-{new_prefix()}")
    with tempfile.TemporaryDirectory() as tmp, make_store(kind, Path(tmp), city) as (_, _, url):
        engine = make_engine(url, writer=True)  # as `python app.py import` opens the store
        pids = server_processes(engine, nice_server) if kind == "postgresql" else []
        sessions = make_sessionmaker(engine)
        prof = cProfile.Profile() if profile else None
        t0, c0 = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        with left_out(engine, initial):
            summary = import_files(
                [path],
                read_mapping(MAPPING),
                sessions,
                settings,
                gaz,
                Path(tmp) / "rejects.csv",
                batch=batch,
                columnar=columnar,
            )
            Projector(settings, sessions).drain()
        if prof and profile:
            prof.disable()
            prof.dump_stats(f"{profile}.{kind}.{'columns' if columnar else 'rows'}")
        spent, cpu = time.perf_counter() - t0, time.process_time() - c0
        with sessions() as s:
            rows = s.scalar(select(func.count()).select_from(Appeal))
            current = all_folded(s)
        server = cpu_seconds(pids)
        engine.dispose()
    assert rows == n and current and summary.rejected == 0, (rows, current, summary.line())
    rate = n / spent
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    how = f"{' initial' if initial else ''}{'' if store_module.SYNC_COMMIT_OFF else ' sync'}"
    print(
        f"{kind:10s} {'columns' if columnar else 'rows':7s}{how} batch {batch} "
        f"ahead {run_module.AHEAD} {n:,} appeals ({summary.events:,} events) in "
        f"{spent:,.1f} s wall, {cpu:,.1f} s CPU{f' (server {server:,.1f} s)' if pids else ''}: "
        f"{rate:,.0f} appeals/s wall, {n / cpu:,.0f} per CPU second; "
        f"34 million records: {BEIJING_RECORDS / rate / 3600:,.1f} h at this rate; load {load}",
        flush=True,
    )
    return rate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--appeals", type=int, default=3_000_000)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--batch", type=int, default=5000)
    p.add_argument("--paths", default="columns", help="columns (the import's path), rows (per row), or both")
    p.add_argument("--ahead", type=int, default=run_module.AHEAD, help="batches converted ahead (0: no thread)")
    p.add_argument(
        "--sync-commit", action="store_true", help="PostgreSQL: batches wait for their WAL flush (as before)"
    )
    p.add_argument("--initial", action="store_true", help="as `import --initial`: indexes built once at the end")
    p.add_argument(
        "--nice-server", action="store_true", help="PostgreSQL: renice the server processes of the import to 19"
    )
    p.add_argument("--profile", help="write a cProfile of each import to PROFILE.<backend>.<path>")
    p.add_argument("--file", type=Path, help="the export to write (default: a temporary file)")
    p.add_argument("--reuse", action="store_true", help="import --file as it is if it exists (made by an earlier run)")
    a = p.parse_args()
    run_module.AHEAD = a.ahead
    store_module.SYNC_COMMIT_OFF = not a.sync_commit
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # the import's progress lines
    new_schema = conftest._new_schema
    conftest._new_schema = lambda prefix: new_schema(f"imp_{prefix}")  # this benchmark's schemas: imp_…
    city = demo_city()
    gaz = Gazetteer(city)
    with tempfile.TemporaryDirectory() as tmp:
        path = a.file or Path(tmp) / "export.parquet"
        t0 = time.perf_counter()
        if a.reuse and path.exists():
            n = pq.ParquetFile(path).metadata.num_rows
        else:
            n = generate(path, a.appeals, city)
        size = path.stat().st_size / 1e6
        print(f"export of {n:,} appeals ready in {time.perf_counter() - t0:.1f} s ({size:.0f} MB)")
        try:
            for kind in a.backends.split(","):
                for way in a.paths.split(","):
                    run(kind, path, n, a.batch, city, gaz, way == "columns", a.profile, a.initial, a.nice_server)
        finally:
            conftest.pytest_sessionfinish()  # the stores' templates go too
    print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
