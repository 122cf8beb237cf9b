"""Sign-in lockout: after too many wrong passwords for one account, or from one address, within a window,
every further sign-in (the right password too) gets HTTP 429 until the oldest failure leaves the window.

Flask-Limiter keeps the counts in the app's Redis, so every worker of an installation sees the same counts;
only failed sign-ins count (`deduct_when`), and a locked request is refused before the password is checked."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, Response, g, request
from flask_limiter import Limiter, RequestLimit

from dashboard.settings import Settings

log = logging.getLogger(__name__)

#: A decorator of a Flask view.
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
_FAILED = "_sign_in_failed"


def count_failure() -> None:
    """Mark this sign-in request as failed: it counts against the account and the address."""
    setattr(g, _FAILED, True)


def _failed(_resp: Response) -> bool:
    return bool(getattr(g, _FAILED, False))


def _account() -> str:
    return "account:" + request.form.get("username", "")[:64]


def _address() -> str:
    return f"address:{request.remote_addr or 'unknown'}"


def sign_in_limits(server: Flask, settings: Settings, redis_url: str, locked: Callable[[int], Response]) -> Decorator:
    """Install a limiter on the server; the decorator for the sign-in view. `locked(minutes)` is the 429 answer."""
    # Own pool, short timeouts: a sign-in must not hang on Redis (if Redis fails, sign-in is not locked; logged).
    pool = redis.ConnectionPool.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    limiter = Limiter(
        _address,
        app=server,
        strategy="moving-window",
        storage_uri="redis://",
        swallow_errors=True,
        storage_options={"connection_pool": pool, "key_prefix": f"{settings.hotline_prefix}:sign-in"},  # type: ignore[dict-item]
    )
    limiter.request_filter(lambda: request.path != "/login")  # every other request skips the limiter at once

    def on_breach(limit: RequestLimit) -> Response:
        minutes = max(1, math.ceil((limit.reset_at - time.time()) / 60))
        log.warning("sign-in locked for %d min: %s", minutes, limit.key)
        resp = locked(minutes)
        resp.status_code = 429
        resp.headers["Retry-After"] = str(minutes * 60)
        return resp

    window = f"{settings.login_lock_minutes} minutes"
    per_account = limiter.limit(
        f"{settings.login_fails_per_account} per {window}",
        key_func=_account,
        methods=["POST"],
        deduct_when=_failed,
        on_breach=on_breach,
    )
    per_address = limiter.limit(
        f"{settings.login_fails_per_address} per {window}",
        key_func=_address,
        methods=["POST"],
        deduct_when=_failed,
        on_breach=on_breach,
    )
    return lambda view: per_address(per_account(view))
