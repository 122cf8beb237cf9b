"""Parse and validate stream entries of the intake contract (docs: /work/shared/intake-contract.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal, get_args

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

MAX_RAW_BYTES = 64 * 1024
SCHEMA_VERSION = 1
ID_MAX_LEN = 64
CATEGORY_MAX_DEPTH = 3
LON_MAX, LAT_MAX = 180, 90
DEFAULT_CRS: Final = "wgs84"
_NO_LIMIT = 1 << 30  # max_text_len for events the store already holds
#: Times an event or heartbeat may carry, UTC: the store and the fold (due time = clock start + a limit) hold
#: anything in between with room to spare; an `at` or `due_at` outside is a dead letter, decided here.
TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(3000, 1, 1, tzinfo=UTC)  # excluded
NUL = "\x00"
_NUL_ESCAPE = "\\u0000"  # how U+0000 appears in JSON text: a raw NUL byte is not valid JSON
_NUL_ESCAPE_BYTES = _NUL_ESCAPE.encode()

_JSON_TYPES = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))?\Z", re.ASCII
)
_OFFSET = re.compile(r"[+-](?:[01]\d|2[0-3]):[0-5]\d\Z", re.ASCII)
_NO_SHIFT = timedelta(0)
_fromisoformat = datetime.fromisoformat  # one lookup instead of two: timestamps are the hot path
_SHIFTS: dict[str, timedelta] = {}  # `±HH:MM` -> its timedelta, as seen; valid ones only, so under 3,000


class ContractError(ValueError):
    """An entry breaks the intake contract; the message is the short reason for the dead-letter stream."""


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type (string, number, object, …)."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def parse_timestamp(value: object) -> datetime:
    """An RFC 3339 timestamp with offset as an aware UTC datetime; ValueError saying why not."""
    return _usual_timestamp(value) or _strict_timestamp(value)


def _usual_timestamp(value: object) -> datetime | None:
    """A string `YYYY-MM-DDTHH:MM:SS[.digits]` then `Z` or `±HH:MM` as aware UTC, without the regex or
    `astimezone`; None for anything else or an impossible value, which `_strict_timestamp` then explains."""
    if type(value) is not str:
        return None
    shift: timedelta | None
    if value[-1:] == "Z":
        end, shift = len(value) - 1, _NO_SHIFT
    else:
        end = len(value) - 6
        shift = _SHIFTS.get(value[end:])
        if shift is None:
            shift = _shift(value[end:])
            if shift is None:
                return None
    # With the separators where RFC 3339 puts them, fromisoformat insists on ASCII digits in between.
    if value[4:17:3] != "--T::" or (
        end != 19 and not (value[19:20] == "." and value[20:end].isdigit() and value.isascii())
    ):
        return None
    try:  # fromisoformat reads `Z` as timezone.utc
        return _fromisoformat(value) if shift is _NO_SHIFT else _fromisoformat(value[:end] + "Z") - shift
    except (ValueError, OverflowError):
        return None


def _shift(offset: str) -> timedelta | None:
    """How far a `±HH:MM` UTC offset is ahead of UTC, remembered in _SHIFTS; None if it is not a valid one."""
    if _OFFSET.match(offset) is None:
        return None
    shift = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    if offset[0] == "-":
        shift = -shift
    _SHIFTS[offset] = shift
    return shift


def _strict_timestamp(value: object) -> datetime:
    """`parse_timestamp` for any input: every RFC 3339 form it takes, and the reason for what it does not."""
    if not isinstance(value, str):
        raise ValueError(f"must be an RFC 3339 string, got {json_type(value)}")
    m = _RFC3339.match(value)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {_clip(value)}")
    try:  # the common case, in C; the checks below give the reason when it fails
        if m[8] is not None or (m[9] is not None and m[11] < "60"):
            return datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    if z is None and sign is None:
        raise ValueError("timestamp without UTC offset")
    second = int(s)
    micro = int((frac or "0")[:6].ljust(6, "0"))
    if second == 60:  # a leap second: RFC 3339 allows it, Python cannot hold it
        second, micro = 59, 999_999
    try:
        local = datetime(int(y), int(mo), int(d), int(h), int(mi), second, micro)
        if sign is None:
            return local.replace(tzinfo=UTC)
        if int(oh) > 23 or int(om) > 59:
            raise ValueError
        offset = timedelta(hours=int(oh), minutes=int(om))
        utc = local - offset if sign == "+" else local + offset
    except (ValueError, OverflowError):
        raise ValueError(f"impossible date or time: {_clip(value)}") from None
    return utc.replace(tzinfo=UTC)


def _clip(text: str, width: int = 40) -> str:
    """A value quoted for an error message, cut short."""
    return repr(text if len(text) <= width else text[:width] + "…")


_ANY_TIME = {"any_time": True}  # validation context of events read back from the store: no window


def _in_window(at: datetime, info: ValidationInfo) -> datetime:
    """A time within TIME_MIN..TIME_MAX; ValueError saying the window otherwise."""
    if TIME_MIN <= at < TIME_MAX or (info.context or {}).get("any_time"):
        return at
    raise ValueError(f"outside the years {TIME_MIN.year} to {TIME_MAX.year - 1} (UTC)")


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp), AfterValidator(_in_window)]
Id = Annotated[str, Field(min_length=1, max_length=ID_MAX_LEN)]
Code = Annotated[str, Field(min_length=1)]
Coord = Annotated[float, Field(allow_inf_nan=False)]
Lon = Annotated[Coord, Field(ge=-LON_MAX, le=LON_MAX)]
Lat = Annotated[Coord, Field(ge=-LAT_MAX, le=LAT_MAX)]
PresenceState = Literal["on_duty", "busy", "off_duty", "sos"]
PRESENCE_STATES: tuple[str, ...] = get_args(PresenceState)
Crs = Literal["wgs84", "gcj02", "bd09"]
AppealKind = Literal["consult", "request", "complaint", "report", "suggestion", "praise"]
Priority = Literal["emergency", "urgent", "normal", "routine"]
Satisfaction = Literal["satisfied", "basically_satisfied", "dissatisfied"]


class _Model(BaseModel):
    """Strict types (no bool for int, no "1" for 1), unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class _Location(_Model):
    lon: Lon
    lat: Lat
    crs: Crs = DEFAULT_CRS


