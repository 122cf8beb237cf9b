"""An appeal's current state, folded from its events, and its deadline and traffic light."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import orjson

from dashboard.contract import Event
from dashboard.settings import Settings

OPEN_STATUSES = ("created", "dispatched", "accepted", "returned", "reopened")
DONE_STATUSES = ("resolved", "closed")


class Light:
    """Traffic-light values: three while open, two once resolved or closed."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    ON_TIME = "on_time"
    LATE = "late"


class Location(TypedDict):
    """Where the appeal is, as the intake side gave it (the same dict as the `created` event's data)."""

    lon: float
    lat: float
    crs: str


@dataclass(frozen=True, slots=True)
class AppealState:
    """An appeal as its events leave it; all times aware UTC."""

    appeal: str
    status: str
    created_at: datetime
    channel: str
    kind: str
    category: tuple[str, ...]
    priority: str
    location: Location | None
    community: str | None
    address: str | None
    summary: str | None
    unit: str | None
    member: str | None
    first_dispatched_at: datetime | None
    dispatch_count: int
    return_count: int
    extension_count: int
    reopen_count: int
    clock_start: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reviewed: bool
    reviewed_at: datetime | None
    responded: bool | None
    resolved_flag: bool | None
    satisfaction: str | None
    last_event_at: datetime

    @property
    def is_open(self) -> bool:
        """Still being handled: neither resolved nor closed."""
        return self.status not in DONE_STATUSES


def fold(events: Iterable[Event]) -> AppealState | None:
    """The state after the appeal's full history, applied in (at, id) order; None without a `created`."""
    draft = start_draft(events)
    return None if draft is None else finish(draft)


def start_draft(events: Iterable[Event]) -> dict[str, Any] | None:
    """The working state of a full history (None without a `created`); `advance` adds later events."""
    ordered = sorted(events, key=lambda e: (e.at, e.id))
    created = next((e for e in ordered if e.type == "created"), None)
    if created is None:
        return None
    s = _start(created)
    s["_last"] = (created.at, created.id)
    return advance(s, ordered)


def advance(draft: dict[str, Any], events: Iterable[Event]) -> dict[str, Any]:
    """Apply events that all sort after everything already in the draft (in place; returns it)."""
    for e in sorted(events, key=lambda e: (e.at, e.id)):
        if e.appeal != draft["appeal"]:
            raise ValueError(f"event {e.id} is of appeal {e.appeal}, not {draft['appeal']}")
        if e.type != "created":  # later duplicates of `created` are ignored
            _APPLY[e.type](draft, e)
        draft["_last"] = max(draft["_last"], (e.at, e.id))
    return draft


def follows(draft: dict[str, Any], events: Iterable[Event]) -> bool:
    """Whether these events all sort after the draft's last one, so `advance` equals a full fold."""
    last = draft["_last"]
    return all((e.at, e.id) > last for e in events)


def finish(draft: dict[str, Any]) -> AppealState:
    """The appeal's state from a working draft (the draft is left as it was)."""
    s = {k: v for k, v in draft.items() if not k.startswith("_")}
    s["last_event_at"] = draft["_last"][0]
    s["due_at"] = draft_due(draft)
    return AppealState(**s)


def draft_due(draft: dict[str, Any]) -> datetime | None:
    """The due time the events set, in the contract's order (extended, dispatched, created); None: by priority."""
    due: datetime | None = draft["_extended_due"] or draft["_dispatched_due"] or draft["_created_due"]
    return due


#: What a stored draft keeps: the state later events can change, and what the deadline needs. The rest
#: (channel, kind, category, place, texts) only `created` sets; the store holds it in the appeal's own columns.
KEPT = (
    "status",
    "priority",
    "unit",
    "member",
    "first_dispatched_at",
    "dispatch_count",
    "return_count",
    "extension_count",
    "reopen_count",
    "clock_start",
    "resolved_at",
    "closed_at",
    "reviewed",
    "reviewed_at",
    "responded",
    "resolved_flag",
    "satisfaction",
    "_extended_due",
    "_dispatched_due",
    "_created_due",
    "_last",
)
_KEPT_TIMES = tuple(i for i, k in enumerate(KEPT) if k.endswith(("_at", "_due")) or k == "clock_start")
_LEGACY_TIMES = (
    "created_at",
    "first_dispatched_at",
    "clock_start",
    "resolved_at",
    "closed_at",
    "reviewed_at",
    "_extended_due",
    "_dispatched_due",
    "_created_due",
)

