"""`python app.py simulate`: the demo intake feed on its own, against any Redis."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence

import redis

from dashboard.settings import Settings, get_settings
from data_access.demo.feed import DemoFeed
from geo.model import City

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def main(
    argv: Sequence[str] | None = None,
    *,
    redis_url: str | None = None,
    city: City | None = None,
    settings: Settings | None = None,
    stop: threading.Event | None = None,
) -> int:
    """`simulate`: run the demo intake feed (optionally after writing history) until interrupted."""
    ap = argparse.ArgumentParser(
        prog="simulate",
        description="Demo intake feed: writes appeal events and "
        "grid-member heartbeats to the Redis streams of the intake contract.",
    )
    ap.add_argument("--rate", type=float, help="appeals per simulated day (default: DEMO_PER_DAY)")
    ap.add_argument("--speedup", type=float, help="simulated seconds per wall second (default: DEMO_SPEEDUP)")
    ap.add_argument("--redis-url", help="Redis to write to (default: REDIS_URL, else " + DEFAULT_REDIS_URL + ")")
    ap.add_argument("--backfill", type=float, metavar="DAYS", help="first write this many days of history")
    ap.add_argument("--seed", type=int, help="random seed (default: CITY_SEED)")
    ap.add_argument("--no-live", action="store_true", help="stop after the backfill")
    args = ap.parse_args(argv)
    if (args.rate is not None and args.rate <= 0) or (args.speedup is not None and args.speedup <= 0):
        ap.error("--rate and --speedup must be positive")
    settings = settings or get_settings()
    url = args.redis_url or redis_url or settings.redis_url or DEFAULT_REDIS_URL
    if city is None:
        from geo.loader import load_city

        city = load_city(settings)
    client = redis.Redis.from_url(url, socket_timeout=30)
    feed = DemoFeed(city, client, settings, args.seed, per_day=args.rate, speedup=args.speedup)
    try:
        if args.backfill:
            began = time.perf_counter()

            def show(done: int, total: int) -> None:
                n = feed.written["events"]
                rate = n / max(time.perf_counter() - began, 1e-9)
                print(
                    f"\rbackfill {100 * done // total:3d}%  {n:,} events  {rate:,.0f} events/s   ",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )

            n = feed.backfill(args.backfill, show)
            print(
                f"\rbackfill done: {n:,} events in {time.perf_counter() - began:.1f} s" + " " * 20,
                file=sys.stderr,
                flush=True,
            )
        if args.no_live:
            return 0
        print(
            f"demo feed: {feed.per_day:,.0f} appeals/day x{feed.speedup:g} -> {feed.events_key} on {url} "
            "(Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        feed.run(stop or threading.Event())
    except KeyboardInterrupt:
        print(file=sys.stderr)
    except redis.RedisError as exc:
        print(f"\nsimulate: Redis at {url}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
