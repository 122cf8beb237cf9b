"""`python app.py users …` and `python app.py tokens …`: manage accounts and display tokens."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.scopes import ROLES
from dashboard.settings import Settings
from data_access.accounts.sessions import issue_display_token, revoke_display_token
from data_access.accounts.users import (
    AccountError,
    change_user,
    create_user,
    make_scope,
    scope_of,
)
from data_access.intake.reference_data import load_reference
from data_access.store.engine import (
    database_url,
    make_engine,
    make_sessionmaker,
    migrate,
)
from data_access.store.models import DisplayToken, User
from geo.loader import load_city


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `users` and `tokens` subcommands."""
    users = sub.add_parser("users", help="create, change, disable and list accounts").add_subparsers(
        dest="action", required=True
    )
    add = users.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--area", help="district code, street code, or comma-separated grid codes")
    add.add_argument("--password", help="(asked for if not given)")
    pw = users.add_parser("passwd", help="set a new password (signs the user out)")
    pw.add_argument("username")
    pw.add_argument("--password")
    sc = users.add_parser("scope", help="change role and area (signs the user out)")
    sc.add_argument("username")
    sc.add_argument("--role", required=True, choices=ROLES)
    sc.add_argument("--area")
    for name in ("disable", "enable"):
        users.add_parser(name, help=f"{name} an account").add_argument("username")
    users.add_parser("list", help="list accounts")
    tokens = sub.add_parser("tokens", help="display tokens for unattended wall screens").add_subparsers(
        dest="action", required=True
    )
    tadd = tokens.add_parser("add", help="issue a token bound to a scope; prints the wall link once")
    tadd.add_argument("name")
    tadd.add_argument("--role", required=True, choices=ROLES)
    tadd.add_argument("--area")
    tokens.add_parser("revoke", help="revoke a token").add_argument("id", type=int)
    tokens.add_parser("list", help="list tokens")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out one `users` or `tokens` command; 1 with a message on a refused change."""
    engine = make_engine(database_url(settings))
    migrate(engine)
    now = datetime.now(UTC)
    try:
        with make_sessionmaker(engine)() as s, s.begin():
            load_reference(s, load_city(settings))  # areas are checked against the city
            _dispatch(s, args, now, settings)
    except AccountError as exc:
        print(f"refused: {exc}")
        return 1
    finally:
        engine.dispose()
    return 0


def _password(given: str | None) -> str:
    return given if given is not None else getpass.getpass("password: ")


def _dispatch(s: Session, args: argparse.Namespace, now: datetime, settings: Settings) -> None:
    a = args.action
    if args.cmd == "users":
        if a == "add":
            create_user(s, args.username, _password(args.password), make_scope(args.role, args.area), now)
            print(f"created {args.username}")
        elif a == "passwd":
            change_user(s, args.username, now, password=_password(args.password))
            print(f"password of {args.username} changed")
        elif a == "scope":
            change_user(s, args.username, now, scope=make_scope(args.role, args.area))
            print(f"scope of {args.username} changed")
        elif a in ("disable", "enable"):
            change_user(s, args.username, now, active=a == "enable")
            print(f"{args.username} {a}d")
        else:
            for u in s.scalars(select(User).order_by(User.username)):
                print(f"{u.username:20s} {scope_of(u).describe():40s} {'active' if u.active else 'disabled'}")
    elif a == "add":
        tid, token = issue_display_token(s, args.name, make_scope(args.role, args.area), now)
        print(
            f"display token #{tid} for {args.name}; shown once:\n  http://{settings.host}:{settings.port}/wall?token={token}"
        )
    elif a == "revoke":
        revoke_display_token(s, args.id, now)
        print(f"display token #{args.id} revoked")
    else:
        for t in s.scalars(select(DisplayToken).order_by(DisplayToken.id)):
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live"
            print(f"#{t.id:<4d} {t.name:24s} {scope_of(t).describe():40s} {state}")
