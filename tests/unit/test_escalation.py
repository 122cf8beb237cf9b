"""The escalation ladder as a table: each trigger, once per situation, re-arming, stopping; its messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard.escalation import (
    DEFAULT,
    RAISE,
    Duty,
    Facts,
    Ladder,
    Step,
    appeal_link,
    due_steps,
    message,
    raise_due,
    situation,
)

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
ZONE = ZoneInfo("Asia/Shanghai")

#: A normal appeal dispatched at T0 to street unit 110105001, 7 days' time: yellow at 3.5 d, red at 7 d.
BASE = Facts(
    id="A-1",
    is_open=True,
    unit="110105001",
    unit_kind="street",
    district="110105",
    street="110105001",
    grid="110105001001001",
    clock_start=T0,
    extension_count=0,
    yellow_from=T0 + 3.5 * D,
    red_from=T0 + 7 * D,
    due_at=T0 + 7 * D,
    members_online=True,
    category="市容环境",
    place="朝阳区 / 建外街道",
)
ARMED = situation(T0, 0)


def steps(
    facts: Facts, now: datetime, fired: tuple[tuple[str, str, str], ...] = (), ladder: Ladder = DEFAULT
) -> list[str]:
    return [f.step for f in due_steps(facts, now, fired, ladder)]


@pytest.mark.parametrize(
    ("name", "facts", "now", "expected"),
    [
        ("green: nothing", BASE, T0 + D, []),
        ("just before yellow", BASE, T0 + 3.5 * D - timedelta(seconds=1), []),
        ("yellow from its threshold", BASE, T0 + 3.5 * D, ["yellow"]),
        ("red: red only, not a stale yellow", BASE, T0 + 7 * D, ["red"]),
        ("red, grid empty: supervisor too", replace(BASE, members_online=False), T0 + 7 * D, ["red", "unattended"]),
        ("yellow, grid empty: no supervisor yet", replace(BASE, members_online=False), T0 + 4 * D, ["yellow"]),
        ("red, grid unknown: no supervisor", replace(BASE, grid=None, members_online=None), T0 + 8 * D, ["red"]),
        ("overdue 3 days less a second", BASE, T0 + 10 * D - timedelta(seconds=1), ["red"]),
        ("overdue 3 days: a case", BASE, T0 + 10 * D, ["red", "case"]),
        ("returned twice: a case while green", replace(BASE, return_count=2), T0 + H, ["case"]),
        ("returned once: no case", replace(BASE, return_count=1), T0 + H, []),
        ("reopened twice: a case", replace(BASE, reopen_count=2), T0 + H, ["case"]),
        ("a live case already: no second", replace(BASE, reopen_count=2, has_live_case=True), T0 + H, []),
        ("resolved: the ladder stops", replace(BASE, is_open=False), T0 + 20 * D, []),
    ],
)
def test_esc001_triggers(name: str, facts: Facts, now: datetime, expected: list[str]) -> None:
    assert steps(facts, now) == expected, name


def test_esc002_once_per_situation_and_unit() -> None:
    """A fired step does not fire again in the same situation; the others still do."""
    now = T0 + 10 * D
    unit = BASE.unit or ""
    assert steps(BASE, now, (("red", unit, ARMED),)) == ["case"]
    assert steps(BASE, now, (("red", unit, ARMED), ("case", unit, ARMED))) == []
    # fired for another unit (before a re-dispatch): does not count for this one
    assert steps(BASE, now, (("red", "D001", ARMED),)) == ["red", "case"]


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("re-dispatch to another unit", {"unit": "D001", "unit_kind": "department", "clock_start": T0 + 8 * D}),
        ("re-dispatch to the same unit", {"clock_start": T0 + 8 * D}),
        ("an approved extension", {"extension_count": 1}),
    ],
)
def test_esc003_rearmed_by_a_new_situation(name: str, change: dict[str, object]) -> None:
    """Red fired in the old situation; the new situation (new clock or extension) fires red again when red."""
    old = (("red", BASE.unit or "", ARMED),)
    now = T0 + 9 * D
    assert steps(BASE, now, old) == [], name
    moved = replace(BASE, **change)  # type: ignore[arg-type]
    assert steps(moved, now, old) == ["red"], name


def test_esc004_recipients_and_case_office() -> None:
    now = T0 + 10 * D
    by_step = {f.step: f for f in due_steps(replace(BASE, members_online=False), now)}
    assert by_step["red"].recipients == (("unit", "110105001", "principal"), ("district", "110105", "command_center"))
    assert by_step["unattended"].recipients == (("grid", "110105001001001", "supervisor"),)
    case = by_step["case"].case
    assert case is not None and (case.level, case.office, case.reason) == ("district", "110105", "overdue")
    assert case.due_at == now + DEFAULT.case_due
    assert by_step["case"].recipients == (("district", "110105", "supervision_office"),)
    yellow = due_steps(BASE, T0 + 4 * D)[0]
    assert yellow.recipients == (("unit", "110105001", "leader_in_charge"),)
    assert (yellow.unit, yellow.armed_by) == ("110105001", ARMED)


def test_esc005_street_office_when_configured() -> None:
    ladder = Ladder(street_office=True)
    f = due_steps(BASE, T0 + 10 * D, ladder=ladder)[-1]
    assert f.case is not None and (f.case.level, f.case.office) == ("street", "110105001")
    # a department's appeal still goes to the district
    dept = replace(BASE, unit="D001", unit_kind="department")
    g = due_steps(dept, T0 + 10 * D, ladder=ladder)[-1]
    assert g.case is not None and (g.case.level, g.case.office) == ("district", "110105")


def test_esc006_returned_appeal_without_unit() -> None:
    """Returned twice and back with the dispatchers (no unit): the case is keyed to no unit; no unit duties."""
    f = due_steps(replace(BASE, unit=None, unit_kind=None, return_count=2), T0 + 8 * D)
    assert [(x.step, x.unit, x.armed_by) for x in f] == [("red", "", ARMED), ("case", "", "returned")]
    assert f[0].recipients == (("district", "110105", "command_center"),)
    # re-dispatched after the case: the counts do not open another
    again = replace(BASE, return_count=2, clock_start=T0 + 9 * D)
    assert "case" not in [x.step for x in due_steps(again, T0 + 9 * D + H, (("case", "", "returned"),))]


def test_esc007_configurable_thresholds_and_steps() -> None:
    ladder = Ladder(overdue_case=H, returns_case=3)
    assert steps(BASE, T0 + 7 * D + H, ladder=ladder) == ["red", "case"]
    assert steps(replace(BASE, return_count=2), T0 + H, ladder=ladder) == []
    only_red = Ladder(steps=(Step("red", "red", (Duty("principal", "unit"),)),))
    assert steps(BASE, T0 + 20 * D, ladder=only_red) == ["red"]
    with pytest.raises(ValueError, match="trigger"):
        Step("x", "blue", ())
    with pytest.raises(ValueError, match="role"):
        Duty("principal", "grid")
    with pytest.raises(ValueError, match="repeat"):
        Ladder(steps=(Step("a", "red", ()), Step("a", "yellow", ())))
    with pytest.raises(ValueError, match="positive"):
        Ladder(raise_after=timedelta(0))


@pytest.mark.parametrize(
    ("level", "state", "opened", "appeal_open", "expected"),
    [
        ("district", "open", T0, True, True),
        ("district", "answered", T0, True, True),
        ("district", "open", T0 + H, True, False),  # not yet raise_after since opening
        ("district", "closed", T0, True, False),
        ("district", "raised", T0, True, False),
        ("city", "open", T0, True, False),
        ("street", "open", T0, False, False),  # the appeal was resolved: the ladder stops
    ],
)
def test_esc008_raise(level: str, state: str, opened: datetime, appeal_open: bool, expected: bool) -> None:
    now = T0 + DEFAULT.raise_after
    assert raise_due(level=level, state=state, opened_at=opened, appeal_open=appeal_open, now=now) is expected


def test_esc009_messages_in_both_languages() -> None:
    now = T0 + 7 * D + 3 * H + 10 * timedelta(minutes=1)
    zh = message("red", BASE, now, "zh", ZONE, "https://cc.example")
    en = message("red", BASE, now, "en", ZONE, "https://cc.example")
    assert zh.title == "【红灯督办】工单 A-1 已超期"
    assert "已超期 3 时 10 分" in zh.body and "朝阳区 / 建外街道" in zh.body and "市容环境" in zh.body
    assert "2026-11-29 09:00" in zh.body  # due in the city's time
    assert en.title == "[Red] Appeal A-1 is overdue" and "overdue by 3 h 10 min" in en.body
    assert zh.link == en.link == "https://cc.example/area/a/A-1"
    yellow = message("yellow", BASE, T0 + 4 * D, "en", ZONE)
    assert "3 d 0 h left" in yellow.body and yellow.link == "/area/a/A-1"
    case = message("case", BASE, now, "en", ZONE, case_reason_code="returned")
    assert "returned too many times" in case.body
    assert message(RAISE, BASE, now, "fr", ZONE).lang == "zh"  # an unknown language: Chinese


def test_esc010_link_escapes_the_id() -> None:
    assert appeal_link("A/1 x", "https://h/") == "https://h/area/a/A%2F1%20x"
