"""History import against real SQLite and PostgreSQL (and real Redis for the live side): an imported export gives
the rows the same history gives when it arrives live, in every file format and by either mapping; re-imports,
kills, live events during and after an import change nothing they should not."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from dashboard.contract import stored_event
from data_access.history_import.cli import read_mapping
from data_access.history_import.readers import ExportError
from data_access.history_import.run import Importer, Rejects, Summary, import_files
from data_access.intake.consumer import IngestWorker
from data_access.projection.projector import Projector, all_folded
from data_access.store import deferred_indexes
from data_access.store.engine import migrate
from data_access.store.models import AppealEvent
from tests.conftest import CACHE_DIR, REDIS_URL, ROOT, make_store
from tests.histories import histories
from tests.import_support import MAPPINGS, export, header, write_csv
from tests.ingest_support import appeals_table, counts, drain, log_all, push


def run_import(store, settings, gazetteer, files: list[Path], layout: str, tmp_path: Path, batch: int = 50) -> Summary:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    mapping = read_mapping(MAPPINGS[layout])
    return import_files(files, mapping, sessions, settings, gazetteer, tmp_path / "rejects.csv", batch=batch)


def live_rows(kind: str, tmp_path: Path, city, settings, rds, gazetteer, texts: list[str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The appeal rows a store holds after these events came through Redis and the ingest worker."""
    with make_store(kind, tmp_path, city) as live:
        engine, sessions, _ = live
        push(rds, settings.stream("events"), texts)
        w = IngestWorker(settings, rds, sessions, engine, gazetteer, consumer="live")
        w.ensure_groups()
        drain(w)
        assert rds.xlen(settings.stream("events:dead")) == 0
        return appeals_table(live)


def import_killed_halfway(store, f: Path, events: int, *options: str) -> int:  # type: ignore[no-untyped-def]
    """Run `python app.py import` on `f` in a process of its own and kill it once a quarter of its `events` are
    logged; return how many were."""
    env = dict(os.environ, DATABASE_URL=store[2], VAR_DIR=str(CACHE_DIR), REDIS_URL=REDIS_URL, DEMO="false")
    cmd = [sys.executable, "app.py", "import", str(f), "--mapping", str(MAPPINGS["cn"]), "--batch", "50", *options]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and counts(store)[0] < events // 4:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    logged = int(counts(store)[0])
    assert 0 < logged < events, "the kill should land halfway (the import had finished or not started)"
    return logged


def events_by_id(store) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    _, sessions, _ = store
    with sessions() as s:
        return {i: stored_event(p) for i, p in s.execute(select(AppealEvent.id, AppealEvent.payload))}


def kind_of(store) -> str:  # type: ignore[no-untyped-def]
    return "sqlite" if store[2].startswith("sqlite") else "postgresql"


