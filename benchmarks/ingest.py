"""Ingest throughput: replay a prefilled stream into SQLite and PostgreSQL; compare with a bare bulk insert.

    python benchmarks/ingest.py [--events 500000] [--backends sqlite,postgresql]

The stream is in time order shuffled within windows of 200 entries (several producers
writing at once). Runs what `python app.py` runs: the ingest worker (parse, check against the city,
store once in the numbered log, acknowledge) and the projector processes behind it (each appeal's row brought
up to date). Prints events/s until every event is acknowledged and until every appeal is up to date
(the figure that counts), and, in the same run, the rate of one transaction inserting the same event
rows with nothing else, and the ratio of the two.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from sqlalchemy import func, select

from dashboard.contract import parse_event
from dashboard.partitions import partition_key
from dashboard.settings import load_settings
from data_access.intake.consumer import IngestWorker
from data_access.intake.reference_data import Gazetteer
from data_access.ops.gc_tuning import settle_gc
from data_access.projection.projector import ProjectorProcesses, all_folded
from data_access.store.bulk import bulk_insert
from data_access.store.engine import make_engine, make_sessionmaker
from data_access.store.models import Appeal, AppealEvent
from geo.demo_city import load_demo_city
from tests.conftest import CACHE_DIR, REDIS_URL, make_store
from tests.histories import histories

JITTER = 200


def prefill(client: redis.Redis, key: str, city, n_events: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Write histories of enough appeals for n_events events, interleaved as live traffic would be."""
    texts: list[str] = []
    seed = 0
    while len(texts) < n_events:
        seed += 1
        texts += [t for h in histories(city, 20000, seed=seed).values() for t in h]
    texts = sorted(texts[:n_events], key=lambda t: json.loads(t)["at"])
    # Several producers: arrival order is time order give or take a few hundred entries.
    rnd = random.Random(0)
    for i in range(0, len(texts), JITTER):
        window = texts[i : i + JITTER]
        rnd.shuffle(window)
        texts[i : i + JITTER] = window
    pipe = client.pipeline(transaction=False)
    for i, t in enumerate(texts, 1):
        pipe.xadd(key, {"event": t})
        if i % 5000 == 0:
            pipe.execute()
    pipe.execute()
    return texts