class _Common(_Model):
    id: Id
    appeal: Id
    at: Timestamp


class _Created(_Common):
    channel: Code
    kind: AppealKind
    category: Annotated[list[Code], Field(min_length=1, max_length=CATEGORY_MAX_DEPTH)]
    priority: Priority
    location: _Location | None = None
    community: Code | None = None
    address: str | None = None
    summary: str | None = None
    due_at: Timestamp | None = None

    @model_validator(mode="after")
    def _placed(self) -> _Created:
        if self.location is None and self.community is None:
            raise ValueError("needs at least one of location and community")
        return self


class _Dispatched(_Common):
    unit: Code
    due_at: Timestamp | None = None


class _Accepted(_Common):
    unit: Code
    member: Code | None = None


class _Extended(_Common):
    due_at: Timestamp
    reason: str | None = None


class _Returned(_Common):
    unit: Code
    reason: str | None = None


class _Resolved(_Common):
    unit: Code
    note: str | None = None


class _Reviewed(_Common):
    responded: bool
    resolved: bool
    satisfaction: Satisfaction


class _Reopened(_Common):
    reason: str | None = None


class _Closed(_Common):
    pass


class _Presence(_Model):
    member: Id
    at: Timestamp
    state: PresenceState
    lon: Lon | None = None
    lat: Lat | None = None

    @model_validator(mode="after")
    def _paired(self) -> _Presence:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat must come together")
        return self


