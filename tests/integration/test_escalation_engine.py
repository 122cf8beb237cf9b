"""The escalation engine on real SQLite and PostgreSQL, time moved forward by `now=`: lights that change with no
event reach the people the ladder names, once per situation; an extension re-arms the ladder; dragging appeals
become cases that are raised; a resolved appeal stops it; two engines against PostgreSQL never double a step."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from dashboard.settings import Settings, load_settings
from data_access.intake.reference_data import Gazetteer
from data_access.notify.tables import Delivery
from data_access.store.engine import make_engine, make_sessionmaker
from data_access.store.models import EscalationPass, EscalationStep, SupervisionAction, SupervisionCase
from data_access.supervision.engine import Escalator, PassResult
from geo.contacts import COLUMNS, FixedRoster, Roster, RosterFile, check_roster
from geo.synth_contacts import build_contacts
from tests.conftest import CACHE_DIR, REDIS_URL, demo_city, ev, make_store
from tests.wall_support import put_events, put_presence

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
N_RACE = 20  # appeals of the two-engine test
H = timedelta(hours=1)
M = timedelta(minutes=1)


@functools.cache
def demo_roster() -> Roster:
    city = demo_city()
    return check_roster(build_contacts(city), city, Path("<demo contacts>"))


def engine_settings(prefix: str = "esc") -> Settings:
    """Settings of these tests: e-mail on (each message is one delivery), no catch-up beyond a day."""
    return load_settings(
        hotline_prefix=prefix,
        var_dir=CACHE_DIR,
        redis_url=REDIS_URL,
        demo=False,
        notify_smtp_host="127.0.0.1",
        notify_smtp_from="cc@example.invalid",
    )


def place(city: Any, n: int = 0) -> dict[str, str]:
    """The n-th grid's point, community, street (also its unit), district; and one of its members."""
    g = city.grids.iloc[n * 97]
    pt = g.geometry.representative_point()
    member = city.members[city.members["grid"] == g["code"]]["id"].iat[0]
    return {
        "grid": g["code"],
        "street": g["street"],
        "district": g["district"],
        "lon": pt.x,
        "lat": pt.y,
        "member": member,
    }


def created(appeal: str, at: datetime, p: dict[str, Any]) -> str:
    return ev(
        "created",
        appeal,
        at,
        f"{appeal}-c",
        channel="phone",
        kind="complaint",
        category=["城市管理", "市政设施", "路灯"],
        priority="urgent",  # 24 h: yellow after 12 h, red after 24 h
        location={"lon": p["lon"], "lat": p["lat"]},
        summary="<b>路灯</b>",
    )


def deliveries(sessions: Any) -> list[Any]:
    with sessions() as s:
        return list(
            s.execute(
                select(Delivery.key, Delivery.role, Delivery.language, Delivery.subject, Delivery.body, Delivery.link)
            )
        )


def roles(sessions: Any, appeal: str) -> Counter[str]:
    with sessions() as s:
        return Counter(s.scalars(select(Delivery.role).where(Delivery.appeal == appeal)))


