"""Appeal rows from fold drafts: which columns a draft gives, and which an update must write."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any

from dashboard.appeal import (
    DONE_STATUSES,
    draft_due,
    draft_to_json,
    light_times,
)
from dashboard.settings import Settings
from data_access.intake.event_log import Place
from data_access.store.models import Appeal

#: Appeal row columns that follow from each key of a fold draft (a key not listed is a column of its own name).
_DEADLINE = ("due_at", "yellow_from", "red_from")


_DRAFT_COLUMNS: dict[str, tuple[str, ...]] = {
    "appeal": (),
    "community": (),  # the row's place is resolved at ingest, not taken from the draft
    "status": ("status",),
    "category": ("cat1", "cat2", "cat3"),
    "location": ("lon", "lat"),
    "priority": ("priority",) + _DEADLINE,
    "clock_start": ("clock_start",) + _DEADLINE,
    "_created_due": _DEADLINE,
    "_dispatched_due": _DEADLINE,
    "_extended_due": _DEADLINE,
    "_last": ("last_event_at",),
}


_COLUMN_ORDER = {c.name: i for i, c in enumerate(Appeal.__table__.columns)}


def changed_columns(before: dict[str, object], after: dict[str, object]) -> tuple[str, ...]:
    """The appeal row columns that may differ between two drafts of one appeal (fold state always does).

    `before` holds the keys that may have changed (`touched` by the events applied), as they were.

    Writing only these matters: an UPDATE that names an indexed column rewrites that index entry,
    and most events touch two or three of the appeals table's indexed columns, not all of them. `is_open`, in
    four of them, changes only when the status passes between open and done (not when it is accepted, say)."""
    cols = {"fold_state"}
    for key, old in before.items():
        value = after[key]
        if old is not value and old != value:
            cols.update(_DRAFT_COLUMNS.get(key, (key,)))
            if key == "status" and (old in DONE_STATUSES) != (value in DONE_STATUSES):
                cols.add("is_open")
    return _in_table_order(frozenset(cols))


@cache
def _in_table_order(cols: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(cols, key=_COLUMN_ORDER.__getitem__))


def appeal_row(draft: dict[str, Any], place: Place | None, settings: Settings) -> dict[str, object]:
    """The `appeals` row of a whole fold's draft (the fields of `finish(draft)`, read straight from the draft)."""
    d = draft
    cat = d["category"]
    loc = d["location"] or {}
    return {
        "id": d["appeal"],
        "created_at": d["created_at"],
        "channel": d["channel"],
        "kind": d["kind"],
        "cat1": cat[0],
        "cat2": cat[1] if len(cat) > 1 else None,
        "cat3": cat[2] if len(cat) > 2 else None,
        "lon": loc.get("lon"),
        "lat": loc.get("lat"),
        "grid": place.grid if place else None,
        "community": place.community if place else None,
        "street": place.street if place else None,
        "district": place.district if place else None,
        "address": d["address"],
        "summary": d["summary"],
        **state_columns(draft, settings),
    }


#: State columns read straight from the draft key of the same name.
_PLAIN_STATE = frozenset(
    (
        "status",
        "priority",
        "unit",
        "member",
        "dispatch_count",
        "return_count",
        "extension_count",
        "reopen_count",
        "clock_start",
        "first_dispatched_at",
        "resolved_at",
        "closed_at",
        "reviewed",
        "reviewed_at",
        "responded",
        "resolved_flag",
        "satisfaction",
    )
)


STATE_COLUMNS = _PLAIN_STATE | {"is_open", "last_event_at", "fold_state", *_DEADLINE}


#: Every state column in table order: what a resumed fold writes on PostgreSQL (`copy_folded`).
ALL_STATE = tuple(c for c in _COLUMN_ORDER if c in STATE_COLUMNS)


UPDATE_NAMES = ("id", *ALL_STATE)


#: The columns of a row folded whole: all but the mark of an appeal the projection left out, which is set and
#: cleared with its record (data_access.projection.failures).
ROW_NAMES = tuple(c for c in _COLUMN_ORDER if c != "projection_failed_at")


#: An appeal row written whole replaces the stored one.
UPSERT = "ON CONFLICT (id) DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in ROW_NAMES if c != "id")


def state_columns(draft: dict[str, Any], settings: Settings, cols: Collection[str] = STATE_COLUMNS) -> dict[str, Any]:
    """The columns of an appeal's row that events after `created` can change, from a draft (whole or resumed);
    only those in `cols` (and `fold_state`), so an update computes no more than it writes."""
    d = draft
    row = {c: d[c] for c in cols if c in _PLAIN_STATE}
    if "is_open" in cols:
        row["is_open"] = d["status"] not in DONE_STATUSES
    if "due_at" in cols or "red_from" in cols or "yellow_from" in cols:
        row["yellow_from"], row["red_from"], row["due_at"] = light_times(
            d["clock_start"], draft_due(d), d["priority"], settings
        )
    if "last_event_at" in cols:
        row["last_event_at"] = d["_last"][0]
    row["fold_state"] = draft_to_json(draft)
    return row


def appeal_table(fold: Any, places: dict[str, Any], settings: Settings) -> Any:
    """The `appeals` rows of folds done column-wise (`dashboard.history_columns`: an Arrow table, a row per appeal)
    as an Arrow table of `ROW_NAMES`, the same as `appeal_row` of each one's draft; `places`: the grid, community,
    street and district columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from dashboard.history_columns import fold_json, light_columns

    k = fold.num_rows
    yellow, red, due = light_columns(fold, settings)

    def stamps(us: Any) -> Any:
        return pa.array(us, pa.int64()).cast(pa.timestamp("us", tz="UTC"))

    cols = {
        "id": fold.column("appeal"),
        "is_open": pc.invert(pc.is_in(fold.column("status"), pa.array(DONE_STATUSES))),
        "lon": pa.nulls(k, pa.float64()),
        "lat": pa.nulls(k, pa.float64()),
        **places,
        "due_at": stamps(due),
        "yellow_from": stamps(yellow),
        "red_from": stamps(red),
        "last_event_at": fold.column("_last_at"),
        "fold_state": fold_json(fold),
    }
    return pa.table({c: cols[c] if c in cols else fold.column(c) for c in ROW_NAMES})