def test_import001_same_rows_and_timeline_as_live(store, settings, rds, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """Every lifecycle shape, imported from a CSV, folds into the rows (and logs the events) the same history
    gives when it arrives live through Redis."""
    hist = histories(city, 100, seed=11)
    rows, live = export(hist, "cn")
    summary = run_import(store, settings, gazetteer, [write_csv(tmp_path / "a.csv", rows, "cn")], "cn", tmp_path)
    assert (summary.rows, summary.accepted, summary.rejected, summary.events) == (100, 100, 0, len(live))
    imported = appeals_table(store)
    with store[1]() as s:
        assert all_folded(s)
    assert imported == live_rows(kind_of(store), tmp_path, city, settings, rds, gazetteer, live)
    assert events_by_id(store) == {e.id: e for e in map(stored_event, live)}  # the appeal page's timeline


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_import002_other_layout_and_formats(fmt, settings, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """The second mapping (English columns, offsets in the times, one category column) read from XLSX or Parquet
    gives the same rows as the first from CSV."""
    hist = histories(city, 60, seed=12)
    cn_rows, _ = export(hist, "cn")
    en_rows, _ = export(hist, "en")
    path = tmp_path / f"b.{fmt}"
    cols = header("en")
    if fmt == "xlsx":
        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(cols)
        for r in en_rows:
            ws.append([r[c] or None for c in cols])
        wb.save(path)
    else:
        table = pa.table({c: [r[c] or None for r in en_rows] for c in cols})
        pq.write_table(table, path, row_group_size=17)
    with make_store("sqlite", tmp_path, city) as a, make_store("sqlite", tmp_path, city) as b:
        run_import(a, settings, gazetteer, [write_csv(tmp_path / "a.csv", cn_rows, "cn")], "cn", tmp_path)
        summary = run_import(b, settings, gazetteer, [path], "en", tmp_path, batch=25)
        assert (summary.accepted, summary.rejected) == (60, 0)
        assert appeals_table(b) == appeals_table(a)


def test_import003_reimport_changes_nothing(store, settings, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    rows, _ = export(histories(city, 80, seed=13), "cn")
    f = write_csv(tmp_path / "a.csv", rows, "cn")
    first = run_import(store, settings, gazetteer, [f], "cn", tmp_path)
    before = (appeals_table(store), counts(store))
    again = run_import(store, settings, gazetteer, [f], "cn", tmp_path, batch=33)
    assert first.events > 0 and again.events == 0 and again.accepted == 80
    assert (appeals_table(store), counts(store)) == before


def test_import004_killed_then_run_again(store, settings, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """`python app.py import` killed (SIGKILL) after some batches, then run again: every event and appeal once,
    rows as a clean import gives them."""
    rows, live = export(histories(city, 1200, seed=14), "cn")
    f = write_csv(tmp_path / "a.csv", rows, "cn")
    logged = import_killed_halfway(store, f, len(live))
    again = run_import(store, settings, gazetteer, [f], "cn", tmp_path, batch=300)
    assert (again.accepted, again.events) == (1200, len(live) - logged)
    assert counts(store) == (len(live), 1200)
    with make_store(kind_of(store), tmp_path, city) as clean:
        run_import(clean, settings, gazetteer, [f], "cn", tmp_path, batch=1000)
        assert appeals_table(store) == appeals_table(clean)


def test_import012_initial_load_builds_its_indexes_at_the_end(store, settings, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """`import --initial` killed halfway leaves the secondary indexes out (the unique keys stay); a start's
    migration builds them; run again with --initial: every event and appeal once, the rows of a clean import,
    every index there."""
    engine = store[0]
    rows, live = export(histories(city, 1200, seed=15), "cn")
    f = write_csv(tmp_path / "a.csv", rows, "cn")
    logged = import_killed_halfway(store, f, len(live), "--initial")
    assert deferred_indexes.missing(engine) == sorted(str(i.name) for i in deferred_indexes.deferred())
    migrate(engine)
    assert deferred_indexes.missing(engine) == []
    with deferred_indexes.left_out(engine):
        assert deferred_indexes.missing(engine) != []
        again = run_import(store, settings, gazetteer, [f], "cn", tmp_path, batch=300)
    assert deferred_indexes.missing(engine) == []
    assert (again.accepted, again.events) == (1200, len(live) - logged)
    assert counts(store) == (len(live), 1200)
    with make_store(kind_of(store), tmp_path, city) as clean:
        run_import(clean, settings, gazetteer, [f], "cn", tmp_path, batch=1000)
        assert appeals_table(store) == appeals_table(clean)


def test_import005_rejects_file(settings, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """One bad row of each kind: each is listed with file, row, column and reason; the good rows go in."""
    rows, _ = export(histories(city, 60, seed=15), "en")
    good = [r for r in rows if r["callback_time"] and r["community_code"] and not r["dispatch_2_unit"]][:10]
    assert len(good) == 10
    bad = [dict(r) for r in good[:9]]
    bad[0]["community_code"] = "999999999999"
    bad[1]["opened"] = "2026-11-20 08:00:00"  # no offset, and this mapping gives no zone
    bad[2]["category_path"] = ""
    bad[3]["urgency"] = "Z"
    bad[4]["dispatch_1_unit"] = "NOPE-UNIT"
    bad[5]["callback_rating"] = ""
    bad[6]["community_code"] = bad[6]["x"] = bad[6]["y"] = ""
    bad[7]["signed_time"] = "yesterday"
    bad[8]["order_id"] = ""
    path = write_csv(tmp_path / "mixed.csv", good + bad, "en")
    with make_store("sqlite", tmp_path, city) as st:
        summary = run_import(st, settings, gazetteer, [path], "en", tmp_path)
        assert (summary.rows, summary.accepted, summary.rejected) == (len(good) + 9, len(good), 9)
        assert counts(st)[1] == len(good)
    with (tmp_path / "rejects.csv").open(encoding="utf-8-sig", newline="") as fh:
        got = list(csv.reader(fh))
    assert got[0] == ["file", "row", "column", "reason"]
    first = len(good) + 2  # row 1 is the header
    expected = [
        ("community_code", "unknown community '999999999999'"),
        ("opened", "time without a zone"),
        ("category_path", "category missing"),
        ("urgency", "unknown priority label 'Z'"),
        ("dispatch_1_unit", "unknown unit 'NOPE-UNIT'"),
        ("callback_rating", "reviewed: satisfaction missing"),
        ("community_code", "no place"),
        ("signed_time", "time 'yesterday' matches no format"),
        ("order_id", "appeal id missing"),
    ]
    assert [(r[0], int(r[1]), r[2]) for r in got[1:]] == [
        ("mixed.csv", first + i, c) for i, (c, _) in enumerate(expected)
    ]
    for line, (_, reason) in zip(got[1:], expected):
        assert line[3].startswith(reason), line


def test_import006_columns_checked_before_writing(store, settings, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """A file without a column the mapping names stops the import before anything is written, naming both."""
    rows, _ = export(histories(city, 5, seed=16), "cn")
    good = write_csv(tmp_path / "good.csv", rows, "cn")
    lacking = tmp_path / "lacking.csv"
    with lacking.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[c for c in header("cn") if c != "满意度"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(ExportError, match=r"lacking\.csv.*满意度"):
        run_import(store, settings, gazetteer, [good, lacking], "cn", tmp_path)
    assert counts(store) == (0, 0)


def test_import007_live_events_before_during_and_after(store, settings, rds, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """Live events logged but not yet folded when the import runs (their partitions are left to the projectors),
    and a live event for an imported appeal afterwards: the rows are those of the whole history arriving live."""
    hist = histories(city, 100, seed=17)
    rows, live = export(hist, "cn")
    other = [t for h in histories(city, 40, seed=18).values() for t in h]
    engine, sessions, _ = store
    w = IngestWorker(settings, rds, sessions, engine, gazetteer, consumer="w")
    w.ensure_groups()
    push(rds, settings.stream("events"), other)
    log_all(w)  # logged, not folded: the projectors are behind
    summary = run_import(store, settings, gazetteer, [write_csv(tmp_path / "a.csv", rows, "cn")], "cn", tmp_path)
    assert summary.deferred > 0 or settings.projectors == 1
    appeal = next(a for a, h in hist.items() if json.loads(h[-1])["type"] == "closed")
    last = json.loads(hist[appeal][-1])
    later = {"v": 1, "id": f"{appeal}-live-1", "type": "reopened", "appeal": appeal, "reason": "复诉"}
    later["at"] = last["at"].replace(":00+08:00", ":30+08:00")
    push(rds, settings.stream("events"), [json.dumps(later, ensure_ascii=False)])
    drain(w)
    with sessions() as s:
        assert all_folded(s)
    got = appeals_table(store)
    assert got[appeal]["is_open"]
    everything = other + live + [json.dumps(later, ensure_ascii=False)]
    s2 = settings.model_copy(update={"hotline_prefix": settings.hotline_prefix + "-b"})
    try:
        assert got == live_rows(kind_of(store), tmp_path, city, s2, rds, gazetteer, everything)
    finally:
        rds.delete(s2.stream("events"), s2.stream("events:dead"))
    Projector(settings, sessions).drain()


def test_import008_log_counts(store, settings, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """Each event is logged once with its place; the summary counts what was written."""
    rows, live = export(histories(city, 30, seed=19), "cn")
    summary = run_import(store, settings, gazetteer, [write_csv(tmp_path / "a.csv", rows, "cn")], "cn", tmp_path)
    with store[1]() as s:
        n = s.scalar(select(func.count()).select_from(AppealEvent).where(AppealEvent.type == "created"))
        placed = s.scalar(select(func.count()).select_from(AppealEvent).where(AppealEvent.community.is_not(None)))
    assert n == placed == 30 and summary.events == len(live) and summary.appeals == 30


def test_import009_demo_history_through_the_import_path(store, settings, rds, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """The demo's first-start history goes through the import's path: every appeal of the window logged and folded
    (none rejected), progress shown on the banner while it loads and cleared after; nothing of it goes through the
    stream. The live feed then goes on: the later steps of the appeals still open come through Redis, and each such
    appeal's row is the row of its whole lifecycle imported at once."""
    import threading
    from datetime import UTC

    from data_access.demo.feed import DemoFeed
    from data_access.history_import.demo import load_demo_history, store_is_empty
    from data_access.store.history_load import history_load, set_history_load
    from layouts.tick import banner

    _, sessions, _ = store
    assert store_is_empty(sessions)
    clock = [1_764_399_960.0]  # a whole minute: the history ends there
    # (a speed-up that spaces each member's heartbeats by days: the test's day passes without millions of them)
    feed = DemoFeed(city, rds, settings, seed=3, per_day=4000, speedup=1e4, clock=lambda: clock[0])
    n = load_demo_history(feed, 0.25, sessions, settings, gazetteer, rejects=Path(os.devnull))
    logged, appeals = counts(store)
    history = feed.history()
    end = int(clock[0]) // 60 * 60
    window = history.days_back(end - 6 * 3600, end)
    assert appeals == sum(history.count(d, lo, hi) for d, lo, hi in window) > 500
    assert n == logged > 0 and rds.xlen(settings.stream("events")) == 0
    with sessions() as s:
        assert all_folded(s) and history_load(s) is None
    with sessions() as s, s.begin():
        set_history_load(s, 0.425)
    with sessions() as s:
        status = {"store": True, "redis": True, "stale": False, "history_load": history_load(s), "data_time": None}
    assert banner(status, UTC, "zh") == (["正在载入历史数据 … 42%"], "wall-banner on warn")
    assert banner({**status, "history_load": None}, UTC, "en") == ([], "wall-banner")
    with sessions() as s, s.begin():
        set_history_load(s, None)

    # A day later the feed has written the open appeals' later steps: the ingest logs and folds them.
    clock[0] += 86400
    stop = threading.Event()
    t = threading.Thread(target=feed.run, args=(stop,))
    t.start()
    deadline = time.monotonic() + 120
    while rds.xlen(settings.stream("events")) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    t.join()
    w = IngestWorker(settings, rds, sessions, store[0], gazetteer, consumer="w")
    w.ensure_groups()
    drain(w)
    assert rds.xlen(settings.stream("events:dead")) == 0
    continued = {json.loads(f[b"event"])["appeal"] for _, f in rds.xrange(settings.stream("events"))}
    rows = appeals_table(store)
    went_on = continued & {a for a in rows if rows[a]["created_at"].timestamp() < end}
    assert len(went_on) > 500  # most of an afternoon's appeals are still open in the evening

    # The same appeals' lifecycles up to that day later, imported at once into a store of their own.
    with make_store(kind_of(store), tmp_path, city) as other:
        again_feed = DemoFeed(city, rds, settings, seed=3, per_day=4000, speedup=1e4, clock=lambda: clock[0])
        load_demo_history(again_feed, 1.25, other[1], settings, gazetteer, rejects=Path(os.devnull))
        again = appeals_table(other)
    compared = ("status", "is_open", "unit", "member", "dispatch_count", "return_count", "extension_count",
                "reopen_count", "due_at", "first_dispatched_at", "resolved_at", "closed_at", "reviewed_at",
                "responded", "resolved_flag", "satisfaction", "last_event_at")  # fmt: skip
    for aid in sorted(went_on):
        assert {c: rows[aid][c] for c in compared} == {c: again[aid][c] for c in compared}, aid


def test_import013_demo_history_stopped_halfway_resumes(store, settings, rds, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """A demo first start whose history load stops halfway (a kill, a stop) leaves the history's end in the store;
    the next start loads the same history to the same end, adding only what is missing, and the rows are those of a
    load that never stopped. Once it is all in, a start loads nothing; with no days asked for, nothing is kept."""
    from data_access.demo.feed import DemoFeed
    from data_access.history_import.demo import Load, load_history, plan_load
    from data_access.store.history_load import history_end, history_load

    _, sessions, _ = store
    now = 1_764_399_990.0
    feed = DemoFeed(city, rds, settings, seed=5, per_day=4000, speedup=1e4, clock=lambda: now)
    history, days = feed.history(), 0.25
    load = plan_load(sessions, days, True, now)
    assert load == Load(int(now) // 60 * 60, resumed=False)

    class StopAfter:  # `stop` set after a few batches, as a kill between two batches leaves the store
        def __init__(self, batches: int) -> None:
            self.left = batches

        def is_set(self) -> bool:
            self.left -= 1
            return self.left < 0

    pending: list[Any] = []
    load_history(history, days, load.end, sessions, settings, gazetteer, pending.extend, stop=StopAfter(3),
                 rejects=Path(os.devnull), batch=100)  # fmt: skip
    total = sum(history.count(d, lo, hi) for d, lo, hi in history.days_back(load.end - 6 * 3600, load.end))
    with sessions() as s:
        halfway = s.scalar(select(func.count(func.distinct(AppealEvent.appeal))))
        assert history_end(s) == load.end and history_load(s) is None  # the banner is down, the end kept
    assert 0 < halfway < total

    later = now + 3600  # the next start, an hour on: the same history, not the hour before it
    again = plan_load(sessions, days, False, later)
    assert again == Load(load.end, resumed=True)
    with sessions() as s:
        assert history_load(s) == 0.0
    load_history(history, days, again.end, sessions, settings, gazetteer, pending.extend, rejects=Path(os.devnull),
                 batch=100)  # fmt: skip
    with sessions() as s:
        assert history_end(s) is None and history_load(s) is None and all_folded(s)
    resumed = appeals_table(store)
    assert len(resumed) == total
    with make_store(kind_of(store), tmp_path, city) as other:
        load_history(history, days, load.end, other[1], settings, gazetteer, pending.extend, rejects=Path(os.devnull))
        whole = appeals_table(other)
    assert resumed == whole
    assert plan_load(sessions, days, False, later) is None

    with sessions() as s, s.begin():  # a load stopped, then a start with no history asked for: nothing kept
        from data_access.store.history_load import set_history_end

        set_history_end(s, load.end)
    assert plan_load(sessions, 0, False, later) is None
    with sessions() as s:
        assert history_end(s) is None and history_load(s) is None


def test_import010_an_id_logged_under_another_appeal(store, settings, rds, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """An intake system logged an event under an id the import derives for another appeal: the import goes on,
    that one id stays as it was logged, every other event goes in once."""
    hist = histories(city, 20, seed=21)
    rows, live = export(hist, "en")
    first = json.loads(live[0])
    taken = dict(first, appeal="OTHER-1")  # the id of the first appeal's `created`, for an appeal of its own
    engine, sessions, _ = store
    w = IngestWorker(settings, rds, sessions, engine, gazetteer, consumer="w")
    w.ensure_groups()
    push(rds, settings.stream("events"), [json.dumps(taken, ensure_ascii=False)])
    drain(w)
    summary = run_import(store, settings, gazetteer, [write_csv(tmp_path / "a.csv", rows, "en")], "en", tmp_path)
    assert summary.events == len(live) - 1 and summary.rejected == 0
    with sessions() as s:
        assert s.scalar(select(AppealEvent.appeal).where(AppealEvent.id == first["id"])) == "OTHER-1"
        assert s.scalar(select(func.count()).select_from(AppealEvent)) == len(live)


def test_import011_arrow_batches_of_a_caller(store, settings, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """Arrow tables in an export's columns, handed batch by batch to `Importer.batch` (as a caller with batches of
    its own does), give the rows the same export gives read from its file."""
    rows, _ = export(histories(city, 90, seed=17), "cn")
    names = header("cn")
    (tmp_path / "file").mkdir()
    with make_store(kind_of(store), tmp_path / "file", city) as from_file:
        run_import(from_file, settings, gazetteer, [write_csv(tmp_path / "a.csv", rows, "cn")], "cn", tmp_path)
        want = appeals_table(from_file)
    rejects = Rejects(tmp_path / "rejects-arrow.csv")
    importer = Importer(read_mapping(MAPPINGS["cn"]), store[1], settings, gazetteer, rejects)
    for first in range(0, len(rows), 40):
        part = rows[first : first + 40]
        importer.batch(pa.table({n: pa.array([r.get(n) or None for r in part], pa.string()) for n in names}), "a")
    rejects.close()
    assert (importer.summary.rows, importer.summary.accepted, importer.summary.rejected) == (90, 90, 0)
    assert appeals_table(store) == want
