"""Report periods, refusals and the schedule (dashboard/reports.py): pure, no services."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dashboard.reports import (
    Column,
    ReportError,
    Schedule,
    Table,
    cell_text,
    check_ended,
    check_scope_key,
    delivered_on_request,
    parse_period,
    period_of,
)

TZ = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=TZ).astimezone(UTC)


def test_periods_parse_and_chain() -> None:
    d = parse_period("daily", "2026-11-28")
    assert (d.first, d.after, d.previous().label) == (date(2026, 11, 28), date(2026, 11, 29), "2026-11-27")
    w = parse_period("weekly", "2026-W48")
    assert (w.first, w.after) == (date(2026, 11, 23), date(2026, 11, 30))
    assert w.previous().label == "2026-W47" and period_of("weekly", date(2026, 1, 1)).label == "2026-W01"
    m = parse_period("monthly", "2026-01")
    assert (m.previous().label, m.end(TZ)) == ("2025-12", at(2026, 2, 1))
    assert m.start(TZ) == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # local midnight in UTC


@pytest.mark.parametrize(
    "kind,label,says",
    [
        ("daily", "2026-11", "YYYY-MM-DD"),
        ("daily", "2026-02-30", "not a date"),
        ("weekly", "2026-W54", "not a date"),
        ("monthly", "2026-13", "not a date"),
        ("yearly", "2026", "unknown report kind"),
        ("daily", "<script>", "YYYY-MM-DD"),
    ],
)
def test_bad_periods_are_refused_with_the_form(kind: str, label: str, says: str) -> None:
    with pytest.raises(ReportError, match=says):
        parse_period(kind, label)


def test_a_period_not_ended_is_refused() -> None:
    now = at(2026, 11, 29, 10)
    with pytest.raises(ReportError, match="has not ended"):
        check_ended(parse_period("daily", "2026-11-29"), now, TZ)
    with pytest.raises(ReportError, match="has not ended"):
        check_ended(parse_period("monthly", "2026-12"), now, TZ)
    check_ended(parse_period("daily", "2026-11-28"), now, TZ)


@pytest.mark.parametrize("key", ["", "d:", "x:1101", "d:11 01", "city;drop", "s:" + "1" * 17])
def test_scope_keys_are_checked(key: str) -> None:
    with pytest.raises(ReportError):
        check_scope_key(key)


def test_due_at_the_configured_local_times() -> None:
    s = Schedule(at=time(8, 0), weekday=0, monthday=1, catch_up_days=0)
    assert s.due_at(parse_period("daily", "2026-11-28"), TZ) == at(2026, 11, 29, 8)
    assert s.due_at(parse_period("weekly", "2026-W48"), TZ) == at(2026, 11, 30, 8)  # the Monday after
    assert s.due_at(parse_period("monthly", "2026-11"), TZ) == at(2026, 12, 1, 8)
    assert Schedule(weekday=2).due_at(parse_period("weekly", "2026-W48"), TZ) == at(2026, 12, 2, 8)


def test_due_lists_what_fell_due_and_catches_up() -> None:
    s = Schedule(catch_up_days=3, kinds=("daily",))
    assert [p.label for p in s.due(at(2026, 11, 29, 7, 59), TZ)] == ["2026-11-25", "2026-11-26", "2026-11-27"]
    assert [p.label for p in s.due(at(2026, 11, 29, 8, 0), TZ)][-1] == "2026-11-28"
    # down from Monday to Thursday: the week and the days missed are made when it comes back
    s = Schedule(catch_up_days=7)
    due = {(p.kind, p.label) for p in s.due(at(2026, 12, 3, 9), TZ)}
    assert ("weekly", "2026-W48") in due and ("monthly", "2026-11") in due
    assert {("daily", f"2026-12-0{d}") for d in (1, 2)} <= due and ("daily", "2026-12-03") not in due


def test_a_report_asked_for_is_delivered_exactly_when_the_schedule_makes_it(settings) -> None:  # type: ignore[no-untyped-def]
    s = Schedule(catch_up_days=3, kinds=("daily", "monthly"))
    now = at(2026, 11, 29, 7, 30)
    assert s.covers(parse_period("daily", "2026-11-28"), now, TZ)  # due at 08:00 today: not yet due
    assert s.covers(parse_period("daily", "2026-11-25"), now, TZ)  # due on the 26th: in the window
    assert not s.covers(parse_period("daily", "2026-11-24"), now, TZ)  # due on the 25th 08:00: past it
    assert not s.covers(parse_period("weekly", "2026-W47"), now, TZ)  # not a scheduled kind
    cfg = settings.model_copy(update={"report_scopes": "city,d:110105", "report_catch_up_days": 3})
    for key, wanted in (("city", True), ("d:110105", True), ("d:110101", False), ("s:110105001", False)):
        assert delivered_on_request(cfg, parse_period("daily", "2026-11-28"), key, now) is wanted, key
    assert not delivered_on_request(cfg, parse_period("daily", "2026-11-20"), "city", now)


def test_quiet_rows_leave_print_not_data() -> None:
    tb = Table("x", (Column("volume", "rp_col_volume", "int"),), ({"volume": 0}, {"volume": 3}), quiet=("volume",))
    assert tb.printed() == ([{"volume": 3}], 1)
    assert cell_text(0.1234, Column("r", "rp_col_response", "pct"), "zh") == "12.3%"
    assert cell_text(-2, Column("c", "rp_col_rank_change", "signed"), "zh") == "-2"
    assert cell_text("rp_no_unit", Column("u", "rp_col_unit", "label"), "en").startswith("no unit")
    assert cell_text("<b>rp_x</b>", Column("u", "rp_col_unit", "label"), "en") == "<b>rp_x</b>"


@pytest.mark.parametrize(
    "setting,value,names",
    [
        ("report_at", "25:00", "REPORT_AT"),
        ("report_kinds", "daily,yearly", "REPORT_KINDS"),
        ("report_scopes", "city,x:1", "REPORT_SCOPES"),
        ("report_monthday", 31, "REPORT_MONTHDAY"),
        ("report_subscribers_csv", "/nonexistent/subscribers.csv", "REPORT_SUBSCRIBERS_CSV"),
    ],
)
def test_a_wrong_report_setting_stops_start_up_naming_it(setting: str, value: object, names: str) -> None:
    from dashboard.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=names):
        load_settings(**{setting: value})


def test_a_wrong_subscriber_row_names_its_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from data_access.reports.delivery import load_subscribers

    f = tmp_path / "subs.csv"
    f.write_text("scope,kinds,name,email\ncity,all,甲,a@example.invalid\nd:1101,hourly,乙,b@example.invalid\n")
    with pytest.raises(ReportError, match="line 3: kinds 'hourly'"):
        load_subscribers(f)
    f.write_text("scope,kinds,name,email\ncity,daily|monthly,甲,a@example.invalid\n")
    (sub,) = load_subscribers(f)
    assert sub.kinds == {"daily", "monthly"} and sub.recipient.email == "a@example.invalid"
