"""Parsing intake stream entries: every way an entry can break the contract, and every valid type."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest

from dashboard.contract import (
    EVENT_TYPES,
    AppealKind,
    ContractError,
    Event,
    Priority,
    Satisfaction,
    parse_event,
    parse_presence,
    parse_timestamp,
)

AT = "2026-11-22T09:15:00+08:00"
AT_UTC = datetime(2026, 11, 22, 1, 15, tzinfo=UTC)
OWN_FIELDS: dict[str, dict[str, Any]] = {
    "created": {
        "channel": "phone",
        "kind": "complaint",
        "category": ["城市管理", "市容环境", "垃圾清运"],
        "priority": "normal",
        "location": {"lon": 116.41, "lat": 39.91},
        "community": "110101001001",
        "address": "东城区东华门街道",
        "summary": "楼下垃圾三天没人清运",
        "due_at": "2026-11-23T09:15:00+08:00",
    },
    "dispatched": {"unit": "110101001", "due_at": "2026-11-24T18:00:00Z"},
    "accepted": {"unit": "110101001", "member": "M-110101001-03"},
    "extended": {"due_at": "2026-11-30T18:00:00+08:00", "reason": "需协调产权单位"},
    "returned": {"unit": "110101001", "reason": "非本辖区"},
    "resolved": {"unit": "110101001", "note": "已清运"},
    "reviewed": {"responded": True, "resolved": True, "satisfaction": "satisfied"},
    "reopened": {"reason": "市民表示未解决"},
    "closed": {},
}


def entry(type_: str = "created", drop: tuple[str, ...] = (), **fields: Any) -> str:
    """A valid entry of a type as JSON text, with fields replaced or dropped."""
    obj: dict[str, Any] = {"v": 1, "id": "e-000001", "type": type_, "appeal": "A20261122-000001", "at": AT}
    obj.update(OWN_FIELDS[type_])
    obj.update(fields)
    for name in drop:
        obj.pop(name, None)
    return json.dumps(obj, ensure_ascii=False)


@pytest.mark.parametrize("type_", list(OWN_FIELDS))
def test_every_valid_type_parses(type_: str) -> None:
    event = parse_event(entry(type_).encode("utf-8"))
    assert isinstance(event, Event)
    assert (event.id, event.type, event.appeal, event.at) == ("e-000001", type_, "A20261122-000001", AT_UTC)
    assert set(event.data) == set(OWN_FIELDS[type_])


def test_created_is_normalised() -> None:
    data = parse_event(entry("created")).data
    assert data["location"] == {"lon": 116.41, "lat": 39.91, "crs": "wgs84"}
    assert data["due_at"] == datetime(2026, 11, 23, 1, 15, tzinfo=UTC)
    assert data["category"] == ["城市管理", "市容环境", "垃圾清运"]


@pytest.mark.parametrize(
    ("type_", "fields", "drop", "check"),
    [
        (
            "created",
            {"location": {"lon": 116, "lat": 40, "crs": "gcj02"}},
            (),
            ("location", {"lon": 116.0, "lat": 40.0, "crs": "gcj02"}),
        ),
        ("created", {}, ("location",), ("location", None)),
        ("created", {}, ("community",), ("community", None)),
        ("created", {"category": ["其他"]}, ("address", "summary", "due_at"), ("summary", None)),
        ("created", {"summary": None, "extra": {"nested": [1, 2]}, "source": "web"}, (), ("summary", None)),
        ("created", {"summary": "x" * 4000}, (), ("summary", "x" * 4000)),
        ("dispatched", {}, ("due_at",), ("due_at", None)),
        ("accepted", {}, ("member",), ("member", None)),
        ("extended", {}, ("reason",), ("reason", None)),
        ("reviewed", {"responded": False, "resolved": False, "satisfaction": "dissatisfied"}, (), ("resolved", False)),
        ("closed", {"whatever": 1}, (), ("whatever", KeyError)),
    ],
    ids=[
        "int-coords-gcj02",
        "community-only",
        "location-only",
        "optionals-absent",
        "null-optional-and-extra",
        "text-at-limit",
        "dispatched-no-due",
        "accepted-no-member",
        "extended-no-reason",
        "reviewed-all-false",
        "closed-extra-ignored",
    ],
)
def test_valid_variants(type_: str, fields: dict[str, Any], drop: tuple[str, ...], check: tuple[str, Any]) -> None:
    data = parse_event(entry(type_, drop, **fields)).data
    name, expected = check
    if expected is KeyError:
        assert name not in data
    else:
        assert data[name] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T09:15:00+08:00", datetime(2026, 11, 22, 1, 15, tzinfo=UTC)),
        ("2026-11-22T01:15:00Z", datetime(2026, 11, 22, 1, 15, tzinfo=UTC)),
        ("2026-11-22t01:15:00z", datetime(2026, 11, 22, 1, 15, tzinfo=UTC)),
        ("2026-11-22 01:15:00-00:00", datetime(2026, 11, 22, 1, 15, tzinfo=UTC)),
        ("2026-11-21T20:15:00.5-05:00", datetime(2026, 11, 22, 1, 15, 0, 500000, tzinfo=UTC)),
        ("2026-11-22T09:15:00.123456789+08:00", datetime(2026, 11, 22, 1, 15, 0, 123456, tzinfo=UTC)),
        ("2026-01-01T07:59:59+08:00", datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(text: str, expected: datetime) -> None:
    got = parse_timestamp(text)
    assert got == expected and got.tzinfo is UTC


TS_BAD = [
    ("2026-11-22T09:15:00", "timestamp without UTC offset"),
    ("2026-02-30T09:15:00+08:00", "impossible date or time"),
    ("2026-11-22T24:00:00Z", "impossible date or time"),
    ("2026-11-22T09:15:00+08:60", "impossible date or time"),
    ("2026-11-22T09:15:00+24:00", "impossible date or time"),
    ("0001-01-01T00:00:00+08:00", "impossible date or time"),
    ("2026-11-22", "not an RFC 3339 timestamp"),
    ("20261122T091500Z", "not an RFC 3339 timestamp"),
    ("2026-11-22T09:15+08:00", "not an RFC 3339 timestamp"),
    ("2026-11-22T09:15:00+0800", "not an RFC 3339 timestamp"),
    ("2026-W47-7T09:15:00Z", "not an RFC 3339 timestamp"),
    ("", "not an RFC 3339 timestamp"),
]

BIG = "x" * 4001
MALFORMED = [
    # not a JSON object
    ("empty", b"", "not JSON: Expecting value at char 0"),
    ("garbage", b"hello", "not JSON: Expecting value"),
    ("truncated", entry()[:-5], "not JSON"),
    ("trailing", entry() + "x", "not JSON: Extra data"),
    ("nan-literal", entry(location={"lon": 1, "lat": 2}).replace('"lon": 1,', '"lon": NaN,'), "NaN is not a JSON"),
    ("infinity-literal", '{"v":1,"lon":Infinity}', "Infinity is not a JSON value"),
    ("not-utf8", b'{"v":1,"summary":"\xff"}', "not UTF-8"),
    ("utf16", entry().encode("utf-16"), "not UTF-8"),
    ("deep", "[" * 30000 + "]" * 30000, "not JSON"),
    ("array", b"[1,2]", "not a JSON object, got array"),
    ("string", b'"hi"', "not a JSON object, got string"),
    ("null", b"null", "not a JSON object, got null"),
    ("oversized", '{"v":1,"pad":"' + "x" * 70000 + '"}', "larger than 64 KiB"),
    ("oversized-multibyte", '{"v":1,"pad":"' + "好" * 22000 + '"}', "larger than 64 KiB"),
    ("lone-surrogate-text", entry("created", summary="\ud800x"), "unpaired surrogate"),
    ("lone-surrogate-escape", json.dumps({"v": 1, "id": "e\ud800"}).encode(), "unpaired surrogate"),
    # version and type
    ("no-v", entry(drop=("v",)), "missing field 'v'"),
    ("v-2", entry(v=2), "unsupported schema version 2"),
    ("v-0", entry(v=0), "unsupported schema version 0"),
    ("v-string", entry(v="1"), "v: must be an integer, got string"),
    ("v-bool", entry(v=True), "v: must be an integer, got boolean"),
    ("v-float", entry(v=1.0), "v: must be an integer, got number"),
    ("v-null", entry(v=None), "missing field 'v'"),
    ("no-type", entry(drop=("type",)), "missing field 'type'"),
    ("type-int", entry(type=3), "type: must be a string, got integer"),
    ("unknown-type", entry(type="foo"), "unknown event type 'foo'"),
    ("type-case", entry(type="Created"), "unknown event type 'Created'"),
    # common fields
    ("no-id", entry(drop=("id",)), "missing field 'id'"),
    ("no-appeal", entry(drop=("appeal",)), "missing field 'appeal'"),
    ("no-at", entry(drop=("at",)), "missing field 'at'"),
    ("id-empty", entry(id=""), "id: must not be empty"),
    ("id-long", entry(id="e" * 65), "id longer than 64 characters"),
    ("id-int", entry(id=1), "id: must be a string, got integer"),
    ("appeal-long", entry(appeal="A" * 65), "appeal longer than 64 characters"),
    ("appeal-null", entry(appeal=None), "appeal: must be a string, got null"),
    ("at-naive", entry(at="2026-11-22T09:15:00"), "at: timestamp without UTC offset"),
    ("at-impossible", entry(at="2026-02-30T09:15:00+08:00"), "at: impossible date or time"),
    ("at-int", entry(at=1763774100), "at: must be an RFC 3339 string, got integer"),
    ("at-text", entry(at="yesterday"), "at: not an RFC 3339 timestamp"),
    # created
    *[
        (f"created-no-{f}", entry(drop=(f,)), f"missing field '{f}'")
        for f in ("channel", "kind", "category", "priority")
    ],
    ("no-place", entry(drop=("location", "community")), "at least one of location and community"),
    ("no-place-nulls", entry(location=None, community=None), "at least one of location and community"),
    ("channel-empty", entry(channel=""), "channel: must not be empty"),
    ("channel-int", entry(channel=12345), "channel: must be a string, got integer"),
    ("kind-bad", entry(kind="rant"), "kind: must be one of"),
    ("priority-bad", entry(priority="high"), "priority: must be one of"),
    ("priority-case", entry(priority="Normal"), "priority: must be one of"),
    ("category-0", entry(category=[]), "category: must have at least 1 item"),
    ("category-4", entry(category=["a", "b", "c", "d"]), "category: must have at most 3 items"),
    ("category-string", entry(category="城市管理"), "category: must be an array, got string"),
    ("category-empty-item", entry(category=["a", ""]), "category[1]: must not be empty"),
    ("category-int-item", entry(category=["a", 2]), "category[1]: must be a string, got integer"),
    ("category-long-item", entry(category=["a", BIG]), "category[1] longer than 4000 characters"),
    ("location-array", entry(location=[116.4, 39.9]), "location: must be an object, got array"),
    ("location-no-lat", entry(location={"lon": 116.4}), "missing field 'location.lat'"),
    ("lon-string", entry(location={"lon": "116.4", "lat": 39.9}), "location.lon: must be a number, got string"),
    ("lon-bool", entry(location={"lon": True, "lat": 39.9}), "location.lon: must be a number, got boolean"),
    ("lon-huge", entry().replace('"lon": 116.41', '"lon": 1e400'), "location.lon: not a finite number"),
    ("lon-181", entry(location={"lon": 181, "lat": 39.9}), "location.lon: must be at most 180, got 181"),
    ("lon--181", entry(location={"lon": -180.5, "lat": 39.9}), "location.lon: must be at least -180"),
    ("lat-91", entry(location={"lon": 116.4, "lat": 91}), "location.lat: must be at most 90"),
    ("crs-bad", entry(location={"lon": 116.4, "lat": 39.9, "crs": "utm50"}), "location.crs: must be one of"),
    ("community-empty", entry(community=""), "community: must not be empty"),
    ("summary-long", entry(summary=BIG), "summary longer than 4000 characters"),
    ("address-long", entry(address=BIG), "address longer than 4000 characters"),
    ("channel-long", entry(channel=BIG), "channel longer than 4000 characters"),
    ("summary-int", entry(summary=5), "summary: must be a string, got integer"),
    ("created-due-naive", entry(due_at="2026-11-23T09:15:00"), "due_at: timestamp without UTC offset"),
    # the other types
    ("dispatched-no-unit", entry("dispatched", drop=("unit",)), "missing field 'unit'"),
    ("dispatched-unit-empty", entry("dispatched", unit=""), "unit: must not be empty"),
    ("dispatched-due-bad", entry("dispatched", due_at="2026-13-01T00:00:00Z"), "due_at: impossible date or time"),
    ("accepted-no-unit", entry("accepted", drop=("unit",)), "missing field 'unit'"),
    ("accepted-member-int", entry("accepted", member=3), "member: must be a string, got integer"),
    ("extended-no-due", entry("extended", drop=("due_at",)), "missing field 'due_at'"),
    ("extended-due-null", entry("extended", due_at=None), "due_at: must be an RFC 3339 string, got null"),
    ("extended-reason-long", entry("extended", reason=BIG), "reason longer than 4000 characters"),
    ("returned-no-unit", entry("returned", drop=("unit",)), "missing field 'unit'"),
    ("returned-reason-long", entry("returned", reason=BIG), "reason longer than 4000 characters"),
    ("resolved-no-unit", entry("resolved", drop=("unit",)), "missing field 'unit'"),
    ("resolved-note-long", entry("resolved", note=BIG), "note longer than 4000 characters"),
    *[
        (f"reviewed-no-{f}", entry("reviewed", drop=(f,)), f"missing field '{f}'")
        for f in ("responded", "resolved", "satisfaction")
    ],
    ("reviewed-responded-string", entry("reviewed", responded="true"), "responded: must be true or false, got string"),
    ("reviewed-resolved-int", entry("reviewed", resolved=1), "resolved: must be true or false, got integer"),
    ("reviewed-satisfaction-bad", entry("reviewed", satisfaction="very"), "satisfaction: must be one of"),
    ("reopened-reason-long", entry("reopened", reason=BIG), "reason longer than 4000 characters"),
    ("reopened-reason-list", entry("reopened", reason=["a"]), "reason: must be a string, got array"),
    ("closed-no-at", entry("closed", drop=("at",)), "missing field 'at'"),
]


@pytest.mark.parametrize(("raw", "reason"), [(r, why) for _, r, why in MALFORMED], ids=[n for n, _, _ in MALFORMED])
def test_malformed_events_say_why(raw: bytes | str, reason: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_event(raw)
    assert reason in str(info.value)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(("text", "reason"), TS_BAD, ids=[t or "empty" for t, _ in TS_BAD])
def test_bad_timestamps_say_why(text: str, reason: str) -> None:
    with pytest.raises(ContractError, match=reason):
        parse_event(entry("closed", at=text))


def test_max_text_len_is_a_parameter() -> None:
    parse_event(entry("reopened", reason="x" * 20), max_text_len=20)
    with pytest.raises(ContractError, match="reason longer than 19 characters"):
        parse_event(entry("reopened", reason="x" * 20), max_text_len=19)


def test_contract_error_is_a_value_error() -> None:
    assert issubclass(ContractError, ValueError)


PRESENCE = {
    "v": 1,
    "member": "M-110101001-03",
    "at": "2026-11-22T09:15:02+08:00",
    "state": "on_duty",
    "lon": 116.41,
    "lat": 39.91,
}


def heartbeat(drop: tuple[str, ...] = (), **fields: Any) -> str:
    """A valid presence entry as JSON text, with fields replaced or dropped."""
    obj = {**PRESENCE, **fields}
    for name in drop:
        obj.pop(name)
    return json.dumps(obj)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (heartbeat(), ("on_duty", 116.41, 39.91)),
        (heartbeat(drop=("lon", "lat")), ("on_duty", None, None)),
        (heartbeat(drop=("v",), state="sos"), ("sos", 116.41, 39.91)),
        (heartbeat(state="off_duty", battery=0.3), ("off_duty", 116.41, 39.91)),
    ],
    ids=["full", "no-position", "no-v", "extra-field"],
)
def test_presence_parses(raw: str, expected: tuple[str, float | None, float | None]) -> None:
    p = parse_presence(raw.encode())
    assert (p.member, p.at) == ("M-110101001-03", datetime(2026, 11, 22, 1, 15, 2, tzinfo=UTC))
    assert (p.state, p.lon, p.lat) == expected


PRESENCE_BAD = [
    ("not-json", "{", "not JSON"),
    ("array", "[]", "not a JSON object"),
    ("v-2", heartbeat(v=2), "unsupported schema version 2"),
    ("v-bool", heartbeat(v=True), "v: must be an integer"),
    ("no-member", heartbeat(drop=("member",)), "missing field 'member'"),
    ("no-at", heartbeat(drop=("at",)), "missing field 'at'"),
    ("no-state", heartbeat(drop=("state",)), "missing field 'state'"),
    ("member-empty", heartbeat(member=""), "member: must not be empty"),
    ("member-long", heartbeat(member="M" * 65), "member longer than 64 characters"),
    ("state-bad", heartbeat(state="online"), "state: must be one of"),
    ("at-naive", heartbeat(at="2026-11-22T09:15:02"), "at: timestamp without UTC offset"),
    ("lon-only", heartbeat(drop=("lat",)), "lon and lat must come together"),
    ("lat-out", heartbeat(lat=-91), "lat: must be at least -90"),
    ("lon-huge", heartbeat().replace("116.41", "-1e999"), "lon: not a finite number"),
    ("lon-string", heartbeat(lon="116.41"), "lon: must be a number, got string"),
]


@pytest.mark.parametrize(
    ("raw", "reason"), [(r, why) for _, r, why in PRESENCE_BAD], ids=[n for n, _, _ in PRESENCE_BAD]
)
def test_malformed_presence_says_why(raw: str, reason: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_presence(raw)
    assert reason in str(info.value)


def test_stored_event_reads_back_what_parse_event_accepted(city) -> None:  # type: ignore[no-untyped-def]
    """The projector reads stored events without validating them again: the same Event as parse_event, every type."""
    from dashboard.contract import _MODELS, DATA_TIMES, stored_event
    from tests.histories import histories

    texts = [t for h in histories(city, 300, seed=5).values() for t in h]
    assert {parse_event(t).type for t in texts} == set(_MODELS)
    for t in texts:
        assert stored_event(t) == parse_event(t, max_text_len=1 << 30)
    # every timestamp field of an event type is converted
    for model in _MODELS.values():
        for name, f in model.model_fields.items():
            if "datetime" in str(f.annotation) and name != "at":
                assert name in DATA_TIMES, name


# --- the fast path agrees with the pydantic path -------------------------------------------------------------

OFFSETS = ["Z", "+08:00", "-05:30", "+00:00", "-00:00", "+05:45", "+14:00", "-12:00", "+23:59"]
TEXTS = ["", "x", "楼下垃圾三天没人清运", 'a "quoted"\nline\\', "emoji 🚧 outside the BMP", "é" * 50]


def exact(value: Any) -> Any:
    """A value with its types spelled out, so that 116 != 116.0, key order counts and tzinfo must be timezone.utc."""
    if isinstance(value, Event):
        return ("Event", *(exact(getattr(value, f)) for f in ("id", "type", "appeal", "at", "data")))
    if isinstance(value, dict):
        return [(k, exact(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [exact(v) for v in value]
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), value.tzinfo is UTC, value.fold)
    return (type(value).__name__, value)


def outcome(parse: Any, raw: bytes | str, max_text_len: int = 4000) -> Any:
    """What a parser makes of an entry: the exact Event, or the error message."""
    try:
        return exact(parse(raw, max_text_len))
    except ContractError as exc:
        return ("error", str(exc))


def timestamp(rnd: random.Random, usual: bool = True) -> str:
    """A valid RFC 3339 timestamp; `usual` keeps to the shapes producers write (T, Z or ±HH:MM)."""
    at = datetime(2020, 1, 1) + timedelta(seconds=rnd.randrange(10 * 365 * 86400))
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    if rnd.random() < 0.4:
        text += "." + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 9)))
    text += rnd.choice(OFFSETS)
    if not usual:
        leap_second = text[:17] + "60" + text[19:]
        text = rnd.choice([text.replace("T", " "), text.replace("T", "t"), text.lower(), leap_second])
    return text


def valid_event(rnd: random.Random, type_: str, usual: bool = True) -> dict[str, Any]:
    """A valid event of a type with random values: optionals present, null or absent, unknown fields added."""

    def opt(value: Any) -> Any:
        return rnd.choice([value, value, None, KeyError])  # KeyError: leave the field out

    def code() -> str:
        return rnd.choice(["110101001", "M-110101001-03", "网格员-3", "x" * rnd.randint(1, 80)])

    def coord(bound: int) -> float | int:
        return rnd.choice([rnd.uniform(-bound, bound), rnd.randint(-bound, bound), bound, -bound, 0, 0.0, -0.0])

    def ts() -> str:
        return timestamp(rnd, usual)

    own: dict[str, Any] = {
        "created": lambda: {
            "channel": code(),
            "kind": rnd.choice(get_args(AppealKind)),
            "category": [code() for _ in range(rnd.randint(1, 3))],
            "priority": rnd.choice(get_args(Priority)),
            "location": opt(
                {
                    "lon": coord(180),
                    "lat": coord(90),
                    **rnd.choice([{}, {"crs": "wgs84"}, {"crs": "gcj02"}, {"crs": "bd09"}, {"alt": 3}]),
                }
            ),
            "community": opt(code()),
            "address": opt(rnd.choice(TEXTS)),
            "summary": opt(rnd.choice(TEXTS)),
            "due_at": opt(ts()),
        },
        "dispatched": lambda: {"unit": code(), "due_at": opt(ts())},
        "accepted": lambda: {"unit": code(), "member": opt(code())},
        "extended": lambda: {"due_at": ts(), "reason": opt(rnd.choice(TEXTS))},
        "returned": lambda: {"unit": code(), "reason": opt(rnd.choice(TEXTS))},
        "resolved": lambda: {"unit": code(), "note": opt(rnd.choice(TEXTS))},
        "reviewed": lambda: {
            "responded": rnd.random() < 0.5,
            "resolved": rnd.random() < 0.5,
            "satisfaction": rnd.choice(get_args(Satisfaction)),
        },
        "reopened": lambda: {"reason": opt(rnd.choice(TEXTS))},
        "closed": dict,
    }[type_]()
    obj = {
        "v": 1,
        "id": rnd.choice(["e-000001", "事件-1", "e" * 64, "x"]),
        "type": type_,
        "appeal": rnd.choice(["A20261122-000001", "A" * 64, "工单1"]),
        "at": ts(),
        **own,
    }
    if type_ == "created" and obj["location"] in (None, KeyError) and obj["community"] in (None, KeyError):
        obj["community"] = code()
    if rnd.random() < 0.3:
        obj.update({"source": "web", "extra": {"nested": [1, None]}, "score": 1.5})
    return {k: v for k, v in obj.items() if v is not KeyError}


def as_raw(rnd: random.Random, obj: dict[str, Any]) -> bytes | str:
    """An entry value as Redis gives it (bytes) or as text, escaped or not."""
    text = json.dumps(obj, ensure_ascii=rnd.random() < 0.3)
    return text.encode("utf-8") if rnd.random() < 0.5 else text


def test_valid_events_fast_path_equals_pydantic_path() -> None:
    """Thousands of valid events of every type: the fast path takes the usual ones, and gives exactly what pydantic
    gives for all of them."""
    from dashboard.contract import _fast_event, _parse_event_slow

    rnd = random.Random(1)
    for i in range(4000):
        type_ = EVENT_TYPES[i % len(EVENT_TYPES)]
        usual = i % 5 != 0
        obj = valid_event(rnd, type_, usual)
        raw = as_raw(rnd, obj)
        expected = outcome(_parse_event_slow, raw)
        assert expected[0] == "Event", (obj, expected)
        assert outcome(parse_event, raw) == expected, obj
        if usual:
            assert _fast_event(json.loads(raw), type_, 4000) is not None, obj


TS_BASES = [
    "2026-11-22T09:15:00+08:00",
    "2026-11-22T01:15:00Z",
    "2026-11-21T20:15:00.5-05:30",
    "2026-11-22T09:15:00.123456789+08:00",
    "2016-12-31T23:59:60Z",
    "0001-01-01T08:00:00+08:00",
    "9999-12-31T23:59:59Z",
    "2024-02-29T00:00:00-00:00",
]
TS_CHARS = ["0", "1", "5", "9", "a", "-", ":", "T", "t", " ", "Z", "z", "+", ".", ",", "W", "٣", "²", "１"]


def timestamp_variants() -> list[str]:
    """Valid timestamps and near misses: each character of a few valid ones replaced, dropped or doubled."""
    out = list(TS_BASES) + [base[:-1] + "+00:00" for base in TS_BASES if base.endswith("Z")]
    for base in TS_BASES:
        for i in range(len(base) + 1):
            out += [base[:i] + c + base[i + 1 :] for c in TS_CHARS]
            out += [base[:i] + base[i + 1 :], base[:i] + base[i : i + 1] * 2 + base[i + 1 :]]
    out += [f"2026-11-22T09:15:00{sign}{h:02d}:{m:02d}" for sign in "+-" for h in (0, 23, 24, 99) for m in (0, 59, 60)]
    out += ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "2026-11-22T09:15:00.Z", "Z", "+08:00", ""]
    return out


def test_usual_timestamps_equal_the_strict_parser() -> None:
    """parse_timestamp's quick reading gives what the strict one gives, value and tzinfo, or the same reason."""
    from dashboard.contract import _strict_timestamp, _usual_timestamp

    def read(parse: Any, text: str) -> Any:
        try:
            return exact(parse(text))
        except ValueError as exc:
            return ("error", str(exc))

    quick = 0
    for text in timestamp_variants():
        strict = read(_strict_timestamp, text)
        assert read(parse_timestamp, text) == strict, text
        usual = _usual_timestamp(text)
        if usual is not None:
            quick += 1
            assert exact(usual) == strict, text
    assert quick > 50


