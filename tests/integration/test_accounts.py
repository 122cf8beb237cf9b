"""Accounts, sessions and display tokens in the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dashboard.scopes import Scope
from data_access.accounts.sessions import (
    display_identity,
    issue_display_token,
    revoke_display_token,
    session_identity,
    sign_in,
    sign_out,
)
from data_access.accounts.users import (
    AccountError,
    change_user,
    create_user,
    ensure_demo_accounts,
)
from data_access.store.models import AuditEntry, User

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def test_accounts001_sign_in_and_expiry(store) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    with sessions() as s, s.begin():
        create_user(s, "lee", "correct horse", Scope("district_leader", district="110101"), NOW)
    with sessions() as s, s.begin():
        assert sign_in(s, "lee", "wrong password", NOW, 12) is None
        assert sign_in(s, "nobody", "correct horse", NOW, 12) is None
        token = sign_in(s, "lee", "correct horse", NOW, 12)
    assert token
    with sessions() as s, s.begin():
        ident = session_identity(s, token, NOW + timedelta(hours=11))
        assert ident and ident.scope == Scope("district_leader", district="110101")
        assert session_identity(s, token, NOW + timedelta(hours=12)) is None  # expired
        assert session_identity(s, "forged-token", NOW) is None
        refusals = s.scalars(select(AuditEntry.what)).all()
    assert refusals.count("sign-in-refused") == 2
    with sessions() as s, s.begin():
        sign_out(s, token)
        assert session_identity(s, token, NOW) is None
    with sessions() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "lee"))
    assert "correct horse" not in stored


def test_accounts002_changes_sign_out_everywhere(store) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    with sessions() as s, s.begin():
        create_user(s, "wang", "password-1", Scope("street_leader", street="110101001"), NOW)
        token = sign_in(s, "wang", "password-1", NOW, 12)
    assert token is not None
    later = NOW + timedelta(minutes=5)
    with sessions() as s, s.begin():
        change_user(s, "wang", later, password="password-2")
    with sessions() as s, s.begin():
        assert session_identity(s, token, later) is None
        assert sign_in(s, "wang", "password-1", later, 12) is None
        token = sign_in(s, "wang", "password-2", later, 12)
        assert token is not None
        change_user(s, "wang", later + timedelta(minutes=1), active=False)
    with sessions() as s, s.begin():
        assert session_identity(s, token, later + timedelta(minutes=2)) is None
        assert sign_in(s, "wang", "password-2", later, 12) is None


@pytest.mark.parametrize(
    "name, password, scope, msg",
    [
        ("a b", "long enough", Scope("command_center"), "username"),
        ("short", "1234", Scope("command_center"), "password"),
        ("ghost", "long enough", Scope("district_leader", district="999999"), "unknown district"),
        ("ghost", "long enough", Scope("grid_supervisor", grids=frozenset({"1"})), "unknown grids"),
    ],
)
def test_accounts003_refused(module_store, name: str, password: str, scope: Scope, msg: str) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = module_store
    with sessions() as s, s.begin(), pytest.raises(AccountError, match=msg):
        create_user(s, name, password, scope, NOW)


def test_accounts004_display_token_revocation(store) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    with sessions() as s, s.begin():
        tid, token = issue_display_token(s, "lobby", Scope("district_leader", district="110105"), NOW)
    far = NOW + timedelta(days=400)
    with sessions() as s, s.begin():
        ident = display_identity(s, token, far)  # never logged out
        assert ident and ident.kind == "display" and ident.scope.district == "110105"
        revoke_display_token(s, tid, far)
    with sessions() as s, s.begin():
        assert display_identity(s, token, far) is None


def test_accounts005_demo_accounts_once(store) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    with sessions() as s, s.begin():
        made = ensure_demo_accounts(s, NOW)
    assert [m[0] for m in made] == ["admin", "district", "street", "grids"]
    with sessions() as s, s.begin():
        assert ensure_demo_accounts(s, NOW) == []
        assert sign_in(s, "grids", made[3][2], NOW, 1)
