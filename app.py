"""The command center: `python app.py` serves everything; see `python app.py --help`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from dashboard.settings import SettingsError, load_settings
from data_access.accounts import cli as accounts_cli
from data_access.history_import import cli as import_cli
from data_access.ops.services import Services, start_services
from data_access.reports import cli as reports_cli

if TYPE_CHECKING:  # Dash is imported where an app is made: a command that serves nothing (a report build, in a
    # process of its own) does not carry its ~35 MB
    from dash import Dash
    from flask import Flask

    from data_access.history_import.demo import Load

log = logging.getLogger("command-center")

#: How long a thread of the web process runs before another may take the interpreter (Python's default: 5 ms).
#: A web worker's main thread only moves connections (accept, read ready, answered) between its request threads;
#: each move waited up to the whole interval for the threads computing ticks. 300 simulated screens, 2 workers
#: (benchmarks/load.py, two alternating pairs of runs): tick p95 302 and 426 ms with 5 ms, 235 and 237 ms with 0.5.
WEB_SWITCH_INTERVAL_S = 0.0005


def create_app(svc: Services, runtime: dict[str, Any] | None = None) -> Dash:
    """Build the Dash app over started services; `runtime` carries in-process workers' status."""
    from dash import Dash

    from callbacks import (
        api_appeals,
        api_events,
        api_health,
        api_layers,
        api_notifications,
        api_supervision,
        api_topics,
        api_wall,
        auth,
        casework,
        drill,
        drill_live,
        exports,
        http_safety,
        ledger,
        reports,
        router,
        topics,
        wall,
        wall_detail,
        wall_groups,
        wall_notify,
    )
    from data_access.wall.day_store import DayStore
    from layouts import shell

    runtime = runtime if runtime is not None else {}
    sys.setswitchinterval(WEB_SWITCH_INTERVAL_S)
    app = Dash(__name__, title="12345 指挥中心", update_title="", suppress_callback_exceptions=True)
    app.layout = shell.layout
    app.server.json.ensure_ascii = False  # Chinese stays readable in JSON answers
    http_safety.register(app, svc.settings)  # first: bad paths end in 404 before the guard or any route sees them
    auth.register(app, svc)  # then: every later route and callback sees a signed-in identity or nothing
    ctx = wall.context(svc)  # shared by the wall's callbacks and its API routes: same code, same caches
    ctx.days.store = DayStore(svc.sessions)  # closed days' aggregates kept in the store for the next start
    runtime["wall_ctx"] = ctx  # and by the report schedule: a past month's days the wall aggregated are not read again
    api_health.register(app, svc, runtime)
    api_appeals.register(app, svc)
    api_notifications.register(app, svc)
    api_events.register(app, svc)
    api_layers.register(app, svc, ctx.refs)
    router.register(app, svc, ctx)
    wall.register(app, svc, ctx)
    wall_detail.register(app, svc, ctx)
    wall_notify.register(app, svc)
    wall_groups.register(app, svc, ctx)
    api_wall.register(app, svc, ctx)
    api_topics.register(app, svc, ctx)
    topics.register(app, svc, ctx)
    drill.register(app, svc)
    drill_live.register(app, svc)
    exports.register(app, svc)
    reports.register(app, svc, ctx)
    casework.register(app, svc, contacts=lambda _s, unit: list(svc.roster.current().unit_leaders(unit)))
    ledger.register(app, svc)
    api_supervision.register(app, svc)
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
    # Topics: appeals folded from now on are tagged by a pass that follows the log (data_access/topics/tagging.py)
    from data_access.topics.tagging import run_tagger

    run_tagger(svc.sessions, stop, svc.settings.topic_tag_interval_s)
    return thread


def escalator(svc: Services) -> Any:
    """The escalation engine over this process's store, with the city's contacts roster (a bad roster stops
    start-up naming CONTACTS_FILE or the file)."""
    from data_access.supervision.engine import Escalator

    return Escalator(svc.settings, svc.sessions, svc.city, svc.roster)


def start_escalation(engine: Any, stop: threading.Event, runtime: dict[str, Any]) -> threading.Thread:
    """Run the escalation engine (`escalator`) in a background thread: a pass every ESCALATION_INTERVAL_S."""
    runtime["escalation"] = engine.status
    thread = threading.Thread(target=engine.run, args=(stop,), name="escalation", daemon=True)
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


def start_grouping(svc: Services, stop: threading.Event, runtime: dict[str, Any]) -> threading.Thread:
    """Group appeals about one event as the projection folds them, in a background thread of this process."""
    from data_access.same_event.loop import GroupingLoop

    loop = GroupingLoop(svc.settings, svc.writer[1])
    runtime["grouping"] = loop.status
    thread = threading.Thread(target=loop.run, args=(stop,), name="grouping", daemon=True)
    thread.start()
    return thread


def demo_history(svc: Services) -> Load | None:
    """The demo history this start loads (`plan_load`): on a first start (an empty event log and stream, history
    asked for) DEMO_BACKFILL_DAYS before now; after a start whose load did not complete, that load again; said in
    the store before any other thread looks or writes (a first escalation pass over a large store may hold SQLite's
    write lock longer than the wait for it)."""
    from data_access.history_import.demo import plan_load, store_is_empty
    from data_access.ops.embedded_redis import connect
    from data_access.store.history_load import set_history_load

    s = svc.settings
    if not s.demo:  # no load in this process, so no banner (one a kill stopped resumes at the next demo start)
        with svc.sessions() as session, session.begin():
            set_history_load(session, None)
        return None
    client = connect(svc.redis_url)
    first = s.demo_backfill_days > 0 and client.xlen(s.stream("events")) == 0 and store_is_empty(svc.sessions)
    client.close()
    return plan_load(svc.sessions, s.demo_backfill_days, first, time.time())