_MODELS: dict[str, type[_Common]] = {
    "created": _Created,
    "dispatched": _Dispatched,
    "accepted": _Accepted,
    "extended": _Extended,
    "returned": _Returned,
    "resolved": _Resolved,
    "reviewed": _Reviewed,
    "reopened": _Reopened,
    "closed": _Closed,
}
EVENT_TYPES = tuple(_MODELS)
_COMMON = frozenset(_Common.model_fields)
_FIELDS = {name: tuple(f for f in model.model_fields if f not in _COMMON) for name, model in _MODELS.items()}
DATA_TIMES = ("due_at",)  # the types' own fields that are timestamps


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted appeal event; `data` holds the type's own fields (absent optionals as None)."""

    id: str
    type: str
    appeal: str
    at: datetime
    data: dict[str, Any]


_SET_ID, _SET_TYPE, _SET_APPEAL, _SET_AT, _SET_DATA = (
    vars(Event)[name].__set__ for name in ("id", "type", "appeal", "at", "data")
)


def _new_event(id_: str, kind: str, appeal: str, at: datetime, data: dict[str, Any]) -> Event:
    """Event(...) at half the cost: the frozen dataclass's __init__ goes through object.__setattr__ per field."""
    event = object.__new__(Event)
    _SET_ID(event, id_)
    _SET_TYPE(event, kind)
    _SET_APPEAL(event, appeal)
    _SET_AT(event, at)
    _SET_DATA(event, data)
    return event


@dataclass(frozen=True, slots=True)
class Presence:
    """One accepted grid-member heartbeat (coordinates WGS 84, both or neither)."""

    member: str
    at: datetime
    state: str
    lon: float | None = None
    lat: float | None = None


# The fast path: each of a type's own fields checked by hand as its model would, the value converted as pydantic
# would. A check returns None when unsure (a valid value is never None): the pydantic path then decides.
_Check = Callable[[Any, int], Any]  # (value, max_text_len) -> value for Event.data, or None


def _code(value: Any, limit: int) -> str | None:
    """A non-empty string of at most `limit` characters."""
    return value if type(value) is str and 0 < len(value) <= limit else None


def _text(value: Any, limit: int) -> str | None:
    """A string of at most `limit` characters."""
    return value if type(value) is str and len(value) <= limit else None


def _flag(value: Any, _limit: int) -> bool | None:
    """true or false (strict: not 0 or 1)."""
    return value if type(value) is bool else None


def _instant(value: Any, _limit: int) -> datetime | None:
    """An RFC 3339 timestamp in the usual shape within TIME_MIN..TIME_MAX, as aware UTC."""
    at = _usual_timestamp(value)
    return at if at is not None and TIME_MIN <= at < TIME_MAX else None


def _one_of(options: Any) -> _Check:
    """A check for one of a Literal's strings."""
    allowed = frozenset(get_args(options))

    def check(value: Any, _limit: int) -> str | None:
        return value if type(value) is str and value in allowed else None

    return check


_crs = _one_of(Crs)


def _category(value: Any, limit: int) -> list[str] | None:
    """1 to CATEGORY_MAX_DEPTH codes."""
    if type(value) is list and 0 < len(value) <= CATEGORY_MAX_DEPTH:
        for item in value:
            if _code(item, limit) is None:
                return None
        return value
    return None


def _coord(value: Any, bound: int) -> float | None:
    """A number within ±bound as a float: strict pydantic takes an int for a float, not a bool; NaN fails the test."""
    return float(value) if (type(value) is float or type(value) is int) and -bound <= value <= bound else None


def _location(value: Any, _limit: int) -> dict[str, Any] | None:
    """A point as the plain dict Event.data holds."""
    if type(value) is not dict:
        return None
    lon, lat = _coord(value.get("lon"), LON_MAX), _coord(value.get("lat"), LAT_MAX)
    crs = _crs(value.get("crs", DEFAULT_CRS), 0)
    return None if lon is None or lat is None or crs is None else {"lon": lon, "lat": lat, "crs": crs}