def invalid_variants() -> list[tuple[str, bytes | str, int]]:
    """Events with one or two fields replaced by wrong (and some right) values, or dropped."""
    rnd = random.Random(2)
    pool: list[Any] = [
        None,
        True,
        False,
        0,
        1,
        -1,
        1.5,
        "",
        "x",
        "e" * 65,
        "x" * 4001,
        [],
        ["a"],
        ["a", ""],
        ["a", 1],
        ["a"] * 4,
        {},
        {"lon": 116.4},
        {"lon": True, "lat": 1},
        {"lon": 181, "lat": 1},
        {"lon": 1, "lat": -90.5},
        {"lon": 1, "lat": 2, "crs": "utm50"},
        {"lon": 1, "lat": 2, "crs": None},
        {"lon": "1", "lat": 2},
        "2026-11-22T09:15:00",
        "2026-02-30T09:15:00+08:00",
        "2026-11-22T09:15:00+08:00",
        "2026-11-22t09:15:00z",
        "0001-01-01T00:00:00+08:00",
        "consult",
        "urgent",
        "wgs84",
        "satisfied",
        "Normal",
        KeyError,
    ]
    out: list[tuple[str, bytes | str, int]] = []
    for type_ in EVENT_TYPES:
        fields = ["id", "appeal", "at", *OWN_FIELDS[type_]]
        for name in fields:
            for value in pool:
                for limit in (4000, 8):
                    obj = valid_event(rnd, type_)
                    obj[name] = value
                    if rnd.random() < 0.2:  # and a second field wrong too: the first error must still win
                        obj[rnd.choice(fields)] = rnd.choice(pool)
                    obj = {k: v for k, v in obj.items() if v is not KeyError}
                    out.append((f"{type_}.{name}={value!r:.20}", as_raw(rnd, obj), limit))
    base = entry("created")
    out += [
        ("lon-1e400", base.replace('"lon": 116.41', '"lon": 1e400'), 4000),
        ("lat-neg-1e400", base.replace('"lat": 39.91', '"lat": -1e400'), 4000),
        ("lon-big-int", base.replace('"lon": 116.41', '"lon": ' + "9" * 30), 4000),
        ("no-place-location-null", entry(location=None, drop=("community",)), 4000),
    ]
    return out


