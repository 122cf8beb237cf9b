"""The mapping of an old hotline system's export to the intake contract (pure): which column holds what, which
label means which contract value, how times are written. Read from a TOML file by the importer; documented in
docs/import/README.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard.contract import CATEGORY_MAX_DEPTH

#: The lifecycle stages a row may carry after `created`, each a list of slots (`[[dispatched]]`, …), and the
#: fields of each slot (`at` is required in every slot: a slot whose `at` cell is empty did not happen).
STAGES: dict[str, tuple[str, ...]] = {
    "dispatched": ("at", "unit", "due_at"),
    "accepted": ("at", "unit", "member"),
    "extended": ("at", "due_at", "reason"),
    "returned": ("at", "unit", "reason"),
    "resolved": ("at", "unit", "note"),
    "reviewed": ("at", "responded", "resolved", "satisfaction"),
    "reopened": ("at", "reason"),
    "closed": ("at",),
}
#: Fields a slot must fill when it happened (besides `at`); a unit left empty is the latest dispatch's.
SLOT_REQUIRED = {
    "extended": ("due_at",),
    "reviewed": ("responded", "resolved", "satisfaction"),
    "dispatched": ("unit",),
}
#: The `created` event's fields in `[columns]`: appeal and accepted_at and category are required.
CREATED_FIELDS = (
    "appeal",
    "accepted_at",
    "channel",
    "kind",
    "category",
    "priority",
    "community",
    "lon",
    "lat",
    "crs",
    "address",
    "summary",
    "due_at",
)
#: Contract values a label table may map to, by field.
VALUE_FIELDS = ("channel", "kind", "priority", "satisfaction", "boolean", "crs", "community", "unit")
#: The one-letter tags of event ids, by stage (ids are `<appeal>#<tag><slot number>`).
TAGS = {
    "created": "c",
    "dispatched": "d",
    "accepted": "a",
    "extended": "x",
    "returned": "r",
    "resolved": "s",
    "reviewed": "v",
    "reopened": "o",
    "closed": "z",
}


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Mapping:
    """A checked mapping: the columns of `created`, the lifecycle slots, value labels, time formats and zone."""

    created: dict[str, str | list[str]]
    slots: dict[str, list[dict[str, str]]]
    values: dict[str, dict[str, Any]]
    defaults: dict[str, str]
    time_formats: tuple[str, ...]
    zone: tzinfo | None
    category_separator: str | None = None
    encoding: str = "utf-8-sig"
    sheet: str | None = None
    name: str = ""
    columns: frozenset[str] = field(default_factory=frozenset)

    def missing_columns(self, header: list[str]) -> list[str]:
        """The columns the mapping names that the file does not have, in the mapping's order."""
        have = set(header)
        return sorted(c for c in self.columns if c not in have)


def parse_zone(text: str) -> tzinfo:
    """A zone as `Asia/Shanghai` or `+08:00`; MappingError saying why not."""
    t = text.strip()
    if t[:1] in "+-" and len(t) == 6 and t[3] == ":" and t[1:3].isdigit() and t[4:].isdigit():
        shift = timedelta(hours=int(t[1:3]), minutes=int(t[4:]))
        return timezone(-shift if t[0] == "-" else shift)
    try:
        return ZoneInfo(t)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"source.zone: unknown time zone {text!r} (use e.g. 'Asia/Shanghai' or '+08:00')") from None


