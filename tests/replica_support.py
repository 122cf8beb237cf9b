"""A real streaming replica of the test PostgreSQL (127.0.0.1:5432), started for the tests that read from one.

`pg_basebackup -R -X stream` copies the running cluster into a temporary folder owned by `postgres`; `pg_ctl`
starts it as a hot standby on a free port (socket in /tmp), and the fixture waits until it answers and is in
recovery. It is stopped and removed at the end of the run. A machine that cannot (no server binaries, the
primary refuses replication connections, the standby does not start) skips the tests that need it, saying why:
never a silent pass."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

PRIMARY_HOST, PRIMARY_PORT = "127.0.0.1", 5432
PG_BIN = Path(os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: The standby's own configuration (a Debian cluster keeps its configuration outside the data folder, so the copy
#: has none): hot standby, feedback to the primary so that its vacuum does not cancel the screens' reads.
STANDBY_CONF = """\
listen_addresses = '127.0.0.1'
max_connections = 100
shared_buffers = 32MB
hot_standby = on
hot_standby_feedback = on
fsync = off
logging_collector = off
"""
STANDBY_HBA = "local all all trust\nhost all all 127.0.0.1/32 trust\n"
#: pg_ctl's wait for the standby to accept connections: no deadline of its own (it returns when the server is up,
#: or as soon as it ends); a day, as pg_ctl takes no "forever".
WAIT_UNBOUNDED_S = 86_400
HBA_HINT = (
    "add `host replication all 127.0.0.1/32 trust` to the primary's pg_hba.conf and reload it "
    "(tests/run does this on a fresh machine)"
)


@dataclass(frozen=True)
class Replica:
    """A running hot standby of the test cluster."""

    port: int
    folder: Path

    def url(self, schema: str, database: str = "test") -> str:
        """SQLAlchemy URL of `database` on the standby with this search_path (as the tests' primary URLs)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}?options=-csearch_path%3D{schema}"

    def connect(self) -> psycopg.Connection:
        """A superuser connection to the standby (autocommit)."""
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="test", autocommit=True)


def _as_postgres(cmd: list[str]) -> list[str]:
    """Run server binaries as `postgres` when the tests run as root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _primary_refusal() -> str | None:
    """Why the primary cannot feed a standby, or None."""
    try:
        with psycopg.connect(host=PRIMARY_HOST, port=PRIMARY_PORT, user="postgres", dbname="test") as conn:
            level = conn.execute("SHOW wal_level").fetchone()
            senders = conn.execute("SHOW max_wal_senders").fetchone()
            hba = conn.execute(
                "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) AND error IS NULL"
            ).fetchone()
    except psycopg.Error as exc:
        return f"the primary {PRIMARY_HOST}:{PRIMARY_PORT} cannot be read: {exc}"
    if not level or level[0] not in ("replica", "logical"):
        return f"the primary's wal_level is {level[0] if level else '?'}: a standby needs replica"
    if not senders or int(senders[0]) < 1:
        return "the primary's max_wal_senders is 0: a standby needs at least 1"
    if not hba or int(hba[0]) == 0:
        return f"the primary's pg_hba.conf allows no replication connection: {HBA_HINT}"
    return None


def _in_recovery(port: int) -> bool:
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="test", connect_timeout=5) as c:
            row = c.execute("SELECT pg_is_in_recovery()").fetchone()
            return bool(row and row[0])
    except psycopg.Error:
        return False


def _running(folder: Path) -> bool:
    r = subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "status", "-D", str(folder)]), capture_output=True)
    return r.returncode == 0


class StandbyUnavailable(RuntimeError):
    """This machine cannot start a standby of the test cluster; the message says why."""


@pytest.fixture(scope="session")
def replica() -> Iterator[Replica]:
    """A hot standby of the test cluster for the whole run (skips, saying why, where one cannot be started)."""
    try:
        with standby() as rep:
            yield rep
    except StandbyUnavailable as exc:
        pytest.skip(f"no read replica: {exc}")


@contextmanager
def standby() -> Iterator[Replica]:
    """A hot standby of the test cluster, stopped and removed on leaving; StandbyUnavailable if none can start."""
    for tool in ("pg_basebackup", "pg_ctl"):
        if not (PG_BIN / tool).exists():
            raise StandbyUnavailable(f"{PG_BIN / tool} not found (PostgreSQL server binaries; set TEST_PG_BIN)")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        raise StandbyUnavailable("running as root without runuser to start PostgreSQL as postgres")
    why = _primary_refusal()
    if why:
        raise StandbyUnavailable(why)
    folder = Path(tempfile.mkdtemp(prefix="rpl-standby-"))
    data, log = folder / "data", folder / "standby.log"
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    folder.chmod(0o700)
    started = False
    try:
        backup = subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_basebackup"), "-h", PRIMARY_HOST, "-p", str(PRIMARY_PORT), "-U", "postgres"]
                + ["-D", str(data), "-R", "-X", "stream", "-c", "fast", "--no-sync"]
            ),
            capture_output=True,
            text=True,
        )
        if backup.returncode != 0:
            hint = f"; {HBA_HINT}" if "pg_hba.conf" in backup.stderr else ""
            raise StandbyUnavailable(f"pg_basebackup failed: {backup.stderr.strip()[-500:]}{hint}")
        for name, body in (("postgresql.conf", STANDBY_CONF), ("pg_hba.conf", STANDBY_HBA), ("pg_ident.conf", "")):
            _write_as_postgres(data / name, body)
        port = _free_port()
        # -w: until it accepts connections (a standby: once consistent), or ends; -t: no deadline of its own
        start = subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "start", "-w", "-t", str(WAIT_UNBOUNDED_S), "-D", str(data), "-l", str(log)]
                + ["-o", f"-p {port} -k /tmp"]
            ),
            capture_output=True,
            text=True,
        )
        started = _running(data)
        if start.returncode != 0 or not _in_recovery(port):
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else "(no log)"
            raise StandbyUnavailable(f"the standby did not start: {start.stderr.strip()[-300:]}\n{tail}")
        yield Replica(port, folder)
    finally:
        if started:
            subprocess.run(
                _as_postgres([str(PG_BIN / "pg_ctl"), "stop", "-D", str(data), "-m", "fast"]), capture_output=True
            )
        shutil.rmtree(folder, ignore_errors=True)


def _write_as_postgres(path: Path, body: str) -> None:
    path.write_text(body)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o600)


def primary_lsn() -> str:
    """The primary's current WAL position."""
    with psycopg.connect(host=PRIMARY_HOST, port=PRIMARY_PORT, user="postgres", dbname="test") as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def replayed(conn: psycopg.Connection, lsn: str) -> bool:
    """Whether the standby on `conn` has replayed the primary's WAL up to `lsn`; fails if it has not and has stopped
    streaming from the primary (it could then never get there)."""
    row = conn.execute(
        "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn, (SELECT status FROM pg_stat_wal_receiver)", (lsn,)
    ).fetchone()
    assert row is not None
    if row[0]:
        return True
    assert row[1] == "streaming", f"the standby is not streaming from the primary (wal receiver: {row[1]})"
    return False


def wait_replayed(rep: Replica, lsn: str) -> None:
    """Wait until the standby has replayed the primary's WAL up to `lsn` (`replayed`)."""
    with rep.connect() as conn:
        while not replayed(conn, lsn):
            time.sleep(0.05)


def pause_replay(rep: Replica, paused: bool) -> None:
    """Hold the standby's replay (it goes on receiving WAL) or let it go on."""
    with rep.connect() as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
