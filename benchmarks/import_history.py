"""History import throughput: generate an export of N appeals (Parquet, one row per appeal, the column names of
docs/import/hotline-en.toml) over the demo city and import it end to end into SQLite and PostgreSQL.

    python benchmarks/import_history.py [--appeals 3000000] [--backends sqlite,postgresql] [--batch 5000]
        [--paths columns,rows] [--profile FILE]

Prints appeals/s from the first row read until every appeal row is current (all events folded), the process's
CPU time beside the wall time (the CPU figure is what an idle machine would give), the load average, and the
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

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select

import tests.conftest as conftest
from data_access.history_import.cli import read_mapping
from data_access.history_import.run import import_files
from data_access.intake.reference_data import Gazetteer
from data_access.projection.projector import Projector, all_folded
from data_access.store.models import Appeal
from tests.conftest import demo_city, make_store, new_prefix, settings_for

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "docs/import/hotline-en.toml"
BEIJING_RECORDS = 34_000_000
GROUP = 100_000
DAY_S = 86400
START = np.datetime64("2026-10-01T00:00:00", "s")


def _times(base: np.ndarray, gap_min: np.ndarray, happened: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    t = base + (gap_min * 60).astype("timedelta64[s]")
    text = np.datetime_as_string(t, unit="s", timezone="UTC")
    return t, [s if h else None for s, h in zip(text.tolist(), happened.tolist())]


def generate(path: Path, n: int, city, seed: int = 1) -> None:  # type: ignore[no-untyped-def]
    """Write an export of n appeals in row groups of GROUP: a mix of open, handled and closed lifecycles."""
    rng = np.random.default_rng(seed)
    comms = city.communities[["code", "street"]].to_numpy()
    writer: pq.ParquetWriter | None = None
    for first in range(0, n, GROUP):
        k = min(GROUP, n - first)
        pick = comms[rng.integers(0, len(comms), k)]
        created = START + rng.integers(0, 35 * DAY_S, k).astype("timedelta64[s]")
        stage = rng.random(k)  # < .1 open, < .3 dispatched, < .4 accepted, else handled; > .5 closed
        _, opened = _times(created, np.zeros(k), np.ones(k, bool))
        t1, dispatch = _times(created, rng.integers(1, 120, k), stage >= 0.1)
        t2, signed = _times(t1, rng.integers(1, 240, k), stage >= 0.3)
        t3, done = _times(t2, rng.integers(10, 4000, k), stage >= 0.4)
        t4, callback = _times(t3, rng.integers(10, 1000, k), stage >= 0.4)
        _, closed = _times(t4, rng.integers(1, 60, k), stage >= 0.5)
        good = rng.random(k) < 0.85
        cols = {
            "order_id": [f"H{first + i:09d}" for i in range(k)],
            "opened": opened,
            "source": rng.choice(["TEL", "WEB", "WX"], k).tolist(),
            "type": ["C"] * k,
            "category_path": rng.choice(
                ["城市管理/市容环境/垃圾清运", "城乡建设/住房管理/物业服务", "交通管理/道路/停车"], k
            ).tolist(),
            "urgency": rng.choice(["U", "N", "R"], k).tolist(),
            "community_code": pick[:, 0].tolist(),
            "text": ["居民反映问题"] * k,
            "dispatch_1_time": dispatch,
            "dispatch_1_unit": [s if d else None for s, d in zip(pick[:, 1].tolist(), dispatch)],
            "signed_time": signed,
            "done_time": done,
            "callback_time": callback,
            "callback_reached": ["Y" if c else None for c in callback],
            "callback_solved": [("Y" if g else "N") if c else None for c, g in zip(callback, good.tolist())],
            "callback_rating": [("S" if g else "D") if c else None for c, g in zip(callback, good.tolist())],
            "closed_time": closed,
        }
        for c in ("x", "y", "dispatch_2_time", "dispatch_2_unit", "return_time", "return_unit", "return_reason",
                  "signed_unit", "signed_by", "extension_time", "extended_to", "extension_reason", "done_note",
                  "reopen_time", "reopen_reason", "done_2_time", "callback_2_time", "callback_2_reached",
                  "callback_2_solved", "callback_2_rating"):  # fmt: skip
            cols[c] = [None] * k
        table = pa.table({c: pa.array(v, pa.string()) for c, v in cols.items()})
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def run(kind: str, path: Path, n: int, batch: int, city, gaz, columnar: bool, profile: str | None) -> float:  # type: ignore[no-untyped-def]
    settings = settings_for(new_prefix())
    with tempfile.TemporaryDirectory() as tmp, make_store(kind, Path(tmp), city) as (_, sessions, _):
        prof = cProfile.Profile() if profile else None
        t0, c0 = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
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
    assert rows == n and current and summary.rejected == 0, (rows, current, summary.line())
    rate = n / spent
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{kind:10s} {'columns' if columnar else 'rows':7s} {n:,} appeals ({summary.events:,} events) in "
        f"{spent:,.1f} s wall, {cpu:,.1f} s CPU: {rate:,.0f} appeals/s wall, {n / cpu:,.0f} per CPU second; "
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
    p.add_argument("--profile", help="write a cProfile of each import to PROFILE.<backend>.<path>")
    p.add_argument("--file", type=Path, help="the export to write (default: a temporary file)")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # the import's progress lines
    new_schema = conftest._new_schema
    conftest._new_schema = lambda prefix: new_schema(f"imp_{prefix}")  # this benchmark's schemas: imp_…
    city = demo_city()
    gaz = Gazetteer(city)
    with tempfile.TemporaryDirectory() as tmp:
        path = a.file or Path(tmp) / "export.parquet"
        t0 = time.perf_counter()
        generate(path, a.appeals, city)
        size = path.stat().st_size / 1e6
        print(f"export of {a.appeals:,} appeals written in {time.perf_counter() - t0:.1f} s ({size:.0f} MB)")
        try:
            for kind in a.backends.split(","):
                for way in a.paths.split(","):
                    run(kind, path, a.appeals, a.batch, city, gaz, way == "columns", a.profile)
        finally:
            conftest.pytest_sessionfinish()  # the stores' templates go too
    print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
