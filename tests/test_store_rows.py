"""The appeal row the store writes: the same figures as the domain fold, and partial updates that miss nothing."""

from __future__ import annotations

import pytest

from dashboard.appeal import advance, draft_from_json, finish, start_draft, thresholds
from dashboard.contract import parse_event
from dashboard.settings import load_settings
from data_access.store import Place, appeal_row, changed_columns
from tests.histories import histories

SETTINGS = load_settings(demo=False)
PLACE = Place("g", "c", "s", "d")


@pytest.fixture(scope="module")
def parsed(city):  # type: ignore[no-untyped-def]
    return [[parse_event(t) for t in h] for h in histories(city, 400, seed=7).values()]


def test_row001_row_equals_the_domain_fold(parsed):  # type: ignore[no-untyped-def]
    """appeal_row reads the draft directly; every column must equal what finish() and thresholds() say."""
    for events in parsed:
        draft = start_draft(events)
        row, state = appeal_row(draft, PLACE, SETTINGS), finish(draft)
        yellow, red, due = thresholds(state, SETTINGS)
        cat = list(state.category) + [None, None]
        loc = state.location or {}
        expected = {
            "id": state.appeal, "is_open": state.is_open, "due_at": due, "yellow_from": yellow, "red_from": red,
            "cat1": cat[0], "cat2": cat[1], "cat3": cat[2], "lon": loc.get("lon"), "lat": loc.get("lat"),
            "grid": "g", "community": "c", "street": "s", "district": "d",
        }
        for col, value in row.items():
            if col == "fold_state":
                assert draft_from_json(value) == draft
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
            draft = start_draft(ordered[:cut])
            old_row = appeal_row(draft, PLACE, SETTINGS)
            before = dict(draft)
            new_row = appeal_row(advance(draft, ordered[cut:cut + 2]), PLACE, SETTINGS)
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
        draft = start_draft(ordered[:k])
        before = dict(draft)
        cols = changed_columns(before, advance(draft, [ordered[k]]))
        assert not {"is_open", "community", "unit", "red_from", "yellow_from", "created_at"} & set(cols)
        assert {"reviewed", "reviewed_at", "satisfaction", "fold_state"} <= set(cols)
        return
    pytest.fail("no history with a review")
