"""An event the projection cannot fold does not stall its partition: its appeal is left out, recorded and shown
(/healthz, the read API), the rest goes on; a lost connection is retried, not taken for such an event. And the
advisory locks of stores in different schemas of one database are their own."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from dashboard.contract import parse_event
from dashboard.partitions import partition_of
from data_access.intake.event_log import LOG_LOCK, Accepted, store_events
from data_access.intake.reference_data import Gazetteer
from data_access.ops.health import health
from data_access.projection.checkpoints import checkpoints
from data_access.projection.fold import PROJECTOR_LOCK, fold_logged, refold_rows
from data_access.projection.projector import Projector, all_folded
from data_access.projection.rows import ROW_NAMES
from data_access.store.locks import lock_key
from data_access.store.models import (
    Appeal,
    AppealEvent,
    ProjectionCheckpoint,
    ProjectionFailure,
)
from tests.conftest import REDIS_URL, display_token, ev, make_store
from tests.histories import histories
from tests.wall_support import services

FAR = "9999-12-31T10:00:00+08:00"  # the contract's parser once took it; the due time overflows from it


def logged(text_: str, **changes: Any) -> tuple[str, Any]:
    """An event as an older ingest would have logged it, with `changes` made to its text after the contract's
    checks: (the text stored, the Event its log columns are taken from)."""
    event = parse_event(text_)
    body = {**json.loads(text_), **changes}
    if "at" in changes:
        event = dataclasses.replace(event, at=datetime.fromisoformat(changes["at"]).astimezone(UTC))
    return json.dumps(body, ensure_ascii=False), event


def log(
    sessions: sessionmaker[Session],
    gazetteer: Gazetteer,
    texts: list[str],
    changed: dict[str, dict[str, Any]] | None = None,
    received: datetime | None = None,
) -> None:
    """Store events in the log (an event whose id is in `changed` with those changes, past the parser)."""
    pairs = [logged(t, **(changed or {}).get(json.loads(t)["id"], {})) for t in texts]
    places = gazetteer.place_events([e for _, e in pairs])
    items = [
        Accepted(e, raw, f"0-{i}", p if not isinstance(p, str) else None)
        for i, ((raw, e), p) in enumerate(zip(pairs, places))
    ]
    with sessions() as s, s.begin():
        store_events(s, items, received or datetime.now(UTC))


def rows(sessions) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return {r["id"]: dict(r) for r in s.execute(select(Appeal.__table__)).mappings()}


def failures(sessions) -> dict[str, ProjectionFailure]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return {f.appeal: f for f in s.scalars(select(ProjectionFailure))}


def assert_folded_whole(sessions, settings, appeals: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Each of these appeals' rows is what folding all its logged events gives."""
    have = rows(sessions)
    with sessions() as s:
        want = {str(r["id"]): r for r in refold_rows(s, appeals, settings)}
    assert sorted(want) == sorted(appeals)
    for a in appeals:
        assert {c: have[a][c] for c in ROW_NAMES} == {c: want[a][c] for c in ROW_NAMES}, a
        assert have[a]["projection_failed_at"] is None, a