#: The draft keys an event of each type may change besides `_last` (tests check this against the fold).
TOUCHES: dict[str, tuple[str, ...]] = {
    "created": (),
    "dispatched": (
        "status",
        "resolved_at",
        "closed_at",
        "unit",
        "member",
        "clock_start",
        "_dispatched_due",
        "dispatch_count",
        "first_dispatched_at",
    ),
    "accepted": ("status", "resolved_at", "closed_at", "unit", "member"),
    "extended": ("_extended_due", "extension_count"),
    "returned": ("status", "resolved_at", "closed_at", "unit", "member", "return_count"),
    "resolved": ("status", "unit", "resolved_at", "closed_at"),
    "reviewed": ("reviewed", "reviewed_at", "responded", "resolved_flag", "satisfaction"),
    "reopened": ("status", "resolved_at", "closed_at", "reopen_count"),
    "closed": ("status", "closed_at"),
}


def touched(events: Iterable[Event]) -> set[str]:
    """The draft keys these events may change."""
    keys = {"_last"}
    for e in events:
        keys.update(TOUCHES[e.type])
    return keys


def kept(draft: dict[str, Any]) -> dict[str, Any]:
    """The part of a draft `advance` needs (what `draft_to_json` stores), as `draft_from_json` gives it back."""
    return {k: draft[k] for k in _KEPT_KEYS}


_KEPT_KEYS = ("appeal",) + KEPT


def draft_to_json(draft: dict[str, Any]) -> str:
    """What `advance` needs of a draft, as compact JSON text (a list in `KEPT` order), so the store can resume it."""
    return orjson.dumps([draft[k] for k in KEPT]).decode()  # datetimes become RFC 3339 text, tuples arrays


def draft_from_json(text: str, appeal: str) -> dict[str, Any]:
    """The draft `draft_to_json` wrote, holding the keys in `KEPT` (and `appeal`): enough to `advance` it.

    Text of the earlier format (a JSON object of the whole draft) still loads."""
    if text[0] != "[":
        d: dict[str, Any] = orjson.loads(text)
        for k in _LEGACY_TIMES:
            if d[k] is not None:
                d[k] = datetime.fromisoformat(d[k])
        d["category"] = tuple(d["category"])
    else:
        v = orjson.loads(text)
        for i in _KEPT_TIMES:
            if v[i] is not None:
                v[i] = datetime.fromisoformat(v[i])
        d = dict(zip(KEPT, v))
    d["appeal"] = appeal
    d["_last"] = (datetime.fromisoformat(d["_last"][0]), d["_last"][1])
    return d


def _start(e: Event) -> dict[str, Any]:
    """The draft state a `created` event opens."""
    d, loc = e.data, e.data.get("location")
    return {
        "appeal": e.appeal,
        "status": "created",
        "created_at": e.at,
        "channel": d["channel"],
        "kind": d["kind"],
        "category": tuple(d["category"]),
        "priority": d["priority"],
        "location": None if loc is None else Location(lon=loc["lon"], lat=loc["lat"], crs=loc.get("crs", "wgs84")),
        "community": d.get("community"),
        "address": d.get("address"),
        "summary": d.get("summary"),
        "unit": None,
        "member": None,
        "first_dispatched_at": None,
        "dispatch_count": 0,
        "return_count": 0,
        "extension_count": 0,
        "reopen_count": 0,
        "clock_start": e.at,
        "resolved_at": None,
        "closed_at": None,
        "reviewed": False,
        "reviewed_at": None,
        "responded": None,
        "resolved_flag": None,
        "satisfaction": None,
        "_extended_due": None,
        "_dispatched_due": None,
        "_created_due": d.get("due_at"),
    }


def _reopen(s: dict[str, Any], status: str) -> None:
    """Any event that puts the appeal back in hand forgets when it was resolved or closed."""
    s.update(status=status, resolved_at=None, closed_at=None)


