"""Parsing intake stream entries: every way an entry can break the contract, and every valid type."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from dashboard.contract import ContractError, Event, parse_event, parse_presence, parse_timestamp

AT = "2026-11-22T09:15:00+08:00"
AT_UTC = datetime(2026, 11, 22, 1, 15, tzinfo=timezone.utc)
OWN_FIELDS: dict[str, dict[str, Any]] = {
    "created": {
        "channel": "phone", "kind": "complaint", "category": ["城市管理", "市容环境", "垃圾清运"],
        "priority": "normal", "location": {"lon": 116.41, "lat": 39.91}, "community": "110101001001",
        "address": "东城区东华门街道", "summary": "楼下垃圾三天没人清运", "due_at": "2026-11-23T09:15:00+08:00",
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
    assert data["due_at"] == datetime(2026, 11, 23, 1, 15, tzinfo=timezone.utc)
    assert data["category"] == ["城市管理", "市容环境", "垃圾清运"]


@pytest.mark.parametrize(
    ("type_", "fields", "drop", "check"),
    [
        ("created", {"location": {"lon": 116, "lat": 40, "crs": "gcj02"}}, (),
         ("location", {"lon": 116.0, "lat": 40.0, "crs": "gcj02"})),
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
    ids=["int-coords-gcj02", "community-only", "location-only", "optionals-absent", "null-optional-and-extra",
         "text-at-limit", "dispatched-no-due", "accepted-no-member", "extended-no-reason", "reviewed-all-false",
         "closed-extra-ignored"],
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
        ("2026-11-22T09:15:00+08:00", datetime(2026, 11, 22, 1, 15, tzinfo=timezone.utc)),
        ("2026-11-22T01:15:00Z", datetime(2026, 11, 22, 1, 15, tzinfo=timezone.utc)),
        ("2026-11-22t01:15:00z", datetime(2026, 11, 22, 1, 15, tzinfo=timezone.utc)),
        ("2026-11-22 01:15:00-00:00", datetime(2026, 11, 22, 1, 15, tzinfo=timezone.utc)),
        ("2026-11-21T20:15:00.5-05:00", datetime(2026, 11, 22, 1, 15, 0, 500000, tzinfo=timezone.utc)),
        ("2026-11-22T09:15:00.123456789+08:00", datetime(2026, 11, 22, 1, 15, 0, 123456, tzinfo=timezone.utc)),
        ("2026-01-01T07:59:59+08:00", datetime(2025, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)),
    ],
)
def test_timestamps_become_aware_utc(text: str, expected: datetime) -> None:
    got = parse_timestamp(text)
    assert got == expected and got.tzinfo is timezone.utc


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
    *[(f"created-no-{f}", entry(drop=(f,)), f"missing field '{f}'")
      for f in ("channel", "kind", "category", "priority")],
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
    *[(f"reviewed-no-{f}", entry("reviewed", drop=(f,)), f"missing field '{f}'")
      for f in ("responded", "resolved", "satisfaction")],
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
    "v": 1, "member": "M-110101001-03", "at": "2026-11-22T09:15:02+08:00", "state": "on_duty",
    "lon": 116.41, "lat": 39.91,
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
    assert (p.member, p.at) == ("M-110101001-03", datetime(2026, 11, 22, 1, 15, 2, tzinfo=timezone.utc))
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
    """The folder reads stored events without validating them again: the same Event as parse_event, every type."""
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
