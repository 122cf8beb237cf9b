"""One row of an old system's export -> the intake contract's events of that appeal (pure).

Event ids follow from the appeal id and the slot (`<appeal>#d2`: the second dispatch), so importing a file again
gives the same ids, which the event log stores once. Each event goes through the contract's own parser: an
imported history folds by the same rules as live events, and a live event of the same appeal continues it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from dashboard.contract import ID_MAX_LEN, SCHEMA_VERSION, ContractError, Event, event_from_object
from dashboard.history_mapping import SLOT_REQUIRED, STAGES, TAGS, Mapping

#: Labels most exports of Chinese hotline systems use; a mapping's `[values.*]` tables add to them.
BUILT_IN_LABELS: dict[str, dict[str, Any]] = {
    "boolean": {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False, "Y": True, "N": False},
    "satisfaction": {"满意": "satisfied", "基本满意": "basically_satisfied", "不满意": "dissatisfied"},
    "kind": {
        "咨询": "consult",
        "求助": "request",
        "投诉": "complaint",
        "举报": "report",
        "建议": "suggestion",
        "表扬": "praise",
    },
    "priority": {"紧急": "emergency", "加急": "urgent", "一般": "normal", "普通": "routine"},
    "crs": {"WGS84": "wgs84", "GCJ02": "gcj02", "BD09": "bd09"},
}
#: The contract's values of the fields that have a closed list (a label that is one of them passes as is).
CONTRACT_VALUES: dict[str, frozenset[str]] = {
    "kind": frozenset(("consult", "request", "complaint", "report", "suggestion", "praise")),
    "priority": frozenset(("emergency", "urgent", "normal", "routine")),
    "satisfaction": frozenset(("satisfied", "basically_satisfied", "dissatisfied")),
    "crs": frozenset(("wgs84", "gcj02", "bd09")),
}
#: Which label table each event field's value goes through.
_TABLE_OF = {"responded": "boolean", "resolved": "boolean"}
#: Free-text fields; every other field holds a code or a value of a closed list.
_FREE = frozenset(("address", "summary", "reason", "note"))


class RowError(ValueError):
    """A row that cannot be imported: the column at fault ('' for the row as a whole) and the reason."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class RowEvents:
    """The events of one row (parsed by the contract, with their JSON text), and per event id the column of each
    of its fields (to name the column of a reason found later, such as an unknown community)."""

    appeal: str
    events: list[tuple[Event, str]]
    columns: dict[str, dict[str, str]]


def event_id(appeal: str, tag: str) -> str:
    """The id of an imported event: `<appeal>#<tag>`, or a digest of the appeal id if that would be too long."""
    eid = f"{appeal}#{tag}"
    if len(eid) <= ID_MAX_LEN:
        return eid
    return f"h{hashlib.blake2b(appeal.encode(), digest_size=20).hexdigest()}#{tag}"


def cell_text(value: Any) -> str | None:
    """A cell as text: None when empty; numbers as written (an integer stored as 110101.0 is `110101`)."""
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN: an empty numeric cell
            return None
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    return text or None