def test_engine001_ladder_over_time(store: Any, city: Any, gazetteer: Gazetteer) -> None:
    """One appeal through its life: yellow, red with its grid empty, an extension (re-armed), overdue three days
    (a case), still open three days later (raised), resolved (nothing more)."""
    _engine, sessions, _url = store
    settings = engine_settings()
    p = place(city)
    put_events(
        sessions,
        [created("E1", T0, p), ev("dispatched", "E1", T0, "E1-d", unit=p["street"])],
        settings,
        gazetteer,
    )
    esc = Escalator(settings, sessions, city, FixedRoster(demo_roster()))

    def at(delta: timedelta) -> PassResult:
        return esc.run_pass(now=T0 + delta)

    assert (at(H).fired, at(2 * H).queued) == (0, 0)  # green
    r = at(12 * H + M)
    assert (r.fired, r.queued) == (1, 1)
    assert roles(sessions, "E1") == {"leader_in_charge": 1}
    assert at(13 * H).fired == 0  # once
    r = at(24 * H + M)  # red; nobody of its grid online (no heartbeat at all)
    assert (r.fired, r.queued) == (2, 3)
    assert roles(sessions, "E1") == {"leader_in_charge": 1, "principal": 1, "command_center": 1, "supervisor": 1}
    rows = deliveries(sessions)
    red = next(d for d in rows if d.role == "principal")
    assert "E1" in red.subject and red.link == "/area/a/E1" and "<b>" not in red.body  # no citizen text
    assert "已超期" in red.body or "overdue" in red.body
    # an approved extension: a new situation, red again when the new deadline passes
    put_events(
        sessions, [ev("extended", "E1", T0 + 25 * H, "E1-x", due_at=(T0 + 48 * H).isoformat())], settings, gazetteer
    )
    assert at(30 * H).fired == 0
    r = at(48 * H + M)
    assert r.fired == 2 and roles(sessions, "E1")["principal"] == 2
    # overdue 72 h: a district case, its office told
    assert at(48 * H + 72 * H - M).cases == 0
    r = at(48 * H + 72 * H + M)
    assert (r.fired, r.cases) == (1, 1)
    with sessions() as s:
        case = s.scalars(select(SupervisionCase).where(SupervisionCase.appeal == "E1")).one()
    assert (case.level, case.office, case.rule, case.opened_by, case.state) == (
        "district",
        p["district"],
        "case",
        "rule",
        "open",
    )
    assert (case.grid, case.unit) == (p["grid"], p["street"])
    assert roles(sessions, "E1")["supervision_office"] == 1
    # still open 72 h later: raised to the city, the city's office told
    r = at(48 * H + 144 * H + M)
    assert r.raised == 1
    assert at(48 * H + 144 * H + 2 * M).raised == 0
    with sessions() as s:
        levels = sorted((c.level, c.state) for c in s.scalars(select(SupervisionCase)))
        actions = Counter(s.scalars(select(SupervisionAction.action)))
    assert levels == [("city", "open"), ("district", "raised")]
    assert actions == {"open": 2, "raise": 1}
    assert roles(sessions, "E1")["supervision_office"] == 2
    # resolved: the ladder stops (no step, no message, even for a new overdue range)
    put_events(sessions, [ev("resolved", "E1", T0 + 200 * H, "E1-s", unit=p["street"])], settings, gazetteer)
    before = len(deliveries(sessions))
    assert at(400 * H).fired == 0 and len(deliveries(sessions)) == before


def test_engine002_counts_presence_and_redispatch(store: Any, city: Any, gazetteer: Gazetteer) -> None:
    """Returned twice: a case at once, whatever the light. A member online in the grid: no supervisor. A
    re-dispatch to another unit re-arms the ladder for the new unit."""
    _engine, sessions, _url = store
    settings = engine_settings()
    p, q = place(city, 1), place(city, 2)
    texts = [created("R1", T0, p), created("P1", T0, q), ev("dispatched", "P1", T0, "P1-d", unit=q["street"])]
    for i in range(2):
        texts += [
            ev("dispatched", "R1", T0 + (2 * i) * M, f"R1-d{i}", unit=p["street"]),
            ev("returned", "R1", T0 + (2 * i + 1) * M, f"R1-r{i}", unit=p["street"]),
        ]
    put_events(sessions, texts, settings, gazetteer)
    now = T0 + 24 * H + M
    put_presence(sessions, [{"member": q["member"], "at": (now - M).isoformat(), "state": "on_duty"}], now)
    esc = Escalator(settings, sessions, city, FixedRoster(demo_roster()))
    r = esc.run_pass(now=T0 + H)
    assert r.cases == 1 and roles(sessions, "R1") == {"supervision_office": 1}
    assert esc.run_pass(now=T0 + 2 * H).cases == 0  # once
    esc.run_pass(now=now)
    assert roles(sessions, "P1")["supervisor"] == 0 and roles(sessions, "P1")["principal"] == 1
    # re-dispatched to a department: red again for the new unit when its new deadline passes
    put_events(sessions, [ev("dispatched", "P1", now + H, "P1-d2", unit="D001")], settings, gazetteer)
    esc.run_pass(now=now + 25 * H + M)
    with sessions() as s:
        units = sorted(
            s.scalars(select(EscalationStep.unit).where(EscalationStep.appeal == "P1", EscalationStep.step == "red"))
        )
    assert units == sorted(["D001", q["street"]])


def test_engine003_roster_change_applies_to_next_message(city: Any, gazetteer: Gazetteer, tmp_path: Path) -> None:
    """The roster is read per batch: an edited contacts file names the person of the next message. (The roster
    is the same on every store: SQLite only.)"""
    with make_store("sqlite", tmp_path, city) as (_engine, sessions, _url):
        _roster_change(city, gazetteer, tmp_path, sessions)


