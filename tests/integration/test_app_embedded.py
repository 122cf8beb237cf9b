"""`python app.py` on embedded defaults: its own Redis and SQLite, the demo city and the demo feed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import redis

from geo.demo_city import demo_cache_dir
from tests.conftest import CACHE_DIR, ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _get_quiet(url: str) -> tuple[int, dict[str, Any]] | None:
    try:
        return _get(url)
    except (urllib.error.URLError, ConnectionError):
        return None


def test_app001_serves_everything_on_embedded_defaults(tmp_path: Path, city) -> None:  # type: ignore[no-untyped-def]
    port, rport = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        VAR_DIR=str(tmp_path / "var"),
        PORT=str(port),
        EMBEDDED_REDIS_PORT=str(rport),
        DEMO_SPEEDUP="1",
        DEMO_BACKFILL_DAYS="0.1",
    )  # a backfill, but not days of it competing with the checks for the CPU
    # The demo city as a second start finds it (the first start's build is tests/unit/test_geo_demo.py's).
    shutil.copytree(demo_cache_dir(CACHE_DIR), demo_cache_dir(tmp_path / "var"))
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        report: dict[str, Any] = {}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and _get_quiet(f"{base}/healthz") is None:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.5)
        # Anonymous: ok or not, nothing else; with a display token issued by the CLI: the full report.
        assert set(_get(f"{base}/healthz")[1]) == {"ok"}
        assert _get(f"{base}/api/v1/districts")[0] == 401
        cli = subprocess.run(
            [sys.executable, "app.py", "tokens", "add", "test", "--role", "command_center"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        token = cli.stdout.split("token=")[1].split()[0]
        while time.monotonic() < deadline:
            try:
                status, report = _get(f"{base}/healthz", token)
                if status == 200 and report.get("ingest", {}).get("stored", 0) > 0:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.5)
        assert report.get("ok") and report["redis"]["ok"] and report["store"]["ok"], report
        assert report["fold"]["running"] is True and report["fold"]["queued"] >= 0, report
        assert (tmp_path / "var" / "store.sqlite").exists()
        # The demo feed wrote contract events into the embedded Redis; they reach the read API.
        # (The feed first carries on the backfilled appeals, so a new one may take a while to be accepted.)
        client = redis.Redis(port=rport)
        created: list[dict[str, Any]] = []
        deadline = time.monotonic() + 120
        while not created and time.monotonic() < deadline:
            entries: Any = client.xrange("hotline:events")
            created = [json.loads(f[b"event"]) for _, f in entries if b'"created"' in f[b"event"]]
            time.sleep(0.5)
        assert created, f"no created event among {client.xlen('hotline:events')} entries"
        status, body = 404, dict[str, Any]()
        deadline = time.monotonic() + 60
        while status != 200 and time.monotonic() < deadline:
            status, body = _get(f"{base}/api/v1/appeals/{created[0]['appeal']}", token)
            time.sleep(0.3)
        assert status == 200 and body["light"] in ("green", "yellow", "red", "on_time", "late"), body
        assert body["district"] and body["events"][0]["type"] == "created"
        assert _get(f"{base}/api/v1/appeals/nope", token)[0] == 404
        assert _get(f"{base}/api/v1/grids", token)[0] == 400
        status, layer = _get(f"{base}/api/v1/districts", token)
        assert status == 200 and len(layer["features"]) == 16
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert "redis (embedded)" in out and "store: sqlite" in out and "store-log.sqlite" in out
    # SIGTERM stops the embedded Redis too.
    try:
        redis.Redis(port=rport, socket_connect_timeout=1).ping()
        still_up = True
    except redis.ConnectionError:
        still_up = False
    assert not still_up
