"""The command center: `python app.py` serves everything; see `python app.py --help`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from dash import Dash
from flask import Flask

from dashboard.settings import SettingsError, load_settings
from data_access.accounts import cli as accounts_cli
from data_access.ops.services import Services, start_services

log = logging.getLogger("command-center")


def create_app(svc: Services, runtime: dict[str, Any] | None = None) -> Dash:
    """Build the Dash app over started services; `runtime` carries in-process workers' status."""
    from callbacks import (
        api_appeals,
        api_health,
        api_layers,
        api_notifications,
        api_wall,
        auth,
        drill,
        exports,
        http_safety,
        router,
        wall,
        wall_detail,
        wall_notify,
    )
    from layouts import shell

    runtime = runtime if runtime is not None else {}
    app = Dash(__name__, title="12345 指挥中心", update_title="", suppress_callback_exceptions=True)
    app.layout = shell.layout
    app.server.json.ensure_ascii = False  # Chinese stays readable in JSON answers
    http_safety.register(app, svc.settings)  # first: bad paths end in 404 before the guard or any route sees them
    auth.register(app, svc)  # then: every later route and callback sees a signed-in identity or nothing
    ctx = wall.context(svc)  # shared by the wall's callbacks and its API routes: same code, same caches
    api_health.register(app, svc, runtime)
    api_appeals.register(app, svc)
    api_notifications.register(app, svc)
    api_layers.register(app, svc, ctx.refs)
    router.register(app, svc, ctx)
    wall.register(app, svc, ctx)
    wall_detail.register(app, svc, ctx)
    wall_notify.register(app, svc)
    api_wall.register(app, svc, ctx)
    drill.register(app, svc)
    exports.register(app, svc)
    return app


def start_ingest(svc: Services, stop: threading.Event, runtime: dict[str, Any]) -> threading.Thread:
    """Run the ingest worker in a background thread of this process, and the projectors behind it in processes of
    their own (a backlog is folded on other cores, and the screens keep this one); a projector process that
    ends is started again."""
    from data_access.intake.consumer import IngestWorker, supervise
    from data_access.projection.projector import ProjectorProcesses

    engine, sessions = svc.writer
    projectors = runtime["projectors"] = ProjectorProcesses(svc.settings, svc.url)
    worker = IngestWorker(svc.settings, svc.redis, sessions, engine, svc.gazetteer, stored=projectors.wake)
    runtime["ingest"] = worker.status

    def keep_projecting() -> None:
        while not stop.wait(2.0):
            for partition, code in projectors.restart_ended():
                log.error(
                    "the projector process of partition %d ended (exit code %s): starting another", partition, code
                )
        projectors.close()

    def work() -> None:
        watch = threading.Thread(target=keep_projecting, name="projector-watch", daemon=True)
        watch.start()
        supervise(worker, stop)  # the loop outlives outages and errors; should it end all the same, it starts again
        watch.join(15)

    thread = threading.Thread(target=work, name="ingest", daemon=True)
    thread.start()
    return thread


def start_sender(svc: Services, stop: threading.Event, runtime: dict[str, Any]) -> threading.Thread | None:
    """Run the notification sender in a thread of its own, on its own engine (it never holds up the ingest's
    writes beyond its short claim and record transactions); None when NOTIFY_SENDER is off."""
    if not svc.settings.notify_sender:
        return None
    from data_access.notify.sender import run_sender
    from data_access.store.engine import make_engine

    engine = make_engine(svc.url)
    thread, sender = run_sender(svc.settings, engine, stop)
    runtime["sender"] = sender
    return thread


def start_demo(svc: Services, stop: threading.Event) -> threading.Thread:
    """Run the demo intake feed (writes to Redis only) in a background thread.

    Into an empty stream it first writes DEMO_BACKFILL_DAYS of history, so that a first start
    shows a city in full flow, not empty panels."""
    from data_access.demo.feed import DemoFeed
    from data_access.ops.embedded_redis import connect

    s = svc.settings
    client = connect(svc.redis_url)
    feed = DemoFeed(svc.city, client, s, seed=s.city_seed)

    def work() -> None:
        if s.demo_backfill_days > 0 and client.xlen(s.stream("events")) == 0:
            n = feed.backfill(s.demo_backfill_days)
            log.info("demo feed: wrote %d events of %g days' history", n, s.demo_backfill_days)
        feed.run(stop)

    thread = threading.Thread(target=work, name="demo-feed", daemon=True)
    thread.start()
    return thread