_CHECKS: dict[str, _Check] = {  # by field name: a name means the same in every type
    "channel": _code,
    "kind": _one_of(AppealKind),
    "category": _category,
    "priority": _one_of(Priority),
    "location": _location,
    "community": _code,
    "address": _text,
    "summary": _text,
    "due_at": _instant,
    "unit": _code,
    "member": _code,
    "reason": _text,
    "note": _text,
    "responded": _flag,
    "resolved": _flag,
    "satisfaction": _one_of(Satisfaction),
}
_FAST_FIELDS = {  # (name, check, required) in model order
    kind: tuple((name, _CHECKS[name], _MODELS[kind].model_fields[name].is_required()) for name in names)
    for kind, names in _FIELDS.items()
}
# string fields held to max_text_len (after pydantic): codes too, nothing legitimate is that long
_TEXTS = {kind: tuple(name for name in names if _CHECKS[name] in (_code, _text)) for kind, names in _FIELDS.items()}
# free text (the citizen's words, reasons): U+0000 in it becomes U+FFFD; in an id or a code it is refused
_FREE = {kind: tuple(name for name in names if _CHECKS[name] is _text) for kind, names in _FIELDS.items()}
_CODES = {kind: tuple(name for name in names if _CHECKS[name] is _code) for kind, names in _FIELDS.items()}


def parse_event(raw: bytes | str, max_text_len: int = 4000) -> Event:
    """Parse one `hotline:events` entry value into an Event; ContractError saying why not."""
    obj, kind = _load_event(raw)
    event = _fast_event(obj, kind, max_text_len) or _validated_event(obj, kind, max_text_len)
    return _without_nul(event, strict=True) if _has_nul_escape(raw) else event


def event_from_object(obj: dict[str, Any], raw: str, max_text_len: int = 4000) -> Event:
    """`parse_event` of an object built in this process (`raw` is its JSON text): the same checks, without
    reading the text back (the history import's hot path)."""
    _check_version(obj, required=True)
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in _MODELS:
        raise ContractError(f"unknown event type {kind!r}")
    event = _fast_event(obj, kind, max_text_len) or _validated_event(obj, kind, max_text_len)
    return _without_nul(event, strict=True) if _NUL_ESCAPE in raw else event


def _parse_event_slow(raw: bytes | str, max_text_len: int = 4000) -> Event:
    """`parse_event` by pydantic alone: the reference its fast path is tested against."""
    event = _validated_event(*_load_event(raw), max_text_len)
    return _without_nul(event, strict=True) if _has_nul_escape(raw) else event


def _has_nul_escape(raw: bytes | str) -> bool:
    """Whether an entry's JSON text may hold U+0000 (one scan of the text: the usual entry has none)."""
    if isinstance(raw, str):
        return _NUL_ESCAPE in raw
    return _NUL_ESCAPE_BYTES in (raw if not isinstance(raw, memoryview) else raw.tobytes())


def _without_nul(event: Event, strict: bool) -> Event:
    """The same event with U+0000 replaced by U+FFFD in its free text, which PostgreSQL text cannot hold (SQLite
    could: both stores must hold the same); `strict`: a U+0000 in an id or a code is a ContractError (replacing it
    could make two ids one)."""
    data = dict(event.data)
    if strict:
        names = [("id", event.id), ("appeal", event.appeal)] + [(n, data[n]) for n in _CODES[event.type]]
        names += [(f"category[{i}]", c) for i, c in enumerate(data.get("category") or ())]
        for name, value in names:
            if type(value) is str and NUL in value:
                raise ContractError(f"{name}: contains U+0000, which the store cannot hold")
        free = _FREE[event.type]
    else:  # read back from the store: whatever it holds, replaced alike
        free = tuple(n for n, v in data.items() if type(v) is str)
        if data.get("category"):
            data["category"] = [c.replace(NUL, "\ufffd") for c in data["category"]]
    for name in free:
        value = data[name]
        if value is not None and NUL in value:
            data[name] = value.replace(NUL, "\ufffd")
    return _new_event(event.id, event.type, event.appeal, event.at, data)


