"""Helpers of the wall tests: a known set of appeals and heartbeats around `now`, and Services over a test store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from dashboard.contract import parse_event, parse_presence
from dashboard.settings import Settings
from data_access.intake.event_log import Accepted, store_events
from data_access.intake.presence import store_presence
from data_access.intake.reference_data import Gazetteer
from data_access.ops.services import Services
from data_access.projection.projector import Projector
from tests.conftest import TZ, ev

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>&amp;'

#: The screen sizes the wall and the drill-down are laid out for.
SIZES = ((1366, 768), (1920, 1080), (3840, 2160))
#: The figures of the wall's street ranking: rank, score, the three rates, change (never "100%" cut to "10…").
RANKING_FIGURES = '[data-metric="ranking-table"] td.num'
#: In a browser: every figure's box against its content, the wall's "how late" cells (never cut to "12 时 …") and
#: the ranking's figures, or the elements of a selector given as the script's argument; the texts of those cut, [] when
#: none is.
OVERFLOW_JS = """
var out = [], every = '[data-metric], td.late, td.left, RANKING';
document.querySelectorAll(arguments[0] || every).forEach(function (e) {
  if (e.offsetParent === null) return;
  if (e.scrollWidth > e.clientWidth) out.push((e.getAttribute('data-metric') || e.className) + ': ' + e.textContent +
      ' ' + e.scrollWidth + '>' + e.clientWidth);
});
return out;
""".replace("RANKING", RANKING_FIGURES)


def put_events(
    sessions: sessionmaker[Session],
    texts: list[str],
    settings: Settings,
    gazetteer: Gazetteer,
    received: datetime | None = None,
) -> None:
    """Store contract events as the ingest would (without Redis)."""
    evs = [parse_event(t) for t in texts]
    places = gazetteer.place_events(evs)
    items = [
        Accepted(e, t, f"0-{i}", p if not isinstance(p, str) else None)
        for i, (e, t, p) in enumerate(zip(evs, texts, places))
    ]
    with sessions() as s, s.begin():
        store_events(s, items, received or datetime.now(UTC))
    Projector(settings, sessions).drain()


def put_presence(sessions, beats: list[dict[str, Any]], now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Store grid-member heartbeats."""
    with sessions() as s, s.begin():
        store_presence(s, [parse_presence(json.dumps({"v": 1, **b})) for b in beats], now)


def created(appeal: str, at: datetime, community: str, priority: str = "urgent", summary: str = "路灯不亮") -> str:
    """A `created` event in a community."""
    return ev(
        "created",
        appeal,
        at,
        channel="phone",
        kind="complaint",
        category=["城市管理", "市政设施", "路灯"],
        priority=priority,
        community=community,
        summary=summary,
    )


def scenario(city, now: datetime) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Urgent (24 h) appeals in two communities of one street, at known lights at `now`:

    red A (30 h old, community c1, a member on duty there), red B (26 h, c2, nobody there, citizen
    text with HTML), yellow C (13 h, c1), yellow D (23 h, c2: red within 2 h), green E (1 h, c1),
    closed F (created and closed: not open). Plus heartbeats: one on duty in c1, one busy
    elsewhere, one SOS, one stale."""
    comms = city.communities
    street = comms.iloc[0]["street"]
    same = comms[comms["street"] == street]
    c1, c2 = same.iloc[0]["code"], same.iloc[1]["code"]
    unit = street
    texts = []
    for a, hours, c, text in (
        ("A", 30, c1, "红灯一"),
        ("B", 26, c2, XSS),
        ("C", 13, c1, "黄灯"),
        ("D", 23, c2, "即将转红"),
        ("E", 1, c1, "绿灯"),
        ("F", 5, c1, "已结"),
    ):
        t0 = now - timedelta(hours=hours)
        texts.append(created(a, t0, c, summary=text))
        texts.append(ev("dispatched", a, t0, f"{a}-d", unit=unit))
    texts.append(ev("resolved", "F", now - timedelta(hours=1), "F-r", unit=unit))
    texts.append(ev("closed", "F", now - timedelta(minutes=30), "F-c"))
    m = city.members
    in_c1 = m[m["community"] == c1].iloc[0]["id"]
    others = m[~m["community"].isin([c1, c2])].drop_duplicates("grid")  # one member per grid
    iso = lambda dt: dt.astimezone(TZ).isoformat()  # noqa: E731
    beats = [
        {"member": in_c1, "at": iso(now - timedelta(seconds=30)), "state": "on_duty"},
        {"member": others.iloc[0]["id"], "at": iso(now - timedelta(seconds=20)), "state": "busy"},
        {"member": others.iloc[1]["id"], "at": iso(now - timedelta(seconds=10)), "state": "sos"},
        {"member": others.iloc[2]["id"], "at": iso(now - timedelta(hours=1)), "state": "on_duty"},
    ]
    return {
        "texts": texts,
        "beats": beats,
        "c1": c1,
        "c2": c2,
        "street": street,
        "unit": unit,
        "district": same.iloc[0]["district"],
        "sos_member": others.iloc[1]["id"],
    }


def ranked_streets(city, now: datetime, streets: int = 2, per_street: int = 20) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """(events, street codes): `per_street` appeals in each of `streets` streets handled and called back this month,
    every call-back contacted, solved and satisfied, so each street is ranked (20 call-backs: the default
    `min_reviewed`) with its three rates at 100 %, the widest a rate is shown. The events lie within the last minute
    before `now`, in the month of `now`."""
    comms = city.communities.drop_duplicates("street").sort_values("street").iloc[-streets:]
    texts = []
    for comm, street in zip(comms["code"], comms["street"]):
        for i in range(per_street):
            a = f"RK-{street}-{i}"
            texts.append(created(a, now - timedelta(seconds=50), comm, priority="normal"))
            texts.append(ev("dispatched", a, now - timedelta(seconds=40), f"{a}-d", unit=street))
            texts.append(ev("resolved", a, now - timedelta(seconds=30), f"{a}-s", unit=street))
            texts.append(
                ev(
                    "reviewed",
                    a,
                    now - timedelta(seconds=20),
                    f"{a}-v",
                    responded=True,
                    resolved=True,
                    satisfaction="satisfied",
                )
            )
    return texts, list(comms["street"])


def services(settings: Settings, store, city, rds: redis.Redis, redis_url: str) -> Services:  # type: ignore[no-untyped-def]
    """Services over a test store (no start-up work: the store is already migrated and loaded)."""
    engine, sessions, _ = store
    return Services(settings, engine, sessions, redis_url, rds, city)
