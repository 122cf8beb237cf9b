"""The ingest worker against real Redis and real SQLite/PostgreSQL: every promise of the contract."""

from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from dashboard.partitions import partition_of
from data_access.intake.consumer import IngestWorker
from data_access.projection import projector as projector_module
from data_access.projection.checkpoints import checkpoints
from data_access.projection.projector import Projector
from data_access.store.models import Appeal, AppealEvent, Presence
from tests.conftest import TZ, ev, make_store
from tests.histories import histories
from tests.ingest_support import appeals_table, counts, drain, log_all, push

SKIP_COLS = {"last_event_at"}


def make_worker(settings, rds, store, gazetteer, consumer: str = "w1") -> IngestWorker:  # type: ignore[no-untyped-def]
    engine, sessions, _ = store
    w = IngestWorker(settings, rds, sessions, engine, gazetteer, consumer=consumer)
    w.ensure_groups()
    return w


def test_ingest001_duplicates_stored_once(settings, rds, store, gazetteer, city):  # type: ignore[no-untyped-def]
    hist = histories(city, 30, seed=2)
    texts = [t for h in hist.values() for t in h]
    push(rds, settings.stream("events"), texts + texts[:50])
    w = make_worker(settings, rds, store, gazetteer)
    drain(w)
    push(rds, settings.stream("events"), texts[10:40])
    drain(w)
    assert counts(store) == (len(texts), 30)
    assert rds.xlen(settings.stream("events:dead")) == 0
    assert rds.xpending(settings.stream("events"), settings.consumer_group)["pending"] == 0


def test_ingest002_order_tolerant(settings, rds, store, gazetteer, city, prefix):  # type: ignore[no-untyped-def]
    """Sorted, reversed and shuffled deliveries of whole histories give the same stored state."""
    hist = histories(city, 80, seed=3)
    sorted_texts = sorted((t for h in hist.values() for t in h), key=lambda t: json.loads(t)["at"])
    orders = {"sorted": sorted_texts, "reversed": sorted_texts[::-1]}
    shuffled = list(sorted_texts)
    random.Random(7).shuffle(shuffled)
    orders["shuffled"] = shuffled
    states = {}
    for name, texts in orders.items():
        s2 = settings.model_copy(update={"hotline_prefix": f"{prefix}-{name}"})
        push(rds, s2.stream("events"), texts)
        _, sessions, _ = store
        with sessions() as s, s.begin():
            s.execute(Appeal.__table__.delete())
            s.execute(AppealEvent.__table__.delete())
        w = make_worker(s2, rds, store, gazetteer, consumer=name)
        w.s = s2
        drain(w)
        states[name] = {
            k: {c: v for c, v in row.items() if c not in SKIP_COLS} for k, row in appeals_table(store).items()
        }
        rds.delete(s2.stream("events"))
    assert len(states["sorted"]) == 80
    assert states["reversed"] == states["sorted"]
    assert states["shuffled"] == states["sorted"]


def test_ingest003_events_before_created_wait(settings, rds, store, gazetteer, city):  # type: ignore[no-untyped-def]
    street = city.communities.iloc[0]["street"]
    code = city.communities.iloc[0]["code"]
    t0 = datetime(2026, 11, 22, 9, 0, tzinfo=TZ)
    key = settings.stream("events")
    push(
        rds,
        key,
        [
            ev("dispatched", "A-1", t0 + timedelta(minutes=5), unit=street),
            ev("accepted", "A-1", t0 + timedelta(minutes=9), unit=street),
        ],
    )
    w = make_worker(settings, rds, store, gazetteer)
    drain(w)
    assert counts(store) == (2, 0)
    push(
        rds,
        key,
        [
            ev(
                "created",
                "A-1",
                t0,
                channel="phone",
                kind="request",
                category=["住房"],
                priority="urgent",
                community=code,
            )
        ],
    )
    drain(w)
    row = appeals_table(store)["A-1"]
    assert row["status"] == "accepted" and row["unit"] == street and row["community"] == code
    assert row["street"] == street
    assert row["clock_start"] == (t0 + timedelta(minutes=5)).astimezone(row["clock_start"].tzinfo)
    assert row["due_at"] - row["clock_start"] == timedelta(hours=24)