def _load_event(raw: bytes | str) -> tuple[dict[str, Any], str]:
    """An entry's JSON object and its type, once its version and type are known to be ours."""
    obj = _load(raw)
    _check_version(obj, required=True)
    kind = obj.get("type")
    if kind is None:
        raise ContractError("missing field 'type'")
    if not isinstance(kind, str):
        raise ContractError(f"type: must be a string, got {json_type(kind)}")
    if kind not in _MODELS:
        raise ContractError(f"unknown event type {_clip(kind)}")
    return obj, kind


def _fast_event(obj: dict[str, Any], kind: str, max_text_len: int) -> Event | None:
    """The Event for an entry all of whose fields plainly hold; None on any doubt."""
    id_, appeal = _code(obj.get("id"), ID_MAX_LEN), _code(obj.get("appeal"), ID_MAX_LEN)
    at = _instant(obj.get("at"), 0)
    if id_ is None or appeal is None or at is None:
        return None
    data: dict[str, Any] = {}
    for name, check, required in _FAST_FIELDS[kind]:
        value = obj.get(name)
        if value is not None:
            value = check(value, max_text_len)
            if value is None:
                return None
        elif required:
            return None
        data[name] = value
    if kind == "created" and data["location"] is None and data["community"] is None:
        return None  # _Created._placed
    return _new_event(id_, kind, appeal, at, data)


def _validated_event(obj: dict[str, Any], kind: str, max_text_len: int, window: bool = True) -> Event:
    """The Event as pydantic validates it, ContractError saying why not (`window`: times held to TIME_MIN..TIME_MAX)."""
    m = _validate(_MODELS[kind], obj, None if window else _ANY_TIME)
    values = m.__dict__
    data = {name: values[name] for name in _FIELDS[kind]}
    if kind == "created":
        loc = data["location"]
        data["location"] = None if loc is None else {"lon": loc.lon, "lat": loc.lat, "crs": loc.crs}
        for i, item in enumerate(data["category"]):
            if len(item) > max_text_len:
                raise ContractError(f"category[{i}] longer than {max_text_len} characters")
    for name in _TEXTS[kind]:
        value = data[name]
        if value is not None and len(value) > max_text_len:
            raise ContractError(f"{name} longer than {max_text_len} characters")
    return Event(m.id, kind, m.appeal, m.at, data)


