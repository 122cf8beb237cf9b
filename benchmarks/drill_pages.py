"""Drill-down pages in headless Chromium on a big store: the first response's size and the time to drawn, per level.

For each level (the city, a district, a street, a community, a grid, an appeal) the page is opened `--runs` times
as a signed-in command center user would: a fresh load of the URL (browser cache warm after the first run). Time
to drawn is from navigation start to the map's shapes drawn and every `data-metric` figure showing a value
(polled each animation frame in the page). The first response is the page's own answer: the largest
`/_dash-update-component` answer received before the page was drawn (its decoded JSON size); the time to drawn is
split at it (the browser's own Resource Timing): boot (navigation to that answer asked for: the HTML, the scripts
started, the layout), wait (for the answer: the server) and after (building the page and the map once it came).
Fill the store with benchmarks/fill_store.py first. Usage:

    python benchmarks/fill_store.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema drill1m
    python benchmarks/drill_pages.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --schema drill1m
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from sqlalchemy import text

from benchmarks.fill_store import schema_url

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Resolves with ms since navigation start once the map has shapes and every figure a value (or null on timeout).
DRAWN_JS = """
var done = arguments[arguments.length - 1], limit = arguments[0];
function drawn() {
  if (!document.querySelector('.drill-screen')) return false;
  if (!document.querySelector('.leaflet-overlay-pane path')) return false;
  var figs = document.querySelectorAll('[data-metric]');
  for (var i = 0; i < figs.length; i++) { if (!figs[i].textContent.trim()) return false; }
  return figs.length > 0 || !!document.querySelector('[data-field]');
}
(function poll() {
  if (drawn()) { done(performance.now()); return; }
  if (performance.now() > limit) { done(null); return; }
  requestAnimationFrame(poll);
})();
"""
RESPONSES_JS = """
return performance.getEntriesByType('resource')
  .filter(function (e) { return e.name.indexOf('_dash-update-component') >= 0; })
  .map(function (e) { return [e.responseEnd, e.decodedBodySize, e.duration, e.startTime]; });
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser(width: int, height: int) -> webdriver.Chrome:
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for f in [*FLAGS, f"--window-size={width},{height}"]:
        o.add_argument(f)
    return webdriver.Chrome(executable_path="/usr/bin/chromedriver", options=o)


