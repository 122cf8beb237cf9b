"""Faults that must not stop the flow: the store away for a minute (PostgreSQL stopped, SQLite unwritable),
odd events among valid ones, a fuzzed stream whose dead letters must be the entries as sent, byte for byte."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from glob import glob
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import text

from dashboard.settings import Settings
from data_access.accounts.users import create_user
from data_access.intake.consumer import IngestWorker, supervise
from data_access.intake.reference_data import Gazetteer, load_reference
from data_access.ops.health import health
from data_access.projection.projector import Projector, all_folded
from data_access.store.engine import log_path, make_engine, make_sessionmaker, migrate
from tests.conftest import REDIS_URL, TZ, ev, make_store
from tests.histories import histories
from tests.ingest_support import appeals_table, counts, log_all, push
from tests.integration.test_ingest import SKIP_COLS
from tests.wall_support import services

OUTAGE_S = 60.0


def _wait(pred: Callable[[], bool], seconds: float = 180) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def _folded(sessions: Any) -> bool:
    with sessions() as s:
        return all_folded(s)


def fold_all(sessions: Any, settings: Settings) -> None:
    """Fold every logged event (a projector of another test run on the same PostgreSQL may hold a partition lock)."""
    projector = Projector(settings, sessions)
    while True:
        projector.drain()
        if _folded(sessions):
            return
        time.sleep(0.2)


def raw_client(client: redis.Redis) -> redis.Redis:
    """A client over the same connections whose XRANGE answers field/value pairs in order, undecoded."""
    raw = redis.Redis(connection_pool=client.connection_pool)
    raw.set_response_callback("XRANGE", lambda response, **_: response)
    return raw


def pairs(flat: list[bytes]) -> list[tuple[bytes, bytes]]:
    return list(zip(flat[::2], flat[1::2]))


# -- a PostgreSQL cluster of the test's own, to stop and start -------------------------------------------------
def _pg_bin(name: str) -> str:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` account then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class OwnPostgres:
    """A throwaway PostgreSQL cluster in a temporary folder, on a free port; never the machine's own."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cc-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.data = self.dir / "data"
        subprocess.run(
            _as_postgres(
                [_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]
            ),
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        subprocess.run(
            _as_postgres(
                [_pg_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture()
def own_pg() -> Iterator[OwnPostgres]:
    pg = OwnPostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


@contextmanager
def store_at(url: str, city: Any) -> Iterator[tuple[Any, Any, str]]:
    """A migrated store with the reference data at a URL: (engine, sessions, url)."""
    engine = make_engine(url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as s, s.begin():
        load_reference(s, city)
    try:
        yield engine, sessions, url
    finally:
        engine.dispose()


# -- an outage of the store while events flow ------------------------------------------------------------------
class Flow:
    """A real ingest worker (under its supervisor) and a projector, each in its thread, over a store."""

    def __init__(self, settings: Settings, rds: redis.Redis, url: str, gazetteer: Gazetteer) -> None:
        self.engine = make_engine(url, writer=True)
        self.projector_engine = make_engine(url, writer=True)
        self.worker = IngestWorker(settings, rds, make_sessionmaker(self.engine), self.engine, gazetteer, consumer="w")
        self.projector = Projector(settings, make_sessionmaker(self.projector_engine))
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=supervise, args=(self.worker, self.stop), name="ingest"),
            threading.Thread(target=self.projector.run, args=(self.stop,), name="projector"),
        ]
        for t in self.threads:
            t.start()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)
        self.engine.dispose()
        self.projector_engine.dispose()


def _outage_while_events_flow(  # type: ignore[no-untyped-def]
    settings: Settings,
    rds: redis.Redis,
    store,
    city,
    gazetteer: Gazetteer,
    store_away: Callable[[], None],
    store_back: Callable[[], None],
    during: Callable[[], None] = lambda: None,
    before: Callable[[], None] = lambda: None,
) -> None:
    """Events before, during and after a store outage of OUTAGE_S: none lost, none dead-lettered, the worker
    alive throughout, health() unhealthy during the outage and healthy after."""
    _, sessions, url = store
    hist = histories(city, 60, seed=21)
    texts = [t for h in hist.values() for t in h]
    random.Random(21).shuffle(texts)
    quarter = len(texts) // 4
    early, while_away, late = texts[:quarter], texts[quarter : 3 * quarter], texts[3 * quarter :]
    key = settings.stream("events")
    svc = services(settings, store, city, rds, REDIS_URL)
    flow = Flow(settings, rds, url, gazetteer)
    try:
        push(rds, key, early)
        assert _wait(lambda: counts(store)[0] == len(early)), counts(store)
        assert health(svc, flow.worker.status)[0]
        before()
        store_away()
        away_since = time.monotonic()
        sent, verdicts, problems = 0, [], set()
        while time.monotonic() - away_since < OUTAGE_S:  # events keep coming while the store is away
            chunk = while_away[sent : sent + max(1, len(while_away) // 12)]
            push(rds, key, chunk)
            sent += len(chunk)
            time.sleep(OUTAGE_S / 15)
            if time.monotonic() - away_since > 5:  # the worker has met the outage by now
                verdicts.append(health(svc, flow.worker.status)[0])
                problems.add(flow.worker.status.problem.split(":")[0])
                during()
        push(rds, key, while_away[sent:])
        assert flow.threads[0].is_alive()
        assert not any(verdicts) and len(verdicts) >= 10, verdicts
        assert problems == {"store unavailable"}, problems
        assert flow.worker.status.held > 0  # it holds what it read, acknowledged nothing of it
        store_back()
        push(rds, key, late)
        done = _wait(
            lambda: (
                counts(store) == (len(texts), len(hist))
                and _folded(sessions)
                and rds.xpending(key, settings.consumer_group)["pending"] == 0
            ),
            180,
        )
        assert done, (counts(store), len(texts), flow.worker.status)
        assert _wait(lambda: health(svc, flow.worker.status)[0], 60), health(svc, flow.worker.status)[1]
        assert flow.threads[0].is_alive() and flow.worker.status.restarts == 0
        assert rds.xlen(settings.stream("events:dead")) == 0
        assert flow.worker.status.dead == 0 and flow.worker.status.stored == len(texts)
    finally:
        flow.close()


def test_faults001_postgresql_stopped_for_a_minute(settings, rds, city, gazetteer, own_pg):  # type: ignore[no-untyped-def]
    """PostgreSQL (a cluster of the test's own) stopped for a minute while events flow, then started again:
    nothing lost, nothing dead-lettered, the worker alive; /healthz and signed-in pages answer 503 (not 500)
    during, 200 after."""
    from app import create_app

    with store_at(own_pg.url, city) as store:
        with store[1]() as s, s.begin():
            create_user(s, "ops", "correct horse battery", _scope(), datetime.now(TZ))
        app = create_app(services(settings, store, city, rds, REDIS_URL))
        web = app.server.test_client()
        assert web.post("/login", data={"username": "ops", "password": "correct horse battery"}).status_code == 302
        answers: list[tuple[int, ...]] = []
        login = {"username": "ops", "password": "correct horse battery"}

        def answer() -> None:  # /healthz, a page and an API call signed in, and signing in again
            answers.append(
                (
                    web.get("/healthz").status_code,
                    web.get("/").status_code,
                    web.get("/api/v1/summary").status_code,
                    web.post("/login", data=login).status_code,
                )
            )

        _outage_while_events_flow(settings, rds, store, city, gazetteer, own_pg.stop, own_pg.start, answer, answer)
        assert answers[0] == (200, 200, 200, 302), answers
        answers.pop(0)
        assert answers and set(answers) == {(503, 503, 503, 503)}, answers
        assert web.get("/healthz").status_code == 200 and web.get("/").status_code == 200


def _scope() -> Any:
    from dashboard.scopes import Scope

    return Scope("command_center")


def test_faults002_sqlite_unwritable_for_a_minute(settings, rds, city, gazetteer, tmp_path):  # type: ignore[no-untyped-def]
    """The SQLite store's files made unwritable for a minute (immutable: even root cannot write them; else held
    locked by another connection), then writable again: nothing lost, nothing dead-lettered, the worker alive."""
    with make_store("sqlite", tmp_path, city) as store:
        database = store[0].url.database
        files = [database, log_path(database)]
        lock: list[Any] = []

        def unwritable() -> None:
            found = [f for base in files for f in (base, f"{base}-wal") if Path(f).exists()]
            if (
                shutil.which("chattr")
                and subprocess.run(["chattr", "+i", *found], capture_output=True, check=False).returncode == 0
            ):
                lock.append(found)
                return
            conn = make_engine(store[0].url.render_as_string()).raw_connection()  # no chattr: hold the write lock
            conn.execute("BEGIN EXCLUSIVE")  # of the store and its attached log
            lock.append(conn)

        def writable() -> None:
            held = lock.pop()
            if isinstance(held, list):
                subprocess.run(["chattr", "-i", *held], check=True)
            else:
                held.rollback()
                held.close()

        try:
            _outage_while_events_flow(settings, rds, store, city, gazetteer, unwritable, writable)
        finally:
            if lock:
                writable()


# -- odd events among valid ones, on both stores -------------------------------------------------------------
def odd_events(city: Any) -> tuple[list[str], dict[str, str]]:
    """Events with every odd string the contract allows (stored), and absurd ones (dead letters: id -> reason)."""
    comm = city.communities.iloc[0]
    unit = comm["street"]
    t0 = datetime(2026, 11, 22, 9, 0, tzinfo=TZ)
    created = {"kind": "complaint", "priority": "normal", "community": comm["code"]}
    stored = [
        ev(
            "created",
            "ODD-1",
            t0,
            "odd-1",
            channel="渠道" * 20,
            category=["类" * 70, "\u0001控制\u001f字符", "🚧" * 300],
            summary="NUL\u0000in the citizen's words\u0000, control \u0007\u001b\t\r\n, emoji 🚧👍🏽, RTL \u202e",
            address="\u0000" * 3 + "楼" * 3990,
            **created,
        ),
        ev(
            "created",
            "ODD-2",
            t0,
            "odd-2",
            channel="x" * 4000,
            category=["c" * 4000],
            summary="\U0001f600" * 4000,
            **created,
        ),
        ev("dispatched", "ODD-1", t0 + timedelta(minutes=5), "odd-3", unit=unit),
        ev("accepted", "ODD-1", t0 + timedelta(minutes=6), "odd-4", unit=unit, member="M-" + "9" * 3998),
        ev("returned", "ODD-2", t0 + timedelta(minutes=7), "odd-5", unit=unit, reason="\u0000原因\u0000"),
        ev("created", "ODD-3", t0, "odd-6", channel="phone", category=["城市管理"], summary="\u0000", **created),
        ev("accepted", "ODD-3", t0 + timedelta(minutes=6), "odd-7", unit=unit, member="M-" + "长" * 62),
    ]
    dead = {
        "odd-d1": ev(
            "created",
            "ODD-D1",
            datetime(9999, 12, 31, 9, 0, tzinfo=TZ),
            "odd-d1",
            channel="phone",
            category=["城市管理"],
            **created,
        ),
        "odd-d2": ev(
            "created",
            "ODD-D2",
            t0,
            "odd-d2",
            channel="phone",
            category=["城市管理"],
            due_at="9999-12-31T23:59:59+08:00",
            **created,
        ),
        "odd-d3": ev(
            "dispatched", "ODD-1", t0 + timedelta(minutes=9), "odd-d3", unit=unit, due_at="9999-12-31T23:59:59Z"
        ),
        "odd-d4\u0000": ev("created", "ODD-D4", t0, "odd-d4\u0000", channel="phone", category=["城市管理"], **created),
        "odd-d5": ev("created", "ODD-D5", t0, "odd-d5", channel="ph\u0000one", category=["城市管理"], **created),
        "odd-d6": ev("accepted", "ODD-1", t0 + timedelta(minutes=8), "odd-d6", unit=unit, member="M\u0000"),
        "odd-d7": ev("closed", "ODD-1", datetime(1970, 1, 1, tzinfo=TZ), "odd-d7"),
    }
    return stored, dead


def test_faults003_odd_events_among_valid_ones_are_stored_alike(settings, rds, city, gazetteer, tmp_path):  # type: ignore[no-untyped-def]
    """An event dated 9999-12-31 and events with every odd string the contract allows, among valid ones, on
    SQLite and on PostgreSQL: every valid appeal folded; the odd events stored the same on both stores, or
    dead-lettered (the same on both) with the reason."""
    valid_hist = histories(city, 25, seed=31)
    valid = [t for h in valid_hist.values() for t in h]
    assert len(valid) >= 100
    stored, dead = odd_events(city)
    texts = valid[:50] + stored + list(dead.values()) + valid[50:]
    key = settings.stream("events")
    push(rds, key, texts)
    tables, letters = {}, {}
    for kind in ("sqlite", "postgresql"):
        with make_store(kind, tmp_path, city) as store:
            own = settings.model_copy(update={"consumer_group": f"faults-{kind}"})
            w = IngestWorker(own, rds, store[1], store[0], gazetteer, consumer=kind)
            w.ensure_groups()
            log_all(w)
            fold_all(store[1], own)
            assert counts(store) == (len(valid) + len(stored), len(valid_hist) + 3)
            assert w.status.dead == len(dead) and w.status.ok
            tables[kind] = {
                k: {c: v for c, v in row.items() if c not in SKIP_COLS} for k, row in appeals_table(store).items()
            }
            letters[kind] = rds.xrange(own.stream("events:dead"))
            rds.delete(own.stream("events:dead"))
    assert set(valid_hist) <= set(tables["sqlite"])
    assert tables["postgresql"] == tables["sqlite"]
    odd = tables["sqlite"]
    assert odd["ODD-1"]["channel"] == "渠道" * 20 and odd["ODD-1"]["cat3"] == "🚧" * 300
    assert odd["ODD-1"]["summary"].startswith("NUL\ufffdin the citizen's words\ufffd, control \u0007\u001b")
    assert odd["ODD-1"]["member"] == "M-" + "9" * 3998 and odd["ODD-2"]["channel"] == "x" * 4000
    assert odd["ODD-3"]["summary"] == "\ufffd"
    assert [f for _, f in letters["postgresql"]] == [f for _, f in letters["sqlite"]]
    got = {json.loads(f[b"event"])["id"]: f[b"error"].decode() for _, f in letters["sqlite"]}
    assert set(got) == set(dead)
    for eid in ("odd-d1", "odd-d7"):
        assert "at: outside the years 2000 to 2999" in got[eid], got
    for eid in ("odd-d2", "odd-d3"):
        assert "due_at: outside the years 2000 to 2999" in got[eid], got
    assert "id: contains U+0000" in got["odd-d4\u0000"] and "channel: contains U+0000" in got["odd-d5"]
    assert "member: contains U+0000" in got["odd-d6"]


# -- dead letters are the entries as sent -----------------------------------------------------------------------
def fuzzed_entries(city: Any, n: int, seed: int) -> tuple[list[list[tuple[bytes, bytes]]], int]:
    """Entries as an intake side gone wrong writes them: valid events among invalid UTF-8, cut JSON, missing and
    extra fields, no `event` field, two `event` fields, binary noise; and how many valid events there are."""
    rnd = random.Random(seed)
    valid = [t.encode() for h in histories(city, n, seed=seed).values() for t in h]
    out: list[list[tuple[bytes, bytes]]] = []
    for i, good in enumerate(valid):
        out.append([(b"event", good)] if i % 3 else [(b"event", good), (b"trace", os.urandom(8))])  # extras: fine
        out.append(_broken(rnd, good))
    return out, len(valid)


def _broken(rnd: random.Random, good: bytes) -> list[tuple[bytes, bytes]]:
    """One way or another to get an entry wrong, from a valid event."""
    obj = json.loads(good)
    way = rnd.randrange(10)
    if way == 0:
        return [(b"event", good[: rnd.randrange(1, len(good))])]  # cut short (maybe inside a character)
    if way == 1:
        return [(b"event", good.replace(b'"v": 1', b'"v": 1, "note": "\xff\xfe\xc3\x28"'))]  # invalid UTF-8
    if way == 2:
        return [(b"event", b"\x80" + good)]
    if way == 3:
        missing = rnd.choice(["v", "id", "type", "appeal", "at"])
        return [(b"event", json.dumps({k: v for k, v in obj.items() if k != missing}).encode())]
    if way == 4:
        return [(b"payload", good)]  # no `event` field
    if way == 5:
        return [(b"event", good), (b"event", good)]  # two of them
    if way == 6:
        return [(b"\xff\x00key", os.urandom(rnd.randrange(0, 64)))]  # noise, odd field names
    if way == 7:  # fields named as the dead letter's own
        return [(b"event", os.urandom(rnd.randrange(1, 200))), (b"error", b"theirs"), (b"source", b"0-1")]
    if way == 8:
        return [(b"event", b"")]
    return [(b"event", json.dumps({**obj, "at": "9999-12-31T23:59:59Z"}).encode())]


def test_faults004_dead_letters_are_the_entries_as_sent(settings, rds, store, city, gazetteer):  # type: ignore[no-untyped-def]
    """A fuzzed stream: each dead letter holds the entry's fields exactly as sent (names, values, order, bytes),
    then `error` and `source`; every valid event is stored."""
    key = settings.stream("events")
    entries, n_valid = fuzzed_entries(city, 40, seed=41)
    pipe = rds.pipeline(transaction=False)
    for fields in entries:
        pipe.execute_command("XADD", key, "*", *[x for pair in fields for x in pair])
    sent_ids = [i.decode() for i in pipe.execute()]
    sent = dict(zip(sent_ids, entries))
    small = settings.model_copy(update={"ingest_batch": 17})
    w = IngestWorker(small, redis.Redis.from_url(REDIS_URL, decode_responses=True), store[1], store[0], gazetteer)
    w.ensure_groups()
    log_all(w)
    raw = raw_client(rds)
    dead = raw.execute_command("XRANGE", settings.stream("events:dead"), "-", "+")
    assert dead and len(dead) == w.status.dead
    for _, flat in dead:
        got = pairs(flat)
        (error, reason), (source, entry_id) = got[-2:]
        assert error == b"error" and reason and source == b"source"
        assert got[:-2] == sent[entry_id.decode()], entry_id  # byte for byte, in order
    assert counts(store)[0] == n_valid and len(dead) == len(entries) - n_valid
    assert rds.xpending(key, settings.consumer_group)["pending"] == 0


# -- a batch of entries delivered many times: handled, not given up ---------------------------------------------
def test_faults005_entries_delivered_many_times_are_stored_not_dead_lettered(settings, rds, store, city, gazetteer):  # type: ignore[no-untyped-def]
    """Entries whose delivery count passed max_deliveries (an outage and restarts raise it) are handled one at a
    time and stored; before, all of a batch went to the dead letters and XACK with no ids ended the worker."""
    key = settings.stream("events")
    texts = [t for h in histories(city, 5, seed=51).values() for t in h]
    push(rds, key, texts)
    w = IngestWorker(settings, rds, store[1], store[0], gazetteer, consumer="again")
    w.ensure_groups()
    for _ in range(settings.max_deliveries + 2):  # delivered and never acknowledged, as by a worker that kept dying
        rds.xreadgroup(settings.consumer_group, "again", {key: "0" if _ else ">"}, count=1000)
    assert {p["times_delivered"] for p in rds.xpending_range(key, settings.consumer_group, "-", "+", 1000)} == {
        settings.max_deliveries + 2
    }
    log_all(w)
    assert counts(store)[0] == len(texts) and rds.xlen(settings.stream("events:dead")) == 0
    assert rds.xpending(key, settings.consumer_group)["pending"] == 0
    assert not rds.exists(f"{key}:tries")


# -- an entry that breaks the code: isolated; the worker goes on ------------------------------------------------
class BrokenGazetteer(Gazetteer):
    """The city's gazetteer with a defect that one appeal's events trigger (a stand-in for a bug in our code)."""

    def place_events(self, events):  # type: ignore[no-untyped-def]
        if any(e.appeal == "BOOM" for e in events):
            raise ZeroDivisionError("a defect")
        return super().place_events(events)


def test_faults006_an_entry_that_breaks_the_code_is_isolated(settings, rds, store, city):  # type: ignore[no-untyped-def]
    """An entry that raises an unexpected error while the others of its batch go through is dead-lettered with the
    reason; the others are stored, and the loop lives on."""
    key = settings.stream("events")
    texts = [t for h in histories(city, 10, seed=61).values() for t in h]
    boom = ev("closed", "BOOM", datetime(2026, 11, 22, 9, 0, tzinfo=TZ), "boom-1")
    push(rds, key, texts[:20] + [boom] + texts[20:])
    w = IngestWorker(settings, rds, store[1], store[0], BrokenGazetteer(city), consumer="w")
    stop = threading.Event()
    t = threading.Thread(target=supervise, args=(w, stop))
    t.start()
    try:
        assert _wait(lambda: counts(store)[0] == len(texts) and w.status.dead == 1, 60), (counts(store), w.status)
    finally:
        stop.set()
        t.join(30)
    ((_, letter),) = rds.xrange(settings.stream("events:dead"))
    assert letter[b"event"] == boom.encode() and b"ZeroDivisionError: a defect" in letter[b"error"]
    assert w.status.restarts == 0


def test_faults007_the_supervisor_starts_an_ended_loop_again(settings, rds, store, city, gazetteer):  # type: ignore[no-untyped-def]
    """Should the loop end all the same (here: SystemExit from a callee), the supervisor starts it again."""

    class EndsOnce(IngestWorker):
        ended = False

        def run(self, stop: threading.Event) -> None:
            if not EndsOnce.ended:
                EndsOnce.ended = True
                raise SystemExit("from a callee")
            super().run(stop)

    key = settings.stream("events")
    texts = [t for h in histories(city, 3, seed=71).values() for t in h]
    push(rds, key, texts)
    w = EndsOnce(settings, rds, store[1], store[0], gazetteer, consumer="w")
    stop = threading.Event()
    t = threading.Thread(target=supervise, args=(w, stop, 0.1))
    t.start()
    try:
        assert _wait(lambda: counts(store)[0] == len(texts), 60)
        assert w.status.restarts == 1 and t.is_alive()
    finally:
        stop.set()
        t.join(30)


def test_faults008_health_reports_work_that_does_not_move(settings, rds, store, city, gazetteer):  # type: ignore[no-untyped-def]
    """Unhealthy, with the age of the oldest waiting item, when an entry waits unread or unacknowledged, or an
    event waits unprojected, longer than HEALTH_STALL_S (PROJECTION_STALL_S for the projection)."""
    quick = settings.model_copy(update={"health_stall_s": 1, "projection_stall_s": 1})
    svc = services(quick, store, city, rds, REDIS_URL)
    key = quick.stream("events")
    texts = [t for h in histories(city, 3, seed=81).values() for t in h]
    w = IngestWorker(quick, rds, store[1], store[0], gazetteer, consumer="w")
    w.ensure_groups()
    push(rds, key, texts[:2])
    time.sleep(1.2)
    ok, report = health(svc, None)
    assert not ok and any("events: entries written" in s for s in report["stalled"]), report
    assert report["oldest_waiting_s"]["events"] >= 1
    rds.xreadgroup(quick.consumer_group, "w", {key: ">"}, count=1)  # delivered, never acknowledged
    time.sleep(1.2)
    ok, report = health(svc, None)
    assert any("events: an entry delivered" in s for s in report["stalled"]), report
    log_all(w)
    time.sleep(1.2)
    ok, report = health(svc, None)
    assert report["waiting"]["events"] == 0 and report["oldest_waiting_s"]["events"] is None
    assert any(s.startswith("fold: an event received") for s in report["stalled"]) and not ok, report
    fold_all(store[1], quick)
    w.step()  # the loop turns
    ok, report = health(svc, w.status)
    assert report["stalled"] == [] and ok, report
    w.status.beat -= 2  # a loop that stopped turning
    ok, report = health(svc, w.status)
    assert not ok and report["stalled"][0].startswith("ingest: its loop has not turned"), report


def test_faults009_postgresql_columns_hold_what_the_contract_allows(own_pg, city):  # type: ignore[no-untyped-def]
    """Migration 0012 on PostgreSQL: the columns the contract leaves unbounded are text."""
    with store_at(own_pg.url, city) as store, store[0].connect() as conn:
        types = dict(
            conn.execute(
                text("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'appeals'")
            ).all()
        )
        source = conn.scalar(
            text(
                "SELECT character_maximum_length FROM information_schema.columns "
                "WHERE table_name = 'appeal_events' AND column_name = 'source'"
            )
        )
    assert {types[c] for c in ("channel", "cat1", "cat2", "cat3", "member")} == {"text"} and source == 64