def start_demo(svc: Services, stop: threading.Event, history: Load | None) -> threading.Thread:
    """Run the demo intake feed in a background thread.

    With a `history` to load (`demo_history`) a process of its own loads it through the
    history import's path (not through Redis), what the wall needs first first, so that the screens show a city in
    full flow with its past; the live feed starts once today's open appeals are in and goes on through Redis
    (returned: the thread that relays the load's open appeals to the feed while history loads, else the feed's)."""
    from data_access.demo.feed import DemoFeed
    from data_access.history_import.demo import start_loading
    from data_access.ops.embedded_redis import connect

    s = svc.settings
    feed = DemoFeed(svc.city, connect(svc.redis_url), s, seed=s.city_seed)
    if history is not None:
        return start_loading(feed, s, svc.url, stop, history)
    thread = threading.Thread(target=feed.run, args=(stop,), name="demo-feed", daemon=True)
    thread.start()
    return thread


def start_reports(svc: Services, stop: threading.Event, ctx: Any = None) -> threading.Thread:
    """Make the scheduled reports in a thread of their own; with the screens' context `ctx` (caches that take
    concurrent readers), the days the wall has aggregated are reused, else a context of its own."""
    from data_access.reports import scheduler
    from data_access.reports.delivery import from_settings
    from data_access.wall.snapshot import WallContext
    from geo.city_index import index_of

    deliver = from_settings(svc.settings)  # a bad subscribers file stops start-up here
    ctx = ctx if ctx is not None else WallContext(svc.settings, index_of(svc.city))
    # content is read where the screens read (the replica, if any): `ctx`'s caches must follow one store
    return scheduler.start(svc.sessions, ctx, stop, deliver=deliver, reads=svc.reads)


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
        history = demo_history(svc)  # before any thread writes
        escalation = escalator(svc) if settings.escalation else None  # a bad roster stops start-up here
        app = create_app(svc, runtime)
        ingest = start_ingest(svc, stop, runtime)
        if escalation is not None:
            start_escalation(escalation, stop, runtime)
        start_sender(svc, stop, runtime)
        start_grouping(svc, stop, runtime)
        if settings.demo:
            start_demo(svc, stop, history)
        if settings.reports:
            start_reports(svc, stop, runtime.get("wall_ctx"))
        print(_banner(svc), flush=True)
        if settings.demo:
            _demo_accounts(svc)
        from waitress import serve

        serve(app.server, host=settings.host, port=settings.port, threads=8, ident="command-center")
    finally:
        stop.set()
        from data_access.ops.pools import close_all

        close_all()  # the app's background reads and builds: none started now, those under way end before the store
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
    start_grouping(svc, stop, runtime)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        stop.set()
        thread.join(20)
    svc.close()
    return 0


def _escalate(args: argparse.Namespace) -> int:
    """The escalation engine alone: one pass (--once, printing what it did), or a pass every
    ESCALATION_INTERVAL_S until stopped. Several may run against one PostgreSQL store."""
    settings = load_settings()
    svc = start_services(settings)
    try:
        engine = escalator(svc)
        if args.once:
            r = engine.run_pass()
            print(
                f"escalation pass at {r.now.isoformat()}: {r.candidates} candidate(s), {r.fired} step(s), "
                f"{r.cases} case(s) opened, {r.raised} raised, {r.queued} message(s) queued, "
                f"{len(r.unreached)} duty(ies) with nobody in the roster"
                + (" (skipped: another pass was running)" if r.skipped else "")
                + f" in {r.seconds * 1000:.0f} ms",
                flush=True,
            )
            return 0
        print(svc.describe(), flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            engine.run(stop)
        except KeyboardInterrupt:
            stop.set()
        return 0
    finally:
        svc.close()


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


def _regroup(args: argparse.Namespace) -> int:
    from dashboard.same_event import rules_of
    from data_access.same_event.grouping import regroup
    from data_access.store.engine import database_url, make_engine, make_sessionmaker, migrate

    settings = load_settings()
    engine = make_engine(database_url(settings))  # the store only: no Redis, no city
    try:
        migrate(engine)
        n = regroup(make_sessionmaker(engine), rules_of(settings), settings.zone)
    finally:
        engine.dispose()
    print(f"regrouped: read {n} logged events from the start")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: serve (default), ingest, send, escalate, simulate, migrate, regroup, import, users, tokens,
    report."""
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
    esc = sub.add_parser("escalate", help="only the escalation engine (several may share one PostgreSQL store)")
    esc.add_argument("--once", action="store_true", help="one pass, then exit")
    sub.add_parser("send", help="only the notification sender (several may share a PostgreSQL store)")
    sub.add_parser("regroup", help="forget the same-event groups and group every appeal again (after a rule change)")
    accounts_cli.add_parsers(sub)
    reports_cli.add_parser(sub)
    import_cli.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        if args.cmd in ("users", "tokens"):
            return accounts_cli.run(args, load_settings())
        if args.cmd == "import":
            return import_cli.run(args, load_settings())
        if args.cmd == "report":
            return reports_cli.main(args, load_settings())
        commands = {"ingest": _ingest, "migrate": _migrate, "send": _send, "escalate": _escalate, "regroup": _regroup}
        return commands.get(args.cmd or "serve", _serve)(args)
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
