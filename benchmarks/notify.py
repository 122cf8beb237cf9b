"""Notification throughput: messages/s through the sender to a local HTTPS robot, on SQLite and PostgreSQL.

    python benchmarks/notify.py [--messages 2000] [--recipients 200] [--backends sqlite,postgresql]

Queues the messages in one transaction (the producer's cost), then runs sender passes until all are sent to a
local HTTPS server standing in for the WeCom robot (TLS, JSON, one request per message; the server answers at
once). Recipients' lanes go out in parallel (8 threads); one recipient's messages go one after another (its
order). Digests are off (NOTIFY_DIGEST_COUNT above the burst) so every message is one call. Also prints the
rate of one lane alone (order-bound: one call at a time).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from dashboard.notices import Notice, Recipient
from dashboard.settings import load_settings
from data_access.notify.outbox import queue
from data_access.notify.sender import Sender
from data_access.notify.tables import Delivery
from data_access.store.engine import make_engine, migrate
from tests.notify_support import https_receiver

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def run(url: str, messages: int, recipients: int, folder: Path) -> tuple[float, float]:
    """(queued/s, sent/s) for `messages` spread over `recipients`."""
    engine = make_engine(url)
    migrate(engine)
    with https_receiver(folder) as (rx, ca):
        s = load_settings(
            demo=False,
            notify_wecom_url=f"{rx.url}/wecom",
            notify_ca_file=ca,
            notify_digest_count=messages + 1,
        )
        people = [Recipient(f"R{i}", "principal", None, None, f"1390000{i:04d}", None, None) for i in range(recipients)]
        notices = [
            Notice(f"bench:{i}", people[i % recipients], f"红灯 A{i}", "已超期", f"/area/a/A{i}", "bench", f"A{i}",
                   "110101", None, None)
            for i in range(messages)
        ]  # fmt: skip
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            queue(conn, notices, s, now=now)
        queued = time.perf_counter() - t0
        sender = Sender(s, engine, batch=recipients)
        t0 = time.perf_counter()
        while True:
            if not sender.step(now=datetime.now(UTC) + timedelta(seconds=1)):
                break
        sent_s = time.perf_counter() - t0
        sender.close()
        with engine.connect() as conn:
            sent = conn.scalar(select(func.count()).where(Delivery.state == "sent"))
        assert sent == messages == len(rx.of("/wecom")), (sent, messages, len(rx.of("/wecom")))
    engine.dispose()
    return messages / queued, messages / sent_s


def backend_url(kind: str, folder: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.sqlite'}", None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return f"{PG_URL}?options=-csearch_path%3D{schema}", schema


def drop(schema: str | None) -> None:
    if schema:
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--recipients", type=int, default=200)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="notify-bench-") as tmp:
        folder = Path(tmp)
        for kind in args.backends.split(","):
            for label, n, r in (
                (f"{args.recipients} recipients", args.messages, args.recipients),
                ("1 recipient (one lane)", min(300, args.messages), 1),
            ):
                url, schema = backend_url(kind, folder)
                try:
                    q, sent = run(url, n, r, folder)
                finally:
                    drop(schema)
                print(f"{kind:10s} {label:24s} {n:6d} messages: queued {q:8.0f}/s  sent {sent:7.0f}/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