def bulk_rate(store, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    """Events/s of one bare transaction inserting the same rows into the event log."""
    now = datetime.now(UTC)
    rows = []
    for i, t in enumerate(texts):
        e = parse_event(t)
        rows.append(
            {
                "id": e.id,
                "appeal": e.appeal,
                "partition_key": partition_key(e.appeal),
                "type": e.type,
                "at": e.at,
                "payload": t,
                "source": f"{i}-0",
                "received_at": now,
                "grid": None,
                "community": None,
                "street": None,
                "district": None,
            }
        )
    _, sessions, _ = store
    t0 = time.perf_counter()
    with sessions() as s, s.begin():
        bulk_insert(s, AppealEvent.__table__, rows, "")
    return len(rows) / (time.perf_counter() - t0)


def busy_s() -> float:
    """CPU seconds the machine's cores have been busy since boot (user, system and interrupts; /proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq = map(int, Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def replay(settings, url: str, gaz, name: str, total: int) -> tuple[float, float, float, float, float]:  # type: ignore[no-untyped-def]
    """Ingest `total` entries as `python app.py` does, with the projector processes behind the worker; return
    seconds until the worker has acknowledged its share, until every logged event is folded, the projectors' CPU
    seconds, the sum of their peak memory (MB) and the CPU seconds the whole machine was busy meanwhile."""
    engine = make_engine(url, writer=True)
    sessions = make_sessionmaker(engine)
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=30)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    projectors = ProjectorProcesses(settings, url)
    w = IngestWorker(settings, client, sessions, engine, gaz, consumer=name, stored=projectors.wake)
    w.ensure_groups()
    settle_gc()  # as IngestWorker.run does
    t0, b0 = time.perf_counter(), busy_s()
    idle = 0
    while idle < 3:  # three empty reads: the stream is drained (by this worker and any other)
        idle = idle + 1 if w.step() == 0 else 0
    acked = time.perf_counter() - t0 - 3 * settings.ingest_block_ms / 1000
    while True:
        with sessions() as s:
            if all_folded(s):
                break
        time.sleep(0.01)
    folded = time.perf_counter() - t0 - 3 * settings.ingest_block_ms / 1000
    busy = busy_s() - b0
    hwm = sum(
        next(
            int(line.split()[1])
            for line in Path(f"/proc/{p.pid}/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        )
        for p in projectors.procs
    )  # the projectors' peak resident memory, kB
    projectors.close(30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    engine.dispose()
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return acked, folded, cpu, hwm / 1024, busy


def _work(settings, url: str, gaz, name: str, total: int) -> None:  # type: ignore[no-untyped-def]
    replay(settings, url, gaz, name, total)


def many_workers(settings, store, gaz, total: int, n: int) -> float:  # type: ignore[no-untyped-def]
    """Events/s of n worker processes sharing one consumer group on one store."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_work, args=(settings, store[2], gaz, f"w{i}", total)) for i in range(n)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0 - 3 * settings.ingest_block_ms / 1000  # the idle reads at the end
    with store[1]() as s:
        stored = s.scalar(select(func.count()).select_from(AppealEvent))
    assert stored == total, f"stored {stored} of {total}"
    return total / elapsed  # every process waits until every logged event is folded before it ends


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--workers", type=int, default=2, help="worker processes for the shared-group PostgreSQL run")
    args = ap.parse_args()
    city = load_demo_city(CACHE_DIR, 12345)
    gaz = Gazetteer(city)
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=30)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = load_settings(hotline_prefix=prefix, redis_url=REDIS_URL, ingest_block_ms=50)  # default INGEST_BATCH
    key = settings.stream("events")
    try:
        t0 = time.perf_counter()
        texts = prefill(client, key, city, args.events)
        print(f"prefilled {len(texts):,} events in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            for backend in args.backends.split(","):
                group = f"bench-{backend}"
                s2 = settings.model_copy(update={"consumer_group": group})
                with make_store(backend, Path(tmp), city) as store:
                    c0 = time.process_time()
                    acked, folded, fold_cpu, fold_mb, busy = replay(s2, store[2], gaz, "bench", len(texts))
                    cpu_us = (time.process_time() - c0) / len(texts) * 1e6  # the worker's process
                    with store[1]() as s:
                        appeals = s.scalar(select(func.count()).select_from(Appeal))
                ingest = len(texts) / folded
                with make_store(backend, Path(tmp), city) as store:
                    bulk = bulk_rate(store, texts)
                print(
                    f"{backend:10s} ingest {ingest:10,.0f} events/s (appeals current; {len(texts) / acked:,.0f} "
                    f"events/s acknowledged)   bare bulk insert {bulk:10,.0f} rows/s   ratio {ingest / bulk:.2f}   "
                    f"CPU per event: worker {cpu_us:.0f} us, projectors {fold_cpu / len(texts) * 1e6:.0f} us, "
                    f"rest of the machine (Redis, database server) "
                    f"{busy / len(texts) * 1e6 - cpu_us - fold_cpu / len(texts) * 1e6:.0f} us   "
                    f"projectors' peak {fold_mb:,.0f} MB ({s2.projectors} projectors, "
                    f"PROJECTION_BATCH {s2.projection_batch:,})   "
                    f"{appeals:,} appeals",
                    flush=True,
                )
                if backend == "postgresql" and args.workers > 1:
                    s3 = settings.model_copy(update={"consumer_group": "bench-pg-many"})
                    with make_store(backend, Path(tmp), city) as store:
                        rate = many_workers(s3, store, gaz, len(texts), args.workers)
                    print(
                        f"{backend:10s} ingest {rate:10,.0f} events/s with {args.workers} worker processes "
                        f"sharing the group (ratio {rate / bulk:.2f})",
                        flush=True,
                    )
    finally:
        client.delete(key, f"{key}:dead")


if __name__ == "__main__":
    main()
