"""Real receivers for the notification tests: an HTTPS server with a self-signed certificate standing in for
the robots and the SMS gateway (answers scripted per request), and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written as PEM files: (cert, key). The cert is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Request:
    """One request the receiver got."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


#: A script answers a request with (HTTP status, JSON body); it may block (to hold a request in flight).
Script = Callable[[Request], tuple[int, Any]]


@dataclass
class Receiver:
    """An HTTPS server on 127.0.0.1; `script[path]` answers; every request is kept in `got`."""

    url: str
    got: list[Request] = field(default_factory=list)
    scripts: dict[str, Script] = field(default_factory=dict)

    def of(self, path: str) -> list[Request]:
        return [r for r in self.got if r.path == path]


def ok(code_field: str = "errcode") -> Script:
    return lambda _r: (200, {code_field: 0, "msg": "ok"})


@contextmanager
def https_receiver(folder: Path) -> Iterator[tuple[Receiver, Path]]:
    """A running HTTPS receiver and the CA file that trusts it."""
    cert, key = self_signed(folder)
    lock = threading.Lock()
    receiver = Receiver("", scripts={"/feishu": ok("code")})

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            parts = urlsplit(self.path)
            req = Request(parts.path, parse_qs(parts.query), dict(self.headers), json.loads(raw or b"null"))
            with lock:
                receiver.got.append(req)
            status, body = receiver.scripts.get(parts.path, ok())(req)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client went away (killed)

        def log_message(self, *_a: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    receiver.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, cert
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """What the SMTP server received, as parsed messages."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1: (mailbox, port)."""
    box = Mailbox()
    with socket.socket() as sock:  # a free port (the controller checks it is up by connecting to its port)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


OWN_PHONE = "13900000011"
OTHER_PHONE = "13900000022"


def queue_both_areas(engine: Any, sc: dict[str, Any]) -> None:
    """One message in the scenario's own street and one in the other district (recipient named with the other
    area's marker), queued on SMS, for the forged-request sweep."""
    from dashboard.notices import Notice, Recipient
    from dashboard.settings import load_settings
    from data_access.notify.outbox import queue
    from tests.drill_support import OTHER_MARK

    s = load_settings(demo=False, notify_sms_url="https://127.0.0.1:9/sms", notify_sms_token="t")
    o = sc["other"]
    own = Recipient("本区主任", "principal", OWN_PHONE, None, None, None, None)
    other = Recipient(f"外区主任{OTHER_MARK}", "principal", OTHER_PHONE, None, None, None, None)
    notices = [
        Notice("t:own", own, "红灯", "超期", "/area/a/own", "escalation", "own", sc["district"], sc["street"], None),
        Notice(
            "t:other", other, f"红灯 {OTHER_MARK}", "超期", f"/area/a/X0-{OTHER_MARK}", "escalation",
            f"X0-{OTHER_MARK}", o["district"], o["street"], o["grid"],
        ),
    ]  # fmt: skip
    with engine.begin() as conn:
        queue(conn, notices, s)
