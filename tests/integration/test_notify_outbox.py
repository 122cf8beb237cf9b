"""The outbox on real SQLite and PostgreSQL: one delivery per enabled, reachable channel, in the caller's
transaction, idempotent by (key, channel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from dashboard.notices import Notice, Recipient
from dashboard.settings import load_settings
from data_access.notify.outbox import UNREACHED, queue
from data_access.notify.tables import Delivery

T0 = datetime(2026, 11, 29, 6, tzinfo=UTC)
ON = load_settings(
    demo=False,
    notify_wecom_url="https://127.0.0.1:1/wecom",
    notify_sms_url="https://127.0.0.1:1/sms",
    notify_sms_token="t",
    notify_smtp_host="127.0.0.1",
    notify_smtp_from="cc@example.invalid",
)
ALL = Recipient("王主任", "principal", "13800000001", "wang@example.invalid", "13800000001", "d1", "f1")
PHONE_ONLY = Recipient("李科长", "in_charge", "13800000002", None, None, None, None, language="en")


def notice(key: str, who: Recipient = ALL) -> Notice:
    return Notice(key, who, "黄灯", "诉求 A1 已用一半时限", "/appeal/A1", "escalation", "A1", "110101", None, None)


def rows(sessions: Any) -> list[tuple[str, str, str, str]]:
    with sessions() as s:
        return [
            (d.key, d.channel, d.address, d.state)
            for d in s.scalars(select(Delivery).order_by(Delivery.key, Delivery.channel))
        ]


def test_queue_one_row_per_enabled_reachable_channel_idempotent(store: Any) -> None:
    engine, sessions, _ = store
    with engine.begin() as conn:
        assert queue(conn, [notice("esc:A1:yellow:u1"), notice("esc:A1:yellow:u2", PHONE_ONLY)], ON, now=T0) == 4
    with engine.begin() as conn:  # queued again (a producer's retry): nothing new, nothing changed
        assert queue(conn, [notice("esc:A1:yellow:u1"), notice("esc:A1:yellow:u2", PHONE_ONLY)], ON, now=T0) == 0
    assert rows(sessions) == [
        ("esc:A1:yellow:u1", "email", "wang@example.invalid", "pending"),
        ("esc:A1:yellow:u1", "sms", "13800000001", "pending"),
        ("esc:A1:yellow:u1", "wecom", "13800000001", "pending"),
        ("esc:A1:yellow:u2", "sms", "13800000002", "pending"),
    ]


def test_queue_belongs_to_the_callers_transaction(store: Any) -> None:
    engine, sessions, _ = store
    conn = engine.connect()
    tx = conn.begin()
    assert queue(conn, [notice("esc:A1:red:u1")], ON, now=T0) == 3
    tx.rollback()
    conn.close()
    assert rows(sessions) == []


def test_nothing_on_still_records(store: Any) -> None:
    engine, sessions, _ = store
    with engine.begin() as conn:
        assert queue(conn, [notice("esc:A1:red:u1")], load_settings(demo=False), now=T0) == 1
    assert rows(sessions) == [("esc:A1:red:u1", UNREACHED, "", UNREACHED)]
