"""(d, server side) Does the served command center's memory stay flat over hours?

Starts `python app.py` (embedded defaults: SQLite store and embedded Redis under a temporary
VAR_DIR, demo feed on, REFRESH_MS=1000 unless set) on free ports, issues a display token
(`python app.py tokens add soak --role command_center`), opens headless Chromium on
`/wall?token=...` and samples every minute:

- the server's RSS (VmRSS of the Python process only, from /proc/PID/status),
- the embedded Redis child's RSS, separately, and what its streams hold (entries, used_memory:
  the command center never trims the intake's streams, so Redis grows with the demo feed's data),
- the page's tick count (window.wallTicks) and JS heap (after a forced GC),
- the load average (the machine may be shared).

One line per sample, then a summary: RSS at 10, 30, 60 minutes and at the end, and the growth
per hour over the last half of the run (least-squares slope). Usage:

    python benchmarks/soak.py --minutes 120
    nohup python benchmarks/soak.py --minutes 120 > /tmp/soak.log 2>&1 &
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from selenium import webdriver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.browser import browser  # the same headless Chromium

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int | None:
    """VmRSS of one process (kB), None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct child processes of pid (from every thread's children list)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Until the server answers at all (any HTTP status), or fail if it died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # 401/503: it is up
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"server did not answer within {timeout_s:.0f} s")


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (minutes, value) points, per hour."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx * 60


def at_minute(samples: list[dict[str, float]], minute: float, key: str) -> str:
    """The value of the first sample at or after `minute` (MB), or a dash if the run was shorter."""
    for s in samples:
        if s["min"] >= minute - 0.01 and s.get(key) is not None:
            return f"{s[key]:.1f}"
    return "—"


def summary(samples: list[dict[str, float]]) -> None:
    print("summary (MB; the first sample at or after each minute; load average 1/5/15 min shown per line above)")
    if not samples:
        print("  no samples")
        return
    for key, label in (
        ("server", "server RSS (python)"),
        ("redis", "embedded redis RSS"),
        ("heap", "JS heap (after GC)"),
    ):
        end = samples[-1]
        marks = "  ".join(f"{m} min {at_minute(samples, m, key)}" for m in (1, 10, 30, 60))
        half = [s for s in samples if s["min"] >= end["min"] / 2 and s.get(key) is not None]
        slope = slope_per_hour([(s["min"], s[key]) for s in half])
        growth = "—" if slope is None else f"{slope:+.1f} MB/h"
        print(
            f"  {label:22s} {marks}  end ({end['min']:.0f} min) {end.get(key) or 0:.1f}  "
            f"growth over the last half ({half[0]['min'] if half else 0:.0f}–{end['min']:.0f} min): {growth}"
        )
    print(f"  ticks: {int(samples[-1]['ticks'])} in {samples[-1]['min']:.1f} min")


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print samples and the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=120)
    ap.add_argument("--interval", type=float, default=60, help="seconds between samples")
    ap.add_argument("--refresh-ms", type=int, default=1000)
    ap.add_argument("--query", default="", help="more of the wall's query, e.g. 'tour=10' or 'view=d:110105'")
    ap.add_argument("--keep", action="store_true", help="keep the temporary VAR_DIR (store, redis, server log)")
    args = ap.parse_args(argv)

    var = Path(tempfile.mkdtemp(prefix="soak-", dir="/tmp"))
    port, rport = free_port(), free_port()
    while rport == port:
        rport = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        VAR_DIR=str(var),
        PORT=str(port),
        HOST="127.0.0.1",
        EMBEDDED_REDIS_PORT=str(rport),
        REFRESH_MS=str(args.refresh_ms),
        DEMO="true",
        PYTHONUNBUFFERED="1",
    )
    log_path = var / "server.log"
    print(
        f"{datetime.now().isoformat(timespec='seconds')}  {platform.node()} {platform.machine()} "
        f"cpus {len(os.sched_getaffinity(0))}  python {platform.python_version()}",
        flush=True,
    )
    print(
        f"VAR_DIR {var}  PORT {port}  EMBEDDED_REDIS_PORT {rport}  REFRESH_MS {args.refresh_ms}  server log {log_path}",
        flush=True,
    )
    log = open(log_path, "wb")  # noqa: SIM115 - the server writes to it until the finally below closes it
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    driver: webdriver.Chrome | None = None
    samples: list[dict[str, float]] = []
    stopping = False

    def on_term(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", server, 300)
        tok = subprocess.run(
            [sys.executable, "app.py", "tokens", "add", "soak", "--role", "command_center"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        m = re.search(r"token=(\S+)", tok.stdout)
        if not m:
            raise RuntimeError(f"no token in: {tok.stdout} {tok.stderr}")
        driver = browser()
        driver.get(f"http://127.0.0.1:{port}/wall?token={m.group(1)}" + (f"&{args.query}" if args.query else ""))
        rds_client = redis.Redis(host="127.0.0.1", port=rport, socket_timeout=5)
        prefix = env.get("HOTLINE_PREFIX", "hotline")
        redis_pid = next((c for c in children(server.pid) if "redis" in comm(c)), None)
        print(f"server pid {server.pid}  embedded redis pid {redis_pid}", flush=True)
        print(
            "  min  server_MB  redis_MB  ticks  heap_MB  dom  load(1/5/15)      redis_used_MB  stream_entries",
            flush=True,
        )
        t0 = time.monotonic()
        k = 0
        while not stopping:
            k += 1
            target = t0 + min(k * args.interval, args.minutes * 60)
            while not stopping and time.monotonic() < target:
                if server.poll() is not None:
                    raise RuntimeError(f"server exited with {server.returncode}; see {log_path}")
                time.sleep(min(1.0, max(0.0, target - time.monotonic())))
            if stopping:
                break
            minute = (time.monotonic() - t0) / 60
            srv, rds = rss_kb(server.pid), (rss_kb(redis_pid) if redis_pid else None)
            ticks = driver.execute_script("return window.wallTicks || 0;") or 0
            driver.execute_script("window.gc && window.gc();")
            heap = driver.execute_script("return performance.memory.usedJSHeapSize;") or 0
            dom = driver.execute_script("return document.getElementsByTagName('*').length;") or 0
            try:
                used = rds_client.info("memory")["used_memory"] / 1048576
                entries = sum(rds_client.xlen(f"{prefix}:{name}") for name in ("events", "presence"))
            except redis.RedisError:
                used, entries = 0.0, 0
            s: dict[str, Any] = {
                "min": minute,
                "server": (srv or 0) / 1024,
                "redis": None if rds is None else rds / 1024,
                "ticks": ticks,
                "heap": heap / 1e6,
            }
            samples.append(s)
            print(
                f"{minute:5.1f}  {s['server']:9.1f}  {(s['redis'] or 0):8.1f}  {ticks:5d}  {s['heap']:7.2f}  "
                f"{dom:4d}  {loadavg():16s}  {used:13.1f}  {entries:14,d}",
                flush=True,
            )
            if minute >= args.minutes - 0.01:
                break
    finally:
        summary(samples)
        if driver is not None:
            with contextlib.suppress(Exception):  # the browser may already be gone
                driver.quit()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)  # app.py stops its embedded Redis on the way out
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()
        if not args.keep:
            shutil.rmtree(var, ignore_errors=True)
        print(f"{datetime.now().isoformat(timespec='seconds')}  done  load {loadavg()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
