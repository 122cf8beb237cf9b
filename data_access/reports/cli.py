"""`python app.py report daily|weekly|monthly --period … --scope …`: make one report now, through the archive."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashboard.reports import KINDS, ReportError, latest_ended, parse_period
from data_access.ops.services import Services
from data_access.reports import archive, delivery
from data_access.reports.build import check, make
from data_access.wall.snapshot import WallContext
from geo.city_index import index_of


def add_parser(sub: Any) -> None:
    """The `report` subcommand."""
    p = sub.add_parser("report", help="make a daily bulletin, weekly summary or monthly analysis now")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--period", help="YYYY-MM-DD, YYYY-Www or YYYY-MM (default: the last one ended)")
    p.add_argument("--scope", default="city", help="city, d:DISTRICT or s:STREET (default city)")
    p.add_argument("--out", type=Path, default=Path("."), help="folder to write the PDF and XLSX into")


def run(args: argparse.Namespace, svc: Services) -> int:
    """Make (or find made) the report and write its files; 0 made, 1 failed, 2 refused."""
    ctx = WallContext(svc.settings, index_of(svc.city))
    now = datetime.now(UTC)
    try:
        p = parse_period(args.kind, args.period) if args.period else latest_ended(args.kind, now, svc.settings.zone)
        view = check(p, args.scope, ctx, now)
    except ReportError as exc:
        print(f"refused: {exc}")
        return 2
    to = delivery.on_request(delivery.from_settings(svc.settings), svc.settings, p, view.key, now)
    got = make(svc.sessions, ctx, p, view, now, requested_by="command line", deliver=to)
    with svc.sessions() as s:
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
