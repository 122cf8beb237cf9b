"""`python app.py report daily|weekly|monthly --period … --scope …`: make one report now, through the archive."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dashboard.reports import KINDS, ReportError, latest_ended, parse_period
from dashboard.settings import Settings
from data_access.ops.services import start_store
from data_access.reports import archive, delivery
from data_access.reports.build import check, make
from data_access.wall.snapshot import WallContext
from geo.city_index import CityIndex


def add_parser(sub: Any) -> None:
    """The `report` subcommand."""
    p = sub.add_parser("report", help="make a daily bulletin, weekly summary or monthly analysis now")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--period", help="YYYY-MM-DD, YYYY-Www or YYYY-MM (default: the last one ended)")
    p.add_argument("--scope", default="city", help="city, d:DISTRICT or s:STREET (default city)")
    p.add_argument("--out", type=Path, default=Path("."), help="folder to write the PDF and XLSX into")


def main(args: argparse.Namespace, settings: Settings) -> int:
    """`python app.py report` in a process of its own: the store and the city's index without its boundaries (a
    report draws no map; `start_store`), no Redis (deliveries go through the outbox)."""
    engine, sessions, refs = start_store(settings)
    try:
        return run(args, settings, sessions, refs)
    finally:
        engine.dispose()


def run(args: argparse.Namespace, settings: Settings, sessions: sessionmaker[Session], refs: CityIndex) -> int:
    """Make (or find made) the report and write its files; 0 made, 1 failed, 2 refused."""
    ctx = WallContext(settings, refs)
    now = datetime.now(UTC)
    try:
        p = parse_period(args.kind, args.period) if args.period else latest_ended(args.kind, now, settings.zone)
        view = check(p, args.scope, ctx, now)
    except ReportError as exc:
        print(f"refused: {exc}")
        return 2
    to = delivery.on_request(delivery.from_settings(settings), settings, p, view.key, now)
    got = make(sessions, ctx, p, view, now, requested_by="command line", deliver=to)
    with sessions() as s:
        row = archive.find(s, p.kind, p.label, view.key)
        if row is None or row.state != "made":
            reason = got.reason or (row.reason if row else None) or (row.state if row else "not made")
            print(f"report {p.kind} {p.label} {view.key} not made: {reason}")
            return 1
        args.out.mkdir(parents=True, exist_ok=True)
        stem = args.out / f"{p.kind}-{p.label}-{view.key.replace(':', '-')}"
        for fmt, data in (("pdf", row.pdf), ("xlsx", row.xlsx)):
            Path(f"{stem}.{fmt}").write_bytes(data or b"")
            print(f"{stem}.{fmt}")
    print(f"report {p.kind} {p.label} {view.key}: {'made now' if got.state == 'made' else 'already in the archive'}")
    return 0
