"""The channels a delivery goes out on: three group robots, an SMS gateway and SMTP. Each answers `Answer`:
sent, rate_limited (the channel asked to slow down: tried later, not counted as a failure) or retry (any other
failure: tried later with backoff, given up after NOTIFY_MAX_FAILURES).

Formats and codes, as their publishers document them:

- WeCom group robot (企业微信群机器人, developer.work.weixin.qq.com/document/path/91770 "群机器人配置说明"):
  POST {"msgtype": "text", "text": {"content": ..., "mentioned_list": [userid], "mentioned_mobile_list":
  [mobile]}}, content at most 2048 bytes UTF-8; answer {"errcode": 0, "errmsg": "ok"}; 45009 "api freq out of
  limit" (20 messages a minute per robot).
- DingTalk custom robot (钉钉自定义机器人, open.dingtalk.com/document/orgapp/custom-robot-access and
  "customize-robot-security-settings"): POST {"msgtype": "text", "text": {"content": ...}, "at": {"atMobiles":
  [...], "atUserIds": [...]}}; signing ("加签"): string_to_sign = timestamp_ms + "\\n" + secret, HMAC-SHA256
  keyed by the secret, Base64, URL-encoded, appended as &timestamp=..&sign=..; answer {"errcode": 0};
  130101 "send too fast" (20 a minute).
- Feishu custom bot (飞书自定义机器人, open.feishu.cn/document/client-docs/bot-v3/add-custom-bot): POST
  {"msg_type": "text", "content": {"text": ...}} with, when signing is on, "timestamp" (seconds) and "sign":
  HMAC-SHA256 keyed by timestamp + "\\n" + secret over an empty message, Base64; a mention is
  `<at user_id="ou_...">name</at>` in the text; answer {"code": 0}; 9499 "too many request" and 11232
  "frequency limited" (100 a minute, 5 a second per bot).
- SMS: a gateway of the installation: POST {"phone", "text", "key"} with "Authorization: Bearer <token>"; 2xx
  sent, 429 rate limited.
- E-mail: SMTP (smtplib), STARTTLS when NOTIFY_SMTP_STARTTLS, login when NOTIFY_SMTP_USER; the idempotency key
  in "X-Notice-Key" and in a Message-ID derived from it, so a repeat after a crash has the same Message-ID.

HTTP 429 counts as a rate limit on every HTTP channel. The key reaches the robots only in the text (they have
no field for it): see `dashboard.notices.compose`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any, Protocol

from dashboard.i18n import t
from dashboard.notices import compose, enabled_channels, is_mobile
from dashboard.settings import Settings

WECOM_RATE_LIMIT = {45009}
DINGTALK_RATE_LIMIT = {130101}
FEISHU_RATE_LIMIT = {9499, 11232}
WECOM_MAX_BYTES = 2048


@dataclass(frozen=True)
class Outgoing:
    """What one call to a channel carries (for a digest: the digest's subject and text and its own key)."""

    key: str
    address: str
    recipient: str
    language: str
    subject: str
    text: str
    link: str | None
    attachments: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Answer:
    """A channel's answer: outcome (sent, rate_limited, retry) and what it said, shortened."""

    outcome: str
    detail: str


class Channel(Protocol):
    name: str

    def send(self, msg: Outgoing) -> Answer: ...


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The system's trusted CAs, plus NOTIFY_CA_FILE when set."""
    ctx = ssl.create_default_context()
    if settings.notify_ca_file:
        ctx.load_verify_locations(cafile=str(settings.notify_ca_file))
    return ctx


def _short(text: str | bytes, n: int = 300) -> str:
    s = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return s[:n]


@dataclass
class _Http:
    """POSTs JSON and reads the answer; a robot's own check of the answer decides the outcome."""

    settings: Settings
    ctx: ssl.SSLContext = field(init=False)

    def __post_init__(self) -> None:
        self.ctx = tls_context(self.settings)

    def post(self, url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """(HTTP status, body); raises OSError when no answer came."""
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(url, data=data, method="POST")
        req.add_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=self.settings.notify_timeout_s, context=self.ctx) as res:
                return res.status, res.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def _robot_answer(status: int, raw: bytes, code_field: str, rate_limits: set[int]) -> Answer:
    """A robot's answer: HTTP 2xx with code 0 is sent; 429 or a rate-limit code is rate_limited; else retry."""
    if status == 429:
        return Answer("rate_limited", f"HTTP 429 {_short(raw)}")
    if not 200 <= status < 300:
        return Answer("retry", f"HTTP {status} {_short(raw)}")
    try:
        code = json.loads(raw).get(code_field)
    except (ValueError, AttributeError):
        return Answer("retry", f"not JSON: {_short(raw)}")
    if code == 0:
        return Answer("sent", _short(raw))
    if code in rate_limits:
        return Answer("rate_limited", _short(raw))
    return Answer("retry", _short(raw))


def _text(msg: Outgoing) -> str:
    return compose(msg.language, msg.subject, msg.text, msg.link, msg.key)


def _utf8_cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8 (on a character boundary)."""
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[: limit - 3].decode("utf-8", "ignore") + "…"


class WeCom(_Http):
    """WeCom (企业微信) group robot."""

    name = "wecom"

    def body(self, msg: Outgoing) -> dict[str, Any]:
        """The JSON body: text, and the recipient mentioned by mobile or by user id."""
        text: dict[str, Any] = {"content": _utf8_cut(_text(msg), WECOM_MAX_BYTES)}
        text["mentioned_mobile_list" if is_mobile(msg.address) else "mentioned_list"] = [msg.address]
        return {"msgtype": "text", "text": text}

    def send(self, msg: Outgoing) -> Answer:
        status, raw = self.post(str(self.settings.notify_wecom_url), self.body(msg))
        return _robot_answer(status, raw, "errcode", WECOM_RATE_LIMIT)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: Base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


class DingTalk(_Http):
    """DingTalk (钉钉) custom robot with signing."""

    name = "dingtalk"
    clock: Callable[[], float] = time.time

    def body(self, msg: Outgoing) -> dict[str, Any]:
        """The JSON body; a mention shows where "@mobile" stands in the text."""
        mobile = is_mobile(msg.address)
        content = _text(msg) + (f"\n@{msg.address}" if mobile else "")
        at = {"atMobiles": [msg.address]} if mobile else {"atUserIds": [msg.address]}
        return {"msgtype": "text", "text": {"content": content}, "at": at}

    def url(self) -> str:
        """The webhook URL with this moment's timestamp and signature."""
        ts = int(self.clock() * 1000)
        sign = dingtalk_sign(str(self.settings.notify_dingtalk_secret), ts)
        base = str(self.settings.notify_dingtalk_url)
        return f"{base}{'&' if '?' in base else '?'}timestamp={ts}&sign={sign}"

    def send(self, msg: Outgoing) -> Answer:
        status, raw = self.post(self.url(), self.body(msg))
        return _robot_answer(status, raw, "errcode", DINGTALK_RATE_LIMIT)


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: Base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Feishu(_Http):
    """Feishu (飞书) custom bot, signed when NOTIFY_FEISHU_SECRET is set."""

    name = "feishu"
    clock: Callable[[], float] = time.time

    def body(self, msg: Outgoing) -> dict[str, Any]:
        """The JSON body: the mention (by open id; a mobile number is named, not mentioned), the text, the
        signature when a secret is set."""
        if is_mobile(msg.address):
            mention = f"{msg.recipient} "
        else:
            mention = f'<at user_id="{msg.address}">{msg.recipient}</at> '
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": mention + _text(msg)}}
        if self.settings.notify_feishu_secret:
            ts = int(self.clock())
            body = {"timestamp": str(ts), "sign": feishu_sign(self.settings.notify_feishu_secret, ts), **body}
        return body

    def send(self, msg: Outgoing) -> Answer:
        status, raw = self.post(str(self.settings.notify_feishu_url), self.body(msg))
        try:
            payload = json.loads(raw) if 200 <= status < 300 else {}
        except ValueError:
            payload = {}
        field_name = "StatusCode" if "code" not in payload and "StatusCode" in payload else "code"
        return _robot_answer(status, raw, field_name, FEISHU_RATE_LIMIT)


class Sms(_Http):
    """An HTTP SMS gateway: JSON {phone, text, key}, Bearer token."""

    name = "sms"

    def send(self, msg: Outgoing) -> Answer:
        body = {"phone": msg.address, "text": _text(msg), "key": msg.key}
        headers = {"Authorization": f"Bearer {self.settings.notify_sms_token}"}
        status, raw = self.post(str(self.settings.notify_sms_url), body, headers)
        if 200 <= status < 300:
            return Answer("sent", _short(raw))
        return Answer("rate_limited" if status == 429 else "retry", f"HTTP {status} {_short(raw)}")


def message_id(key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt of one key."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


@dataclass
class Email:
    """E-mail over SMTP, with attachments."""

    settings: Settings
    name: str = "email"

    def message(self, msg: Outgoing) -> EmailMessage:
        """The e-mail: subject, text with link and reference, attachments; the key in its headers."""
        s = self.settings
        mail = EmailMessage()
        mail["Subject"] = msg.subject
        mail["From"] = str(s.notify_smtp_from)
        mail["To"] = formataddr((msg.recipient, msg.address))
        mail["Message-ID"] = message_id(msg.key, str(s.notify_smtp_from))
        mail["X-Notice-Key"] = msg.key
        lines = [_text(msg)]
        files = []
        for filename, content_type, path in msg.attachments:
            p = Path(path)
            if p.is_file():
                files.append((filename, content_type, p.read_bytes()))
            else:
                lines.append(t(msg.language, "notify_attachment_missing", name=filename))
        mail.set_content("\n".join(lines))
        for filename, content_type, data in files:
            ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
            main, _, sub = ctype.partition("/")
            mail.add_attachment(data, maintype=main, subtype=sub or "octet-stream", filename=filename)
        return mail

    def send(self, msg: Outgoing) -> Answer:
        s = self.settings
        try:
            with smtplib.SMTP(str(s.notify_smtp_host), s.notify_smtp_port, timeout=s.notify_timeout_s) as smtp:
                if s.notify_smtp_starttls:
                    smtp.starttls(context=tls_context(s))
                if s.notify_smtp_user:
                    smtp.login(s.notify_smtp_user, s.notify_smtp_password or "")
                refused = smtp.send_message(self.message(msg))
        except smtplib.SMTPResponseException as exc:
            outcome = "rate_limited" if exc.smtp_code in (421, 450, 451, 452) else "retry"
            return Answer(outcome, f"SMTP {exc.smtp_code} {_short(exc.smtp_error)}")
        except smtplib.SMTPRecipientsRefused as exc:
            return Answer("retry", f"refused {_short(str(exc.recipients))}")
        if refused:
            return Answer("retry", f"refused {_short(str(refused))}")
        return Answer("sent", "250 accepted")


def make_channels(settings: Settings) -> dict[str, Channel]:
    """The enabled channels by name."""
    makers: dict[str, Callable[[Settings], Channel]] = {
        "wecom": WeCom,
        "dingtalk": DingTalk,
        "feishu": Feishu,
        "sms": Sms,
        "email": Email,
    }
    return {name: makers[name](settings) for name in enabled_channels(settings)}
