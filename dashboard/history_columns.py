"""A batch of an old system's export, column by column -> the contract's events and each appeal's fold (pure).

The hot path of the history import. A batch is an Arrow table and stays one: texts are checked by Arrow's string
kernels, times parsed and written back over whole columns in C (a cell Arrow cannot read exactly as
`datetime.fromisoformat` / `strptime` would is read by those, one by one), labels, categories and places mapped once
per distinct value, and each row's fold follows from its events by numpy, whatever its lifecycle (dispatches,
returns, reopenings, call-backs in any number and order): every draft key is what the last event, in (at, id) order,
of the types that set it left there, and the counts are counts per row (`dashboard.appeal`'s rules, `TOUCHES`). No
event objects, no per-event contract parse, no dict per row. The events and the fold it gives are exactly what
`RowReader.events` and `dashboard.appeal.start_draft` give the same row (tests hold them to it, key for key); a row
this path cannot do exactly (coordinates, an unusual value, two dispatches at one instant, or anything `RowReader`
would refuse) is left to that per-row path, which does it or says why not."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.appeal import KEPT, TOUCHES
from dashboard.contract import ID_MAX_LEN, SCHEMA_VERSION, TIME_MAX, TIME_MIN
from dashboard.history_mapping import SLOT_REQUIRED, STAGES, TAGS
from dashboard.history_rows import CONTRACT_VALUES, RowError, RowReader, cell_text
from dashboard.settings import Settings

#: Each event type's code in a batch's fold (`_fold`).
_TYPES = ("created", *STAGES)
_CODE = {t: i for i, t in enumerate(_TYPES)}
#: Events that take a unit and, without one of their own, inherit the latest dispatch's (as `RowReader` does).
_INHERIT = ("accepted", "returned", "resolved")
#: The fields of an event (besides its time and due time) the fold reads (`Events`).
_FOLDED = ("unit", "member", "responded", "resolved", "satisfaction")
_NUL = "\x00"
_FAIL = object()  # a cell this path cannot do: the row goes to the per-row path
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000
_T_MIN = (TIME_MIN - _EPOCH) // timedelta(microseconds=1)
_T_MAX = (TIME_MAX - _EPOCH) // timedelta(microseconds=1)
#: What `str.strip` strips.
_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
#: A text that is a JSON string between two quotes as it is (orjson escapes only these).
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'
#: ISO 8601 times `datetime.fromisoformat` reads and Arrow reads the same: seconds, a fraction of 6 digits not all
#: zero (`isoformat` drops a zero one), an offset (Z, or hours and minutes; -00:00 is written +00:00) or none.
_FRAC = r"(\.(?:[1-9]\d{5}|0[1-9]\d{4}|00[1-9]\d{3}|000[1-9]\d{2}|0000[1-9]\d|00000[1-9]))?"
_ISO = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}" + _FRAC
_ISO_ZONED = _ISO + r"(Z|\+\d{2}:\d{2}|-(?:0[1-9]|1\d|2[0-3]):\d{2}|-00:(?:0[1-9]|[1-5]\d))$"
_ISO_NAIVE = _ISO + "$"
#: Cells `fromisoformat` may read (tried before the mapping's formats): never read by a format here.
_ISO_LIKE = r"^\d{4}(-|\d{4}|W)"
#: Format directives Arrow's strptime reads as Python's does when the text is written back the same.
_FORMAT_OK = re.compile(r"^(?:[^%]|%[YmdHMS%])*$")


@dataclass
class Times:
    """A time column: each cell as microseconds since the epoch, UTC (`ok`), empty, or `fail` (not one this path
    reads: the row goes to the per-row path); `text` the event's `at` as `RowReader.time` writes it."""

    us: np.ndarray
    ok: np.ndarray
    fail: np.ndarray
    text: pa.Array


@dataclass
class Converted:
    """A batch's rows this path takes, column-wise. `events`: one row per event (`row`: its batch row, `id`, `type`,
    `at` as microseconds UTC, `payload` its JSON text), in row order within each slot. `fold`: one row per batch row
    taken (`row`, `appeal`, `community`, the draft's keys as `start_draft` folds them; times as timestamps, UTC;
    `_last_at`, `_last_id` for `_last`). `units`: the units the rows' events name, slot by slot (nulls where none).
    `rest`: the indices of the rows left to the per-row path."""

    events: pa.Table
    fold: pa.Table
    units: list[pa.Array] = field(default_factory=list)
    rest: list[int] = field(default_factory=list)

    def drafts(self) -> list[dict[str, Any]]:
        """The fold as `start_draft`'s drafts (the tests' and the per-row comparison's view)."""
        out = []
        for r in self.fold.to_pylist():
            d = {k: v for k, v in r.items() if k not in ("row", "_last_at", "_last_id", "cat1", "cat2", "cat3")}
            d["appeal"] = r["appeal"]
            d["category"] = tuple(d["category"])
            d["location"] = None
            d["_last"] = (r["_last_at"], r["_last_id"])
            out.append(d)
        return out

    def event_lists(self) -> dict[int, list[tuple[str, str, datetime, str]]]:
        """Each usual row's events as (id, type, at, JSON text) in `RowReader.events`' order."""
        out: dict[int, list[tuple[str, str, datetime, str]]] = {}
        cols = self.events.to_pydict()
        for row, eid, kind, at, payload in zip(cols["row"], cols["id"], cols["type"], cols["at"], cols["payload"]):
            out.setdefault(row, []).append((eid, kind, at, payload))
        return out