BAD: list[tuple[str, str]] = [
    ("not json", "JSON"),
    ("[1,2]", "object"),
    ('{"v":1}', "missing"),
    ('{"v":1,"id":"x1","type":"created","appeal":"A","at":"2026-11-22T09:00:00"}', "offset"),
    ('{"v":1,"id":"x2","type":"closed","appeal":"A","at":"2026-02-30T09:00:00+08:00"}', ""),
    ('{"v":2,"id":"x3","type":"closed","appeal":"A","at":"2026-11-22T09:00:00+08:00"}', "version"),
    ('{"v":"1","id":"x4","type":"closed","appeal":"A","at":"2026-11-22T09:00:00+08:00"}', ""),
    ('{"v":1,"id":"x5","type":"teleported","appeal":"A","at":"2026-11-22T09:00:00+08:00"}', "type"),
    (
        '{"v":1,"id":"x6","type":"dispatched","appeal":"A","at":"2026-11-22T09:00:00+08:00","unit":"NOPE"}',
        "unknown unit",
    ),
    (
        '{"v":1,"id":"x7","type":"created","appeal":"A","at":"2026-11-22T09:00:00+08:00","channel":"phone",'
        '"kind":"request","category":["住房"],"priority":"normal","community":"999999999999"}',
        "unknown community",
    ),
    (
        '{"v":1,"id":"x8","type":"created","appeal":"A","at":"2026-11-22T09:00:00+08:00","channel":"phone",'
        '"kind":"request","category":["住房"],"priority":"normal","location":{"lon":121.47,"lat":31.23}}',
        "outside",
    ),
    (
        '{"v":1,"id":"x9","type":"created","appeal":"A","at":"2026-11-22T09:00:00+08:00","channel":"phone",'
        '"kind":"request","category":["住房"],"priority":"normal","location":{"lon":NaN,"lat":39.9}}',
        "",
    ),
    (
        '{"v":1,"id":"x10","type":"reviewed","appeal":"A","at":"2026-11-22T09:00:00+08:00","responded":"yes",'
        '"resolved":true,"satisfaction":"satisfied"}',
        "",
    ),
    (
        '{"v":1,"id":"x11","type":"created","appeal":"A","at":"2026-11-22T09:00:00+08:00","channel":"phone",'
        '"kind":"request","category":["住房"],"priority":"normal","community":"C","summary":"' + "长" * 5000 + '"}',
        "4000",
    ),
    (
        '{"v":1,"id":"x12","type":"created","appeal":"A","at":"2026-11-22T09:00:00+08:00","channel":"phone",'
        '"kind":"request","category":["住房"],"priority":"normal"}',
        "",
    ),
]


def test_ingest004_malformed_to_dead_letter(settings, rds, store, gazetteer, city):  # type: ignore[no-untyped-def]
    """Every kind of bad entry is dead-lettered unchanged with a reason; valid traffic flows on."""
    hist = histories(city, 10, seed=4)
    good = [t for h in hist.values() for t in h]
    key = settings.stream("events")
    pipe = rds.pipeline(transaction=False)
    for i, t in enumerate(good):
        pipe.xadd(key, {"event": t})
        if i < len(BAD):
            pipe.xadd(key, {"event": BAD[i][0]})
    pipe.xadd(key, {"other": "no event field"})
    pipe.execute()
    w = make_worker(settings, rds, store, gazetteer)
    drain(w)
    assert counts(store) == (len(good), 10)
    dead = rds.xrange(settings.stream("events:dead"))
    assert len(dead) == len(BAD) + 1
    by_event = {f[b"event"].decode(): f for _, f in dead if b"event" in f}
    assert next(f for _, f in dead if b"event" not in f)[b"other"] == b"no event field"  # its own fields kept
    for raw, hint in BAD:
        f = by_event[raw]
        assert f[b"error"], raw
        assert hint.lower() in f[b"error"].decode().lower(), (raw, f[b"error"])
        assert rds.xrange(key, f[b"source"], f[b"source"])[0][1][b"event"].decode() == raw
    assert rds.xpending(key, settings.consumer_group)["pending"] == 0


def test_ingest005_presence_latest_wins(settings, rds, store, gazetteer, city):  # type: ignore[no-untyped-def]
    m = city.members.iloc[0]["id"]
    t0 = datetime(2026, 11, 22, 9, 0, tzinfo=TZ)
    beats = [
        json.dumps({"v": 1, "member": m, "at": (t0 + timedelta(minutes=k)).isoformat(), "state": s})
        for k, s in [(2, "busy"), (1, "on_duty"), (3, "sos"), (0, "off_duty")]
    ]
    beats.append(json.dumps({"v": 1, "member": "M-NOBODY", "at": t0.isoformat(), "state": "on_duty"}))
    push(rds, settings.stream("presence"), beats)
    w = make_worker(settings, rds, store, gazetteer)
    drain(w)
    _, sessions, _ = store
    with sessions() as s:
        row = s.get(Presence, m)
    assert row.state == "sos" and row.at == t0 + timedelta(minutes=3)
    dead = rds.xrange(settings.stream("presence:dead"))
    assert len(dead) == 1 and b"unknown member" in dead[0][1][b"error"]


