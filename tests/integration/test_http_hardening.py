"""HTTP hardening over real requests: security headers on every answer, the sign-in lockout (counted in
Redis, shared by app instances), X-Forwarded-* trusted only from configured proxies, traversal paths 404."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.serving import make_server

from dashboard.scopes import Scope
from dashboard.settings import Settings
from data_access.accounts.users import create_user
from tests.conftest import REDIS_URL, make_store
from tests.wall_support import services

PASSWORD = "correct horse"
TRAVERSALS = (
    "/_dash-component-suites/../..",
    "/_dash-component-suites/../../app.py",
    "/_dash-component-suites/dash/../../../etc/passwd",
    "/_dash-component-suites/%2e%2e/%2e%2e/etc/passwd",
    "/_dash-component-suites/dash/..%2f..%2fapp.py",
    "/_dash-component-suites/dash/deps/nope.js",
    "/_dash-component-suites/nope/x.js",
    "/assets/../app.py",
    "/assets/..%2fapp.py",
    "/assets/..%5capp.py",
    "/login/../api/v1/districts",
    "/../../etc/passwd",
    "/api/v1/../../etc/passwd",
    "/area/%00",
    "/a/./b",
)


@pytest.fixture()
def store(tmp_path, city):  # type: ignore[no-untyped-def]
    """The checks are about HTTP, not SQL dialects: one backend."""
    with make_store("sqlite", tmp_path, city) as st:
        _, sessions, _ = st
        with sessions() as s, s.begin():
            for name in ("lee", "wang"):
                create_user(s, name, PASSWORD, Scope("command_center"), datetime.now(UTC))
        yield st


def make_app(settings: Settings, store, city, rds, **change: Any) -> Any:  # type: ignore[no-untyped-def]
    """The real app (create_app) over the test store, with some settings changed."""
    from app import create_app

    return create_app(services(settings.model_copy(update=change), store, city, rds, REDIS_URL))


@pytest.fixture()
def app(settings, store, city, rds) -> Any:  # type: ignore[no-untyped-def]
    return make_app(settings, store, city, rds)


def sign_in(client: Any, name: str, password: str, addr: str = "10.0.0.1", url: str = "/login", **headers: str) -> Any:
    """POST the sign-in form from an address."""
    return client.post(
        url, data={"username": name, "password": password}, headers=headers, environ_base={"REMOTE_ADDR": addr}
    )


def assert_hardened(resp: Any) -> None:
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


# -- headers ------------------------------------------------------------------------------------
def test_security_headers_on_every_answer(app) -> None:  # type: ignore[no-untyped-def]
    c = app.server.test_client()
    anonymous = [
        c.get("/login"),
        c.get("/"),
        c.get("/api/v1/districts"),
        c.get("/assets/wall.css"),
        c.get("/_dash-component-suites/nope/x.js"),
    ]
    assert [r.status_code for r in anonymous] == [200, 302, 401, 200, 404]
    assert sign_in(c, "lee", PASSWORD).status_code == 302
    signed_in = [
        c.get("/"),
        c.get("/api/v1/districts"),
        c.get("/healthz"),
        c.get("/_dash-layout"),
        c.get("/api/v1/appeals/NOPE"),
        c.get("/export/nope.csv?area=/area"),
    ]
    assert [r.status_code for r in signed_in] == [200, 200, signed_in[2].status_code, 200, 404, 404]
    assert signed_in[2].status_code in (200, 503)  # no ingest runs here: health may say so
    for resp in anonymous + signed_in:
        assert_hardened(resp)
    # Dash's page still loads its scripts: the CSP limits framing only.
    assert "script-src" not in signed_in[0].headers["Content-Security-Policy"]


def test_assets_named_by_their_version_are_kept(app) -> None:  # type: ignore[no-untyped-def]
    """The page's assets, named with their file's version (?m=…), are kept by the browser rather than asked again on
    every page opened; the same file without a version is not."""
    c = app.server.test_client()
    assert sign_in(c, "lee", PASSWORD).status_code == 302
    page_js = [u for u in c.get("/").get_data(as_text=True).split('"') if u.startswith("/assets/") and "?m=" in u]
    assert page_js, "the page names its assets with a version"
    kept = c.get(page_js[0])
    assert kept.status_code == 200 and kept.cache_control.max_age == 31536000 and kept.cache_control.public
    assert c.get(page_js[0].split("?")[0]).cache_control.max_age is None
    assert_hardened(kept)


# -- sign-in lockout ----------------------------------------------------------------------------
def test_lockout_per_account(app, settings) -> None:  # type: ignore[no-untyped-def]
    c = app.server.test_client()
    codes = [sign_in(c, "lee", f"wrong-{i}", addr=f"10.1.0.{i}").status_code for i in range(30)]
    n = settings.login_fails_per_account
    assert codes == [200] * n + [429] * (30 - n)
    locked = sign_in(c, "lee", PASSWORD, addr="10.2.0.1")  # the right password, from a fresh address
    assert locked.status_code == 429 and "cc_session" not in locked.headers.get("Set-Cookie", "")
    assert "分钟后再试" in locked.get_data(as_text=True)
    assert "try again in" in sign_in(c, "lee", PASSWORD, addr="10.2.0.2", url="/login?lang=en").get_data(as_text=True)
    assert int(locked.headers["Retry-After"]) > 0
    assert_hardened(locked)
    assert sign_in(c, "wang", PASSWORD, addr="10.2.0.4").status_code == 302  # other accounts are not locked
    assert c.get("/login").status_code == 200  # the page itself still opens


def test_lockout_per_address(app, settings) -> None:  # type: ignore[no-untyped-def]
    c = app.server.test_client()
    codes = [sign_in(c, f"guess{i}", "wrong password", addr="10.3.0.1").status_code for i in range(30)]
    n = settings.login_fails_per_address
    assert codes == [200] * n + [429] * (30 - n)
    assert sign_in(c, "lee", PASSWORD, addr="10.3.0.1").status_code == 429  # any account, right password too
    assert sign_in(c, "lee", PASSWORD, addr="10.3.0.2").status_code == 302  # from another address: fine


def test_lockout_counts_are_in_redis(settings, store, city, rds) -> None:  # type: ignore[no-untyped-def]
    """Two app instances (two gunicorn workers) see the same counts."""
    one, two = (make_app(settings, store, city, rds).server.test_client() for _ in range(2))
    for i in range(settings.login_fails_per_account):
        assert sign_in(one, "lee", "wrong password", addr=f"10.4.0.{i}").status_code == 200
    assert sign_in(two, "lee", PASSWORD, addr="10.4.1.1").status_code == 429
    assert list(rds.scan_iter(f"{settings.hotline_prefix}:sign-in*"))


def test_right_password_does_not_count(app, settings) -> None:  # type: ignore[no-untyped-def]
    c = app.server.test_client()
    for _ in range(settings.login_fails_per_account + 2):
        assert sign_in(c, "lee", PASSWORD).status_code == 302


def test_limits_come_from_settings(settings, store, city, rds) -> None:  # type: ignore[no-untyped-def]
    c = make_app(settings, store, city, rds, login_fails_per_account=2).server.test_client()
    codes = [sign_in(c, "lee", "wrong password", addr=f"10.5.0.{i}").status_code for i in range(3)]
    assert codes == [200, 200, 429]


# -- proxies ------------------------------------------------------------------------------------
def test_secure_cookie_behind_trusted_proxy(settings, store, city, rds) -> None:  # type: ignore[no-untyped-def]
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    trusted = make_app(settings, store, city, rds, trusted_proxies=1).server.test_client()
    resp = sign_in(trusted, "lee", PASSWORD, **https)
    assert resp.status_code == 302 and "; Secure" in resp.headers["Set-Cookie"]
    assert "; Secure" not in sign_in(trusted, "lee", PASSWORD).headers["Set-Cookie"]  # plain http via the proxy
    direct = make_app(settings, store, city, rds).server.test_client()  # TRUSTED_PROXIES=0: headers ignored
    resp = sign_in(direct, "lee", PASSWORD, **https)
    assert resp.status_code == 302 and "Secure" not in resp.headers["Set-Cookie"]


def test_forwarded_for_only_from_trusted_proxy(settings, store, city, rds) -> None:  # type: ignore[no-untyped-def]
    """With no trusted proxy a client cannot dodge the address lock by claiming other addresses."""
    n = settings.login_fails_per_address
    direct = make_app(settings, store, city, rds).server.test_client()
    codes = [
        sign_in(direct, f"guess{i}", "wrong", addr="10.6.0.1", **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(n + 1)
    ]
    assert codes[-1] == 429
    proxied = make_app(settings, store, city, rds, trusted_proxies=1).server.test_client()
    codes = [
        sign_in(proxied, f"guess{i}", "wrong", addr="10.7.0.1", **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(n + 1)
    ]
    assert codes[-1] == 200  # behind the proxy each client is its own address


# -- traversal ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_is_404(app, path: str) -> None:  # type: ignore[no-untyped-def]
    c = app.server.test_client()
    for client in (c, _signed_in(c)):
        resp = client.get(path)
        assert resp.status_code == 404, (path, resp.status_code)
        assert_hardened(resp)


def _signed_in(c: Any) -> Any:
    assert sign_in(c, "wang", PASSWORD).status_code == 302
    return c


@pytest.fixture()
def served(app) -> Iterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """The app behind a real HTTP server on a free port."""
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", server.server_port
    server.shutdown()
    thread.join()


def test_traversal_over_the_wire(served) -> None:  # type: ignore[no-untyped-def]
    """Raw request lines, not normalised by any client library."""
    host, port = served
    for path in TRAVERSALS:
        conn = http.client.HTTPConnection(host, port)
        conn.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 404, (path, resp.status)
        assert resp.getheader("X-Frame-Options") == "DENY"
        resp.read()
        conn.close()