class ColumnReader:
    """Turns batches of columns (an Arrow table, or column name -> cells) into events and folds by one mapping."""

    def __init__(self, rows: RowReader) -> None:
        self.rows = rows
        self.m = rows.m
        self.limit = rows.max_text_len
        #: every slot of the mapping, in `RowReader.events`' order (stage by stage, then slot by slot)
        self.slots = [(stage, i, slot) for stage, slots in self.m.slots.items() for i, slot in enumerate(slots)]
        self.formats = [f for f in self.m.time_formats if _FORMAT_OK.match(f)]
        self._offsets: dict[int, tuple[int, str] | None] = {}  # local hour -> the zone's offset over it

    # -- texts --------------------------------------------------------------------------------------------------
    def _texts(self, cells: pa.Array | None, n: int) -> pa.Array:
        """`cell_text` of each cell, as a string array (null: empty)."""
        if isinstance(cells, list):
            return pa.array([cell_text(v) for v in cells], pa.string())
        if cells is None or cells.type == pa.null():
            return pa.nulls(n, pa.string())
        if not pa.types.is_string(cells.type) and not pa.types.is_large_string(cells.type):
            return pa.array([cell_text(v) for v in cells.to_pylist()], pa.string())
        trimmed = pc.utf8_trim(cells.cast(pa.string()), _WHITESPACE)  # str.strip
        return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)

    def _mapped(self, texts: pa.Array, fn: Callable[[str], Any]) -> tuple[list[Any], np.ndarray]:
        """`fn` of each distinct non-empty value, once (`_FAIL` where it raises RowError): the values, and each row's
        index into them (-1: empty)."""
        enc = texts.dictionary_encode()
        values: list[Any] = []
        for v in enc.dictionary.to_pylist():
            try:
                values.append(fn(v))
            except RowError:
                values.append(_FAIL)
        return values, pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)

    # -- times --------------------------------------------------------------------------------------------------
    def _times(self, cells: pa.Array | None, n: int) -> Times:
        """Each cell as UTC and as the RFC 3339 text with its offset (the event's `at`), as `RowReader.time` reads
        it: whole columns by Arrow where it reads a cell exactly as Python would, the other cells one by one."""
        us = np.zeros(n, np.int64)
        ok = np.zeros(n, bool)
        fail = np.zeros(n, bool)
        pieces: list[tuple[np.ndarray, pa.Array]] = []
        if isinstance(cells, list):
            where = np.arange(n)
            pieces.append((where, self._times_python(cells, where, us, ok, fail)))
            return Times(us, ok, fail, _assemble(pieces, n))
        if cells is None or cells.type == pa.null():
            return Times(us, ok, fail, pa.nulls(n, pa.string()))
        if not pa.types.is_string(cells.type) and not pa.types.is_large_string(cells.type):
            where = np.arange(n)
            pieces.append((where, self._times_python(cells.to_pylist(), where, us, ok, fail)))
            return Times(us, ok, fail, _assemble(pieces, n))
        texts = self._texts(cells, n)
        left = pc.is_valid(texts).to_numpy(zero_copy_only=False).copy()
        zoned = _np(pc.fill_null(pc.match_substring_regex(texts, _ISO_ZONED), False)) & left
        if zoned.any():
            idx = np.flatnonzero(zoned)
            t = texts.take(pa.array(idx))
            sec, valid, frac = _local(t)
            zone = pc.if_else(pc.ends_with(t, "Z"), "+00:00", pc.utf8_slice_codeunits(t, -6))
            sign = np.where(_np(pc.starts_with(zone, "-")), -1, 1)
            hh = _np(pc.cast(pc.utf8_slice_codeunits(zone, 1, 3), pa.int64()))
            mm = _np(pc.cast(pc.utf8_slice_codeunits(zone, 4, 6), pa.int64()))
            u = (sec - sign * (hh * 3600 + mm * 60)) * _US + frac
            valid &= (hh < 24) & (mm < 60) & (u >= _T_MIN) & (u < _T_MAX)
            body = pc.replace_substring_regex(t, r"^(.{10}) ", r"\1T")
            body = pc.replace_substring_regex(body, r"Z$", "+00:00")
            self._keep(idx, valid, u, body, us, ok, left, pieces)
        if self.m.zone is not None:
            naive = _np(pc.fill_null(pc.match_substring_regex(texts, _ISO_NAIVE), False)) & left
            if naive.any():
                idx = np.flatnonzero(naive)
                t = texts.take(pa.array(idx))
                sec, valid, frac = _local(t)
                body = pc.replace_substring_regex(t, r"^(.{10}) ", r"\1T")
                self._zoned(idx, sec, frac, valid, body, us, ok, left, pieces)
            rest = left & ~_np(pc.fill_null(pc.match_substring_regex(texts, _ISO_LIKE), True))
            for f in self.formats:
                if not rest.any():
                    break
                idx = np.flatnonzero(rest)
                t = texts.take(pa.array(idx))
                parsed = pc.strptime(t, format=f, unit="s", error_is_null=True)
                valid = _np(pc.fill_null(pc.equal(_render(parsed, f), t), False))
                if not valid.any():
                    continue
                sec = _np(pc.fill_null(parsed.cast(pa.int64()), 0))
                body = _render(parsed, "%Y-%m-%dT%H:%M:%S")
                self._zoned(idx, sec, np.zeros(len(idx), np.int64), valid, body, us, ok, left, pieces)
                rest &= left
        if left.any():  # the cells Arrow did not read: one by one, as before
            idx = np.flatnonzero(left)
            pieces.append((idx, self._times_python(texts.take(pa.array(idx)).to_pylist(), idx, us, ok, fail)))
        return Times(us, ok, fail, _assemble(pieces, n))

    def _zoned(
        self,
        idx: np.ndarray,
        sec: np.ndarray,
        frac: np.ndarray,
        valid: np.ndarray,
        body: pa.Array,
        us: np.ndarray,
        ok: np.ndarray,
        left: np.ndarray,
        pieces: list[tuple[np.ndarray, pa.Array]],
    ) -> None:
        """Wall times without an offset, in the mapping's zone (its offset found once per hour of wall time, as
        `replace(tzinfo=zone)` gives it; an hour in which the offset changes is left to Python)."""
        hours = sec // 3600
        offset = np.zeros(len(idx), np.int64)
        suffix = np.full(len(idx), "", object)
        for h in np.unique(hours[valid]).tolist():
            got = self._offset(h)
            mine = hours == h
            if got is None:
                valid = valid & ~mine
                continue
            offset[mine] = got[0]
            suffix[mine] = got[1]
        u = (sec - offset) * _US + frac
        valid = valid & (u >= _T_MIN) & (u < _T_MAX)
        full = pc.binary_join_element_wise(body, pa.array(suffix, pa.string()), "")
        self._keep(idx, valid, u, full, us, ok, left, pieces)

    def _offset(self, hour: int) -> tuple[int, str] | None:
        if hour not in self._offsets:
            zone = self.m.zone
            start = datetime(1970, 1, 1) + timedelta(hours=hour)
            a = start.replace(tzinfo=zone)
            b = (start + timedelta(minutes=59, seconds=59)).replace(tzinfo=zone)
            off = a.utcoffset()
            if off is None or off != b.utcoffset() or a.isoformat()[19:] != b.isoformat()[19:]:
                self._offsets[hour] = None
            else:
                self._offsets[hour] = (off // timedelta(seconds=1), a.isoformat()[19:])
        return self._offsets[hour]

    @staticmethod
    def _keep(
        idx: np.ndarray,
        valid: np.ndarray,
        u: np.ndarray,
        body: pa.Array,
        us: np.ndarray,
        ok: np.ndarray,
        left: np.ndarray,
        pieces: list[tuple[np.ndarray, pa.Array]],
    ) -> None:
        where = idx[valid]
        us[where] = u[valid]
        ok[where] = True
        left[where] = False
        pieces.append((where, body.filter(pa.array(valid))))

    def _times_python(
        self, cells: list[Any], where: np.ndarray, us: np.ndarray, ok: np.ndarray, fail: np.ndarray
    ) -> pa.Array:
        """Cells one by one, as `RowReader.time` reads them; their texts."""
        zone = self.m.zone
        formats = self.m.time_formats
        text: list[str | None] = []
        for i, v in zip(where.tolist(), cells):
            text.append(None)
            if v is None:
                continue
            if type(v) is str:
                s = v.strip()
                if not s:
                    continue
                try:
                    t = datetime.fromisoformat(s)
                except ValueError:
                    read = _strptime(s, formats)
                    if read is None:
                        fail[i] = True
                        continue
                    t = read
            elif isinstance(v, datetime):
                t = v
            elif isinstance(v, date) or cell_text(v) is not None:
                fail[i] = True  # a date, or a number as a time: the per-row path says why not
                continue
            else:
                continue
            if t.tzinfo is None or t.utcoffset() is None:
                if zone is None:
                    fail[i] = True
                    continue
                t = t.replace(tzinfo=zone)
            u = t.astimezone(UTC)
            if not TIME_MIN <= u < TIME_MAX:
                fail[i] = True
                continue
            us[i] = (u - _EPOCH) // timedelta(microseconds=1)
            ok[i] = True
            text[-1] = t.isoformat()
        return pa.array(text, pa.string())

    # -- mapped columns ------------------------------------------------------------------------------------------
    def _coded(self, texts: pa.Array, fn: Callable[[str], Any]) -> tuple[np.ndarray, np.ndarray]:
        """Each row's `fn` of its text (None: empty; `_FAIL`: refused) and that value's JSON text, as object arrays."""
        values, idx = self._mapped(texts, fn)
        jsons = [None if v is _FAIL else orjson.dumps(v).decode() for v in values]
        return np.array([*values, None], object)[idx], np.array([*jsons, None], object)[idx]

    def _label_column(self, cols: dict[str, Any], f: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """channel, kind or priority of each row: its label mapped, or the default (RowReader._created); and the
        rows where it is not one this path takes."""
        col = self.m.created.get(f)
        texts = self._texts(cols.get(col) if isinstance(col, str) else None, n)
        default = self.m.defaults.get(f)
        if default is not None:
            texts = pc.fill_null(texts, default)
        closed = CONTRACT_VALUES.get(f)
        values, jsons = self._coded(texts, lambda v: self.rows.label(f, v, str(col or "")))
        ok = {v: v is not None and v is not _FAIL and _code_ok(v, self.limit) and (not closed or v in closed)
              for v in set(values.tolist()) if type(v) is str}  # fmt: skip
        bad = np.array([not ok.get(v, False) if type(v) is str else True for v in values.tolist()], bool)
        return values, jsons, bad

    def _category_column(self, cols: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray]:
        """Each row's category levels, as `RowReader._category` reads them (once per distinct value; `_FAIL`: not)."""
        col = self.m.created["category"]
        names = col if isinstance(col, list) else [col]
        parts = [pc.fill_null(self._texts(cols.get(c), n), "\x01") for c in names]
        key = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x00")
        enc = key.dictionary_encode()
        values: list[Any] = []
        for k in enc.dictionary.to_pylist():
            cells = k.split("\x00") if len(names) > 1 else [k]
            if len(cells) != len(names) or any("\x01" in x and x != "\x01" for x in cells):
                values.append(_FAIL)
                continue
            try:
                levels, _ = self.rows._category(dict(zip(names, [None if x == "\x01" else x for x in cells])))
            except RowError:
                values.append(_FAIL)
                continue
            values.append(levels if all(_code_ok(p, self.limit) for p in levels) else _FAIL)
        idx = _np(enc.indices).astype(np.int64)
        arr = np.array([*values, None], object)
        jsons = np.array([None if v is _FAIL else orjson.dumps(v).decode() for v in values] + [None], object)
        return arr[idx], jsons[idx]

    # -- a batch ------------------------------------------------------------------------------------------------
    def convert(self, batch: pa.Table | pa.RecordBatch | dict[str, Any], n: int | None = None) -> Converted:
        """The rows of a batch (an Arrow table, or column name -> cells) this path takes, as events and folds; the
        others' indices in `rest`."""
        cols = _columns(batch)
        if n is None:
            n = batch.num_rows if not isinstance(batch, dict) else len(next(iter(batch.values()), []))
        m = self.m
        c = m.created
        bad = np.zeros(n, bool)

        def text_col(name: Any) -> pa.Array:
            return self._texts(cols.get(name) if isinstance(name, str) else None, n)

        appeals = text_col(c["appeal"])
        bad |= _np(pc.is_null(appeals)) | (_np(pc.fill_null(pc.utf8_length(appeals), 0)) > ID_MAX_LEN - 3)
        bad |= _has_nul(appeals)
        if "lon" in c:
            for name in (c["lon"], c["lat"]):
                bad |= _np(pc.is_valid(text_col(name)))  # coordinates: placed by the per-row path
        created = self._times(cols.get(str(c["accepted_at"])), n)
        bad |= ~created.ok
        labels = {}
        for f in ("channel", "kind", "priority"):
            values, jsons, fails = self._label_column(cols, f, n)
            labels[f] = (values, jsons)
            bad |= fails
        category, jcategory = self._category_column(cols, n)
        bad |= np.array([v is _FAIL for v in category.tolist()], bool)
        texts = {}
        for f in ("address", "summary"):
            vals = text_col(c.get(f))
            bad |= (_np(pc.fill_null(pc.utf8_length(vals), 0)) > self.limit) | _has_nul(vals)
            texts[f] = vals
        due_col = c.get("due_at")
        due = self._times(cols.get(due_col) if isinstance(due_col, str) else None, n)
        bad |= due.fail
        comm_col = c.get("community")
        community, jcommunity = self._coded(
            text_col(comm_col), lambda v: self.rows.label("community", v, str(comm_col))
        )
        bad |= np.array([not _code_ok(v, self.limit) for v in community.tolist()], bool)
        stages = {(stage, i): self._stage(cols, stage, i, slot, n, bad) for stage, i, slot in self.slots}
        self._shape(stages, n, bad)
        good = np.flatnonzero(~bad)
        rest = np.flatnonzero(bad).tolist()
        g = pa.array(good)
        app = appeals.take(g)
        japp = _json_texts(app)
        jhead = pc.utf8_slice_codeunits(japp, 0, -1)  # the appeal id's JSON without its closing quote
        head = f'{{"v":{SCHEMA_VERSION},"id":'

        def opt(*parts: Any) -> pa.Array:
            return pc.binary_join_element_wise(*parts, "")

        def take(a: np.ndarray) -> pa.Array:
            return pa.array(a[good], pa.string())

        tag_c = TAGS["created"]
        payload = pc.binary_join_element_wise(
            head, jhead, f'#{tag_c}","type":"created","appeal":', japp, ',"at":"', created.text.take(g), '"',
            ',"channel":', take(labels["channel"][1]), ',"kind":', take(labels["kind"][1]),
            ',"priority":', take(labels["priority"][1]), ',"category":', take(jcategory),
            opt(',"address":', _json_texts(texts["address"].take(g))),
            opt(',"summary":', _json_texts(texts["summary"].take(g))),
            opt(',"due_at":"', due.text.take(g), '"'), ',"community":', take(jcommunity), "}",
            "", null_handling="skip",
        )  # fmt: skip
        k = len(good)
        rows_of = [good]
        ids = [pc.binary_join_element_wise(app, f"#{tag_c}", "")]
        kinds = [pa.repeat("created", k)]
        ats = [created.us[good]]
        payloads = [payload]
        tags = sorted({tag_c, *(st["tag"] for st in stages.values())})
        rank = {t: r for r, t in enumerate(tags)}
        nothing = np.full(k, None, object)
        ev = Events(np.arange(k), np.zeros(k, np.int8), np.full(k, rank[tag_c]), nothing, nothing,
                    np.zeros(k, np.int64), np.zeros(k, bool), nothing, nothing, nothing)  # fmt: skip
        pieces = [ev]
        units: list[pa.Array] = []
        for (stage, _), st in stages.items():
            at: Times = st["at"]
            here = at.ok[good]
            sel = good[here]
            s = pa.array(np.flatnonzero(here))
            tag = st["tag"]
            parts: list[Any] = [head, jhead.take(s), f'#{tag}","type":"{stage}","appeal":', japp.take(s), ',"at":"',
                                at.text.take(pa.array(sel)), '"']  # fmt: skip
            for f, values in st["fields"].items():
                if isinstance(values, Times):
                    parts.append(opt(',"due_at":"', values.text.take(pa.array(sel)), '"'))
                else:
                    parts.append(opt(f',"{f}":', pa.array(values[1][sel], pa.string())))
            parts.append(opt(',"unit":', pa.array(st["extra_json"][sel], pa.string())))
            parts.append("}")
            payloads.append(pc.binary_join_element_wise(*parts, "", null_handling="skip"))
            rows_of.append(sel)
            ids.append(pc.binary_join_element_wise(app.take(s), f"#{tag}", ""))
            kinds.append(pa.repeat(stage, len(sel)))
            ats.append(at.us[sel])
            data = st["data"]
            step_due: Times | None = data.get("due_at")
            none = np.full(len(sel), None, object)
            got = {name: data[name][sel] if name in data else none for name in _FOLDED}
            pieces.append(Events(np.flatnonzero(here), np.full(len(sel), _CODE[stage], np.int8),
                                 np.full(len(sel), rank[tag]), got["unit"], got["member"],
                                 step_due.us[sel] if step_due is not None else np.zeros(len(sel), np.int64),
                                 step_due.ok[sel] if step_due is not None else np.zeros(len(sel), bool),
                                 got["responded"], got["resolved"], got["satisfaction"]))  # fmt: skip
            if "unit" in data:
                units.append(pa.array(np.where(here, data["unit"][good], None), pa.string()))
        events = pa.table(
            {
                "row": pa.array(np.concatenate(rows_of), pa.int32()),
                "id": pa.concat_arrays(ids),
                "type": pa.concat_arrays(kinds),
                "at": _stamps(np.concatenate(ats), None),
                "payload": pa.concat_arrays(payloads),
            }
        )
        ev = Events(*(np.concatenate([getattr(p, f) for p in pieces]) for f in Events.__dataclass_fields__))
        ev_at = np.concatenate(ats)
        fold = self._head(good, app, created, labels, category, texts, community, due)
        fold, last_rank = _fold(fold, ev, ev_at, created.us[good])
        last_tag = pa.array(np.array(tags, object)[last_rank], pa.string())
        fold = fold.append_column("_last_id", pc.binary_join_element_wise(app, "#", last_tag, ""))
        return Converted(events, fold, units, rest)

    def _head(
        self,
        good: np.ndarray,
        app: pa.Array,
        created: Times,
        labels: dict[str, tuple[np.ndarray, np.ndarray]],
        category: np.ndarray,
        texts: dict[str, pa.Array],
        community: np.ndarray,
        due: Times,
    ) -> pa.Table:
        """What each taken row's `created` event puts in its draft (`dashboard.appeal._start`)."""
        g = pa.array(good)
        cat = category[good].tolist()
        return pa.table(
            {
                "row": pa.array(good, pa.int32()),
                "appeal": app,
                "created_at": _stamps(created.us[good], None),
                "channel": pa.array(labels["channel"][0][good], pa.string()),
                "kind": pa.array(labels["kind"][0][good], pa.string()),
                "category": pa.array(cat, pa.list_(pa.string())),
                "cat1": pa.array([p[0] for p in cat], pa.string()),
                "cat2": pa.array([p[1] if len(p) > 1 else None for p in cat], pa.string()),
                "cat3": pa.array([p[2] if len(p) > 2 else None for p in cat], pa.string()),
                "priority": pa.array(labels["priority"][0][good], pa.string()),
                "community": pa.array(community[good], pa.string()),
                "address": texts["address"].take(g),
                "summary": texts["summary"].take(g),
                "_created_due": _stamps(due.us[good], ~due.ok[good]),
            }
        )

    def _stage(
        self, cols: dict[str, Any], stage: str, i: int, slot: dict[str, str], n: int, bad: np.ndarray
    ) -> dict[str, Any]:
        """A slot's columns: `at`, each field's values (and JSON texts) as `RowReader._value` maps them, and the
        mapping's defaults for a field left empty."""
        at = self._times(cols.get(slot["at"]), n)
        bad |= at.fail
        fields: dict[str, Any] = {}
        for f, col in slot.items():
            if f == "at":
                continue
            if f == "due_at":
                t = self._times(cols.get(col), n)
                bad |= t.fail
                fields[f] = t
                continue
            values, jsons = self._coded(
                self._texts(cols.get(col), n), partial(self.rows._value, f, col=col, stage=stage)
            )
            closed = CONTRACT_VALUES.get(f)
            checked: dict[Any, bool] = {}
            for v in set(values.tolist()) - {None}:
                if f in ("responded", "resolved"):
                    checked[v] = type(v) is bool
                elif f in ("reason", "note"):
                    checked[v] = type(v) is str and len(v) <= self.limit and _NUL not in v
                else:
                    checked[v] = _code_ok(v, self.limit) and (closed is None or v in closed)
            if not all(checked.values()):
                bad |= np.array([v is not None and not checked[v] for v in values.tolist()], bool)
            fields[f] = (values, jsons)
        defaults = {f: self.m.defaults[f] for f in ("due_at", "unit") if f in self.m.defaults and f in STAGES[stage]}
        if "due_at" in defaults:  # a default due time: the per-row path checks it
            given: Times | None = fields.get("due_at")
            bad |= at.ok & (~given.ok if given is not None else True)
            del defaults["due_at"]
        return {"at": at, "fields": fields, "defaults": defaults, "tag": f"{TAGS[stage]}{i + 1}"}

    def _shape(self, stages: dict[tuple[str, int], dict[str, Any]], n: int, bad: np.ndarray) -> None:
        """Mark the rows this path does not take: a required field empty, a signing, return or resolution with no
        unit and none dispatched before, two dispatches at one instant (or whose texts sort the other way). Set each
        slot's `data` (its fields as the event's, the unit inherited) and `extra_json` (a unit set after the columns'
        fields: the mapping's default or the dispatch's)."""
        for (stage, _), st in stages.items():
            at, fields = st["at"], st["fields"]
            data: dict[str, Any] = {f: v[0] for f, v in fields.items() if f != "due_at"}
            if "due_at" in fields:
                data["due_at"] = fields["due_at"]  # a Times
            extra = np.full(n, None, object)
            default = st["defaults"].get("unit")
            if default is not None:
                unit = data.get("unit", np.full(n, None, object))
                empty = at.ok & _is_none(unit)
                extra[empty] = default
                data["unit"] = np.where(empty, default, unit)
            st["data"], st["extra"] = data, extra
            for f in SLOT_REQUIRED.get(stage, ()):
                vals = data.get(f)
                if vals is None:
                    bad |= at.ok
                elif isinstance(vals, Times):
                    bad |= at.ok & ~vals.ok
                else:
                    bad |= at.ok & _is_none(vals)
        dispatches = [st for (stage, _), st in stages.items() if stage == "dispatched"]
        # `RowReader` takes the latest of the dispatches sorted by their texts: by instant here, the same order
        # unless two tie or their offsets differ, which the per-row path does
        for x, y in combinations([d["at"] for d in dispatches], 2):
            text_before = _np(pc.fill_null(pc.less(x.text, y.text), False))
            bad |= x.ok & y.ok & ((x.us == y.us) | ((x.us < y.us) != text_before))
        for (stage, _), st in stages.items():
            if stage not in _INHERIT:
                continue
            at, data, extra = st["at"], st["data"], st["extra"]
            units = data["unit"] = data.get("unit", np.full(n, None, object)).copy()
            empty = at.ok & _is_none(units)
            found = np.zeros(n, bool)
            latest = np.zeros(n, np.int64)
            for d in dispatches:
                take = empty & d["at"].ok & (d["at"].us <= at.us) & (~found | (d["at"].us > latest))
                latest = np.where(take, d["at"].us, latest)
                units[take] = d["data"]["unit"][take]
                found |= take
            bad |= empty & ~found  # no unit to inherit: the per-row path names the column
            extra[empty & found] = units[empty & found]
        for st in stages.values():
            extra = st["extra"]
            st["extra_json"] = js = np.full(n, None, object)
            set_ = np.flatnonzero(~_is_none(extra))
            if len(set_):
                js[set_] = [orjson.dumps(u).decode() for u in extra[set_].tolist()]


@dataclass
class Events:
    """A batch's events as the fold reads them, one entry each: `k` the row's place among the rows taken, `type`
    its code (`_TYPES`), `rank` its id's among the batch's tags (ids of one appeal sort by their tags), and the
    fields the fold takes (object arrays, None where the event has none; `due_us` valid where `due_ok`)."""

    k: np.ndarray
    type: np.ndarray
    rank: np.ndarray
    unit: np.ndarray
    member: np.ndarray
    due_us: np.ndarray
    due_ok: np.ndarray
    responded: np.ndarray
    resolved: np.ndarray
    satisfaction: np.ndarray


def _fold(head: pa.Table, ev: Events, at: np.ndarray, created_us: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """Each row's draft as `start_draft` folds its events (`dashboard.appeal`): a key is what the last event, in
    (at, id) order, of the types that touch it (`TOUCHES`) left there; counts are counts per row. `head`: what the
    `created` events put there. Returns the draft's columns, `_last_at` last, and the rank of each row's last id."""
    k = head.num_rows
    order = np.lexsort((ev.rank, at, ev.k))

    def touching(key: str) -> np.ndarray:
        """The events of the types that may change `key` (`TOUCHES`, the fold's own statement of it)."""
        return np.isin(ev.type, [_CODE[t] for t, keys in TOUCHES.items() if key in keys])

    def last(mask: np.ndarray, first: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(rows, the position of each one's last, or first, event among those `mask` selects)."""
        pos = order[mask[order]]
        rows = ev.k[pos]
        edge = np.ones(len(pos), bool)
        if first:
            edge[1:] = rows[1:] != rows[:-1]
        else:
            edge[:-1] = rows[1:] != rows[:-1]
        return rows[edge], pos[edge]

    def stamps(r: np.ndarray, values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        us = np.zeros(k, np.int64)
        ok = np.zeros(k, bool)
        us[r] = values
        ok[r] = True if valid is None else valid
        return _stamps(us, ~ok)

    def picked(r: np.ndarray, values: Any, kind: pa.DataType) -> pa.Array:
        out = np.full(k, None, object)
        out[r] = values
        return pa.array(out, kind)

    def count(t: str) -> pa.Array:
        return pa.array(np.bincount(ev.k[ev.type == _CODE[t]], minlength=k).astype(np.int64))

    status = np.full(k, "created", object)
    r, p = last(touching("status"))
    status[r] = np.array(_TYPES, object)[ev.type[p]]
    r_s, p_s = last(touching("resolved_at"))
    done = ev.type[p_s] == _CODE["resolved"]
    r_z, p_z = last(touching("closed_at"))
    shut = ev.type[p_z] == _CODE["closed"]
    r_u, p_u = last(touching("unit"))
    r_m, p_m = last(touching("member"))
    r_d, p_d = last(touching("clock_start"))  # the dispatches
    r_f, p_f = last(touching("first_dispatched_at"), first=True)
    r_x, p_x = last(touching("_extended_due"))
    r_v, p_v = last(touching("reviewed"))
    r_l, p_l = last(np.ones(len(ev.k), bool))
    clock = created_us.copy()
    clock[r_d] = at[p_d]
    reviewed = np.zeros(k, bool)
    reviewed[r_v] = True
    last_rank = np.zeros(k, np.int64)
    last_rank[r_l] = ev.rank[p_l]
    columns = {
        "status": pa.array(status, pa.string()),
        "unit": picked(r_u, np.where(ev.type[p_u] == _CODE["returned"], None, ev.unit[p_u]), pa.string()),
        "member": picked(r_m, np.where(ev.type[p_m] == _CODE["accepted"], ev.member[p_m], None), pa.string()),
        "first_dispatched_at": stamps(r_f, at[p_f]),
        "dispatch_count": count("dispatched"),
        "return_count": count("returned"),
        "extension_count": count("extended"),
        "reopen_count": count("reopened"),
        "clock_start": _stamps(clock, None),
        "resolved_at": stamps(r_s[done], at[p_s[done]]),
        "closed_at": stamps(r_z[shut], at[p_z[shut]]),
        "reviewed": pa.array(reviewed),
        "reviewed_at": stamps(r_v, at[p_v]),
        "responded": picked(r_v, ev.responded[p_v], pa.bool_()),
        "resolved_flag": picked(r_v, ev.resolved[p_v], pa.bool_()),
        "satisfaction": picked(r_v, ev.satisfaction[p_v], pa.string()),
        "_extended_due": stamps(r_x, ev.due_us[p_x], ev.due_ok[p_x]),
        "_dispatched_due": stamps(r_d, ev.due_us[p_d], ev.due_ok[p_d]),
    }
    created_due = head.column("_created_due")
    table = head.drop_columns(["_created_due"])
    for name, column in columns.items():
        table = table.append_column(name, column)
    table = table.append_column("_created_due", created_due)
    return table.append_column("_last_at", stamps(r_l, at[p_l])), last_rank


def _is_none(values: np.ndarray) -> np.ndarray:
    """Where an object array holds None (compared in C, not by a loop)."""
    out: np.ndarray = values == None  # noqa: E711  (elementwise)
    return out


def _columns(batch: pa.Table | pa.RecordBatch | dict[str, Any]) -> dict[str, Any]:
    """Column name -> an Arrow array (or a list of Python cells, for a column of mixed cells)."""
    if isinstance(batch, dict):
        out = {}
        for name, cells in batch.items():
            if isinstance(cells, pa.ChunkedArray):
                out[name] = _plain(cells.combine_chunks())
            elif isinstance(cells, pa.Array):
                out[name] = _plain(cells)
            else:
                try:
                    out[name] = pa.array(cells)
                except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                    out[name] = cells
        return out
    if isinstance(batch, pa.Table):
        return {name: _plain(batch.column(name).combine_chunks()) for name in batch.column_names}
    return {name: _plain(batch.column(name)) for name in batch.schema.names}


def _plain(cells: pa.Array) -> pa.Array:
    """A dictionary-encoded column (as Parquet may give one) as its values."""
    return cells.cast(cells.type.value_type) if pa.types.is_dictionary(cells.type) else cells


def _np(a: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False))


def _has_nul(texts: pa.Array) -> np.ndarray:
    return _np(pc.fill_null(pc.match_substring(texts, _NUL), False))


def _json_texts(texts: pa.Array) -> pa.Array:
    """Each text's JSON string as `orjson.dumps` writes it (null stays null)."""
    plain = pc.fill_null(pc.invert(pc.match_substring_regex(texts, _NEEDS_ESCAPE)), True)
    quoted = pc.binary_join_element_wise('"', texts, '"', "")
    if pc.all(plain).as_py():
        return quoted
    odd = pc.invert(plain)
    fixed = [orjson.dumps(v).decode() for v in texts.filter(odd).to_pylist()]
    return pc.replace_with_mask(quoted, odd, pa.array(fixed, pa.string()))


def _stamps(us: np.ndarray, missing: np.ndarray | None) -> pa.Array:
    """Microseconds since the epoch as aware UTC timestamps (null where `missing`)."""
    return pa.array(us.astype(np.int64), pa.int64(), mask=missing).cast(pa.timestamp("us", tz="UTC"))


def _assemble(pieces: list[tuple[np.ndarray, pa.Array]], n: int) -> pa.Array:
    """One string array of n from pieces (row indices, their texts); null where no piece has the row."""
    if not pieces:
        return pa.nulls(n, pa.string())
    where = np.concatenate([p[0] for p in pieces])
    texts = pa.concat_arrays([p[1].cast(pa.string()) for p in pieces])
    order = np.full(n, -1, np.int64)
    order[where] = np.arange(len(where))
    return texts.take(pa.array(order, mask=order < 0))


def _local(t: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ISO texts' wall time as seconds since the epoch (read as UTC), whether Arrow read each exactly (it writes it
    back the same), and the fraction in microseconds."""
    head = pc.replace_substring(pc.utf8_slice_codeunits(t, 0, 19), " ", "T")
    parsed = pc.strptime(head, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
    valid = _np(pc.fill_null(pc.equal(_render(parsed, "%Y-%m-%dT%H:%M:%S"), head), False))
    sec = _np(pc.fill_null(parsed.cast(pa.int64()), 0))
    has_frac = pc.equal(pc.utf8_slice_codeunits(t, 19, 20), ".")
    frac = _np(pc.cast(pc.if_else(has_frac, pc.utf8_slice_codeunits(t, 20, 26), "0"), pa.int64()))
    return sec, valid.copy(), frac


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


# -- the fold's columns as the store keeps them --------------------------------------------------------------------
def light_columns(fold: pa.Table, settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`dashboard.appeal.light_times` of each folded row (microseconds UTC): yellow, red, due. The products are
    rounded as `timedelta * float` rounds them; one too close to a half to tell in floating point is done by it."""
    clock = _us(fold.column("clock_start"))
    due = np.zeros(len(clock), np.int64)
    have = np.zeros(len(clock), bool)
    for key in ("_extended_due", "_dispatched_due", "_created_due"):  # draft_due's order
        col = fold.column(key)
        valid = _np(col.is_valid()) & ~have
        due = np.where(valid, _us(col), due)
        have |= valid
    prio = fold.column("priority").combine_chunks().dictionary_encode()
    limits = np.array([settings.limit(p) // timedelta(microseconds=1) for p in prio.dictionary.to_pylist()], np.int64)
    due = np.where(have, due, clock + limits[_np(prio.indices)])
    span = due - clock

    def share(f: float) -> np.ndarray:
        x = span * f
        out: np.ndarray = np.rint(x).astype(np.int64)
        close = np.abs(np.abs(x - np.floor(x)) - 0.5) < 1e-3
        for i in np.flatnonzero(close).tolist():
            out[i] = timedelta(microseconds=int(span[i])) * f // timedelta(microseconds=1)
        return out

    red = clock + share(settings.red_at)
    yellow = np.minimum(clock + share(settings.yellow_at), red)
    return yellow, red, due


def fold_json(fold: pa.Table) -> pa.Array:
    """`dashboard.appeal.draft_to_json` of each folded row: the `KEPT` keys as a JSON array, as orjson writes it."""
    parts: list[Any] = []
    for key in KEPT:
        if key == "_last":
            last_id = _json_texts(fold.column("_last_id").combine_chunks())
            parts.append(pc.binary_join_element_wise('["', _iso(fold.column("_last_at")), '",', last_id, "]", ""))
            continue
        col = fold.column(key).combine_chunks()
        if pa.types.is_timestamp(col.type):
            text = pc.binary_join_element_wise('"', _iso(col), '"', "")
        elif pa.types.is_string(col.type):
            text = _json_texts(col)
        elif pa.types.is_boolean(col.type):
            text = pc.if_else(col, "true", "false")
        else:
            text = col.cast(pa.string())
        parts.append(pc.fill_null(text, "null"))
    return pc.binary_join_element_wise("[", pc.binary_join_element_wise(*parts, ","), "]", "")


def _us(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Microseconds since the epoch of a timestamp column (0 where null)."""
    out: np.ndarray = _np(pc.fill_null(col.cast(pa.int64()), 0)).astype(np.int64)
    return out


def _iso(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Aware UTC times as orjson writes them: seconds, the fraction only if not zero, `+00:00`."""
    us = _us(col)
    missing = ~_np(col.is_valid())
    sec = pa.array(us // _US, pa.int64(), mask=missing).cast(pa.timestamp("s"))
    frac = us % _US
    tail = pc.if_else(
        pa.array(frac != 0),
        pc.binary_join_element_wise(".", pc.utf8_lpad(pa.array(frac).cast(pa.string()), 6, "0"), "+00:00", ""),
        "+00:00",
    )
    return pc.binary_join_element_wise(_render(sec, "%Y-%m-%dT%H:%M:%S"), tail, "")


#: Where each directive of a format is in Arrow's text of a timestamp in seconds (`YYYY-MM-DD HH:MM:SS`).
_PLACES = {"Y": (0, 4), "m": (5, 7), "d": (8, 10), "H": (11, 13), "M": (14, 16), "S": (17, 19)}


def _render(stamps: pa.Array, fmt: str) -> pa.Array:
    """`strftime` of timestamps in seconds by a format of %Y %m %d %H %M %S %% (`_FORMAT_OK`), from Arrow's own
    text of each (Arrow's strftime is a hundred times slower)."""
    text = stamps.cast(pa.string())
    parts: list[Any] = []
    for literal, directive in re.findall(r"([^%]*)(?:%(.))?", fmt):
        if literal:
            parts.append(literal)
        if directive == "%":
            parts.append("%")
        elif directive:
            parts.append(pc.utf8_slice_codeunits(text, *_PLACES[directive]))
    return pc.binary_join_element_wise(*parts, "")