def test_invalid_events_fast_path_says_what_pydantic_says() -> None:
    """For every way a field can be wrong, parse_event's reason is the pydantic path's."""
    from dashboard.contract import _parse_event_slow

    errors = 0
    for name, raw, limit in invalid_variants():
        expected = outcome(_parse_event_slow, raw, limit)
        errors += expected[0] == "error"
        assert outcome(parse_event, raw, limit) == expected, name
    assert errors > 1000


def test_stored_event_equals_parse_event_for_every_type() -> None:
    """stored_event, `created` included, reads back exactly what parse_event accepted (text of any length)."""
    from dashboard.contract import stored_event

    rnd = random.Random(3)
    for i in range(2000):
        obj = valid_event(rnd, EVENT_TYPES[i % len(EVENT_TYPES)], usual=i % 4 != 0)
        if obj["type"] == "created" and i % 3 == 0:
            obj["summary"] = "长" * 5000  # over parse_event's default max_text_len
        text = json.dumps(obj, ensure_ascii=rnd.random() < 0.3)
        assert exact(stored_event(text)) == exact(parse_event(text, max_text_len=1 << 30)), obj


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (entry("closed", at="9999-12-31T23:59:59Z"), "at: outside the years 2000 to 2999"),
        (entry("closed", at="1999-12-31T23:59:59Z"), "at: outside the years 2000 to 2999"),
        (entry("closed", at="2000-01-01T07:59:59+08:00"), "at: outside the years 2000 to 2999"),
        (entry("created", due_at="9999-12-31T00:00:00+08:00"), "due_at: outside the years 2000 to 2999"),
        (entry("dispatched", due_at="3000-01-01T00:00:00Z"), "due_at: outside the years 2000 to 2999"),
        (entry("extended", due_at="1970-01-01T00:00:00Z"), "due_at: outside the years 2000 to 2999"),
    ],
)
def test_times_outside_the_window_are_refused(raw: str, reason: str) -> None:
    """The fold adds limits to these times and the store holds them: an absurd one is refused at parse time."""
    from dashboard.contract import _parse_event_slow

    for parse in (parse_event, _parse_event_slow):
        with pytest.raises(ContractError, match=reason):
            parse(raw)