class RowReader:
    """Turns rows (column name -> cell) into events by one mapping."""

    def __init__(self, mapping: Mapping, max_text_len: int = 4000) -> None:
        self.m = mapping
        self.max_text_len = max_text_len
        self.labels = {t: dict(BUILT_IN_LABELS.get(t, {})) for t in set(BUILT_IN_LABELS) | set(mapping.values)}
        for t, labels in mapping.values.items():
            self.labels[t].update(labels)

    # -- cells -------------------------------------------------------------------------------------------------
    def text(self, row: dict[str, Any], column: str | None) -> str | None:
        return None if column is None else cell_text(row.get(column))

    def label(self, table: str, value: str, column: str) -> Any:
        """A label as the contract's value; RowError for a label of a closed list the mapping does not know."""
        labels = self.labels.get(table)
        if labels is not None and value in labels:
            return labels[value]
        closed = CONTRACT_VALUES.get(table)
        if table == "boolean":
            raise RowError(column, f"{value!r} is not a yes/no label (add it to values.boolean)")
        if closed is not None and value not in closed:
            raise RowError(column, f"unknown {table} label {value!r} (add it to values.{table})")
        if closed is None and labels and table not in ("community", "unit") and value not in labels.values():
            raise RowError(column, f"unknown {table} label {value!r} (add it to values.{table})")
        return value

    def time(self, value: Any, column: str) -> str:
        """A time as RFC 3339 with offset; RowError if it cannot be read or has no zone and the mapping gives none."""
        if isinstance(value, datetime):
            t = value
        elif isinstance(value, date):
            raise RowError(column, f"a date without a time: {value.isoformat()}")
        else:
            text = cell_text(value)
            if text is None:
                raise RowError(column, "empty time")
            t = _read_time(text, self.m.time_formats, column)
        if t.tzinfo is None or t.utcoffset() is None:
            if self.m.zone is None:
                raise RowError(column, f"time without a zone: {t.isoformat(' ')} (give source.zone in the mapping)")
            t = t.replace(tzinfo=self.m.zone)
        return t.isoformat()

    # -- a row ---------------------------------------------------------------------------------------------------
    def events(self, row: dict[str, Any]) -> RowEvents:
        """The contract events of one row; RowError naming the column at fault."""
        m = self.m
        c = m.created
        appeal = self.text(row, c["appeal"])  # type: ignore[arg-type]  # checked a name by the mapping
        if appeal is None:
            raise RowError(str(c["appeal"]), "appeal id missing")
        if len(appeal) > ID_MAX_LEN:
            raise RowError(str(c["appeal"]), f"appeal id longer than {ID_MAX_LEN} characters")
        objs: list[tuple[dict[str, Any], dict[str, str]]] = [self._created(row, appeal)]
        for stage, slots in m.slots.items():
            for i, slot in enumerate(slots):
                if (raw_at := row.get(slot["at"])) is None or cell_text(raw_at) is None:
                    continue  # this step did not happen
                obj: dict[str, Any] = {"type": stage, "id": event_id(appeal, f"{TAGS[stage]}{i + 1}")}
                obj["at"] = self.time(raw_at, slot["at"])
                cols = {"at": slot["at"]}
                for f, col in slot.items():
                    if f == "at" or (v := self.text(row, col)) is None:
                        continue
                    cols[f] = col
                    obj[f] = self._value(f, v, col, stage)
                for f in ("due_at", "unit"):
                    if obj.get(f) is None and f in m.defaults and f in STAGES[stage]:
                        obj[f] = m.defaults[f]
                missing = [f for f in SLOT_REQUIRED.get(stage, ()) if obj.get(f) is None]
                if missing:
                    raise RowError(slot.get(missing[0], slot["at"]), f"{stage}: {missing[0]} missing")
                objs.append((obj, cols))
        _inherit_units(objs)
        out: list[tuple[Event, str]] = []
        columns: dict[str, dict[str, str]] = {}
        for obj, cols in objs:
            if obj["type"] in ("accepted", "returned", "resolved") and obj.get("unit") is None:
                raise RowError(cols["at"], f"{obj['type']}: no unit (no unit column, and no dispatch before it)")
            body = {"v": SCHEMA_VERSION, "id": obj.pop("id"), "type": obj.pop("type"), "appeal": appeal, **obj}
            raw = orjson.dumps(body).decode()
            try:
                event = event_from_object(body, raw, self.max_text_len)
            except ContractError as exc:
                raise RowError(_blamed(str(exc), cols), f"{body['type']}: {exc}") from None
            out.append((event, raw))
            columns[event.id] = cols
        return RowEvents(appeal, out, columns)

    def _value(self, f: str, v: str, col: str, stage: str) -> Any:
        if f == "due_at":
            return self.time(v, col)
        if f in _FREE:
            return v
        if f in ("unit", "member"):
            return self.label("unit", v, col) if f == "unit" else v
        table = _TABLE_OF.get(f, f)
        return self.label(table, v, col) if table in self.labels or table in CONTRACT_VALUES else v

    def _created(self, row: dict[str, Any], appeal: str) -> tuple[dict[str, Any], dict[str, str]]:
        m = self.m
        c = m.created
        at_col = str(c["accepted_at"])
        obj: dict[str, Any] = {"type": "created", "id": event_id(appeal, TAGS["created"])}
        obj["at"] = self.time(row.get(at_col), at_col)
        cols: dict[str, str] = {"at": at_col}
        for f in ("channel", "kind", "priority"):
            col = c.get(f)
            v = self.text(row, col) if isinstance(col, str) else None
            if v is None:
                if f not in m.defaults:
                    raise RowError(str(col or ""), f"{f} missing")
                v, col = m.defaults[f], ""
            cols[f] = str(col)
            obj[f] = self.label(f, v, str(col))
        obj["category"], cols["category"] = self._category(row)
        for f in ("address", "summary"):
            if isinstance(col := c.get(f), str) and (v := self.text(row, col)) is not None:
                obj[f], cols[f] = v, col
        if isinstance(col := c.get("due_at"), str) and (v := self.text(row, col)) is not None:
            obj["due_at"], cols["due_at"] = self.time(row.get(col), col), col
        if isinstance(col := c.get("community"), str) and (v := self.text(row, col)) is not None:
            obj["community"], cols["community"] = self.label("community", v, col), col
        loc = self._location(row)
        if loc is not None:
            obj["location"], cols["location"] = loc
        if "community" not in obj and "location" not in obj:
            col = str(c.get("community") or c.get("lon"))
            raise RowError(col, "no place: community and coordinates both empty")
        return obj, cols

    def _category(self, row: dict[str, Any]) -> tuple[list[str], str]:
        col = self.m.created["category"]
        if isinstance(col, list):
            values = [self.text(row, k) for k in col]
            if values[0] is None:
                raise RowError(col[0], "category missing")
            if None in values and any(v is not None for v in values[values.index(None) :]):
                gap = col[values.index(None)]
                raise RowError(gap, "category has a gap: a lower level without the level above it")
            return [v for v in values if v is not None], col[0]
        text = self.text(row, col)
        if text is None:
            raise RowError(col, "category missing")
        sep = self.m.category_separator
        parts = [p.strip() for p in text.split(sep)] if sep else [text]
        if not all(parts) or len(parts) > 3:
            raise RowError(col, f"category {text!r}: 1 to 3 non-empty levels")
        return parts, col

    def _location(self, row: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
        c = self.m.created
        if "lon" not in c:
            return None
        lon_col, lat_col = str(c["lon"]), str(c["lat"])
        lon, lat = self.text(row, lon_col), self.text(row, lat_col)
        if lon is None and lat is None:
            return None
        if lon is None or lat is None:
            raise RowError(lon_col if lon is None else lat_col, "one coordinate without the other")
        try:
            loc: dict[str, Any] = {"lon": float(lon), "lat": float(lat)}
        except ValueError:
            raise RowError(lon_col, f"coordinates ({lon}, {lat}) are not numbers") from None
        crs_col = c.get("crs")
        crs = self.text(row, crs_col) if isinstance(crs_col, str) else None
        if crs is None:
            crs = self.m.defaults.get("crs")
        if crs is not None:
            loc["crs"] = self.label("crs", crs, str(crs_col or ""))
        return loc, lon_col


def _read_time(text: str, formats: tuple[str, ...], column: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for f in formats:
        try:
            return datetime.strptime(text, f)
        except ValueError:
            continue
    raise RowError(column, f"time {text!r} matches no format (ISO 8601 or source.time_formats)")


def _inherit_units(objs: list[tuple[dict[str, Any], dict[str, str]]]) -> None:
    """A signing, return or resolution without a unit of its own is the unit's the appeal was last dispatched to
    before it (the way old systems record one handling unit per dispatch)."""
    dispatches = sorted(
        (o["at"], o["unit"], cols.get("unit", cols["at"])) for o, cols in objs if o["type"] == "dispatched"
    )
    for obj, cols in objs:
        if obj["type"] in ("accepted", "returned", "resolved") and obj.get("unit") is None:
            before = [d for d in dispatches if _instant(d[0]) <= _instant(obj["at"])]
            if before:
                obj["unit"] = before[-1][1]
                cols["unit"] = before[-1][2]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _blamed(message: str, cols: dict[str, str]) -> str:
    """The column a contract error names (its first word is the field), else the event's time column."""
    head = message.split(":", 1)[0].split(" ", 1)[0].split("[", 1)[0].split(".", 1)[0]
    return cols.get(head, cols["at"])