def test_ingest006_two_workers_share_a_group(settings, rds, store, gazetteer, city):  # type: ignore[no-untyped-def]
    hist = histories(city, 300, seed=6)
    texts = [t for h in hist.values() for t in h]
    random.Random(1).shuffle(texts)
    push(rds, settings.stream("events"), texts)
    small = settings.model_copy(update={"ingest_batch": 50, "projection_batch": 50})
    workers = [make_worker(small, rds, store, gazetteer, c) for c in ("a", "b")]
    projectors = [Projector(small, store[1]) for _ in workers]  # as two `python app.py ingest` processes run
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers + projectors]
    for t in threads:
        t.start()
    deadline = datetime.now() + timedelta(seconds=120)
    while counts(store) != (len(texts), 300) and datetime.now() < deadline:
        stop.wait(0.2)
    stop.wait(0.5)
    stop.set()
    for t in threads:
        t.join(10)
    assert counts(store) == (len(texts), 300)
    assert all(w.status.stored > 0 for w in workers), [w.status.stored for w in workers]
    assert rds.xpending(settings.stream("events"), settings.consumer_group)["pending"] == 0


def test_ingest007_partitions_fold_their_own_appeals_and_their_number_can_change(  # type: ignore[no-untyped-def]
    settings, rds, store, gazetteer, city, tmp_path
):
    """Each partition's projector reads and folds only its appeals' events, behind its own checkpoint (events
    logged without a partition key, before migration 0009, are read by every partition and folded by their own);
    a store projected in three partitions goes on in two (the checkpoints start again from the lowest), and ends
    as a clean replay projected by one projector."""
    texts = [t for h in histories(city, 200, seed=8).values() for t in h]
    random.Random(8).shuffle(texts)
    push(rds, settings.stream("events"), texts)
    log_all(make_worker(settings, rds, store, gazetteer))
    _, sessions, _ = store
    with sessions() as s, s.begin():
        s.execute(update(AppealEvent).where(AppealEvent.seq % 4 == 0).values(partition_key=None))
        log = s.execute(
            select(AppealEvent.seq, AppealEvent.appeal, AppealEvent.partition_key).order_by(AppealEvent.seq)
        ).all()
    assert all(k % 3 == partition_of(a, 3) for _, a, k in log if k is not None)
    read = [q for q, _, k in log if k is None or k % 3 == 1]  # what partition 1 of 3 reads
    three = settings.model_copy(update={"projectors": 3, "projection_batch": 300})
    assert Projector(three, sessions, partitions=[1]).step() == 300
    first = set(appeals_table(store))
    assert first and {partition_of(a, 3) for a in first} == {1}
    Projector(three, sessions, partitions=[0]).drain()
    with sessions() as s:
        known, top = checkpoints(s), s.scalar(select(func.max(AppealEvent.seq)))
    assert known == {(0, 3): top, (1, 3): read[299], (2, 3): 0}
    assert {partition_of(a, 3) for a in appeals_table(store)} == {0, 1}
    Projector(settings, sessions).drain()  # two partitions
    with sessions() as s:
        assert checkpoints(s) == {(0, 2): top, (1, 2): top}
    one = settings.model_copy(update={"consumer_group": "replay", "projectors": 1})
    with make_store(store[0].dialect.name, tmp_path, city) as clean:
        drain(make_worker(one, rds, clean, gazetteer, consumer="r"))
        with clean[1]() as s:
            assert checkpoints(s) == {(0, 1): top}
        assert appeals_table(clean) == appeals_table(store)
        assert len(appeals_table(store)) == 200


def test_ingest008_a_projector_in_a_backlog_gathers_a_full_batch(settings, rds, store, gazetteer, city, monkeypatch):  # type: ignore[no-untyped-def]
    """After a backlog batch a projector waits for more only while it helps: not when a full batch already waits,
    nor once the log stops growing, nor after it is told to stop."""
    texts = [t for h in histories(city, 20, seed=9).values() for t in h]
    push(rds, settings.stream("events"), texts)
    log_all(make_worker(settings, rds, store, gazetteer))
    monkeypatch.setattr(projector_module, "GATHER_S", 600.0)

    def returns(projector: Projector, stop: threading.Event) -> bool:  # within 30 s, where it would wait 600 s
        t = threading.Thread(target=projector._gather, args=(stop,))
        t.start()
        t.join(30)
        return not t.is_alive()

    one = settings.model_copy(update={"projectors": 1, "projection_batch": len(texts) // 2})
    monkeypatch.setattr(projector_module, "GATHER_QUIET_S", 600.0)
    assert returns(Projector(one, store[1]), threading.Event())  # a full batch waits
    stop = threading.Event()
    many = one.model_copy(update={"projection_batch": 10 * len(texts)})
    t = threading.Thread(target=Projector(many, store[1])._gather, args=(stop,))
    t.start()
    stop.set()
    t.join(30)
    assert not t.is_alive()  # told to stop
    monkeypatch.setattr(projector_module, "GATHER_QUIET_S", 0.05)
    assert returns(Projector(many, store[1]), threading.Event())  # the log does not grow
