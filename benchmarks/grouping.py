"""Same-event grouping: throughput (full regrouping, incremental passes) and detection of planted bursts.

    python benchmarks/grouping.py [--days 5] [--per-day 40000] [--plant 30] [--backends sqlite,postgresql]
        [--schema NAME]  (PostgreSQL: the store in that schema of the tests' database, made anew and dropped after)

A store of the demo city is filled straight through the driver with `--days` × `--per-day` appeals (their rows in
`appeals` and their `created` events in the log, as the projection leaves them): each at a community's point
plus up to 300 m, a category drawn with the catalogue's weights, a summary from the demo's phrase tables. Then:

1. **full regrouping** of the background (`regroup`: one streamed pass): appeals/s, and the process's peak memory
   during it (the whole process, including what it held before, which is printed too);
2. **false alarms**: events meeting 三天三单 in the background, where nothing was planted, per day;
3. `--plant` **bursts** are logged after it, each 3–5 appeals about one spot (≤ 30 m apart) and one category within
   1–3 days, with differently worded summaries, together with one more day of background; grouped by
   **incremental passes** of 500 appeals (the live pass takes what arrived in GROUPING_INTERVAL_S): appeals/s;
4. **found**: planted bursts whose appeals ended up in one group that meets 三天三单.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from dashboard.catalogue import leaf, leaves
from dashboard.same_event import rules_of
from dashboard.settings import load_settings
from data_access.demo.texts import ASK, SINCE, WHO
from data_access.intake.reference_data import load_reference
from data_access.same_event.grouping import group_all, regroup
from data_access.store.bulk import bulk_insert
from data_access.store.engine import make_engine, make_sessionmaker, migrate
from data_access.store.models import Appeal, AppealEvent, ProjectionCheckpoint, SameEventGroup, SameEventMember
from geo.demo_city import load_demo_city
from tests.conftest import CACHE_DIR, PG_URL, make_store

START = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)  # midnight in Beijing
M = 111_320.0


class Synth:
    """Appeals of the demo city: rows for `appeals` and `appeal_events`."""

    def __init__(self, city: Any, seed: int) -> None:
        self.rng = random.Random(seed)
        c = city.communities
        self.comms = list(zip(c["code"], c["name"], c["street"], c["district"], c["lon"], c["lat"]))
        self.paths = leaves()
        weights = [leaf(p).weight for p in self.paths]
        total = 0.0
        self.cum = []
        for w in weights:
            total += w
            self.cum.append(total)
        self.n = 0

    def summary(self, where: str, problem: str) -> str:
        r = self.rng
        if r.random() < 0.5:
            return f"{r.choice(WHO)}反映：{where}{r.randint(1, 30)}号楼{problem}，{r.choice(SINCE)}，{r.choice(ASK)}。"
        return f"来电人称{where}附近{problem}，{r.choice(ASK)}。"

    def appeal(
        self, at: datetime, comm: tuple[Any, ...], path: tuple[str, str, str], lon: float, lat: float, aid: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        code, name, street, district = comm[:4]
        text = self.summary(name, leaf(path).problem) if self.rng.random() < 0.97 else None
        row = {
            "id": aid,
            "status": "created",
            "is_open": True,
            "created_at": at,
            "channel": "phone",
            "kind": "complaint",
            "cat1": path[0],
            "cat2": path[1],
            "cat3": path[2],
            "priority": "normal",
            "lon": lon,
            "lat": lat,
            "grid": None,
            "community": code,
            "street": street,
            "district": district,
            "summary": text,
            "dispatch_count": 0,
            "return_count": 0,
            "extension_count": 0,
            "reopen_count": 0,
            "clock_start": at,
            "due_at": at + timedelta(days=7),
            "yellow_from": at + timedelta(days=3.5),
            "red_from": at + timedelta(days=7),
            "reviewed": False,
            "last_event_at": at,
        }
        event = {
            "id": f"{aid}-c",
            "appeal": aid,
            "partition_key": 0,
            "type": "created",
            "at": at,
            "payload": "{}",
            "source": "0-0",
            "received_at": at,
            "community": code,
            "street": street,
            "district": district,
        }
        return row, event

    def background(self, day0: int, days: int, per_day: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        r = self.rng
        out = []
        for i in range(days * per_day):
            at = START + timedelta(days=day0, seconds=i * 86400 / per_day)
            comm = r.choice(self.comms)
            dist, ang = 300 * math.sqrt(r.random()), 2 * math.pi * r.random()
            lat = comm[5] + dist * math.cos(ang) / M
            lon = comm[4] + dist * math.sin(ang) / (M * math.cos(math.radians(comm[5])))
            path = r.choices(self.paths, cum_weights=self.cum)[0]
            self.n += 1
            out.append(self.appeal(at, comm, path, lon, lat, f"N{self.n:08d}"))
        return out

    def bursts(self, k: int, day0: int) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[list[str]]]:
        r = self.rng
        out, planted = [], []
        for b in range(k):
            comm = r.choice(self.comms)
            path = r.choice(self.paths)
            t0 = START + timedelta(days=day0, hours=r.uniform(0, 24))
            span_h = r.uniform(0, 24 * min(2, 1 + b % 3))  # within 1-3 calendar days
            ids = []
            for j in range(r.randint(3, 5)):
                dx, dy = r.uniform(-15, 15), r.uniform(-15, 15)
                lat = comm[5] + dy / M
                lon = comm[4] + dx / (M * math.cos(math.radians(comm[5])))
                aid = f"P{b:03d}-{j}"
                at = t0 + timedelta(hours=span_h * j / 4)
                out.append(self.appeal(at, comm, path, lon, lat, aid))
                ids.append(aid)
            planted.append(ids)
        return out, planted


def store_rows(sessions: Any, rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Insert appeals and their created events, and put the projection's checkpoint after them."""
    for i in range(0, len(rows), 20000):
        part = rows[i : i + 20000]
        with sessions() as s, s.begin():
            bulk_insert(s, Appeal.__table__, [a for a, _ in part], "")
            bulk_insert(s, AppealEvent.__table__, [e for _, e in part], "")
    with sessions() as s, s.begin():
        top = s.scalar(select(func.max(AppealEvent.seq)))
        s.execute(ProjectionCheckpoint.__table__.delete())
        s.execute(
            ProjectionCheckpoint.__table__.insert(),
            [{"partition": 0, "partitions": 1, "position": top, "updated_at": datetime.now(UTC)}],
        )


