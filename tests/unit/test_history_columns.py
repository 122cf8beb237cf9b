"""The column-wise conversion gives, for every row it takes, exactly the events and the fold the per-row path gives
(dashboard.history_rows + dashboard.appeal.start_draft), and leaves every other row to that path."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from dashboard.appeal import draft_to_json, start_draft
from dashboard.history_columns import ColumnReader
from dashboard.history_rows import RowError, RowReader
from dashboard.settings import Settings
from data_access.history_import.cli import read_mapping
from data_access.intake.event_log import Place
from data_access.projection.rows import appeal_row, appeal_table
from tests.import_support import _LABELS, BEIJING, LAYOUTS, MAPPINGS

T0 = datetime(2026, 10, 1, tzinfo=UTC)
SETTINGS = Settings(yellow_at=0.37, red_at=0.91)  # shares whose products round both ways


def _time(rng: random.Random, t: datetime, layout: str) -> Any:
    """A time as an export writes it, now and then in another form (a datetime cell, a bad text, no zone)."""
    r = rng.random()
    if r < 0.01:
        return "not a time"
    if r < 0.03:
        return t.replace(tzinfo=None)  # a datetime cell (cn: read in its zone; en: no zone, refused)
    if r < 0.05:
        return t  # an aware datetime cell
    if layout == "cn":
        return t.astimezone(BEIJING).strftime("%Y/%m/%d %H:%M")
    return t.isoformat().replace("+00:00", "Z") if rng.random() < 0.5 else t.astimezone().isoformat()


def pick(rng: random.Random, good: list[Any], bad: list[Any], p: float = 0.02) -> Any:
    """A good value, or now and then a bad one."""
    return rng.choice(bad if rng.random() < p else good)


def _rows(layout: str, n: int, seed: int) -> list[dict[str, Any]]:
    """Random rows of every shape: usual lifecycles, ties, disorder, second slots, returns, coordinates, unknown
    labels, empty cells, long texts."""
    rng = random.Random(seed)
    cols = LAYOUTS[layout]
    labels = _LABELS[layout]
    rows = []
    for i in range(n):
        row: dict[str, Any] = dict.fromkeys(cols.values())
        if layout == "cn":
            row.update({"一级分类": "城市管理", "二级分类": rng.choice(["市容", "市容", None, ""]), "三级分类": None})
        else:
            row["category_path"] = pick(rng, ["a/b/c", "a/b"], ["a//c", "", "x/y/z/w"])

        def put(stage: str, k: int, f: str, v: Any, row: dict[str, Any] = row) -> None:
            if (stage, k, f) in cols:
                row[cols[(stage, k, f)]] = v

        appeal = pick(rng, [f"A{i}"], ["", "Z" * 62, f"A{i % 7}"])
        put("created", 1, "appeal", appeal)
        t = T0 + timedelta(minutes=rng.randrange(0, 50_000))
        put("created", 1, "at", _time(rng, t, layout))
        put("created", 1, "channel", pick(rng, [*labels["channel"].values()], ["??"]))
        put("created", 1, "kind", pick(rng, [*labels["kind"].values(), "praise"], ["nope"]))
        put("created", 1, "priority", pick(rng, [*labels["priority"].values()], [None]))
        put("created", 1, "community", pick(rng, ["110101001001", "110101001002", 110101001001.0], [None]))
        if rng.random() < 0.1:
            put("created", 1, "lon", "116.40")
            put("created", 1, "lat", "39.90")
        put("created", 1, "summary", pick(rng, ["居民反映", "  ", None], ["x" * 5000, "a\x00b"]))
        put("created", 1, "address", rng.choice(["某路1号", None]))
        for stage, k in (
            ("dispatched", 1), ("accepted", 1), ("extended", 1), ("resolved", 1), ("reviewed", 1), ("closed", 1),
            ("dispatched", 2), ("returned", 1), ("reopened", 1),
        ):  # fmt: skip
            rare = (stage, k) in (("dispatched", 2), ("returned", 1), ("reopened", 1))
            if rng.random() < (0.05 if rare else 0.6):
                t = t + timedelta(minutes=rng.choice([0, 1, 30, 300, -20]) if rng.random() < 0.2 else 45)
                put(stage, k, "at", _time(rng, t, layout))
                put(stage, k, "unit", rng.choice(["110101001", "110101002", None]))
                put(stage, k, "member", rng.choice(["m1", None]))
                put(stage, k, "due_at", _time(rng, t + timedelta(days=3), layout))
                put(stage, k, "reason", rng.choice(["因为", None]))
                put(stage, k, "note", rng.choice(["已办", None]))
                put(stage, k, "responded", pick(rng, [*labels["bool"].values()], ["maybe"]))
                put(stage, k, "resolved", rng.choice([*labels["bool"].values(), None]))
                put(stage, k, "satisfaction", pick(rng, [*labels["satisfaction"].values()], ["??"]))
        rows.append(row)
    return rows


def _check(layout: str, n: int, seed: int, arrow: bool = False) -> tuple[int, int]:
    """`arrow`: every cell as text and the batch an Arrow table (as a CSV or a Parquet export of strings reads),
    so that times and texts go through Arrow's kernels; otherwise cells of mixed types (as XLSX gives them)."""
    reader = RowReader(read_mapping(MAPPINGS[layout]), 4000)
    rows = _rows(layout, n, seed)
    columns: Any = {name: [r.get(name) for r in rows] for name in rows[0]}
    if arrow:
        rows = [{k: None if v is None else str(v) for k, v in r.items()} for r in rows]
        cols = {name: pa.array([r.get(name) for r in rows], pa.string()) for name in rows[0]}
        if layout == "cn":  # as a Parquet file may give them
            cols = {name: c.dictionary_encode() for name, c in cols.items()}
        columns = pa.table(cols)
    conv = ColumnReader(reader).convert(columns, n)
    index = conv.fold.column("row").to_pylist()
    assert sorted(index + conv.rest) == list(range(n))
    taken = conv.fold.to_pydict()  # every lifecycle shape goes column-wise, not only the usual one
    assert max(taken["return_count"]) and max(taken["reopen_count"]) and max(taken["dispatch_count"]) > 1
    events = conv.event_lists()
    drafts = conv.drafts()
    units = list(zip(*(u.to_pylist() for u in conv.units))) if conv.units else [()] * len(index)
    for k, i in enumerate(index):
        ref = reader.events(rows[i])  # the per-row path takes every row the column path takes
        assert [(e.id, e.type, e.at, raw) for e, raw in ref.events] == events[i], rows[i]
        draft = drafts[k]
        assert start_draft(e for e, _ in ref.events) == draft, rows[i]
        assert draft["community"] == ref.events[0][0].data["community"]
        assert set(units[k]) - {None} == {e.data["unit"] for e, _ in ref.events if e.data.get("unit")}
    place = {"grid": pa.nulls(len(index), pa.string()), "community": conv.fold.column("community"),
             "street": pa.array(["s"] * len(index)), "district": pa.array(["d"] * len(index))}  # fmt: skip
    table = appeal_table(conv.fold, place, SETTINGS).to_pylist()
    for k, i in enumerate(index):
        want = appeal_row(drafts[k], Place(None, drafts[k]["community"], "s", "d"), SETTINGS)
        assert table[k] == want, rows[i]
        assert draft_to_json(drafts[k]) == table[k]["fold_state"]
    refused = 0
    for i in conv.rest:
        try:
            reader.events(rows[i])
        except RowError:
            refused += 1
    return len(index), refused


def test_columns001_same_events_and_fold_as_row_by_row() -> None:
    for layout, seed, arrow in (("en", 1, False), ("cn", 2, False), ("en", 3, True), ("cn", 4, True)):
        taken, refused = _check(layout, 3000, seed, arrow)
        assert taken > 300, (layout, taken)  # the usual rows go column-wise
        assert 3000 - taken > refused > 0, (layout, refused)  # some left over are fine, some are refused
