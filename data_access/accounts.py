"""Accounts, sign-in sessions, display tokens and the audit log, kept in the store."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.scopes import Scope, ScopeError
from data_access.models import AuditEntry, DisplayToken, District, Grid, LoginSession, Street, User

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD = 8
_DUMMY_HASH = generate_password_hash("timing-equaliser")


class AccountError(ValueError):
    """An account change that cannot be made; the message says why."""


@dataclass(frozen=True)
class Identity:
    """Who is asking: a user or a display, and the scope that bounds every answer."""

    name: str
    scope: Scope
    kind: str  # "user" | "display"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _grids_text(scope: Scope) -> str | None:
    return ",".join(sorted(scope.grids)) or None


def scope_of(row: User | DisplayToken) -> Scope:
    """The scope stored with a user or display token."""
    grids = frozenset(g for g in (row.grids or "").split(",") if g)
    return Scope(row.role, district=row.district, street=row.street, grids=grids)


def check_area(session: Session, scope: Scope) -> None:
    """Refuse a scope whose district, street or grids are not in the city."""
    if scope.district and session.get(District, scope.district) is None:
        raise AccountError(f"unknown district {scope.district!r}")
    if scope.street and session.get(Street, scope.street) is None:
        raise AccountError(f"unknown street {scope.street!r}")
    if scope.grids:
        known = set(session.scalars(select(Grid.code).where(Grid.code.in_(sorted(scope.grids)))))
        missing = sorted(scope.grids - known)
        if missing:
            raise AccountError(f"unknown grids: {', '.join(missing[:5])}")


def make_scope(role: str, area: str | None) -> Scope:
    """A scope from a role and its area text (district code, street code or comma-separated grids)."""
    try:
        if role == "district_leader":
            return Scope(role, district=area)
        if role == "street_leader":
            return Scope(role, street=area)
        if role == "grid_supervisor":
            return Scope(role, grids=frozenset(g.strip() for g in (area or "").split(",") if g.strip()))
        return Scope(role)
    except ScopeError as exc:
        raise AccountError(str(exc)) from None


def create_user(session: Session, username: str, password: str, scope: Scope, now: datetime) -> User:
    """A new active user."""
    if not USERNAME.match(username):
        raise AccountError("username: 2-64 letters, digits, '.', '_' or '-'")
    if session.scalar(select(User).where(User.username == username)):
        raise AccountError(f"user {username!r} exists")
    _check_password(password)
    check_area(session, scope)
    user = User(username=username, password_hash=generate_password_hash(password), role=scope.role,
                district=scope.district, street=scope.street, grids=_grids_text(scope), active=True,
                created_at=now, changed_at=now)
    session.add(user)
    audit(session, "admin", "user-created", f"{username} {scope.describe()}", now)
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")


def get_user(session: Session, username: str) -> User:
    """A user by name, or AccountError."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def change_user(session: Session, username: str, now: datetime, *, password: str | None = None,
                scope: Scope | None = None, active: bool | None = None) -> User:
    """Change a user's password, scope or active flag; every change signs the user out everywhere."""
    user = get_user(session, username)
    if password is not None:
        _check_password(password)
        user.password_hash = generate_password_hash(password)
    if scope is not None:
        check_area(session, scope)
        user.role, user.district, user.street, user.grids = scope.role, scope.district, scope.street, _grids_text(scope)
    if active is not None:
        user.active = active
    user.changed_at = now
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    audit(session, "admin", "user-changed", f"{username} {scope_of(user).describe()} active={user.active}", now)
    return user


def sign_in(session: Session, username: str, password: str, now: datetime, hours: float) -> str | None:
    """Check the password and open a session; the cookie's token, or None (and an audit entry)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)  # same time whether or not the user exists
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        audit(session, username[:64], "sign-in-refused", "bad user, password or disabled account", now)
        return None
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token_hash=_hash(token), user_id=user.id, created_at=now,
                             expires_at=now + timedelta(hours=hours)))
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
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _hash(token)))


def issue_display_token(session: Session, name: str, scope: Scope, now: datetime) -> tuple[int, str]:
    """A new display token (id, secret); the secret is shown once and stored only hashed."""
    check_area(session, scope)
    token = secrets.token_urlsafe(32)
    row = DisplayToken(name=name, token_hash=_hash(token), role=scope.role, district=scope.district,
                       street=scope.street, grids=_grids_text(scope), created_at=now)
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
    audit(session, "admin", "display-token-revoked", f"#{token_id} {row.name}", now)


def audit(session: Session, who: str, what: str, detail: str, now: datetime) -> None:
    """Record a refusal or an account change."""
    session.add(AuditEntry(at=now, who=who[:128], what=what[:64], detail=detail[:2000]))


def ensure_demo_accounts(session: Session, now: datetime) -> list[tuple[str, str, str]]:
    """One account per role over the demo city, created once; returns (user, scope, password) of new ones."""
    district = session.scalar(select(District.code).order_by(District.code))
    street = session.scalar(select(Street.code).where(Street.district == district).order_by(Street.code))
    grids = list(session.scalars(select(Grid.code).where(Grid.street == street).order_by(Grid.code).limit(3)))
    wanted = [
        ("admin", Scope("command_center")),
        ("district", Scope("district_leader", district=district)),
        ("street", Scope("street_leader", street=street)),
        ("grids", Scope("grid_supervisor", grids=frozenset(grids))),
    ]
    made = []
    for name, scope in wanted:
        if session.scalar(select(User.id).where(User.username == name)) is None:
            password = secrets.token_urlsafe(9)
            create_user(session, name, password, scope, now)
            made.append((name, scope.describe(), password))
    return made
