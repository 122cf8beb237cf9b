"""A batch of an old system's export, column by column -> the contract's events and each appeal's fold (pure).

The hot path of the history import. Labels, categories and places are mapped once per distinct value of a column,
times once per cell by the C parsers, and the fold of a row whose lifecycle has the usual shape (one dispatch,
signing, extension, resolution, call-back and closing at most, in that order) follows from its columns: no event
objects, no per-event contract parse. The events and the draft it gives are exactly what `RowReader.events` and
`dashboard.appeal.start_draft` give the same row (tests hold them to it); a row this path cannot do exactly (a
second dispatch, a return, a reopening, coordinates, an unusual value or anything `RowReader` would refuse) is left
to that per-row path, which does it or says why not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import orjson

from dashboard.contract import ID_MAX_LEN, SCHEMA_VERSION, TIME_MAX, TIME_MIN
from dashboard.history_mapping import SLOT_REQUIRED, STAGES, TAGS
from dashboard.history_rows import CONTRACT_VALUES, RowError, RowReader, cell_text

#: The stages a usual row may have (one slot each, the first), in the order their effects on the status follow.
USUAL = ("dispatched", "accepted", "extended", "resolved", "reviewed", "closed")
#: Stages whose order decides the status: a usual row has them in this order, by (time, event id).
_STATUS_ORDER = ("dispatched", "accepted", "resolved", "closed")
_NUL = "\x00"
_FAIL = object()  # a cell this path cannot do: the row goes to the per-row path


@dataclass
class Converted:
    """A batch's usual rows, column-wise: for each, its index in the batch, appeal id, community code, the units
    its events name, its events as (id, type, at as aware UTC, JSON text) and its fold's draft. `rest`: the indices
    of the rows left to the per-row path."""

    index: list[int] = field(default_factory=list)
    appeal: list[str] = field(default_factory=list)
    community: list[str] = field(default_factory=list)
    units: list[tuple[str, ...]] = field(default_factory=list)
    events: list[list[tuple[str, str, datetime, str]]] = field(default_factory=list)
    drafts: list[dict[str, Any]] = field(default_factory=list)
    rest: list[int] = field(default_factory=list)


class ColumnReader:
    """Turns batches of columns (column name -> cells, one per row) into events and drafts by one mapping."""

    def __init__(self, rows: RowReader) -> None:
        self.rows = rows
        self.m = rows.m
        self.limit = rows.max_text_len
        m = self.m
        # a usual row has only first slots of the usual stages; every other slot's `at` must be empty
        self.other_at = [
            slot["at"] for s, slots in m.slots.items() for i, slot in enumerate(slots) if s not in USUAL or i > 0
        ]
        self.first = {s: slots[0] for s, slots in m.slots.items() if s in USUAL and slots}

    # -- columns ----------------------------------------------------------------------------------------------
    def _texts(self, cells: list[Any]) -> list[str | None]:
        """`cell_text` of each cell."""
        return [(v.strip() or None) if type(v) is str else cell_text(v) for v in cells]

    def _mapped(self, texts: list[str | None], fn: Callable[[str], Any]) -> list[Any]:
        """`fn` of each distinct non-empty value, once; `_FAIL` where it raises RowError."""
        seen: dict[str, Any] = {}
        for v in set(texts):
            if v is None:
                continue
            try:
                seen[v] = fn(v)
            except RowError:
                seen[v] = _FAIL
        return [None if v is None else seen[v] for v in texts]

    def _times(self, cells: list[Any]) -> tuple[list[Any], list[str | None]]:
        """Each cell as aware UTC (None: empty; `_FAIL`: not one this path reads) and as the RFC 3339 text with the
        offset written (the event's `at`), as `RowReader.time` gives it."""
        zone = self.m.zone
        formats = self.m.time_formats
        utc: list[Any] = []
        text: list[str | None] = []
        parse = datetime.fromisoformat
        for v in cells:
            if v is None:
                utc.append(None)
                text.append(None)
                continue
            if type(v) is str:
                s = v.strip()
                if not s:
                    utc.append(None)
                    text.append(None)
                    continue
                try:
                    t = parse(s)
                except ValueError:
                    read = _strptime(s, formats)
                    if read is None:
                        utc.append(_FAIL)
                        text.append(None)
                        continue
                    t = read
            elif isinstance(v, datetime):
                t = v
            elif isinstance(v, date) or cell_text(v) is None:
                utc.append(_FAIL if isinstance(v, date) else None)
                text.append(None)
                continue
            else:
                utc.append(_FAIL)  # a number as a time: the per-row path says why not
                text.append(None)
                continue
            if t.tzinfo is None or t.utcoffset() is None:
                if zone is None:
                    utc.append(_FAIL)
                    text.append(None)
                    continue
                t = t.replace(tzinfo=zone)
            u = t.astimezone(UTC)
            if not TIME_MIN <= u < TIME_MAX:
                utc.append(_FAIL)
                text.append(None)
                continue
            utc.append(u)
            text.append(t.isoformat())
        return utc, text

    def _column(self, columns: dict[str, list[Any]], name: str | None, n: int) -> list[Any]:
        return columns.get(name, [None] * n) if name is not None else [None] * n

    def _label_column(self, columns: dict[str, list[Any]], f: str, n: int) -> list[Any]:
        """channel, kind or priority of each row: its label mapped, or the default (RowReader._created)."""
        col = self.m.created.get(f)
        texts = self._texts(self._column(columns, col if isinstance(col, str) else None, n))
        default = self.m.defaults.get(f)
        if default is not None:
            texts = [default if v is None else v for v in texts]
        values = self._mapped(texts, lambda v: self.rows.label(f, v, str(col or "")))
        closed = CONTRACT_VALUES.get(f)
        return [
            _FAIL if v is None or v is _FAIL or not _code_ok(v, self.limit) or (closed and v not in closed) else v
            for v in values
        ]

    def _category_column(self, columns: dict[str, list[Any]], n: int) -> list[Any]:
        """Each row's category levels, as `RowReader._category` reads them (once per distinct value)."""
        col = self.m.created["category"]
        names = col if isinstance(col, list) else [col]
        keys = list(zip(*(self._texts(self._column(columns, c, n)) for c in names)))
        seen: dict[tuple[str | None, ...], Any] = {}
        for key in set(keys):
            try:
                parts, _ = self.rows._category(dict(zip(names, key)))
            except RowError:
                seen[key] = _FAIL
                continue
            seen[key] = parts if all(_code_ok(p, self.limit) for p in parts) else _FAIL
        return [seen[k] for k in keys]

    # -- a batch ------------------------------------------------------------------------------------------------
    def convert(self, columns: dict[str, list[Any]], n: int) -> Converted:
        """The usual rows of a batch of `n` rows as events and drafts; the others' indices in `rest`."""
        m = self.m
        c = m.created
        out = Converted()
        bad = [False] * n

        def fail_where(values: list[Any], also_empty: bool = False) -> None:
            for i, v in enumerate(values):
                if v is _FAIL or (also_empty and v is None):
                    bad[i] = True

        appeals = self._texts(self._column(columns, str(c["appeal"]), n))
        for i, a in enumerate(appeals):
            if a is None or len(a) > ID_MAX_LEN - 3 or _NUL in a:
                bad[i] = True
        for col in self.other_at:
            for i, v in enumerate(self._texts(self._column(columns, col, n))):
                if v is not None:
                    bad[i] = True
        if "lon" in c:
            for name in (str(c["lon"]), str(c["lat"])):
                for i, v in enumerate(self._texts(self._column(columns, name, n))):
                    if v is not None:
                        bad[i] = True  # coordinates: placed by the per-row path
        created_at, created_text = self._times(self._column(columns, str(c["accepted_at"]), n))
        fail_where(created_at, also_empty=True)
        labels = {f: self._label_column(columns, f, n) for f in ("channel", "kind", "priority")}
        for values in labels.values():
            fail_where(values)
        category = self._category_column(columns, n)
        fail_where(category)
        texts = {}
        for f in ("address", "summary"):
            key = c.get(f)
            vals = self._texts(self._column(columns, key if isinstance(key, str) else None, n))
            for i, v in enumerate(vals):
                if v is not None and (len(v) > self.limit or _NUL in v):
                    bad[i] = True
            texts[f] = vals
        due_col = c.get("due_at")
        due_at, due_text = self._times(self._column(columns, due_col if isinstance(due_col, str) else None, n))
        fail_where(due_at)
        comm_col = c.get("community")
        community = self._mapped(
            self._texts(self._column(columns, comm_col if isinstance(comm_col, str) else None, n)),
            lambda v: self.rows.label("community", v, str(comm_col)),
        )
        for i, v in enumerate(community):
            if v is None or v is _FAIL or not _code_ok(v, self.limit):
                bad[i] = True
        stages = {stage: self._stage(columns, stage, slot, n, bad) for stage, slot in self.first.items()}
        self._shape(stages, n, bad)
        good = [i for i in range(n) if not bad[i]]
        out.rest = [i for i in range(n) if bad[i]]
        japp = {i: orjson.dumps(appeals[i]).decode() for i in good}
        created = self._created_payloads(good, japp, created_text, labels, category, texts, due_text, community)
        payloads = {stage: self._payloads(stage, st, good, japp) for stage, st in stages.items()}
        tag_c = TAGS["created"]
        for i in good:
            appeal: str = appeals[i]  # type: ignore[assignment]  # not None: checked above
            t0 = created_at[i]
            evs = [(f"{appeal}#{tag_c}", "created", t0, created[i])]
            happened: dict[str, tuple[datetime, dict[str, Any]]] = {}
            last = (t0, tag_c)
            for stage, st in stages.items():
                at = st["at"][i]
                if at is None:
                    continue
                tag = st["tag"]
                evs.append((f"{appeal}#{tag}", stage, at, payloads[stage][i]))
                happened[stage] = (at, {f: v[i] for f, v in st["data"].items() if v[i] is not None})
                if (at, tag) > last:
                    last = (at, tag)
            out.index.append(i)
            out.appeal.append(appeal)
            out.community.append(community[i])
            out.units.append(tuple(h[1]["unit"] for h in happened.values() if "unit" in h[1]))
            out.events.append(evs)
            draft = _draft(appeal, t0, labels, i, category[i], texts, community[i], due_at[i], happened)
            draft["_last"] = (last[0], f"{appeal}#{last[1]}")
            out.drafts.append(draft)
        return out

    def _shape(self, stages: dict[str, dict[str, Any]], n: int, bad: list[bool]) -> None:
        """Mark the rows whose lifecycle this path does not fold: a required field empty, the status events out of
        the usual order (by time, then id), a signing or resolution with no unit and none dispatched before. Set
        each stage's `data` (its fields as the event's, the unit inherited) and `extra` (a unit set after the
        columns' fields: the mapping's default or the dispatch's)."""
        for stage, st in stages.items():
            at, fields = st["at"], st["fields"]
            unit_col = fields.get("unit")
            default = st["defaults"].get("unit")
            data = {f: v for f, v in fields.items() if f != "due_at"}
            if "due_at" in fields:
                data["due_at"] = [None if v is None else v[0] for v in fields["due_at"]]
            extra = [None] * n
            if default is not None:
                if unit_col is None:
                    unit_col = [None] * n
                extra = [default if a is not None and u is None else None for a, u in zip(at, unit_col)]
                data["unit"] = [default if e is not None else u for u, e in zip(unit_col, extra)]
            st["data"], st["extra"] = data, extra
            for f in SLOT_REQUIRED.get(stage, ()):
                vals = data.get(f)
                for i in range(n):
                    if at[i] is not None and (vals is None or vals[i] is None):
                        bad[i] = True
        prev: list[tuple[datetime, str] | None] = [None] * n
        for stage in _STATUS_ORDER:
            if stage not in stages:
                continue
            at, tag = stages[stage]["at"], stages[stage]["tag"]
            for i in range(n):
                t = at[i]
                if t is None or bad[i]:
                    continue
                p = prev[i]
                if p is not None and (t, tag) <= p:
                    bad[i] = True
                prev[i] = (t, tag)
        d = stages.get("dispatched")
        for stage in ("accepted", "resolved"):
            if stage not in stages:
                continue
            at, data, extra = stages[stage]["at"], stages[stage]["data"], stages[stage]["extra"]
            units = data["unit"] = list(data.get("unit") or [None] * n)  # not the column's own list
            for i in range(n):
                if at[i] is None or bad[i] or units[i] is not None:
                    continue
                if d is None or d["at"][i] is None:
                    bad[i] = True  # no unit to inherit: the per-row path names the column
                else:
                    units[i] = extra[i] = d["data"]["unit"][i]  # dispatched before it (the order above)

    def _created_payloads(
        self,
        good: list[int],
        japp: dict[int, str],
        at_text: list[str | None],
        labels: dict[str, list[Any]],
        category: list[Any],
        texts: dict[str, list[str | None]],
        due_text: list[str | None],
        community: list[Any],
    ) -> dict[int, str]:
        """The `created` events' JSON text, as `orjson.dumps` writes the per-row path's object (key for key)."""
        j = _Json()
        tag = TAGS["created"]
        out = {}
        for i in good:
            a = japp[i]
            parts = [f'{{"v":{SCHEMA_VERSION},"id":{a[:-1]}#{tag}","type":"created","appeal":{a},"at":"{at_text[i]}"',
                     f',"channel":{j.of(labels["channel"][i])},"kind":{j.of(labels["kind"][i])}',
                     f',"priority":{j.of(labels["priority"][i])},"category":{j.of(category[i])}']  # fmt: skip
            for f in ("address", "summary"):
                if (v := texts[f][i]) is not None:
                    parts.append(f',"{f}":{orjson.dumps(v).decode()}')
            if (t := due_text[i]) is not None:
                parts.append(f',"due_at":"{t}"')
            parts.append(f',"community":{j.of(community[i])}}}')
            out[i] = "".join(parts)
        return out

    def _payloads(self, stage: str, st: dict[str, Any], good: list[int], japp: dict[int, str]) -> dict[int, str]:
        """A stage's events' JSON text by row, as `orjson.dumps` writes the per-row path's object (key for key)."""
        j = _Json()
        at, text, tag = st["at"], st["text"], st["tag"]
        rows = [i for i in good if at[i] is not None]
        out = {
            i: f'{{"v":{SCHEMA_VERSION},"id":{japp[i][:-1]}#{tag}","type":"{stage}","appeal":{japp[i]},"at":"{text[i]}"'
            for i in rows
        }
        for f, values in st["fields"].items():
            if f == "due_at":
                for i in rows:
                    if (v := values[i]) is not None:
                        out[i] += f',"due_at":"{v[1]}"'
                continue
            free = f in ("reason", "note")
            for i in rows:
                if (v := values[i]) is not None:
                    out[i] += f',"{f}":{orjson.dumps(v).decode() if free else j.of(v)}'
        extra = st["extra"]
        for i in rows:
            u = extra[i]
            out[i] += "}" if u is None else f',"unit":{j.of(u)}}}'
        return out

    def _stage(
        self, columns: dict[str, list[Any]], stage: str, slot: dict[str, str], n: int, bad: list[bool]
    ) -> dict[str, Any]:
        """A first slot's columns: `at` (UTC and text), each field's values as `RowReader._value` maps them, and the
        mapping's defaults for a field left empty."""
        at, at_text = self._times(self._column(columns, slot["at"], n))
        for i, v in enumerate(at):
            if v is _FAIL:
                bad[i] = True
        fields: dict[str, list[Any]] = {}
        for f, col in slot.items():
            if f == "at":
                continue
            texts = self._texts(self._column(columns, col, n))
            if f == "due_at":
                values, vtext = self._times(texts)
                fields[f] = [None if u is None or u is _FAIL else (u, t) for u, t in zip(values, vtext)]
                for i, u in enumerate(values):
                    if u is _FAIL:
                        bad[i] = True
                continue
            values = self._mapped(texts, partial(self.rows._value, f, col=col, stage=stage))
            closed = CONTRACT_VALUES.get(f)
            for i, v in enumerate(values):
                if v is None:
                    continue
                if f in ("responded", "resolved"):
                    ok = type(v) is bool
                elif f in ("reason", "note"):
                    ok = type(v) is str and len(v) <= self.limit and _NUL not in v
                else:
                    ok = _code_ok(v, self.limit) and (closed is None or v in closed)
                if not ok:
                    bad[i] = True
            fields[f] = values
        defaults = {f: self.m.defaults[f] for f in ("due_at", "unit") if f in self.m.defaults and f in STAGES[stage]}
        if "due_at" in defaults:  # a default due time: the per-row path checks it
            due = fields.get("due_at", [None] * n)
            for i in range(n):
                if at[i] is not None and due[i] is None:
                    bad[i] = True
            del defaults["due_at"]
        return {"at": at, "text": at_text, "fields": fields, "defaults": defaults, "tag": f"{TAGS[stage]}1"}


class _Json:
    """JSON text of values that recur (labels, codes, categories), each written once."""

    def __init__(self) -> None:
        self.seen: dict[Any, str] = {}

    def of(self, v: Any) -> str:
        key = tuple(v) if type(v) is list else v
        text = self.seen.get(key)
        if text is None:
            text = self.seen[key] = orjson.dumps(v).decode()
        return text


def _draft(
    appeal: str,
    created_at: datetime,
    labels: dict[str, list[Any]],
    i: int,
    category: list[str],
    texts: dict[str, list[str | None]],
    community: str,
    due: Any,
    happened: dict[str, tuple[datetime, dict[str, Any]]],
) -> dict[str, Any]:
    """The draft `start_draft` folds from a usual row's events (`dashboard.appeal`'s rules, in the usual order:
    dispatched, accepted, resolved, closed; extended and reviewed set only their own keys); `_last` is the
    caller's."""
    d = happened.get("dispatched")
    a = happened.get("accepted")
    s = happened.get("resolved")
    z = happened.get("closed")
    x = happened.get("extended")
    v = happened.get("reviewed")
    status = "closed" if z else "resolved" if s else "accepted" if a else "dispatched" if d else "created"
    unit = s[1]["unit"] if s else a[1]["unit"] if a else d[1]["unit"] if d else None
    return {
        "appeal": appeal,
        "status": status,
        "created_at": created_at,
        "channel": labels["channel"][i],
        "kind": labels["kind"][i],
        "category": tuple(category),
        "priority": labels["priority"][i],
        "location": None,
        "community": community,
        "address": texts["address"][i],
        "summary": texts["summary"][i],
        "unit": unit,
        "member": a[1].get("member") if a else None,
        "first_dispatched_at": d[0] if d else None,
        "dispatch_count": 1 if d else 0,
        "return_count": 0,
        "extension_count": 1 if x else 0,
        "reopen_count": 0,
        "clock_start": d[0] if d else created_at,
        "resolved_at": s[0] if s else None,
        "closed_at": z[0] if z else None,
        "reviewed": v is not None,
        "reviewed_at": v[0] if v else None,
        "responded": v[1]["responded"] if v else None,
        "resolved_flag": v[1]["resolved"] if v else None,
        "satisfaction": v[1]["satisfaction"] if v else None,
        "_extended_due": x[1]["due_at"] if x else None,
        "_dispatched_due": d[1].get("due_at") if d else None,
        "_created_due": due,
        "_last": None,
    }


def _code_ok(v: Any, limit: int) -> bool:
    """A contract code: a non-empty string within the text limit, without U+0000."""
    return type(v) is str and 0 < len(v) <= limit and _NUL not in v


def _strptime(text: str, formats: tuple[str, ...]) -> datetime | None:
    for f in formats:
        try:
            return datetime.strptime(text, f)
        except ValueError:
            continue
    return None
