"""(c) Redis event -> figure changed in Chromium, and (d) Chromium's JS heap after many ticks.

Both run against a served command center (`python app.py`, its ingest worker running), signed in
with a display token (`python app.py tokens add bench --role command_center` prints the link):

    # (c) latency: no other feed writing (python app.py --no-demo), REFRESH_MS as deployed
    python benchmarks/browser.py latency --url 'http://127.0.0.1:8050/wall?token=TOKEN' --prefix hotline --events 20
    # (d) memory: a live feed running (python app.py), e.g. REFRESH_MS=500
    python benchmarks/browser.py heap --url 'http://127.0.0.1:8050/wall?token=TOKEN' --ticks 2000

(c) writes a `created` appeal to `<prefix>:events` and times until `[data-metric="open-total"]`
shows a new value. (d) reads `performance.memory.usedJSHeapSize` after a forced GC at tick 100
and at tick N (ticks counted by the page: window.wallTicks).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import redis
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1920,1080",
    "--enable-precise-memory-info",
    "--js-flags=--expose-gc",
]


def browser() -> webdriver.Chrome:
    """Headless Debian Chromium."""
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for f in FLAGS:
        o.add_argument(f)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def text_of(d: webdriver.Chrome, metric: str) -> str:
    return d.execute_script(
        f"var e = document.querySelector('[data-metric=\"{metric}\"]'); return e ? e.textContent : '';"
    )


def wait_ticks(d: webdriver.Chrome, n: int) -> None:
    while (d.execute_script("return window.wallTicks || 0;") or 0) < n:
        time.sleep(0.2)


def latency(args: argparse.Namespace) -> None:
    r = redis.Redis.from_url(args.redis_url)
    d = browser()
    d.get(args.url)
    wait_ticks(d, 2)
    tz = timezone(timedelta(hours=8))
    out = []
    for _ in range(args.events):
        before = text_of(d, "open-total")
        eid = uuid.uuid4().hex[:12]
        body = {
            "v": 1,
            "id": f"bench-{eid}",
            "type": "created",
            "appeal": f"BENCH-{eid}",
            "at": datetime.now(tz).isoformat(),
            "channel": "phone",
            "kind": "request",
            "category": ["城市管理"],
            "priority": "normal",
            "community": args.community,
        }
        t0 = time.perf_counter()
        r.xadd(f"{args.prefix}:events", {"event": json.dumps(body, ensure_ascii=False)})
        while text_of(d, "open-total") == before:
            time.sleep(0.01)
        out.append(time.perf_counter() - t0)
        time.sleep(0.3)
    d.quit()
    s = sorted(out)
    print(
        f"(c) event -> figure in Chromium: n={len(s)} median {statistics.median(s):.2f} s  "
        f"p95 {s[max(0, int(len(s) * 0.95) - 1)]:.2f} s  max {s[-1]:.2f} s"
    )


def heap(args: argparse.Namespace) -> None:
    d = browser()
    d.get(args.url)
    samples = {}
    for n in (100, args.ticks // 2, args.ticks):
        wait_ticks(d, n)
        d.execute_script("window.gc && window.gc();")
        time.sleep(0.5)
        samples[n] = d.execute_script("return performance.memory.usedJSHeapSize;")
        print(f"  tick {n}: JS heap {samples[n] / 1e6:.2f} MB", flush=True)
    nodes = d.execute_script("return document.getElementsByTagName('*').length;")
    d.quit()
    growth = samples[args.ticks] / samples[100] - 1
    print(f"(d) JS heap after {args.ticks} ticks vs after 100: {growth * 100:+.1f} %  (DOM elements at end: {nodes})")


def main(argv: list[str] | None = None) -> int:
    """Run one of the two measurements and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("latency", "heap"))
    ap.add_argument("--url", default="http://127.0.0.1:8050/wall")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--prefix", default="hotline")
    ap.add_argument("--community", default="110101001001")
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--ticks", type=int, default=2000)
    args = ap.parse_args(argv)
    print(f"{datetime.now().isoformat(timespec='minutes')}  {platform.node()} {platform.machine()}  {args.url}")
    (latency if args.what == "latency" else heap)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