def pick_paths(sessions: Any) -> dict[str, str]:
    """The busiest area at each level (a district, a street, a community, a grid of it) and one red appeal there."""
    with sessions() as s:
        q = s.execute
        grid, community, street, district = q(
            text(
                "SELECT grid, community, street, district FROM appeals WHERE is_open "
                "GROUP BY grid, community, street, district ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        appeal = q(
            text("SELECT id FROM appeals WHERE grid = :g AND is_open ORDER BY red_from LIMIT 1"), {"g": grid}
        ).scalar()
    return {
        "city": "/area",
        "district": f"/area/d/{district}",
        "street": f"/area/s/{street}",
        "community": f"/area/c/{community}",
        "grid": f"/area/g/{grid}",
        "appeal": f"/area/a/{appeal}",
    }


def sign_in_token(sessions: Any) -> str:
    """A command center user for the benchmark (created once) and a session token."""
    from dashboard.scopes import Scope
    from data_access.accounts.sessions import sign_in
    from data_access.accounts.users import create_user

    now = datetime.now(UTC)
    with sessions() as s, s.begin():
        if s.execute(text("SELECT 1 FROM users WHERE username = 'drillbench'")).first() is None:
            create_user(s, "drillbench", "drill-bench-password", Scope("command_center"), now)
    with sessions() as s, s.begin():
        token = sign_in(s, "drillbench", "drill-bench-password", now, 12)
    assert token is not None
    return token


def serve(app: Any, port: int) -> None:
    from waitress import serve as waitress_serve

    waitress_serve(app.server, host="127.0.0.1", port=port, threads=8, _quiet=True)


class Drawn(NamedTuple):
    """One page load: ms to drawn (None: not drawn in time), bytes of the largest answer before drawn (the page's
    first answer) and of all of them, and where the time went: `boot` from navigation to the first answer asked for
    (the page's HTML, scripts started, layout), `wait` for it (the server, and the network), `after` it to drawn
    (building the components, the map's shapes)."""

    at: float | None
    first: int
    total: int
    boot: float
    wait: float
    after: float


def measure(d: webdriver.Chrome, url: str, limit_ms: float) -> Drawn:
    """Open the URL, wait until drawn, and read the page's timings."""
    d.get(url)
    try:
        at = d.execute_async_script(DRAWN_JS, limit_ms)
    except TimeoutException:  # the page's main thread never let the poll run again
        at = None
    answers = d.execute_script(RESPONSES_JS) or []
    before = [a for a in answers if at is None or a[0] <= at]
    big = max(before, key=lambda a: a[1], default=None)
    boot, wait = (big[3], big[2]) if big else (0.0, 0.0)
    after = (at - big[0]) if big and at is not None else 0.0
    return Drawn(at, max((int(a[1]) for a in before), default=0), sum(int(a[1]) for a in before), boot, wait, after)


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[max(0, -(-len(s) * 95 // 100) - 1)]


def main(argv: list[str] | None = None) -> int:
    """Serve the app over the store, open each level's page `--runs` times, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--schema", default=None)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--limit-s", type=float, default=90.0, help="give up on a page after this long")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--shots", default=None, help="folder for a screenshot of each level once drawn")
    ap.add_argument(
        "--cold",
        action="store_true",
        help="empty the server's page cache before each load (a page opened first, not one another screen read)",
    )
    args = ap.parse_args(argv)
    os.environ["DATABASE_URL"] = schema_url(args.url, args.schema)
    os.environ["REDIS_URL"] = args.redis_url
    from app import create_app
    from dashboard.settings import load_settings
    from data_access.ops.services import start_services

    svc = start_services(load_settings(), load_reference_data=False)
    paths = pick_paths(svc.sessions)
    token = sign_in_token(svc.sessions)
    port = free_port()
    threading.Thread(target=serve, args=(create_app(svc), port), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    w, h = (int(x) for x in args.size.split("x"))
    d = browser(w, h)
    d.set_script_timeout(args.limit_s + 10)
    print(
        f"{datetime.now(UTC).isoformat(timespec='minutes')}  {platform.node()}  {os.cpu_count()} CPUs  "
        f"load {os.getloadavg()[0]:.1f}  {args.size}  {args.runs} runs per level" + ("  cold" if args.cold else "")
    )
    try:
        d.get(base + "/login")
        d.add_cookie({"name": "cc_session", "value": token, "path": "/"})
        measure(d, base + "/area", args.limit_s * 1000)  # the first load fetches the scripts: not counted
        print(
            f"{'level':<10} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'first answer':>13} {'all answers':>12}"
            f"  {'boot':>5} {'wait':>5} {'after':>5} (medians, ms)"
        )
        for level, path in paths.items():
            times: list[float] = []
            firsts, alls, parts = [], [], []
            for _ in range(args.runs):
                if args.cold:
                    from callbacks.drill import _AREA_CACHE

                    _AREA_CACHE.clear()
                t0 = time.perf_counter()
                m = measure(d, base + path, args.limit_s * 1000)
                times.append(m.at if m.at is not None else (time.perf_counter() - t0) * 1000)
                firsts.append(m.first)
                alls.append(m.total)
                parts.append((m.boot, m.wait, m.after))
                if args.shots and len(times) == 1:
                    Path(args.shots).mkdir(parents=True, exist_ok=True)
                    d.save_screenshot(str(Path(args.shots) / f"{level}-{args.size}.png"))
                if m.at is None:
                    print(f"  {level}: not drawn within {args.limit_s:.0f} s", flush=True)
                    break
            print(
                f"{level:<10} {statistics.median(times):>10.0f} {p95(times):>8.0f} {max(times):>8.0f} "
                f"{max(firsts) / 1000:>10.1f} KB {max(alls) / 1000:>9.1f} KB  "
                + " ".join(f"{statistics.median(p[i] for p in parts):>5.0f}" for i in range(3))
                + f"  {path}",
                flush=True,
            )
    finally:
        d.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
