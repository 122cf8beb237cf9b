"""Supervision cases from the screens, on real SQLite and PostgreSQL: the 督办 and 催办 buttons, the ledger's
answer/close/note, the ledger page, its downloads, the read API and the wall's figure, each within the scope."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from dashboard.notices import Recipient
from dashboard.scopes import Scope
from dashboard.supervision import CaseRefused
from dashboard.wall import View
from data_access.notify.tables import Delivery
from data_access.store.models import Appeal, SupervisionAction, SupervisionCase
from data_access.supervision.casework import NotInScope, chase, open_by_hand
from data_access.supervision.ledger import live_in_view
from tests.casework_support import ask_case, ask_ledger, call, case_world, client, confirm, text_of
from tests.drill_support import OTHER_MARK, refusals

USERS = ("dist", "street", "otherdist")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, city, gazetteer, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with case_world(request.param, city, gazetteer, tmp_path_factory.mktemp("cases"), USERS) as w:
        yield w


def _cases(w: dict[str, Any], appeal: str) -> list[SupervisionCase]:
    with w["sessions"]() as s:
        return list(s.scalars(select(SupervisionCase).where(SupervisionCase.appeal == appeal)))


def _actions(w: dict[str, Any], appeal: str) -> list[tuple[str, str]]:
    with w["sessions"]() as s:
        rows = s.execute(
            select(SupervisionAction.action, SupervisionAction.by)
            .where(SupervisionAction.appeal == appeal)
            .order_by(SupervisionAction.id)
        )
        return [(a, b) for a, b in rows]


def test_open_chase_answer_close(world) -> None:  # type: ignore[no-untyped-def]
    app, sc = world["app"], world["sc"]
    dist, street = client(world, "dist"), client(world, "street")
    asked = ask_case(dist, app, "open", "A")
    assert asked["case-confirm"]["displayed"] is True and "appeal A" in asked["case-confirm"]["message"]
    assert asked["case-pending"]["data"] == {"action": "open", "appeal": "A"}
    done = confirm(dist, app, asked["case-pending"]["data"])
    assert "Supervision case" in text_of(done) and done["case-done"]["data"] == 1
    [case] = _cases(world, "A")
    assert (case.level, case.office, case.state, case.opened_by, case.rule) == (
        "district",
        sc["district"],
        "open",
        "dist",
        None,
    )
    assert case.due_at - case.opened_at == timedelta(days=5)
    # A second case while one is live: a clear refusal, nothing opened.
    again = ask_case(dist, app, "open", "A")
    assert "already has a live" in text_of(again) and "case-confirm" not in again
    assert "already has a live" in text_of(confirm(dist, app, {"action": "open", "appeal": "A"}))
    assert len(_cases(world, "A")) == 1
    # The street chases: the handling unit's leader in charge and principal leader (the demo roster) are reminded.
    chased = confirm(street, app, ask_case(street, app, "chase", "A")["case-pending"]["data"])
    assert "Chased: 2 reminder(s) queued" in text_of(chased)
    # The street answers; it may not close a district case; the district closes it.
    asked = ask_ledger(street, app, "answer", case.id)
    assert asked["case-pending"]["data"] == {"action": "answer", "case": case.id, "note": ""}
    assert "answered" in text_of(confirm(street, app, asked["case-pending"]["data"]))
    assert "may not" in text_of(confirm(street, app, {"action": "close", "case": case.id, "note": ""}))
    assert "Write the note" in text_of(confirm(dist, app, {"action": "note", "case": case.id, "note": "  "}))
    noted = confirm(dist, app, ask_ledger(dist, app, "note", case.id, "<b>电话已联系</b>")["case-pending"]["data"])
    assert "Note added" in text_of(noted)
    assert "closed" in text_of(confirm(dist, app, {"action": "close", "case": case.id, "note": "办结"}))
    [case] = _cases(world, "A")
    assert case.state == "closed" and case.closed_at is not None
    assert _actions(world, "A") == [
        ("open", "dist"),
        ("chase", "street"),
        ("answer", "street"),
        ("note", "dist"),
        ("close", "dist"),
    ]
    # A ledger action with no row picked says so.
    assert "Pick a case" in text_of(ask_ledger(dist, app, "close", None))


def test_two_users_opening_at_once_make_one_case(world) -> None:  # type: ignore[no-untyped-def]
    """Two users press 督办 on one appeal at once (PostgreSQL, two threads on two connections): both pass the
    read check (neither case is committed yet), the store's unique index of live cases lets the first in and
    makes the second wait for it, then refuse; one case, one "open" action, the second user told why."""
    sessions = world["sessions"]
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("two writers at once: PostgreSQL (SQLite lets one writer in at a time)")
    scope = Scope("district_leader", district=world["sc"]["district"])
    first = sessions()
    first.begin()
    opened = open_by_hand(first, "E", "dist", scope, datetime.now(UTC))  # inserted, not yet committed
    second: dict[str, Any] = {}

    def press() -> None:
        with sessions() as s:
            second["pid"] = s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            try:
                second["outcome"] = open_by_hand(s, "E", "dist2", scope, datetime.now(UTC))
                s.commit()
            except CaseRefused as exc:
                second["refused"] = exc.key

    thread = threading.Thread(target=press)
    thread.start()
    waited = False
    with sessions() as watch:  # until the second insert waits on the first's row (or the thread ends)
        while thread.is_alive() and not waited:
            time.sleep(0.02)
            if "pid" in second:
                state = watch.scalar(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"), {"p": second["pid"]}
                )
                waited = state == "Lock"
    first.commit()
    first.close()
    thread.join()
    assert waited  # the second user's check had passed: only the index stood between it and a second case
    assert "outcome" not in second and second["refused"] == "case_already_open"
    [case] = _cases(world, "E")
    assert (case.id, case.opened_by, case.state) == (opened.fields["case"], "dist", "open")
    assert _actions(world, "E") == [("open", "dist")]


def test_forged_actions_outside_the_scope(world) -> None:  # type: ignore[no-untyped-def]
    """Another district's leader names this district's appeal and case: nothing happens, nothing is told."""
    app, sessions = world["app"], world["sessions"]
    other = client(world, "otherdist")
    with sessions() as s, s.begin():
        case_id = open_by_hand(
            s, "B", "dist", Scope("district_leader", district=world["sc"]["district"]), datetime.now(UTC)
        ).fields["case"]
    for action in ("open", "chase"):
        before = refusals(sessions)
        r = ask_case(other, app, action, "B")
        assert "case-confirm" not in r and "No such appeal" in text_of(r)
        r = confirm(other, app, {"action": action, "appeal": "B"})
        assert "No such appeal" in text_of(r) and refusals(sessions) == before + 2
    for action in ("answer", "close", "note"):
        before = refusals(sessions)
        assert "case-confirm" not in ask_ledger(other, app, action, case_id)
        assert "No such appeal" in text_of(confirm(other, app, {"action": action, "case": case_id, "note": "x"}))
        assert refusals(sessions) == before + 2
    assert [c.state for c in _cases(world, "B")] == ["open"]
    assert _actions(world, "B") == [("open", "dist")]
    # Forged shapes: an unknown action, a case id that is not a number.
    dist = client(world, "dist")
    assert "Unknown action" in text_of(confirm(dist, app, {"action": "delete", "case": case_id}))
    assert "Unknown action" in text_of(confirm(dist, app, {"action": "close", "case": str(case_id)}))


def test_ledger_page_api_and_exports_keep_to_the_scope(world) -> None:  # type: ignore[no-untyped-def]
    app, sessions, sc = world["app"], world["sessions"], world["sc"]
    with sessions() as s, s.begin():
        cid = open_by_hand(s, "C", "dist", Scope("district_leader", district=sc["district"]), datetime.now(UTC)).fields[
            "case"
        ]
        other = open_by_hand(s, f"X1-{OTHER_MARK}", "admin", Scope("command_center"), datetime.now(UTC)).fields["case"]
    url = [
        {"id": "url", "property": "pathname", "value": "/supervision"},
        {"id": "url", "property": "search", "value": "?lang=en"},
    ]
    mine = text_of(call(client(world, "dist"), app, "route", url, []))
    assert "Supervision ledger" in mine and '"appeal": "C"' in mine and OTHER_MARK not in mine
    theirs = text_of(call(client(world, "otherdist"), app, "route", url, []))
    assert f"X1-{OTHER_MARK}" in theirs and '"appeal": "C"' not in theirs
    bad = text_of(call(client(world, "dist"), app, "route", [url[0], {**url[1], "value": "?state=gone&lang=en"}], []))
    assert "Bad filter: state 'gone'" in bad
    # The read API.
    body = client(world, "dist").get("/api/v1/supervision?state=open").get_json()
    assert cid in [c["id"] for c in body["cases"]] and other not in [c["id"] for c in body["cases"]]
    assert body["counts"]["open"] >= 1
    assert client(world, "dist").get(f"/api/v1/supervision/{cid}").get_json()["actions"][0]["action"] == "open"
    before = refusals(sessions)
    r = client(world, "otherdist").get(f"/api/v1/supervision/{cid}")
    assert r.status_code == 404 and '"C"' not in r.get_data(as_text=True) and refusals(sessions) == before + 1
    assert client(world, "dist").get("/api/v1/supervision?level=grid").status_code == 400
    # Downloads.
    csv = client(world, "dist").get("/supervision/export.csv?state=open").get_data(as_text=True)
    assert ",C," in csv and OTHER_MARK not in csv
    xlsx = client(world, "otherdist").get("/supervision/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert ",C," not in client(world, "otherdist").get("/supervision/export.csv").get_data(as_text=True)
    assert client(world, None).get("/supervision/export.csv").status_code == 302
    # The wall's figure: live cases of the view.
    with sessions() as s:
        assert live_in_view(s, "district", sc["district"]) >= 1
        assert live_in_view(s, "street", sc["street"]) >= 1
        assert live_in_view(s, "city", None) >= live_in_view(s, "district", sc["district"]) + 1


def test_chase_queues_one_reminder_per_contact(world) -> None:  # type: ignore[no-untyped-def]
    sessions, settings, sc = world["sessions"], world["settings"], world["sc"]
    people = [
        Recipient("王主任", "principal", "13800000001", "wang@example.invalid", None, None, None),
        Recipient("Li", "in_charge", "13800000002", None, None, None, None, language="en"),
    ]
    asked: list[str] = []

    def roster(_s: Any, unit: str) -> list[Recipient]:
        asked.append(unit)
        return people

    scope = Scope("street_leader", street=sc["street"])
    with sessions() as s, s.begin():
        o = chase(s, "D", "street", scope, datetime.now(UTC), settings, roster)
    assert asked == [sc["unit"]] and o.key == "case_chased" and o.fields["recipients"] == 2
    with sessions() as s:
        rows = s.execute(
            select(Delivery.recipient, Delivery.subject, Delivery.link).where(Delivery.appeal == "D")
        ).all()
    assert {r[0] for r in rows} == {"王主任", "Li"}
    assert {r[1] for r in rows} >= {"【催办】工单 D", "[Chase] appeal D"} or all("D" in r[1] for r in rows)
    assert all(r[2] == "/area/a/D" for r in rows)
    with sessions() as s, s.begin(), pytest.raises(NotInScope):
        chase(s, f"X0-{OTHER_MARK}", "street", scope, datetime.now(UTC), settings, roster)
    with sessions() as s, s.begin(), pytest.raises(CaseRefused):
        xss = s.get(Appeal, "XSS1")
        grid = xss.grid if xss is not None else None
        assert grid is not None
        chase(
            s, "XSS1", "grids", Scope("grid_supervisor", grids=frozenset({grid})), datetime.now(UTC), settings, roster
        )


def test_the_wall_shows_open_cases(world) -> None:  # type: ignore[no-untyped-def]
    from callbacks.wall import context
    from data_access.wall.snapshot import wall_snapshot

    ctx = context(world["svc"])
    view = View("district", world["sc"]["district"])
    # a tick's figures are computed once for every screen (the app's own screens may have taken this second's before
    # the last test's cases were in): the wall shows them from the next tick on
    deadline = time.monotonic() + 5
    with world["sessions"]() as s:
        live = live_in_view(s, "district", world["sc"]["district"])
        while True:
            shown = wall_snapshot(s, datetime.now(UTC), view, ctx)["summary"]["cases_open"]
            if shown == live or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert shown == live > 0
