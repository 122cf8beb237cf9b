"""Delivery against real receivers started here (an HTTPS server for the robots and the SMS gateway, aiosmtpd for
e-mail), on real SQLite and PostgreSQL; time is moved by passing `now`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dashboard.notices import Attachment, Notice, Recipient
from dashboard.settings import Settings, load_settings
from data_access.notify.channels import make_channels
from data_access.notify.outbox import queue
from data_access.notify.sender import Sender
from data_access.notify.tables import Attempt, Delivery
from tests.notify_support import Receiver, Request, https_receiver, smtp_server

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 29, 6, tzinfo=UTC)
SECRET_D = "SECdingtalk-test-secret"
SECRET_F = "feishu-test-secret"
WANG = Recipient("王主任", "principal", "13800000001", "wang@example.invalid", "13800000001", "13800000001", "ou_wang")
LI = Recipient("Li", "in_charge", "13800000002", None, "li.userid", None, None, language="en")


def notify_settings(rx: Receiver, ca: Path, smtp_port: int | None = None, **more: Any) -> Settings:
    base: dict[str, Any] = {
        "demo": False,
        "public_url": "https://cc.example.invalid",
        "notify_wecom_url": f"{rx.url}/wecom?key=k",
        "notify_dingtalk_url": f"{rx.url}/dingtalk?access_token=t",
        "notify_dingtalk_secret": SECRET_D,
        "notify_feishu_url": f"{rx.url}/feishu",
        "notify_feishu_secret": SECRET_F,
        "notify_sms_url": f"{rx.url}/sms",
        "notify_sms_token": "sms-token",
        "notify_ca_file": ca,
        "notify_retry_base_s": 10,
        "notify_rate_limit_s": 60,
    }
    if smtp_port:
        base |= {
            "notify_smtp_host": "127.0.0.1",
            "notify_smtp_port": smtp_port,
            "notify_smtp_from": "cc@example.invalid",
            "notify_smtp_starttls": False,
        }
    return load_settings(**(base | more))


def notice(key: str, who: Recipient, appeal: str = "A1", attachments: tuple[Attachment, ...] = ()) -> Notice:
    return Notice(
        key, who, f"红灯 {appeal}", f"诉求 {appeal} 已超期 2 小时", f"/appeal/{appeal}", "escalation", appeal,
        "110101", "110101001", None, attachments,
    )  # fmt: skip


def ref(request: Request) -> str:
    """The message reference (idempotency key) at the end of a WeCom text, in either language."""
    match = re.search(r"(?:消息编号：|Message ref: )(\S+)$", request.body["text"]["content"])
    assert match, request.body
    return match.group(1)


def put(engine: Any, notices: list[Notice], settings: Settings, now: datetime = T0) -> int:
    with engine.begin() as conn:
        return queue(conn, notices, settings, now=now)


def drain(sender: Sender, now: datetime, step: timedelta = timedelta(minutes=30), most: int = 40) -> datetime:
    """Pass after pass, moving time on, until nothing waits; returns the last `now`."""
    for _ in range(most):
        sender.step(now=now)
        with sender.sessions() as s:
            if not s.scalar(select(Delivery.id).where(Delivery.state.in_(("pending", "sending"))).limit(1)):
                return now
        now += step
    raise AssertionError("deliveries still waiting")


def test_each_channel_gets_its_documented_body_and_signature(store: Any, tmp_path: Path) -> None:
    engine, sessions, _ = store
    report = tmp_path / "report.csv"
    report.write_text("id,late\nA1,2h\n", encoding="utf-8")
    with https_receiver(tmp_path) as (rx, ca), smtp_server() as (box, port):
        s = notify_settings(rx, ca, port)
        assert (
            put(engine, [notice("esc:A1:red:u1", WANG, attachments=(Attachment("r.csv", "text/csv", str(report)),))], s)
            == 5
        )
        before = int(time.time())
        sender = Sender(s, engine)
        assert sender.step(now=T0) == 5
        sender.close()
        after = int(time.time()) + 1
    text = "红灯 A1\n诉求 A1 已超期 2 小时\n查看：https://cc.example.invalid/appeal/A1\n消息编号：esc:A1:red:u1"
    (wecom,) = rx.of("/wecom")
    assert wecom.body == {"msgtype": "text", "text": {"content": text, "mentioned_mobile_list": ["13800000001"]}}
    assert wecom.query == {"key": ["k"]}
    (ding,) = rx.of("/dingtalk")
    assert ding.body == {
        "msgtype": "text",
        "text": {"content": text + "\n@13800000001"},
        "at": {"atMobiles": ["13800000001"]},
    }
    ts = ding.query["timestamp"][0]
    assert before * 1000 <= int(ts) <= after * 1000
    mac = hmac.new(SECRET_D.encode(), f"{ts}\n{SECRET_D}".encode(), hashlib.sha256).digest()
    assert ding.query["sign"] == [base64.b64encode(mac).decode()]  # parse_qs has undone the URL encoding
    assert ding.query["access_token"] == ["t"]
    (feishu,) = rx.of("/feishu")
    fts = feishu.body["timestamp"]
    assert before <= int(fts) <= after
    mac = hmac.new(f"{fts}\n{SECRET_F}".encode(), b"", hashlib.sha256).digest()
    assert feishu.body == {
        "timestamp": fts,
        "sign": base64.b64encode(mac).decode(),
        "msg_type": "text",
        "content": {"text": '<at user_id="ou_wang">王主任</at> ' + text},
    }
    (sms,) = rx.of("/sms")
    assert sms.body == {"phone": "13800000001", "text": text, "key": "esc:A1:red:u1"}
    assert sms.headers["Authorization"] == "Bearer sms-token"
    (mail,) = box.messages
    assert mail["Subject"] == "红灯 A1" and mail["X-Notice-Key"] == "esc:A1:red:u1"
    assert mail["To"] == "王主任 <wang@example.invalid>"
    assert mail["Message-ID"].endswith("@example.invalid>")
    parts = {p.get_filename(): p for p in mail.walk() if p.get_filename()}
    assert parts["r.csv"].get_payload(decode=True) == report.read_bytes()
    with sessions() as sx:
        assert {d.state for d in sx.scalars(select(Delivery))} == {"sent"}
        assert [a.outcome for a in sx.scalars(select(Attempt))] == ["sent"] * 5


def test_down_then_rate_limited_then_accepted_delivers_each_once_in_order(store: Any, tmp_path: Path) -> None:
    engine, sessions, _ = store
    with https_receiver(tmp_path) as (rx, ca):
        s = notify_settings(rx, ca, notify_dingtalk_url=None, notify_feishu_url=None, notify_sms_url=None)
        keys_wang = [f"esc:A{i}:red:u1" for i in range(3)]
        keys_li = [f"esc:B{i}:red:u2" for i in range(2)]
        put(engine, [notice(k, WANG) for k in keys_wang] + [notice(k, LI) for k in keys_li], s)
        down = Sender(
            s,
            engine,
            channels=make_channels(
                load_settings(**(s.model_dump() | {"notify_wecom_url": "https://127.0.0.1:9/wecom"}))
            ),
        )
        assert down.step(now=T0) == 2  # both lanes' heads fail: connection refused
        down.close()
        limited = iter([True, True])
        rx.scripts["/wecom"] = lambda r: (
            (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
            if next(limited, False)
            else (200, {"errcode": 0})
        )
        sender = Sender(s, engine)
        assert sender.step(now=T0) == 0  # nothing due yet: the retry waits its backoff
        drain(sender, T0 + timedelta(minutes=30))
        sender.close()
    accepted = rx.of("/wecom")[2:]  # the first two were answered 45009
    refs = [ref(r) for r in accepted]
    assert sorted(refs) == sorted(keys_wang + keys_li)  # each exactly once
    assert [k for k in refs if k in keys_wang] == keys_wang and [k for k in refs if k in keys_li] == keys_li
    with sessions() as sx:
        outcomes = [a.outcome for a in sx.scalars(select(Attempt).order_by(Attempt.id))]
        assert outcomes[:4] == ["retry", "retry", "rate_limited", "rate_limited"]
        assert outcomes[4:] == ["sent"] * 5
        assert {d.state for d in sx.scalars(select(Delivery))} == {"sent"}


def test_a_burst_to_one_recipient_is_one_digest(store: Any, tmp_path: Path) -> None:
    engine, sessions, _ = store
    with https_receiver(tmp_path) as (rx, ca):
        s = notify_settings(rx, ca, notify_dingtalk_url=None, notify_feishu_url=None, notify_sms_url=None)
        put(engine, [notice(f"esc:A{i}:red:u1", WANG, f"A{i}") for i in range(7)], s)  # 7 > 5 within 10 min
        put(engine, [notice(f"esc:B{i}:red:u2", LI, f"B{i}") for i in range(3)], s)  # 3: one by one
        put(engine, [notice("esc:C:red:u1", WANG, "C")], s, now=T0 + timedelta(minutes=11))  # outside the window
        sender = Sender(s, engine)
        drain(sender, T0 + timedelta(minutes=12))
        sender.close()
    to_wang = [r.body["text"]["content"] for r in rx.of("/wecom") if r.body["text"].get("mentioned_mobile_list")]
    assert len(to_wang) == 2
    assert to_wang[0].startswith("7 条待办提醒\n王主任：您有 7 条提醒")
    assert all(f"红灯 A{i}" in to_wang[0] and f"/appeal/A{i}" in to_wang[0] for i in range(7))
    assert to_wang[0].endswith("消息编号：digest:esc:A0:red:u1:7")
    assert to_wang[1].startswith("红灯 C\n")
    to_li = [r.body["text"]["content"] for r in rx.of("/wecom") if r.body["text"].get("mentioned_list")]
    assert [c.splitlines()[0] for c in to_li] == ["红灯 B0", "红灯 B1", "红灯 B2"]  # English recipient, own text
    assert to_li[0].endswith("Message ref: esc:B0:red:u2")
    with sessions() as sx:
        batch = {d.key: d.batch for d in sx.scalars(select(Delivery))}
    assert len({batch[f"esc:A{i}:red:u1"] for i in range(7)}) == 1 and batch["esc:C:red:u1"] is None


def _send_process(url: str, rx: Receiver, ca: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VAR_DIR": str(tmp_path),
        "NOTIFY_WECOM_URL": f"{rx.url}/wecom",
        "NOTIFY_CA_FILE": str(ca),
        "NOTIFY_POLL_S": "0.2",
    }
    return subprocess.Popen(
        [sys.executable, "app.py", "send"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def test_a_sender_killed_with_its_call_in_flight_loses_nothing(store: Any, tmp_path: Path) -> None:
    """`python app.py send` is killed (SIGKILL) after its claim, while the robot holds its call unanswered. The
    lease keeps the message from a second sender until it expires; then it is sent again with the same key (the
    at-least-once boundary: the robot has now seen that key twice), and the lane goes on in order; no other
    message is repeated and none is lost."""
    engine, sessions, url = store
    with https_receiver(tmp_path) as (rx, ca):
        s = notify_settings(rx, ca, notify_dingtalk_url=None, notify_feishu_url=None, notify_sms_url=None)
        keys = [f"esc:A{i}:red:u1" for i in range(3)]
        now = datetime.now(UTC)
        put(engine, [notice(k, WANG) for k in keys], s, now=now)
        held, release = threading.Event(), threading.Event()

        def hold(_r: Request) -> tuple[int, Any]:
            held.set()
            release.wait(30)
            return 200, {"errcode": 0}

        rx.scripts["/wecom"] = hold
        proc = _send_process(url, rx, ca, tmp_path)
        try:
            assert held.wait(60), "the sender process made no call"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(30)
            release.set()
        in_flight = [ref(r) for r in rx.of("/wecom")]
        assert in_flight == keys[:1]
        with sessions() as sx:
            assert sx.scalar(select(Delivery.state).where(Delivery.key == keys[0])) == "sending"
        rx.got.clear()
        rx.scripts["/wecom"] = lambda r: (200, {"errcode": 0})
        sender = Sender(s, engine)
        assert sender.step(now=now + timedelta(seconds=1)) == 0  # the lease holds: not sent again yet
        drain(sender, now + timedelta(seconds=s.notify_lease_s + 1))
        sender.close()
    refs = [ref(r) for r in rx.of("/wecom")]
    assert refs == keys  # after the crash: the one in flight again (same key), then the rest, each once, in order
    with sessions() as sx:
        assert {d.state for d in sx.scalars(select(Delivery))} == {"sent"}
        assert [a.outcome for a in sx.scalars(select(Attempt).order_by(Attempt.id))] == ["sent"] * 3


def test_send_command_refuses_bad_settings(tmp_path: Path) -> None:
    for env, name in [
        ({"NOTIFY_WECOM_URL": "http://example.invalid/hook"}, "NOTIFY_WECOM_URL"),
        ({"NOTIFY_DINGTALK_URL": "https://example.invalid/robot"}, "NOTIFY_DINGTALK_SECRET"),
    ]:
        proc = subprocess.run(
            [sys.executable, "app.py", "send"],
            cwd=ROOT,
            env={**os.environ, "VAR_DIR": str(tmp_path), **env},
            capture_output=True,
            timeout=60,
        )
        assert proc.returncode == 2
        assert name in proc.stderr.decode()
