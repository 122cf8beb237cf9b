"""How long a web worker trusts an identity it resolved, and forgetting them when accounts change.

A screen ticks every second: without this each tick would read its session or display token from the store.
Trusted for `IDENTITY_TTL_S` per worker; any change that ends a session, revokes a token or changes a user calls
`forget_identities`, so this process refuses it from the next request on, and every other process within
`IDENTITY_TTL_S`."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from dashboard.ttl_cache import TTLCache

T = TypeVar("T")

#: Seconds a worker trusts an identity it resolved (one screen refresh).
IDENTITY_TTL_S = 1.0
_trusted = TTLCache(4096)


def trusted(key: Hashable, resolve: Callable[[], T]) -> T:
    """The identity of `key` (hashes of the request's credentials) resolved at most IDENTITY_TTL_S ago."""
    return _trusted.get(key, IDENTITY_TTL_S, resolve)


def forget_identities(session: Session) -> None:
    """Trust no resolved identity any more, now and again once `session` commits (a request between now and the
    commit could have resolved the old state)."""
    _trusted.clear()
    event.listen(session, "after_commit", lambda _s: _trusted.clear(), once=True)