def _dispatched(s: dict[str, Any], e: Event) -> None:
    _reopen(s, "dispatched")
    s.update(unit=e.data["unit"], member=None, clock_start=e.at, _dispatched_due=e.data.get("due_at"))
    s["dispatch_count"] += 1
    if s["first_dispatched_at"] is None:
        s["first_dispatched_at"] = e.at


def _accepted(s: dict[str, Any], e: Event) -> None:
    _reopen(s, "accepted")
    s.update(unit=e.data["unit"], member=e.data.get("member"))


def _extended(s: dict[str, Any], e: Event) -> None:
    s["_extended_due"] = e.data["due_at"]
    s["extension_count"] += 1


def _returned(s: dict[str, Any], e: Event) -> None:
    _reopen(s, "returned")
    s.update(unit=None, member=None)
    s["return_count"] += 1


def _resolved(s: dict[str, Any], e: Event) -> None:
    s.update(status="resolved", unit=e.data["unit"], resolved_at=e.at, closed_at=None)


def _reviewed(s: dict[str, Any], e: Event) -> None:
    d = e.data
    s.update(reviewed=True, reviewed_at=e.at, responded=d["responded"], resolved_flag=d["resolved"])
    s["satisfaction"] = d["satisfaction"]


def _reopened(s: dict[str, Any], e: Event) -> None:
    _reopen(s, "reopened")
    s["reopen_count"] += 1


def _closed(s: dict[str, Any], e: Event) -> None:
    s.update(status="closed", closed_at=e.at)


_APPLY: dict[str, Callable[[dict[str, Any], Event], None]] = {
    "dispatched": _dispatched,
    "accepted": _accepted,
    "extended": _extended,
    "returned": _returned,
    "resolved": _resolved,
    "reviewed": _reviewed,
    "reopened": _reopened,
    "closed": _closed,
}


def deadline(state: AppealState, settings: Settings) -> tuple[datetime, datetime]:
    """(clock start, due time): the due time is the contract's first that applies, else start + priority limit."""
    due = state.due_at or state.clock_start + settings.limit(state.priority)
    return state.clock_start, due


def thresholds(state: AppealState, settings: Settings) -> tuple[datetime, datetime, datetime]:
    """(yellow from, red from, due) as absolute times: an open appeal's light is a comparison with `now`."""
    return light_times(state.clock_start, state.due_at, state.priority, settings)


def light_times(
    clock_start: datetime, due_at: datetime | None, priority: str, settings: Settings
) -> tuple[datetime, datetime, datetime]:
    """`thresholds` from the three facts it depends on (so the store need not build an AppealState).

    Yellow never comes after red (a due time before the clock start would put it there): the light is the
    same, and the store counts "yellow or red" as one index range (data_access/store/lights.py)."""
    due = due_at or clock_start + settings.limit(priority)
    span = due - clock_start
    red = clock_start + span * settings.red_at
    return min(clock_start + span * settings.yellow_at, red), red, due


def finished_at(state: AppealState) -> datetime | None:
    """When handling ended for the light: resolved, else closed without resolving; None while open."""
    if state.is_open:
        return None
    return state.resolved_at or state.closed_at


def fraction_used(state: AppealState, now: datetime, settings: Settings) -> float:
    """Share of the time limit used by `now` (by the end of handling once done); inf if the limit is empty and past."""
    start, due = deadline(state, settings)
    end = finished_at(state)
    until = now if end is None else min(now, end)
    span = (due - start).total_seconds()
    if span <= 0:
        return math.inf if until >= due else 0.0
    return (until - start).total_seconds() / span


def light(state: AppealState, now: datetime, settings: Settings) -> str:
    """green / yellow / red while open (thresholds inclusive); on_time / late once resolved or closed."""
    return light_from_times(state.is_open, *thresholds(state, settings), finished_at(state), now)


def light_from_times(
    is_open: bool, yellow_from: datetime, red_from: datetime, due: datetime, finished: datetime | None, now: datetime
) -> str:
    """The light from stored thresholds; `finished` is resolved_at, else closed_at (ignored while open)."""
    if not is_open:
        return Light.ON_TIME if finished is not None and finished <= due else Light.LATE
    if now >= red_from:
        return Light.RED
    return Light.YELLOW if now >= yellow_from else Light.GREEN
