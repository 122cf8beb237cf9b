"""User accounts: names, passwords, roles and the area each may see; the demo accounts."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from dashboard.scopes import Scope, ScopeError
from data_access.accounts.trust import forget_identities
from data_access.store.models import (
    AuditEntry,
    DisplayToken,
    District,
    Grid,
    LoginSession,
    Street,
    User,
)

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")


MIN_PASSWORD = 8


DUMMY_HASH = generate_password_hash("timing-equaliser")


class AccountError(ValueError):
    """An account change that cannot be made; the message says why."""


def grids_text(scope: Scope) -> str | None:
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
    user = User(
        username=username,
        password_hash=generate_password_hash(password),
        role=scope.role,
        district=scope.district,
        street=scope.street,
        grids=grids_text(scope),
        active=True,
        created_at=now,
        changed_at=now,
    )
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


def change_user(
    session: Session,
    username: str,
    now: datetime,
    *,
    password: str | None = None,
    scope: Scope | None = None,
    active: bool | None = None,
) -> User:
    """Change a user's password, scope or active flag; every change signs the user out everywhere."""
    user = get_user(session, username)
    if password is not None:
        _check_password(password)
        user.password_hash = generate_password_hash(password)
    if scope is not None:
        check_area(session, scope)
        user.role, user.district, user.street, user.grids = scope.role, scope.district, scope.street, grids_text(scope)
    if active is not None:
        user.active = active
    user.changed_at = now
    forget_identities(session)
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    audit(session, "admin", "user-changed", f"{username} {scope_of(user).describe()} active={user.active}", now)
    return user


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


def audit(session: Session, who: str, what: str, detail: str, now: datetime) -> None:
    """Record a refusal or an account change."""
    session.add(AuditEntry(at=now, who=who[:128], what=what[:64], detail=detail[:2000]))
