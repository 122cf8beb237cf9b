"""Parse and validate stream entries of the intake contract (docs: /work/shared/intake-contract.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal, get_args

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

MAX_RAW_BYTES = 64 * 1024
SCHEMA_VERSION = 1

_JSON_TYPES = {
    type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
}
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))?\Z", re.ASCII
)


class ContractError(ValueError):
    """An entry breaks the intake contract; the message is the short reason for the dead-letter stream."""


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type (string, number, object, …)."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def parse_timestamp(value: object) -> datetime:
    """An RFC 3339 timestamp with offset as an aware UTC datetime; ValueError saying why not."""
    if not isinstance(value, str):
        raise ValueError(f"must be an RFC 3339 string, got {json_type(value)}")
    m = _RFC3339.match(value)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {_clip(value)}")
    try:  # the common case, in C; the checks below give the reason when it fails
        if m[8] is not None or (m[9] is not None and m[11] < "60"):
            return datetime.fromisoformat(value).astimezone(timezone.utc)
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
            return local.replace(tzinfo=timezone.utc)
        if int(oh) > 23 or int(om) > 59:
            raise ValueError
        offset = timedelta(hours=int(oh), minutes=int(om))
        utc = local - offset if sign == "+" else local + offset
    except (ValueError, OverflowError):
        raise ValueError(f"impossible date or time: {_clip(value)}") from None
    return utc.replace(tzinfo=timezone.utc)


def _clip(text: str, width: int = 40) -> str:
    """A value quoted for an error message, cut short."""
    return repr(text if len(text) <= width else text[:width] + "…")


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Code = Annotated[str, Field(min_length=1)]
Coord = Annotated[float, Field(allow_inf_nan=False)]
PresenceState = Literal["on_duty", "busy", "off_duty", "sos"]
PRESENCE_STATES: tuple[str, ...] = get_args(PresenceState)


class _Model(BaseModel):
    """Strict types (no bool for int, no "1" for 1), unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class _Location(_Model):
    lon: Annotated[Coord, Field(ge=-180, le=180)]
    lat: Annotated[Coord, Field(ge=-90, le=90)]
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"


class _Common(_Model):
    id: Id
    appeal: Id
    at: Timestamp


class _Created(_Common):
    channel: Code
    kind: Literal["consult", "request", "complaint", "report", "suggestion", "praise"]
    category: Annotated[list[Code], Field(min_length=1, max_length=3)]
    priority: Literal["emergency", "urgent", "normal", "routine"]
    location: _Location | None = None
    community: Code | None = None
    address: str | None = None
    summary: str | None = None
    due_at: Timestamp | None = None

    @model_validator(mode="after")
    def _placed(self) -> "_Created":
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
    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"]


class _Reopened(_Common):
    reason: str | None = None


class _Closed(_Common):
    pass


class _Presence(_Model):
    member: Id
    at: Timestamp
    state: PresenceState
    lon: Annotated[Coord, Field(ge=-180, le=180)] | None = None
    lat: Annotated[Coord, Field(ge=-90, le=90)] | None = None

    @model_validator(mode="after")
    def _paired(self) -> "_Presence":
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat must come together")
        return self


_MODELS: dict[str, type[_Common]] = {
    "created": _Created, "dispatched": _Dispatched, "accepted": _Accepted, "extended": _Extended,
    "returned": _Returned, "resolved": _Resolved, "reviewed": _Reviewed, "reopened": _Reopened, "closed": _Closed,
}
EVENT_TYPES = tuple(_MODELS)
_COMMON = frozenset(_Common.model_fields)
_FIELDS = {name: tuple(f for f in model.model_fields if f not in _COMMON) for name, model in _MODELS.items()}
DATA_TIMES = ("due_at",)  # the types' own fields that are timestamps
_TEXTS = {  # string fields held to max_text_len; codes too, nothing legitimate is that long
    "created": ("channel", "community", "address", "summary"), "dispatched": ("unit",), "accepted": ("unit", "member"),
    "extended": ("reason",), "returned": ("unit", "reason"), "resolved": ("unit", "note"), "reviewed": (),
    "reopened": ("reason",), "closed": (),
}


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted appeal event; `data` holds the type's own fields (absent optionals as None)."""

    id: str
    type: str
    appeal: str
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Presence:
    """One accepted grid-member heartbeat (coordinates WGS 84, both or neither)."""

    member: str
    at: datetime
    state: str
    lon: float | None = None
    lat: float | None = None


def parse_event(raw: bytes | str, max_text_len: int = 4000) -> Event:
    """Parse one `hotline:events` entry value into an Event; ContractError saying why not."""
    obj = _load(raw)
    _check_version(obj, required=True)
    kind = obj.get("type")
    if kind is None:
        raise ContractError("missing field 'type'")
    if not isinstance(kind, str):
        raise ContractError(f"type: must be a string, got {json_type(kind)}")
    model = _MODELS.get(kind)
    if model is None:
        raise ContractError(f"unknown event type {_clip(kind)}")
    m = _validate(model, obj)
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
    `parse_event` gives, at a fraction of its cost. A `created` event, or text orjson cannot read, takes the
    full path."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return parse_event(raw, max_text_len=1 << 30)
    kind = obj["type"]
    if kind == "created":
        return parse_event(raw, max_text_len=1 << 30)
    data = {name: obj.get(name) for name in _FIELDS[kind]}
    for name in DATA_TIMES:
        if data.get(name) is not None:
            data[name] = parse_timestamp(data[name])
    return Event(obj["id"], kind, obj["appeal"], parse_timestamp(obj["at"]), data)


def parse_presence(raw: bytes | str) -> Presence:
    """Parse one `hotline:presence` entry value into a Presence; ContractError saying why not."""
    obj = _load(raw)
    _check_version(obj, required=False)
    m = _validate(_Presence, obj)
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


def _validate(model: type[BaseModel], obj: dict[str, Any]) -> Any:
    """Validate with pydantic, turning its first error into one short reason."""
    try:
        return model.model_validate(obj)
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
        expected = {"string_type": "a string", "bool_type": "true or false", "float_type": "a number",
                    "list_type": "an array", "int_type": "an integer"}.get(kind, "an object")
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