def report_of(svc) -> tuple[bool, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """/healthz's (healthy, report), the streams and their group made as the ingest worker makes them."""
    for name in ("events", "presence"):
        stream = svc.settings.stream(name)
        if not svc.redis.exists(stream):
            svc.redis.xgroup_create(stream, svc.settings.consumer_group, id="0", mkstream=True)
    return health(svc, None)


def in_partition(partition: int, partitions: int, stem: str) -> str:
    """An appeal id of that partition."""
    return next(a for i in range(1000) if partition_of(a := f"{stem}-{i}", partitions) == partition)


def later(texts: list[str], appeal: str, type_: str, minutes: int, **fields: Any) -> str:
    """An event of `appeal` some minutes after the last of these texts."""
    last = max(datetime.fromisoformat(json.loads(t)["at"]) for t in texts)
    return ev(type_, appeal, last + timedelta(minutes=minutes), f"{appeal}-{type_}-late", **fields)


def test_isolate001_an_event_that_cannot_be_folded_leaves_the_rest_of_its_partition_going(  # type: ignore[no-untyped-def]
    settings,
    store,
    gazetteer,
    city,
    rds,
) -> None:
    """30 appeals in two partitions; one gets a `dispatched` dated 9999-12-31 (its due time overflows). The other
    29 are all projected, the checkpoints pass everything; the bad one is recorded with its event and reason, its
    row (projected from its `created`) is marked, /healthz and the API say so. A later event of another appeal of
    its partition is projected; a later one of its own is tried again (still failing); once the log is
    corrected, its next event folds it and the record and mark go."""
    _, sessions, _ = store
    hist = histories(city, 30, seed=41)
    bad = next(a for a, h in hist.items() if any(json.loads(t)["type"] == "dispatched" for t in h))
    bad_event = next(json.loads(t)["id"] for t in hist[bad] if json.loads(t)["type"] == "dispatched")
    log(sessions, gazetteer, [h[0] for h in hist.values()])  # the `created` of each: every appeal has a row
    Projector(settings, sessions).drain()
    assert len(rows(sessions)) == 30
    log(sessions, gazetteer, [t for h in hist.values() for t in h[1:]], {bad_event: {"at": FAR}})
    Projector(settings, sessions).drain()

    others = sorted(a for a in hist if a != bad)
    assert_folded_whole(sessions, settings, others)
    with sessions() as s:
        assert all_folded(s)
    failed = failures(sessions)
    assert list(failed) == [bad] and failed[bad].event == bad_event and failed[bad].attempts == 1
    assert failed[bad].reason and failed[bad].event_seq
    row = rows(sessions)[bad]
    assert row["projection_failed_at"] is not None and row["fold_state"] is None and row["status"] == "created"

    svc = services(settings, store, city, rds, REDIS_URL)
    ok, report = report_of(svc)
    assert ok and report["fold"]["isolated"] == 1 and not report["fold"]["stalled"], report
    assert report["fold"]["newest_failure"]["appeal"] == bad
    assert report["fold"]["newest_failure"]["reason"] == failed[bad].reason

    from app import create_app

    client = create_app(svc).server.test_client()
    auth = {"Authorization": f"Bearer {display_token(sessions)}"}
    body = client.get(f"/api/v1/appeals/{bad}", headers=auth).get_json()
    assert body["projection_failure"]["reason"] == failed[bad].reason
    assert body["projection_failure"]["event"] == bad_event and body["status"] == "created"
    assert client.get(f"/api/v1/appeals/{others[0]}", headers=auth).get_json()["projection_failure"] is None

    partition = partition_of(bad, settings.projectors)
    newcomer = in_partition(partition, settings.projectors, "LATE")
    fresh = [
        later(
            hist[bad],
            newcomer,
            "created",
            5,
            channel="phone",
            kind="consult",
            category=["其他"],
            priority="normal",
            community=city.communities.iloc[0]["code"],
        ),
        later(hist[bad], bad, "closed", 10),
    ]
    log(sessions, gazetteer, fresh)
    Projector(settings, sessions).drain()
    assert newcomer in rows(sessions)
    assert_folded_whole(sessions, settings, [newcomer])
    assert failures(sessions)[bad].attempts == 2  # tried again with its next event: still failing

    with sessions() as s, s.begin():  # the log corrected by hand: the dispatch dated as the intake side meant
        raw = s.scalar(select(AppealEvent.payload).where(AppealEvent.id == bad_event))
        at = later(hist[bad], bad, "closed", 1)  # any sane time
        right = json.dumps({**json.loads(raw), "at": json.loads(at)["at"]}, ensure_ascii=False)
        s.execute(
            update(AppealEvent)
            .where(AppealEvent.id == bad_event)
            .values(payload=right, at=datetime.fromisoformat(json.loads(at)["at"]))
        )
    log(sessions, gazetteer, [later(hist[bad], bad, "reopened", 20)])
    Projector(settings, sessions).drain()
    assert failures(sessions) == {}
    assert_folded_whole(sessions, settings, [bad])
    ok, report = report_of(svc)
    assert report["fold"]["isolated"] == 0 and report["fold"]["newest_failure"] is None


def test_isolate002_an_appeal_that_never_had_a_row(settings, store, gazetteer, city, rds) -> None:  # type: ignore[no-untyped-def]
    """A `created` dated 9999-12-31: the appeal has no row; the record is its mark, the API shows the appeal
    (its place and events) with the failure; everything else is projected, even in batches of one event. Its
    dispatch, when it comes, restarts its clock: then it folds, and the record goes."""
    _, sessions, _ = store
    one = settings.model_copy(update={"projection_batch": 1})
    hist = histories(city, 6, seed=42)
    bad = next(a for a, h in sorted(hist.items()) if any(json.loads(t)["type"] == "dispatched" for t in h))
    first = [t for a, h in hist.items() for t in (h[:1] if a == bad else h)]
    log(sessions, gazetteer, first, {f"{bad}-0": {"at": FAR}})
    Projector(one, sessions).drain()
    assert sorted(rows(sessions)) == sorted(a for a in hist if a != bad)
    assert_folded_whole(sessions, settings, sorted(a for a in hist if a != bad))
    assert failures(sessions)[bad].event == f"{bad}-0"

    svc = services(settings, store, city, rds, REDIS_URL)
    from app import create_app

    client = create_app(svc).server.test_client()
    r = client.get(f"/api/v1/appeals/{bad}", headers={"Authorization": f"Bearer {display_token(sessions)}"})
    body = r.get_json()
    assert r.status_code == 200 and body["status"] is None and body["district"], body
    assert body["projection_failure"]["event"] == f"{bad}-0" and [e["id"] for e in body["events"]] == [f"{bad}-0"]

    log(sessions, gazetteer, hist[bad][1:])
    Projector(one, sessions).drain()
    assert failures(sessions) == {}
    assert_folded_whole(sessions, settings, sorted(hist))


def test_isolate003_rows_the_store_refuses(settings, store, gazetteer, city) -> None:  # type: ignore[no-untyped-def]
    """A value PostgreSQL refuses, as an older ingest logged it: an over-long satisfaction (an update of a projected
    row). The batch is written again in parts: that appeal is left out, the rest is written. SQLite takes it:
    nothing is left out there. A NUL in a summary (a new row) is no longer refused: reading the log replaces it
    with U+FFFD on both stores, as the contract's parser does."""
    _, sessions, _ = store
    hist = histories(city, 30, seed=43)
    nul = min(hist)
    reviewed = next(a for a, h in hist.items() if a != nul and any(json.loads(t)["type"] == "reviewed" for t in h))
    review = next(json.loads(t)["id"] for t in hist[reviewed] if json.loads(t)["type"] == "reviewed")
    log(sessions, gazetteer, [h[0] for a, h in hist.items() if a != nul])
    Projector(settings, sessions).drain()
    log(
        sessions,
        gazetteer,
        [t for a, h in hist.items() for t in (h if a == nul else h[1:])],
        {f"{nul}-0": {"summary": "a\x00b"}, review: {"satisfaction": "dissatisfied, very much so indeed"}},
    )
    Projector(settings, sessions).drain()
    with sessions() as s:
        assert all_folded(s)
    left_out = {reviewed} if store[0].dialect.name == "postgresql" else set()
    assert set(failures(sessions)) == left_out
    assert_folded_whole(sessions, settings, sorted(set(hist) - left_out))
    for appeal, f in failures(sessions).items():
        assert f.event == json.loads(hist[appeal][-1])["id"]  # a row refused: the appeal's newest event
    with sessions() as s:
        assert s.get(Appeal, nul).summary == "a\ufffdb"
    if left_out:
        assert "StringDataRightTruncation" in failures(sessions)[reviewed].reason


def test_isolate004_a_lost_connection_is_retried_not_isolated(settings, gazetteer, city, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: the projector's connection is terminated in the middle of a batch (while it waits to move its
    checkpoint). The projector says the store is unavailable, retries, and projects every appeal; nothing is
    recorded as failed."""
    with make_store("postgresql", tmp_path, city) as (engine, sessions, _):
        one = settings.model_copy(update={"projectors": 1})
        hist = histories(city, 30, seed=44)
        log(sessions, gazetteer, [h[0] for h in hist.values()])
        Projector(one, sessions).drain()
        log(sessions, gazetteer, [t for h in hist.values() for t in h[1:]])
        holder = engine.connect()
        holder.execute(select(ProjectionCheckpoint).with_for_update())  # the checkpoint's row: the batch waits
        me = holder.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        projector, stop = Projector(one, sessions), threading.Event()
        thread = threading.Thread(target=projector.run, args=(stop,))
        thread.start()
        try:
            waiting: list[int] = []
            while not waiting:
                holder.exec_driver_sql("SELECT pg_stat_clear_snapshot()")  # else the first read's list stays
                waiting = list(
                    holder.exec_driver_sql(
                        "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", (me,)
                    ).scalars()
                )
                stop.wait(0.05)
            assert holder.exec_driver_sql("SELECT pg_terminate_backend(%s)", (waiting[0],)).scalar()
            while projector.status.ok:
                stop.wait(0.05)
            assert projector.status.problem.startswith("store unavailable"), projector.status
            holder.rollback()
            while not all_folded_in(sessions):
                stop.wait(0.05)
        finally:
            stop.set()
            thread.join()
            holder.close()
        assert failures(sessions) == {}
        assert_folded_whole(sessions, settings, sorted(hist))


def all_folded_in(sessions) -> bool:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return all_folded(s)


def test_isolate005_stores_in_two_schemas_do_not_share_locks(settings, gazetteer, city, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL advisory locks are per database: while a projector of one schema's store holds its partition's
    lock, and a log writer its log lock, those of another schema's store take theirs; within a schema they stand by.
    The `public` schema keeps the plain keys."""
    with make_store("postgresql", tmp_path, city) as a, make_store("postgresql", tmp_path, city) as b:
        log(b[1], gazetteer, [t for h in histories(city, 5, seed=45).values() for t in h])
        with a[0].connect() as held:
            held.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(%s), pg_advisory_xact_lock(%s)",
                (lock_key(held, PROJECTOR_LOCK), lock_key(held, LOG_LOCK)),
            )
            with b[0].connect() as other:
                keys = lock_key(other, PROJECTOR_LOCK), lock_key(other, LOG_LOCK)
                assert keys != (lock_key(held, PROJECTOR_LOCK), lock_key(held, LOG_LOCK))
                assert other.exec_driver_sql("SELECT pg_try_advisory_xact_lock(%s)", (keys[1],)).scalar()
                other.rollback()
            one = settings.model_copy(update={"projectors": 1})
            assert fold_logged(b[1], one, 1000) > 0  # not held up by the other store's projector
            with a[0].connect() as same:
                assert not same.exec_driver_sql(
                    "SELECT pg_try_advisory_xact_lock(%s)", (lock_key(same, PROJECTOR_LOCK),)
                ).scalar()
                same.rollback()
            held.rollback()
        with a[0].connect() as conn:
            conn.exec_driver_sql("SET search_path TO public")
            conn.info.pop("advisory_schema", None)
            assert lock_key(conn, LOG_LOCK) == LOG_LOCK
            conn.invalidate()  # not back to the pool in the wrong schema
        with b[1]() as s:
            assert all_folded(s) and s.scalar(select(func.count()).select_from(Appeal)) == 5
            assert checkpoints(s)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_isolate006_health_says_stalled_when_the_projection_does_not_move(  # type: ignore[no-untyped-def]
    kind,
    settings,
    gazetteer,
    city,
    rds,
    tmp_path,
) -> None:
    """Events waiting longer than PROJECTION_STALL_S behind a checkpoint that has not moved for as long: /healthz
    is unhealthy. A backlog received long ago but being folded (the checkpoint moved just now) is not stalled."""
    with make_store(kind, tmp_path, city) as store:
        _, sessions, _ = store
        texts = [t for h in histories(city, 5, seed=46).values() for t in h]
        svc = services(settings, store, city, rds, REDIS_URL)
        long_ago = datetime.now(UTC) - timedelta(seconds=settings.projection_stall_s * 3)
        log(sessions, gazetteer, texts[:5], received=long_ago)
        ok, report = report_of(svc)
        assert ok and not report["fold"]["stalled"], report  # the checkpoints were laid out just now
        Projector(settings, sessions).drain()
        log(sessions, gazetteer, texts[5:], received=long_ago)
        with sessions() as s, s.begin():  # the checkpoints last moved long ago
            s.execute(update(ProjectionCheckpoint).values(updated_at=long_ago))
        ok, report = report_of(svc)
        assert not ok and report["fold"]["stalled"] and report["fold"]["oldest_queued_s"] > 0, report
        with sessions() as s, s.begin():  # moving again (a backlog being folded): not stalled
            s.execute(update(ProjectionCheckpoint).values(updated_at=datetime.now(UTC)))
        ok, report = report_of(svc)
        assert ok and not report["fold"]["stalled"], report
        Projector(settings, sessions).drain()
        ok, report = report_of(svc)
        assert ok and report["fold"]["oldest_queued_s"] is None and report["fold"]["isolated"] == 0