def test_times_at_the_window_edges_parse() -> None:
    assert parse_event(entry("closed", at="2000-01-01T00:00:00Z")).at.year == 2000
    assert parse_event(entry("closed", at="2999-12-31T23:59:59.999999Z")).at.year == 2999
    assert parse_event(entry("closed", at="3000-01-01T07:00:00+08:00")).at.year == 2999


def test_presence_time_outside_the_window_is_refused() -> None:
    with pytest.raises(ContractError, match="at: outside the years"):
        parse_presence('{"member":"M-1","at":"9999-12-31T00:00:00Z","state":"busy"}')


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"id": "e-\u0000"}, "id: contains U+0000"),
        ({"appeal": "A\u0000"}, "appeal: contains U+0000"),
        ({"channel": "phone\u0000"}, "channel: contains U+0000"),
        ({"category": ["城市管理", "\u0000"]}, "category[1]: contains U+0000"),
    ],
)
def test_nul_in_an_id_or_code_is_refused(fields: dict[str, Any], reason: str) -> None:
    """PostgreSQL text cannot hold U+0000 and replacing it could make two ids one: refused, on every store alike."""
    from dashboard.contract import _parse_event_slow

    for raw in (entry(**fields), entry(**fields).encode("utf-8")):
        for parse in (parse_event, _parse_event_slow):
            with pytest.raises(ContractError, match=re.escape(reason)):
                parse(raw)
    with pytest.raises(ContractError, match=re.escape("member: contains U+0000")):
        parse_event(entry("accepted", member="M\u0000"))
    with pytest.raises(ContractError, match=re.escape("member: contains U+0000")):
        parse_presence('{"member":"M\\u0000","at":"2026-11-22T09:15:00Z","state":"busy"}')