@contextmanager
def schema_store(schema: str, city: Any) -> Iterator[tuple[Any, Any, str]]:
    """A migrated PostgreSQL store with the city's reference data in `schema` (made anew, dropped after)."""
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        migrate(engine)
        with make_sessionmaker(engine)() as s, s.begin():
            load_reference(s, city)
        yield engine, make_sessionmaker(engine), url
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def bursts_by_day(sessions: Any, zone: Any) -> Counter[str]:
    with sessions() as s:
        days = s.scalars(select(SameEventGroup.burst_day).where(SameEventGroup.burst_day.is_not(None))).all()
    return Counter(d.isoformat() for d in days)


def peak_rss(reset: bool = False) -> float:
    """This process's peak resident memory in MB (Linux); `reset`: its current one, and count the peak anew."""
    status = Path("/proc/self/status").read_text()
    if reset:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
        return int(status.split("VmRSS:")[1].split()[0]) / 1024
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def run(kind: str, city: Any, args: argparse.Namespace) -> None:
    settings = load_settings(var_dir=CACHE_DIR, demo=False)
    rules, zone = rules_of(settings), settings.zone
    synth = Synth(city, seed=16)
    with (
        tempfile.TemporaryDirectory() as tmp,
        (
            schema_store(args.schema, city)
            if args.schema and kind == "postgresql"
            else make_store(kind, Path(tmp), city)
        ) as (_, sessions, _url),
    ):
        t, n = time.perf_counter(), 0
        for day in range(args.days):  # a day at a time: a million rows at once would not fit in memory
            background = synth.background(day, 1, args.per_day)
            store_rows(sessions, background)
            n += len(background)
        print(f"[{kind}] stored {n:,} appeals in {time.perf_counter() - t:.0f} s", flush=True)
        rss = peak_rss(reset=True)
        t, cpu = time.perf_counter(), time.process_time()
        regroup(sessions, rules, zone)
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
        rate = n / took
        print(
            f"[{kind}] full regrouping: {n:,} appeals in {took:.1f} s = {rate:,.0f} appeals/s "
            f"(this process's CPU {cpu:.1f} s; load average {os.getloadavg()[0]:.1f}; peak RSS {peak_rss():,.0f} MB, "
            f"{rss:,.0f} MB before); 1,000,000 would take {1e6 / rate / 60:.1f} min (extrapolated)",
            flush=True,
        )
        quiet = bursts_by_day(sessions, zone)
        n_days = args.days
        total = sum(quiet.values())
        print(
            f"[{kind}] false alarms (三天三单 events in background only): {total} in {n_days} days = "
            f"{total / n_days:.1f}/day; by day {dict(sorted(quiet.items()))}",
            flush=True,
        )
        planted_rows, planted = synth.bursts(args.plant, args.days - 2)
        more = synth.background(args.days, 1, args.per_day)
        fresh = sorted(planted_rows + more, key=lambda r: r[0]["created_at"])
        store_rows(sessions, fresh)
        t, cpu = time.perf_counter(), time.process_time()
        group_all(sessions, rules, zone, 500)
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
        print(
            f"[{kind}] incremental passes of 500: {len(fresh):,} appeals in {took:.1f} s = "
            f"{len(fresh) / took:,.0f} appeals/s (this process's CPU {cpu:.1f} s; "
            f"load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        with sessions() as s:
            group_of = dict(s.execute(select(SameEventMember.appeal, SameEventMember.group_id)).all())
            burst = {g for g, d in s.execute(select(SameEventGroup.id, SameEventGroup.burst_day)) if d is not None}
        found = sum(1 for ids in planted if len({group_of[a] for a in ids}) == 1 and group_of[ids[0]] in burst)
        split = sum(1 for ids in planted if len({group_of[a] for a in ids}) > 1)
        joined = sum(
            1 for ids in planted if any(m != ids[0] for m in [group_of[ids[0]]]) and group_of[ids[0]][0] != "P"
        )
        print(
            f"[{kind}] planted bursts found: {found} of {len(planted)} (split over several groups: {split}; "
            f"joined a background group: {joined})",
            flush=True,
        )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=5)
    p.add_argument("--per-day", type=int, default=40000)
    p.add_argument("--plant", type=int, default=30)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--schema", default=None, help="PostgreSQL: the store's schema (made anew, dropped after)")
    args = p.parse_args()
    city = load_demo_city(CACHE_DIR, 12345)
    for kind in args.backends.split(","):
        run(kind, city, args)


if __name__ == "__main__":
    main()
