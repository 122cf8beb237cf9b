"""The supervision case rules, table-tested: moves, who may act, due dates, overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from dashboard.supervision import (
    CaseRefused,
    CaseView,
    LedgerFilters,
    allowed_actions,
    check,
    clean_note,
    due_at,
    is_overdue,
    level_for,
    parse_ledger_filters,
    raise_level,
)

CC, DL, SL, GS = "command_center", "district_leader", "street_leader", "grid_supervisor"
T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "action,role,case,moves_to",
    [
        ("open", CC, None, "open"),
        ("open", DL, CaseView("street", "closed"), "open"),
        ("open", SL, CaseView("street", "raised"), "open"),
        ("chase", CC, None, None),
        ("chase", SL, CaseView("street", "open"), None),
        ("chase", DL, CaseView("district", "answered"), None),
        ("answer", SL, CaseView("district", "open"), "answered"),
        ("answer", GS, CaseView("street", "open"), "answered"),
        ("close", SL, CaseView("street", "answered"), "closed"),
        ("close", DL, CaseView("street", "open"), "closed"),
        ("close", CC, CaseView("city", "answered"), "closed"),
        ("raise", DL, CaseView("street", "open"), "raised"),
        ("raise", CC, CaseView("district", "answered"), "raised"),
        ("note", GS, CaseView("city", "open"), None),
        ("note", CC, CaseView("street", "answered"), None),
    ],
)
def test_allowed_moves(action: str, role: str, case: CaseView | None, moves_to: str | None) -> None:
    assert check(action, role, case) == moves_to


@pytest.mark.parametrize(
    "action,role,case,why",
    [
        ("open", GS, None, "case_not_allowed"),
        ("open", CC, CaseView("street", "open"), "case_already_open"),
        ("open", DL, CaseView("city", "answered"), "case_already_open"),
        ("chase", GS, None, "case_not_allowed"),
        ("answer", CC, CaseView("city", "open"), "case_not_allowed"),
        ("answer", DL, CaseView("district", "open"), "case_not_allowed"),
        ("answer", SL, CaseView("street", "answered"), "case_wrong_state"),
        ("answer", SL, None, "case_none"),
        ("close", SL, CaseView("district", "answered"), "case_not_allowed"),
        ("close", DL, CaseView("city", "open"), "case_not_allowed"),
        ("close", GS, CaseView("street", "answered"), "case_not_allowed"),
        ("close", CC, CaseView("city", "closed"), "case_not_live"),
        ("raise", SL, CaseView("street", "open"), "case_not_allowed"),
        ("raise", DL, CaseView("district", "open"), "case_not_allowed"),
        ("raise", CC, CaseView("city", "raised"), "case_not_live"),
        ("note", CC, CaseView("street", "closed"), "case_not_live"),
        ("delete", CC, CaseView("street", "open"), "case_bad_action"),
    ],
)
def test_refused_moves(action: str, role: str, case: CaseView | None, why: str) -> None:
    with pytest.raises(CaseRefused) as exc:
        check(action, role, case)
    assert exc.value.key == why


@pytest.mark.parametrize(
    "role,case,actions",
    [
        (CC, None, ["open", "chase"]),
        (GS, None, []),
        (SL, CaseView("street", "open"), ["chase", "answer", "close", "note"]),
        (DL, CaseView("district", "answered"), ["chase", "close", "note"]),
        (GS, CaseView("district", "open"), ["answer", "note"]),
        (CC, CaseView("city", "closed"), ["open", "chase"]),
    ],
)
def test_allowed_actions(role: str, case: CaseView | None, actions: list[str]) -> None:
    assert allowed_actions(role, case) == actions


@pytest.mark.parametrize("level,days", [("street", 3), ("district", 5), ("city", 7)])
def test_due_by_level(level: str, days: int) -> None:
    assert due_at(level, T0) == T0 + timedelta(days=days)


def test_due_of_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown case level 'grid'"):
        due_at("grid", T0)


@pytest.mark.parametrize(
    "state,offset_h,overdue",
    [("open", 1, True), ("open", -1, False), ("answered", 10, False), ("closed", 10, False), ("raised", 10, False)],
)
def test_overdue(state: str, offset_h: int, overdue: bool) -> None:
    due = T0
    assert is_overdue(state, due, T0 + timedelta(hours=offset_h)) is overdue
    assert is_overdue(state, None, T0) is False


def test_levels_by_role() -> None:
    assert [level_for(r) for r in (CC, DL, SL)] == ["city", "district", "street"]
    with pytest.raises(CaseRefused):
        level_for(GS)
    assert [raise_level(x) for x in ("street", "district", "city")] == ["district", "city", None]


def test_note_is_kept_as_text() -> None:
    assert clean_note("  <b>x</b>\x00\x07 ok ") == "<b>x</b> ok"
    assert len(clean_note("字" * 900)) == 500
    assert clean_note(None) == ""


@pytest.mark.parametrize(
    "search,expect",
    [
        ("", LedgerFilters()),
        (
            "?state=open&level=district&unit=110101001&lang=en",
            LedgerFilters("open", "district", "110101001", lang="en"),
        ),
        ("?since=2026-11-01&until=2026-11-29", LedgerFilters(since=date(2026, 11, 1), until=date(2026, 11, 29))),
        ("?lang=fr", LedgerFilters()),
    ],
)
def test_ledger_filters(search: str, expect: LedgerFilters) -> None:
    f = parse_ledger_filters(search)
    assert f == expect
    assert parse_ledger_filters(f.query()) == f


@pytest.mark.parametrize(
    "search,names",
    [
        ("?state=gone", "state"),
        ("?level=grid", "level"),
        ("?unit=<script>", "unit"),
        ("?since=yesterday", "since"),
        ("?since=2026-11-29&until=2026-11-01", "since is after until"),
    ],
)
def test_bad_ledger_filters_name_the_field(search: str, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        parse_ledger_filters(search)


def test_ledger_span_is_in_the_city_zone() -> None:
    zone = timezone(timedelta(hours=8))
    start, end = LedgerFilters(since=date(2026, 11, 1), until=date(2026, 11, 1)).span(zone)
    assert start == datetime(2026, 10, 31, 16, tzinfo=UTC) and end == datetime(2026, 11, 1, 16, tzinfo=UTC)
