"""`gunicorn app:server -w 2`: two web workers serve one display token and one signed-in user alike.

Sign-in sessions and display tokens live in the store and sign-in lockout counts in Redis, so whichever worker
answers a request knows its viewer; the access log names the worker (pid) of each request."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from benchmarks.tick_client import TICK_URL, Viewer, tick_spec
from dashboard.scopes import Scope
from data_access.accounts.users import create_user
from tests.conftest import CACHE_DIR, REDIS_URL, display_token, make_store
from tests.wall_support import put_events, put_presence, scenario

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    subprocess.run([sys.executable, "-m", "gunicorn", "--version"], capture_output=True).returncode != 0,
    reason="gunicorn is not installed (requirements.txt)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def web(tmp_path, city, gazetteer, settings, prefix, rds) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Two gunicorn workers over a PostgreSQL store holding the wall scenario, a district display, a user."""
    with make_store("postgresql", tmp_path, city) as (_, sessions, url):
        now = datetime.now(UTC).replace(microsecond=0)
        sc = scenario(city, now)
        put_events(sessions, sc["texts"], settings, gazetteer)
        put_presence(sessions, sc["beats"], now)
        district = city.communities.set_index("code").loc[sc["c1"], "district"]
        with sessions() as s, s.begin():
            create_user(s, "chief", "correct horse battery", Scope("command_center"), now)
            create_user(s, "victim", "correct horse battery", Scope("command_center"), now)
        token = display_token(sessions, Scope("district_leader", district=district))
        port = _free_port()
        log = tmp_path / "access.log"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "HOTLINE_PREFIX": prefix,
            "VAR_DIR": str(CACHE_DIR),
            "DEMO": "false",
            "LOGIN_FAILS_PER_ACCOUNT": "3",
        }
        err = (tmp_path / "gunicorn.err").open("w")  # closed after the server ends
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "app:server", "-w", "2", "-k", "gthread", "--threads", "4"]
            + ["-b", f"127.0.0.1:{port}", "--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s %(U)s"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):  # start-up: each worker loads the city (seconds); until both have answered
                with contextlib.suppress(requests.ConnectionError, requests.Timeout):
                    requests.get(f"{base}/healthz", timeout=5, headers={"Connection": "close"})
                assert proc.poll() is None, (tmp_path / "gunicorn.err").read_text()[-3000:]
                if log.exists() and len(set().union(*_workers(log, "/healthz").values())) == 2:
                    break
                time.sleep(0.1)
            yield {"base": base, "token": token, "log": log, "sc": sc, "district": district}
        finally:
            proc.terminate()
            proc.wait(30)
            err.close()


def _tick(base: str, viewer: Viewer, spec: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(
        f"{base}{TICK_URL}",
        data=viewer.body(spec),
        headers={"Content-Type": "application/json", "Cookie": viewer.cookie_header(), "Connection": "close"},
        timeout=60,
    )
    assert r.status_code == 200, r.text[:300]
    return viewer.took(r.content, spec)


def _workers(log: Path, path: str) -> dict[str, set[str]]:
    """Per status, the worker pids that answered requests of `path`."""
    out: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        pid, status, p = line.split(" ", 2)
        if p == path:
            out.setdefault(status, set()).add(pid)
    return out


def test_two_workers_serve_one_display_and_one_user(web) -> None:  # type: ignore[no-untyped-def]
    base, sc, district = web["base"], web["sc"], web["district"]
    # the display link sets its cookie and drops the token from the address
    r = requests.get(f"{base}/wall?token={web['token']}", allow_redirects=False, timeout=60)
    assert r.status_code == 302 and "token" not in r.headers["Location"]
    display = Viewer("/wall", "", {"cc_display": r.cookies["cc_display"] or ""})
    # the user signs in on whichever worker answers
    r = requests.post(
        f"{base}/login", data={"username": "chief", "password": "correct horse battery"}, allow_redirects=False
    )
    assert r.status_code == 302
    user = Viewer("/wall", f"?view=d:{district}", {"cc_session": r.cookies["cc_session"] or ""})
    spec = tick_spec(requests.get(f"{base}/_dash-dependencies", headers={"Cookie": user.cookie_header()}).json())
    with ThreadPoolExecutor(2) as pool:  # both screens tick at once, each on a new connection: both workers work
        for i in range(60):  # 12 rounds, then on until both workers answered ticks (the kernel picks the worker:
            # on a busy machine one may take every connection for a while)
            shown, mine = pool.map(lambda v: _tick(base, v, spec), (display, user))
            if i >= 11 and len(_workers(web["log"], TICK_URL).get("200", set())) == 2:
                break
    first = _tick(base, Viewer("/wall", "", display.cookies), spec)  # a new screen gets every figure
    assert first["m-open-red"]["children"] == "2"
    assert display.view == f"d:{district}" and user.view == f"d:{district}"  # the display opens on its district
    assert shown is not None and mine is not None
    full_user = _tick(base, Viewer("/wall", f"?view=d:{district}", user.cookies), spec)
    # the same view for both; the user (command center) sees every district's communities, the display only its own
    assert set(first["wall-communities"]["hideout"]["pts"]) <= set(full_user["wall-communities"]["hideout"]["pts"])
    # an export with the user's cookie, from any worker
    r = requests.get(f"{base}/export/appeals.csv?area=/area/s/{sc['street']}", headers={"Cookie": user.cookie_header()})
    assert r.status_code == 200 and "text/csv" in r.headers["Content-Type"]
    # no cookie, no figures
    r = requests.post(f"{base}{TICK_URL}", data=Viewer("/wall", "").body(spec))
    assert r.status_code in (401, 403)
    by_status = _workers(web["log"], TICK_URL)
    assert len(by_status["200"]) == 2, by_status  # both workers answered ticks, and every tick of a viewer succeeded


def test_sign_in_lockout_counts_across_workers(web) -> None:  # type: ignore[no-untyped-def]
    base = web["base"]

    def fail(_: int) -> None:
        requests.post(
            f"{base}/login", data={"username": "victim", "password": "wrong"}, headers={"Connection": "close"}
        )

    with ThreadPoolExecutor(2) as pool:
        for i in range(40):  # pairs of wrong passwords (at least 4 > the limit of 3) until both workers counted some
            list(pool.map(fail, range(2)))
            if i >= 1 and len(set().union(*_workers(web["log"], "/login").values())) == 2:
                break
    assert len(set().union(*_workers(web["log"], "/login").values())) == 2
    r = requests.post(
        f"{base}/login", data={"username": "victim", "password": "correct horse battery"}, allow_redirects=False
    )
    assert r.status_code == 429 and "cc_session" not in r.cookies  # locked, whichever worker counted the failures
