"""Helpers of the report tests: a store with a month of history (October 2026) and citizen HTML, accounts, app."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dashboard.scopes import Scope
from data_access.accounts.sessions import sign_in
from data_access.accounts.users import create_user
from data_access.intake.reference_data import Gazetteer
from data_access.wall.snapshot import WallContext
from geo.city_index import index_of
from geo.model import City
from tests.conftest import REDIS_URL, TZ, ev, make_store, new_prefix, redis_client, settings_for
from tests.integration.test_rankings_follow_store import month_history
from tests.wall_support import XSS, created, put_events, services

PASSWORD = "correct-horse-9"
MONTH_START = datetime(2026, 10, 1, tzinfo=TZ)
DAY = "2026-10-15"  # the daily bulletin the tests read


def history(city: City) -> tuple[list[str], dict[str, str]]:
    """October's appeals in a dozen streets (enough call-backs to rank them), and one appeal overdue on DAY whose
    citizen text is HTML, in the first of those streets."""
    texts = month_history(city, MONTH_START, 31, 24, datetime(2026, 11, 10, tzinfo=TZ), seed=7)
    street = sorted(city.streets.groupby("district")["code"].apply(lambda s: sorted(s)[:3]).explode().tolist()[:12])[0]
    comm = city.communities[city.communities["street"] == street].iloc[0]
    t0 = datetime(2026, 9, 25, 9, 0, tzinfo=TZ)  # the longest overdue (red) at the end of DAY
    texts += [
        created("XSSR", t0, comm["code"], summary=XSS),
        ev("dispatched", "XSSR", t0 + timedelta(minutes=5), "XSSR-d", unit=street),
    ]
    return texts, {"street": street, "district": comm["district"], "community": comm["code"]}


def users(sessions: Any, where: dict[str, str], city: City) -> dict[str, str]:
    """admin (city), dist (the history's first district), street (its first street), other (another district)."""
    other = sorted(set(city.districts["code"]) - {where["district"]})[0]
    scopes = {
        "admin": Scope("command_center"),
        "dist": Scope("district_leader", district=where["district"]),
        "street": Scope("street_leader", street=where["street"]),
        "other": Scope("district_leader", district=other),
    }
    now = datetime.now(UTC)
    with sessions() as s, s.begin():
        for name, scope in scopes.items():
            create_user(s, name, PASSWORD, scope, now)
    tokens = {}
    with sessions() as s, s.begin():
        for name in scopes:
            tok = sign_in(s, name, PASSWORD, now, 12)
            assert tok is not None
            tokens[name] = tok
    return tokens


@contextmanager
def report_world(kind: str, city: City, gazetteer: Gazetteer, folder: Path) -> Iterator[dict[str, Any]]:
    """A store of this kind with `history`, accounts, its Services, the real app and a report context."""
    from app import create_app

    prefix = new_prefix()
    settings = settings_for(prefix)
    texts, where = history(city)
    with redis_client(prefix) as rds, make_store(kind, folder, city) as st:
        put_events(st[1], texts, settings, gazetteer)
        tokens = users(st[1], where, city)
        svc = services(settings, st, city, rds, REDIS_URL)
        yield {
            "texts": texts,
            "where": where,
            "tokens": tokens,
            "svc": svc,
            "app": create_app(svc),
            "sessions": st[1],
            "settings": settings,
            "ctx": WallContext(settings, index_of(city)),
            "kind": kind,
        }


def client(world: dict[str, Any], user: str | None) -> Any:
    """A test client of the world's app, signed in as `user` (None: anonymous)."""
    c = world["app"].server.test_client()
    if user:
        c.set_cookie("cc_session", world["tokens"][user])
    return c


def pdf_text(data: bytes) -> str:
    """The text of a PDF, page by page (pypdf's extraction)."""
    from pypdf import PdfReader

    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def schedule_once(url: str, now: str, who: str, kinds: str = "daily", catch_up_days: int = 1) -> None:
    """One pass of the report schedule at `now` over the store at `url`, as a process of its own would run it."""
    from dashboard.settings import load_settings
    from data_access.reports.scheduler import run_due
    from data_access.store.engine import make_engine, make_sessionmaker
    from tests.conftest import CACHE_DIR, demo_city

    settings = load_settings(
        var_dir=CACHE_DIR, demo=False, report_kinds=kinds, report_scopes="city", report_catch_up_days=catch_up_days
    )
    engine = make_engine(url)
    try:
        ctx = WallContext(settings, index_of(demo_city()))
        for kind, period, scope, got in run_due(make_sessionmaker(engine), ctx, datetime.fromisoformat(now), who):
            print(kind, period, scope, got.state, flush=True)
    finally:
        engine.dispose()