def _serve(args: argparse.Namespace) -> int:
    overrides = {"demo": False} if args.no_demo else {}
    settings = load_settings(**overrides)
    _check_port(settings.host, settings.port)
    svc = start_services(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so `finally` stops the embedded Redis
    ingest: threading.Thread | None = None
    try:
        runtime: dict[str, Any] = {}
        app = create_app(svc, runtime)
        ingest = start_ingest(svc, stop, runtime)
        start_sender(svc, stop, runtime)
        if settings.demo:
            start_demo(svc, stop)
        print(_banner(svc), flush=True)
        if settings.demo:
            _demo_accounts(svc)
        from waitress import serve

        serve(app.server, host=settings.host, port=settings.port, threads=8, ident="command-center")
    finally:
        stop.set()
        if ingest is not None:
            ingest.join(15)  # the worker and the projector processes end before Redis and the store close
        svc.close()
    return 0


def _demo_accounts(svc: Services) -> None:
    """One account per role for the demo; passwords are printed once, when created."""
    from datetime import UTC, datetime

    from data_access.accounts.users import ensure_demo_accounts

    with svc.sessions() as s, s.begin():
        made = ensure_demo_accounts(s, datetime.now(UTC))
    if made:
        print("demo accounts (passwords shown once; change them with `python app.py users passwd NAME`):")
        for name, scope, password in made:
            print(f"  {name:10s} {password:16s} {scope}")


def _check_port(host: str, port: int) -> None:
    """Stop before starting anything if the web port is taken."""
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise SettingsError(f"HOST/PORT: cannot listen on {host}:{port}: {exc.strerror}") from None


def _banner(svc: Services) -> str:
    s = svc.settings
    demo = "on (python app.py --no-demo to turn it off)" if s.demo else "off"
    return (
        f"12345 command center for {svc.city.name}\n{svc.describe()}\n"
        f"demo feed: {demo}\nscreens: http://{s.host}:{s.port}/   health: http://{s.host}:{s.port}/healthz"
    )


def _ingest(args: argparse.Namespace) -> int:
    settings = load_settings()
    svc = start_services(settings)
    print(svc.describe(), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime: dict[str, Any] = {}
    thread = start_ingest(svc, stop, runtime)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        stop.set()
        thread.join(20)
    svc.close()
    return 0


def _send(args: argparse.Namespace) -> int:
    """Only the notification sender, against the store (no Redis, no city): several may run on PostgreSQL."""
    from data_access.notify.channels import make_channels
    from data_access.notify.sender import Sender
    from data_access.store.engine import database_url, make_engine, migrate

    settings = load_settings()
    engine = make_engine(database_url(settings))
    migrate(engine)
    channels = make_channels(settings)
    print(f"sending notifications on: {', '.join(channels) or 'no channel (NOTIFY_* settings)'}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        Sender(settings, engine, channels).run(stop)
    except KeyboardInterrupt:
        stop.set()
    engine.dispose()
    return 0


def _simulate(argv: list[str]) -> int:
    from data_access.demo.cli import main
    from data_access.ops.embedded_redis import redis_url

    settings = load_settings()
    if any(a.startswith("--redis-url") for a in argv) or any(a in ("-h", "--help") for a in argv):
        return main(argv, settings=settings)
    url, _server = redis_url(settings)  # REDIS_URL, else the embedded Redis of VAR_DIR (started if need be)
    print(f"writing to {url}", flush=True)
    return main(argv, redis_url=url, settings=settings)


def _migrate(args: argparse.Namespace) -> int:
    from data_access.store.engine import database_url, make_engine, migrate

    url = database_url(load_settings())
    migrate(make_engine(url))
    print(f"store at the newest schema: {url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: serve (default), ingest, send, simulate, migrate."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if argv[:1] == ["simulate"]:
        return _simulate(argv[1:])
    parser = argparse.ArgumentParser(prog="python app.py", description="12345 appeals command center")
    parser.add_argument("--no-demo", action="store_true", help="serve without the demo intake feed")
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("serve", help="web screens, read API and ingest worker (the default)")
    sub.add_parser("ingest", help="only the ingest worker (several may share one group)")
    sub.add_parser("simulate", help="only the demo intake feed; see `python app.py simulate --help`")
    sub.add_parser("migrate", help="bring the store's schema to the newest version")
    sub.add_parser("send", help="only the notification sender (several may share a PostgreSQL store)")
    accounts_cli.add_parsers(sub)
    args = parser.parse_args(argv)
    try:
        if args.cmd in ("users", "tokens"):
            return accounts_cli.run(args, load_settings())
        return {"ingest": _ingest, "migrate": _migrate, "send": _send}.get(args.cmd or "serve", _serve)(args)
    except SettingsError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2


server: Flask  # declared, not bound: the first `app.server` goes through __getattr__ below


def web_only() -> Flask:
    """The web side alone (screens, sign-in, display tokens, read API, exports) for a WSGI server's workers.

    No ingest, projectors, sender or demo feed start here: run `python app.py ingest` (and `simulate` for the
    demo) beside it, so that N workers do not start N of them. Everything a request needs that must agree
    across workers lives outside the process: sign-in sessions and display tokens in the store, sign-in
    lockout counts and the wall's shared snapshots in Redis; no asset is generated at start-up. Workers (and
    ingest processes) start one at a time, under a file lock in VAR_DIR: two never migrate the store, load
    reference data or start the embedded Redis at once (data_access/ops/services.py)."""
    web: Flask = create_app(start_services(load_settings())).server
    return web


def __getattr__(name: str) -> Any:
    """`app:server` for WSGI servers (`gunicorn app:server -w N`): the web side only, built on first access."""
    if name == "server":
        global server
        server = web_only()
        return server
    raise AttributeError(name)


if __name__ == "__main__":
    sys.exit(main())