def _roster_change(city: Any, gazetteer: Gazetteer, tmp_path: Path, sessions: Any) -> None:
    settings = engine_settings()
    p, q = place(city, 3), place(city, 4)
    put_events(
        sessions,
        [
            created("C1", T0, p),
            ev("dispatched", "C1", T0, "C1-d", unit=p["street"]),
            created("C2", T0 + H, q),
            ev("dispatched", "C2", T0 + H, "C2-d", unit=q["street"]),
        ],
        settings,
        gazetteer,
    )
    path = tmp_path / "contacts.csv"

    def write(name: str) -> None:
        rows = [f"unit,{u},leader_in_charge,{name},,{name}@example.org,,,,en" for u in (p["street"], q["street"])]
        path.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")

    write("alice")
    esc = Escalator(settings, sessions, city, RosterFile(path, city))
    esc.run_pass(now=T0 + 12 * H + M)
    write("bob")
    os.utime(path, ns=(1, 5_000_000_000_000_000_000))
    r = esc.run_pass(now=T0 + 13 * H + M)
    with sessions() as s:
        got = dict(s.execute(select(Delivery.appeal, Delivery.recipient)).all())
    assert got == {"C1": "alice", "C2": "bob"}
    assert r.unreached == []
    lang = deliveries(sessions)[0].language
    assert lang == "en"


def test_engine004_two_engines_never_double(tmp_path: Path, city: Any, gazetteer: Gazetteer) -> None:
    """Two engines (two processes' worth: separate engines and pools) pass at the same moments against
    PostgreSQL: every step is recorded once and every message queued once; a pass that finds the lock held
    is skipped; a pass over a range already handled (its position lost) adds nothing."""
    settings = engine_settings()
    with make_store("postgresql", tmp_path, city) as (_e1, sessions_a, url):
        other = make_engine(url)
        sessions_b = make_sessionmaker(other)
        try:
            texts = []
            for i in range(N_RACE):
                p = place(city, 5 + i)
                texts += [
                    created(f"K{i}", T0 + i * M, p),
                    ev("dispatched", f"K{i}", T0 + i * M, f"K{i}-d", unit=p["street"]),
                ]
            put_events(sessions_a, texts, settings, gazetteer)
            a = Escalator(settings, sessions_a, city, FixedRoster(demo_roster()))
            b = Escalator(settings, sessions_b, city, FixedRoster(demo_roster()))
            results: list[PassResult] = []
            for step in range(1, 7):  # 5 h apart: the yellow (12 h) and red (24 h) crossings of every appeal
                now = T0 + step * 5 * H
                gate = threading.Barrier(2)

                def go(e: Escalator, when: datetime = now, gate: threading.Barrier = gate) -> None:
                    gate.wait()
                    results.append(e.run_pass(now=when))

                threads = [threading.Thread(target=go, args=(e,)) for e in (a, b)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            # lose the position: the next pass re-reads a day of crossings, all handled already
            with sessions_a() as s, s.begin():
                s.execute(delete(EscalationPass))
            again = b.run_pass(now=T0 + 30 * H + M)
            with sessions_a() as s:
                steps = s.scalar(select(func.count()).select_from(EscalationStep))
                keys = list(s.scalars(select(Delivery.key)))
            fired = sum(r.fired for r in results)
            assert steps == fired == N_RACE * 3  # yellow, red, and unattended (no heartbeats at all)
            assert len(keys) == len(set(keys)) == sum(r.queued for r in results)
            assert again.fired == 0 and again.queued == 0 and again.candidates > 0
        finally:
            other.dispose()


def test_engine005_bad_roster_stops_startup(tmp_path: Path) -> None:
    """A contacts file with a bad row, or a CONTACTS_FILE that is not there, stops start-up naming it."""
    from app import escalator
    from dashboard.settings import SettingsError
    from data_access.ops.services import Services

    bad = tmp_path / "contacts.csv"
    bad.write_text(",".join(COLUMNS) + "\nunit,NOPE,principal,王伟,13800000000,,,,,\n", encoding="utf-8")
    settings = load_settings(var_dir=CACHE_DIR, demo=False, contacts_file=bad)
    svc = Services(settings, engine=None, sessions=None, redis_url="", redis=None, city=demo_city())  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match=r"(?s)CONTACTS_FILE: .*contacts.csv: row 1 \(code 'NOPE'\): unknown unit"):
        escalator(svc)
    with pytest.raises(SettingsError, match="CONTACTS_FILE"):
        load_settings(var_dir=CACHE_DIR, contacts_file=tmp_path / "none.csv")


