"""Who is asking: sign-in sessions and display tokens, each bound to a scope.

The audit log is kept with the accounts (users.audit).

A web worker trusts an identity it resolved for a second (`identity`; data_access/accounts/trust.py): a screen
ticking every second costs one lookup a second per worker, not one per request. A session ended or a token
revoked through this module is refused by this process from the next request on; by another process (the
command line, another web worker) within that second.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash

from dashboard.scopes import Scope
from data_access.accounts.trust import forget_identities, trusted
from data_access.accounts.users import (
    DUMMY_HASH,
    AccountError,
    audit,
    check_area,
    grids_text,
    scope_of,
)
from data_access.store.models import (
    DisplayToken,
    LoginSession,
    User,
)


@dataclass(frozen=True)
class Identity:
    """Who is asking: a user or a display, and the scope that bounds every answer."""

    name: str
    scope: Scope
    kind: str  # "user" | "display"


def identity(
    sessions: sessionmaker[Session], session_token: str | None, display_token: str | None, now: datetime
) -> Identity | None:
    """Who a request's session cookie or display token stands for (the session first), or None; resolved from the
    store at most once a second per worker (data_access/accounts/trust.py)."""

    def resolve() -> Identity | None:
        with sessions() as s, s.begin():
            if session_token:
                found = session_identity(s, session_token, now)
                if found:
                    return found
            return display_identity(s, display_token, now) if display_token else None

    key = (_hash(session_token) if session_token else None, _hash(display_token) if display_token else None)
    return trusted(key, resolve)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(session: Session, username: str, password: str, now: datetime, hours: float) -> str | None:
    """Check the password and open a session; the cookie's token, or None (and an audit entry)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(DUMMY_HASH, password)  # same time whether or not the user exists
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        audit(session, username[:64], "sign-in-refused", "bad user, password or disabled account", now)
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(token_hash=_hash(token), user_id=user.id, created_at=now, expires_at=now + timedelta(hours=hours))
    )
    return token


def session_identity(session: Session, token: str, now: datetime) -> Identity | None:
    """The signed-in user of a session cookie, if the session is live and the account unchanged."""
    row = session.get(LoginSession, _hash(token))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or row.created_at < user.changed_at:
        return None
    return Identity(user.username, scope_of(user), "user")


def sign_out(session: Session, token: str) -> None:
    """End a session."""
    forget_identities(session)
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _hash(token)))


def issue_display_token(session: Session, name: str, scope: Scope, now: datetime) -> tuple[int, str]:
    """A new display token (id, secret); the secret is shown once and stored only hashed."""
    check_area(session, scope)
    token = secrets.token_urlsafe(32)
    row = DisplayToken(
        name=name,
        token_hash=_hash(token),
        role=scope.role,
        district=scope.district,
        street=scope.street,
        grids=grids_text(scope),
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit(session, "admin", "display-token-issued", f"#{row.id} {name} {scope.describe()}", now)
    return row.id, token


def display_identity(session: Session, token: str, now: datetime) -> Identity | None:
    """The display a token belongs to, unless revoked."""
    row = session.scalar(select(DisplayToken).where(DisplayToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    return Identity(f"display:{row.name}", scope_of(row), "display")


def revoke_display_token(session: Session, token_id: int, now: datetime) -> None:
    """Revoke a display token: its screen gets nothing from the next request on."""
    row = session.get(DisplayToken, token_id)
    if row is None:
        raise AccountError(f"no display token #{token_id}")
    row.revoked_at = now
    forget_identities(session)
    audit(session, "admin", "display-token-revoked", f"#{token_id} {row.name}", now)
