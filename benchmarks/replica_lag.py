"""How far behind the primary the screens read when they read a streaming replica (DATABASE_READ_URL).

    python benchmarks/replica_lag.py [--batches 300] [--batch 100] [--every-s 0.5]

Starts a hot standby of the test cluster (127.0.0.1:5432, as the tests do: tests/replica_support.py), opens the
app's services on a fresh schema `rpl_lag_*` with both URLs (start-up checks the replica as in production), then
writes events through the store's write path (the ingest's log transaction, then the projection folding them
into appeal rows) in batches, one every `--every-s`. After each batch is folded it notes the primary's WAL
position; a thread polling the standby every 2 ms notes when its replay passes that position. Prints, per batch,
the delay from the fold's commit to the standby having replayed it (what a screen reading the replica waits
beyond the primary), p50/p95/max; the `lag_s` /healthz reported at the end; the load average and the process's
CPU time beside the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.settings import load_settings
from data_access.ops.services import start_services
from data_access.store.replica import replica_state
from geo.demo_city import load_demo_city
from tests.conftest import CACHE_DIR, REDIS_URL, _drop_schema, _new_schema, _pg_schema_url
from tests.histories import histories
from tests.replica_support import primary_lsn, replayed, standby
from tests.wall_support import put_events


def pct(xs: list[float], p: int) -> float:
    s = sorted(xs)
    return s[max(0, -(-len(s) * p // 100) - 1)]


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--batch", type=int, default=100, help="events per batch")
    ap.add_argument("--every-s", type=float, default=0.5, help="a batch this often (0: back to back)")
    args = ap.parse_args(argv)
    city = load_demo_city(CACHE_DIR, 12345)
    texts = sorted(
        (t for h in histories(city, args.batches * args.batch // 4 + 100, seed=7).values() for t in h),
        key=lambda t: json.loads(t)["at"],
    )[: args.batches * args.batch]
    with standby() as rep:
        schema = _new_schema("rpl_lag")
        try:
            settings = load_settings(
                var_dir=CACHE_DIR,
                redis_url=REDIS_URL,
                database_url=_pg_schema_url(schema),
                database_read_url=rep.url(schema),
                demo=False,
            )
            svc = start_services(settings)
            marks: list[tuple[str, float]] = []  # (primary LSN after the batch, when it was committed)
            seen: dict[int, float] = {}
            done = threading.Event()

            def poll() -> None:
                with rep.connect() as c:
                    i = 0
                    while not (done.is_set() and i >= len(marks)):
                        if i < len(marks) and replayed(c, marks[i][0]):
                            seen[i] = time.perf_counter()
                            i += 1
                            continue
                        time.sleep(0.002)

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for b in range(args.batches):
                started = time.perf_counter()
                put_events(svc.sessions, texts[b * args.batch : (b + 1) * args.batch], settings, svc.gazetteer)
                marks.append((primary_lsn(), time.perf_counter()))
                rest = args.every_s - (time.perf_counter() - started)
                if rest > 0:
                    time.sleep(rest)
            done.set()
            poller.join()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            delays = [(seen[i] - t) * 1000 for i, (_, t) in enumerate(marks)]
            state = replica_state(svc.replica) if svc.replica is not None else None
            svc.close()
        finally:
            _drop_schema(schema)
    load = os.getloadavg()
    print(
        f"replica replay delay after each batch's commit ({args.batches} batches of {args.batch} events, "
        f"one every {args.every_s} s): p50 {pct(delays, 50):.1f} ms, p95 {pct(delays, 95):.1f} ms, "
        f"max {max(delays):.1f} ms"
    )
    print(f"/healthz replica at the end: {state.report() if state else None}")
    print(f"writer: {wall:.1f} s wall, {cpu:.1f} s CPU of this process; load average {load[0]:.2f} {load[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
