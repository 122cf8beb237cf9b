"""The import mapping and one row -> contract events (pure)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest

from dashboard.history_mapping import MappingError, mapping_from_dict
from dashboard.history_rows import RowError, RowReader, event_id
from tests.import_support import MAPPINGS

BASE = {
    "columns": {"appeal": "id", "accepted_at": "t", "category": "cat", "community": "c"},
    "defaults": {"channel": "phone", "kind": "complaint", "priority": "normal"},
    "source": {"zone": "+08:00", "time_formats": ["%Y/%m/%d %H:%M"]},
    "dispatched": [{"at": "d1", "unit": "u1"}, {"at": "d2", "unit": "u2"}],
    "resolved": [{"at": "done"}],
    "reviewed": [{"at": "rv", "responded": "r1", "resolved": "r2", "satisfaction": "sat"}],
}
ROW = {"id": "A1", "t": "2026/11/20 08:00", "cat": "城市管理", "c": "110101001001", "d1": "2026/11/20 09:00",
       "u1": "110101001", "d2": "2026/11/20 10:00", "u2": "D001", "done": "2026/11/21 10:00", "rv": "2026/11/22 10:00",
       "r1": "是", "r2": "否", "sat": "基本满意"}  # fmt: skip


def reader(**changes: object) -> RowReader:
    doc = {**BASE, **changes}
    return RowReader(mapping_from_dict(doc))


def test_rows001_events_and_ids() -> None:
    out = reader().events(ROW)
    kinds = [(e.type, e.id) for e, _ in out.events]
    assert kinds == [("created", "A1#c"), ("dispatched", "A1#d1"), ("dispatched", "A1#d2"), ("resolved", "A1#s1"),
                     ("reviewed", "A1#v1")]  # fmt: skip
    by = {e.type: e for e, _ in out.events}
    assert by["created"].at == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert by["resolved"].data["unit"] == "D001"  # the unit last dispatched to before it
    assert by["reviewed"].data == {"responded": True, "resolved": False, "satisfaction": "basically_satisfied"}
    assert reader().events(ROW) == out  # the same row, the same events and ids


def test_rows002_row_errors_name_the_column() -> None:
    cases: list[tuple[dict[str, str], dict[str, Any], str, str]] = [
        ({"t": "2026/11/20 08:00"}, {"source": {"time_formats": ["%Y/%m/%d %H:%M"]}}, "t", "time without a zone"),
        ({"cat": ""}, {}, "cat", "category missing"),
        ({"sat": "还行"}, {}, "sat", "unknown satisfaction label"),
        ({"r1": "maybe"}, {}, "r1", "'maybe' is not a yes/no label"),
        ({"d1": "soon"}, {}, "d1", "time 'soon' matches no format"),
        ({"c": ""}, {}, "c", "no place"),
        ({"u1": ""}, {}, "u1", "dispatched: unit missing"),
    ]
    for cells, mapping, column, reason in cases:
        with pytest.raises(RowError) as err:
            reader(**mapping).events({**ROW, **cells})
        assert (err.value.column, err.value.reason[: len(reason)]) == (column, reason)


def test_rows003_mapping_errors_name_the_key() -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"columns": {"appeal": "id", "accepted_at": "t", "community": "c"}}, "columns.category: required"),
        ({"colums": {}}, "unknown section(s): colums"),
        ({"resolved": [{"unit": "u"}]}, "resolved[0].at: required"),
        ({"source": {"zone": "Mars/Olympus"}}, "source.zone: unknown time zone"),
        ({"values": {"boolean": {"是": "yes"}}}, "values.boolean.是: must be true or false"),
        ({"reviewed": [{"at": "rv"}]}, "reviewed[0].responded: required"),
    ]
    for change, message in bad:
        with pytest.raises(MappingError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            mapping_from_dict({**BASE, **change})


def test_rows004_example_mappings_read_and_long_ids_stay_in_bounds() -> None:
    for path in MAPPINGS.values():
        m = mapping_from_dict(tomllib.loads(path.read_text(encoding="utf-8")))
        assert m.columns and "dispatched" in m.slots
    long = "X" * 64
    assert len(event_id(long, "d12")) <= 64 and event_id(long, "d12") == event_id(long, "d12")
    assert event_id(long, "d1") != event_id(long, "d2")
