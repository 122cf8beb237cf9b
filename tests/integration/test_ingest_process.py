"""The ingest worker as its own process: SIGKILL mid-batch, restart, compare with a clean replay."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.contract import parse_event
from data_access.intake.consumer import IngestWorker
from data_access.intake.event_log import Accepted, store_events
from data_access.ops.embedded_redis import EmbeddedRedis, connect
from data_access.ops.health import health
from data_access.projection.projector import Projector, ProjectorProcesses, all_folded
from tests.conftest import CACHE_DIR, REDIS_URL, ROOT, make_store
from tests.histories import histories
from tests.ingest_support import appeals_table, counts, drain, push
from tests.wall_support import services


def _spawn(settings, url: str) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = dict(
        os.environ,
        REDIS_URL=REDIS_URL,
        DATABASE_URL=url,
        HOTLINE_PREFIX=settings.hotline_prefix,
        VAR_DIR=str(CACHE_DIR),
        INGEST_CLAIM_IDLE_MS="1000",
        INGEST_BATCH="200",
        PROJECTION_BATCH="200",
        DEMO="false",
    )
    return subprocess.Popen(
        [sys.executable, "app.py", "ingest"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def folded(store) -> bool:  # type: ignore[no-untyped-def]
    """Whether every stored event is folded into its appeal."""
    with store[1]() as s:
        return all_folded(s)


def _wait(pred, seconds: float = 180) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_ingest101_sigkill_mid_batch_loses_nothing(settings, rds, store, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    hist = histories(city, 3000, seed=11)
    texts = [t for h in hist.values() for t in h]
    random.Random(2).shuffle(texts)
    key = settings.stream("events")
    push(rds, key, texts)
    engine, _sessions, url = store
    first = _spawn(settings, url)
    try:
        assert _wait(lambda: counts(store)[0] > 2000), first.communicate()[1].decode() if first.poll() else "slow"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert counts(store)[0] < len(texts), "killed too late to test anything"
    second = _spawn(settings, url)
    try:
        done = _wait(
            lambda: (
                counts(store) == (len(texts), 3000)
                and folded(store)
                and rds.xpending(key, settings.consumer_group)["pending"] == 0
            )
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert done, f"stored {counts(store)[0]} of {len(texts)}"
    assert rds.xlen(settings.stream("events:dead")) == 0
    # A clean replay of the same stream, in its own group, into a fresh store.
    with make_store(engine.dialect.name, tmp_path, city) as clean:
        replay = settings.model_copy(update={"consumer_group": "replay"})
        w = IngestWorker(replay, rds, clean[1], clean[0], gazetteer, consumer="r")
        w.ensure_groups()
        drain(w)
        assert counts(clean) == counts(store) == (len(texts), 3000)
        assert appeals_table(clean) == appeals_table(store)


def test_ingest103_a_killed_projector_is_replaced_and_loses_nothing(settings, rds, store, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    """SIGKILL a projector process of `python app.py ingest` mid-fold: another takes its place and the
    appeals end as a clean replay's."""
    hist = histories(city, 1500, seed=13)
    texts = [t for h in hist.values() for t in h]
    random.Random(3).shuffle(texts)
    push(rds, settings.stream("events"), texts)
    engine, _sessions, url = store
    proc = _spawn(settings, url)
    try:
        assert _wait(lambda: counts(store)[1] > 300), proc.communicate()[1].decode() if proc.poll() else "slow"
        children = [c for t in Path(f"/proc/{proc.pid}/task").iterdir() for c in (t / "children").read_text().split()]
        projectors = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(projectors) == settings.projectors, children
        os.kill(projectors[0], signal.SIGKILL)
        assert counts(store)[1] < 1500 or not folded(store), "killed too late to test anything"
        done = _wait(lambda: counts(store) == (len(texts), 1500) and folded(store))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert done, f"appeals {counts(store)[1]} of 1500"
    assert b"the projector process of partition" in err and b"ended" in err
    with make_store(engine.dialect.name, tmp_path, city) as clean:
        w = IngestWorker(
            settings.model_copy(update={"consumer_group": "replay"}), rds, clean[1], clean[0], gazetteer, consumer="r"
        )
        w.ensure_groups()
        drain(w)
        assert appeals_table(clean) == appeals_table(store)


def test_ingest102_redis_goes_away_and_comes_back(settings, store, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    server = EmbeddedRedis(tmp_path, port=0)
    client = connect(server.start(), settings.ingest_block_ms)
    engine, sessions, _ = store
    hist = list(histories(city, 40, seed=12).values())
    w = IngestWorker(settings, client, sessions, engine, gazetteer, consumer="w")
    stop = threading.Event()
    threads = [threading.Thread(target=x.run, args=(stop,)) for x in (w, Projector(settings, sessions))]
    for t in threads:
        t.start()
    try:
        push(client, settings.stream("events"), [x for h in hist[:20] for x in h])
        assert _wait(lambda: counts(store)[1] == 20, 60)
        server.stop()
        assert _wait(lambda: not w.status.ok, 30)
        assert "Redis" in w.status.problem
        server.start()
        client2 = connect(server.url)
        push(client2, settings.stream("events"), [x for h in hist[20:] for x in h])
        assert _wait(lambda: counts(store)[1] == 40 and w.status.ok, 90), w.status
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        server.stop()


def test_ingest104_health_reports_the_fold_queue_and_a_stopped_projector(settings, rds, store, city):  # type: ignore[no-untyped-def]
    """/healthz's report: events waiting to be folded and the oldest one's age; unhealthy once a projector
    process this one started has ended."""
    texts = [t for h in histories(city, 5, seed=14).values() for t in h]
    now = datetime.now(UTC)
    with store[1]() as s, s.begin():  # logged and queued, not folded: as the worker leaves them
        store_events(
            s, [Accepted(parse_event(t), t, f"0-{i}") for i, t in enumerate(texts)], now - timedelta(seconds=30)
        )
    svc = services(settings, store, city, rds, REDIS_URL)
    projectors = ProjectorProcesses(settings, store[2])
    ok, report = health(svc, None, now=now, projectors=projectors)
    assert report["fold"]["queued"] == len(texts) and report["fold"]["oldest_queued_s"] >= 30, report
    assert report["fold"]["running"] is True
    assert _wait(lambda: folded(store), 60)
    projectors.close(30)
    ok, report = health(svc, None, projectors=projectors)
    assert report["fold"] == {
        "queued": 0,
        "oldest_queued_s": None,
        "stalled": False,
        "isolated": 0,
        "newest_failure": None,
        "running": False,
    }
    assert not ok
