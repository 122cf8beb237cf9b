"""The SQL light conditions on real SQLite and PostgreSQL agree with the domain's light of every appeal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dashboard.appeal import Light, light_from_times, light_times
from dashboard.drill import Area, Filters
from dashboard.scopes import Scope
from dashboard.settings import load_settings
from dashboard.wall import View
from data_access.drill import queries as drill
from data_access.store import lights
from data_access.store.models import Appeal
from data_access.wall import live_panels as live

SETTINGS = load_settings(demo=False)
T0 = datetime(2026, 3, 2, 4, tzinfo=UTC)
H = timedelta(hours=1)
SOON = 2 * H

#: (id, priority, clock start, due time given or None, resolved at, closed at): chosen so that, across
#: the `now`s below, each light is reached exactly at a threshold and a due time may precede the clock.
CASES: list[tuple[str, str, datetime, datetime | None, datetime | None, datetime | None]] = [
    ("red", "urgent", T0 - 30 * H, None, None, None),
    ("yellow", "urgent", T0 - 13 * H, None, None, None),
    ("green", "urgent", T0 - 1 * H, None, None, None),
    ("yellow-at-now", "urgent", T0 - 12 * H, None, None, None),
    ("red-at-now", "urgent", T0 - 24 * H, None, None, None),
    ("emergency", "emergency", T0 - 1 * H, None, None, None),
    ("given-due", "normal", T0 - 3 * H, T0 + 1 * H, None, None),
    ("due-before-clock", "urgent", T0 - 1 * H, T0 - 2 * H, None, None),  # dispatched after its due time
    ("on-time", "urgent", T0 - 30 * H, None, T0 - 10 * H, T0 - 9 * H),
    ("late", "urgent", T0 - 30 * H, None, T0 - 1 * H, None),
    ("closed-unresolved", "urgent", T0 - 5 * H, None, None, T0 - 4 * H),
]


def _rows() -> list[dict[str, Any]]:
    out = []
    for aid, priority, start, due_at, resolved, closed in CASES:
        yellow, red, due = light_times(start, due_at, priority, SETTINGS)
        out.append(
            {
                "id": aid,
                "status": "closed" if closed else "resolved" if resolved else "dispatched",
                "is_open": resolved is None and closed is None,
                "created_at": start,
                "channel": "phone",
                "kind": "complaint",
                "cat1": "城市管理",
                "priority": priority,
                "dispatch_count": 1,
                "return_count": 0,
                "extension_count": 0,
                "reopen_count": 0,
                "clock_start": start,
                "due_at": due,
                "yellow_from": yellow,
                "red_from": red,
                "resolved_at": resolved,
                "closed_at": closed,
                "reviewed": False,
                "last_event_at": start,
            }
        )
    return out


def _domain(rows: list[dict[str, Any]], now: datetime) -> dict[str, str]:
    return {
        r["id"]: light_from_times(
            r["is_open"], r["yellow_from"], r["red_from"], r["due_at"], r["resolved_at"] or r["closed_at"], now
        )
        for r in rows
    }


def _nows(rows: list[dict[str, Any]]) -> list[datetime]:
    """Every threshold, a second before it, and the times the cases were chosen around."""
    at = {T0, T0 - 6 * H, T0 + 6 * H, T0 + 30 * H}
    for r in rows:
        for t in (r["yellow_from"], r["red_from"], r["red_from"] - SOON):
            at.update((t, t - timedelta(seconds=1)))
    return sorted(at)


def test_sql_lights_equal_the_domain_light_of_each_row(store) -> None:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    rows = _rows()
    assert {r["id"] for r in rows if r["yellow_from"] > r["red_from"]} == set()  # light_times keeps yellow first
    with sessions() as s, s.begin():
        s.add_all(Appeal(**r) for r in rows)
    conditions = {Light.RED: lights.is_red, Light.YELLOW: lights.is_yellow, Light.GREEN: lights.is_green}
    admin = Scope("command_center")
    with sessions() as s:
        for now in _nows(rows):
            want = _domain(rows, now)
            later = _domain(rows, now + SOON)
            for light, cond in conditions.items():
                got = set(s.scalars(select(Appeal.id).where(cond(now))))
                assert got == {a for a, v in want.items() if v == light}, (now, light)
            late = set(s.scalars(select(Appeal.id).where(lights.is_yellow_or_red(now))))
            assert late == {a for a, v in want.items() if v in (Light.YELLOW, Light.RED)}, now
            turning = set(s.scalars(select(Appeal.id).where(lights.turning_red(now, SOON))))
            assert turning == {
                a for a, v in want.items() if v in (Light.GREEN, Light.YELLOW) and later[a] == Light.RED
            }, now
            ranks = dict(s.execute(select(Appeal.id, lights.light_rank(now))).tuples().all())
            assert ranks == {a: lights.LIGHT_RANK.get(v) for a, v in want.items()}, now

            n = {light: sum(1 for v in want.values() if v == light) for light in conditions}
            opened = sum(n.values())
            assert live.light_counts(s, now, View(), SOON) == {
                "open": opened,
                "green": n[Light.GREEN],
                "yellow": n[Light.YELLOW],
                "red": n[Light.RED],
                "turning_red": len(turning),
            }, now
            assert drill.lights(s, Area(), Filters(), admin, now) == {
                "total": len(rows),
                "open": opened,
                "red": n[Light.RED],
                "yellow": n[Light.YELLOW],
                "green": n[Light.GREEN],
            }, now
            for light in conditions:
                f = Filters(light=light)
                assert drill.lights(s, Area(), f, admin, now)["open"] == n[light], (now, light)