def test_nul_in_free_text_becomes_the_replacement_character() -> None:
    """U+0000 in the citizen's words or a reason: the event is kept, with U+FFFD in its place (stored alike on
    SQLite and PostgreSQL), and read back from the store the same."""
    from dashboard.contract import _parse_event_slow, stored_event

    cases = [
        entry(summary="a\u0000b", address="\u0000"),
        entry("returned", reason="x\u0000"),
        entry("resolved", note="\u0000\u0000"),
        entry(summary="\\u0000 escaped, no NUL"),
    ]
    for text in cases:
        event = parse_event(text.encode("utf-8"))
        assert all("\u0000" not in v for v in event.data.values() if isinstance(v, str))
        assert exact(event) == exact(_parse_event_slow(text)) == exact(stored_event(text))
    assert parse_event(cases[0]).data["summary"] == "a\ufffdb"
    assert parse_event(cases[3]).data["summary"] == "\\u0000 escaped, no NUL"
    assert parse_event(entry(summary="控制\u0001\u001f字符 🚧")).data["summary"] == "控制\u0001\u001f字符 🚧"


def test_stored_event_reads_back_old_times_outside_the_window() -> None:
    """An event the store took before the window was enforced still reads back (the fold decides what to do)."""
    from dashboard.contract import stored_event

    assert stored_event(entry("closed", at="9999-12-31T23:59:59Z")).at.year == 9999
    assert stored_event(entry(due_at="9999-12-31T23:59:59Z")).data["due_at"].year == 9999