def test_engine006_status_on_healthz(store: Any, city: Any, gazetteer: Gazetteer, rds: Any) -> None:
    """/healthz shows the engine: its passes, last pass, last error, and the store's position with its lag. A pass
    that fails (a table of the store gone) makes it unhealthy and says why; a position left behind the clock is
    stalled; a pass that succeeds again makes it healthy."""
    from dashboard.calendar import iso
    from data_access.ops.health import health
    from tests.wall_support import services

    engine, sessions, _url = store
    settings = engine_settings()
    p = place(city, 6)
    put_events(
        sessions, [created("H1", T0, p), ev("dispatched", "H1", T0, "H1-d", unit=p["street"])], settings, gazetteer
    )
    esc = Escalator(settings, sessions, city, FixedRoster(demo_roster()))
    svc = services(settings, store, city, rds, REDIS_URL)

    def report(now: datetime) -> tuple[bool, dict[str, Any]]:
        ok, r = health(svc, None, now=now, escalation=esc.status)
        return ok, r["escalation"] | {"stalled_list": r["stalled"]}

    assert report(T0)[1]["passes"] == 0 and report(T0)[1]["position"] is None
    esc.run_pass(now=T0 + H)
    _, e = report(T0 + H + M)
    assert (e["ok"], e["passes"], e["failures"], e["last_error"], e["stalled"]) == (True, 1, 0, None, False)
    assert e["last_pass_at"] == e["position"] == iso(T0 + H, settings) and e["lag_s"] == 60.0
    assert e["last_pass_ms"] is not None and e["last_pass_ms"] >= 0
    with engine.begin() as conn:  # the steps' table goes: every pass fails
        conn.exec_driver_sql("ALTER TABLE escalation_steps RENAME TO escalation_steps_away")
    try:
        with pytest.raises(Exception, match="escalation_steps"):
            esc.run_pass(now=T0 + 12 * H + M)
        ok, e = report(T0 + 12 * H + 2 * M)
        assert not ok and not e["ok"] and e["failures"] == 1 and "escalation_steps" in e["last_error"]
        assert e["last_error_at"] == iso(T0 + 12 * H + M, settings) and e["position"] == iso(T0 + H, settings)
        assert e["stalled"] and any(s.startswith("escalation: the position is") for s in e["stalled_list"])
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE escalation_steps_away RENAME TO escalation_steps")
    r = esc.run_pass(now=T0 + 12 * H + 3 * M)  # the yellow crossing of H1, missed meanwhile, is caught up
    assert r.fired == 1
    _, e = report(T0 + 12 * H + 3 * M + 10 * timedelta(seconds=1))
    assert (e["ok"], e["passes"], e["failures"], e["last_error"], e["lag_s"]) == (True, 2, 1, None, 10.0)


def test_engine007_case_opened_by_hand_meanwhile_stands(tmp_path: Path, city: Any, gazetteer: Gazetteer) -> None:
    """A user opens a case by hand while a pass is about to open one for the same appeal (PostgreSQL, two
    connections): the pass read no live case, its insert waits on the store's one-live-case index, then leaves the
    user's case alone; its step is recorded and the office told, nothing fails, and one case stands."""
    from sqlalchemy import text

    from dashboard.scopes import Scope
    from data_access.supervision.casework import open_by_hand

    settings = engine_settings()
    with make_store("postgresql", tmp_path, city) as (_engine, sessions, _url):
        p = place(city, 7)
        texts = [created("W1", T0, p)]
        for i in range(2):
            texts += [
                ev("dispatched", "W1", T0 + (2 * i) * M, f"W1-d{i}", unit=p["street"]),
                ev("returned", "W1", T0 + (2 * i + 1) * M, f"W1-r{i}", unit=p["street"]),
            ]
        put_events(sessions, texts, settings, gazetteer)
        esc = Escalator(settings, sessions, city, FixedRoster(demo_roster()))
        hand = sessions()
        hand.begin()
        hand_pid = hand.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        opened = open_by_hand(hand, "W1", "admin", Scope("command_center"), T0 + H)  # not yet committed
        results: list[PassResult] = []
        thread = threading.Thread(target=lambda: results.append(esc.run_pass(now=T0 + H)))
        thread.start()
        blocked = False
        with sessions() as watch:  # until the pass's insert waits on the user's uncommitted case (or it ends)
            while thread.is_alive() and not blocked:
                time.sleep(0.02)
                blocked = bool(
                    watch.scalar(
                        text("SELECT count(*) FROM pg_stat_activity WHERE :p = ANY(pg_blocking_pids(pid))"),
                        {"p": hand_pid},
                    )
                )
        hand.commit()
        hand.close()
        thread.join()
        assert blocked  # the pass had found no live case: only the index kept it from opening a second
        [r] = results
        assert (r.fired, r.cases) == (1, 0) and r.queued >= 1
        with sessions() as s:
            cases = list(s.scalars(select(SupervisionCase).where(SupervisionCase.appeal == "W1")))
            steps = s.scalar(select(func.count()).select_from(EscalationStep).where(EscalationStep.appeal == "W1"))
        assert [(c.id, c.opened_by, c.state) for c in cases] == [(opened.fields["case"], "admin", "open")]
        assert steps == 1 and roles(sessions, "W1") == {"supervision_office": 1}
        assert esc.run_pass(now=T0 + 2 * H).fired == 0  # once
