"""Folding an appeal's events into its state, and its deadline and traffic light at the edges."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.appeal import (
    AppealState,
    Light,
    Location,
    deadline,
    fold,
    fraction_used,
    light,
    light_from_times,
    light_times,
    thresholds,
)
from dashboard.contract import Event, parse_event
from dashboard.settings import load_settings

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
S = timedelta(seconds=1)
SETTINGS = load_settings()
_seq = iter(range(1, 10**9))


REQUIRED: dict[str, dict[str, Any]] = {
    "created": {
        "channel": "phone",
        "kind": "complaint",
        "category": ["城市管理", "市容环境"],
        "priority": "emergency",
        "community": "110101001001",
    },
    "dispatched": {"unit": "U1"},
    "accepted": {"unit": "U1"},
    "returned": {"unit": "U1"},
    "resolved": {"unit": "U1"},
    "reviewed": {"responded": True, "resolved": True, "satisfaction": "satisfied"},
}


def ev(type_: str, at: timedelta, eid: str | None = None, appeal: str = "A1", **fields: Any) -> Event:
    """An event `at` after T0, built through the real parser so its data is what ingest sees."""
    own = REQUIRED.get(type_, {})
    obj = {
        "v": 1,
        "id": eid or f"e{next(_seq):06d}",
        "type": type_,
        "appeal": appeal,
        "at": (T0 + at).isoformat(),
        **own,
        **fields,
    }
    return parse_event(json.dumps(obj, ensure_ascii=False))


def iso(at: timedelta) -> str:
    """T0 + at as an RFC 3339 string."""
    return (T0 + at).isoformat()


def state_of(*events: Event) -> AppealState:
    """Fold events that include a `created`."""
    s = fold(events)
    assert s is not None
    return s


def test_created_only() -> None:
    s = state_of(ev("created", 0 * H, location={"lon": 116.4, "lat": 39.9, "crs": "gcj02"}, summary="噪音"))
    assert (s.appeal, s.status, s.is_open, s.created_at, s.clock_start) == ("A1", "created", True, T0, T0)
    assert (s.channel, s.kind, s.category, s.priority) == ("phone", "complaint", ("城市管理", "市容环境"), "emergency")
    assert s.location == Location(lon=116.4, lat=39.9, crs="gcj02")
    assert (s.community, s.summary) == ("110101001001", "噪音")
    assert (s.unit, s.member, s.due_at, s.resolved_at, s.closed_at, s.reviewed) == (None,) * 5 + (False,)
    assert deadline(s, SETTINGS) == (T0, T0 + 2 * H)


@pytest.mark.parametrize("events", [[], [ev("dispatched", H), ev("resolved", 2 * H)]], ids=["empty", "no-created"])
def test_no_created_is_none(events: list[Event]) -> None:
    assert fold(events) is None


# Emergency (2 h) dispatched at T0: yellow from T0+1h, red from T0+2h.
EMERGENCY = [ev("created", -10 * S), ev("dispatched", 0 * H)]


@pytest.mark.parametrize(
    ("now", "expected", "used"),
    [
        (-H, Light.GREEN, -0.5),
        (0 * H, Light.GREEN, 0.0),
        (H - S, Light.GREEN, 0.5 - 1 / 7200),
        (H - timedelta(microseconds=1), Light.GREEN, None),
        (H, Light.YELLOW, 0.5),
        (2 * H - S, Light.YELLOW, 1 - 1 / 7200),
        (2 * H, Light.RED, 1.0),
        (30 * H, Light.RED, 15.0),
    ],
    ids=[
        "before-start",
        "at-start",
        "second-before-half",
        "micro-before-half",
        "at-half",
        "second-before-due",
        "at-due",
        "long-overdue",
    ],
)
def test_light_edges(now: timedelta, expected: str, used: float | None) -> None:
    s = state_of(*EMERGENCY)
    assert light(s, T0 + now, SETTINGS) == expected
    if used is not None:
        assert fraction_used(s, T0 + now, SETTINGS) == pytest.approx(used)
    assert thresholds(s, SETTINGS) == (T0 + H, T0 + 2 * H, T0 + 2 * H)


@pytest.mark.parametrize(
    ("yellow_at", "red_at", "now", "expected"),
    [
        (0.8, 1.2, 1.6 * H - S, Light.GREEN),
        (0.8, 1.2, 1.6 * H, Light.YELLOW),
        (0.8, 1.2, 2 * H, Light.YELLOW),
        (0.8, 1.2, 2.4 * H - S, Light.YELLOW),
        (0.8, 1.2, 2.4 * H, Light.RED),
        (0.25, 0.75, 0.5 * H, Light.YELLOW),
        (0.25, 0.75, 1.5 * H, Light.RED),
    ],
)
def test_custom_thresholds(yellow_at: float, red_at: float, now: timedelta, expected: str) -> None:
    settings = load_settings(yellow_at=yellow_at, red_at=red_at)
    s = state_of(*EMERGENCY)
    assert light(s, T0 + now, settings) == expected
    yellow_from, red_from, due = thresholds(s, settings)
    assert (yellow_from, red_from, due) == (T0 + 2 * H * yellow_at, T0 + 2 * H * red_at, T0 + 2 * H)


def test_yellow_never_after_red() -> None:
    """A due time before the clock start (dispatched after the created due time): red from the due time, and
    yellow_from is put at red_from, so "yellow or red" stays one range; the light is as the thresholds say."""
    start, due = T0, T0 - 2 * H
    yellow_from, red_from, got_due = light_times(start, due, "urgent", SETTINGS)
    assert (yellow_from, red_from, got_due) == (due, due, due)
    for now in (due - S, due, T0 - H, T0, T0 + H):
        unclamped = start + (due - start) * SETTINGS.yellow_at
        expected = Light.RED if now >= due else Light.YELLOW if now >= unclamped else Light.GREEN
        assert light_from_times(True, yellow_from, red_from, got_due, None, now) == expected


def test_custom_priority_limit() -> None:
    settings = load_settings(limit_emergency_h=4)
    assert deadline(state_of(*EMERGENCY), settings) == (T0, T0 + 4 * H)


# (events after EMERGENCY's created and first dispatch, expected (clock_start, due) offsets from T0)
DEADLINES = [
    ("priority-limit", [], (0 * H, 2 * H)),
    ("extension-moves-due", [ev("extended", H, due_at=iso(10 * H))], (0 * H, 10 * H)),
    (
        "latest-extension-wins",
        [ev("extended", H, due_at=iso(10 * H)), ev("extended", 3 * H, due_at=iso(5 * H))],
        (0 * H, 5 * H),
    ),
    ("redispatch-restarts-clock", [ev("dispatched", 1.5 * H, unit="U2")], (1.5 * H, 3.5 * H)),
    ("dispatched-due", [ev("dispatched", H, unit="U2", due_at=iso(6 * H))], (H, 6 * H)),
    (
        "extension-beats-dispatched-due",
        [ev("dispatched", H, due_at=iso(6 * H)), ev("extended", 2 * H, due_at=iso(8 * H))],
        (H, 8 * H),
    ),
    (
        "extension-before-redispatch-still-applies",
        [ev("extended", H, due_at=iso(10 * H)), ev("dispatched", 3 * H, unit="U2", due_at=iso(4 * H))],
        (3 * H, 10 * H),
    ),
    (
        "latest-dispatch-without-due-drops-earlier-dispatch-due",
        [ev("dispatched", H, due_at=iso(6 * H)), ev("dispatched", 2 * H, unit="U2")],
        (2 * H, 4 * H),
    ),
    ("return-keeps-clock", [ev("returned", H)], (0 * H, 2 * H)),
    ("reopen-keeps-clock", [ev("resolved", H), ev("reopened", 3 * H)], (0 * H, 2 * H)),
]


@pytest.mark.parametrize(("more", "expected"), [(m, e) for _, m, e in DEADLINES], ids=[n for n, _, _ in DEADLINES])
def test_deadline(more: list[Event], expected: tuple[timedelta, timedelta]) -> None:
    s = state_of(*EMERGENCY, *more)
    assert deadline(s, SETTINGS) == (T0 + expected[0], T0 + expected[1])


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([ev("created", 0 * H, due_at=iso(4 * H))], (0 * H, 4 * H)),
        ([ev("created", 0 * H, due_at=iso(4 * H)), ev("dispatched", H)], (H, 4 * H)),
        ([ev("created", 0 * H, due_at=iso(4 * H)), ev("dispatched", H, due_at=iso(3 * H))], (H, 3 * H)),
        ([ev("created", 0 * H, priority="urgent")], (0 * H, 24 * H)),
        ([ev("created", 0 * H, priority="routine"), ev("dispatched", H)], (H, H + 15 * 24 * H)),
    ],
    ids=[
        "created-due",
        "created-due-survives-dispatch",
        "dispatched-due-beats-created",
        "urgent-limit",
        "routine-limit",
    ],
)
def test_created_due_and_limits(events: list[Event], expected: tuple[timedelta, timedelta]) -> None:
    assert deadline(state_of(*events), SETTINGS) == (T0 + expected[0], T0 + expected[1])


def test_extension_turns_red_back_to_green() -> None:
    before = state_of(*EMERGENCY)
    after = state_of(*EMERGENCY, ev("extended", H, due_at=iso(10 * H)))
    assert light(before, T0 + 2 * H, SETTINGS) == Light.RED
    assert light(after, T0 + 2 * H, SETTINGS) == Light.GREEN
    assert (after.extension_count, after.due_at) == (1, T0 + 10 * H)


def test_redispatch_restarts_clock_and_counts() -> None:
    before = state_of(*EMERGENCY, ev("accepted", 10 * S, member="M1"))
    s = state_of(*EMERGENCY, ev("accepted", 10 * S, member="M1"), ev("dispatched", H, unit="U2"))
    assert light(before, T0 + 2 * H - S, SETTINGS) == Light.YELLOW
    assert light(s, T0 + 2 * H - S, SETTINGS) == Light.GREEN
    assert light(s, T0 + 2 * H, SETTINGS) == Light.YELLOW
    assert light(s, T0 + 3 * H, SETTINGS) == Light.RED
    assert s.first_dispatched_at == T0
    assert (s.status, s.unit, s.member, s.dispatch_count, s.clock_start) == ("dispatched", "U2", None, 2, T0 + H)


@pytest.mark.parametrize(
    ("more", "status", "unit", "member"),
    [
        ([], "dispatched", "U1", None),
        ([ev("accepted", H, member="M1")], "accepted", "U1", "M1"),
        ([ev("accepted", H, unit="U9")], "accepted", "U9", None),
        ([ev("accepted", H, member="M1"), ev("returned", 2 * H)], "returned", None, None),
        ([ev("returned", H), ev("dispatched", 2 * H, unit="U2")], "dispatched", "U2", None),
        ([ev("accepted", H, member="M1"), ev("resolved", 2 * H)], "resolved", "U1", "M1"),
        ([ev("resolved", H), ev("closed", 2 * H)], "closed", "U1", None),
        ([ev("resolved", H), ev("reopened", 2 * H)], "reopened", "U1", None),
    ],
    ids=[
        "dispatched",
        "accepted",
        "accepted-other-unit",
        "returned-clears",
        "returned-then-redispatched",
        "resolved",
        "closed",
        "reopened",
    ],
)
def test_status_unit_member(more: list[Event], status: str, unit: str | None, member: str | None) -> None:
    s = state_of(*EMERGENCY, *more)
    assert (s.status, s.unit, s.member) == (status, unit, member)
    assert s.is_open == (status not in ("resolved", "closed"))


@pytest.mark.parametrize(
    ("more", "now", "expected"),
    [
        ([ev("resolved", 2 * H - S)], 5 * H, Light.ON_TIME),
        ([ev("resolved", 2 * H)], 5 * H, Light.ON_TIME),
        ([ev("resolved", 2 * H + S)], 5 * H, Light.LATE),
        ([ev("resolved", H), ev("closed", 9 * H)], 9 * H, Light.ON_TIME),
        ([ev("closed", 3 * H)], 3 * H, Light.LATE),
        ([ev("closed", H)], 3 * H, Light.ON_TIME),
        ([ev("resolved", H), ev("reopened", 90 * 60 * S)], 90 * 60 * S, Light.YELLOW),
        ([ev("resolved", H), ev("reopened", 90 * 60 * S)], 3 * H, Light.RED),
        ([ev("resolved", H), ev("reopened", 2 * H), ev("resolved", 3 * H)], 4 * H, Light.LATE),
    ],
    ids=[
        "resolved-second-early",
        "resolved-at-due",
        "resolved-second-late",
        "closed-uses-resolved-time",
        "closed-unresolved-late",
        "closed-unresolved-on-time",
        "reopened-yellow",
        "reopened-red",
        "resolved-again-late",
    ],
)
def test_done_lights(more: list[Event], now: timedelta, expected: str) -> None:
    assert light(state_of(*EMERGENCY, *more), T0 + now, SETTINGS) == expected


def test_reopen_after_resolve_is_open_again() -> None:
    s = state_of(
        *EMERGENCY,
        ev("resolved", H),
        ev("reviewed", 2 * H, resolved=False, satisfaction="dissatisfied"),
        ev("reopened", 3 * H, reason="未解决"),
    )
    assert (s.status, s.is_open, s.resolved_at, s.reopen_count) == ("reopened", True, None, 1)
    assert (s.reviewed, s.responded, s.resolved_flag, s.satisfaction) == (True, True, False, "dissatisfied")
    assert s.reviewed_at == T0 + 2 * H


def test_fraction_used_stops_when_done() -> None:
    s = state_of(*EMERGENCY, ev("resolved", H))
    assert fraction_used(s, T0 + 10 * H, SETTINGS) == pytest.approx(0.5)


def test_empty_span_is_overdue_at_once() -> None:
    s = state_of(*EMERGENCY, ev("extended", 0 * H, due_at=iso(-H)))
    assert fraction_used(s, T0, SETTINGS) == math.inf
    assert light(s, T0, SETTINGS) == Light.RED


def test_counts_and_times() -> None:
    s = state_of(
        *EMERGENCY,
        ev("returned", H),
        ev("dispatched", 2 * H, unit="U2"),
        ev("extended", 3 * H, due_at=iso(9 * H)),
        ev("resolved", 4 * H, unit="U2"),
        ev("reopened", 5 * H),
        ev("resolved", 6 * H, unit="U2"),
        ev("closed", 7 * H),
    )
    assert (s.dispatch_count, s.return_count, s.extension_count, s.reopen_count) == (2, 1, 1, 1)
    assert (s.resolved_at, s.closed_at, s.last_event_at) == (T0 + 6 * H, T0 + 7 * H, T0 + 7 * H)
    assert (s.status, s.unit) == ("closed", "U2")


def test_first_created_wins() -> None:
    first = ev("created", 0 * H, channel="phone", priority="urgent")
    again = ev("created", H, channel="wechat", priority="emergency")
    s = state_of(again, first)
    assert (s.channel, s.priority, s.created_at, s.last_event_at) == ("phone", "urgent", T0, T0 + H)


def test_same_time_created_tie_breaks_on_id() -> None:
    s = state_of(ev("created", 0 * H, eid="e-b", channel="web"), ev("created", 0 * H, eid="e-a", channel="app"))
    assert s.channel == "app"


def test_events_dated_before_created_still_apply() -> None:
    s = state_of(ev("dispatched", -S, unit="U7"), ev("created", 0 * H))
    assert (s.status, s.unit, s.clock_start, s.created_at) == ("dispatched", "U7", T0 - S, T0)


def test_events_of_another_appeal_are_refused() -> None:
    with pytest.raises(ValueError, match="not A1"):
        fold([ev("created", 0 * H), ev("dispatched", H, appeal="A2")])


HISTORY = [
    ev("created", 0 * H, location={"lon": 116.4, "lat": 39.9}),
    ev("dispatched", 10 * S, due_at=iso(3 * H)),
    ev("returned", H),
    ev("dispatched", H + S, unit="U2"),
    ev("dispatched", H + S, unit="U3"),
    ev("accepted", 2 * H, unit="U3", member="M9"),
    ev("extended", 3 * H, due_at=iso(20 * H)),
    ev("resolved", 4 * H, unit="U3"),
    ev("reviewed", 5 * H),
    ev("reopened", 6 * H),
    ev("resolved", 7 * H, unit="U3"),
    ev("reviewed", 8 * H, satisfaction="basically_satisfied"),
    ev("closed", 9 * H),
    ev("created", 9 * H, channel="dup"),
]


@pytest.mark.parametrize("seed", range(10))
def test_shuffled_order_folds_the_same(seed: int) -> None:
    shuffled = list(HISTORY)
    random.Random(seed).shuffle(shuffled)
    assert fold(shuffled) == fold(HISTORY)


def test_history_folds_as_expected() -> None:
    s = state_of(*HISTORY)
    assert (s.status, s.unit, s.member, s.dispatch_count, s.clock_start) == ("closed", "U3", "M9", 3, T0 + H + S)
    assert (s.due_at, s.satisfaction, s.channel) == (T0 + 20 * H, "basically_satisfied", "phone")
    assert light(s, T0 + 30 * H, SETTINGS) == Light.ON_TIME


def test_state_is_frozen() -> None:
    s = state_of(*EMERGENCY)
    with pytest.raises(AttributeError):
        s.status = "closed"  # type: ignore[misc]


def test_appeal_draft_resumes_like_a_full_fold() -> None:
    """Folding a prefix, saving it as JSON and advancing with the rest equals folding everything."""
    import random as _random

    from dashboard.appeal import (
        advance,
        draft_from_json,
        draft_to_json,
        finish,
        follows,
        start_draft,
    )
    from dashboard.contract import parse_event as _parse

    texts = [
        '{"v":1,"id":"e1","type":"created","appeal":"A","at":"2026-11-22T09:00:00+08:00","channel":"phone",'
        '"kind":"request","category":["住房"],"priority":"urgent","location":{"lon":116.4,"lat":39.9,"crs":"gcj02"}}',
        '{"v":1,"id":"e2","type":"dispatched","appeal":"A","at":"2026-11-22T09:05:00+08:00","unit":"U"}',
        '{"v":1,"id":"e3","type":"extended","appeal":"A","at":"2026-11-22T10:00:00+08:00",'
        '"due_at":"2026-11-25T10:00:00+08:00"}',
        '{"v":1,"id":"e4","type":"resolved","appeal":"A","at":"2026-11-22T11:00:00+08:00","unit":"U"}',
        '{"v":1,"id":"e5","type":"reviewed","appeal":"A","at":"2026-11-22T12:00:00+08:00","responded":true,'
        '"resolved":false,"satisfaction":"dissatisfied"}',
        '{"v":1,"id":"e6","type":"reopened","appeal":"A","at":"2026-11-22T13:00:00+08:00"}',
    ]
    events = [_parse(t) for t in texts]
    whole, full = fold(events), start_draft(events)
    assert full is not None
    for cut in range(1, len(events)):
        head = start_draft(events[:cut])
        assert head is not None
        draft = draft_from_json(draft_to_json(head), "A")
        rest = events[cut:]
        _random.Random(cut).shuffle(rest)
        assert follows(draft, rest)
        assert not follows(draft, events[:cut])
        resumed = advance(draft, rest)  # holds what later events change; the rest only `created` sets
        assert resumed == {k: v for k, v in full.items() if k in resumed}
        assert finish(full) == whole