def _column(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise MappingError(f"{key}: must be a column name (a non-empty string)")
    return value


def mapping_from_dict(doc: dict[str, Any], name: str = "") -> Mapping:
    """Check a mapping read from TOML and build it; MappingError naming the first key that is wrong."""
    unknown = set(doc) - {"source", "columns", "values", "defaults", *STAGES}
    if unknown:
        raise MappingError(f"unknown section(s): {', '.join(sorted(unknown))}")
    source = doc.get("source", {})
    cols = doc.get("columns")
    if not isinstance(cols, dict):
        raise MappingError("[columns]: missing (the columns of the appeal: appeal, accepted_at, category, …)")
    bad = set(cols) - set(CREATED_FIELDS)
    if bad:
        raise MappingError(f"columns: unknown field(s) {', '.join(sorted(bad))}; known: {', '.join(CREATED_FIELDS)}")
    created: dict[str, str | list[str]] = {}
    for key, value in cols.items():
        if key == "category" and isinstance(value, list):
            if not 1 <= len(value) <= CATEGORY_MAX_DEPTH:
                raise MappingError(f"columns.category: 1 to {CATEGORY_MAX_DEPTH} columns, top level first")
            created[key] = [_column(v, f"columns.category[{i}]") for i, v in enumerate(value)]
        else:
            created[key] = _column(value, f"columns.{key}")
    defaults = {k: str(v) for k, v in doc.get("defaults", {}).items()}
    for need in ("appeal", "accepted_at", "category"):
        if need not in created:
            raise MappingError(f"columns.{need}: required")
    for need in ("channel", "kind", "priority"):
        if need not in created and need not in defaults:
            raise MappingError(f"columns.{need}: required (or give defaults.{need})")
    if "community" not in created and not ("lon" in created and "lat" in created):
        raise MappingError("columns: give community, or lon and lat (or all three)")
    if ("lon" in created) != ("lat" in created):
        raise MappingError("columns: lon and lat come together")
    slots: dict[str, list[dict[str, str]]] = {}
    for stage, fields in STAGES.items():
        entries = doc.get(stage, [])
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            raise MappingError(f"[[{stage}]]: must be a table or an array of tables")
        for i, slot in enumerate(entries):
            key = f"{stage}[{i}]"
            if not isinstance(slot, dict):
                raise MappingError(f"{key}: must be a table of field = column")
            extra = set(slot) - set(fields)
            if extra:
                raise MappingError(f"{key}: unknown field(s) {', '.join(sorted(extra))}; known: {', '.join(fields)}")
            if "at" not in slot:
                raise MappingError(f"{key}.at: required (the column of when it happened)")
            for need in SLOT_REQUIRED.get(stage, ()):
                if need not in slot and not (need == "unit" and "unit" in defaults):
                    raise MappingError(f"{key}.{need}: required")
            slots.setdefault(stage, []).append({f: _column(c, f"{key}.{f}") for f, c in slot.items()})
    values = doc.get("values", {})
    if not isinstance(values, dict) or set(values) - set(VALUE_FIELDS):
        raise MappingError(f"values: tables of labels for {', '.join(VALUE_FIELDS)} only")
    for table, labels in values.items():
        if not isinstance(labels, dict):
            raise MappingError(f"values.{table}: must be a table of label = value")
        for label, v in labels.items():
            ok = isinstance(v, bool) if table == "boolean" else isinstance(v, str) and v != ""
            if not ok:
                raise MappingError(
                    f"values.{table}.{label}: must be {'true or false' if table == 'boolean' else 'a string'}"
                )
    formats = source.get("time_formats", [])
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        raise MappingError("source.time_formats: a list of strptime formats such as '%Y/%m/%d %H:%M'")
    zone = parse_zone(source["zone"]) if "zone" in source else None
    sep = source.get("category_separator")
    if sep is not None and (not isinstance(sep, str) or not sep):
        raise MappingError("source.category_separator: a non-empty string")
    names = {c for v in created.values() for c in ([v] if isinstance(v, str) else v)}
    names |= {c for entries in slots.values() for slot in entries for c in slot.values()}
    return Mapping(
        created=created,
        slots=slots,
        values={k: dict(v) for k, v in values.items()},
        defaults=defaults,
        time_formats=tuple(formats),
        zone=zone,
        category_separator=sep,
        encoding=str(source.get("encoding", "utf-8-sig")),
        sheet=source.get("sheet"),
        name=name,
        columns=frozenset(names),
    )
