"""The appeal row the store writes: the same figures as the domain fold, and partial updates that miss nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from dashboard.appeal import (
    KEPT,
    advance,
    draft_from_json,
    draft_to_json,
    finish,
    start_draft,
    thresholds,
    touched,
)
from dashboard.contract import Event, parse_event
from dashboard.settings import load_settings
from data_access.intake.event_log import Place
from data_access.projection.rows import appeal_row, changed_columns, state_columns
from tests.histories import histories

SETTINGS = load_settings(demo=False)
PLACE = Place("g", "c", "s", "d")


def _start(events: Iterable[Event]) -> dict[str, Any]:
    draft = start_draft(events)
    assert draft is not None  # each history here begins with its created event
    return draft


@pytest.fixture(scope="module")
def parsed(city):  # type: ignore[no-untyped-def]
    return [[parse_event(t) for t in h] for h in histories(city, 400, seed=7).values()]


def test_row001_row_equals_the_domain_fold(parsed):  # type: ignore[no-untyped-def]
    """appeal_row reads the draft directly; every column must equal what finish() and thresholds() say."""
    for events in parsed:
        draft = _start(events)
        row, state = appeal_row(draft, PLACE, SETTINGS), finish(draft)
        yellow, red, due = thresholds(state, SETTINGS)
        cat = list(state.category) + [None, None]
        loc: Mapping[str, object] = state.location or {}
        expected = {
            "id": state.appeal,
            "is_open": state.is_open,
            "due_at": due,
            "yellow_from": yellow,
            "red_from": red,
            "cat1": cat[0],
            "cat2": cat[1],
            "cat3": cat[2],
            "lon": loc.get("lon"),
            "lat": loc.get("lat"),
            "grid": "g",
            "community": "c",
            "street": "s",
            "district": "d",
        }
        for col, value in row.items():
            if col == "fold_state":
                kept = {k: draft[k] for k in KEPT + ("appeal",)}
                assert isinstance(value, str) and draft_from_json(value, state.appeal) == kept
            elif col in expected:
                assert value == expected[col], col
            else:
                assert value == getattr(state, col), col


def test_row002_changed_columns_cover_every_difference(parsed):  # type: ignore[no-untyped-def]
    """Advancing a draft by any tail of its history changes no column that changed_columns leaves out."""
    checked = 0
    for events in parsed:
        ordered = sorted(events, key=lambda e: (e.at, e.id))
        for cut in range(1, len(ordered)):
            draft = _start(ordered[:cut])
            old_row = appeal_row(draft, PLACE, SETTINGS)
            before = dict(draft)
            new_row = appeal_row(advance(draft, ordered[cut : cut + 2]), PLACE, SETTINGS)
            cols = set(changed_columns(before, draft))
            differ = {c for c in new_row if new_row[c] != old_row[c]}
            assert differ <= cols, (ordered[cut].type, differ - cols)
            assert "fold_state" in cols
            checked += 1
    assert checked > 1000


def test_row003_changed_columns_leave_out_what_an_event_does_not_touch(parsed):  # type: ignore[no-untyped-def]
    """A review names none of the place or deadline columns (so their indexes are not rewritten)."""
    for events in parsed:
        ordered = sorted(events, key=lambda e: (e.at, e.id))
        k = next((i for i, e in enumerate(ordered) if e.type == "reviewed"), None)
        if k is None:
            continue
        draft = _start(ordered[:k])
        before = dict(draft)
        cols = changed_columns(before, advance(draft, [ordered[k]]))
        assert not {"is_open", "community", "unit", "red_from", "yellow_from", "created_at"} & set(cols)
        assert {"reviewed", "reviewed_at", "satisfaction", "fold_state"} <= set(cols)
        return
    pytest.fail("no history with a review")


def test_row006_is_open_is_named_only_when_it_changes(parsed):  # type: ignore[no-untyped-def]
    """`is_open` (in four indexes) is written when an event opens or ends the appeal, not when it is accepted
    or closed after being resolved."""
    seen = set()
    for events in parsed:
        ordered = sorted(events, key=lambda e: (e.at, e.id))
        for k in range(1, len(ordered)):
            draft = _start(ordered[:k])
            before = dict(draft)
            was_open = finish(draft).is_open
            cols = changed_columns(before, advance(draft, [ordered[k]]))
            assert ("is_open" in cols) == (was_open != finish(draft).is_open), ordered[k].type
            seen.add((ordered[k].type, "is_open" in cols))
    assert {("accepted", False), ("resolved", True), ("reopened", True)} <= seen


def test_row004_touched_keys_hold_every_change_and_resumed_drafts_give_the_same_row(parsed):  # type: ignore[no-untyped-def]
    """`touched` names every draft key an event changes; a draft resumed from its stored text updates the same
    columns to the same values as the whole draft does."""
    checked = 0
    for events in parsed:
        ordered = sorted(events, key=lambda e: (e.at, e.id))
        for cut in range(1, len(ordered)):
            draft = _start(ordered[:cut])
            before = dict(draft)
            tail = ordered[cut : cut + 2]
            advance(draft, tail)
            differ = {k for k in draft if draft[k] != before[k]}
            assert differ <= touched(tail), (tail[0].type, differ - touched(tail))
            resumed = draft_from_json(draft_to_json(_start(ordered[:cut])), draft["appeal"])
            some = {k: resumed[k] for k in touched(tail)}
            advance(resumed, tail)
            cols = changed_columns(some, resumed)
            assert cols == changed_columns(before, draft)
            whole, part = appeal_row(draft, PLACE, SETTINGS), state_columns(resumed, SETTINGS)
            assert {c: part[c] for c in cols} == {c: whole[c] for c in cols}
            checked += 1
    assert checked > 1000


def test_row005_drafts_stored_in_the_earlier_format_still_resume():  # type: ignore[no-untyped-def]
    """Rows written before the compact format hold the whole draft as a JSON object: they load and advance."""
    text = (
        '{"appeal":"A1","status":"dispatched","created_at":"2026-11-20T01:00:00+00:00","channel":"web",'
        '"kind":"complaint","category":["a","b"],"priority":"routine","location":null,"community":"c",'
        '"address":null,"summary":"s","unit":"U1","member":null,"first_dispatched_at":"2026-11-20T02:00:00+00:00",'
        '"dispatch_count":1,"return_count":0,"extension_count":0,"reopen_count":0,'
        '"clock_start":"2026-11-20T02:00:00+00:00","resolved_at":null,"closed_at":null,"reviewed":false,'
        '"reviewed_at":null,"responded":null,"resolved_flag":null,"satisfaction":null,"_extended_due":null,'
        '"_dispatched_due":null,"_created_due":null,"_last":["2026-11-20T02:00:00+00:00","e2"]}'
    )
    draft = draft_from_json(text, "A1")
    ev = parse_event('{"v":1,"id":"e3","type":"resolved","appeal":"A1","at":"2026-11-20T05:00:00Z","unit":"U1"}')
    row = state_columns(advance(draft, [ev]), SETTINGS)
    assert row["status"] == "resolved" and row["is_open"] is False
    assert row["clock_start"].isoformat() == "2026-11-20T02:00:00+00:00"
    assert draft_from_json(row["fold_state"], "A1")["status"] == "resolved"
