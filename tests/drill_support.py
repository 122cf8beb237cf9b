"""Helpers of the drill-down tests: a known store (own street + another district), accounts per role, apps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dash import Dash
from sqlalchemy import select

from dashboard.same_event import rules_of
from dashboard.scopes import Scope
from data_access.accounts.sessions import issue_display_token, sign_in
from data_access.accounts.users import create_user
from data_access.intake.reference_data import Gazetteer
from data_access.ops.services import Services
from data_access.same_event.grouping import group_all
from data_access.store.models import AuditEntry
from geo.model import City
from tests.conftest import (
    REDIS_URL,
    TZ,
    ev,
    make_store,
    new_prefix,
    redis_client,
    settings_for,
)
from tests.wall_support import (
    XSS,
    created,
    put_events,
    put_presence,
    scenario,
    services,
)

PASSWORD = "correct-horse-9"
OTHER_MARK = "OTHERAREA-MARK"


def other_scenario(city, now: datetime, own_district: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Appeals, a heartbeat and citizen text in another district (never to be seen by its outsiders)."""
    comms = city.communities
    other = comms[comms["district"] != own_district].iloc[0]
    texts = []
    for i, hours in enumerate((40, 30, 2)):
        a = f"X{i}-{OTHER_MARK}"
        t0 = now - timedelta(hours=hours)
        texts.append(created(a, t0, other["code"], summary=f"{OTHER_MARK} {i}"))
        texts.append(ev("dispatched", a, t0, f"{a}-d", unit=other["street"]))
    m = city.members[city.members["community"] == other["code"]].iloc[0]
    beat = {"member": m["id"], "at": (now - timedelta(seconds=5)).astimezone(TZ).isoformat(), "state": "sos"}
    grid = city.grids[city.grids["community"] == other["code"]].iloc[0]["code"]
    return {
        "texts": texts,
        "beats": [beat],
        "district": other["district"],
        "street": other["street"],
        "community": other["code"],
        "grid": grid,
        "member": m["id"],
        "member_name": m["name"],
    }


def load(city, sessions, settings, gazetteer) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Store the wall scenario (one street) plus another district's appeals; XSS in every citizen field."""
    now = datetime.now(UTC).replace(microsecond=0)
    sc = scenario(city, now)
    other = other_scenario(city, now, sc["district"])
    grids = city.grids
    g1 = grids[grids["community"] == sc["c1"]].sort_values("code").iloc[0]
    pt = g1.geometry.representative_point()
    extra = [
        ev(
            "created",
            "XSS1",
            now - timedelta(hours=50),
            channel="web",
            kind="complaint",
            category=["城市管理", "市容环境", "垃圾清运"],
            priority="urgent",
            community=sc["c1"],
            summary=XSS,
            address=XSS,
            location={"lon": pt.x, "lat": pt.y},
        ),
        ev("dispatched", "XSS1", now - timedelta(hours=50), "XSS1-d", unit=sc["unit"]),
        ev("returned", "XSS1", now - timedelta(hours=49), "XSS1-r", unit=sc["unit"], reason=XSS),
        ev("dispatched", "XSS1", now - timedelta(hours=48), "XSS1-d2", unit=sc["unit"]),
        ev("resolved", "XSS1", now - timedelta(hours=3), "XSS1-s", unit=sc["unit"], note=XSS),
        ev(
            "reviewed",
            "XSS1",
            now - timedelta(hours=2),
            "XSS1-v",
            responded=True,
            resolved=False,
            satisfaction="dissatisfied",
        ),
        ev("reopened", "XSS1", now - timedelta(hours=1), "XSS1-o", reason=XSS),
    ]
    put_events(sessions, sc["texts"] + other["texts"] + extra, settings, gazetteer)
    put_presence(sessions, sc["beats"] + other["beats"], now)
    group_all(sessions, rules_of(settings), settings.zone, 1000)  # same-event groups, as the grouping thread would
    comms = city.communities.set_index("code")
    sc["grid_c1"] = g1["code"]
    sc["other"] = other
    sc["now"] = now
    sc["street_name"] = city.streets.set_index("code").loc[sc["street"], "name"]
    sc["district_name"] = city.districts.set_index("code").loc[sc["district"], "name"]
    sc["c1_name"] = comms.loc[sc["c1"], "name"]
    return sc


def accounts(sessions, city, sc: dict[str, Any], only: tuple[str, ...] | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One user per role over the scenario (plus outsiders of it), or `only` these; returns name -> session token."""
    now = datetime.now(UTC)
    other_street = sorted(set(city.streets[city.streets["district"] == sc["district"]]["code"]) - {sc["street"]})[0]
    own_grids = city.grids[city.grids["street"] == sc["street"]]
    outside_grid = sorted(
        set(own_grids["code"]) - set(own_grids[own_grids["community"].isin([sc["c1"], sc["c2"]])]["code"])
    )[0]
    users = {
        "admin": Scope("command_center"),
        "dist": Scope("district_leader", district=sc["district"]),
        "street": Scope("street_leader", street=sc["street"]),
        "grids": Scope("grid_supervisor", grids=frozenset({sc["grid_c1"]})),
        "otherdist": Scope("district_leader", district=sc["other"]["district"]),
        "otherstreet": Scope("street_leader", street=other_street),
        "othergrid": Scope("grid_supervisor", grids=frozenset({outside_grid})),
    }
    users = {name: scope for name, scope in users.items() if only is None or name in only}
    tokens = {}
    with sessions() as s, s.begin():
        for name, scope in users.items():
            create_user(s, name, PASSWORD, scope, now)
    with sessions() as s, s.begin():
        for name in users:
            token = sign_in(s, name, PASSWORD, now, 12)
            assert token is not None
            tokens[name] = token
    return tokens


def display_token(sessions, scope: Scope) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """A display token (id, secret) of a scope."""
    with sessions() as s, s.begin():
        return issue_display_token(s, "wall-test", scope, datetime.now(UTC))


def refusals(sessions) -> int:  # type: ignore[no-untyped-def]
    """How many refused requests are in the audit log."""
    with sessions() as s:
        return len(list(s.scalars(select(AuditEntry.id).where(AuditEntry.what.like("refused-%")))))


def drill_app(svc: Services) -> Dash:
    """The real app: the shell routes /area… to the drill-down pages; the guard is installed."""
    from app import create_app

    return create_app(svc)


full_app = drill_app


@contextmanager
def drill_world(
    city: City, gazetteer: Gazetteer, folder: Path, users: tuple[str, ...] | None = None, app: bool = True
) -> Iterator[dict[str, Any]]:
    """A SQLite store with `load`'s scenario and `accounts` (all, or `users`), its Services and (if `app`) the real
    app; a Redis prefix of its own. Built once per module where its tests only read: each user costs two password
    hashes, about a second on a busy machine."""
    prefix = new_prefix()
    settings = settings_for(prefix)
    with redis_client(prefix) as rds, make_store("sqlite", folder, city) as st:
        sc = load(city, st[1], settings, gazetteer)
        tokens = accounts(st[1], city, sc, users)
        svc = services(settings, st, city, rds, REDIS_URL)
        yield {
            "sc": sc,
            "tokens": tokens,
            "svc": svc,
            "app": drill_app(svc) if app else None,
            "store": st,
            "sessions": st[1],
            "settings": settings,
            "rds": rds,
        }


__all__ = ["OTHER_MARK", "XSS", "Services"]