def stored_event(raw: str) -> Event:
    """An event the store accepted earlier (so valid), read back without validating it again: the same Event
    `parse_event` gives, at a fraction of its cost. A `created` event (its location needs normalising) takes
    parse_event's fast path, whose checks cost little; text orjson cannot read, the full one."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _stored_slow(raw)
    kind = obj["type"]
    if kind == "created":
        event = _fast_event(obj, kind, _NO_LIMIT)
        if event is None:
            return _stored_slow(raw)
    else:
        data = {name: obj.get(name) for name in _FIELDS[kind]}
        for name in DATA_TIMES:
            if data.get(name) is not None:
                data[name] = parse_timestamp(data[name])
        event = _new_event(obj["id"], kind, obj["appeal"], parse_timestamp(obj["at"]), data)
    return _without_nul(event, strict=False) if _NUL_ESCAPE in raw else event


def _stored_slow(raw: str) -> Event:
    """`stored_event` by the full parser (no limits: the store took it), U+0000 replaced as the fast way does."""
    obj, kind = _load_event(raw)
    event = _fast_event(obj, kind, _NO_LIMIT) or _validated_event(obj, kind, _NO_LIMIT, window=False)
    return _without_nul(event, strict=False) if _NUL_ESCAPE in raw else event


def parse_presence(raw: bytes | str) -> Presence:
    """Parse one `hotline:presence` entry value into a Presence; ContractError saying why not."""
    obj = _load(raw)
    _check_version(obj, required=False)
    m = _validate(_Presence, obj)
    if NUL in m.member:
        raise ContractError("member: contains U+0000, which the store cannot hold")
    return Presence(m.member, m.at, m.state, m.lon, m.lat)


def _load(raw: bytes | str) -> dict[str, Any]:
    """Size-check, decode and JSON-parse an entry value; it must be an object."""
    if isinstance(raw, str):
        try:
            size = len(raw.encode("utf-8"))
        except UnicodeEncodeError:
            raise ContractError("not UTF-8: text with an unpaired surrogate") from None
        text = raw
    elif isinstance(raw, (bytes, bytearray, memoryview)):
        size = len(raw)
        text = ""
    else:
        raise ContractError(f"not text: got {type(raw).__name__}")
    if size > MAX_RAW_BYTES:
        raise ContractError(f"entry larger than {MAX_RAW_BYTES // 1024} KiB ({size} bytes)")
    try:  # strict JSON in C: refuses NaN, bad UTF-8 and unpaired surrogates, as the checks below do
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # the slower path below says why (or accepts what orjson cannot hold, e.g. 1e400)
    else:
        if not isinstance(obj, dict):
            raise ContractError(f"not a JSON object, got {json_type(obj)}")
        return obj
    if not isinstance(raw, str):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractError(f"not UTF-8: invalid byte at {exc.start}") from None
    try:
        obj = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"not JSON: {exc.msg} at char {exc.pos}") from None
    except RecursionError:
        raise ContractError("not JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise ContractError(f"not a JSON object, got {json_type(obj)}")
    if "\\u" in text and ("\\ud" in text or "\\uD" in text):
        _check_surrogates(obj)
    return obj


def _no_constant(name: str) -> float:
    """Refuse NaN and Infinity, which Python's json accepts but JSON does not have."""
    raise ContractError(f"not JSON: {name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _check_surrogates(value: object) -> None:
    """Refuse strings with unpaired surrogates (from \\uD800-style escapes): they cannot be stored as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ContractError(f"string with an unpaired surrogate: {_clip(value)}") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_surrogates(k)
            _check_surrogates(v)
    elif isinstance(value, list):
        for v in value:
            _check_surrogates(v)


def _check_version(obj: dict[str, Any], required: bool) -> None:
    """`v` must be the integer 1 (absent is allowed only where the contract does not require it)."""
    v = obj.get("v", None if required else SCHEMA_VERSION)
    if v is None:
        raise ContractError("missing field 'v'")
    if type(v) is not int:
        raise ContractError(f"v: must be an integer, got {json_type(v)}")
    if v != SCHEMA_VERSION:
        raise ContractError(f"unsupported schema version {v}")


def _validate(model: type[BaseModel], obj: dict[str, Any], context: dict[str, Any] | None = None) -> Any:
    """Validate with pydantic, turning its first error into one short reason."""
    try:
        return model.model_validate(obj, context=context)
    except ValidationError as exc:
        raise ContractError(_reason(exc.errors(include_url=False)[0])) from None


def _reason(err: Any) -> str:
    """One pydantic error as `path: what is wrong`."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    kind, ctx, got = err["type"], err.get("ctx") or {}, json_type(err.get("input"))
    if kind == "missing":
        return f"missing field {path!r}"
    if kind == "value_error":
        what = str(ctx.get("error", err["msg"]))
    elif kind in ("string_type", "bool_type", "float_type", "list_type", "model_type", "dict_type", "int_type"):
        expected = {
            "string_type": "a string",
            "bool_type": "true or false",
            "float_type": "a number",
            "list_type": "an array",
            "int_type": "an integer",
        }.get(kind, "an object")
        what = f"must be {expected}, got {got}"
    elif kind == "literal_error":
        what = f"must be one of {ctx['expected']}, got {_clip(str(err.get('input')))}"
    elif kind == "string_too_short":
        what = "must not be empty"
    elif kind == "string_too_long":
        return f"{path} longer than {ctx['max_length']} characters"
    elif kind == "too_short":
        what = f"must have at least {ctx['min_length']} item(s)"
    elif kind == "too_long":
        what = f"must have at most {ctx['max_length']} items"
    elif kind == "finite_number":
        what = "not a finite number"
    elif kind == "greater_than_equal":
        what = f"must be at least {ctx['ge']:g}, got {err['input']}"
    elif kind == "less_than_equal":
        what = f"must be at most {ctx['le']:g}, got {err['input']}"
    else:
        what = str(err["msg"])
    return f"{path}: {what}" if path else what
