"""Load: simulated wall screens ticking every second against `gunicorn app:server -w N`, while the demo feed runs.

Starts, on loopback, in a fresh PostgreSQL schema and Redis key prefix: the store's migration, one ingest
process (`python app.py ingest`, with its projectors), the demo feed (`python app.py simulate`, after
`--backfill` days of history) and gunicorn. Then viewers, each a real wall tick as a browser sends it
(benchmarks/tick_client.py: its display-token cookie, the figures' version and view it shows sent back
every tick; no overlap: the next tick waits for the answer), spread over 20 views (the city, 9 districts,
10 streets) and three roles (command center, district leader, street leader). The number of viewers steps
up (--steps); each step's first --ramp seconds (the new screens' first, full ticks) are reported apart from its
steady state (--seconds); per step it prints tick latency (p50, p95, max), errors, the web server's memory (RSS
of gunicorn's processes), whether ingest keeps up (the group's lag on the stream) and the ramp's p95 and max.
Measuring starts once the backfill is ingested and folded.

    python benchmarks/load.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test --steps 50,100,200,300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import redis
import requests
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.tick_client import TICK_URL, Viewer, tick_spec  # noqa: E402
from dashboard.scopes import Scope  # noqa: E402
from dashboard.settings import load_settings  # noqa: E402
from data_access.accounts.sessions import issue_display_token  # noqa: E402
from data_access.projection.projector import all_folded  # noqa: E402
from data_access.store.engine import make_engine, make_sessionmaker  # noqa: E402
from geo.city_index import index_of  # noqa: E402
from geo.loader import load_city  # noqa: E402


@dataclass
class Step:
    """Latencies and errors of one step."""

    lat: list[float] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _viewer(v: Viewer, spec: dict[str, Any], port: int, step: list[Step], stop: asyncio.Event) -> None:
    """One screen: a keep-alive connection, a tick each second (never two at once), latency per answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.sleep(random.random())  # screens do not all open in the same millisecond
    while not stop.is_set():
        start = time.perf_counter()
        body = v.body(spec)
        head = (
            f"POST {TICK_URL} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Cookie: {v.cookie_header()}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            writer.write(head + body)
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answer = await reader.readexactly(length)
            took = time.perf_counter() - start
            if status in (200, 204):
                if status == 200:
                    v.took(answer, spec)
                step[-1].lat.append(took)
            else:
                step[-1].errors += 1
                step[-1].last_error = f"HTTP {status}: {answer[:120]!r}"
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            step[-1].errors += 1
            step[-1].last_error = repr(exc)[:160]
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            took = time.perf_counter() - start
        await asyncio.sleep(max(0.0, 1.0 - took))
    writer.close()


def _views_and_scopes(city: Any) -> list[tuple[str, Scope]]:
    """20 views (city, 9 districts, 10 streets), each with the roles that may see it: (search, scope) pairs."""
    refs = index_of(city)
    districts = sorted(refs.district_name)[:9]
    streets = [s for s in sorted(refs.street_name) if refs.street_district.get(s) in districts][::7][:10]
    out: list[tuple[str, Scope]] = [("?view=city", Scope("command_center"))]
    for d in districts:
        out += [(f"?view=d:{d}", Scope("command_center")), (f"?view=d:{d}", Scope("district_leader", district=d))]
    for s in streets:
        d = refs.street_district[s]
        out += [
            (f"?view=s:{s}", Scope("command_center")),
            (f"?view=s:{s}", Scope("district_leader", district=d)),
            (f"?view=s:{s}", Scope("street_leader", street=s)),
        ]
    return out


def _rss(proc: subprocess.Popen[bytes]) -> float:
    p = psutil.Process(proc.pid)
    return sum(x.memory_info().rss for x in [p, *p.children(recursive=True)]) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--steps", default="50,100,200,300")
    ap.add_argument("--seconds", type=float, default=30, help="each step's steady state, measured")
    ap.add_argument(
        "--ramp", type=float, default=10, help="seconds after a step's new screens open, reported apart (ramp_*)"
    )
    ap.add_argument("--backfill", type=float, default=2, help="days of history the demo feed writes first")
    ap.add_argument("--shared", default="true", help="SHARED_SNAPSHOTS of the web workers")
    ap.add_argument("--port", type=int, default=0, help="gunicorn's port (0: any free one)")
    args = ap.parse_args()

    schema = f"load_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.url)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{args.url}?options=-csearch_path%3D{schema}"
    prefix = f"load-{uuid.uuid4().hex[:8]}"
    var = ROOT / "var" / "test-cache"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "HOTLINE_PREFIX": prefix,
        "VAR_DIR": str(var),
        "DEMO": "false",
        "SHARED_SNAPSHOTS": args.shared,
    }
    procs: list[subprocess.Popen[bytes]] = []
    logs = Path(f"/tmp/{prefix}")
    logs.mkdir()

    def start(name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(logs / f"{name}.out", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
        procs.append(p)
        return p

    rds = redis.Redis.from_url(args.redis_url)
    try:
        subprocess.run([sys.executable, "app.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        settings = load_settings(var_dir=var)
        city = load_city(settings)
        t0 = time.time()
        subprocess.run(
            [sys.executable, "app.py", "simulate", "--backfill", str(args.backfill), "--no-live"],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        start("ingest", [sys.executable, "app.py", "ingest"])
        start("feed", [sys.executable, "app.py", "simulate"])
        port = args.port or _free_port()
        web = start(
            "web",
            [sys.executable, "-m", "gunicorn", "app:server", "-w", str(args.workers), "-k", "gthread"]
            + ["--threads", str(args.threads), "-b", f"127.0.0.1:{port}", "--worker-connections", "2000"]
            + ["--keep-alive", "10"],  # as the README runs it: ticks come each second over kept connections
        )
        base = f"http://127.0.0.1:{port}"
        stream = f"{prefix}:events"
        while True:  # the backfill ingested and both workers up
            for p in procs:
                if p.poll() is not None:
                    raise SystemExit(f"a process ended early; see {logs}/: {p.args!r}")
            lag = _lag(rds, stream, settings.consumer_group)
            try:
                ok = requests.get(f"{base}/healthz", timeout=5).status_code in (200, 503)
            except requests.RequestException:
                ok = False
            if ok and lag is not None and lag < 100:
                break
            time.sleep(1)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        while True:  # and folded: a projection catching up changes half the map's counts at once
            with sessions() as s:
                if all_folded(s):
                    break
            time.sleep(1)
        print(f"backfill of {args.backfill} days ingested and web up in {time.time() - t0:.0f} s", flush=True)
        pairs = _views_and_scopes(city)
        tokens: dict[str, str] = {}
        with sessions() as s, s.begin():
            for _, scope in pairs:
                if scope.describe() not in tokens:
                    tokens[scope.describe()] = issue_display_token(s, "load", scope, datetime.now(UTC))[1]
        spec = tick_spec(
            requests.get(f"{base}/_dash-dependencies", cookies={"cc_display": tokens["command_center:city"]}).json()
        )
        with sessions() as s:
            appeals = s.execute(text("SELECT count(*) FROM appeals")).scalar()
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.workers} gunicorn workers x "
            f"{args.threads} threads; {len(pairs)} (view, role) pairs over 20 views; store {appeals} appeals; "
            f"SHARED_SNAPSHOTS={args.shared}; each step {args.seconds:g} s",
            flush=True,
        )
        print(
            "viewers  ticks  p50_ms  p95_ms  max_ms  errors  web_rss_MB  ingest_lag  load1  ramp_p95_ms  ramp_max_ms",
            flush=True,
        )
        asyncio.run(_run(args, pairs, tokens, spec, port, web, rds, stream, settings.consumer_group))
    finally:
        for p in procs:  # gunicorn's workers too: a worker busy with a tick outlives its master's graceful stop
            for child in psutil.Process(p.pid).children(recursive=True) if p.poll() is None else []:
                child.kill()
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        for k in rds.scan_iter(f"{prefix}:*"):
            rds.delete(k)
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def _lag(rds: redis.Redis, stream: str, group: str) -> int | None:
    try:
        for g in rds.xinfo_groups(stream):
            if g["name"].decode() == group:
                return int(g.get("lag") or 0) + int(g["pending"])
    except redis.ResponseError:
        return None
    return None


def _q(lat: list[float], p: float) -> float:
    return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000


async def _run(args, pairs, tokens, spec, port, web, rds, stream, group) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    steps: list[Step] = [Step()]
    tasks: list[asyncio.Task[None]] = []
    for n in (int(x) for x in args.steps.split(",")):
        while len(tasks) < n:
            search, scope = pairs[len(tasks) % len(pairs)]
            v = Viewer("/wall", search, {"cc_display": tokens[scope.describe()]})
            tasks.append(asyncio.create_task(_viewer(v, spec, port, steps, stop)))
        steps.append(Step())  # the ramp: the new screens' first (full) ticks, each worker's first cut of their views
        await asyncio.sleep(args.ramp)
        ramp = sorted(steps[-1].lat) or [float("nan")]
        steps.append(Step())
        await asyncio.sleep(args.seconds)
        st = steps[-1]
        lat = sorted(st.lat) or [float("nan")]
        print(
            f"{n:7d}  {len(st.lat):5d}  {_q(lat, 0.5):6.0f}  {_q(lat, 0.95):6.0f}  {lat[-1] * 1000:6.0f}  "
            f"{st.errors + steps[-2].errors:6d}  "
            f"{_rss(web):10.0f}  {_lag(rds, stream, group)!s:>10}  {os.getloadavg()[0]:5.1f}  "
            f"{_q(ramp, 0.95):11.0f}  {ramp[-1] * 1000:11.0f}"
            + (f"  last error: {st.last_error or steps[-2].last_error}" if st.errors + steps[-2].errors else ""),
            flush=True,
        )
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    main()
