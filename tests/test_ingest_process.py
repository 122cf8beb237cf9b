"""The ingest worker as its own process: SIGKILL mid-batch, restart, compare with a clean replay."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data_access.ingest import IngestWorker
from data_access.models import Appeal, AppealEvent
from data_access.redis_server import EmbeddedRedis, connect
from tests.conftest import CACHE_DIR, REDIS_URL, ROOT, make_store
from tests.histories import histories
from tests.test_ingest import appeals_table, counts, drain, push


def _spawn(settings, url: str) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = dict(os.environ, REDIS_URL=REDIS_URL, DATABASE_URL=url, HOTLINE_PREFIX=settings.hotline_prefix,
               VAR_DIR=str(CACHE_DIR), INGEST_CLAIM_IDLE_MS="1000", INGEST_BATCH="200", DEMO="false")
    return subprocess.Popen([sys.executable, "app.py", "ingest"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


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
    engine, sessions, url = store
    first = _spawn(settings, url)
    try:
        assert _wait(lambda: counts(store)[0] > 2000), first.stderr.read().decode() if first.poll() else "slow"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert counts(store)[0] < len(texts), "killed too late to test anything"
    second = _spawn(settings, url)
    try:
        done = _wait(lambda: counts(store)[0] == len(texts)
                     and rds.xpending(key, settings.consumer_group)["pending"] == 0)
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


def test_ingest102_redis_goes_away_and_comes_back(settings, store, gazetteer, city, tmp_path):  # type: ignore[no-untyped-def]
    server = EmbeddedRedis(tmp_path, port=0)
    client = connect(server.start(), settings.ingest_block_ms)
    engine, sessions, _ = store
    hist = list(histories(city, 40, seed=12).values())
    w = IngestWorker(settings, client, sessions, engine, gazetteer, consumer="w")
    stop = threading.Event()
    t = threading.Thread(target=w.run, args=(stop,))
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
        t.join(30)
        server.stop()
